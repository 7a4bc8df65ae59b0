//! The Import job's refunds: after the orders, the shop's refunds of Sales this server
//! wrote become return documents in the warehouse and, for a SUPTO sale with a receipt,
//! storno jobs for the e-Shop Connector that printed it.
//!
//! Requests: one light listing of the orders modified since the last check (`_fields`
//! limited to id, refunds and modification time; one page per 100 orders), then — only
//! for an imported sale with a refund the ledger has not taken — the order and its
//! refunds (two requests). The check time is the newest modification seen, kept with a
//! ten-minute overlap (refunds already taken are recognised by id, so the overlap costs
//! nothing but listing); it moves only when every refund of the pass was dealt with.
//!
//! Each refund: the intent in the ledger, the return document in the warehouse (found
//! again by its key in `Operations.Note` after an interruption), then the written row and
//! its storno job in one ledger transaction.

use chrono::{DateTime, Duration, Utc};

use super::{ImportRun, doc_lines, payment_method};
use crate::core::currency::{Currency, with_currency};
use crate::core::import::DocumentDraft;
use crate::core::money::Money;
use crate::core::receipt::content_of_lines;
use crate::core::refund::{RefundIn, RefundLineIn, ReturnDraft, convert_return, map_refund};
use crate::i18n::tr_args;
use crate::ledger::imports::{DocState, OrderRow};
use crate::ledger::print::{NewStornoJob, PrintState};
use crate::ledger::refunds::RefundState;
use crate::runner::history::ItemAction;
use crate::runner::jobs::item;
use crate::warehouse::WarehouseError;
use crate::warehouse::returns::NewReturn;
use crate::warehouse::write::{OPER_SALE, PaymentInfo, ShippingLine};
use crate::woo::{Order, Refund};

/// How far back each check looks again before the last one.
const OVERLAP_MINUTES: i64 = 10;

/// The first check of a server looks at orders modified since a day before its first
/// document (the ledger's clock and the shop's may differ).
const FIRST_CHECK_DAYS: i64 = 1;

/// A refund as the mapping needs it.
fn refund_in(r: &Refund) -> RefundIn {
    let gross = |total: Option<Money>, tax: Option<Money>| {
        -(total.unwrap_or_default() + tax.unwrap_or_default())
    };
    RefundIn {
        id: r.id,
        amount: r.amount.unwrap_or_default(),
        lines: r
            .line_items
            .iter()
            .map(|l| RefundLineIn {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity_milli: -l.quantity_milli,
                amount: gross(l.total, l.total_tax),
            })
            .collect(),
        shipping: r
            .shipping_lines
            .iter()
            .map(|l| gross(l.total, l.total_tax))
            .sum(),
    }
}

/// The sale (OperType, number) of a ledger row, when it is a written Sale.
fn sale_of(row: &OrderRow) -> Option<(i64, i64)> {
    match (row.state, row.document) {
        (DocState::Written, Some((OPER_SALE, acct))) => Some((OPER_SALE, acct)),
        _ => None,
    }
}

impl ImportRun<'_, '_> {
    /// Takes the refunds of the orders modified since the last check; `Err` stops the run.
    pub(super) async fn refunds(&mut self) -> Result<(), String> {
        let lang = self.env.lang;
        let sid = self.server_id().to_string();
        let ledger = self.env.ledger;
        let checked = ledger
            .refunds_checked(&sid)
            .map_err(|e| self.ledger_err(e))?;
        let since = match checked {
            Some(t) => t - Duration::minutes(OVERLAP_MINUTES),
            None => match ledger.first_written(&sid).map_err(|e| self.ledger_err(e))? {
                Some(t) => t - Duration::days(FIRST_CHECK_DAYS),
                // Nothing imported yet: nothing to refund.
                None => return Ok(()),
            },
        };
        let listed = self
            .client
            .orders_with_refunds(since)
            .await
            .map_err(|e| e.message(lang))?;
        let newest: Option<DateTime<Utc>> = listed.iter().filter_map(|o| o.date_modified_gmt).max();
        let mut all_done = true;
        for o in listed.iter().filter(|o| !o.refunds.is_empty()) {
            let Some(row) = ledger
                .order_row(&sid, o.id)
                .map_err(|e| self.ledger_err(e))?
            else {
                continue;
            };
            let Some(sale) = sale_of(&row) else { continue };
            let mut new = Vec::new();
            for r in &o.refunds {
                match ledger
                    .refund_state(&sid, r.id)
                    .map_err(|e| self.ledger_err(e))?
                {
                    None | Some(RefundState::Intent) => new.push(r.id),
                    Some(_) => {}
                }
            }
            if new.is_empty() {
                continue;
            }
            all_done &= self.order_refunds(&row, sale, &new).await?;
        }
        if all_done
            && !self.env.dry_run
            && let Some(t) = newest.or(checked)
        {
            ledger
                .save_refunds_checked(&sid, t)
                .map_err(|e| self.ledger_err(e))?;
        }
        Ok(())
    }

