//! One run of one server: read, plan, write, record. Export and Import run here; the
//! e-Shop Connector's printing arrives with the fiscal adapter.

use std::collections::HashMap;

use crate::config::{
    AppConfig, DocumentType, ExportSettings, ImportSettings, ServerDef, ServerKind, ShopConnection,
};
use crate::core::export::{ExportGood, ExportGroup, SkipReason, Skipped};
use crate::core::import::{BuyerIn, OrderIn, OrderLineIn, PaymentKind, map_order};
use crate::core::money::Money;
use crate::fiscal::payment_rules::PaymentRules;
use crate::i18n::{Language, tr, tr_args};
use crate::runner::export::{ExportInput, LinksFile, run_export};
use crate::runner::history::{ItemAction, ItemResult};
use crate::runner::print_queue::{PrintJob, PrintLine, PrintQueue, PrintState};
use crate::runner::progress::{Progress, Stage};
use crate::runner::worker::{RunnerContext, StopFlag};
use crate::secrets::{Secret, SecretKey, SecretKind, Secrets};
use crate::warehouse::read::{GoodsGroupNode, GoodsQuery, SkuProblem};
use crate::warehouse::write::{
    DocLine, NewDocument, PartnerData, PaymentInfo, PaymentMethod, ShippingLine, WriteOptions,
    WriteOutcome,
};
use crate::warehouse::{UnpRecord, Warehouse, WarehouseError};
use crate::woo::{Order, OrderFilter, OrderUpdate, WooClient};

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct JobOutcome {
    /// Per-item results.
    pub items: Vec<ItemResult>,
    /// The error that stopped the run early, translated.
    pub error: Option<String>,
}

impl JobOutcome {
    fn failed(error: String) -> Self {
        JobOutcome {
            items: Vec::new(),
            error: Some(error),
        }
    }
}

/// Runs `server` once.
pub async fn run_server(
    config: &AppConfig,
    server: &ServerDef,
    ctx: &RunnerContext,
    dry_run: bool,
    stop: &StopFlag,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> JobOutcome {
    match &server.kind {
        ServerKind::Export(settings) => {
            export_job(config, server, settings, ctx, dry_run, stop, progress).await
        }
        ServerKind::Import(settings) => {
            import_job(config, server, settings, ctx, dry_run, stop, progress).await
        }
        ServerKind::EShop(settings) => {
            eshop_job(config, server, settings, ctx, stop, progress).await
        }
    }
}

fn secret(secrets: &Secrets, key: SecretKey, lang: Language) -> Result<Secret, String> {
    match secrets.get(&key) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(tr_args(
            lang,
            "jobs.missing_secret",
            &[("variable", &key.env_var())],
        )),
        Err(e) => Err(crate::config::secret_error_message(&e, lang)),
    }
}

fn shop_client(
    server: &ServerDef,
    shop: &ShopConnection,
    secrets: &Secrets,
    lang: Language,
) -> Result<WooClient, String> {
    let key = secret(
        secrets,
        SecretKey::server(&server.id, SecretKind::ConsumerKey),
        lang,
    )?;
    let secret_ = secret(
        secrets,
        SecretKey::server(&server.id, SecretKind::ConsumerSecret),
        lang,
    )?;
    WooClient::for_shop(shop, &key, &secret_).map_err(|e| e.message(lang))
}

fn open_warehouse(config: &AppConfig, secrets: &Secrets) -> Result<Warehouse, WarehouseError> {
    let password = secrets.get(&SecretKey::database()).ok().flatten();
    Warehouse::from_config(&config.database, password.as_ref())
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
) -> Result<ExportInput, WarehouseError> {
    let snapshot = wh.read_goods(&GoodsQuery::from(settings))?;
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
            price: Money::from_cents(g.price),
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
    })
}

