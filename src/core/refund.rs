//! Shop refund → warehouse return document (OperType 34, "Рекламация / Refund (return
//! from customer)" in SCHEMA.md §2) and the storno receipt's lines. Pure.
//!
//! A refund with lines returns those lines: each refunded quantity of a SKU the sale had,
//! at the refunded amount (VAT included), split into two lines one stotinka apart when
//! the amount does not divide by the quantity, as the sale's lines are. Refunded shipping
//! is a shipping line when the sale invoiced shipping. A refund with no lines (an amount
//! only, as WooCommerce makes when an order is set to "refunded") returns what is left of
//! the sale after the earlier refunds, and only when its amount is exactly that: an
//! amount-only part refund names no goods, so no return document or storno can be made
//! from it and it is refused with a message saying so.

use std::collections::BTreeMap;

use crate::core::currency::{Conversion, Currency, CurrencyMismatch};
use crate::core::import::{DocumentDraft, DraftLine};
use crate::core::money::Money;

/// One refunded line, amounts positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundLineIn {
    /// SKU of the refunded item.
    pub sku: String,
    /// The shop's item name.
    pub name: String,
    /// Refunded quantity in thousandths (positive).
    pub quantity_milli: i64,
    /// Refunded amount, VAT included (positive).
    pub amount: Money,
}

/// A refund as the mapping needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundIn {
    /// The shop's refund id.
    pub id: u64,
    /// The refunded amount (positive).
    pub amount: Money,
    /// Refunded goods lines.
    pub lines: Vec<RefundLineIn>,
    /// Refunded shipping, VAT included (positive; zero when none).
    pub shipping: Money,
}

/// The return document a refund becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnDraft {
    /// The key written into `Operations.Note` (`WEB#1001/Rf55`).
    pub key: String,
    /// Returned goods.
    pub lines: Vec<DraftLine>,
    /// Returned shipping.
    pub shipping: Option<Money>,
    /// The document total.
    pub total: Money,
}

/// Why a refund cannot become a return document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    /// An amount-only refund that is not the whole rest of the sale.
    #[error("the refund of {amount} names no goods and is not the rest of the sale ({left})")]
    AmountOnly {
        /// The refund's amount.
        amount: Money,
        /// What is left of the sale.
        left: Money,
    },
    /// A refunded line without a whole positive quantity.
    #[error("the refunded quantity of {sku} is not a whole positive number")]
    BadQuantity {
        /// The line's SKU.
        sku: String,
    },
    /// A refunded SKU the sale does not have, or more of it than sold.
    #[error("{sku} was not sold in this quantity")]
    NotSold {
        /// The SKU.
        sku: String,
    },
    /// The refund's amount differs from its lines.
    #[error("the refund's amount {amount} differs from its lines ({lines})")]
    AmountDiffers {
        /// The refund's amount.
        amount: Money,
        /// The sum of its lines.
        lines: Money,
    },
}

/// The warehouse key of refund `refund_id` of the order with key `order_key`.
pub fn refund_key(order_key: &str, refund_id: u64) -> String {
    format!("{}/Rf{refund_id}", order_key.trim())
}

/// `qty` units for `amount`, exactly: one line, or two one stotinka apart.
fn split(sku: &str, name: &str, qty: i64, amount: i64, out: &mut Vec<DraftLine>) {
    let unit = amount / qty;
    let odd = amount - unit * qty;
    let mut push = |qty: i64, cents: i64| {
        if qty > 0 {
            out.push(DraftLine {
                sku: sku.to_string(),
                name: name.to_string(),
                qty,
                unit_price: Money::from_cents(cents),
            });
        }
    };
    push(qty - odd, unit);
    push(odd, unit + 1);
}

/// Per SKU (lower case): name, whole units and amount in stotinki.
type Tally = BTreeMap<String, (String, i64, i64)>;

fn sold(sale: &DocumentDraft) -> Tally {
    let mut t = Tally::new();
    for l in &sale.lines {
        let e = t
            .entry(l.sku.trim().to_lowercase())
            .or_insert_with(|| (l.name.clone(), 0, 0));
        e.1 += l.qty;
        e.2 += l.qty * l.unit_price.cents();
    }
    t
}

fn draft(key: String, lines: Vec<DraftLine>, shipping: Option<Money>) -> ReturnDraft {
    let goods: i64 = lines.iter().map(|l| l.qty * l.unit_price.cents()).sum();
    let total = Money::from_cents(goods + shipping.map(Money::cents).unwrap_or(0));
    ReturnDraft {
        key,
        lines,
        shipping,
        total,
    }
}

