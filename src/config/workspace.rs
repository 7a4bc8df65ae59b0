//! The configuration being worked on: load, change, validate and save, with secrets sent
//! to the secret store. The GUI and the CLI both go through it.

use super::model::*;
use super::store::{ConfigError, ConfigLocation};
use super::validate::{FieldError, validate_database, validate_server};
use crate::i18n::{Language, tr, tr_args, with_detail};
use crate::secrets::{Secret, SecretError, SecretKey, SecretKind, Secrets};

/// New values for a server's secrets; `None` keeps what is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretUpdates {
    /// WooCommerce consumer key.
    pub consumer_key: Option<Secret>,
    /// WooCommerce consumer secret.
    pub consumer_secret: Option<Secret>,
    /// Fiscal operator password.
    pub operator_password: Option<Secret>,
}

impl SecretUpdates {
    fn entries(&self, id: &ServerId) -> Vec<(SecretKey, &Secret)> {
        [
            (SecretKind::ConsumerKey, &self.consumer_key),
            (SecretKind::ConsumerSecret, &self.consumer_secret),
            (SecretKind::OperatorPassword, &self.operator_password),
        ]
        .into_iter()
        .filter_map(|(kind, value)| value.as_ref().map(|v| (SecretKey::server(id, kind), v)))
        .collect()
    }
}

/// Why a change could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Some fields are invalid; nothing was saved.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// The configuration file could not be written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A secret could not be stored; nothing was saved.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl SaveError {
    /// The translated message for the user.
    pub fn message(&self, lang: Language) -> String {
        match self {
            SaveError::Invalid(_) => tr(lang, "save.invalid"),
            SaveError::Config(e) => tr_args(lang, "save.file_failed", &[("error", &e.to_string())]),
            SaveError::Secret(e) => secret_error_message(e, lang),
        }
    }
}

/// The translated message for a secret-store error.
pub fn secret_error_message(error: &SecretError, lang: Language) -> String {
    match error {
        SecretError::Unavailable(why) => with_detail(tr(lang, "secrets.unavailable"), why),
        SecretError::AccessDenied(why) => with_detail(tr(lang, "secrets.access_denied"), why),
        SecretError::Platform(why) => with_detail(tr(lang, "secrets.failed"), why),
        SecretError::ReadOnly => tr(lang, "secrets.read_only"),
    }
}

/// The loaded configuration with its location and secret store.
#[derive(Debug)]
pub struct Workspace {
    location: ConfigLocation,
    secrets: Secrets,
    config: AppConfig,
}

impl Workspace {
    /// Loads the configuration from `location`.
    pub fn open(location: ConfigLocation, secrets: Secrets) -> Result<Self, ConfigError> {
        let config = location.load()?;
        Ok(Self {
            location,
            secrets,
            config,
        })
    }

    /// A workspace on an already loaded configuration.
    pub fn with_config(location: ConfigLocation, secrets: Secrets, config: AppConfig) -> Self {
        Self {
            location,
            secrets,
            config,
        }
    }

    /// The saved configuration.
    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// Where it is saved.
    pub fn location(&self) -> &ConfigLocation {
        &self.location
    }

    /// The secret store.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// True when a secret is available (keyring or environment variable).
    pub fn has_secret(&self, key: &SecretKey) -> bool {
        matches!(self.secrets.get(key), Ok(Some(_)))
    }

    /// Validates `server` as it would be after saving.
    pub fn check_server(&self, server: &ServerDef) -> Vec<FieldError> {
        let mut candidate = self.config.clone();
        candidate.upsert_server(server.clone());
        validate_server(&candidate, server)
    }

    /// Validates, stores the secrets, then saves the server definition.
    pub fn save_server(
        &mut self,
        server: ServerDef,
        secrets: &SecretUpdates,
    ) -> Result<(), SaveError> {
        let errors = self.check_server(&server);
        if !errors.is_empty() {
            return Err(SaveError::Invalid(errors));
        }
        for (key, value) in secrets.entries(&server.id) {
            if value.is_empty() {
                continue;
            }
            self.secrets.set(&key, value)?;
        }
        let mut next = self.config.clone();
        next.upsert_server(server.clone());
        self.commit(next)?;
        tracing::info!(server = %server.name, id = %server.id, "server saved");
        Ok(())
    }

