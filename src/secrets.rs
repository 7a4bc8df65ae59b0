//! Secrets (WooCommerce consumer keys and secrets, the database password, fiscal operator
//! passwords): kept in the OS keyring, never in configuration files, logs or messages.
//! When no keyring is reachable, secrets can be given in environment variables.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

use crate::config::ServerId;

/// Keyring service name under which every SkladLink secret is stored.
pub const KEYRING_SERVICE: &str = "SkladLink";

/// A secret value. Its `Debug` output is masked and it has no `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text, for the one place that must send it (an HTTP header, an ODBC login).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which secret of its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// WooCommerce consumer key (the guide's "User").
    ConsumerKey,
    /// WooCommerce consumer secret (the guide's "Password").
    ConsumerSecret,
    /// Fiscal device operator password.
    OperatorPassword,
    /// Warehouse database password.
    DbPassword,
}

impl SecretKind {
    fn slug(self) -> &'static str {
        match self {
            SecretKind::ConsumerKey => "consumer_key",
            SecretKind::ConsumerSecret => "consumer_secret",
            SecretKind::OperatorPassword => "operator_password",
            SecretKind::DbPassword => "password",
        }
    }
}

/// Identifies one secret: its owner (a server or the database) and kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKey {
    /// The server, or `None` for the database.
    pub server: Option<ServerId>,
    /// Which secret.
    pub kind: SecretKind,
}

impl SecretKey {
    /// A server's secret.
    pub fn server(id: &ServerId, kind: SecretKind) -> Self {
        Self {
            server: Some(id.clone()),
            kind,
        }
    }

    /// The database password.
    pub fn database() -> Self {
        Self {
            server: None,
            kind: SecretKind::DbPassword,
        }
    }

    /// The keyring account name (`s1/consumer_key`, `database/password`).
    pub fn account(&self) -> String {
        match &self.server {
            Some(id) => format!("{}/{}", id.0, self.kind.slug()),
            None => format!("database/{}", self.kind.slug()),
        }
    }

    /// The environment variable the CLI reads this secret from when no keyring is
    /// reachable (`SKLADLINK_S1_CONSUMER_KEY`, `SKLADLINK_DB_PASSWORD`).
    pub fn env_var(&self) -> String {
        let owner = match &self.server {
            Some(id) => {
                id.0.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_uppercase()
                        } else {
                            '_'
                        }
                    })
                    .collect::<String>()
            }
            None => "DB".to_string(),
        };
        format!(
            "SKLADLINK_{owner}_{}",
            self.kind.slug().to_ascii_uppercase()
        )
    }
}

/// Why a secret could not be read or stored. Never carries the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No OS keyring is reachable (e.g. a headless Linux box without Secret Service).
    #[error("no keyring: {0}")]
    Unavailable(String),
    /// The keyring refused access (locked, or permission denied).
    #[error("keyring access denied: {0}")]
    AccessDenied(String),
    /// The keyring failed.
    #[error("keyring failure: {0}")]
    Platform(String),
    /// This store only reads (environment variables).
    #[error("read-only secret store")]
    ReadOnly,
}

impl SecretError {
    fn from_keyring(err: keyring_core::Error) -> Self {
        use keyring_core::Error as E;
        // Only the error's category and platform message are kept: some variants carry
        // the secret's bytes (BadEncoding, BadDataFormat), which must never be shown.
        match err {
            E::NoStorageAccess(e) => SecretError::AccessDenied(e.to_string()),
            E::PlatformFailure(e) => SecretError::Platform(e.to_string()),
            E::NoDefaultStore => SecretError::Unavailable("no default store".into()),
            E::BadEncoding(_) | E::BadDataFormat(_, _) => {
                SecretError::Platform("stored secret is not valid text".into())
            }
            E::BadStoreFormat(m) | E::NotSupportedByStore(m) => SecretError::Platform(m),
            E::TooLong(attr, limit) => SecretError::Platform(format!("{attr} longer than {limit}")),
            E::Invalid(param, why) => SecretError::Platform(format!("{param}: {why}")),
            E::Ambiguous(_) => SecretError::Platform("several matching credentials".into()),
            E::NoEntry => SecretError::Platform("no entry".into()),
            _ => SecretError::Platform("unknown keyring error".into()),
        }
    }
}

/// A place secrets are read from and written to.
pub trait SecretStore: Send + Sync {
    /// Reads a secret; `Ok(None)` when none is stored.
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError>;
    /// Stores a secret, replacing any earlier value.
    fn set(&self, key: &SecretKey, value: &Secret) -> Result<(), SecretError>;
    /// Removes a secret (no error when none is stored).
    fn delete(&self, key: &SecretKey) -> Result<(), SecretError>;
}

/// Secrets in a keyring-core credential store: the OS keyring, or the mock store in tests.
#[derive(Clone)]
pub struct KeyringStore {
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("vendor", &self.store.vendor())
            .finish()
    }
}

impl KeyringStore {
    /// Wraps a credential store.
    pub fn new(store: Arc<CredentialStore>) -> Self {
        Self { store }
    }

    /// keyring-core's in-memory mock store (tests and the demo; lost at exit).
    pub fn in_memory() -> Self {
        let store: Arc<CredentialStore> =
            keyring_core::mock::Store::new().expect("the mock store cannot fail");
        Self { store }
    }

