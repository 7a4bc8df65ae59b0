//! Field-level validation of the configuration.

use super::model::*;
use crate::i18n::{Language, tr_args};

/// The field a validation problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Server name.
    Name,
    /// Shop address.
    Address,
    /// Send interval.
    SendInterval,
    /// Collect interval.
    CollectInterval,
    /// Connect timeout.
    ConnectTimeout,
    /// Request timeout.
    RequestTimeout,
    /// Price group.
    PriceGroup,
    /// Import object.
    Object,
    /// Status for processing.
    StatusForProcessing,
    /// Status after processing.
    StatusAfterProcessing,
    /// Order key prefix (Import).
    OrderKeyPrefix,
    /// Printing module name.
    PrintingModule,
    /// Serial port.
    Port,
    /// Baud rate.
    BaudRate,
    /// Fiscal number.
    FiscalNumber,
    /// Operator code.
    OperatorCode,
    /// Database connection string or DSN.
    DbConnection,
    /// Export object groups.
    ObjectGroups,
    /// VAT rate → tax group table.
    TaxGroups,
    /// Payment-method table.
    PaymentRules,
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Must not be empty.
    Required,
    /// Another server already has this name.
    DuplicateName,
    /// Address must start with `http://` or `https://` and name a host.
    BadAddress,
    /// Number outside the allowed range.
    OutOfRange {
        /// Lowest allowed value.
        min: u32,
        /// Highest allowed value.
        max: u32,
    },
    /// Hour/minute of a daily time out of range.
    BadTime,
    /// Operator code must be 1–4 letters or digits.
    BadOperatorCode,
    /// Fiscal number must be 2 Latin capitals + 6 digits.
    BadFiscalNumber,
    /// No e-Shop Connector with this name exists.
    UnknownPrintingModule,
    /// The two statuses are the same, so an order would be processed again and again.
    SameStatuses,
    /// A list of numbers (ids) holds something else.
    NotNumbers,
    /// A table lists the same VAT rate or payment method twice, or an empty method.
    DuplicateOrEmptyRow,
    /// A password was typed into the connection string; it belongs in the password field.
    PasswordInConnectionString,
    /// Another Import server on the same database already uses this order key prefix.
    DuplicateOrderKeyPrefix,
    /// An order key prefix must be 1–10 characters without spaces, ending in a sign such
    /// as `#` or `-` (so `A` + `12` and `A1` + `2` can never meet).
    BadOrderKeyPrefix,
}

/// One validation problem of one field (of one server, or of the database settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The server, or `None` for the database settings.
    pub server: Option<ServerId>,
    /// The field.
    pub field: Field,
    /// What is wrong.
    pub problem: Problem,
}

impl FieldError {
    /// The translated message for the user.
    pub fn message(&self, lang: Language) -> String {
        match &self.problem {
            Problem::Required => tr_args(lang, "validation.required", &[]),
            Problem::DuplicateName => tr_args(lang, "validation.duplicate_name", &[]),
            Problem::BadAddress => tr_args(lang, "validation.bad_address", &[]),
            Problem::OutOfRange { min, max } => tr_args(
                lang,
                "validation.out_of_range",
                &[("min", &min.to_string()), ("max", &max.to_string())],
            ),
            Problem::BadTime => tr_args(lang, "validation.bad_time", &[]),
            Problem::BadOperatorCode => tr_args(lang, "validation.bad_operator_code", &[]),
            Problem::BadFiscalNumber => tr_args(lang, "validation.bad_fiscal_number", &[]),
            Problem::UnknownPrintingModule => {
                tr_args(lang, "validation.unknown_printing_module", &[])
            }
            Problem::SameStatuses => tr_args(lang, "validation.same_statuses", &[]),
            Problem::NotNumbers => tr_args(lang, "validation.not_numbers", &[]),
            Problem::DuplicateOrEmptyRow => tr_args(lang, "validation.duplicate_row", &[]),
            Problem::PasswordInConnectionString => {
                tr_args(lang, "validation.password_in_connection_string", &[])
            }
            Problem::DuplicateOrderKeyPrefix => {
                tr_args(lang, "validation.duplicate_order_key_prefix", &[])
            }
            Problem::BadOrderKeyPrefix => tr_args(
                lang,
                "validation.bad_order_key_prefix",
                &[("max", &MAX_ORDER_KEY_PREFIX.to_string())],
            ),
        }
    }
}

