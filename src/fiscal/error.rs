//! Typed fiscal-device errors and status conditions, with translated messages.

use crate::core::unp::UnpError;
use crate::i18n::{Language, tr, tr_args, with_detail};

/// A refusal or fault reported by the device itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceFault {
    /// Out of paper.
    PaperOut,
    /// Printer cover open.
    CoverOpen,
    /// Printing mechanism failure.
    PrinterFault,
    /// Fiscal memory full.
    FiscalMemoryFull,
    /// Electronic journal full.
    JournalFull,
    /// A fiscal receipt is already open.
    ReceiptAlreadyOpen,
    /// No fiscal receipt is open.
    ReceiptNotOpen,
    /// Payment has started: no more sales or cancelling.
    PaymentStarted,
    /// The payment does not cover the receipt total.
    PaymentIncomplete,
    /// Command not permitted in the device's current state.
    NotPermitted,
    /// Wrong operator number or password.
    WrongPassword,
    /// Syntax error in the command.
    Syntax,
    /// Unknown command.
    InvalidCommand,
    /// VAT group not enabled on the device.
    ForbiddenVat,
    /// Amount overflow (price × quantity too large).
    Overflow,
    /// Device blocked: no connection to the tax authority for more than 24 hours.
    Blocked24h,
    /// Another device error with its numeric code (Datecs X negative codes).
    Code(i32),
}

impl DeviceFault {
    /// Maps a Datecs X negative error code to a fault, for the message only: the receipt
    /// flow decides from the status bytes and the receipt-state read, never from a code.
    /// Source of every code: Datecs' list of error codes (`Possible_ErrorCodes.ods`, as
    /// summarised in PROTOCOLS.md §2.7); -111015/-111016/-111018 appear in neither ErpNet.FP
    /// nor the X document, only in that list.
    pub fn from_x_code(code: i32) -> Self {
        match code {
            -100403 | -112006 => DeviceFault::PaperOut,
            -100404 | -112007 => DeviceFault::CoverOpen,
            -100402 | -112008 => DeviceFault::PrinterFault,
            -100114 => DeviceFault::FiscalMemoryFull,
            -105010 => DeviceFault::JournalFull,
            -111015 | -111047 | -111067 => DeviceFault::ReceiptAlreadyOpen,
            -111016 => DeviceFault::ReceiptNotOpen,
            -111018 => DeviceFault::PaymentStarted,
            -111050 | -111064 => DeviceFault::PaymentIncomplete,
            -112002 | -111003 => DeviceFault::NotPermitted,
            -102002 | -111076 => DeviceFault::WrongPassword,
            -112001 | -111002 | -101004 => DeviceFault::Syntax,
            c if (-112299..=-112100).contains(&c) => DeviceFault::Syntax,
            -112000 => DeviceFault::InvalidCommand,
            -111005 => DeviceFault::ForbiddenVat,
            -111006 | -112003 => DeviceFault::Overflow,
            -111024 | -110225 | -110226 => DeviceFault::Blocked24h,
            c => DeviceFault::Code(c),
        }
    }

    fn key(self) -> &'static str {
        match self {
            DeviceFault::PaperOut => "fiscal.fault.paper_out",
            DeviceFault::CoverOpen => "fiscal.fault.cover_open",
            DeviceFault::PrinterFault => "fiscal.fault.printer_fault",
            DeviceFault::FiscalMemoryFull => "fiscal.fault.fiscal_memory_full",
            DeviceFault::JournalFull => "fiscal.fault.journal_full",
            DeviceFault::ReceiptAlreadyOpen => "fiscal.fault.receipt_already_open",
            DeviceFault::ReceiptNotOpen => "fiscal.fault.receipt_not_open",
            DeviceFault::PaymentStarted => "fiscal.fault.payment_started",
            DeviceFault::PaymentIncomplete => "fiscal.fault.payment_incomplete",
            DeviceFault::NotPermitted => "fiscal.fault.not_permitted",
            DeviceFault::WrongPassword => "fiscal.fault.wrong_password",
            DeviceFault::Syntax => "fiscal.fault.syntax",
            DeviceFault::InvalidCommand => "fiscal.fault.invalid_command",
            DeviceFault::ForbiddenVat => "fiscal.fault.forbidden_vat",
            DeviceFault::Overflow => "fiscal.fault.overflow",
            DeviceFault::Blocked24h => "fiscal.fault.blocked_24h",
            DeviceFault::Code(_) => "fiscal.fault.code",
        }
    }

    /// A clear translated message.
    pub fn message(self, lang: Language) -> String {
        match self {
            DeviceFault::Code(c) => tr_args(lang, self.key(), &[("code", &c.to_string())]),
            _ => tr(lang, self.key()),
        }
    }
}

