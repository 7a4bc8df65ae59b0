//! One run of one server: the shared set-up (secrets, the shop client, the warehouse
//! thread) and the dispatch to the Export, Import and e-Shop Connector jobs.

use std::collections::HashMap;

use crate::config::{AppConfig, ExportSettings, ServerDef, ServerKind, ShopConnection};
use crate::core::currency::Amount;
use crate::core::export::{ExportGood, ExportGroup, SkipReason, Skipped};
use crate::i18n::{Language, tr};
use crate::ledger::Ledger;
use crate::runner::export::{ExportInput, export_read};
use crate::runner::history::{ItemAction, ItemResult};
use crate::runner::progress::{Progress, Stage};
use crate::runner::warehouse_thread::WarehouseThread;
use crate::runner::worker::StopFlag;
use crate::secrets::{Secret, SecretKey, SecretKind, Secrets};
use crate::warehouse::read::{GoodsGroupNode, GoodsQuery, SkuProblem};
use crate::warehouse::{Warehouse, WarehouseError};
use crate::woo::{WooClient, WooError};

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct JobOutcome {
    /// Per-item results.
    pub items: Vec<ItemResult>,
    /// The error that stopped the run early, translated.
    pub error: Option<String>,
    /// The currency of the run's amounts (the shop's or the device's code; "" unknown).
    pub currency: String,
}

impl JobOutcome {
    /// A run that stopped before doing anything, with its translated error.
    pub fn failed(error: String) -> Self {
        JobOutcome {
            items: Vec::new(),
            error: Some(error),
            ..JobOutcome::default()
        }
    }
}

/// Everything one run of one server works with; the runner builds it.
pub struct JobEnv<'a> {
    /// The configuration at the start of the run.
    pub config: &'a AppConfig,
    /// The server being run.
    pub server: &'a ServerDef,
    /// Secret store.
    pub secrets: &'a Secrets,
    /// The ledger (the runner's).
    pub ledger: &'a Ledger,
    /// Language of the history texts.
    pub lang: Language,
    /// Plan only: write nothing anywhere.
    pub dry_run: bool,
    /// Set by Stop; checked between batches, orders and receipts.
    pub stop: &'a StopFlag,
    /// Progress reports.
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
}

impl JobEnv<'_> {
    /// Reports progress.
    pub fn report(&self, stage: Stage, done: u64, total: u64) {
        (self.progress)(Progress { stage, done, total });
    }

    /// A secret of this server, or the translated reason it is missing.
    pub fn secret(&self, kind: SecretKind) -> Result<Secret, String> {
        let key = SecretKey::server(&self.server.id, kind);
        match self.secrets.get(&key) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(crate::i18n::tr_args(
                self.lang,
                "jobs.missing_secret",
                &[("variable", &key.env_var())],
            )),
            Err(e) => Err(crate::config::secret_error_message(&e, self.lang)),
        }
    }

    /// The shop client of this server.
    pub fn shop_client(&self, shop: &ShopConnection) -> Result<WooClient, String> {
        let key = self.secret(SecretKind::ConsumerKey)?;
        let secret = self.secret(SecretKind::ConsumerSecret)?;
        WooClient::for_shop(shop, &key, &secret).map_err(|e| e.message(self.lang))
    }

    /// Connects to the warehouse on a thread of its own.
    pub async fn warehouse(&self) -> Result<WarehouseThread, String> {
        WarehouseThread::open(self.config, self.secrets)
            .await
            .map_err(|e| e.message(self.lang))
    }

    /// The translated "stopped" error.
    pub fn stopped(&self) -> String {
        tr(self.lang, "jobs.stopped")
    }
}

/// Runs the server of `env` once.
pub async fn run_server(env: &JobEnv<'_>) -> JobOutcome {
    match &env.server.kind {
        ServerKind::Export(settings) => export_job(env, settings).await,
        ServerKind::Import(settings) => crate::runner::import::import_job(env, settings).await,
        ServerKind::EShop(settings) => {
            let mut outcome = crate::runner::eshop::eshop_job(env, settings).await;
            outcome.currency = crate::runner::currency::device_currency(settings.device_currency)
                .currency()
                .code()
                .to_string();
            outcome
        }
    }
}

fn flatten_groups(nodes: &[GoodsGroupNode], out: &mut Vec<(i64, String, String)>) {
    for n in nodes {
        out.push((n.id, n.code.clone(), n.name.clone()));
        flatten_groups(&n.children, out);
    }
}

/// Reads the export's goods and groups from the warehouse (blocking).
pub fn read_export_input(
    wh: &Warehouse,
    settings: &ExportSettings,
    subtract_open_orders: bool,
) -> Result<ExportInput, WarehouseError> {
    let query = GoodsQuery {
        subtract_open_orders,
        ..GoodsQuery::from(settings)
    };
    let snapshot = wh.read_goods(&query)?;
    let mut flat = Vec::new();
    flatten_groups(&wh.goods_groups()?, &mut flat);
    let code_of: HashMap<i64, String> = flat
        .iter()
        .map(|(id, code, _)| (*id, code.clone()))
        .collect();
    let groups = flat
        .into_iter()
        .map(|(_, code, name)| ExportGroup { code, name })
        .collect();
    let goods = snapshot
        .goods
        .into_iter()
        .map(|g| ExportGood {
            sku: g.sku,
            name: g.name,
            price: g.price,
            quantity_milli: g.stock.0,
            group_code: code_of.get(&g.group_id).cloned().unwrap_or_default(),
        })
        .collect();
    let skipped = snapshot
        .invalid
        .into_iter()
        .map(|g| Skipped {
            sku: g.sku,
            name: g.name,
            reason: match g.problem {
                SkuProblem::Empty => SkipReason::EmptySku,
                SkuProblem::Duplicate => SkipReason::DuplicateSku,
            },
        })
        .collect();
    Ok(ExportInput {
        goods,
        groups,
        skipped,
        currency: String::new(),
    })
}