/// Checks a shop address: `http://` or `https://` followed by a host name.
pub fn address_is_valid(address: &str) -> bool {
    if address.chars().any(char::is_whitespace) {
        return false;
    }
    let lower = address.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
    else {
        return false;
    };
    if rest.starts_with('/') {
        return false;
    }
    match reqwest::Url::parse(address) {
        Ok(url) => url.host_str().is_some_and(|h| !h.is_empty()),
        Err(_) => false,
    }
}

/// Checks an operator code: 1–4 ASCII letters or digits.
pub fn operator_code_is_valid(code: &str) -> bool {
    (1..=4).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Checks a fiscal number: 2 Latin capitals and 6 digits (e.g. `DT279013`).
pub fn fiscal_number_is_valid(number: &str) -> bool {
    let b = number.as_bytes();
    b.len() == 8
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..].iter().all(u8::is_ascii_digit)
}

fn check_interval(out: &mut Vec<FieldError>, server: &ServerId, field: Field, interval: &Interval) {
    let problem = match *interval {
        Interval::OnStart => None,
        Interval::EveryMinutes { minutes } if !MINUTES_RANGE.contains(&minutes) => {
            Some(Problem::OutOfRange {
                min: *MINUTES_RANGE.start(),
                max: *MINUTES_RANGE.end(),
            })
        }
        Interval::EveryHours { hours } if !HOURS_RANGE.contains(&hours) => {
            Some(Problem::OutOfRange {
                min: *HOURS_RANGE.start(),
                max: *HOURS_RANGE.end(),
            })
        }
        Interval::Daily { hour, minute } if hour > 23 || minute > 59 => Some(Problem::BadTime),
        _ => None,
    };
    if let Some(problem) = problem {
        out.push(FieldError {
            server: Some(server.clone()),
            field,
            problem,
        });
    }
}

fn check_range(
    out: &mut Vec<FieldError>,
    server: &ServerId,
    field: Field,
    value: u32,
    range: std::ops::RangeInclusive<u32>,
) {
    if !range.contains(&value) {
        out.push(FieldError {
            server: Some(server.clone()),
            field,
            problem: Problem::OutOfRange {
                min: *range.start(),
                max: *range.end(),
            },
        });
    }
}

fn check_shop(out: &mut Vec<FieldError>, id: &ServerId, shop: &ShopConnection) {
    let err = |field, problem| FieldError {
        server: Some(id.clone()),
        field,
        problem,
    };
    if shop.address.trim().is_empty() {
        out.push(err(Field::Address, Problem::Required));
    } else if !address_is_valid(shop.address.trim()) {
        out.push(err(Field::Address, Problem::BadAddress));
    }
    check_interval(out, id, Field::SendInterval, &shop.send_interval);
    check_interval(out, id, Field::CollectInterval, &shop.collect_interval);
    check_range(
        out,
        id,
        Field::ConnectTimeout,
        shop.connect_timeout_secs,
        CONNECT_TIMEOUT_RANGE,
    );
    check_range(
        out,
        id,
        Field::RequestTimeout,
        shop.request_timeout_secs,
        REQUEST_TIMEOUT_RANGE,
    );
}