/// A condition the device reports in its status bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// Out of paper.
    PaperOut,
    /// Paper nearly out.
    PaperLow,
    /// Cover open.
    CoverOpen,
    /// Printing mechanism failure.
    PrinterFault,
    /// Fiscal memory full.
    FiscalMemoryFull,
    /// Fiscal memory nearly full.
    FiscalMemoryNearFull,
    /// Electronic journal full.
    JournalFull,
    /// Electronic journal nearly full.
    JournalNearFull,
    /// Clock not set.
    ClockNotSet,
    /// A fiscal receipt is open.
    FiscalReceiptOpen,
    /// A non-fiscal (service) receipt is open.
    NonFiscalReceiptOpen,
}

impl Condition {
    /// True for conditions that stop printing.
    pub fn is_blocking(self) -> bool {
        matches!(
            self,
            Condition::PaperOut
                | Condition::CoverOpen
                | Condition::PrinterFault
                | Condition::FiscalMemoryFull
                | Condition::JournalFull
        )
    }

    /// The device fault matching a blocking condition.
    pub fn fault(self) -> Option<DeviceFault> {
        match self {
            Condition::PaperOut => Some(DeviceFault::PaperOut),
            Condition::CoverOpen => Some(DeviceFault::CoverOpen),
            Condition::PrinterFault => Some(DeviceFault::PrinterFault),
            Condition::FiscalMemoryFull => Some(DeviceFault::FiscalMemoryFull),
            Condition::JournalFull => Some(DeviceFault::JournalFull),
            _ => None,
        }
    }

    /// A clear translated message.
    pub fn message(self, lang: Language) -> String {
        let key = match self {
            Condition::PaperOut => "fiscal.fault.paper_out",
            Condition::PaperLow => "fiscal.condition.paper_low",
            Condition::CoverOpen => "fiscal.fault.cover_open",
            Condition::PrinterFault => "fiscal.fault.printer_fault",
            Condition::FiscalMemoryFull => "fiscal.fault.fiscal_memory_full",
            Condition::FiscalMemoryNearFull => "fiscal.condition.fiscal_memory_near_full",
            Condition::JournalFull => "fiscal.fault.journal_full",
            Condition::JournalNearFull => "fiscal.condition.journal_near_full",
            Condition::ClockNotSet => "fiscal.condition.clock_not_set",
            Condition::FiscalReceiptOpen => "fiscal.condition.fiscal_receipt_open",
            Condition::NonFiscalReceiptOpen => "fiscal.condition.non_fiscal_receipt_open",
        };
        tr(lang, key)
    }
}

/// Decodes Datecs-style status bytes (6 or 8; the layout of bytes 0, 1, 2 and 4 is shared
/// by groups A, B and C, PROTOCOLS.md §2.5) into conditions.
pub fn decode_conditions(status: &[u8]) -> Vec<Condition> {
    let bit = |byte: usize, b: u8| status.get(byte).is_some_and(|v| v & (1 << b) != 0);
    let table = [
        (2, 0, Condition::PaperOut),
        (2, 1, Condition::PaperLow),
        (0, 6, Condition::CoverOpen),
        (0, 4, Condition::PrinterFault),
        (4, 4, Condition::FiscalMemoryFull),
        (4, 3, Condition::FiscalMemoryNearFull),
        (2, 2, Condition::JournalFull),
        (2, 4, Condition::JournalNearFull),
        (0, 2, Condition::ClockNotSet),
        (2, 3, Condition::FiscalReceiptOpen),
        (2, 5, Condition::NonFiscalReceiptOpen),
    ];
    table
        .iter()
        .filter(|(byte, b, _)| bit(*byte, *b))
        .map(|(_, _, c)| *c)
        .collect()
}

