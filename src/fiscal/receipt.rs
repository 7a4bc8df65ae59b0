//! The receipt flow (after ErpNet.FP's sequence, PROTOCOLS.md §2.8): check the device,
//! recover or cancel a receipt left open, open with operator, password and УНП, sell,
//! discount, pay, close, read the number and date. A print journal makes it exactly-once:
//! after a power loss or a dropped port the next call finishes or cancels what the device
//! holds and never prints the same sale twice.

use serde::{Deserialize, Serialize};

use super::error::{DeviceFault, FiscalError};
use super::store::{Journal, JournalEntry, PrintedReceipt};
use super::{FiscalDevice, PaymentKind, SaleItem};
use crate::core::unp::Unp;
use crate::secrets::Secret;

/// Largest amount (or quantity in thousandths) a receipt line takes: 9 999 999.99.
pub const MAX_AMOUNT: i64 = 999_999_999;

/// A VAT rate in hundredths of a percent (2000 = 20 %).
pub type VatRate = u32;

/// One line of a receipt. Money is in stotinki, quantities in thousandths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReceiptLine {
    /// A sold good.
    Item {
        /// Printed name.
        text: String,
        /// Unit price with VAT, in stotinki.
        unit_price: i64,
        /// Quantity in thousandths (1000 = 1).
        quantity_milli: i64,
        /// VAT rate of the good.
        vat_rate: VatRate,
        /// Discount on this line in stotinki (0 for none).
        discount: i64,
    },
    /// Shipping, sold as one unit.
    Shipping {
        /// Printed name.
        text: String,
        /// Amount with VAT, in stotinki.
        amount: i64,
        /// VAT rate of shipping.
        vat_rate: VatRate,
    },
    /// A discount on the subtotal of the lines before it.
    Discount {
        /// Discount amount in stotinki.
        amount: i64,
    },
}

/// One payment of a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Payment type.
    pub kind: PaymentKind,
    /// Amount in stotinki.
    pub amount: i64,
}

/// A receipt to print: the sale's УНП, the operator code, lines and payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The sale's УНП (allocated before printing; kept when a print is retried).
    pub unp: Unp,
    /// Operator number/code on the device.
    pub operator: String,
    /// Lines in print order.
    pub lines: Vec<ReceiptLine>,
    /// Payments; empty means "all in cash".
    pub payments: Vec<Payment>,
}

/// Why a sale is reversed (the three reasons the protocols know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StornoReason {
    /// Operator error (allowed only until the 7th of the following month).
    OperatorError,
    /// Refund (goods returned).
    Refund,
    /// Reduction of the tax base.
    TaxBaseReduction,
}

impl StornoReason {
    /// The reason's code 0, 1 or 2.
    pub fn code(self) -> u8 {
        match self {
            StornoReason::OperatorError => 0,
            StornoReason::Refund => 1,
            StornoReason::TaxBaseReduction => 2,
        }
    }
}

/// The original receipt a storno refers to (what the device printed for the sale).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StornoOf {
    /// Receipt number of the original sale.
    pub receipt_number: u64,
    /// Date and time of the original receipt.
    pub date_time: chrono::NaiveDateTime,
    /// Fiscal memory number of the device that printed it.
    pub fm_number: String,
    /// Why it is reversed.
    pub reason: StornoReason,
}

/// A storno receipt: lines and payments refunded, under the original sale's УНП.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StornoReceipt {
    /// Caller's id of this refund (e.g. the shop's refund id); one storno per id.
    pub id: String,
    /// What is refunded; `unp` must be the original sale's УНП.
    pub receipt: Receipt,
    /// The original receipt.
    pub original: StornoOf,
}

/// Which device tax group (1–8 = А–З) each VAT rate is printed under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxGroupMap {
    /// (VAT rate, tax group) pairs.
    pub entries: Vec<(VatRate, u8)>,
}

impl Default for TaxGroupMap {
    /// Bulgarian convention: А = 0 %, Б = 20 % (Datecs rounding document), Г = 9 %.
    fn default() -> Self {
        Self {
            entries: vec![(0, 1), (2000, 2), (900, 4)],
        }
    }
}

impl TaxGroupMap {
    /// The tax group of `rate`.
    pub fn group(&self, rate: VatRate) -> Result<u8, FiscalError> {
        self.entries
            .iter()
            .find(|(r, g)| *r == rate && (1..=8).contains(g))
            .map(|(_, g)| *g)
            .ok_or_else(|| FiscalError::NoTaxGroup(format_rate(rate)))
    }
}

/// Settings the flow checks the device against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintOptions {
    /// Configured fiscal number (device serial).
    pub fiscal_number: String,
    /// VAT rate → tax group mapping.
    pub tax_groups: TaxGroupMap,
}

