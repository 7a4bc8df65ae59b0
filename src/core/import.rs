//! Order → warehouse document mapping: lines by SKU with VAT-inclusive unit prices that add
//! up exactly to the order's amounts, fees spread over the goods, the shipping line, the
//! customer and the payment. Pure; the runner feeds it shop orders and writes the result.

use crate::core::currency::{Conversion, Currency, CurrencyMismatch};
use crate::core::money::Money;

/// The warehouse key of a shop order number under an Import server's prefix
/// (`WEB#` + `100045`).
pub fn order_key(prefix: &str, number: &str) -> String {
    format!("{}{}", prefix.trim(), number.trim())
}

/// One order line as the mapping needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineIn {
    /// SKU ("" when the shop has none).
    pub sku: String,
    /// The shop's item name.
    pub name: String,
    /// Quantity in thousandths.
    pub quantity_milli: i64,
    /// Line amount after discounts, VAT included.
    pub amount: Money,
}

/// The buyer, from the order's billing data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuyerIn {
    /// First and last name.
    pub person: String,
    /// Company.
    pub company: String,
    /// E-mail.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// VAT number, when the shop collects one.
    pub vat_number: String,
    /// City.
    pub city: String,
    /// Street address.
    pub address: String,
}

/// How the payment is recorded in the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentKind {
    /// Cash (cash on delivery).
    Cash,
    /// Bank transfer.
    Bank,
    /// Card (online payment).
    Card,
}

/// A shop order as the mapping needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderIn {
    /// The order number shown to the customer.
    pub number: String,
    /// Grand total, VAT included.
    pub total: Money,
    /// Shipping, VAT included.
    pub shipping: Money,
    /// Fees (positive) and discounts given as negative fees, VAT included.
    pub fees: Vec<Money>,
    /// Goods lines.
    pub lines: Vec<OrderLineIn>,
    /// The buyer.
    pub buyer: BuyerIn,
    /// WooCommerce payment method id (`cod`, `bacs`, `stripe`, …).
    pub payment_method: String,
    /// True when the shop has recorded the payment.
    pub paid: bool,
}

/// One document line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftLine {
    /// SKU.
    pub sku: String,
    /// The shop's item name.
    pub name: String,
    /// Whole units.
    pub qty: i64,
    /// Unit price, VAT included.
    pub unit_price: Money,
}

/// The document an order becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentDraft {
    /// The warehouse key of the order (`WEB#…`).
    pub order_key: String,
    /// Goods lines (a line whose amount does not divide by its quantity becomes two lines
    /// one stotinka apart, so the amounts stay exact).
    pub lines: Vec<DraftLine>,
    /// The shipping line, when shipping is invoiced and not zero.
    pub shipping: Option<Money>,
    /// The buyer.
    pub buyer: BuyerIn,
    /// Payment kind.
    pub payment: PaymentKind,
    /// True when already paid.
    pub paid: bool,
    /// The document total.
    pub total: Money,
    /// The total the order says the document should have (shipping left out when it is
    /// not invoiced).
    pub expected_total: Money,
}

impl DocumentDraft {
    /// True when the document total differs from the expected one by more than 0.01.
    pub fn total_mismatch(&self) -> bool {
        (self.total.cents() - self.expected_total.cents()).abs() > 1
    }
}

/// Why an order cannot become a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The order has no goods lines.
    #[error("the order has no lines")]
    NoLines,
    /// A quantity is not a whole positive number.
    #[error("quantity of {sku} is not a whole positive number")]
    BadQuantity {
        /// The line's SKU.
        sku: String,
    },
    /// A line amount is negative.
    #[error("negative amount on {sku}")]
    NegativeAmount {
        /// The line's SKU.
        sku: String,
    },
    /// The order's amounts are not in the currency its conversion starts from.
    #[error("{0}")]
    Currency(#[from] CurrencyMismatch),
}

/// The payment kind of a WooCommerce payment method: `cod` → cash, `bacs` and `cheque` →
/// bank, anything else (card gateways) → card.
pub fn payment_kind(method: &str) -> PaymentKind {
    match method.trim().to_ascii_lowercase().as_str() {
        "cod" => PaymentKind::Cash,
        "bacs" | "cheque" => PaymentKind::Bank,
        _ => PaymentKind::Card,
    }
}

/// Splits `total` over `weights` in proportion, exactly (largest remainders get the odd cents).
pub fn distribute(total: i64, weights: &[i64]) -> Vec<i64> {
    let n = weights.len();
    if n == 0 {
        return Vec::new();
    }
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if sum == 0 {
        let mut out = vec![0; n];
        out[0] = total;
        return out;
    }
    let sign = if total < 0 { -1 } else { 1 };
    let abs = i128::from(total.abs());
    let mut shares: Vec<(usize, i128, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = abs * i128::from((*w).max(0));
            (i, exact / sum, exact % sum)
        })
        .collect();
    let given: i128 = shares.iter().map(|s| s.1).sum();
    let mut left = abs - given;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i].1 += 1;
        left -= 1;
    }
    shares.into_iter().map(|s| (s.1 as i64) * sign).collect()
}