    /// The new refunds (`new`, ids) of one imported sale; false when one of them failed
    /// and is to be tried again.
    async fn order_refunds(
        &mut self,
        row: &OrderRow,
        sale: (i64, i64),
        new: &[u64],
    ) -> Result<bool, String> {
        let lang = self.env.lang;
        let order = self
            .client
            .get_order(row.order_id)
            .await
            .map_err(|e| e.message(lang))?;
        let mut refunds = self
            .client
            .list_refunds(row.order_id)
            .await
            .map_err(|e| e.message(lang))?;
        refunds.sort_by_key(|r| r.id);
        let all: Vec<RefundIn> = refunds.iter().map(refund_in).collect();
        let sale_draft = match self.map(&order, None) {
            Ok(d) => d,
            Err(e) => {
                for id in new {
                    let key = crate::core::refund::refund_key(&row.order_key, *id);
                    self.refuse(row, *id, &key, &e.to_string())?;
                }
                return Ok(true);
            }
        };
        let mut done = true;
        for r in all.iter().filter(|r| new.contains(&r.id)) {
            let key = crate::core::refund::refund_key(&row.order_key, r.id);
            match map_refund(&sale_draft, &all, r) {
                Err(e) => self.refuse(row, r.id, &key, &e.to_string())?,
                Ok(draft) => {
                    done &= self
                        .write_refund(&order, row, sale, &sale_draft, draft, r.id)
                        .await?;
                }
            }
        }
        Ok(done)
    }

    /// Records a refund that cannot become a return document, with its history item.
    fn refuse(&mut self, row: &OrderRow, id: u64, key: &str, error: &str) -> Result<(), String> {
        let lang = self.env.lang;
        let detail = tr_args(
            lang,
            "refunds.refused",
            &[("order", &row.order_key), ("error", error)],
        );
        if !self.env.dry_run {
            self.env
                .ledger
                .record_refund_refused(self.server_id(), id, row.order_id, key, &detail)
                .map_err(|e| self.ledger_err(e))?;
        }
        self.items
            .push(item("refund", key, ItemAction::Skipped, detail));
        Ok(())
    }

