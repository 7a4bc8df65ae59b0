//! The e-Shop Connector job: prints the receipts of its print jobs on the fiscal device
//! and stores each receipt number in the warehouse. The ledger moves every job pending →
//! printing → printed / failed, and the device's journal (in the ledger) finishes an
//! interrupted receipt without printing it twice; a receipt number the warehouse did not
//! take is recorded again by the next run. Refunds queued as storno jobs are printed after
//! the sales, each once, under its sale's УНП with the sale's receipt number, date and
//! fiscal memory number from the journal. A dry run only lists what it would print.

use std::collections::HashMap;

use crate::config::{EShopSettings, ServerKind};
use crate::core::currency::{Currency, DeviceCurrency};
use crate::core::receipt::{PlannedLine, planned_lines};
use crate::fiscal::payment_rules::PaymentRules;
use crate::fiscal::receipt::{
    Payment, Receipt, ReceiptLine, StornoOf, StornoReason, StornoReceipt, TaxGroupMap,
};
use crate::fiscal::session::FiscalSession;
use crate::fiscal::store::PrintedReceipt;
use crate::i18n::{Language, tr, tr_args};
use crate::ledger::Ledger;
use crate::ledger::print::{PrintContent, PrintJob, PrintState, StornoJob};
use crate::runner::history::{ItemAction, ItemResult};
use crate::runner::jobs::{JobEnv, JobOutcome, item, vat_rates_for};
use crate::runner::progress::Stage;
use crate::runner::warehouse_thread::WarehouseThread;
use crate::runner::worker::StopFlag;
use crate::secrets::{Secret, SecretKind};
use crate::warehouse::write::OPER_SALE;

/// Runs an e-Shop Connector once: records missing receipt numbers, then prints what
/// waits.
pub async fn eshop_job(env: &JobEnv<'_>, settings: &EShopSettings) -> JobOutcome {
    let lang = env.lang;
    let connector = env.server.name.trim().to_string();
    let (to_print, to_record, stornos) = match (
        env.ledger.jobs_to_print(&connector),
        env.ledger.jobs_to_record(&connector),
        env.ledger.stornos_to_print(&connector),
    ) {
        (Ok(p), Ok(r), Ok(s)) => (p, r, s),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return JobOutcome::failed(e.message(lang));
        }
    };
    if to_print.is_empty() && to_record.is_empty() && stornos.is_empty() {
        return JobOutcome::default();
    }
    if env.dry_run {
        let device = crate::runner::currency::device_currency(settings.device_currency);
        let sales = to_print.iter().map(|j| would_print(lang, j, device));
        let refunds = stornos.iter().map(|j| would_storno(lang, j));
        return JobOutcome {
            items: sales.chain(refunds).collect(),
            error: None,
            ..JobOutcome::default()
        };
    }
    let wh = match env.warehouse().await {
        Ok(wh) => wh,
        Err(e) => return JobOutcome::failed(e),
    };
    let mut items = record_numbers(&wh, env.ledger, &to_record, lang).await;
    if to_print.is_empty() && stornos.is_empty() {
        return JobOutcome {
            items,
            error: None,
            ..JobOutcome::default()
        };
    }
    let password = match env.secret(SecretKind::OperatorPassword) {
        Ok(p) => p,
        Err(e) => {
            return JobOutcome {
                items,
                error: Some(e),
                ..JobOutcome::default()
            };
        }
    };
    let key_column = key_column_of(env);
    let skus: Vec<String> = to_print
        .iter()
        .map(|j| &j.content)
        .chain(stornos.iter().map(|j| &j.content))
        .flat_map(|c| c.lines.iter().map(|l| l.sku.clone()))
        .collect();
    let rates = match wh.call(move |w| vat_rates_for(w, key_column, &skus)).await {
        Ok(r) => r,
        Err(e) => {
            return JobOutcome {
                items,
                error: Some(e.message(lang)),
                ..JobOutcome::default()
            };
        }
    };
    let printer = Printer {
        settings: settings.clone(),
        password,
        ledger: env.ledger.clone(),
        wh,
        rates,
        rules: PaymentRules::from(settings),
        stop: env.stop.clone(),
        lang,
    };
    let total = (to_print.len() + stornos.len()) as u64;
    env.report(Stage::Receipts, 0, total);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let mut work = tokio::task::spawn_blocking(move || printer.print_all(&to_print, &stornos, &tx));
    let result = loop {
        tokio::select! {
            Some(done) = rx.recv() => env.report(Stage::Receipts, done, total),
            r = &mut work => break r,
        }
    };
    match result {
        Ok((printed, error)) => {
            items.extend(printed);
            JobOutcome {
                items,
                error,
                ..JobOutcome::default()
            }
        }
        Err(e) => JobOutcome {
            items,
            error: Some(e.to_string()),
            ..JobOutcome::default()
        },
    }
}