/// Maps an order to a document; `invoice_shipping` adds the shipping line.
pub fn map_order(
    order: &OrderIn,
    invoice_shipping: bool,
    key_prefix: &str,
) -> Result<DocumentDraft, MapError> {
    if order.lines.is_empty() {
        return Err(MapError::NoLines);
    }
    for l in &order.lines {
        if l.quantity_milli <= 0 || l.quantity_milli % 1000 != 0 {
            return Err(MapError::BadQuantity { sku: l.sku.clone() });
        }
        if l.amount.cents() < 0 {
            return Err(MapError::NegativeAmount { sku: l.sku.clone() });
        }
    }
    let weights: Vec<i64> = order.lines.iter().map(|l| l.amount.cents()).collect();
    let fees: i64 = order.fees.iter().map(|f| f.cents()).sum();
    let extra = distribute(fees, &weights);
    let mut lines = Vec::new();
    for (l, add) in order.lines.iter().zip(extra) {
        let amount = (l.amount.cents() + add).max(0);
        let qty = l.quantity_milli / 1000;
        let unit = amount / qty;
        let odd = amount - unit * qty; // 0..qty-1 units get one stotinka more
        if qty - odd > 0 {
            lines.push(DraftLine {
                sku: l.sku.trim().to_string(),
                name: l.name.clone(),
                qty: qty - odd,
                unit_price: Money::from_cents(unit),
            });
        }
        if odd > 0 {
            lines.push(DraftLine {
                sku: l.sku.trim().to_string(),
                name: l.name.clone(),
                qty: odd,
                unit_price: Money::from_cents(unit + 1),
            });
        }
    }
    let shipping = (invoice_shipping && !order.shipping.is_zero()).then_some(order.shipping);
    let goods_total: i64 = lines.iter().map(|l| l.qty * l.unit_price.cents()).sum();
    let total = Money::from_cents(goods_total + shipping.map(Money::cents).unwrap_or(0));
    let expected_total = if invoice_shipping {
        order.total
    } else {
        Money::from_cents(order.total.cents() - order.shipping.cents())
    };
    Ok(DocumentDraft {
        order_key: order_key(key_prefix, &order.number),
        lines,
        shipping,
        buyer: order.buyer.clone(),
        payment: payment_kind(&order.payment_method),
        paid: order.paid,
        total,
        expected_total,
    })
}

/// The order, its amounts in `currency`, with every amount in the warehouse's currency
/// under `conversion` (refused when `currency` is not the one it converts from): each line,
/// the shipping, each fee and the total converted and rounded half away from zero; the
/// rounding difference between the converted parts and the converted sum of the parts is
/// added as one more fee (spread over the goods by [`map_order`]), so the document total
/// equals the converted order total whenever the order's own amounts add up (a mismatch
/// the order had stays visible to [`DocumentDraft::total_mismatch`]).
pub fn convert_order(
    order: &OrderIn,
    currency: &Currency,
    conversion: Conversion,
) -> Result<OrderIn, CurrencyMismatch> {
    let to = |m: Money| conversion.money_to_warehouse(m, currency);
    let lines = order
        .lines
        .iter()
        .map(|l| {
            Ok(OrderLineIn {
                amount: to(l.amount)?,
                ..l.clone()
            })
        })
        .collect::<Result<Vec<_>, CurrencyMismatch>>()?;
    let mut fees = order
        .fees
        .iter()
        .map(|f| to(*f))
        .collect::<Result<Vec<_>, _>>()?;
    let shipping = to(order.shipping)?;
    let parts = order.lines.iter().map(|l| l.amount).sum::<Money>()
        + order.shipping
        + order.fees.iter().copied().sum::<Money>();
    let converted_parts =
        lines.iter().map(|l| l.amount).sum::<Money>() + shipping + fees.iter().copied().sum();
    let rounding = to(parts)? - converted_parts;
    if !rounding.is_zero() {
        fees.push(rounding);
    }
    Ok(OrderIn {
        total: to(order.total)?,
        shipping,
        fees,
        lines,
        ..order.clone()
    })
}

/// What SkladLink's ledger knows of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Nothing: never seen.
    Nothing,
    /// An intent was recorded (its УНП reserved) but the write's outcome is unknown.
    Intent,
    /// Its document is recorded as committed in the warehouse.
    Written,
}