    /// Writes one refund's return document and records it with its storno job; false
    /// when the warehouse refused it (tried again next run).
    #[allow(clippy::too_many_arguments)]
    async fn write_refund(
        &mut self,
        order: &Order,
        row: &OrderRow,
        sale: (i64, i64),
        sale_draft: &DocumentDraft,
        draft: ReturnDraft,
        refund_id: u64,
    ) -> Result<bool, String> {
        let lang = self.env.lang;
        let sid = self.server_id().to_string();
        let currency = self.document_currency();
        let wh_draft = match self.conversion {
            Some(c) => {
                let currency = Currency::from_code(&order.currency)
                    .unwrap_or_else(|| self.shop_currency.clone());
                match convert_return(&draft, &currency, c) {
                    Ok(d) => d,
                    Err(e) => {
                        let detail = tr_args(
                            lang,
                            "euro.order_currency_differs",
                            &[("order", e.found.code()), ("shop", e.expected.code())],
                        );
                        self.items
                            .push(item("refund", &draft.key, ItemAction::Skipped, detail));
                        return Ok(false);
                    }
                }
            }
            None => draft.clone(),
        };
        let total_text = with_currency(wh_draft.total, &currency);
        if self.env.dry_run {
            let detail = tr_args(
                lang,
                "refunds.would_write",
                &[("order", &row.order_key), ("total", &total_text)],
            );
            self.items
                .push(item("refund", &draft.key, ItemAction::WouldCreate, detail));
            return Ok(true);
        }
        // An intent left by an interrupted run stays as it is (nothing to write).
        let ledger = self.env.ledger;
        if ledger
            .refund_state(&sid, refund_id)
            .map_err(|e| self.ledger_err(e))?
            .is_none()
        {
            ledger
                .record_refund_intent(&sid, refund_id, row.order_id, &draft.key)
                .map_err(|e| self.ledger_err(e))?;
        }
        let ret = NewReturn {
            key: draft.key.clone(),
            sale,
            object_id: self.object_id,
            lines: doc_lines(&wh_draft.lines),
            shipping: wh_draft.shipping.map(|m| ShippingLine { price: m }),
            payment: PaymentInfo {
                method: payment_method(sale_draft.payment),
                paid: true,
            },
        };
        let opts = self.opts.clone();
        let acct = match self.wh.call(move |w| w.write_return(&ret, &opts)).await {
            Ok(outcome) => outcome.acct(),
            Err(e) => return self.refund_failed(&draft.key, e),
        };
        let storno = self.storno_of(row, order, &draft)?;
        let mut detail = tr_args(
            lang,
            "refunds.written",
            &[
                ("acct", &acct.to_string()),
                ("order", &row.order_key),
                ("total", &total_text),
            ],
        );
        if let Some(s) = &storno {
            detail.push_str("; ");
            detail.push_str(&tr_args(lang, "refunds.storno_queued", &[("unp", &s.unp)]));
        }
        self.env
            .ledger
            .record_refund_written(
                &sid,
                refund_id,
                row.order_id,
                &draft.key,
                acct,
                &detail,
                storno.as_ref(),
            )
            .map_err(|e| self.ledger_err(e))?;
        self.items
            .push(item("refund", &draft.key, ItemAction::Created, detail));
        Ok(true)
    }

    /// A failed return write: a transient error stops the run (the intent stays and the
    /// next run finds the document by its key), any other is reported and retried.
    fn refund_failed(&mut self, key: &str, e: WarehouseError) -> Result<bool, String> {
        let lang = self.env.lang;
        self.items
            .push(item("refund", key, ItemAction::Failed, e.message(lang)));
        if e.is_transient() {
            Err(e.message(lang))
        } else {
            Ok(false)
        }
    }

    /// The storno job of a refund: for a SUPTO sale whose receipt is due, to the
    /// connector that prints it, under its УНП.
    fn storno_of(
        &self,
        row: &OrderRow,
        order: &Order,
        draft: &ReturnDraft,
    ) -> Result<Option<NewStornoJob>, String> {
        if self.printing.is_none() {
            return Ok(None);
        }
        let Some(unp) = &row.unp else { return Ok(None) };
        let job = self
            .env
            .ledger
            .print_job(unp)
            .map_err(|e| self.ledger_err(e))?;
        Ok(job
            .filter(|j| j.state != PrintState::NotDue)
            .map(|j| NewStornoJob {
                refund_key: draft.key.clone(),
                connector: j.connector,
                unp: unp.clone(),
                order_key: row.order_key.clone(),
                content: content_of_lines(
                    &draft.lines,
                    draft.shipping,
                    draft.total,
                    &order.payment_method,
                    self.shop_currency.code(),
                ),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shop_refund_reads_with_positive_amounts() {
        let r: Refund = serde_json::from_value(serde_json::json!({
            "id": 55, "amount": "14.99", "reason": "",
            "line_items": [{"sku": "A", "name": "Сирене", "quantity": -2,
                            "total": "-8.33", "total_tax": "-1.67"}],
            "shipping_lines": [{"total": "-4.16", "total_tax": "-0.83"}]
        }))
        .unwrap();
        let i = refund_in(&r);
        assert_eq!(i.amount, Money::from_cents(1499));
        assert_eq!(i.lines[0].quantity_milli, 2000);
        assert_eq!(i.lines[0].amount, Money::from_cents(1000));
        assert_eq!(i.shipping, Money::from_cents(499));
    }
}