/// Why a fiscal operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FiscalError {
    /// The serial port could not be opened.
    #[error("cannot open serial port {port}: {detail}")]
    PortOpen {
        /// Port name.
        port: String,
        /// OS error text.
        detail: String,
    },
    /// The port failed or disappeared during an exchange.
    #[error("serial port lost: {0}")]
    Disconnected(String),
    /// No valid reply after every retry.
    #[error("no reply from the fiscal device after {attempts} attempts")]
    NoReply {
        /// Frames sent.
        attempts: u32,
    },
    /// The device answered something that does not follow the protocol.
    #[error("invalid reply from the fiscal device: {0}")]
    BadReply(String),
    /// The device refused the command.
    #[error("fiscal device error: {0:?}")]
    Device(DeviceFault),
    /// The device's serial differs from the configured fiscal number.
    #[error("device serial {device} differs from the configured {configured}")]
    SerialMismatch {
        /// Configured fiscal number.
        configured: String,
        /// Serial read from the device.
        device: String,
    },
    /// A УНП or its parts are invalid, or the УНП belongs to another device.
    #[error("{0}")]
    Unp(#[from] UnpError),
    /// The УНП was issued for another device.
    #[error("УНП {unp} is not for device {device}")]
    UnpDevice {
        /// The УНП text.
        unp: String,
        /// The device serial.
        device: String,
    },
    /// The УНП sequence or the print journal could not be read or written.
    #[error("fiscal state file {path}: {detail}")]
    Storage {
        /// File path.
        path: String,
        /// Error text.
        detail: String,
    },
    /// No device tax group is configured for a VAT rate.
    #[error("no tax group for VAT rate {0}")]
    NoTaxGroup(String),
    /// The device's VAT rate for a tax group differs from the rate mapped to it.
    #[error("tax group {group} is {device} on the device, expected {expected}")]
    TaxRateMismatch {
        /// Tax group 1–8.
        group: u8,
        /// Rate on the device (`-` when disabled).
        device: String,
        /// Rate the mapping expects.
        expected: String,
    },
    /// The receipt is not printable as given (no lines, payments short, negative amounts).
    #[error("invalid receipt: {0}")]
    InvalidReceipt(String),
    /// The device holds an open receipt SkladLink did not start.
    #[error("device {device} holds an open receipt SkladLink did not print")]
    ForeignReceiptOpen {
        /// The device serial.
        device: String,
    },
    /// The device holds the unfinished receipt of another sale.
    #[error("the device holds the unfinished receipt of {sale}")]
    OtherSaleOpen {
        /// The journal key of that sale (its УНП, or `storno:<УНП>:<refund>`).
        sale: String,
    },
    /// The protocol family is not implemented yet.
    #[error("protocol {0} not supported yet")]
    Unsupported(String),
}

/// The message key saying in words why a serial port did not open, from the system's text
/// (Linux errno texts and the Windows ones the serial crate passes on).
fn port_reason_key(detail: &str) -> &'static str {
    let d = detail.to_ascii_lowercase();
    if d.contains("no such file") || d.contains("not found") || d.contains("cannot find") {
        "fiscal.reason.port_missing"
    } else if d.contains("permission denied") || d.contains("access is denied") {
        "fiscal.reason.port_denied"
    } else if d.contains("busy") || d.contains("in use") || d.contains("being used") {
        "fiscal.reason.port_busy"
    } else {
        "fiscal.reason.port_other"
    }
}

