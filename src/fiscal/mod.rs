//! Bulgarian fiscal devices over a serial port: the `FiscalDevice` trait, one module per
//! protocol family, the serial transport, the УНП sequence and the exactly-once receipt flow.
//!
//! - `isl`: Datecs X, Datecs P, Datecs C, Daisy, Eltrade and Incotex (Datecs-style frames,
//!   `frame` + `transport`); `zfp`: Tremol ZFP (its own framing and transport).
//! - `store`: the print journal's entries and the `Journal` trait they are written
//!   through (the ledger keeps them, with the УНП sequence per device).
//! - `receipt`: the receipt flow. Exactly-once rests on the journal: `Opening{before}` is
//!   written before the receipt is opened and `Closing{before}` before it is closed, with
//!   the device's last document number. After a crash, power loss or dropped port the next
//!   print of the same УНП reads the device's receipt state and finishes a paid receipt,
//!   cancels an unpaid one and prints again, or, if the close went through, records the
//!   device's receipt without printing. A retried print of a sale keeps its УНП (the УНП
//!   names the sale; the sequence itself never goes back).
//!   A storno (`print_storno`) is printed under the original sale's УНП and journalled
//!   under its own refund id.
//! - `payment_rules`: which WooCommerce payment methods get a receipt, with which payment type.
//! - `session`: one connector's device and journal together.
//!
//! Protocol facts come from the research notes on Bulgarian fiscal devices (Datecs X/P/C,
//! Daisy, Eltrade, Incotex and Tremol protocol documents as bundled with ErpNet.FP). Where a
//! layout is not documented there (the old families' VAT-rate reply, Tremol's subtotal
//! discount, the Daisy/Eltrade/Tremol storno details), the format follows ErpNet.FP's
//! drivers or is marked in the code as a guess.

pub mod error;
pub mod frame;
pub mod isl;
pub mod payment_rules;
pub mod receipt;
pub mod session;
pub mod store;
pub mod text;
pub mod transport;
pub mod zfp;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

pub use error::{Condition, DeviceFault, FiscalError};
pub use payment_rules::{PaymentRule, PaymentRules};
pub use receipt::{
    Payment, PrintOptions, Receipt, ReceiptLine, StornoOf, StornoReason, StornoReceipt,
    TaxGroupMap, print_receipt, print_storno,
};
pub use session::FiscalSession;
pub use store::{Journal, JournalEntry, PrintedReceipt};
pub use transport::Timing;

use crate::config::{BAUD_RATES, EShopSettings, FiscalProtocol};
use crate::core::unp::Unp;
use crate::secrets::Secret;

/// Identity of a fiscal device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Model name.
    pub model: String,
    /// Firmware version text.
    pub firmware: String,
    /// Device serial number (e.g. `DT279013`), the first part of every УНП.
    pub serial: String,
    /// Fiscal memory number.
    pub fm_number: String,
}

/// What the device reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStatus {
    /// Identity, when it was read.
    pub info: Option<DeviceInfo>,
    /// Conditions from the status bytes.
    pub conditions: Vec<Condition>,
}

impl DeviceStatus {
    /// A status made of conditions only.
    pub fn from_conditions(conditions: Vec<Condition>) -> Self {
        Self {
            info: None,
            conditions,
        }
    }

    /// True when nothing stops printing.
    pub fn ready(&self) -> bool {
        !self.conditions.iter().any(|c| c.is_blocking())
    }

    /// True when a fiscal receipt is open.
    pub fn receipt_open(&self) -> bool {
        self.conditions.contains(&Condition::FiscalReceiptOpen)
    }
}

/// The device's current fiscal receipt, as read after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionState {
    /// A fiscal receipt is open.
    pub open: bool,
    /// Number of the open (or last) receipt where the protocol reports it, else 0.
    pub number: u64,
    /// Sales registered so far (None when the protocol does not report it).
    pub items: Option<u32>,
    /// Receipt amount so far, in stotinki (None when not reported).
    pub amount: Option<i64>,
    /// Amount paid so far, in stotinki; payment has started when above 0 (None when not
    /// reported).
    pub paid: Option<i64>,
    /// Payment has started (None when the protocol does not report it).
    pub payment_started: Option<bool>,
}

impl TransactionState {
    /// Fills `payment_started` from the paid amount when only that is reported.
    pub fn with_payment_started(self) -> Self {
        Self {
            payment_started: self.payment_started.or(self.paid.map(|p| p > 0)),
            ..self
        }
    }
}

/// A sale line as the device takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleItem {
    /// Printed name.
    pub text: String,
    /// Tax group 1–8 (А–З).
    pub tax_group: u8,
    /// Unit price in stotinki.
    pub unit_price: i64,
    /// Quantity in thousandths.
    pub quantity_milli: i64,
    /// Discount amount in stotinki (0 for none).
    pub discount: i64,
}

/// Payment types SkladLink sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Cash (also cash on delivery collected as cash).
    Cash,
    /// Payment card.
    Card,
    /// Cheque.
    Check,
    /// Coupon / voucher.
    Coupon,
    /// Bank transfer.
    Bank,
}

/// The device's answer to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentOutcome {
    /// Amount still due, in stotinki.
    pub due: i64,
    /// Change to give, in stotinki.
    pub change: i64,
}

