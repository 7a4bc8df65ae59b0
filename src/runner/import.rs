//! The Import job: the site's orders in the processing status become warehouse documents.
//! `core::import::decide` chooses each order's step from the order, its ledger row and
//! what the warehouse holds; this module carries the step out in order: the intent (with
//! its УНП) in the ledger, the document in the warehouse, the document and its print job
//! in the ledger (one transaction), then the steps on the site (see `runner::site`).

use crate::config::{DocumentType, ImportSettings, ServerKind};
use crate::core::currency::{Conversion, Currency, with_currency};
use crate::core::import::{
    BuyerIn, DocumentDraft, Known, OrderIn, OrderLineIn, PaymentKind, Step, convert_order, decide,
    map_order, needs_warehouse_lookup, order_key,
};
use crate::core::money::Money;
use crate::fiscal::payment_rules::PaymentRules;
use crate::i18n::{tr, tr_args};
use crate::ledger::imports::{DocState, UnpSource, Written};
use crate::ledger::print::NewPrintJob;
use crate::runner::history::{ItemAction, ItemResult};
use crate::runner::jobs::{JobEnv, JobOutcome, item};
use crate::runner::progress::Stage;
use crate::runner::warehouse_thread::WarehouseThread;
use crate::warehouse::write::{
    DocLine, NewDocument, OPER_SALE, PartnerData, PaymentInfo, PaymentMethod, ShippingLine,
    WriteOptions, WriteOutcome,
};
use crate::warehouse::{UnpRecord, WarehouseError};
use crate::woo::{Order, OrderFilter, WooClient};

mod refunds;

/// Orders written between two passes over the site steps: one status batch request
/// (the shop takes 100 items per batch).
const SITE_BATCH: usize = 100;

/// Where an Import server's SUPTO sales are numbered and printed.
struct Printing {
    connector: String,
    serial: String,
    operator: String,
}

/// One import run in progress.
struct ImportRun<'a, 'e> {
    env: &'a JobEnv<'e>,
    settings: &'a ImportSettings,
    client: WooClient,
    wh: WarehouseThread,
    object_id: i64,
    printing: Option<Printing>,
    rules: PaymentRules,
    opts: WriteOptions,
    items: Vec<ItemResult>,
    /// Orders recorded by this run (their history item is already there).
    fresh: std::collections::HashSet<u64>,
    /// The shop's currency: that of its orders and of their receipts.
    shop_currency: Currency,
    /// Set when the shop's euro orders are written into a lev warehouse.
    conversion: Option<Conversion>,
}

/// Runs an Import server once.
pub async fn import_job(env: &JobEnv<'_>, settings: &ImportSettings) -> JobOutcome {
    let lang = env.lang;
    let Some(object_id) = settings.object_id else {
        return JobOutcome::failed(tr(lang, "jobs.no_object"));
    };
    let client = match env.shop_client(&settings.shop) {
        Ok(c) => c,
        Err(e) => return JobOutcome::failed(e),
    };
    let (printing, rules) = match printing_of(env, settings) {
        Ok(p) => p,
        Err(e) => return JobOutcome::failed(e),
    };
    env.report(Stage::ReadingShop, 0, 0);
    let filter = OrderFilter {
        statuses: vec![settings.status_for_processing.trim().to_string()],
        ..OrderFilter::default()
    };
    let mut orders = match client.list_orders(&filter).await {
        Ok(o) => o,
        Err(e) => return JobOutcome::failed(e.message(lang)),
    };
    orders.sort_by_key(|o| o.id);
    // The orders say the shop's currency; `system_status` only when they cannot.
    let shop_currency = match crate::runner::currency::orders_currency(&orders) {
        Some(c) => Some(c),
        None => match crate::runner::currency::shop_currency(&client).await {
            Ok(c) => c,
            Err(e) => return JobOutcome::failed(e.message(lang)),
        },
    };
    let wh = match env.warehouse().await {
        Ok(wh) => wh,
        Err(e) => return JobOutcome::failed(e),
    };
    // The warehouse's currency against the shop's, before any order is written.
    let stated = env.config.database.currency;
    let wh_currency = match wh
        .call(move |w| crate::runner::currency::warehouse_currency(w, stated))
        .await
    {
        Ok(c) => c,
        Err(e) => return JobOutcome::failed(e.message(lang)),
    };
    let conversion = match crate::runner::currency::conversion_of(
        lang,
        shop_currency.clone(),
        wh_currency,
        settings.convert_lev,
    ) {
        Ok(c) => c,
        Err(e) => return JobOutcome::failed(e),
    };
    // `conversion_of` has refused a shop that states no currency.
    let shop_currency = shop_currency.unwrap_or(Currency::Eur);
    if printing.is_some() {
        // SUPTO needs Warehouse Pro 3.07.100 or newer: no УНП is issued on an older one.
        match wh.call(|w| w.info()).await {
            Ok(info) if info.supports_supto() => {}
            Ok(info) => {
                let text = tr_args(
                    lang,
                    "jobs.supto_old_database",
                    &[("version", &info.version)],
                );
                return JobOutcome::failed(text);
            }
            Err(e) => return JobOutcome::failed(e.message(lang)),
        }
    }
    let mut run = ImportRun {
        env,
        settings,
        client,
        wh,
        object_id,
        printing,
        rules,
        opts: WriteOptions {
            key_field: settings.key_field,
            invalid_goods: settings.invalid_goods,
            shipping_name: tr(lang, "jobs.shipping_good"),
            ..WriteOptions::default()
        },
        items: Vec::new(),
        fresh: Default::default(),
        shop_currency,
        conversion,
    };
    let mut error = run.orders(&orders).await;
    if error.is_none() && settings.takes_refunds() && settings.document_type == DocumentType::Sale {
        error = run.refunds().await.err();
    }
    if !env.dry_run
        && let Err(e) = run.site().await
    {
        return JobOutcome {
            items: run.items,
            error: Some(error.unwrap_or(e)),
            currency: run.shop_currency.code().to_string(),
        };
    }
    JobOutcome {
        items: run.items,
        error,
        currency: run.shop_currency.code().to_string(),
    }
}