/// The key field the SKUs of this connector's sales were matched with: that of the
/// Import server printing here.
fn key_column_of(env: &JobEnv<'_>) -> &'static str {
    env.config
        .servers
        .iter()
        .find_map(|s| match &s.kind {
            ServerKind::Import(i)
                if i.supto_mode && i.printing_module.trim() == env.server.name.trim() =>
            {
                Some(i.key_field)
            }
            _ => None,
        })
        .unwrap_or_default()
        .column()
}

/// What a dry run lists for a receipt: printed (total with its currency), or refused when
/// its currency is not the device's main one.
fn would_print(lang: Language, job: &PrintJob, device: DeviceCurrency) -> ItemResult {
    if let Err((receipt, device)) = job.content.printable_on(device) {
        let detail = currency_refusal(lang, &receipt, &device);
        return item("receipt", &job.unp, ItemAction::Skipped, detail);
    }
    let total = job.content.total_text();
    item(
        "receipt",
        &job.unp,
        ItemAction::WouldCreate,
        tr_args(
            lang,
            "jobs.would_print",
            &[("order", &job.order_key), ("total", &total)],
        ),
    )
}

/// The translated refusal of a receipt in `receipt` on a device in `device`.
fn currency_refusal(lang: Language, receipt: &Currency, device: &Currency) -> String {
    tr_args(
        lang,
        "euro.receipt_refused",
        &[("receipt", receipt.code()), ("device", device.code())],
    )
}

fn would_storno(lang: Language, job: &StornoJob) -> ItemResult {
    item(
        "storno",
        &job.refund_key,
        ItemAction::WouldCreate,
        tr_args(
            lang,
            "fiscal.storno.would_print",
            &[
                ("order", &job.order_key),
                ("total", &job.content.total.to_string()),
            ],
        ),
    )
}

/// Stores in the warehouse the receipt numbers printed but not yet recorded.
async fn record_numbers(
    wh: &WarehouseThread,
    ledger: &Ledger,
    jobs: &[PrintJob],
    lang: Language,
) -> Vec<ItemResult> {
    let mut items = Vec::new();
    for job in jobs {
        let PrintState::Printed { receipt_number, .. } = &job.state else {
            continue;
        };
        let (unp, acct) = (job.unp.clone(), job.acct);
        let number: i64 = receipt_number.trim().parse().unwrap_or_default();
        let result = wh
            .call(move |w| w.record_receipt_number(OPER_SALE, acct, &unp, number))
            .await;
        items.push(recorded_item(ledger, job, receipt_number, result, lang));
    }
    items
}

fn recorded_item(
    ledger: &Ledger,
    job: &PrintJob,
    number: &str,
    result: Result<bool, crate::warehouse::WarehouseError>,
    lang: Language,
) -> ItemResult {
    let error = match result {
        Ok(true) => match ledger.mark_receipt_recorded(&job.unp) {
            Ok(()) => {
                let detail = tr_args(
                    lang,
                    "jobs.receipt_recorded",
                    &[("number", number), ("order", &job.order_key)],
                );
                return item("receipt", &job.unp, ItemAction::Updated, detail);
            }
            Err(e) => e.message(lang),
        },
        Ok(false) => tr(lang, "jobs.receipt_no_record"),
        Err(e) => e.message(lang),
    };
    item(
        "receipt",
        &job.unp,
        ItemAction::Failed,
        tr_args(
            lang,
            "jobs.receipt_record_failed",
            &[("number", number), ("error", &error)],
        ),
    )
}

/// The printing loop's set-up; it runs on a blocking thread.
struct Printer {
    settings: EShopSettings,
    password: Secret,
    ledger: Ledger,
    wh: WarehouseThread,
    rates: HashMap<String, u32>,
    rules: PaymentRules,
    stop: StopFlag,
    lang: Language,
}

impl Printer {
    /// Prints every job, then every storno (stopping between receipts when asked);
    /// returns the items and the error that stopped it early.
    fn print_all(
        self,
        jobs: &[PrintJob],
        stornos: &[StornoJob],
        progress: &tokio::sync::mpsc::UnboundedSender<u64>,
    ) -> (Vec<ItemResult>, Option<String>) {
        let ledger = self.ledger.clone();
        let session = FiscalSession::connect(
            &self.settings,
            self.password.clone(),
            |serial| Box::new(ledger.journal(serial)),
            TaxGroupMap::from(&self.settings),
            crate::fiscal::transport::Timing::default(),
        );
        let mut session = match session {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(e.message(self.lang))),
        };
        let mut items = Vec::new();
        for (n, job) in jobs.iter().enumerate() {
            if self.stop.is_set() {
                return (items, Some(tr(self.lang, "jobs.stopped")));
            }
            match self.print_one(&mut session, job) {
                Ok(item) => items.push(item),
                Err(e) => return (items, Some(e)),
            }
            let _ = progress.send(n as u64 + 1);
        }
        for (n, job) in stornos.iter().enumerate() {
            if self.stop.is_set() {
                return (items, Some(tr(self.lang, "jobs.stopped")));
            }
            match self.print_storno(&mut session, job) {
                Ok(item) => items.push(item),
                Err(e) => return (items, Some(e)),
            }
            let _ = progress.send((jobs.len() + n) as u64 + 1);
        }
        (items, None)
    }

    /// Prints the storno of one refund once its sale's receipt is in the journal (until
    /// then it waits); `Err` when the ledger or the device failed.
    fn print_storno(
        &self,
        session: &mut FiscalSession,
        job: &StornoJob,
    ) -> Result<ItemResult, String> {
        let lang = self.lang;
        let device_err = |e: crate::fiscal::FiscalError| e.message(lang);
        let sale = session
            .printed()
            .map_err(device_err)?
            .into_iter()
            .find(|p| p.unp == job.unp && !p.unp.is_empty());
        let Some(sale) = sale else {
            let detail = tr_args(lang, "fiscal.storno.waits", &[("order", &job.order_key)]);
            return Ok(item("storno", &job.refund_key, ItemAction::Skipped, detail));
        };
        let storno = self
            .receipt_of(&job.unp, &job.content)
            .map(|receipt| StornoReceipt {
                id: job.refund_key.clone(),
                receipt,
                original: StornoOf {
                    receipt_number: sale.receipt_number,
                    date_time: sale.date_time,
                    fm_number: sale.fm_number,
                    reason: StornoReason::Refund,
                },
            });
        let set = |state: &PrintState| self.ledger.set_storno_state(&job.refund_key, state);
        let printed = match self.tracked(&set, storno, |r| session.print_storno(&r))? {
            Ok(p) => p,
            Err(error) => return Ok(item("storno", &job.refund_key, ItemAction::Failed, error)),
        };
        let number = printed.receipt_number.to_string();
        let detail = tr_args(
            lang,
            "fiscal.storno.printed",
            &[("number", &number), ("order", &job.order_key)],
        );
        Ok(item("storno", &job.refund_key, ItemAction::Created, detail))
    }

    /// Prints one job; `Err` when the ledger or the device failed (the run stops, the job
    /// waits for the next run).
    fn print_one(&self, session: &mut FiscalSession, job: &PrintJob) -> Result<ItemResult, String> {
        let lang = self.lang;
        let set = |state: &PrintState| self.ledger.set_print_state(&job.unp, state);
        let printed = match self.tracked(&set, self.receipt(job), |r| session.print(&r))? {
            Ok(p) => p,
            Err(error) => return Ok(item("receipt", &job.unp, ItemAction::Failed, error)),
        };
        let number = printed.receipt_number.to_string();
        let (unp, acct) = (job.unp.clone(), job.acct);
        let receipt_no = printed.receipt_number as i64;
        let result = self
            .wh
            .call_blocking(move |w| w.record_receipt_number(OPER_SALE, acct, &unp, receipt_no));
        let recorded = recorded_item(&self.ledger, job, &number, result, lang);
        if recorded.action == ItemAction::Failed {
            return Ok(recorded);
        }
        let detail = tr_args(
            lang,
            "jobs.receipt_printed",
            &[("number", &number), ("order", &job.order_key)],
        );
        Ok(item("receipt", &job.unp, ItemAction::Created, detail))
    }

    /// Prints `document` (when it could be built) with `print`, keeping the job's state
    /// with `set`: printing before, then printed; failed for the receipt's own error
    /// (`Ok(Err(message))`); for the device's fault (`Err`, the run stops) pending again, or
    /// still printing when the outcome is unknown (the journal finishes it once).
    fn tracked<D>(
        &self,
        set: &dyn Fn(&PrintState) -> Result<(), crate::ledger::LedgerError>,
        document: Result<D, String>,
        print: impl FnOnce(D) -> Result<PrintedReceipt, crate::fiscal::FiscalError>,
    ) -> Result<Result<PrintedReceipt, String>, String> {
        let lang = self.lang;
        let ledger_err = |e: crate::ledger::LedgerError| e.message(lang);
        let failed = |error: String| {
            set(&PrintState::Failed {
                error: error.clone(),
            })
            .map_err(ledger_err)?;
            Ok(Err(error))
        };
        let document = match document {
            Ok(d) => d,
            Err(e) => return failed(e),
        };
        set(&PrintState::Printing).map_err(ledger_err)?;
        match print(document) {
            Ok(printed) => {
                set(&PrintState::Printed {
                    receipt_number: printed.receipt_number.to_string(),
                    at: chrono::Utc::now(),
                })
                .map_err(ledger_err)?;
                Ok(Ok(printed))
            }
            Err(e) if e.stops_printing() => {
                if !e.is_link_failure() {
                    set(&PrintState::Pending).map_err(ledger_err)?;
                }
                Err(e.message(lang))
            }
            Err(e) => failed(e.message(lang)),
        }
    }

    /// The fiscal receipt of `job` (lines and VAT rates decided in `core::receipt`).
    fn receipt(&self, job: &PrintJob) -> Result<Receipt, String> {
        self.receipt_of(&job.unp, &job.content)
    }

    /// The receipt of `content` under the УНП `unp`.
    fn receipt_of(&self, unp: &str, content: &PrintContent) -> Result<Receipt, String> {
        // Amounts go to the device in its main currency; a receipt in another is refused,
        // never printed at a wrong amount.
        let device = crate::runner::currency::device_currency(self.settings.device_currency);
        if let Err((receipt, device)) = content.printable_on(device) {
            return Err(currency_refusal(self.lang, &receipt, &device));
        }
        let unp = crate::core::unp::Unp::parse(unp).map_err(|e| e.to_string())?;
        let shipping_text = tr(self.lang, "jobs.shipping_good");
        let lines = planned_lines(content, &self.rates)
            .into_iter()
            .map(|l| match l {
                PlannedLine::Item {
                    text,
                    unit_price,
                    quantity_milli,
                    vat_rate,
                } => ReceiptLine::Item {
                    text,
                    unit_price,
                    quantity_milli,
                    vat_rate,
                    discount: 0,
                },
                PlannedLine::Shipping { amount, vat_rate } => ReceiptLine::Shipping {
                    text: shipping_text.clone(),
                    amount,
                    vat_rate,
                },
            })
            .collect();
        let kind = self
            .rules
            .receipt_payment(&content.payment_method)
            .unwrap_or(crate::fiscal::PaymentKind::Cash);
        Ok(Receipt {
            unp,
            operator: self.settings.operator_code.trim().to_string(),
            lines,
            payments: vec![Payment {
                kind,
                amount: content.total.cents(),
            }],
        })
    }
}