/// What to do with one order of the processing status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Its document is written; only the steps on the site may be left (the ledger
    /// drives those).
    AlreadyWritten,
    /// Write its document (after recording the intent).
    Write,
    /// The warehouse already holds its document (an earlier run died before recording
    /// it): record it, and its print job, without writing again.
    Adopt {
        /// OperType of the document found.
        oper_type: i64,
        /// Its number.
        acct: i64,
    },
    /// It cannot become a document: report it and leave it untouched on the site.
    Refuse(MapError),
}

/// Decides an order's step from what the ledger knows, what the warehouse holds under
/// its key (`None` when not looked up or not found) and its mapping.
pub fn decide(
    known: Known,
    in_warehouse: Option<(i64, i64)>,
    mapped: &Result<DocumentDraft, MapError>,
) -> Step {
    if known == Known::Written {
        return Step::AlreadyWritten;
    }
    if let Some((oper_type, acct)) = in_warehouse {
        return Step::Adopt { oper_type, acct };
    }
    match mapped {
        Ok(_) => Step::Write,
        Err(e) => Step::Refuse(e.clone()),
    }
}

/// True when the ledger's knowledge leaves the warehouse to be asked whether it holds
/// the order's document.
pub fn needs_warehouse_lookup(known: Known) -> bool {
    known != Known::Written
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::currency::eur_to_bgn;

    fn line(sku: &str, qty: i64, cents: i64) -> OrderLineIn {
        OrderLineIn {
            sku: sku.into(),
            name: sku.into(),
            quantity_milli: qty * 1000,
            amount: Money::from_cents(cents),
        }
    }

    fn order(lines: Vec<OrderLineIn>, shipping: i64, fees: Vec<i64>, total: i64) -> OrderIn {
        OrderIn {
            number: "1045".into(),
            total: Money::from_cents(total),
            shipping: Money::from_cents(shipping),
            fees: fees.into_iter().map(Money::from_cents).collect(),
            lines,
            buyer: BuyerIn::default(),
            payment_method: "cod".into(),
            paid: false,
        }
    }

    #[test]
    fn simple_order_with_shipping() {
        let d = map_order(
            &order(
                vec![line("A", 2, 1000), line("B", 1, 250)],
                599,
                vec![],
                1849,
            ),
            true,
            "WEB#",
        )
        .unwrap();
        assert_eq!(d.order_key, "WEB#1045");
        assert_eq!(
            order_key("SHB-", " 1045 "),
            "SHB-1045",
            "each shop its own key"
        );
        assert_eq!(d.lines.len(), 2);
        assert_eq!(d.lines[0].unit_price, Money::from_cents(500));
        assert_eq!(d.shipping, Some(Money::from_cents(599)));
        assert_eq!(d.total, Money::from_cents(1849));
        assert!(!d.total_mismatch());
        assert_eq!(d.payment, PaymentKind::Cash);
    }

    #[test]
    fn amounts_that_do_not_divide_are_split_exactly() {
        let d = map_order(
            &order(vec![line("A", 3, 1000)], 0, vec![], 1000),
            true,
            "WEB#",
        )
        .unwrap();
        assert_eq!(d.lines.len(), 2);
        assert_eq!((d.lines[0].qty, d.lines[0].unit_price.cents()), (2, 333));
        assert_eq!((d.lines[1].qty, d.lines[1].unit_price.cents()), (1, 334));
        assert_eq!(d.total.cents(), 1000);
    }

    #[test]
    fn fees_and_negative_fees_are_spread_over_the_goods() {
        let d = map_order(
            &order(
                vec![line("A", 1, 3000), line("B", 1, 1000)],
                500,
                vec![-400, 101],
                4201,
            ),
            true,
            "WEB#",
        )
        .unwrap();
        assert_eq!(d.total.cents(), 4201);
        assert!(!d.total_mismatch());
        let a: i64 = d
            .lines
            .iter()
            .filter(|l| l.sku == "A")
            .map(|l| l.qty * l.unit_price.cents())
            .sum();
        assert_eq!(
            a,
            3000 - 224,
            "three quarters of the -2.99 net fee, rounded by largest remainder"
        );
    }

    #[test]
    fn shipping_left_out_when_not_invoiced() {
        let d = map_order(
            &order(vec![line("A", 1, 1000)], 500, vec![], 1500),
            false,
            "WEB#",
        )
        .unwrap();
        assert_eq!(d.shipping, None);
        assert_eq!(d.total.cents(), 1000);
        assert_eq!(d.expected_total.cents(), 1000);
    }

    #[test]
    fn a_wrong_order_total_is_a_mismatch() {
        let d = map_order(
            &order(vec![line("A", 1, 1000)], 0, vec![], 1003),
            true,
            "WEB#",
        )
        .unwrap();
        assert!(d.total_mismatch());
        let d = map_order(
            &order(vec![line("A", 1, 1000)], 0, vec![], 1001),
            true,
            "WEB#",
        )
        .unwrap();
        assert!(!d.total_mismatch(), "within ±0.01");
    }

    #[test]
    fn a_euro_order_becomes_a_lev_document_whose_total_converts_exactly() {
        let c = Conversion::LevWarehouseEuroShop;
        // 3 × 5.11 € + 1 × 0.51 € + 4.99 € shipping − 1.00 € discount = 19.83 €.
        let eur = order(
            vec![line("A", 3, 1533), line("B", 1, 51)],
            499,
            vec![-100],
            1983,
        );
        let bgn = convert_order(&eur, &Currency::Eur, c).unwrap();
        assert_eq!(bgn.total, eur_to_bgn(Money::from_cents(1983)));
        assert_eq!(bgn.total.cents(), 3878);
        let d = map_order(&bgn, true, "WEB#").unwrap();
        assert_eq!(d.total, bgn.total);
        assert_eq!(d.expected_total, bgn.total);
        assert!(!d.total_mismatch());
        assert_eq!(d.shipping, Some(Money::from_cents(976)));
        let goods: i64 = d.lines.iter().map(|l| l.qty * l.unit_price.cents()).sum();
        assert_eq!(goods + 976, 3878);
        // Without shipping on the document the goods still add up to the converted rest.
        let d = map_order(&bgn, false, "WEB#").unwrap();
        assert!(!d.total_mismatch());
        // An order whose own amounts do not add up stays a mismatch after conversion.
        let wrong = order(vec![line("A", 1, 1000)], 0, vec![], 1200);
        let d = map_order(
            &convert_order(&wrong, &Currency::Eur, c).unwrap(),
            true,
            "WEB#",
        )
        .unwrap();
        assert!(d.total_mismatch());
        // An order already in leva is not converted as if it were in euro.
        assert_eq!(
            convert_order(&eur, &Currency::Bgn, c),
            Err(CurrencyMismatch {
                expected: Currency::Eur,
                found: Currency::Bgn
            })
        );
    }

    #[test]
    fn many_small_lines_convert_without_a_rounding_difference() {
        let c = Conversion::LevWarehouseEuroShop;
        let lines = (0..9).map(|i| line(&format!("S{i}"), 1, 1)).collect();
        let eur = order(lines, 0, vec![], 9);
        let d = map_order(
            &convert_order(&eur, &Currency::Eur, c).unwrap(),
            true,
            "WEB#",
        )
        .unwrap();
        assert_eq!(d.total, eur_to_bgn(Money::from_cents(9)));
        assert!(!d.total_mismatch());
    }

    #[test]
    fn bad_orders_are_refused() {
        assert_eq!(
            map_order(&order(vec![], 0, vec![], 0), true, "WEB#"),
            Err(MapError::NoLines)
        );
        let mut half = line("A", 1, 100);
        half.quantity_milli = 1500;
        assert!(matches!(
            map_order(&order(vec![half], 0, vec![], 100), true, "WEB#"),
            Err(MapError::BadQuantity { .. })
        ));
    }

    #[test]
    fn distribution_is_exact() {
        assert_eq!(distribute(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(distribute(-100, &[1, 1, 1]), vec![-34, -33, -33]);
        assert_eq!(distribute(7, &[0, 0]), vec![7, 0]);
        assert_eq!(distribute(0, &[5, 5]), vec![0, 0]);
        let parts = distribute(12345, &[17, 400, 3, 99]);
        assert_eq!(parts.iter().sum::<i64>(), 12345);
    }

    #[test]
    fn payment_kinds() {
        assert_eq!(payment_kind("cod"), PaymentKind::Cash);
        assert_eq!(payment_kind("bacs"), PaymentKind::Bank);
        assert_eq!(payment_kind("stripe"), PaymentKind::Card);
    }

    #[test]
    fn every_order_gets_one_step() {
        let ok: Result<DocumentDraft, MapError> = Err(MapError::NoLines);
        assert_eq!(
            decide(Known::Written, Some((2, 5)), &ok),
            Step::AlreadyWritten
        );
        assert_eq!(
            decide(Known::Intent, Some((2, 5)), &ok),
            Step::Adopt {
                oper_type: 2,
                acct: 5
            },
            "a write that went through before a crash is adopted, not repeated"
        );
        assert_eq!(
            decide(Known::Nothing, None, &ok),
            Step::Refuse(MapError::NoLines)
        );
        assert!(!needs_warehouse_lookup(Known::Written));
        assert!(needs_warehouse_lookup(Known::Intent));
    }
}
