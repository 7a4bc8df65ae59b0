//! Currencies of the three sides (shop, warehouse, fiscal device) and the rules between
//! them: the fixed lev ↔ euro rate, the Euro Act's rounding, whether a run may go ahead,
//! must convert, or must stop, and whether a receipt may be printed on a device.
//! Facts: the shared reference `EURO.md` (rate 1 EUR = 1.95583 BGN; prices divided by
//! the rate and rounded mathematically — half away from zero — to the cent).

use std::fmt;

use super::money::{Money, div_round};

/// A currency as ISO 4217 names it; only the euro and the lev have rules of their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Currency {
    /// The euro (`EUR`), Bulgaria's currency since 1 January 2026.
    Eur,
    /// The Bulgarian lev (`BGN`).
    Bgn,
    /// Any other code, upper-cased as given (a shop may sell in anything).
    Other(String),
}

impl Currency {
    /// The currency of an ISO code ("eur", " BGN ") — `None` for an empty text.
    pub fn from_code(code: &str) -> Option<Currency> {
        let c = code.trim().to_ascii_uppercase();
        match c.as_str() {
            "" => None,
            "EUR" => Some(Currency::Eur),
            "BGN" => Some(Currency::Bgn),
            _ => Some(Currency::Other(c)),
        }
    }

    /// The ISO code: `EUR`, `BGN`, …
    pub fn code(&self) -> &str {
        match self {
            Currency::Eur => "EUR",
            Currency::Bgn => "BGN",
            Currency::Other(c) => c,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money in a stated currency, wherever amounts of two currencies can meet
/// (a conversion, a print job, a list of receipts). Amounts add only within one currency
/// and a conversion takes only an amount of its own source currency, so a euro amount is
/// never added to, or taken for, a lev one: the attempt is a [`CurrencyMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount {
    money: Money,
    currency: Currency,
}

/// Amounts of two different currencies met where one currency was needed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an amount in {found} where {expected} was expected")]
pub struct CurrencyMismatch {
    /// The currency that was needed.
    pub expected: Currency,
    /// The currency the amount was in.
    pub found: Currency,
}

impl Amount {
    /// `money` in `currency`.
    pub fn new(money: Money, currency: Currency) -> Amount {
        Amount { money, currency }
    }

    /// The number, without its currency.
    pub fn money(&self) -> Money {
        self.money
    }

    /// The currency the amount is in.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The sum of two amounts of one currency; `Err` when their currencies differ.
    pub fn checked_add(&self, other: &Amount) -> Result<Amount, CurrencyMismatch> {
        same(&self.currency, &other.currency)?;
        Ok(Amount::new(self.money + other.money, self.currency.clone()))
    }
}

/// `Ok` when `found` is the `expected` currency.
fn same(expected: &Currency, found: &Currency) -> Result<(), CurrencyMismatch> {
    if expected == found {
        Ok(())
    } else {
        Err(CurrencyMismatch {
            expected: expected.clone(),
            found: found.clone(),
        })
    }
}

impl fmt::Display for Amount {
    /// "11.78 EUR".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.money, self.currency)
    }
}

/// The sum of `amounts` in each currency, by currency code; amounts of two currencies
/// are never added together.
pub fn totals_by_currency(amounts: impl IntoIterator<Item = Amount>) -> Vec<Amount> {
    let mut totals: Vec<Amount> = Vec::new();
    for a in amounts {
        match totals.iter_mut().find(|t| t.currency == a.currency) {
            Some(t) => t.money += a.money,
            None => totals.push(a),
        }
    }
    totals.sort_by(|a, b| a.currency.code().cmp(b.currency.code()));
    totals
}

/// Leva per euro in hundred-thousandths: 1 EUR = 1.95583 BGN (fixed, EURO.md).
pub const BGN_PER_EUR_E5: i128 = 195_583;

/// A lev amount in euro: divided by 1.95583, rounded half away from zero to the cent.
pub fn bgn_to_eur(amount: Money) -> Money {
    let cents = div_round(i128::from(amount.cents()) * 100_000, BGN_PER_EUR_E5);
    Money::from_cents(cents as i64)
}

/// A euro amount in leva: multiplied by 1.95583, rounded half away from zero to the
/// stotinka.
pub fn eur_to_bgn(amount: Money) -> Money {
    let cents = div_round(i128::from(amount.cents()) * BGN_PER_EUR_E5, 100_000);
    Money::from_cents(cents as i64)
}

/// Which way a run converts amounts between a lev warehouse and a euro shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// The warehouse keeps leva, the shop sells in euro.
    LevWarehouseEuroShop,
}

impl Conversion {
    /// A warehouse amount as the shop states it (leva → euro); refused for an amount
    /// that is not in the warehouse's currency.
    pub fn to_shop(self, amount: &Amount) -> Result<Amount, CurrencyMismatch> {
        same(&self.warehouse_currency(), amount.currency())?;
        Ok(match self {
            Conversion::LevWarehouseEuroShop => {
                Amount::new(bgn_to_eur(amount.money), self.shop_currency())
            }
        })
    }