/// One fiscal device, whatever its protocol family.
pub trait FiscalDevice: Send {
    /// The protocol family.
    fn protocol(&self) -> FiscalProtocol;
    /// Reads model, firmware, serial and fiscal memory number.
    fn device_info(&mut self) -> Result<DeviceInfo, FiscalError>;
    /// Reads the status conditions.
    fn status(&mut self) -> Result<DeviceStatus, FiscalError>;
    /// Reads the VAT rate of each tax group А–З in hundredths of a percent (None = disabled);
    /// Ok(None) when the protocol gives no way to read them.
    fn vat_rates(&mut self) -> Result<Option<Vec<Option<u32>>>, FiscalError>;
    /// Reads the state of the current fiscal receipt.
    fn transaction(&mut self) -> Result<TransactionState, FiscalError>;
    /// Opens a fiscal receipt for `operator` with `password` and the sale's УНП.
    fn open_receipt(
        &mut self,
        operator: &str,
        password: &Secret,
        unp: &Unp,
    ) -> Result<(), FiscalError>;
    /// Opens a storno (refund) receipt for `original` under the original sale's УНП.
    fn open_storno(
        &mut self,
        operator: &str,
        password: &Secret,
        unp: &Unp,
        original: &StornoOf,
    ) -> Result<(), FiscalError>;
    /// Registers a sale.
    fn sale(&mut self, item: &SaleItem) -> Result<(), FiscalError>;
    /// Applies an amount discount to the subtotal.
    fn subtotal_discount(&mut self, amount: i64) -> Result<(), FiscalError>;
    /// Registers a payment; the outcome is None when the protocol does not report amounts.
    fn payment(
        &mut self,
        kind: PaymentKind,
        amount: i64,
    ) -> Result<Option<PaymentOutcome>, FiscalError>;
    /// Pays whatever is still due (with `kind` where the protocol takes a type; nothing when
    /// fully paid), closes the receipt and returns its number; finishes a receipt
    /// interrupted during payment.
    fn pay_rest_and_close(&mut self, kind: PaymentKind) -> Result<u64, FiscalError>;
    /// Closes the receipt and returns its number.
    fn close_receipt(&mut self) -> Result<u64, FiscalError>;
    /// Cancels the open receipt (only before payment).
    fn cancel_receipt(&mut self) -> Result<(), FiscalError>;
    /// Reads the device clock.
    fn date_time(&mut self) -> Result<NaiveDateTime, FiscalError>;
    /// Sets the device clock (SUPTO keeps it in step with the computer's).
    fn set_date_time(&mut self, to: NaiveDateTime) -> Result<(), FiscalError>;
    /// Prints the one allowed duplicate of the last receipt.
    fn print_duplicate(&mut self) -> Result<(), FiscalError>;
    /// The number of the last document the device issued.
    fn last_receipt_number(&mut self) -> Result<u64, FiscalError>;
}

/// Opens the device of `protocol` on serial port `port` at `baud`.
pub fn open_device(
    protocol: FiscalProtocol,
    port: &str,
    baud: u32,
    timing: Timing,
) -> Result<Box<dyn FiscalDevice>, FiscalError> {
    let serial = transport::open_port(port, baud, timing.reply_timeout)?;
    match isl::framing_of(protocol) {
        Some(framing) => {
            let transport = transport::Transport::new(serial, framing, timing);
            Ok(Box::new(isl::IslDevice::new(transport, protocol)))
        }
        None => Ok(Box::new(zfp::ZfpDevice::new(serial, timing))),
    }
}

/// Opens the device of `settings`, trying the configured baud rate first and then the usual
/// ones, and returns it with the rate that answered and its identity.
pub fn detect_device(
    settings: &EShopSettings,
    timing: Timing,
) -> Result<(Box<dyn FiscalDevice>, u32, DeviceInfo), FiscalError> {
    let mut rates = vec![settings.baud_rate];
    for r in [115_200, 9_600].into_iter().chain(BAUD_RATES) {
        if !rates.contains(&r) {
            rates.push(r);
        }
    }
    let probe = Timing {
        attempts: 1,
        ..timing
    };
    let mut last = FiscalError::NoReply { attempts: 0 };
    for rate in rates {
        let mut device = open_device(settings.protocol, &settings.port, rate, probe)?;
        match device.device_info() {
            Ok(info) => {
                drop(device);
                let device = open_device(settings.protocol, &settings.port, rate, timing)?;
                return Ok((device, rate, info));
            }
            Err(e) if e.is_link_failure() || matches!(e, FiscalError::BadReply(_)) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Detects the device of `settings` and checks its serial against the configured fiscal
/// number.
pub fn detect_checked_device(
    settings: &EShopSettings,
    timing: Timing,
) -> Result<(Box<dyn FiscalDevice>, u32, DeviceInfo), FiscalError> {
    let (device, rate, info) = detect_device(settings, timing)?;
    if !info
        .serial
        .eq_ignore_ascii_case(settings.fiscal_number.trim())
    {
        return Err(FiscalError::SerialMismatch {
            configured: settings.fiscal_number.clone(),
            device: info.serial,
        });
    }
    Ok((device, rate, info))
}

/// `skladlink check NAME` for an e-Shop Connector: reads the device's identity and status
/// and checks its serial against the configured fiscal number. The operator password is
/// not sent (no protocol checks it without opening a receipt).
pub fn check_device(
    settings: &EShopSettings,
    _password: &Secret,
) -> Result<DeviceStatus, FiscalError> {
    let (mut device, _rate, info) = detect_checked_device(settings, Timing::default())?;
    let mut status = device.status()?;
    status.info = Some(info);
    Ok(status)
}