/// Validates one server against the whole configuration (for unique names and references).
pub fn validate_server(config: &AppConfig, server: &ServerDef) -> Vec<FieldError> {
    let mut out = Vec::new();
    let id = &server.id;
    let err = |field, problem| FieldError {
        server: Some(id.clone()),
        field,
        problem,
    };
    let name = server.name.trim();
    if name.is_empty() {
        out.push(err(Field::Name, Problem::Required));
    } else if config
        .servers
        .iter()
        .any(|s| s.id != *id && s.name.trim() == name)
    {
        out.push(err(Field::Name, Problem::DuplicateName));
    }
    match &server.kind {
        ServerKind::Export(e) => {
            check_shop(&mut out, id, &e.shop);
            if !PRICE_GROUP_RANGE.contains(&e.price_group) {
                out.push(err(
                    Field::PriceGroup,
                    Problem::OutOfRange {
                        min: u32::from(*PRICE_GROUP_RANGE.start()),
                        max: u32::from(*PRICE_GROUP_RANGE.end()),
                    },
                ));
            }
        }
        ServerKind::Import(i) => {
            check_shop(&mut out, id, &i.shop);
            if i.status_for_processing.trim().is_empty() {
                out.push(err(Field::StatusForProcessing, Problem::Required));
            }
            if i.status_after_processing.trim().is_empty() {
                out.push(err(Field::StatusAfterProcessing, Problem::Required));
            } else if i.status_after_processing.trim() == i.status_for_processing.trim() {
                out.push(err(Field::StatusAfterProcessing, Problem::SameStatuses));
            }
            let prefix = i.order_key_prefix.trim();
            if prefix.is_empty()
                || prefix.chars().count() > MAX_ORDER_KEY_PREFIX
                || prefix.chars().any(char::is_whitespace)
                || prefix.chars().last().is_some_and(char::is_alphanumeric)
            {
                out.push(err(Field::OrderKeyPrefix, Problem::BadOrderKeyPrefix));
            } else if config.servers.iter().any(|s| {
                s.id != server.id
                    && matches!(&s.kind, ServerKind::Import(o)
                        if o.order_key_prefix.trim().eq_ignore_ascii_case(prefix))
            }) {
                out.push(err(Field::OrderKeyPrefix, Problem::DuplicateOrderKeyPrefix));
            }
            if i.supto_mode {
                let module = i.printing_module.trim();
                if module.is_empty() {
                    out.push(err(Field::PrintingModule, Problem::Required));
                } else if !config
                    .servers
                    .iter()
                    .any(|s| s.name.trim() == module && matches!(s.kind, ServerKind::EShop(_)))
                {
                    out.push(err(Field::PrintingModule, Problem::UnknownPrintingModule));
                }
            }
        }
        ServerKind::EShop(f) => {
            if f.port.trim().is_empty() {
                out.push(err(Field::Port, Problem::Required));
            }
            if !BAUD_RATES.contains(&f.baud_rate) {
                out.push(err(
                    Field::BaudRate,
                    Problem::OutOfRange {
                        min: BAUD_RATES[0],
                        max: BAUD_RATES[BAUD_RATES.len() - 1],
                    },
                ));
            }
            if f.fiscal_number.is_empty() {
                out.push(err(Field::FiscalNumber, Problem::Required));
            } else if !fiscal_number_is_valid(&f.fiscal_number) {
                out.push(err(Field::FiscalNumber, Problem::BadFiscalNumber));
            }
            let mut rates: Vec<u32> = f.tax_groups.iter().map(|t| t.rate_bp).collect();
            rates.sort_unstable();
            rates.dedup();
            if f.tax_groups.iter().any(|t| !(1..=8).contains(&t.group)) {
                out.push(err(
                    Field::TaxGroups,
                    Problem::OutOfRange { min: 1, max: 8 },
                ));
            } else if rates.len() != f.tax_groups.len() {
                out.push(err(Field::TaxGroups, Problem::DuplicateOrEmptyRow));
            }
            let mut methods: Vec<String> = f
                .payment_rules
                .iter()
                .map(|r| r.method.trim().to_lowercase())
                .collect();
            let has_empty = methods.iter().any(String::is_empty);
            methods.sort();
            methods.dedup();
            if has_empty || methods.len() != f.payment_rules.len() {
                out.push(err(Field::PaymentRules, Problem::DuplicateOrEmptyRow));
            }
            if f.operator_code.is_empty() {
                out.push(err(Field::OperatorCode, Problem::Required));
            } else if !operator_code_is_valid(&f.operator_code) {
                out.push(err(Field::OperatorCode, Problem::BadOperatorCode));
            }
        }
    }
    out
}

/// Validates the whole configuration: every server, and the database settings when set.
pub fn validate(config: &AppConfig) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = config
        .servers
        .iter()
        .flat_map(|s| validate_server(config, s))
        .collect();
    out.extend(validate_database(&config.database));
    out
}

/// Validates the database settings (an empty connection is allowed: "not configured yet").
pub fn validate_database(db: &DatabaseConfig) -> Vec<FieldError> {
    let mut out = Vec::new();
    if db.mode == DbConnectMode::Dsn && db.dsn.trim().is_empty() {
        out.push(FieldError {
            server: None,
            field: Field::DbConnection,
            problem: Problem::Required,
        });
    }
    if db.connection_string.to_ascii_lowercase().contains("pwd=")
        || db
            .connection_string
            .to_ascii_lowercase()
            .contains("password=")
    {
        out.push(FieldError {
            server: None,
            field: Field::DbConnection,
            problem: Problem::PasswordInConnectionString,
        });
    }
    out
}
