//! The currencies of a run's sides, gathered before anything is written: the shop's from
//! its orders or `system_status`, the warehouse's from the Database tab's setting or the database
//! itself; `core::currency` decides what the run does with them.

use crate::config::{DeviceCurrencySetting, WarehouseCurrency};
use crate::core::currency::{Conversion, Currency, CurrencyPlan, DeviceCurrency, plan};
use crate::i18n::{Language, tr, tr_args};
use crate::warehouse::{Warehouse, WarehouseError};
use crate::woo::{WooClient, WooError};

/// The shop's currency as `system_status` states it (`settings.currency`), `None` when
/// it states none.
pub async fn shop_currency(client: &WooClient) -> Result<Option<Currency>, WooError> {
    let status = client.system_status().await?;
    Ok(status["settings"]["currency"]
        .as_str()
        .and_then(Currency::from_code))
}

/// The currency every one of `orders` states (WooCommerce gives each order the shop's
/// currency when it is placed); `None` when there are none, one states none or they
/// differ: then only `system_status` can tell the shop's.
pub fn orders_currency(orders: &[crate::woo::Order]) -> Option<Currency> {
    let first = Currency::from_code(&orders.first()?.currency)?;
    orders
        .iter()
        .all(|o| o.currency.trim().eq_ignore_ascii_case(first.code()))
        .then_some(first)
}

/// The warehouse's currency: as the Database tab states it, else read from the
/// database (`warehouse::guess`); `None` when it cannot be told.
pub fn warehouse_currency(
    wh: &Warehouse,
    setting: WarehouseCurrency,
) -> Result<Option<Currency>, WarehouseError> {
    Ok(match setting {
        WarehouseCurrency::Eur => Some(Currency::Eur),
        WarehouseCurrency::Bgn => Some(Currency::Bgn),
        WarehouseCurrency::Detect => wh.base_currency()?.as_deref().and_then(Currency::from_code),
    })
}

/// The main currency of a device set up with `setting`.
pub fn device_currency(setting: DeviceCurrencySetting) -> DeviceCurrency {
    match setting {
        DeviceCurrencySetting::Euro => DeviceCurrency::Euro,
        DeviceCurrencySetting::Leva => DeviceCurrency::Leva,
    }
}

/// What a run does with the two currencies: `Ok(None)` unchanged, `Ok(Some(_))`
/// converted, `Err` the translated refusal naming both currencies (nothing is written).
pub fn conversion_of(
    lang: Language,
    shop: Option<Currency>,
    warehouse: Option<Currency>,
    convert_lev: bool,
) -> Result<Option<Conversion>, String> {
    let shop = shop.ok_or_else(|| tr(lang, "euro.shop_currency_unknown"))?;
    let warehouse = warehouse.ok_or_else(|| tr(lang, "euro.warehouse_currency_unknown"))?;
    match plan(&shop, &warehouse, convert_lev) {
        CurrencyPlan::Same(_) => Ok(None),
        CurrencyPlan::Convert(c) => Ok(Some(c)),
        CurrencyPlan::Refuse { shop, warehouse } => Err(tr_args(
            lang,
            "euro.refused",
            &[("shop", shop.code()), ("warehouse", warehouse.code())],
        )),
    }
}

/// The line `check` prints about the shop's and the warehouse's currencies.
pub fn check_line(
    lang: Language,
    shop: Option<&Currency>,
    warehouse: Option<&Currency>,
    convert_lev: bool,
) -> String {
    let unknown = tr(lang, "euro.check_unknown");
    let name = |c: Option<&Currency>| c.map(|c| c.code().to_string()).unwrap_or(unknown.clone());
    let verdict = match (shop, warehouse) {
        (Some(s), Some(w)) => match plan(s, w, convert_lev) {
            CurrencyPlan::Same(_) => tr(lang, "euro.check_same"),
            CurrencyPlan::Convert(_) => tr(lang, "euro.check_convert"),
            CurrencyPlan::Refuse { .. } => tr(lang, "euro.check_refuse"),
        },
        _ => tr(lang, "euro.check_refuse"),
    };
    tr_args(
        lang,
        "euro.check_currencies",
        &[
            ("shop", &name(shop)),
            ("warehouse", &name(warehouse)),
            ("verdict", &verdict),
        ],
    )
}