    /// The OS keyring: Windows Credential Manager, macOS Keychain, Secret Service on Linux.
    /// Checks that it answers, so a headless box is reported at once.
    pub fn os() -> Result<Self, SecretError> {
        let store = os_store()?;
        let this = Self { store };
        this.get(&SecretKey::database()).map(|_| this)
    }

    fn entry(&self, key: &SecretKey) -> Result<Entry, SecretError> {
        Entry::new_in_store(&self.store, KEYRING_SERVICE, &key.account())
            .map_err(SecretError::from_keyring)
    }
}

#[cfg(target_os = "linux")]
fn os_store() -> Result<Arc<CredentialStore>, SecretError> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| SecretError::Unavailable(e.to_string()))?;
    Ok(store)
}

#[cfg(windows)]
fn os_store() -> Result<Arc<CredentialStore>, SecretError> {
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()
        .map_err(|e| SecretError::Unavailable(e.to_string()))?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn os_store() -> Result<Arc<CredentialStore>, SecretError> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()
        .map_err(|e| SecretError::Unavailable(e.to_string()))?;
    Ok(store)
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
fn os_store() -> Result<Arc<CredentialStore>, SecretError> {
    Err(SecretError::Unavailable(
        "no keyring on this platform".into(),
    ))
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError> {
        match self.entry(key)?.get_password() {
            Ok(p) => Ok(Some(Secret(p))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError::from_keyring(e)),
        }
    }

    fn set(&self, key: &SecretKey, value: &Secret) -> Result<(), SecretError> {
        self.entry(key)?
            .set_password(&value.0)
            .map_err(SecretError::from_keyring)?;
        tracing::info!(account = %key.account(), "secret stored in the keyring");
        Ok(())
    }

    fn delete(&self, key: &SecretKey) -> Result<(), SecretError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => {
                tracing::info!(account = %key.account(), "secret removed from the keyring");
                Ok(())
            }
            Err(e) => Err(SecretError::from_keyring(e)),
        }
    }
}

/// Secrets read from environment variables (see `SecretKey::env_var`); read-only.
#[derive(Debug, Clone, Default)]
pub struct EnvStore;

impl SecretStore for EnvStore {
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError> {
        Ok(std::env::var(key.env_var())
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret))
    }

    fn set(&self, _key: &SecretKey, _value: &Secret) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }

    fn delete(&self, _key: &SecretKey) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }
}

/// The secrets the program uses: the keyring when one is reachable, then environment
/// variables as a read-only fallback.
#[derive(Clone)]
pub struct Secrets {
    keyring: Option<KeyringStore>,
    keyring_problem: Option<SecretError>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("keyring", &self.keyring)
            .field("keyring_problem", &self.keyring_problem)
            .finish()
    }
}

impl Secrets {
    /// Uses the OS keyring, or only environment variables when it is unreachable.
    pub fn os() -> Self {
        match KeyringStore::os() {
            Ok(k) => Self {
                keyring: Some(k),
                keyring_problem: None,
            },
            Err(e) => {
                tracing::warn!(error = %e, "no OS keyring reachable; secrets only from environment variables");
                Self::without_keyring(e)
            }
        }
    }

    /// Only environment variables, no keyring being reachable for `problem` (as on a
    /// system without a secret service); the window shows the problem with what to do.
    pub fn without_keyring(problem: SecretError) -> Self {
        Self {
            keyring: None,
            keyring_problem: Some(problem),
        }
    }

    /// Uses the given keyring store (tests pass `KeyringStore::in_memory()`).
    pub fn with_keyring(keyring: KeyringStore) -> Self {
        Self {
            keyring: Some(keyring),
            keyring_problem: None,
        }
    }

    /// Why no keyring is in use, if none is.
    pub fn keyring_problem(&self) -> Option<&SecretError> {
        self.keyring_problem.as_ref()
    }

    /// True when secrets can be stored.
    pub fn can_store(&self) -> bool {
        self.keyring.is_some()
    }

    /// Reads a secret: keyring first, then the environment variable.
    pub fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError> {
        if let Some(k) = &self.keyring
            && let Some(s) = k.get(key)?
        {
            return Ok(Some(s));
        }
        EnvStore.get(key)
    }

    /// Stores a secret in the keyring; an empty value removes it.
    pub fn set(&self, key: &SecretKey, value: &Secret) -> Result<(), SecretError> {
        let keyring = self.keyring.as_ref().ok_or_else(|| {
            self.keyring_problem
                .clone()
                .unwrap_or(SecretError::Unavailable(String::new()))
        })?;
        if value.is_empty() {
            keyring.delete(key)
        } else {
            keyring.set(key, value)
        }
    }

    /// Removes every secret of a server (used when the server is deleted).
    pub fn delete_server(&self, id: &ServerId) -> Result<(), SecretError> {
        if let Some(k) = &self.keyring {
            for kind in [
                SecretKind::ConsumerKey,
                SecretKind::ConsumerSecret,
                SecretKind::OperatorPassword,
            ] {
                k.delete(&SecretKey::server(id, kind))?;
            }
        }
        Ok(())
    }
}