/// What is left of `sale` after `earlier` refunds (goods per SKU, shipping).
fn left_after(sale: &DocumentDraft, earlier: &[&RefundIn]) -> Result<(Tally, Money), RefundError> {
    let mut left = sold(sale);
    let mut shipping = sale.shipping.unwrap_or_default();
    for r in earlier {
        for l in &r.lines {
            let sku = l.sku.trim().to_lowercase();
            if let Some(e) = left.get_mut(&sku) {
                e.1 -= l.quantity_milli / 1000;
                e.2 -= l.amount.cents();
            }
        }
        shipping -= r.shipping;
    }
    left.retain(|_, e| e.1 > 0 && e.2 > 0);
    Ok((left, shipping.max(Money::ZERO)))
}

/// The return document of `refund` of `sale` (the sale as mapped, in the same currency
/// as the refund); `all` are every refund of the order (earlier ones have lower ids).
pub fn map_refund(
    sale: &DocumentDraft,
    all: &[RefundIn],
    refund: &RefundIn,
) -> Result<ReturnDraft, RefundError> {
    let key = refund_key(&sale.order_key, refund.id);
    let earlier: Vec<&RefundIn> = all.iter().filter(|r| r.id < refund.id).collect();
    let (left, left_shipping) = left_after(sale, &earlier)?;
    if refund.lines.is_empty() && refund.shipping.is_zero() {
        let rest: i64 = left.values().map(|e| e.2).sum::<i64>()
            + sale.shipping.map(|_| left_shipping.cents()).unwrap_or(0);
        if refund.amount.cents() != rest {
            return Err(RefundError::AmountOnly {
                amount: refund.amount,
                left: Money::from_cents(rest),
            });
        }
        let mut lines = Vec::new();
        for (sku, (name, qty, amount)) in &left {
            let sku = sale
                .lines
                .iter()
                .find(|l| l.sku.trim().to_lowercase() == *sku)
                .map(|l| l.sku.clone())
                .unwrap_or_default();
            split(&sku, name, *qty, *amount, &mut lines);
        }
        let shipping = sale
            .shipping
            .and(Some(left_shipping))
            .filter(|s| !s.is_zero());
        return Ok(draft(key, lines, shipping));
    }
    let mut lines = Vec::new();
    let mut taken: BTreeMap<String, i64> = BTreeMap::new();
    for l in &refund.lines {
        if l.quantity_milli <= 0 || l.quantity_milli % 1000 != 0 || l.amount < Money::ZERO {
            return Err(RefundError::BadQuantity { sku: l.sku.clone() });
        }
        let qty = l.quantity_milli / 1000;
        let lower = l.sku.trim().to_lowercase();
        let have = left.get(&lower).map(|e| e.1).unwrap_or(0);
        let t = taken.entry(lower).or_default();
        *t += qty;
        if *t > have {
            return Err(RefundError::NotSold { sku: l.sku.clone() });
        }
        split(l.sku.trim(), &l.name, qty, l.amount.cents(), &mut lines);
    }
    let shipping =
        (sale.shipping.is_some() && !refund.shipping.is_zero()).then_some(refund.shipping);
    let out = draft(key, lines, shipping);
    let expected = refund.amount
        - if sale.shipping.is_none() {
            refund.shipping
        } else {
            Money::ZERO
        };
    if (out.total.cents() - expected.cents()).abs() > 1 {
        return Err(RefundError::AmountDiffers {
            amount: refund.amount,
            lines: out.total,
        });
    }
    Ok(out)
}