async fn export_job(
    config: &AppConfig,
    server: &ServerDef,
    settings: &ExportSettings,
    ctx: &RunnerContext,
    dry_run: bool,
    stop: &StopFlag,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> JobOutcome {
    let lang = ctx.language;
    let client = match shop_client(server, &settings.shop, &ctx.secrets, lang) {
        Ok(c) => c,
        Err(e) => return JobOutcome::failed(e),
    };
    progress(Progress {
        stage: Stage::ReadingWarehouse,
        done: 0,
        total: 0,
    });
    let (config_, secrets, settings_) = (config.clone(), ctx.secrets.clone(), settings.clone());
    let read = tokio::task::spawn_blocking(move || {
        let wh = open_warehouse(&config_, &secrets)?;
        read_export_input(&wh, &settings_)
    })
    .await;
    let input = match read {
        Ok(Ok(input)) => input,
        Ok(Err(e)) => return JobOutcome::failed(e.message(lang)),
        Err(e) => return JobOutcome::failed(e.to_string()),
    };
    progress(Progress {
        stage: Stage::ReadingWarehouse,
        done: input.goods.len() as u64,
        total: input.goods.len() as u64,
    });
    if stop.is_set() {
        return JobOutcome::failed(tr(lang, "jobs.stopped"));
    }
    let links = LinksFile::new(&ctx.data_dir, &server.id.0);
    match run_export(&client, input, &links, dry_run, lang, progress).await {
        Ok(items) => JobOutcome { items, error: None },
        Err(e) => JobOutcome::failed(e.message(lang)),
    }
}

fn order_in(o: &Order) -> OrderIn {
    let with_tax =
        |a: Option<Money>, t: Option<Money>| a.unwrap_or_default() + t.unwrap_or_default();
    let person = format!(
        "{} {}",
        o.billing.first_name.trim(),
        o.billing.last_name.trim()
    )
    .trim()
    .to_string();
    let address = [o.billing.address_1.trim(), o.billing.address_2.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let vat_number = o
        .meta_data
        .iter()
        .find(|m| {
            matches!(
                m.key.as_str(),
                "_billing_vat" | "billing_vat" | "_vat_number" | "vat_number"
            )
        })
        .and_then(|m| m.value.as_str().map(str::to_string))
        .unwrap_or_default();
    OrderIn {
        number: if o.number.trim().is_empty() {
            o.id.to_string()
        } else {
            o.number.clone()
        },
        total: o.total.unwrap_or_default(),
        shipping: o
            .shipping_lines
            .iter()
            .map(|s| with_tax(s.total, s.total_tax))
            .sum(),
        fees: o
            .fee_lines
            .iter()
            .map(|f| with_tax(f.total, f.total_tax))
            .collect(),
        lines: o
            .line_items
            .iter()
            .map(|l| OrderLineIn {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity_milli: l.quantity_milli,
                amount: with_tax(l.total, l.total_tax),
            })
            .collect(),
        buyer: BuyerIn {
            person,
            company: o.billing.company.clone(),
            email: o.billing.email.clone(),
            phone: o.billing.phone.clone(),
            vat_number,
            city: o.billing.city.clone(),
            address,
        },
        payment_method: o.payment_method.clone(),
        paid: o.date_paid_gmt.is_some(),
    }
}

fn item(key: &str, action: ItemAction, detail: String) -> ItemResult {
    ItemResult {
        kind: "order".into(),
        key: key.into(),
        action,
        detail,
    }
}

async fn import_job(
    config: &AppConfig,
    server: &ServerDef,
    settings: &ImportSettings,
    ctx: &RunnerContext,
    dry_run: bool,
    stop: &StopFlag,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> JobOutcome {
    let lang = ctx.language;
    let Some(object_id) = settings.object_id else {
        return JobOutcome::failed(tr(lang, "jobs.no_object"));
    };
    let client = match shop_client(server, &settings.shop, &ctx.secrets, lang) {
        Ok(c) => c,
        Err(e) => return JobOutcome::failed(e),
    };
    progress(Progress {
        stage: Stage::ReadingShop,
        done: 0,
        total: 0,
    });
    let filter = OrderFilter {
        statuses: vec![settings.status_for_processing.trim().to_string()],
        ..OrderFilter::default()
    };
    let mut orders = match client.list_orders(&filter).await {
        Ok(o) => o,
        Err(e) => return JobOutcome::failed(e.message(lang)),
    };
    orders.sort_by_key(|o| o.id);
    let total = orders.len() as u64;
    progress(Progress {
        stage: Stage::Orders,
        done: 0,
        total,
    });
    let (config_, secrets) = (config.clone(), ctx.secrets.clone());
    let mut wh = match tokio::task::spawn_blocking(move || open_warehouse(&config_, &secrets)).await
    {
        Ok(Ok(wh)) => wh,
        Ok(Err(e)) => return JobOutcome::failed(e.message(lang)),
        Err(e) => return JobOutcome::failed(e.to_string()),
    };
    let opts = WriteOptions {
        key_field: settings.key_field,
        invalid_goods: settings.invalid_goods,
        shipping_name: tr(lang, "jobs.shipping_good"),
        ..WriteOptions::default()
    };
    // SUPTO mode: a УНП per document from the printing device's sequence.
    let supto = if settings.supto_mode {
        match config
            .server_by_name(settings.printing_module.trim())
            .map(|s| &s.kind)
        {
            Some(ServerKind::EShop(f)) => Some((
                settings.printing_module.trim().to_string(),
                f.fiscal_number.trim().to_string(),
                f.operator_code.trim().to_string(),
            )),
            _ => return JobOutcome::failed(tr(lang, "jobs.no_printing_module")),
        }
    } else {
        None
    };
    let queue = PrintQueue::in_dir(&ctx.data_dir);
    let rules = match config
        .server_by_name(settings.printing_module.trim())
        .map(|s| &s.kind)
    {
        Some(ServerKind::EShop(f)) => PaymentRules::from(f),
        _ => PaymentRules::default(),
    };
    let mut items = Vec::new();
    let mut on_site: Vec<SiteUpdate> = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        if stop.is_set() {
            break;
        }
        let number = if order.number.is_empty() {
            order.id.to_string()
        } else {
            order.number.clone()
        };
        let draft = match map_order(&order_in(order), settings.invoice_shipping) {
            Ok(d) => d,
            Err(e) => {
                items.push(item(
                    &number,
                    ItemAction::Skipped,
                    tr_args(lang, "jobs.order_unmappable", &[("error", &e.to_string())]),
                ));
                continue;
            }
        };
        let mut notes = Vec::new();
        if draft.total_mismatch() {
            notes.push(tr_args(
                lang,
                "jobs.total_mismatch",
                &[
                    ("document", &draft.total.to_string()),
                    ("order", &draft.expected_total.to_string()),
                ],
            ));
        }
        if dry_run {
            let detail = tr_args(
                lang,
                "jobs.would_import",
                &[
                    ("lines", &draft.lines.len().to_string()),
                    ("total", &draft.total.to_string()),
                ],
            );
            items.push(item(
                &number,
                ItemAction::WouldCreate,
                [detail]
                    .into_iter()
                    .chain(notes)
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
            continue;
        }
        let doc = NewDocument {
            order_number: draft.order_key.clone(),
            doc_type: settings.document_type,
            object_id,
            partner: PartnerData {
                name: if draft.buyer.company.trim().is_empty() {
                    draft.buyer.person.clone()
                } else {
                    draft.buyer.company.clone()
                },
                contact: draft.buyer.person.clone(),
                email: draft.buyer.email.clone(),
                phone: draft.buyer.phone.clone(),
                vat_number: draft.buyer.vat_number.clone(),
                eik: String::new(),
                city: draft.buyer.city.clone(),
                address: draft.buyer.address.clone(),
            },
            lines: draft
                .lines
                .iter()
                .map(|l| DocLine {
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    qty: l.qty,
                    unit_price: l.unit_price.cents(),
                })
                .collect(),
            shipping: draft.shipping.map(|m| ShippingLine { price: m.cents() }),
            payment: PaymentInfo {
                method: match draft.payment {
                    PaymentKind::Cash => PaymentMethod::Cash,
                    PaymentKind::Bank => PaymentMethod::Bank,
                    PaymentKind::Card => PaymentMethod::Card,
                },
                paid: draft.paid,
            },
            unp: None,
        };
        let mut doc = doc;
        let mut unp_text = None;
        if let Some((_, serial, operator)) = &supto {
            // A number is taken only for an order not written yet; it is on disk before the
            // document is written, so it is never handed out twice.
            let key = doc.order_number.clone();
            let found = tokio::task::spawn_blocking(move || {
                let r = wh.find_document_by_note(&key);
                (wh, r)
            })
            .await;
            let existing = match found {
                Ok((w, r)) => {
                    wh = w;
                    r
                }
                Err(e) => {
                    return stop_early(
                        &client,
                        settings,
                        std::mem::take(&mut on_site),
                        items,
                        Some(e.to_string()),
                        lang,
                    )
                    .await;
                }
            };
            if matches!(existing, Ok(None)) {
                let unp =
                    crate::fiscal::store::UnpSequence::open(&ctx.data_dir.join("fiscal"), serial)
                        .and_then(|mut seq| seq.next(operator));
                match unp {
                    Ok(unp) => {
                        unp_text = Some(unp.to_string());
                        doc.unp = Some(UnpRecord {
                            unp: unp.to_string(),
                            device: serial.clone(),
                            receipt_no: 0,
                        });
                    }
                    Err(e) => {
                        return stop_early(
                            &client,
                            settings,
                            std::mem::take(&mut on_site),
                            items,
                            Some(e.message(lang)),
                            lang,
                        )
                        .await;
                    }
                }
            }
        }
        let print_lines: Vec<PrintLine> = draft
            .lines
            .iter()
            .map(|l| PrintLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                qty: l.qty,
                unit_price: l.unit_price,
            })
            .collect();
        let opts_ = opts.clone();
        let written = tokio::task::spawn_blocking(move || {
            let result = wh.write_document(&doc, &opts_);
            (wh, result)
        })
        .await;
        let result = match written {
            Ok((w, result)) => {
                wh = w;
                result
            }
            Err(e) => {
                return stop_early(
                    &client,
                    settings,
                    std::mem::take(&mut on_site),
                    items,
                    Some(e.to_string()),
                    lang,
                )
                .await;
            }
        };
        let (acct, action, mut detail) = match result {
            Ok(WriteOutcome::Created {
                acct, unknown_skus, ..
            }) => {
                let kind = match settings.document_type {
                    DocumentType::Order => tr(lang, "document_type.order"),
                    DocumentType::Sale => tr(lang, "document_type.sale"),
                };
                let mut d = tr_args(
                    lang,
                    "jobs.document_written",
                    &[("kind", &kind), ("acct", &acct.to_string())],
                );
                if !unknown_skus.is_empty() {
                    d.push_str("; ");
                    d.push_str(&tr_args(
                        lang,
                        "jobs.service_good_used",
                        &[("skus", &unknown_skus.join(", "))],
                    ));
                }
                if let (Some((connector, _, _)), Some(unp), DocumentType::Sale) =
                    (&supto, &unp_text, settings.document_type)
                {
                    d.push_str("; ");
                    d.push_str(&queue_receipt(
                        &queue,
                        &rules,
                        connector,
                        unp,
                        acct,
                        order,
                        &draft,
                        &print_lines,
                        lang,
                    ));
                } else if let Some(unp) = &unp_text {
                    d.push_str("; ");
                    d.push_str(&tr_args(lang, "jobs.unp_assigned", &[("unp", unp)]));
                }
                (acct, ItemAction::Created, d)
            }
            Ok(WriteOutcome::AlreadyExists { acct, oper_type }) => {
                let mut d = tr_args(
                    lang,
                    "jobs.document_existed",
                    &[("acct", &acct.to_string())],
                );
                // A sale written by a run that died before queueing its receipt: queue it
                // now, with the УНП recorded in the warehouse.
                let missing = supto.is_some()
                    && oper_type == crate::warehouse::write::OPER_SALE
                    && queue
                        .load()
                        .is_ok_and(|jobs| !jobs.iter().any(|j| j.order_key == draft.order_key));
                if missing {
                    let found = tokio::task::spawn_blocking(move || {
                        let r = wh.unp_of(oper_type, acct);
                        (wh, r)
                    })
                    .await;
                    match found {
                        Ok((w, r)) => {
                            wh = w;
                            if let (Ok(Some(unp)), Some((connector, _, _))) = (r, &supto) {
                                d.push_str("; ");
                                d.push_str(&queue_receipt(
                                    &queue,
                                    &rules,
                                    connector,
                                    &unp,
                                    acct,
                                    order,
                                    &draft,
                                    &print_lines,
                                    lang,
                                ));
                            }
                        }
                        Err(e) => {
                            return stop_early(
                                &client,
                                settings,
                                std::mem::take(&mut on_site),
                                items,
                                Some(e.to_string()),
                                lang,
                            )
                            .await;
                        }
                    }
                }
                (acct, ItemAction::Updated, d)
            }
            Err(WarehouseError::UnknownSkus(skus)) => {
                items.push(item(
                    &number,
                    ItemAction::Skipped,
                    tr_args(lang, "jobs.unknown_skus", &[("skus", &skus.join(", "))]),
                ));
                progress(Progress {
                    stage: Stage::Orders,
                    done: i as u64 + 1,
                    total,
                });
                continue;
            }
            Err(e) if e.is_transient() => {
                items.push(item(&number, ItemAction::Failed, e.message(lang)));
                return stop_early(
                    &client,
                    settings,
                    std::mem::take(&mut on_site),
                    items,
                    Some(e.message(lang)),
                    lang,
                )
                .await;
            }
            Err(e) => {
                items.push(item(&number, ItemAction::Failed, e.message(lang)));
                progress(Progress {
                    stage: Stage::Orders,
                    done: i as u64 + 1,
                    total,
                });
                continue;
            }
        };
        // The document is committed: the site is told in batches (see `finish_on_site`).
        detail.extend(notes.iter().map(|n| format!("; {n}")));
        on_site.push(SiteUpdate {
            order_id: order.id,
            number,
            acct,
            action,
            detail,
        });
        if on_site.len() >= SITE_BATCH {
            let done = std::mem::take(&mut on_site);
            items.extend(
                finish_on_site(&client, settings.status_after_processing.trim(), done, lang).await,
            );
        }
        progress(Progress {
            stage: Stage::Orders,
            done: i as u64 + 1,
            total,
        });
    }
    items.extend(
        finish_on_site(
            &client,
            settings.status_after_processing.trim(),
            on_site,
            lang,
        )
        .await,
    );
    JobOutcome { items, error: None }
}

/// Puts a committed SUPTO sale on the print queue (or records that its payment method
/// needs no receipt); returns the detail for the history.
#[allow(clippy::too_many_arguments)]
fn queue_receipt(
    queue: &PrintQueue,
    rules: &PaymentRules,
    connector: &str,
    unp: &str,
    acct: i64,
    order: &Order,
    draft: &crate::core::import::DocumentDraft,
    lines: &[PrintLine],
    lang: Language,
) -> String {
    let needed = rules.needs_receipt(&order.payment_method);
    let job = PrintJob {
        unp: unp.to_string(),
        order_key: draft.order_key.clone(),
        acct,
        connector: connector.to_string(),
        lines: lines.to_vec(),
        shipping: draft.shipping,
        payment_method: order.payment_method.clone(),
        total: draft.total,
        queued: chrono::Utc::now(),
        state: if needed {
            PrintState::Pending
        } else {
            PrintState::NotNeeded
        },
    };
    match queue.add(job) {
        Ok(_) => {
            let key = if needed {
                "jobs.receipt_queued"
            } else {
                "jobs.receipt_not_needed"
            };
            tr_args(lang, key, &[("unp", unp)])
        }
        Err(e) => tr_args(lang, "jobs.queue_failed", &[("error", &e.to_string())]),
    }
}

/// Ends an import run early with `error`, first telling the site about the documents
/// already committed.
async fn stop_early(
    client: &WooClient,
    settings: &ImportSettings,
    on_site: Vec<SiteUpdate>,
    mut items: Vec<ItemResult>,
    error: Option<String>,
    lang: Language,
) -> JobOutcome {
    items.extend(
        finish_on_site(
            client,
            settings.status_after_processing.trim(),
            on_site,
            lang,
        )
        .await,
    );
    JobOutcome { items, error }
}

/// Orders whose documents are committed, waiting for their status change on the site.
const SITE_BATCH: usize = 50;
/// Order notes sent at once.
const NOTES_IN_FLIGHT: usize = 4;

/// An order whose document is committed and whose status on the site is still to change.
struct SiteUpdate {
    order_id: u64,
    number: String,
    acct: i64,
    action: ItemAction,
    detail: String,
}

/// Sets the status after processing on the site (one batch request per 100 orders) and
/// adds the order notes (a few at a time). A failure leaves the order in its status: the
/// next run finds its document by the order number and only repeats this step.
async fn finish_on_site(
    client: &WooClient,
    status: &str,
    updates: Vec<SiteUpdate>,
    lang: Language,
) -> Vec<ItemResult> {
    if updates.is_empty() {
        return Vec::new();
    }
    let requests: Vec<OrderUpdate> = updates
        .iter()
        .map(|u| OrderUpdate {
            id: Some(u.order_id),
            status: Some(status.to_string()),
            meta_data: None,
        })
        .collect();
    let results: Vec<Result<(), String>> = match client.batch_update_orders(requests).await {
        Ok(outcome) => {
            let mut r: Vec<Result<(), String>> = outcome
                .update
                .into_iter()
                .map(|x| {
                    x.map(|_| ())
                        .map_err(|e| format!("{}: {}", e.code, e.message))
                })
                .collect();
            r.resize(updates.len(), Err(String::new()));
            r
        }
        Err(e) => vec![Err(e.message(lang)); updates.len()],
    };
    let mut items = Vec::new();
    let mut noted = Vec::new();
    for (u, r) in updates.into_iter().zip(results) {
        match r {
            Ok(()) => noted.push(u),
            Err(e) => {
                let detail = format!(
                    "{}; {}",
                    u.detail,
                    tr_args(lang, "jobs.status_failed", &[("error", &e)])
                );
                items.push(item(&u.number, ItemAction::Failed, detail));
            }
        }
    }
    for group in noted.chunks_mut(NOTES_IN_FLIGHT) {
        let mut set = tokio::task::JoinSet::new();
        for (n, u) in group.iter().enumerate() {
            let client = client.clone();
            let note = tr_args(lang, "jobs.order_note", &[("acct", &u.acct.to_string())]);
            let id = u.order_id;
            set.spawn(async move { (n, client.add_order_note(id, &note, false).await) });
        }
        while let Some(Ok((n, result))) = set.join_next().await {
            if let Err(e) = result {
                group[n].detail.push_str("; ");
                group[n].detail.push_str(&tr_args(
                    lang,
                    "jobs.note_failed",
                    &[("error", &e.message(lang))],
                ));
            }
        }
        for u in group.iter() {
            items.push(item(&u.number, u.action, u.detail.clone()));
        }
    }
    items
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
                .and_then(|t| crate::warehouse::money::parse_scaled(t.trim(), 2));
            if let Some(rate) = rate {
                out.insert(sku, rate.max(0) as u32);
            }
        }
    }
    Ok(out)
}

/// VAT rate used for shipping and for goods the warehouse does not know: the standard 20 %.
pub const STANDARD_VAT_BP: u32 = 2000;

async fn eshop_job(
    config: &AppConfig,
    server: &ServerDef,
    settings: &crate::config::EShopSettings,
    ctx: &RunnerContext,
    stop: &StopFlag,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> JobOutcome {
    use crate::fiscal::receipt::{Payment, Receipt, ReceiptLine, TaxGroupMap};
    let lang = ctx.language;
    let queue = PrintQueue::in_dir(&ctx.data_dir);
    let pending: Vec<PrintJob> = match queue.load() {
        Ok(jobs) => jobs
            .into_iter()
            .filter(|j| j.connector == server.name && j.state == PrintState::Pending)
            .collect(),
        Err(e) => {
            return JobOutcome::failed(tr_args(
                lang,
                "jobs.queue_failed",
                &[("error", &e.to_string())],
            ));
        }
    };
    if pending.is_empty() {
        return JobOutcome::default();
    }
    let password = match secret(
        &ctx.secrets,
        SecretKey::server(&server.id, SecretKind::OperatorPassword),
        lang,
    ) {
        Ok(p) => p,
        Err(e) => return JobOutcome::failed(e),
    };
    // The SKUs were matched with the key field of the Import server that prints here.
    let key_column = config
        .servers
        .iter()
        .find_map(|s| match &s.kind {
            ServerKind::Import(i)
                if i.supto_mode && i.printing_module.trim() == server.name.trim() =>
            {
                Some(i.key_field)
            }
            _ => None,
        })
        .unwrap_or_default()
        .column();
    let total = pending.len() as u64;
    progress(Progress {
        stage: Stage::Receipts,
        done: 0,
        total,
    });
    let (config_, secrets, settings_, data_dir, stop_) = (
        config.clone(),
        ctx.secrets.clone(),
        settings.clone(),
        ctx.data_dir.clone(),
        stop.clone(),
    );
    let rules = PaymentRules::from(settings);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let work = tokio::task::spawn_blocking(move || -> Result<Vec<ItemResult>, String> {
        let skus: Vec<String> = pending
            .iter()
            .flat_map(|j| j.lines.iter().map(|l| l.sku.clone()))
            .collect();
        let rates = match open_warehouse(&config_, &secrets) {
            Ok(wh) => vat_rates_for(&wh, key_column, &skus).map_err(|e| e.message(lang))?,
            Err(e) => return Err(e.message(lang)),
        };
        let mut session = crate::fiscal::session::FiscalSession::connect(
            &settings_,
            password,
            &data_dir.join("fiscal"),
            TaxGroupMap::from(&settings_),
            crate::fiscal::transport::Timing::default(),
        )
        .map_err(|e| e.message(lang))?;
        let mut items = Vec::new();
        for (n, job) in pending.iter().enumerate() {
            if stop_.is_set() {
                break;
            }
            let unp = match crate::core::unp::Unp::parse(&job.unp) {
                Ok(u) => u,
                Err(e) => {
                    let _ = queue.set_state(
                        &job.unp,
                        PrintState::Failed {
                            error: e.to_string(),
                        },
                    );
                    items.push(ItemResult {
                        kind: "receipt".into(),
                        key: job.unp.clone(),
                        action: ItemAction::Failed,
                        detail: e.to_string(),
                    });
                    continue;
                }
            };
            let mut lines: Vec<ReceiptLine> = job
                .lines
                .iter()
                .map(|l| ReceiptLine::Item {
                    text: l.name.clone(),
                    unit_price: l.unit_price.cents(),
                    quantity_milli: l.qty * 1000,
                    vat_rate: rates.get(&l.sku).copied().unwrap_or(STANDARD_VAT_BP),
                    discount: 0,
                })
                .collect();
            if let Some(shipping) = job.shipping {
                lines.push(ReceiptLine::Shipping {
                    text: tr(lang, "jobs.shipping_good"),
                    amount: shipping.cents(),
                    vat_rate: STANDARD_VAT_BP,
                });
            }
            let kind = rules
                .receipt_payment(&job.payment_method)
                .unwrap_or(crate::fiscal::PaymentKind::Cash);
            let receipt = Receipt {
                unp,
                operator: settings_.operator_code.trim().to_string(),
                lines,
                payments: vec![Payment {
                    kind,
                    amount: job.total.cents(),
                }],
            };
            match session.print(&receipt) {
                Ok(printed) => {
                    let number = printed.receipt_number.to_string();
                    let _ = queue.set_state(
                        &job.unp,
                        PrintState::Printed {
                            receipt_number: number.clone(),
                            at: chrono::Utc::now(),
                        },
                    );
                    if let Ok(wh) = open_warehouse(&config_, &secrets)
                        && let Err(e) = wh.record_receipt_number(
                            crate::warehouse::write::OPER_SALE,
                            job.acct,
                            &job.unp,
                            printed.receipt_number as i64,
                        )
                    {
                        tracing::warn!(error = %e, "could not store the receipt number in the warehouse");
                    }
                    let detail = tr_args(
                        lang,
                        "jobs.receipt_printed",
                        &[("number", &number), ("order", &job.order_key)],
                    );
                    items.push(ItemResult {
                        kind: "receipt".into(),
                        key: job.unp.clone(),
                        action: ItemAction::Created,
                        detail,
                    });
                }
                Err(e) => {
                    let message = e.message(lang);
                    let _ = queue.set_state(
                        &job.unp,
                        PrintState::Failed {
                            error: message.clone(),
                        },
                    );
                    items.push(ItemResult {
                        kind: "receipt".into(),
                        key: job.unp.clone(),
                        action: ItemAction::Failed,
                        detail: message,
                    });
                }
            }
            let _ = tx.send(n as u64 + 1);
        }
        Ok(items)
    });
    let mut work = work;
    let result = loop {
        tokio::select! {
            done = rx.recv() => {
                if let Some(done) = done {
                    progress(Progress { stage: Stage::Receipts, done, total });
                }
            }
            r = &mut work => break r,
        }
    };
    match result {
        Ok(Ok(items)) => JobOutcome { items, error: None },
        Ok(Err(e)) => JobOutcome::failed(e),
        Err(e) => JobOutcome::failed(e.to_string()),
    }
}