enum Step {
    Sale(SaleItem),
    Discount(i64),
}

/// Total the device computes for `lines`: each line rounded half away from zero as the
/// device does (saturating on absurd input).
pub fn receipt_total(lines: &[ReceiptLine]) -> i64 {
    let sum: i128 = lines
        .iter()
        .map(|l| match l {
            ReceiptLine::Item {
                unit_price,
                quantity_milli,
                discount,
                ..
            } => {
                let v = i128::from(*unit_price) * i128::from(*quantity_milli);
                crate::core::money::div_round(v, 1000) - i128::from(*discount)
            }
            ReceiptLine::Shipping { amount, .. } => i128::from(*amount),
            ReceiptLine::Discount { amount } => -i128::from(*amount),
        })
        .sum();
    i64::try_from(sum).unwrap_or(if sum > 0 { i64::MAX } else { i64::MIN })
}

fn plan(
    receipt: &Receipt,
    map: &TaxGroupMap,
) -> Result<(Vec<Step>, Vec<Payment>, i64), FiscalError> {
    let invalid = |s: &str| FiscalError::InvalidReceipt(s.to_string());
    let mut steps = Vec::new();
    for line in &receipt.lines {
        steps.push(match line {
            ReceiptLine::Item {
                text,
                unit_price,
                quantity_milli,
                vat_rate,
                discount,
            } => {
                if *unit_price < 0 || *quantity_milli <= 0 || *discount < 0 {
                    return Err(invalid("negative price, quantity or discount"));
                }
                if *unit_price > MAX_AMOUNT
                    || *quantity_milli > MAX_AMOUNT
                    || *discount > MAX_AMOUNT
                {
                    return Err(invalid("price, quantity or discount too large"));
                }
                Step::Sale(SaleItem {
                    text: text.clone(),
                    tax_group: map.group(*vat_rate)?,
                    unit_price: *unit_price,
                    quantity_milli: *quantity_milli,
                    discount: *discount,
                })
            }
            ReceiptLine::Shipping {
                text,
                amount,
                vat_rate,
            } => {
                if *amount < 0 || *amount > MAX_AMOUNT {
                    return Err(invalid("shipping out of range"));
                }
                Step::Sale(SaleItem {
                    text: text.clone(),
                    tax_group: map.group(*vat_rate)?,
                    unit_price: *amount,
                    quantity_milli: 1000,
                    discount: 0,
                })
            }
            ReceiptLine::Discount { amount } if *amount > 0 && *amount <= MAX_AMOUNT => {
                Step::Discount(*amount)
            }
            ReceiptLine::Discount { .. } => return Err(invalid("discount must be positive")),
        });
    }
    if !steps.iter().any(|s| matches!(s, Step::Sale(_))) {
        return Err(invalid("no sale lines"));
    }
    let total = receipt_total(&receipt.lines);
    if total <= 0 {
        return Err(invalid("total is not positive"));
    }
    let payments = if receipt.payments.is_empty() {
        vec![Payment {
            kind: PaymentKind::Cash,
            amount: total,
        }]
    } else {
        receipt.payments.clone()
    };
    if payments
        .iter()
        .any(|p| p.amount <= 0 || p.amount > MAX_AMOUNT)
    {
        return Err(invalid("payment amounts must be positive"));
    }
    if payments.iter().map(|p| p.amount).sum::<i64>() < total {
        return Err(invalid("payments do not cover the total"));
    }
    Ok((steps, payments, total))
}

/// Prints `receipt` exactly once. If the journal says this УНП was printed, returns that
/// record without printing; if a previous attempt was interrupted, finishes (when paid) or
/// cancels (when not) what the device holds, then prints.
pub fn print_receipt(
    device: &mut dyn FiscalDevice,
    receipt: &Receipt,
    password: &Secret,
    options: &PrintOptions,
    journal: &mut dyn Journal,
) -> Result<PrintedReceipt, FiscalError> {
    let key = receipt.unp.to_string();
    print_document(device, receipt, None, &key, password, options, journal)
}

/// Prints a storno (refund) receipt for `storno.original` exactly once, under the original
/// sale's УНП; `storno.id` tells refunds of the same sale apart in the journal.
pub fn print_storno(
    device: &mut dyn FiscalDevice,
    storno: &StornoReceipt,
    password: &Secret,
    options: &PrintOptions,
    journal: &mut dyn Journal,
) -> Result<PrintedReceipt, FiscalError> {
    let key = format!("storno:{}:{}", storno.receipt.unp, storno.id);
    print_document(
        device,
        &storno.receipt,
        Some(&storno.original),
        &key,
        password,
        options,
        journal,
    )
}

