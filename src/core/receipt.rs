//! A sale's fiscal receipt, decided without any device: what goes on it (kept with its
//! print job from the moment the sale is written), whether one is due for its payment
//! method, and the lines with their VAT rates when it is printed.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::currency::{Amount, Currency, DeviceCurrency, receipt_allowed};
use super::import::{DocumentDraft, DraftLine};
use super::money::Money;

/// VAT rate (basis points) of shipping and of goods the warehouse does not know: the
/// standard 20 %.
pub const STANDARD_VAT_BP: u32 = 2000;

/// A sale line to print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintLine {
    /// SKU (its VAT group is looked up in the warehouse when printing).
    pub sku: String,
    /// Printed name.
    pub name: String,
    /// Whole units.
    pub qty: i64,
    /// Unit price, VAT included.
    pub unit_price: Money,
}

/// What a receipt holds, decided when the sale is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintContent {
    /// Goods lines.
    pub lines: Vec<PrintLine>,
    /// Shipping, if invoiced.
    pub shipping: Option<Money>,
    /// WooCommerce payment method id.
    pub payment_method: String,
    /// Document total.
    pub total: Money,
    /// ISO code of the currency the amounts are in (the order's); empty for jobs queued
    /// before currencies were recorded, which are taken as the device's own.
    #[serde(default)]
    pub currency: String,
}

impl PrintContent {
    /// Whether this receipt may be printed on a device of main currency `device`:
    /// `Err((receipt's, device's))` when the currencies differ (see
    /// [`crate::core::currency::receipt_allowed`]).
    pub fn printable_on(&self, device: DeviceCurrency) -> Result<(), (Currency, Currency)> {
        receipt_allowed(Currency::from_code(&self.currency).as_ref(), device)
    }

    /// The document total with its currency; `None` for a job queued before currencies
    /// were recorded.
    pub fn total_amount(&self) -> Option<Amount> {
        Currency::from_code(&self.currency).map(|c| Amount::new(self.total, c))
    }

    /// The total for a person to read: "11.78 EUR", or the bare number when the job
    /// recorded no currency.
    pub fn total_text(&self) -> String {
        self.total_amount()
            .map_or_else(|| self.total.to_string(), |a| a.to_string())
    }
}

/// The receipt content of the sale `draft` paid with `payment_method`, its amounts in
/// `currency`.
pub fn content_of(draft: &DocumentDraft, payment_method: &str, currency: &str) -> PrintContent {
    content_of_lines(
        &draft.lines,
        draft.shipping,
        draft.total,
        payment_method,
        currency,
    )
}

/// The receipt content of `lines` and `shipping` (a sale's, or a refund's for its
/// storno) totalling `total`, paid with `payment_method`, in `currency`.
pub fn content_of_lines(
    lines: &[DraftLine],
    shipping: Option<Money>,
    total: Money,
    payment_method: &str,
    currency: &str,
) -> PrintContent {
    PrintContent {
        lines: lines
            .iter()
            .map(|l| PrintLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                qty: l.qty,
                unit_price: l.unit_price,
            })
            .collect(),
        shipping,
        payment_method: payment_method.to_string(),
        total,
        currency: currency.trim().to_ascii_uppercase(),
    }
}

/// One line of the receipt to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedLine {
    /// A sold good.
    Item {
        /// Printed name.
        text: String,
        /// Unit price in cents, VAT included.
        unit_price: i64,
        /// Quantity in thousandths.
        quantity_milli: i64,
        /// VAT rate in basis points.
        vat_rate: u32,
    },
    /// The shipping charge.
    Shipping {
        /// Amount in cents.
        amount: i64,
        /// VAT rate in basis points.
        vat_rate: u32,
    },
}

/// The lines of `content`, each good at its VAT rate from `rates` (by SKU; unknown SKUs
/// and shipping at the standard rate).
pub fn planned_lines(content: &PrintContent, rates: &HashMap<String, u32>) -> Vec<PlannedLine> {
    let mut lines: Vec<PlannedLine> = content
        .lines
        .iter()
        .map(|l| PlannedLine::Item {
            text: l.name.clone(),
            unit_price: l.unit_price.cents(),
            quantity_milli: l.qty * 1000,
            vat_rate: rates.get(&l.sku).copied().unwrap_or(STANDARD_VAT_BP),
        })
        .collect();
    if let Some(shipping) = content.shipping {
        lines.push(PlannedLine::Shipping {
            amount: shipping.cents(),
            vat_rate: STANDARD_VAT_BP,
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goods_take_their_rate_and_shipping_the_standard_one() {
        let content = PrintContent {
            lines: vec![
                PrintLine {
                    sku: "A".into(),
                    name: "Хляб".into(),
                    qty: 2,
                    unit_price: Money::from_cents(150),
                },
                PrintLine {
                    sku: "Z".into(),
                    name: "Друго".into(),
                    qty: 1,
                    unit_price: Money::from_cents(1000),
                },
            ],
            shipping: Some(Money::from_cents(599)),
            payment_method: "cod".into(),
            total: Money::from_cents(1899),
            currency: "EUR".into(),
        };
        let rates = HashMap::from([("A".to_string(), 900)]);
        let lines = planned_lines(&content, &rates);
        assert_eq!(
            lines,
            vec![
                PlannedLine::Item {
                    text: "Хляб".into(),
                    unit_price: 150,
                    quantity_milli: 2000,
                    vat_rate: 900
                },
                PlannedLine::Item {
                    text: "Друго".into(),
                    unit_price: 1000,
                    quantity_milli: 1000,
                    vat_rate: 2000
                },
                PlannedLine::Shipping {
                    amount: 599,
                    vat_rate: 2000
                },
            ]
        );
    }

    #[test]
    fn a_receipt_total_carries_its_currency() {
        let mut content = PrintContent {
            lines: vec![],
            shipping: None,
            payment_method: "cod".into(),
            total: Money::from_cents(1178),
            currency: "EUR".into(),
        };
        assert_eq!(
            content.total_amount(),
            Some(Amount::new(Money::from_cents(1178), Currency::Eur))
        );
        assert_eq!(content.total_text(), "11.78 EUR");
        assert_eq!(content.printable_on(DeviceCurrency::Euro), Ok(()));
        assert!(content.printable_on(DeviceCurrency::Leva).is_err());
        content.currency.clear();
        assert_eq!(content.total_amount(), None);
        assert_eq!(content.total_text(), "11.78");
    }
}