    /// A shop amount as the warehouse states it (euro → leva); refused for an amount
    /// that is not in the shop's currency.
    pub fn to_warehouse(self, amount: &Amount) -> Result<Amount, CurrencyMismatch> {
        same(&self.shop_currency(), amount.currency())?;
        Ok(match self {
            Conversion::LevWarehouseEuroShop => {
                Amount::new(eur_to_bgn(amount.money), self.warehouse_currency())
            }
        })
    }

    /// A bare shop amount stated in `currency` as the warehouse's bare amount (see
    /// [`Conversion::to_warehouse`]).
    pub fn money_to_warehouse(
        self,
        money: Money,
        currency: &Currency,
    ) -> Result<Money, CurrencyMismatch> {
        self.to_warehouse(&Amount::new(money, currency.clone()))
            .map(|a| a.money())
    }

    /// The shop's currency under this conversion.
    pub fn shop_currency(self) -> Currency {
        match self {
            Conversion::LevWarehouseEuroShop => Currency::Eur,
        }
    }

    /// The warehouse's currency under this conversion.
    pub fn warehouse_currency(self) -> Currency {
        match self {
            Conversion::LevWarehouseEuroShop => Currency::Bgn,
        }
    }
}

/// What a run between a shop and the warehouse does about their currencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurrencyPlan {
    /// Both sides keep the same currency: amounts pass unchanged.
    Same(Currency),
    /// A lev warehouse and a euro shop with conversion set: amounts are converted.
    Convert(Conversion),
    /// The sides disagree and nothing converts between them: nothing is written.
    Refuse {
        /// The shop's currency.
        shop: Currency,
        /// The warehouse's currency.
        warehouse: Currency,
    },
}

/// Decides from the shop's and the warehouse's currencies and the server's conversion
/// setting whether a run goes ahead unchanged, converts, or stops. Conversion is only
/// between a lev warehouse and a euro shop; set on two sides of one currency it changes
/// nothing.
pub fn plan(shop: &Currency, warehouse: &Currency, convert_lev: bool) -> CurrencyPlan {
    if shop == warehouse {
        return CurrencyPlan::Same(shop.clone());
    }
    match (shop, warehouse) {
        (Currency::Eur, Currency::Bgn) if convert_lev => {
            CurrencyPlan::Convert(Conversion::LevWarehouseEuroShop)
        }
        _ => CurrencyPlan::Refuse {
            shop: shop.clone(),
            warehouse: warehouse.clone(),
        },
    }
}

/// A fiscal device's main currency: the amounts it is sent are in it (N-18 as amended for
/// the euro, EURO.md: modes 0 and 1 keep leva main, modes 2 and 3 euro).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCurrency {
    /// Modes 2 (euro, leva second) and 3 (euro only).
    Euro,
    /// Modes 0 (leva only) and 1 (leva, euro second).
    Leva,
}

impl DeviceCurrency {
    /// The currency amounts are sent in.
    pub fn currency(self) -> Currency {
        match self {
            DeviceCurrency::Euro => Currency::Eur,
            DeviceCurrency::Leva => Currency::Bgn,
        }
    }
}

/// Whether a receipt whose amounts are in `receipt` may be printed on a device of main
/// currency `device`: `Err` names the two currencies when they differ (a receipt is never
/// printed at an amount of the wrong currency). An unknown receipt currency (print jobs
/// queued before currencies were recorded) is taken as the device's own.
pub fn receipt_allowed(
    receipt: Option<&Currency>,
    device: DeviceCurrency,
) -> Result<(), (Currency, Currency)> {
    match receipt {
        Some(c) if *c != device.currency() => Err((c.clone(), device.currency())),
        _ => Ok(()),
    }
}