fn print_document(
    device: &mut dyn FiscalDevice,
    receipt: &Receipt,
    storno: Option<&StornoOf>,
    key: &str,
    password: &Secret,
    options: &PrintOptions,
    journal: &mut dyn Journal,
) -> Result<PrintedReceipt, FiscalError> {
    let unp = receipt.unp.to_string();
    if let Some(JournalEntry::Printed(p)) = journal.get(key)? {
        return Ok(p);
    }
    let (steps, payments, total) = plan(receipt, &options.tax_groups)?;
    let info = device.device_info()?;
    if let Some(rates) = device.vat_rates()? {
        check_rates(receipt, &options.tax_groups, &rates)?;
    }
    if !info
        .serial
        .eq_ignore_ascii_case(options.fiscal_number.trim())
    {
        return Err(FiscalError::SerialMismatch {
            configured: options.fiscal_number.clone(),
            device: info.serial,
        });
    }
    if receipt.unp.serial() != info.serial {
        return Err(FiscalError::UnpDevice {
            unp,
            device: info.serial,
        });
    }

    let fm_number = info.fm_number.clone();
    // After an interruption the device's receipt state decides, not its error codes.
    let tx = device.transaction()?;
    let pending = journal.get(key)?;
    let pending_before = match pending {
        Some(JournalEntry::Opening { before } | JournalEntry::Closing { before }) => Some(before),
        _ => None,
    };
    let finished = if tx.open {
        let Some(before) = pending_before else {
            // Not ours: the journal names the sale it belongs to, or nobody's.
            let other = journal.pending()?.into_iter().find(|k| k != key);
            return Err(match other {
                Some(sale) => FiscalError::OtherSaleOpen { sale },
                None => FiscalError::ForeignReceiptOpen {
                    device: info.serial,
                },
            });
        };
        if tx.payment_started == Some(false) {
            // Ours, nothing paid yet: cancel it and print it again below.
            device.cancel_receipt()?;
            journal.remove(key)?;
            None
        } else {
            // Ours, payment started: pay the rest and close it, as ErpNet.FP's reset does.
            journal.set(key, JournalEntry::Closing { before })?;
            Some(device.pay_rest_and_close(payments[0].kind)?)
        }
    } else if let Some(JournalEntry::Closing { before }) = pending {
        // The close went through when the number moved on; only its reply was lost.
        let last = device.last_receipt_number()?;
        (last > before).then_some(last)
    } else {
        None
    };
    let done = |device: &mut dyn FiscalDevice, journal: &mut dyn Journal, number, recovered| {
        record(
            device,
            journal,
            key,
            &unp,
            number,
            total,
            fm_number.clone(),
            recovered,
        )
    };
    if let Some(number) = finished {
        return done(device, journal, number, true);
    }

    let before = device.last_receipt_number()?;
    journal.set(key, JournalEntry::Opening { before })?;
    let result = (|| {
        match storno {
            None => device.open_receipt(&receipt.operator, password, &receipt.unp)?,
            Some(original) => {
                device.open_storno(&receipt.operator, password, &receipt.unp, original)?
            }
        }
        for step in &steps {
            match step {
                Step::Sale(item) => device.sale(item)?,
                Step::Discount(amount) => device.subtotal_discount(*amount)?,
            }
        }
        let mut due = total;
        for p in &payments {
            if due <= 0 {
                break;
            }
            due = match device.payment(p.kind, p.amount)? {
                Some(outcome) => outcome.due,
                None => due - p.amount,
            };
        }
        if due > 0 {
            return Err(FiscalError::Device(DeviceFault::PaymentIncomplete));
        }
        Ok(())
    })();
    if let Err(e) = result {
        // Refused: nothing open, or open and unpaid (cancelled here), leaves nothing
        // pending. A receipt paid in part stays open and journalled, and so does everything
        // after a link failure: the next attempt reads the state and finishes it.
        if !e.is_link_failure() {
            match device.transaction() {
                Ok(t) if !t.open => journal.remove(key)?,
                Ok(t) if t.payment_started == Some(false) && device.cancel_receipt().is_ok() => {
                    journal.remove(key)?;
                }
                _ => {}
            }
        }
        return Err(e);
    }
    journal.set(key, JournalEntry::Closing { before })?;
    let number = device.close_receipt()?;
    done(device, journal, number, false)
}

/// Checks that every tax group the receipt uses is enabled on the device with the VAT rate
/// the mapping assumes.
fn check_rates(
    receipt: &Receipt,
    map: &TaxGroupMap,
    rates: &[Option<VatRate>],
) -> Result<(), FiscalError> {
    for line in &receipt.lines {
        let rate = match line {
            ReceiptLine::Item { vat_rate, .. } | ReceiptLine::Shipping { vat_rate, .. } => {
                *vat_rate
            }
            ReceiptLine::Discount { .. } => continue,
        };
        let group = map.group(rate)?;
        let device = rates.get(usize::from(group) - 1).copied().flatten();
        if device != Some(rate) {
            return Err(FiscalError::TaxRateMismatch {
                group,
                device: device.map_or_else(|| "-".to_string(), format_rate),
                expected: format_rate(rate),
            });
        }
    }
    Ok(())
}