/// The SUPTO printing set-up of `settings` (None outside SUPTO mode) and the payment
/// rules of its e-Shop Connector.
fn printing_of(
    env: &JobEnv<'_>,
    settings: &ImportSettings,
) -> Result<(Option<Printing>, PaymentRules), String> {
    let module = settings.printing_module.trim();
    let connector = match env.config.server_by_name(module).map(|s| &s.kind) {
        Some(ServerKind::EShop(f)) => Some(f),
        _ => None,
    };
    let rules = connector.map(PaymentRules::from).unwrap_or_default();
    if !settings.supto_mode {
        return Ok((None, rules));
    }
    let Some(f) = connector else {
        return Err(tr(env.lang, "jobs.no_printing_module"));
    };
    Ok((
        Some(Printing {
            connector: module.to_string(),
            serial: f.fiscal_number.trim().to_string(),
            operator: f.operator_code.trim().to_string(),
        }),
        rules,
    ))
}

fn order_number(o: &Order) -> String {
    if o.number.trim().is_empty() {
        o.id.to_string()
    } else {
        o.number.trim().to_string()
    }
}

impl ImportRun<'_, '_> {
    fn server_id(&self) -> &str {
        &self.env.server.id.0
    }

    /// The document `order` becomes, its amounts converted by `conversion` when set.
    fn map(
        &self,
        order: &Order,
        conversion: Option<Conversion>,
    ) -> Result<DocumentDraft, crate::core::import::MapError> {
        let input = order_in(order);
        let input = match conversion {
            Some(c) => {
                let currency = Currency::from_code(&order.currency)
                    .unwrap_or_else(|| self.shop_currency.clone());
                convert_order(&input, &currency, c)?
            }
            None => input,
        };
        map_order(
            &input,
            self.settings.invoice_shipping,
            &self.settings.order_key_prefix,
        )
    }

    /// The currency of the documents this run writes.
    fn document_currency(&self) -> Currency {
        self.conversion
            .map(|c| c.warehouse_currency())
            .unwrap_or_else(|| self.shop_currency.clone())
    }

    fn ledger_err(&self, e: crate::ledger::LedgerError) -> String {
        e.message(self.env.lang)
    }

    /// Takes every order in turn; returns the error that stopped the run early.
    async fn orders(&mut self, orders: &[Order]) -> Option<String> {
        let total = orders.len() as u64;
        self.env.report(Stage::Orders, 0, total);
        let mut since_site = 0;
        for (i, order) in orders.iter().enumerate() {
            if self.env.stop.is_set() {
                return Some(self.left(self.env.stopped(), orders.len() - i));
            }
            match self.order(order).await {
                Ok(wrote) => since_site += usize::from(wrote),
                // This order's own item says what happened to it; the rest wait.
                Err(e) => return Some(self.left(e, orders.len() - i - 1)),
            }
            if since_site >= SITE_BATCH && !self.env.dry_run {
                since_site = 0;
                if let Err(e) = self.site().await {
                    return Some(self.left(e, orders.len() - i - 1));
                }
            }
            self.env.report(Stage::Orders, i as u64 + 1, total);
        }
        None
    }