async fn export_job(env: &JobEnv<'_>, settings: &ExportSettings) -> JobOutcome {
    let client = match env.shop_client(&settings.shop) {
        Ok(c) => c,
        Err(e) => return JobOutcome::failed(e),
    };
    // The shop (its currency, products and categories) and the warehouse are read side
    // by side: neither waits for the other.
    let shop_side = async {
        let currency = crate::runner::export::export_shop_currency(&client, env, settings).await?;
        let read = crate::runner::export::read_shop(&client, env, settings).await;
        Ok::<_, WooError>((currency, read))
    };
    let warehouse_side = async {
        env.report(Stage::ReadingWarehouse, 0, 0);
        let wh = env.warehouse().await?;
        let settings_ = settings.clone();
        let subtract = env.config.subtracts_open_orders(settings);
        let stated = env.config.database.currency;
        wh.call(move |w| {
            let currency = crate::runner::currency::warehouse_currency(w, stated)?;
            Ok((read_export_input(w, &settings_, subtract)?, currency))
        })
        .await
        .map_err(|e| e.message(env.lang))
    };
    let (shop_side, warehouse_side) = tokio::join!(shop_side, warehouse_side);
    let (shop_currency, shop_read) = match shop_side {
        Ok(read) => read,
        Err(e) => return JobOutcome::failed(e.message(env.lang)),
    };
    let (mut input, wh_currency) = match warehouse_side {
        Ok(read) => read,
        Err(e) => return JobOutcome::failed(e),
    };
    let shop_read = match shop_read {
        Ok(read) => read,
        Err(e) => return JobOutcome::failed(e.message(env.lang)),
    };
    // A lev warehouse's prices go to a euro shop converted; other mismatches stop here.
    let shop_code = shop_currency
        .as_ref()
        .map(|c| c.code().to_string())
        .unwrap_or_default();
    match crate::runner::currency::conversion_of(
        env.lang,
        shop_currency,
        wh_currency.clone(),
        settings.convert_lev,
    ) {
        Ok(Some(conversion)) => {
            let from = wh_currency.unwrap_or_else(|| conversion.warehouse_currency());
            for g in input.goods.iter_mut() {
                let price = Amount::new(g.price, from.clone());
                g.price = match conversion.to_shop(&price) {
                    Ok(converted) => converted.money(),
                    Err(e) => return JobOutcome::failed(e.to_string()),
                };
            }
        }
        Ok(None) => {}
        Err(e) => return JobOutcome::failed(e),
    }
    input.currency = shop_code.clone();
    let n = input.goods.len() as u64;
    env.report(Stage::ReadingWarehouse, n, n);
    if env.stop.is_set() {
        return JobOutcome::failed(env.stopped());
    }
    let mut outcome = match export_read(&client, input, shop_read, env, settings).await {
        Ok((items, stopped)) => JobOutcome {
            items,
            error: stopped.then(|| env.stopped()),
            ..JobOutcome::default()
        },
        Err(e) => JobOutcome::failed(e.message(env.lang)),
    };
    outcome.currency = shop_code;
    outcome
}

/// A history item of kind `kind`.
pub fn item(kind: &str, key: &str, action: ItemAction, detail: String) -> ItemResult {
    ItemResult {
        kind: kind.into(),
        key: key.into(),
        action,
        detail,
    }
}
/// VAT rates (basis points) of the goods with these SKUs in the key field `key_column`.
pub fn vat_rates_for(
    wh: &Warehouse,
    key_column: &str,
    skus: &[String],
) -> Result<HashMap<String, u32>, WarehouseError> {
    use crate::warehouse::Table;
    let mut out = HashMap::new();
    for chunk in skus.chunks(200) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT g.{key}, v.VATValue FROM {goods} g JOIN {vat} v ON v.ID = g.TaxGroup WHERE g.{key} IN ({marks})",
            key = wh.q(key_column),
            goods = wh.t(Table::Goods),
            vat = wh.t(Table::VatGroups),
        );
        let params: Vec<_> = chunk
            .iter()
            .map(|s| crate::warehouse::db::text(s.as_str()))
            .collect();
        for row in wh.query(&sql, &params)? {
            let sku = row
                .first()
                .cloned()
                .flatten()
                .unwrap_or_default()
                .trim()
                .to_string();
            let rate = row
                .get(1)
                .cloned()
                .flatten()
                .and_then(|t| crate::core::money::parse_rate_bp(&t));
            if let Some(rate) = rate {
                out.insert(sku, rate);
            }
        }
    }
    Ok(out)
}