impl FiscalError {
    /// A clear translated message (never contains a password).
    pub fn message(&self, lang: Language) -> String {
        match self {
            FiscalError::PortOpen { port, detail } => with_detail(
                tr_args(
                    lang,
                    "fiscal.error.port_open",
                    &[
                        ("port", port),
                        ("reason", &tr(lang, port_reason_key(detail))),
                    ],
                ),
                detail,
            ),
            FiscalError::Disconnected(d) => with_detail(tr(lang, "fiscal.error.disconnected"), d),
            FiscalError::NoReply { attempts } => tr_args(
                lang,
                "fiscal.error.no_reply",
                &[("attempts", &attempts.to_string())],
            ),
            FiscalError::BadReply(d) => with_detail(tr(lang, "fiscal.error.bad_reply"), d),
            FiscalError::Device(f) => {
                tr_args(lang, "fiscal.error.device", &[("fault", &f.message(lang))])
            }
            FiscalError::SerialMismatch { configured, device } => tr_args(
                lang,
                "fiscal.error.serial_mismatch",
                &[("configured", configured), ("device", device)],
            ),
            FiscalError::Unp(e) => tr_args(lang, "fiscal.error.unp", &[("detail", &e.to_string())]),
            FiscalError::UnpDevice { unp, device } => tr_args(
                lang,
                "fiscal.error.unp_device",
                &[("unp", unp), ("device", device)],
            ),
            FiscalError::Storage { path, detail } => with_detail(
                tr_args(lang, "fiscal.error.storage", &[("path", path)]),
                detail,
            ),
            FiscalError::NoTaxGroup(rate) => {
                tr_args(lang, "fiscal.error.no_tax_group", &[("rate", rate)])
            }
            FiscalError::TaxRateMismatch {
                group,
                device,
                expected,
            } => {
                let letter =
                    char::from_u32('А' as u32 + u32::from(group.saturating_sub(1))).unwrap_or('?');
                tr_args(
                    lang,
                    "fiscal.error.tax_rate_mismatch",
                    &[
                        ("group", &letter.to_string()),
                        ("device", device),
                        ("expected", expected),
                    ],
                )
            }
            FiscalError::InvalidReceipt(d) => {
                tr_args(lang, "fiscal.error.invalid_receipt", &[("detail", d)])
            }
            FiscalError::ForeignReceiptOpen { device } => tr_args(
                lang,
                "fiscal.error.foreign_receipt_open",
                &[("device", device)],
            ),
            FiscalError::OtherSaleOpen { sale } => {
                tr_args(lang, "fiscal.error.other_sale_open", &[("sale", sale)])
            }
            FiscalError::Unsupported(p) => {
                tr_args(lang, "fiscal.error.unsupported", &[("protocol", p)])
            }
        }
    }

    /// The device fault, when the device refused the command.
    pub fn fault(&self) -> Option<DeviceFault> {
        match self {
            FiscalError::Device(f) => Some(*f),
            _ => None,
        }
    }

    /// True when the link failed (no reply, port lost), so the command may or may not have run.
    pub fn is_link_failure(&self) -> bool {
        matches!(
            self,
            FiscalError::NoReply { .. } | FiscalError::Disconnected(_)
        )
    }

    /// True when the error is the device's, not the receipt's (it stopped answering, is
    /// out of paper, locked, the wrong one): every following receipt would fail the same
    /// way, so printing stops and the receipt waits for the next run instead of failing.
    pub fn stops_printing(&self) -> bool {
        match self {
            FiscalError::Device(f) => matches!(
                f,
                DeviceFault::PaperOut
                    | DeviceFault::CoverOpen
                    | DeviceFault::PrinterFault
                    | DeviceFault::FiscalMemoryFull
                    | DeviceFault::JournalFull
                    | DeviceFault::WrongPassword
                    | DeviceFault::Blocked24h
            ),
            FiscalError::PortOpen { .. }
            | FiscalError::SerialMismatch { .. }
            | FiscalError::ForeignReceiptOpen { .. }
            | FiscalError::OtherSaleOpen { .. }
            | FiscalError::Storage { .. } => true,
            other => other.is_link_failure(),
        }
    }
}

impl From<crate::sim::fiscal::SimError> for FiscalError {
    /// The emulator failing to start reads like a port that cannot be opened.
    fn from(e: crate::sim::fiscal::SimError) -> Self {
        match e {
            crate::sim::fiscal::SimError::Pty(detail) => FiscalError::PortOpen {
                port: "pty".into(),
                detail,
            },
            crate::sim::fiscal::SimError::State { path, detail } => {
                FiscalError::Storage { path, detail }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FiscalError;
    use crate::i18n::{Language, split_detail};

    #[test]
    fn a_port_that_does_not_open_is_said_in_words_with_the_systems_text_as_detail() {
        for (raw, words) in [
            ("No such file or directory (os error 2)", "няма такъв порт"),
            ("Permission denied (os error 13)", "dialout"),
            (
                "Device or resource busy (os error 16)",
                "зает от друга програма",
            ),
        ] {
            let text = FiscalError::PortOpen {
                port: "COM3".into(),
                detail: raw.into(),
            }
            .message(Language::Bg);
            let (sentence, detail) = split_detail(&text);
            assert!(sentence.contains(words), "{sentence}");
            assert!(sentence.contains("COM3"), "{sentence}");
            assert!(!sentence.contains("os error"), "{sentence}");
            assert_eq!(detail, Some(raw));
        }
    }
}