    /// The error that ended the run early, with how many orders were not attempted.
    fn left(&self, error: String, not_attempted: usize) -> String {
        if not_attempted == 0 {
            return error;
        }
        let rest = crate::i18n::tr_count(
            self.env.lang,
            not_attempted as u64,
            "jobs.not_attempted_one",
            "jobs.not_attempted_other",
        );
        let (sentence, detail) = crate::i18n::split_detail(&error);
        crate::i18n::with_detail(format!("{sentence} {rest}"), detail.unwrap_or_default())
    }

    /// One order: decide its step and carry it out. `Ok(true)` when a document was
    /// recorded; `Err` stops the run (the warehouse or the ledger failed).
    async fn order(&mut self, order: &Order) -> Result<bool, String> {
        let lang = self.env.lang;
        let number = order_number(order);
        let key = order_key(&self.settings.order_key_prefix, &number);
        let row = self
            .env
            .ledger
            .order_row(self.server_id(), order.id)
            .map_err(|e| self.ledger_err(e))?;
        let known = match &row {
            None => Known::Nothing,
            Some(r) if r.state == DocState::Written => Known::Written,
            Some(_) => Known::Intent,
        };
        let in_warehouse = if needs_warehouse_lookup(known) {
            let k = key.clone();
            self.wh
                .call(move |w| w.find_document_by_note(&k))
                .await
                .map_err(|e| e.message(lang))?
        } else {
            None
        };
        let mapped = self.map(order, self.conversion);
        match decide(known, in_warehouse, &mapped) {
            Step::AlreadyWritten => Ok(false),
            Step::Refuse(e) => {
                if known == Known::Intent {
                    let _ = self.env.ledger.drop_intent(self.server_id(), order.id);
                }
                self.items.push(item(
                    "order",
                    &number,
                    ItemAction::Skipped,
                    tr_args(lang, "jobs.order_unmappable", &[("error", &e.to_string())]),
                ));
                Ok(false)
            }
            Step::Adopt { oper_type, acct } if self.env.dry_run => {
                let detail = tr_args(
                    lang,
                    "jobs.document_existed",
                    &[("acct", &acct.to_string())],
                );
                let _ = oper_type;
                self.items
                    .push(item("order", &number, ItemAction::WouldUpdate, detail));
                Ok(false)
            }
            Step::Adopt { oper_type, acct } => {
                self.adopt(order, &number, mapped.ok().as_ref(), oper_type, acct)
                    .await?;
                Ok(true)
            }
            Step::Write => {
                // A new document is written only for an order in the shop's own currency
                // (the one the run's currencies were checked against).
                if let Some(theirs) = Currency::from_code(&order.currency)
                    && theirs != self.shop_currency
                {
                    let detail = tr_args(
                        lang,
                        "euro.order_currency_differs",
                        &[
                            ("order", theirs.code()),
                            ("shop", self.shop_currency.code()),
                        ],
                    );
                    self.items
                        .push(item("order", &number, ItemAction::Skipped, detail));
                    return Ok(false);
                }
                let draft = mapped.map_err(|e| e.to_string())?;
                if self.env.dry_run {
                    let currency = self.document_currency();
                    self.items
                        .push(would_write(lang, &number, &draft, &currency));
                    return Ok(false);
                }
                self.write(order, &number, &draft).await
            }
        }
    }

