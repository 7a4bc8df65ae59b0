//! Which WooCommerce payment methods get a fiscal receipt, and with which payment type.
//!
//! Bulgarian rules (PROTOCOLS.md §5): payments by bank transfer, or cash on delivery
//! collected by the courier as a postal money order (ППП), need no fiscal receipt; cash and
//! card payments do. The table is configurable because a shop's gateways and courier
//! contracts differ.

use serde::{Deserialize, Serialize};

use super::PaymentKind;

/// What to do for one WooCommerce payment method id (`bacs`, `cod`, `stripe`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRule {
    /// WooCommerce payment method id.
    pub method: String,
    /// Payment type on the receipt; None = no fiscal receipt for this method.
    pub kind: Option<PaymentKind>,
}

/// The payment-method table, with a fallback for methods it does not list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRules {
    /// Rules by method id.
    pub rules: Vec<PaymentRule>,
    /// Payment type for an unlisted method; None = print no receipt for it.
    pub fallback: Option<PaymentKind>,
}

impl Default for PaymentRules {
    /// Bank transfer: no receipt; cash on delivery: cash; cheque: check; common card
    /// gateways: card; anything else: card (an online payment).
    fn default() -> Self {
        let rule = |method: &str, kind| PaymentRule {
            method: method.to_string(),
            kind,
        };
        Self {
            rules: vec![
                rule("bacs", None),
                rule("cod", Some(PaymentKind::Cash)),
                rule("cheque", Some(PaymentKind::Check)),
                rule("stripe", Some(PaymentKind::Card)),
                rule("ppcp-gateway", Some(PaymentKind::Card)),
                rule("paypal", Some(PaymentKind::Card)),
                rule("mypos_virtual", Some(PaymentKind::Card)),
            ],
            fallback: Some(PaymentKind::Card),
        }
    }
}

impl PaymentRules {
    /// The payment type a receipt uses for `method`; None when the method gets no receipt.
    pub fn receipt_payment(&self, method: &str) -> Option<PaymentKind> {
        let method = method.trim();
        self.rules
            .iter()
            .find(|r| r.method.eq_ignore_ascii_case(method))
            .map_or(self.fallback, |r| r.kind)
    }

    /// True when an order paid with `method` needs a fiscal receipt.
    pub fn needs_receipt(&self, method: &str) -> bool {
        self.receipt_payment(method).is_some()
    }
}

impl From<&crate::config::EShopSettings> for PaymentRules {
    /// The table configured for an e-Shop Connector.
    fn from(settings: &crate::config::EShopSettings) -> Self {
        use crate::config::ReceiptPayment;
        let kind = |p: ReceiptPayment| match p {
            ReceiptPayment::None => None,
            ReceiptPayment::Cash => Some(PaymentKind::Cash),
            ReceiptPayment::Card => Some(PaymentKind::Card),
            ReceiptPayment::Check => Some(PaymentKind::Check),
            ReceiptPayment::Coupon => Some(PaymentKind::Coupon),
            ReceiptPayment::Bank => Some(PaymentKind::Bank),
        };
        Self {
            rules: settings
                .payment_rules
                .iter()
                .map(|r| PaymentRule {
                    method: r.method.trim().to_string(),
                    kind: kind(r.payment),
                })
                .collect(),
            fallback: kind(settings.payment_fallback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_bulgarian_rules() {
        let rules = PaymentRules::default();
        assert!(!rules.needs_receipt("bacs"));
        assert_eq!(rules.receipt_payment("cod"), Some(PaymentKind::Cash));
        assert_eq!(rules.receipt_payment("COD "), Some(PaymentKind::Cash));
        assert_eq!(rules.receipt_payment("stripe"), Some(PaymentKind::Card));
        assert_eq!(
            rules.receipt_payment("some-new-gateway"),
            Some(PaymentKind::Card)
        );
    }

    #[test]
    fn table_is_configurable() {
        let rules = PaymentRules {
            rules: vec![PaymentRule {
                method: "cod".into(),
                kind: None,
            }],
            fallback: None,
        };
        assert!(!rules.needs_receipt("cod"));
        assert!(!rules.needs_receipt("stripe"));
        let json = serde_json::to_string(&PaymentRules::default()).unwrap();
        let back: PaymentRules = serde_json::from_str(&json).unwrap();
        assert_eq!(back, PaymentRules::default());
    }
}