    /// Deletes a server, its secrets and its place on the Servers list.
    pub fn delete_server(&mut self, id: &ServerId) -> Result<(), SaveError> {
        let mut next = self.config.clone();
        let Some(removed) = next.remove_server(id) else {
            return Ok(());
        };
        self.commit(next)?;
        if let Err(e) = self.secrets.delete_server(id) {
            tracing::warn!(error = %e, "could not remove the deleted server's secrets");
        }
        tracing::info!(server = %removed.name, "server deleted");
        Ok(())
    }

    /// A copy of a server under a fresh id and name (secrets copied too, when readable).
    pub fn duplicate_server(&mut self, id: &ServerId) -> Result<Option<ServerId>, SaveError> {
        let Some(original) = self.config.server(id).cloned() else {
            return Ok(None);
        };
        let mut copy = original.clone();
        copy.id = self.config.fresh_id();
        copy.name = self.config.fresh_name(&original.name);
        if let ServerKind::Import(i) = &mut copy.kind {
            i.order_key_prefix = self.config.fresh_order_key_prefix();
        }
        let mut updates = SecretUpdates::default();
        if self.secrets.can_store() {
            let read = |kind| {
                self.secrets
                    .get(&SecretKey::server(id, kind))
                    .ok()
                    .flatten()
            };
            updates.consumer_key = read(SecretKind::ConsumerKey);
            updates.consumer_secret = read(SecretKind::ConsumerSecret);
            updates.operator_password = read(SecretKind::OperatorPassword);
        }
        let new_id = copy.id.clone();
        self.save_server(copy, &updates)?;
        Ok(Some(new_id))
    }

    /// Puts a server on the Servers list and saves.
    pub fn add_to_run_list(&mut self, id: &ServerId) -> Result<(), SaveError> {
        let mut next = self.config.clone();
        next.add_to_run_list(id);
        self.commit(next)
    }

    /// Takes a server off the Servers list and saves.
    pub fn remove_from_run_list(&mut self, id: &ServerId) -> Result<(), SaveError> {
        let mut next = self.config.clone();
        next.remove_from_run_list(id);
        self.commit(next)
    }

    /// Changes the UI language and saves.
    pub fn set_language(&mut self, language: Language) -> Result<(), SaveError> {
        let mut next = self.config.clone();
        next.language = language;
        self.commit(next)
    }

    /// Changes how many days of run history are kept (clamped to
    /// [`HISTORY_DAYS_RANGE`]) and saves.
    pub fn set_history_days(&mut self, days: u32) -> Result<(), SaveError> {
        let mut next = self.config.clone();
        next.history_days = days.clamp(*HISTORY_DAYS_RANGE.start(), *HISTORY_DAYS_RANGE.end());
        self.commit(next)
    }

    /// Saves the database settings and, when given, its password.
    pub fn save_database(
        &mut self,
        db: DatabaseConfig,
        password: Option<&Secret>,
    ) -> Result<(), SaveError> {
        let errors = validate_database(&db);
        if !errors.is_empty() {
            return Err(SaveError::Invalid(errors));
        }
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            self.secrets.set(&SecretKey::database(), p)?;
        }
        let mut next = self.config.clone();
        next.database = db;
        self.commit(next)
    }

    /// Replaces the server definitions and Servers list with those of a backup (the
    /// language and database settings stay). Secrets are not part of a backup.
    pub fn restore_backup(&mut self, backup: AppConfig) -> Result<(), SaveError> {
        let mut next = self.config.clone();
        next.servers = backup.servers;
        next.run_list = backup.run_list;
        next.database = backup.database;
        let errors = super::validate::validate(&next);
        if errors
            .iter()
            .any(|e| matches!(e.problem, super::validate::Problem::DuplicateName))
        {
            return Err(SaveError::Invalid(errors));
        }
        self.commit(next)
    }

    fn commit(&mut self, next: AppConfig) -> Result<(), SaveError> {
        self.location.save(&next)?;
        self.config = next;
        Ok(())
    }
}