    /// Records the intent (and the УНП), writes the document, records it.
    async fn write(
        &mut self,
        order: &Order,
        number: &str,
        draft: &DocumentDraft,
    ) -> Result<bool, String> {
        let lang = self.env.lang;
        let source = self.printing.as_ref().map(|p| UnpSource {
            serial: p.serial.clone(),
            operator: p.operator.clone(),
        });
        let sid = self.server_id().to_string();
        // In SUPTO mode the intent reserves the УНП before the write (one transaction);
        // without a УНП the warehouse's own order key is enough to find an interrupted
        // write, and the ledger records the document once it is committed.
        let unp = match &source {
            Some(source) => {
                self.env
                    .ledger
                    .record_intent(&sid, order.id, number, &draft.order_key, Some(source))
                    .map_err(|e| self.ledger_err(e))?
                    .unp
            }
            None => None,
        };
        // A registered customer is one partner, remembered by customer id.
        let known_partner = match order.customer_id {
            0 => None,
            id => self
                .env
                .ledger
                .partner_of(&sid, id)
                .map_err(|e| self.ledger_err(e))?,
        };
        let mut doc = new_document(draft, self.settings.document_type, self.object_id);
        doc.partner.known_id = known_partner;
        doc.unp = unp
            .as_ref()
            .zip(self.printing.as_ref())
            .map(|(unp, p)| UnpRecord {
                unp: unp.clone(),
                device: p.serial.clone(),
                receipt_no: 0,
            });
        let opts = self.opts.clone();
        let result = self.wh.call(move |w| w.write_document(&doc, &opts)).await;
        match result {
            Ok(WriteOutcome::Created {
                oper_type,
                acct,
                unknown_skus,
                partner_id,
            }) => {
                let kind = match self.settings.document_type {
                    DocumentType::Order => tr(lang, "jobs.kind_order"),
                    DocumentType::Sale => tr(lang, "jobs.kind_sale"),
                };
                let mut detail = tr_args(
                    lang,
                    "jobs.document_written",
                    &[("kind", &kind), ("acct", &acct.to_string())],
                );
                if !unknown_skus.is_empty() {
                    detail.push_str("; ");
                    detail.push_str(&tr_args(
                        lang,
                        "jobs.service_good_used",
                        &[("skus", &unknown_skus.join(", "))],
                    ));
                }
                let written = Written {
                    oper_type,
                    acct,
                    created: true,
                    unp,
                    detail,
                    partner: (order.customer_id != 0).then_some((order.customer_id, partner_id)),
                };
                self.record(order, number, Some(draft), written)?;
                Ok(true)
            }
            Ok(WriteOutcome::AlreadyExists { oper_type, acct }) => {
                self.adopt(order, number, Some(draft), oper_type, acct)
                    .await?;
                Ok(true)
            }
            Err(WarehouseError::UnknownSkus(skus)) => {
                let _ = self.env.ledger.drop_intent(&sid, order.id);
                self.items.push(item(
                    "order",
                    number,
                    ItemAction::Skipped,
                    tr_args(lang, "jobs.unknown_skus", &[("skus", &skus.join(", "))]),
                ));
                Ok(false)
            }
            Err(e) if e.is_transient() => {
                // The outcome is unknown: the intent stays, and the next run looks the
                // order up in the warehouse before writing.
                self.items
                    .push(item("order", number, ItemAction::Failed, e.message(lang)));
                Err(e.message(lang))
            }
            Err(e) => {
                let _ = self.env.ledger.drop_intent(&sid, order.id);
                self.items
                    .push(item("order", number, ItemAction::Failed, e.message(lang)));
                Ok(false)
            }
        }
    }

    /// The warehouse already holds the order's document: record it with the УНП stored
    /// there, and its print job when the sale never got one.
    async fn adopt(
        &mut self,
        order: &Order,
        number: &str,
        draft: Option<&DocumentDraft>,
        oper_type: i64,
        acct: i64,
    ) -> Result<(), String> {
        let lang = self.env.lang;
        let unp = if self.printing.is_some() {
            self.wh
                .call(move |w| w.unp_of(oper_type, acct))
                .await
                .map_err(|e| e.message(lang))?
        } else {
            None
        };
        let written = Written {
            oper_type,
            acct,
            created: false,
            unp,
            detail: tr_args(
                lang,
                "jobs.document_existed",
                &[("acct", &acct.to_string())],
            ),
            partner: None,
        };
        self.record(order, number, draft, written)
    }