/// A VAT rate as text (`2000` → `20.00 %`).
pub fn format_rate(rate: VatRate) -> String {
    format!(
        "{} %",
        crate::core::money::format_scaled(i128::from(rate), 2)
    )
}

#[allow(clippy::too_many_arguments)]
fn record(
    device: &mut dyn FiscalDevice,
    journal: &mut dyn Journal,
    key: &str,
    unp: &str,
    receipt_number: u64,
    total: i64,
    fm_number: String,
    recovered: bool,
) -> Result<PrintedReceipt, FiscalError> {
    let date_time = device.date_time()?;
    let printed = PrintedReceipt {
        unp: unp.to_string(),
        receipt_number,
        date_time,
        total,
        fm_number,
        recovered,
    };
    journal.set(key, JournalEntry::Printed(printed.clone()))?;
    Ok(printed)
}

impl From<&crate::config::EShopSettings> for TaxGroupMap {
    /// The VAT rate → tax group table configured for an e-Shop Connector.
    fn from(settings: &crate::config::EShopSettings) -> Self {
        Self {
            entries: settings
                .tax_groups
                .iter()
                .map(|t| (t.rate_bp, t.group))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_round_like_the_device() {
        let lines = vec![
            ReceiptLine::Item {
                text: "a".into(),
                unit_price: 333,
                quantity_milli: 1500,
                vat_rate: 2000,
                discount: 0,
            },
            ReceiptLine::Shipping {
                text: "s".into(),
                amount: 500,
                vat_rate: 2000,
            },
            ReceiptLine::Discount { amount: 100 },
        ];
        // 3.33 × 1.5 = 4.995 → 5.00; + 5.00 − 1.00
        assert_eq!(receipt_total(&lines), 900);
        let huge = [ReceiptLine::Item {
            text: "x".into(),
            unit_price: i64::MAX,
            quantity_milli: i64::MAX,
            vat_rate: 2000,
            discount: 0,
        }];
        assert_eq!(receipt_total(&huge), i64::MAX);
    }

    #[test]
    fn plan_rejects_receipts_the_device_would_refuse() {
        let unp = Unp::new("DT279013", "1", 1).unwrap();
        let item = |unit_price, quantity_milli| ReceiptLine::Item {
            text: "a".into(),
            unit_price,
            quantity_milli,
            vat_rate: 2000,
            discount: 0,
        };
        let receipt = |lines, payments| Receipt {
            unp: unp.clone(),
            operator: "1".into(),
            lines,
            payments,
        };
        let map = TaxGroupMap::default();
        let cash = |amount| {
            vec![Payment {
                kind: PaymentKind::Cash,
                amount,
            }]
        };
        for bad in [
            receipt(vec![], vec![]),
            receipt(vec![item(MAX_AMOUNT + 1, 1000)], vec![]),
            receipt(vec![item(100, 0)], vec![]),
            receipt(
                vec![item(100, 1000), ReceiptLine::Discount { amount: 100 }],
                vec![],
            ),
            receipt(vec![item(100, 1000)], cash(99)),
            receipt(vec![item(100, 1000)], cash(-5)),
        ] {
            assert!(
                matches!(plan(&bad, &map), Err(FiscalError::InvalidReceipt(_))),
                "{bad:?}"
            );
        }
        let (steps, payments, total) = plan(&receipt(vec![item(100, 1000)], vec![]), &map).unwrap();
        assert_eq!((steps.len(), total), (1, 100));
        assert_eq!(payments, cash(100));
        assert!(matches!(
            plan(
                &receipt(
                    vec![ReceiptLine::Shipping {
                        text: "s".into(),
                        amount: 5,
                        vat_rate: 1800
                    }],
                    vec![]
                ),
                &map
            ),
            Err(FiscalError::NoTaxGroup(_))
        ));
    }

    #[test]
    fn tax_group_mapping_is_configurable() {
        let map = TaxGroupMap::default();
        assert_eq!(map.group(2000).unwrap(), 2);
        assert_eq!(map.group(900).unwrap(), 4);
        assert!(matches!(map.group(1800), Err(FiscalError::NoTaxGroup(r)) if r == "18.00 %"));
        let custom = TaxGroupMap {
            entries: vec![(2000, 3)],
        };
        assert_eq!(custom.group(2000).unwrap(), 3);
    }
}
