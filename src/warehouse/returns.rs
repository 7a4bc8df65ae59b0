//! Writing a refund as a Warehouse Pro return document: OperType 34 "Рекламация / Refund
//! (return from customer)" (SCHEMA.md §2), numbered with the `Rf` prefix in `NextAcct`,
//! one `Operations` row per returned line with Sign +1 (the goods come back into the
//! object's stock), for the sale's partner, and the payment rows of the refunded amount
//! with Sign -1 (the §2 payments sign of 34). The refund's key (`WEB#1001/Rf55`) is the
//! `Note` of every row and is checked inside the transaction, so a refund is never
//! written twice.

use chrono::Local;

use super::db::{Param, Warehouse, int_of, text};
use super::dialect::Table;
use super::error::WarehouseError;
use super::write::{
    DocHeader, DocLine, OPER_RETURN, PaymentInfo, SERVICE_ID, ShippingLine, WriteOptions,
    document_date,
};

/// A return document to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReturn {
    /// The refund's key, stored in `Operations.Note`.
    pub key: String,
    /// The sale it returns (OperType, Acct): its partner is the return's partner.
    pub sale: (i64, i64),
    /// `Objects.ID` the goods come back into (the sale's object).
    pub object_id: i64,
    /// Returned goods (unit prices VAT included).
    pub lines: Vec<DocLine>,
    /// Returned shipping.
    pub shipping: Option<ShippingLine>,
    /// How the money goes back (the sale's payment method); `paid` when the shop has
    /// refunded it.
    pub payment: PaymentInfo,
}

/// What writing a return did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnOutcome {
    /// The return document was written with this number.
    Created(i64),
    /// A return with this key was already there (this number); nothing was written.
    AlreadyExists(i64),
}

impl ReturnOutcome {
    /// The return document's number.
    pub fn acct(self) -> i64 {
        match self {
            ReturnOutcome::Created(a) | ReturnOutcome::AlreadyExists(a) => a,
        }
    }
}

impl Warehouse {
    /// The return document holding refund key `key`, if any.
    pub fn find_return(&self, key: &str) -> Result<Option<i64>, WarehouseError> {
        Ok(self
            .document_with_note(key, &OPER_RETURN.to_string())?
            .map(|(_, acct)| acct))
    }

    /// Writes `ret` in one transaction; a key already present gives `AlreadyExists`.
    pub fn write_return(
        &mut self,
        ret: &NewReturn,
        opts: &WriteOptions,
    ) -> Result<ReturnOutcome, WarehouseError> {
        if ret.lines.is_empty() && ret.shipping.is_none() {
            return Err(WarehouseError::EmptyDocument);
        }
        self.with_retries(opts.max_attempts, |w| w.write_return_body(ret, opts))
    }

    fn write_return_body(
        &self,
        ret: &NewReturn,
        opts: &WriteOptions,
    ) -> Result<ReturnOutcome, WarehouseError> {
        let d = self.dialect();
        self.lock_for_writing()?;
        let existing = self.query(
            &d.locking_select(
                "Acct",
                Table::Operations,
                &format!("Note = ? AND OperType = {OPER_RETURN} AND PartnerID <> 0 AND Acct > 0"),
            ),
            &[text(ret.key.as_str())],
        )?;
        if let Some(acct) = existing
            .first()
            .and_then(|r| r[0].as_deref().and_then(int_of))
        {
            return Ok(ReturnOutcome::AlreadyExists(acct));
        }
        let partner_id = self
            .query_i64(
                &format!(
                    "SELECT MIN(PartnerID) FROM {} WHERE OperType = ? AND Acct = ? AND PartnerID <> 0",
                    self.t(Table::Operations)
                ),
                &[Param::Int(ret.sale.0), Param::Int(ret.sale.1)],
            )?
            .ok_or_else(|| {
                WarehouseError::InvalidDocument(format!(
                    "the sale {} of refund {} is not in the warehouse",
                    ret.sale.1, ret.key
                ))
            })?;
        let vat = self.vat_rates()?;
        let mut lines = Vec::new();
        for l in &ret.lines {
            let row = match self.find_good(opts.key_field, l.sku.trim())? {
                Some(r) => r,
                None => self.good_row(SERVICE_ID)?,
            };
            lines.push(self.resolve(&row, l.qty, l.unit_price, &vat));
        }
        if let Some(ship) = &ret.shipping {
            let row = self.shipping_good(opts)?;
            lines.push(self.resolve(&row, 1, ship.price, &vat));
        }
        let now = Local::now().naive_local();
        let now_text = d.datetime_param(now);
        let today_text = d.datetime_param(document_date(now));
        let prices_include_vat = self.prices_include_vat()?;
        let per_object = self.config_flag(super::guess::CONFIG_NUMBERING_PER_OBJECT)? == Some(true);
        let acct = self.reserve_number(OPER_RETURN, ret.object_id, per_object)?;
        let header = DocHeader {
            oper_type: OPER_RETURN,
            acct,
            partner_id,
            object_id: ret.object_id,
            user_id: opts.user_id,
            sign: 1,
            note: &ret.key,
            today: &today_text,
            now: &now_text,
        };
        let total = self.insert_lines(&header, &lines, prices_include_vat)?;
        for l in lines.iter().filter(|l| l.inventory) {
            self.change_stock(ret.object_id, l, 1)?;
        }
        self.insert_payments(&header, total, -1, ret.payment)?;
        Ok(ReturnOutcome::Created(acct))
    }
}