    /// Records the written document and, for a SUPTO sale, its print job, in one ledger
    /// transaction; adds the order's history item.
    fn record(
        &mut self,
        order: &Order,
        number: &str,
        draft: Option<&DocumentDraft>,
        mut written: Written,
    ) -> Result<(), String> {
        let lang = self.env.lang;
        let key = order_key(&self.settings.order_key_prefix, number);
        // The receipt states the order's own amounts, in the shop's currency, even when
        // the document was converted into leva.
        let receipt_draft = match (self.conversion, draft) {
            (Some(_), Some(_)) => self.map(order, None).ok(),
            (None, d) => d.cloned(),
            (Some(_), None) => None,
        };
        let job = match (&self.printing, &written.unp, &receipt_draft) {
            (Some(p), Some(unp), Some(receipt)) if written.oper_type == OPER_SALE => {
                Some(NewPrintJob {
                    unp: unp.clone(),
                    connector: p.connector.clone(),
                    order_key: key.clone(),
                    acct: written.acct,
                    content: crate::core::receipt::content_of(
                        receipt,
                        &order.payment_method,
                        self.shop_currency.code(),
                    ),
                    due: self.rules.needs_receipt(&order.payment_method),
                })
            }
            _ => None,
        };
        if let Some(unp) = &written.unp {
            let text = match &job {
                Some(j) if j.due => tr_args(lang, "jobs.receipt_queued", &[("unp", unp)]),
                Some(_) => tr_args(lang, "jobs.receipt_not_needed", &[("unp", unp)]),
                None => tr_args(lang, "jobs.unp_assigned", &[("unp", unp)]),
            };
            written.detail.push_str("; ");
            written.detail.push_str(&text);
        }
        let currency = self.document_currency();
        if let Some(d) = draft.filter(|d| d.total_mismatch()) {
            written.detail.push_str("; ");
            written.detail.push_str(&mismatch_text(lang, d, &currency));
        }
        if let (Some(d), Some(_)) = (draft, self.conversion) {
            written.detail.push_str("; ");
            written.detail.push_str(&converted_text(
                lang,
                order.total.unwrap_or_default(),
                &self.shop_currency,
                d.total,
                &currency,
            ));
        }
        let sid = self.server_id().to_string();
        self.env
            .ledger
            .record_written(&sid, order.id, number, &key, &written, job.as_ref())
            .map_err(|e| self.ledger_err(e))?;
        self.fresh.insert(order.id);
        let action = if written.created {
            ItemAction::Created
        } else {
            ItemAction::Updated
        };
        self.items
            .push(item("order", number, action, written.detail));
        Ok(())
    }

    /// The steps on the site the ledger says are still to do (status, then note).
    async fn site(&mut self) -> Result<(), String> {
        let items = crate::runner::site::finish(
            &self.client,
            self.env,
            crate::runner::site::SiteSteps {
                status: self.settings.status_after_processing.trim(),
                notes: self.settings.order_note,
            },
            &self.fresh,
        )
        .await?;
        self.items.extend(items);
        Ok(())
    }
}

/// The warning that a document's total differs from its order's, both with `currency`.
fn mismatch_text(lang: crate::i18n::Language, d: &DocumentDraft, currency: &Currency) -> String {
    tr_args(
        lang,
        "jobs.total_mismatch",
        &[
            ("document", &with_currency(d.total, currency)),
            ("order", &with_currency(d.expected_total, currency)),
        ],
    )
}

/// The note that an order's total was converted into the document's currency.
fn converted_text(
    lang: crate::i18n::Language,
    from: Money,
    from_currency: &Currency,
    to: Money,
    to_currency: &Currency,
) -> String {
    tr_args(
        lang,
        "euro.converted",
        &[
            ("from", &with_currency(from, from_currency)),
            ("to", &with_currency(to, to_currency)),
        ],
    )
}

/// What a dry run lists for an order it would write (amounts in `currency`).
fn would_write(
    lang: crate::i18n::Language,
    number: &str,
    draft: &DocumentDraft,
    currency: &Currency,
) -> ItemResult {
    let mut detail = tr_args(
        lang,
        "jobs.would_import",
        &[
            ("lines", &draft.lines.len().to_string()),
            ("total", &with_currency(draft.total, currency)),
        ],
    );
    if draft.total_mismatch() {
        detail.push_str("; ");
        detail.push_str(&mismatch_text(lang, draft, currency));
    }
    item("order", number, ItemAction::WouldCreate, detail)
}

/// The warehouse document of `draft`.
fn new_document(draft: &DocumentDraft, doc_type: DocumentType, object_id: i64) -> NewDocument {
    NewDocument {
        order_number: draft.order_key.clone(),
        doc_type,
        object_id,
        partner: PartnerData {
            known_id: None,
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
        lines: doc_lines(&draft.lines),
        shipping: draft.shipping.map(|m| ShippingLine { price: m }),
        payment: PaymentInfo {
            method: payment_method(draft.payment),
            paid: draft.paid,
        },
        unp: None,
    }
}

/// The warehouse lines of a document's lines.
fn doc_lines(lines: &[crate::core::import::DraftLine]) -> Vec<DocLine> {
    lines
        .iter()
        .map(|l| DocLine {
            sku: l.sku.clone(),
            name: l.name.clone(),
            qty: l.qty,
            unit_price: l.unit_price,
        })
        .collect()
}

/// The warehouse payment method of a payment kind.
fn payment_method(kind: PaymentKind) -> PaymentMethod {
    match kind {
        PaymentKind::Cash => PaymentMethod::Cash,
        PaymentKind::Bank => PaymentMethod::Bank,
        PaymentKind::Card => PaymentMethod::Card,
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