/// The return document, its amounts in `currency` (the order's), with its amounts in the
/// warehouse's currency: each line's amount and the shipping converted (rounded half away
/// from zero) and split again exactly; refused when `currency` is not the one `conversion`
/// starts from.
pub fn convert_return(
    draft_in: &ReturnDraft,
    currency: &Currency,
    conversion: Conversion,
) -> Result<ReturnDraft, CurrencyMismatch> {
    let to = |m: Money| conversion.money_to_warehouse(m, currency);
    let mut lines = Vec::new();
    let mut by_sku: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for l in &draft_in.lines {
        let e = by_sku.entry((l.sku.clone(), l.name.clone())).or_default();
        e.0 += l.qty;
        e.1 += l.qty * l.unit_price.cents();
    }
    for ((sku, name), (qty, amount)) in by_sku {
        let converted = to(Money::from_cents(amount))?.cents();
        split(&sku, &name, qty, converted, &mut lines);
    }
    let shipping = draft_in.shipping.map(to).transpose()?;
    Ok(draft(draft_in.key.clone(), lines, shipping))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::import::{BuyerIn, PaymentKind};

    fn m(c: i64) -> Money {
        Money::from_cents(c)
    }

    fn sale() -> DocumentDraft {
        DocumentDraft {
            order_key: "WEB#7".into(),
            lines: vec![
                DraftLine {
                    sku: "A".into(),
                    name: "Сирене".into(),
                    qty: 3,
                    unit_price: m(450),
                },
                DraftLine {
                    sku: "B".into(),
                    name: "Мед".into(),
                    qty: 1,
                    unit_price: m(1000),
                },
            ],
            shipping: Some(m(499)),
            buyer: BuyerIn::default(),
            payment: PaymentKind::Cash,
            paid: false,
            total: m(2849),
            expected_total: m(2849),
        }
    }

    fn line(sku: &str, qty: i64, cents: i64) -> RefundLineIn {
        RefundLineIn {
            sku: sku.into(),
            name: sku.into(),
            quantity_milli: qty * 1000,
            amount: m(cents),
        }
    }

    fn refund(id: u64, amount: i64, lines: Vec<RefundLineIn>, shipping: i64) -> RefundIn {
        RefundIn {
            id,
            amount: m(amount),
            lines,
            shipping: m(shipping),
        }
    }

    #[test]
    fn a_refund_with_lines_returns_those_lines_exactly() {
        let r = refund(55, 1000, vec![line("a", 2, 900), line("B", 0, 0)], 100);
        // A line of quantity 0 is refused: WooCommerce leaves such lines out.
        assert!(map_refund(&sale(), std::slice::from_ref(&r), &r).is_err());
        let r = refund(55, 1000, vec![line("a", 3, 901)], 99);
        let d = map_refund(&sale(), std::slice::from_ref(&r), &r).unwrap();
        assert_eq!(d.key, "WEB#7/Rf55");
        assert_eq!(d.total, m(1000));
        assert_eq!(d.lines.len(), 2, "901 over 3 units: 300, 300 and 301");
        assert_eq!(d.lines[1].unit_price, m(301));
        assert_eq!(d.shipping, Some(m(99)));
        let too_many = refund(56, 2000, vec![line("A", 4, 1800)], 0);
        assert_eq!(
            map_refund(&sale(), std::slice::from_ref(&too_many), &too_many),
            Err(RefundError::NotSold { sku: "A".into() })
        );
        let differs = refund(57, 2000, vec![line("A", 1, 450)], 0);
        assert!(matches!(
            map_refund(&sale(), std::slice::from_ref(&differs), &differs),
            Err(RefundError::AmountDiffers { .. })
        ));
    }

    #[test]
    fn an_amount_only_refund_must_be_the_rest_of_the_sale() {
        let part = refund(55, 900, vec![line("A", 2, 900)], 0);
        let rest = refund(56, 1949, vec![], 0);
        let all = [part.clone(), rest.clone()];
        let d = map_refund(&sale(), &all, &rest).unwrap();
        assert_eq!(d.total, m(1949));
        assert_eq!(d.shipping, Some(m(499)));
        let qty: i64 = d.lines.iter().map(|l| l.qty).sum();
        assert_eq!(qty, 2, "one A and the B are left");
        let some = refund(56, 500, vec![], 0);
        assert_eq!(
            map_refund(&sale(), &[part, some.clone()], &some),
            Err(RefundError::AmountOnly {
                amount: m(500),
                left: m(1949)
            })
        );
        let whole = refund(60, 2849, vec![], 0);
        let d = map_refund(&sale(), std::slice::from_ref(&whole), &whole).unwrap();
        assert_eq!(d.total, sale().total);
    }

    #[test]
    fn a_return_is_converted_line_by_line() {
        let r = refund(55, 900, vec![line("A", 2, 900)], 0);
        let d = map_refund(&sale(), std::slice::from_ref(&r), &r).unwrap();
        let c = convert_return(&d, &Currency::Eur, Conversion::LevWarehouseEuroShop).unwrap();
        assert!(convert_return(&d, &Currency::Bgn, Conversion::LevWarehouseEuroShop).is_err());
        // 9.00 € = 17.60 лв. (1.95583), 8.80 each.
        assert_eq!(c.total, m(1760));
        assert_eq!(c.lines[0].unit_price, m(880));
    }
}