/// An amount with its currency for a person to read: "11.78 EUR".
pub fn with_currency(amount: Money, currency: &Currency) -> String {
    Amount::new(amount, currency.clone()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn leva_to_euro_round_half_away_from_zero() {
        assert_eq!(bgn_to_eur(m("9.99")), m("5.11"));
        assert_eq!(bgn_to_eur(m("1.00")), m("0.51"));
        assert_eq!(bgn_to_eur(m("19.56")), m("10.00"));
        assert_eq!(bgn_to_eur(m("1.95583")), m("1.00"));
        assert_eq!(bgn_to_eur(m("0.01")), m("0.01"));
        assert_eq!(bgn_to_eur(m("-9.99")), m("-5.11"));
        assert_eq!(bgn_to_eur(Money::ZERO), Money::ZERO);
        // 0.98 лв = 0.501065 € → 0.50; 2.94 лв = 1.50319… € → 1.50.
        assert_eq!(bgn_to_eur(m("0.98")), m("0.50"));
        assert_eq!(bgn_to_eur(m("2.94")), m("1.50"));
    }

    #[test]
    fn euro_to_leva_round_half_away_from_zero() {
        assert_eq!(eur_to_bgn(m("10.00")), m("19.56"));
        assert_eq!(eur_to_bgn(m("5.11")), m("9.99"));
        assert_eq!(eur_to_bgn(m("1.00")), m("1.96"));
        assert_eq!(eur_to_bgn(m("-1.00")), m("-1.96"));
        // 0.02 € = 0.0391166 лв → 0.04.
        assert_eq!(eur_to_bgn(m("0.02")), m("0.04"));
        // Exactly half a stotinka: 500 € → 977.915 лв → 977.92.
        assert_eq!(eur_to_bgn(m("500.00")), m("977.92"));
        assert_eq!(eur_to_bgn(m("-500.00")), m("-977.92"));
    }

    #[test]
    fn codes_are_read_loosely_and_written_upper_case() {
        assert_eq!(Currency::from_code(" eur "), Some(Currency::Eur));
        assert_eq!(Currency::from_code("BGN"), Some(Currency::Bgn));
        assert_eq!(
            Currency::from_code("usd"),
            Some(Currency::Other("USD".into()))
        );
        assert_eq!(Currency::from_code("  "), None);
        assert_eq!(Currency::Other("USD".into()).to_string(), "USD");
    }

    #[test]
    fn plans_proceed_convert_or_refuse() {
        use Currency::*;
        assert_eq!(plan(&Eur, &Eur, false), CurrencyPlan::Same(Eur));
        assert_eq!(plan(&Eur, &Eur, true), CurrencyPlan::Same(Eur));
        assert_eq!(plan(&Bgn, &Bgn, false), CurrencyPlan::Same(Bgn));
        assert_eq!(
            plan(&Eur, &Bgn, false),
            CurrencyPlan::Refuse {
                shop: Eur,
                warehouse: Bgn
            }
        );
        assert_eq!(
            plan(&Eur, &Bgn, true),
            CurrencyPlan::Convert(Conversion::LevWarehouseEuroShop)
        );
        // Only a lev warehouse is converted to a euro shop, never the other way round.
        assert_eq!(
            plan(&Bgn, &Eur, true),
            CurrencyPlan::Refuse {
                shop: Bgn,
                warehouse: Eur
            }
        );
        let usd = Other("USD".into());
        assert_eq!(
            plan(&usd, &Bgn, true),
            CurrencyPlan::Refuse {
                shop: usd.clone(),
                warehouse: Bgn
            }
        );
    }

    #[test]
    fn receipts_print_only_in_the_devices_main_currency() {
        assert_eq!(
            receipt_allowed(Some(&Currency::Eur), DeviceCurrency::Euro),
            Ok(())
        );
        assert_eq!(
            receipt_allowed(Some(&Currency::Eur), DeviceCurrency::Leva),
            Err((Currency::Eur, Currency::Bgn))
        );
        assert_eq!(
            receipt_allowed(Some(&Currency::Bgn), DeviceCurrency::Euro),
            Err((Currency::Bgn, Currency::Eur))
        );
        assert_eq!(receipt_allowed(None, DeviceCurrency::Leva), Ok(()));
    }

    fn eur(s: &str) -> Amount {
        Amount::new(m(s), Currency::Eur)
    }

    fn bgn(s: &str) -> Amount {
        Amount::new(m(s), Currency::Bgn)
    }

    #[test]
    fn conversion_goes_both_ways() {
        let c = Conversion::LevWarehouseEuroShop;
        assert_eq!(c.to_shop(&bgn("19.56")), Ok(eur("10.00")));
        assert_eq!(c.to_warehouse(&eur("10.00")), Ok(bgn("19.56")));
        assert_eq!(c.warehouse_currency(), Currency::Bgn);
        assert_eq!(c.shop_currency(), Currency::Eur);
        assert_eq!(with_currency(m("11.78"), &Currency::Eur), "11.78 EUR");
    }

    #[test]
    fn a_conversion_refuses_an_amount_of_the_wrong_currency() {
        let c = Conversion::LevWarehouseEuroShop;
        // Euro prices are not converted again as if they were leva, nor leva as euro.
        assert_eq!(
            c.to_shop(&eur("10.00")),
            Err(CurrencyMismatch {
                expected: Currency::Bgn,
                found: Currency::Eur
            })
        );
        assert!(c.to_warehouse(&bgn("19.56")).is_err());
        assert!(
            c.to_warehouse(&Amount::new(m("1"), Currency::Other("USD".into())))
                .is_err()
        );
    }

    #[test]
    fn amounts_of_two_currencies_never_add_up() {
        assert_eq!(eur("1.00").checked_add(&eur("0.50")), Ok(eur("1.50")));
        assert_eq!(
            eur("1.00").checked_add(&bgn("1.96")),
            Err(CurrencyMismatch {
                expected: Currency::Eur,
                found: Currency::Bgn
            })
        );
        assert_eq!(
            totals_by_currency([eur("1.00"), bgn("1.96"), eur("0.50"), bgn("0.04")]),
            vec![bgn("2.00"), eur("1.50")]
        );
        assert_eq!(eur("11.78").to_string(), "11.78 EUR");
        assert_eq!(eur("11.78").money(), m("11.78"));
        assert_eq!(bgn("1").currency(), &Currency::Bgn);
    }
}
