//! Writing a shop order as one Warehouse Pro document (Order, OperType 19, or Sale,
//! OperType 2) in one transaction, following SCHEMA.md §2 and `example_write_sale.sql`:
//! partner lookup or creation, number reserved in `NextAcct` with retry, one
//! `Operations` row per line with per-unit VAT, stock decrease, payments (due + paid),
//! cash book for cash, the УНП record in SUPTO mode. The shop order number goes into
//! `Operations.Note` on every line and is checked inside the transaction, so an order is
//! never written twice.

use std::collections::HashMap;

use chrono::{Local, NaiveDateTime};

use crate::config::{DocumentType, InvalidGoods, KeyField};

use super::db::{Param, Warehouse, clean, int_of, text};
use super::dialect::{Dialect, Table};
use super::error::WarehouseError;
use super::guess::{self, UnpRecord};
use crate::core::money::{Micro, Money, Qty, parse_rate_bp};

/// `Operations.OperType` of a Sale.
pub const OPER_SALE: i64 = 2;
/// `Operations.OperType` of a consignment sale (shares the Sale numbering).
pub const OPER_CONSIGNMENT_SALE: i64 = 16;
/// `Operations.OperType` of a customer Order.
pub const OPER_ORDER: i64 = 19;
/// `Operations.OperType` of a return from a customer ("Рекламация / Refund").
pub const OPER_RETURN: i64 = 34;
/// `CashBook.OperType` turnover type "income from sale".
pub const CASHBOOK_SALE_INCOME: i64 = 8;
/// Id of the service good, partner, object and user rows.
pub const SERVICE_ID: i64 = 1;
/// `Goods.Type` flag of a non-inventory (service) good, whose stock is not kept.
pub const GOODS_TYPE_NON_INVENTORY: i64 = 8;
/// Length of Warehouse Pro text columns (`VARCHAR(255)` / `nvarchar(255)`).
pub const TEXT_COLUMN_LEN: usize = 255;
/// Attempts to find a free document number (S1 tries 100 times).
pub const NUMBERING_ATTEMPTS: u32 = 100;

/// The customer of a document, from the order's billing data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartnerData {
    /// The partner this customer was written as before (`Partners.ID`, remembered by the
    /// ledger for a registered shop customer); used while it exists and is not deleted.
    pub known_id: Option<i64>,
    /// Company or person name (`Company`).
    pub name: String,
    /// Contact person (`MOL`); the name is used when empty.
    pub contact: String,
    /// E-mail: with the name, it finds a guest's partner.
    pub email: String,
    /// Phone: stored, never used to find a partner (people share phones).
    pub phone: String,
    /// VAT number (`TaxNo`, e.g. `BG123456789`): with the company name, it finds a
    /// company's partner.
    pub vat_number: String,
    /// EIK / BULSTAT.
    pub eik: String,
    /// City.
    pub city: String,
    /// Street address.
    pub address: String,
}

/// One order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLine {
    /// The SKU, matched against the key field.
    pub sku: String,
    /// The shop's name of the item (for reports about unknown SKUs).
    pub name: String,
    /// Quantity in whole units (shop quantities are whole).
    pub qty: i64,
    /// Unit price including VAT, after discounts.
    pub unit_price: Money,
}

/// The shipping charge of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingLine {
    /// Price including VAT.
    pub price: Money,
}

/// How the customer pays (`PaymentTypes.ID` 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PaymentMethod {
    /// Cash (also adds a cash-book row when paid).
    #[default]
    Cash,
    /// Bank transfer.
    Bank,
    /// Debit or credit card.
    Card,
    /// Voucher.
    Voucher,
}

impl PaymentMethod {
    /// `PaymentTypes.ID` of the default rows.
    pub fn type_id(self) -> i64 {
        match self {
            PaymentMethod::Cash => 1,
            PaymentMethod::Bank => 2,
            PaymentMethod::Card => 3,
            PaymentMethod::Voucher => 4,
        }
    }
}

/// Payment of a Sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PaymentInfo {
    /// The payment method.
    pub method: PaymentMethod,
    /// True when the whole amount is already paid (adds the "paid" row).
    pub paid: bool,
}

/// A document to write, mapped from a shop order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    /// The shop order number as stored in `Operations.Note` (e.g. `WEB#100045`); the
    /// idempotency key.
    pub order_number: String,
    /// Order or Sale.
    pub doc_type: DocumentType,
    /// `Objects.ID` of the location.
    pub object_id: i64,
    /// The customer.
    pub partner: PartnerData,
    /// The goods lines.
    pub lines: Vec<DocLine>,
    /// The shipping charge, if any.
    pub shipping: Option<ShippingLine>,
    /// Payment (Sales only).
    pub payment: PaymentInfo,
    /// The УНП record (SUPTO mode).
    pub unp: Option<UnpRecord>,
}

/// How to write documents (from the Import settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Column matching the lines' SKUs.
    pub key_field: KeyField,
    /// What to do with unknown SKUs.
    pub invalid_goods: InvalidGoods,
    /// `Goods.Code` of the shipping good (created when missing).
    pub shipping_code: String,
    /// Name of the shipping good when it is created.
    pub shipping_name: String,
    /// `Users.ID` written as user and operator.
    pub user_id: i64,
    /// Attempts of the whole transaction on lock conflicts.
    pub max_attempts: u32,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            key_field: KeyField::Code,
            invalid_goods: InvalidGoods::UseServiceGood,
            shipping_code: "SHIPPING".to_string(),
            shipping_name: "Доставка".to_string(),
            user_id: SERVICE_ID,
            max_attempts: 20,
        }
    }
}

/// What writing a document did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// A new document was written.
    Created {
        /// `Operations.OperType`.
        oper_type: i64,
        /// The document number (`Acct`).
        acct: i64,
        /// SKUs written as the service good.
        unknown_skus: Vec<String>,
        /// The partner (`Partners.ID`) the document was written for.
        partner_id: i64,
    },
    /// A document with this order number already exists; nothing was written.
    AlreadyExists {
        /// `Operations.OperType` of the existing document.
        oper_type: i64,
        /// Its number.
        acct: i64,
    },
}

impl WriteOutcome {
    /// The document number, new or existing.
    pub fn acct(&self) -> i64 {
        match self {
            WriteOutcome::Created { acct, .. } | WriteOutcome::AlreadyExists { acct, .. } => *acct,
        }
    }
}

/// The `NextAcct` prefix of a document type (S1: `S` sale, `OR` order, `Rf` refund).
pub fn nextacct_prefix(oper_type: i64) -> &'static str {
    match oper_type {
        OPER_ORDER => "OR",
        OPER_RETURN => "Rf",
        _ => "S",
    }
}

/// The OperTypes sharing a number sequence with `oper_type`.
pub fn numbering_types(oper_type: i64) -> &'static str {
    match oper_type {
        OPER_ORDER => "19",
        OPER_RETURN => "34",
        _ => "2,16",
    }
}

/// The SELECT of the next free number candidate, `MAX(Acct)+1`.
pub fn next_acct_sql(dialect: Dialect, oper_type: i64, per_object: bool) -> String {
    let mut sql = format!(
        "SELECT MAX(Acct) FROM {} WHERE OperType IN ({})",
        dialect.table(Table::Operations),
        numbering_types(oper_type)
    );
    if per_object {
        sql.push_str(" AND ObjectID = ?");
    }
    sql
}

/// The INSERT of one `Operations` row.
pub fn operation_insert_sql(dialect: Dialect) -> String {
    format!(
        "INSERT INTO {} (OperType, Acct, GoodID, PartnerID, ObjectID, OperatorID, Qtty, Sign, \
         PriceIn, PriceOut, VATIn, VATOut, Discount, CurrencyID, CurrencyRate, {}, Lot, LotID, \
         Note, SrcDocID, UserID, UserRealTime) \
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,1,1,?,' ',1,?,0,?,?)",
        dialect.table(Table::Operations),
        dialect.quote("Date")
    )
}

/// Replaces characters outside the Basic Multilingual Plane (emoji) with U+FFFD.
/// Returns the text and whether anything was replaced.
pub fn replace_4byte(text: &str) -> (String, bool) {
    let mut changed = false;
    let out = text
        .chars()
        .map(|c| {
            if c.len_utf8() == 4 {
                changed = true;
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    (out, changed)
}

/// Microinvest stores empty text as one space.
fn blank(s: &str) -> String {
    let t = s.trim();
    if t.is_empty() {
        " ".to_string()
    } else {
        t.to_string()
    }
}

fn is_duplicate_key(e: &WarehouseError) -> bool {
    let WarehouseError::Database(d) = e else {
        return false;
    };
    let t = d.to_ascii_lowercase();
    t.contains("23000") || t.contains("duplicate") || t.contains("unique") || t.contains("2627")
}

/// A document line with its good found and its VAT rate and cost price read.
pub(super) struct ResolvedLine {
    pub(super) good_id: i64,
    pub(super) qty: i64,
    gross: Money,
    rate_bp: u32,
    price_in: Micro,
    pub(super) inventory: bool,
}

/// What every `Operations` row of one document shares.
pub(super) struct DocHeader<'a> {
    pub(super) oper_type: i64,
    pub(super) acct: i64,
    pub(super) partner_id: i64,
    pub(super) object_id: i64,
    pub(super) user_id: i64,
    /// -1 stock out, +1 stock in, 0 none.
    pub(super) sign: i64,
    /// `Operations.Note`: the idempotency key.
    pub(super) note: &'a str,
    pub(super) today: &'a str,
    pub(super) now: &'a str,
}

/// A callback run after every row is written and before commit (a test seam for
/// dropped connections); an `Err` aborts and rolls back.
pub type BeforeCommit<'a> = &'a mut dyn FnMut(&Warehouse, i64) -> Result<(), String>;

impl Warehouse {
    /// Writes `doc` in one transaction and returns the document number; an order number
    /// already present gives `AlreadyExists` and writes nothing.
    pub fn write_document(
        &mut self,
        doc: &NewDocument,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome, WarehouseError> {
        self.write_document_with(doc, opts, &mut |_, _| Ok(()))
    }

    /// `write_document` with a callback just before commit (fault injection in tests).
    pub fn write_document_with(
        &mut self,
        doc: &NewDocument,
        opts: &WriteOptions,
        before_commit: BeforeCommit<'_>,
    ) -> Result<WriteOutcome, WarehouseError> {
        validate(doc)?;
        let doc = self.sanitized(doc)?;
        self.with_retries(opts.max_attempts, |w| {
            let outcome = w.write_body(&doc, opts)?;
            if let WriteOutcome::Created { acct, .. } = &outcome {
                before_commit(w, *acct).map_err(WarehouseError::Aborted)?;
            }
            Ok(outcome)
        })
    }

    /// Runs `body` in a transaction, again (up to `attempts` times, with a short
    /// backoff) while it fails on a lock conflict.
    pub(super) fn with_retries<T>(
        &mut self,
        attempts: u32,
        mut body: impl FnMut(&Warehouse) -> Result<T, WarehouseError>,
    ) -> Result<T, WarehouseError> {
        let mut last = String::new();
        for attempt in 0..attempts.max(1) {
            self.begin()?;
            match body(self) {
                Ok(value) => match self.commit() {
                    Ok(()) => return Ok(value),
                    Err(e) => {
                        self.rollback();
                        if !e.is_transient() {
                            return Err(e);
                        }
                        last = e.to_string();
                    }
                },
                Err(e) => {
                    self.rollback();
                    if !e.is_transient() {
                        return Err(e);
                    }
                    last = e.to_string();
                }
            }
            tracing::debug!(attempt, "warehouse write conflict, retrying: {last}");
            std::thread::sleep(backoff(attempt));
        }
        Err(WarehouseError::Busy(last))
    }

    /// Fits the text into the columns: partner fields cut to 255 characters (VARCHAR(255)),
    /// and 4-byte characters replaced when the database is 3-byte utf8.
    fn sanitized(&mut self, doc: &NewDocument) -> Result<NewDocument, WarehouseError> {
        let mut out = doc.clone();
        {
            let p = &mut out.partner;
            for f in [
                &mut p.name,
                &mut p.contact,
                &mut p.email,
                &mut p.phone,
                &mut p.vat_number,
                &mut p.eik,
                &mut p.city,
                &mut p.address,
            ] {
                if f.chars().count() > TEXT_COLUMN_LEN {
                    tracing::warn!(order = %doc.order_number, "partner text cut to 255 characters");
                    *f = f.chars().take(TEXT_COLUMN_LEN).collect();
                }
            }
        }
        if !self.needs_4byte_strip()? {
            return Ok(out);
        }
        let mut changed = false;
        let mut fix = |s: &mut String| {
            let (t, c) = replace_4byte(s);
            changed |= c;
            *s = t;
        };
        fix(&mut out.order_number);
        let p = &mut out.partner;
        for f in [
            &mut p.name,
            &mut p.contact,
            &mut p.email,
            &mut p.phone,
            &mut p.vat_number,
            &mut p.eik,
            &mut p.city,
            &mut p.address,
        ] {
            fix(f);
        }
        for l in &mut out.lines {
            fix(&mut l.sku);
            fix(&mut l.name);
        }
        if changed {
            tracing::warn!(
                order = %out.order_number,
                "4-byte characters (emoji) replaced with U+FFFD: the database uses 3-byte utf8"
            );
        }
        Ok(out)
    }

    /// Writes one document inside the caller's transaction: idempotency check, object, goods,
    /// partner, number, lines, the sale's stock and payments, and the УНП.
    fn write_body(
        &self,
        doc: &NewDocument,
        opts: &WriteOptions,
    ) -> Result<WriteOutcome, WarehouseError> {
        let d = self.dialect();
        let oper_type = match doc.doc_type {
            DocumentType::Order => OPER_ORDER,
            DocumentType::Sale => OPER_SALE,
        };
        let now = Local::now().naive_local();
        let now_text = d.datetime_param(now);
        let today_text = d.datetime_param(document_date(now));

        self.lock_for_writing()?;

        // 1. Idempotency, inside the transaction, with a locking read.
        let existing = self.query(
            &d.locking_select(
                "OperType, Acct",
                Table::Operations,
                "Note = ? AND OperType IN (2,19) AND PartnerID <> 0 AND Acct > 0",
            ),
            &[text(doc.order_number.as_str())],
        )?;
        if let Some(row) = existing.first() {
            return Ok(WriteOutcome::AlreadyExists {
                oper_type: row[0].as_deref().and_then(int_of).unwrap_or(oper_type),
                acct: row[1].as_deref().and_then(int_of).unwrap_or(0),
            });
        }

        // 2. The object.
        let object_ok = self.query_i64(
            &format!(
                "SELECT ID FROM {} WHERE ID = ? AND Deleted = 0",
                self.t(Table::Objects)
            ),
            &[Param::Int(doc.object_id)],
        )?;
        if object_ok.is_none() || doc.object_id <= SERVICE_ID {
            return Err(WarehouseError::UnknownObject(doc.object_id));
        }

        // 3. Goods.
        let (lines, unknown) = self.resolve_goods(doc, opts)?;

        // 4. Partner.
        let partner_id = self.find_or_create_partner(&doc.partner, opts.user_id, &now_text)?;

        // 5. Number.
        let prices_include_vat = self.prices_include_vat()?;
        let per_object = self.config_flag(guess::CONFIG_NUMBERING_PER_OBJECT)? == Some(true);
        let acct = self.reserve_number(oper_type, doc.object_id, per_object)?;

        // 6. Lines.
        let sign = if oper_type == OPER_SALE { -1 } else { 0 };
        let header = DocHeader {
            oper_type,
            acct,
            partner_id,
            object_id: doc.object_id,
            user_id: opts.user_id,
            sign,
            note: &doc.order_number,
            today: &today_text,
            now: &now_text,
        };
        let total = self.insert_lines(&header, &lines, prices_include_vat)?;

        // 7.–8. Stock and payments.
        if oper_type == OPER_SALE {
            self.book_sale(doc, opts, &header, &lines, total, &now_text)?;
        }

        // 9. УНП (SUPTO mode), behind the GUESS seam.
        if let Some(unp) = &doc.unp {
            let (sql, params) = guess::unp_insert(
                d,
                oper_type,
                acct,
                unp,
                &total.to_string(),
                opts.user_id,
                &now_text,
            );
            self.exec(&sql, &params)?;
        }

        Ok(WriteOutcome::Created {
            oper_type,
            acct,
            unknown_skus: unknown,
            partner_id,
        })
    }

    /// Finds each line's good by the key field (an unknown or empty SKU becomes the service
    /// good, and is listed), refuses the order when unknown goods skip it, and adds the
    /// shipping line; gives the resolved lines and the unknown SKUs.
    fn resolve_goods(
        &self,
        doc: &NewDocument,
        opts: &WriteOptions,
    ) -> Result<(Vec<ResolvedLine>, Vec<String>), WarehouseError> {
        let vat = self.vat_rates()?;
        let mut unknown = Vec::new();
        let mut lines = Vec::new();
        for line in &doc.lines {
            let sku = line.sku.trim();
            let row = if sku.is_empty() {
                None
            } else {
                self.find_good(opts.key_field, sku)?
            };
            let row = match row {
                Some(r) => r,
                None => {
                    unknown.push(if sku.is_empty() {
                        line.name.clone()
                    } else {
                        sku.to_string()
                    });
                    self.good_row(SERVICE_ID)?
                }
            };
            lines.push(self.resolve(&row, line.qty, line.unit_price, &vat));
        }
        if !unknown.is_empty() && opts.invalid_goods == InvalidGoods::SkipOrder {
            return Err(WarehouseError::UnknownSkus(unknown));
        }
        if let Some(ship) = &doc.shipping {
            let row = self.shipping_good(opts)?;
            lines.push(self.resolve(&row, 1, ship.price, &vat));
        }
        Ok((lines, unknown))
    }

    /// Books a sale's side effects: stock out for inventory lines (checked against negative
    /// availability when the database forbids it), the amount due and payment, and the cash
    /// book income when paid in cash.
    fn book_sale(
        &self,
        doc: &NewDocument,
        opts: &WriteOptions,
        header: &DocHeader<'_>,
        lines: &[ResolvedLine],
        total: Money,
        now_text: &str,
    ) -> Result<(), WarehouseError> {
        let d = self.dialect();
        // 7. Stock.
        for l in lines.iter().filter(|l| l.inventory) {
            self.change_stock(doc.object_id, l, -1)?;
        }
        // When the database forbids negative availability, the sale must fit the
        // stock (SCHEMA.md §2 "Store update on save").
        if self.config_flag(guess::CONFIG_ALLOW_NEGATIVE_STOCK)? == Some(false) {
            self.check_stock_not_negative(doc, lines)?;
        }
        // 8. Payments: the amount due, and the payment when paid.
        self.insert_payments(header, total, 1, doc.payment)?;
        let total_text = total.to_string();
        if doc.payment.paid && doc.payment.method == PaymentMethod::Cash {
            let desc = format!(
                "Продажба № {:010}, {}",
                header.acct,
                doc.partner.name.trim()
            );
            let desc: String = desc.chars().take(255).collect();
            self.exec(
                &format!(
                    "INSERT INTO {} ({}, {}, OperType, {}, Profit, UserID, UserRealtime, \
                     ObjectID) VALUES (?,?,?,1,?,?,?,?)",
                    self.t(Table::CashBook),
                    d.quote("Date"),
                    d.quote("Desc"),
                    d.quote("Sign")
                ),
                &[
                    text(now_text),
                    text(desc),
                    Param::Int(CASHBOOK_SALE_INCOME),
                    text(total_text.as_str()),
                    Param::Int(opts.user_id),
                    text(now_text),
                    Param::Int(doc.object_id),
                ],
            )?;
        }
        Ok(())
    }

    /// Takes SQLite's write lock first, so concurrent writers queue on the busy timeout
    /// instead of failing when a read lock would be upgraded (other servers lock rows).
    pub(super) fn lock_for_writing(&self) -> Result<(), WarehouseError> {
        if self.dialect() == Dialect::Sqlite {
            self.exec(
                &format!(
                    "UPDATE {} SET NextAcct = NextAcct WHERE 1 = 0",
                    self.t(Table::NextAcct)
                ),
                &[],
            )?;
        }
        Ok(())
    }

    /// VAT group id → rate in basis points.
    pub(super) fn vat_rates(&self) -> Result<HashMap<i64, u32>, WarehouseError> {
        Ok(self
            .query(
                &format!("SELECT ID, VATValue FROM {}", self.t(Table::VatGroups)),
                &[],
            )?
            .into_iter()
            .filter_map(|r| {
                Some((
                    int_of(r[0].as_deref()?)?,
                    r[1].as_deref().and_then(parse_rate_bp)?,
                ))
            })
            .collect())
    }

    /// The row (ID, TaxGroup, PriceIn, Type) of good `id` (the service good for unknown
    /// SKUs).
    pub(super) fn good_row(&self, id: i64) -> Result<Vec<Option<String>>, WarehouseError> {
        self.query(
            &format!(
                "SELECT ID, TaxGroup, PriceIn, Type FROM {} WHERE ID = ?",
                self.t(Table::Goods)
            ),
            &[Param::Int(id)],
        )?
        .into_iter()
        .next()
        .ok_or_else(|| WarehouseError::NotWarehouse(format!("good {id} missing")))
    }

    /// Inserts one `Operations` row per line under `h`; the document total (VAT
    /// included).
    pub(super) fn insert_lines(
        &self,
        h: &DocHeader<'_>,
        lines: &[ResolvedLine],
        prices_include_vat: bool,
    ) -> Result<Money, WarehouseError> {
        let insert = operation_insert_sql(self.dialect());
        let mut total = Money::ZERO;
        for l in lines {
            total += l.gross.times(l.qty);
            let (price_out, vat_out) = if prices_include_vat {
                let m = Micro::of(l.gross);
                (m, m.vat_included(l.rate_bp))
            } else {
                let m = Micro::of(l.gross.without_vat(l.rate_bp));
                (m, m.vat_on_top(l.rate_bp))
            };
            let vat_in = if prices_include_vat {
                l.price_in.vat_included(l.rate_bp)
            } else {
                l.price_in.vat_on_top(l.rate_bp)
            };
            self.exec(
                &insert,
                &[
                    Param::Int(h.oper_type),
                    Param::Int(h.acct),
                    Param::Int(l.good_id),
                    Param::Int(h.partner_id),
                    Param::Int(h.object_id),
                    Param::Int(h.user_id),
                    text(l.qty.to_string()),
                    Param::Int(h.sign),
                    text(l.price_in.to_string()),
                    text(price_out.to_string()),
                    text(vat_in.to_string()),
                    text(vat_out.to_string()),
                    text(h.today),
                    text(h.note),
                    Param::Int(h.user_id),
                    text(h.now),
                ],
            )?;
        }
        Ok(total)
    }

    /// The payment rows of the document `h` (SCHEMA.md §2 "Payments"): the amount due
    /// and, when paid, the payment, with `sign` (+1 for a sale, -1 for a refund).
    pub(super) fn insert_payments(
        &self,
        h: &DocHeader<'_>,
        total: Money,
        sign: i64,
        payment: PaymentInfo,
    ) -> Result<(), WarehouseError> {
        let d = self.dialect();
        let total_text = total.to_string();
        let pay_sql = format!(
            "INSERT INTO {} (Acct, OperType, PartnerID, ObjectID, Qtty, Mode, {}, {}, UserID, \
             UserRealTime, {}, TransactionNumber, EndDate) VALUES (?,?,?,?,?,?,?,?,?,?,?,' ',?)",
            self.t(Table::Payments),
            d.quote("Sign"),
            d.quote("Date"),
            d.quote("Type")
        );
        let modes: &[i64] = if payment.paid { &[-1, 1] } else { &[-1] };
        for mode in modes {
            self.exec(
                &pay_sql,
                &[
                    Param::Int(h.acct),
                    Param::Int(h.oper_type),
                    Param::Int(h.partner_id),
                    Param::Int(h.object_id),
                    text(total_text.as_str()),
                    Param::Int(*mode),
                    Param::Int(sign),
                    text(h.today),
                    Param::Int(h.user_id),
                    text(h.now),
                    // The due row carries the default type 1, the paid row the real
                    // method (example_write_sale.sql).
                    Param::Int(if *mode == -1 {
                        1
                    } else {
                        payment.method.type_id()
                    }),
                    text(h.today),
                ],
            )?;
        }
        Ok(())
    }

    pub(super) fn resolve(
        &self,
        row: &[Option<String>],
        qty: i64,
        gross: Money,
        vat: &HashMap<i64, u32>,
    ) -> ResolvedLine {
        let good_id = row[0].as_deref().and_then(int_of).unwrap_or(SERVICE_ID);
        let rate_bp = row[1]
            .as_deref()
            .and_then(int_of)
            .and_then(|g| vat.get(&g).copied())
            .unwrap_or(0);
        let price_in = row[2]
            .as_deref()
            .and_then(|t| Micro::parse_stored(t).ok())
            .unwrap_or_default();
        let kind = row[3].as_deref().and_then(int_of).unwrap_or(0);
        ResolvedLine {
            good_id,
            qty,
            gross,
            rate_bp,
            price_in,
            inventory: good_id > SERVICE_ID && kind & GOODS_TYPE_NON_INVENTORY == 0,
        }
    }

    /// The live good whose key field holds `sku` (row: ID, TaxGroup, PriceIn, Type):
    /// exact match first (indexed), then ignoring spaces around and letter case, then — for
    /// `BarCode3` — the first entry of a comma-separated list.
    pub(super) fn find_good(
        &self,
        key: KeyField,
        sku: &str,
    ) -> Result<Option<Vec<Option<String>>>, WarehouseError> {
        let col = key.column();
        let select = |condition: &str, param: String| {
            self.query(
                &format!(
                    "SELECT ID, TaxGroup, PriceIn, Type, {col} FROM {} WHERE {condition} \
                     AND Deleted = 0 AND ID > 1 AND GroupID >= 0 ORDER BY ID",
                    self.t(Table::Goods)
                ),
                &[text(param)],
            )
        };
        // Exact case first; otherwise the same SKU in another case (the export treats SKUs
        // case-insensitively, as WooCommerce does).
        let matches = |rows: Vec<Vec<Option<String>>>| {
            let of = |r: &Vec<Option<String>>| super::read::sku_of(key, &clean(&r[4]));
            let lower = sku.to_lowercase();
            let pos = rows
                .iter()
                .position(|r| of(r) == sku)
                .or_else(|| rows.iter().position(|r| of(r).to_lowercase() == lower));
            pos.map(|p| rows.into_iter().nth(p).unwrap_or_default())
        };
        if let Some(r) = matches(select(&format!("{col} = ?"), sku.to_string())?) {
            return Ok(Some(r));
        }
        let folded = self.dialect().lower(&format!("LTRIM(RTRIM({col}))"));
        if let Some(r) = matches(select(&format!("{folded} = ?"), sku.to_lowercase())?) {
            return Ok(Some(r));
        }
        if key == KeyField::BarCode3 {
            let like = format!("%{sku},%");
            if let Some(r) = matches(select(&format!("{col} LIKE ?"), like)?) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// The shipping good's row (ID, TaxGroup, PriceIn, Type), created when missing.
    pub(super) fn shipping_good(
        &self,
        opts: &WriteOptions,
    ) -> Result<Vec<Option<String>>, WarehouseError> {
        let d = self.dialect();
        let cols = "ID, TaxGroup, PriceIn, Type";
        let find = d.locking_select(cols, Table::Goods, "Code = ? AND Deleted = 0");
        let code = opts.shipping_code.trim();
        if let Some(r) = self.query(&find, &[text(code)])?.into_iter().next() {
            return Ok(r);
        }
        self.exec(
            &format!(
                "INSERT INTO {} (Code, BarCode1, BarCode2, BarCode3, Catalog1, Catalog2, Catalog3, \
                 Name, Name2, Measure1, Measure2, Ratio, PriceIn, PriceOut1, PriceOut2, PriceOut3, \
                 PriceOut4, PriceOut5, PriceOut6, PriceOut7, PriceOut8, PriceOut9, PriceOut10, \
                 MinQtty, NormalQtty, Description, {}, IsRecipe, TaxGroup, IsVeryUsed, GroupID, \
                 Deleted) VALUES (?,' ',' ',' ',' ',' ',' ',?,?,'бр.','бр.',1,0,0,0,0,0,0,0,0,0,0,0,\
                 0,0,' ',?,0,1,0,-1,0)",
                self.t(Table::Goods),
                d.quote("Type")
            ),
            &[
                text(code),
                text(blank(&opts.shipping_name)),
                text(blank(&opts.shipping_name)),
                Param::Int(GOODS_TYPE_NON_INVENTORY),
            ],
        )?;
        let id = self.last_insert_id()?;
        tracing::info!(id, code, "created the shipping good");
        Ok(vec![
            Some(id.to_string()),
            Some("1".into()),
            Some("0".into()),
            Some(GOODS_TYPE_NON_INVENTORY.to_string()),
        ])
    }

    /// Finds the partner by e-mail, else phone, else VAT number; creates one when none.
    pub(super) fn find_or_create_partner(
        &self,
        p: &PartnerData,
        user_id: i64,
        now_text: &str,
    ) -> Result<i64, WarehouseError> {
        if let Some(id) = p.known_id {
            let sql = self.dialect().locking_select(
                "ID",
                Table::Partners,
                "ID = ? AND Deleted = 0 AND ID > 1",
            );
            if let Some(id) = self.query_i64(&sql, &[Param::Int(id)])? {
                return Ok(id);
            }
        }
        // A company by its VAT number and name; a person by e-mail and name. A phone
        // number never identifies anyone, and neither does an e-mail or a VAT number on
        // its own (a guest typing a company's e-mail is not that company).
        let name = p.name.trim();
        let key = if !p.vat_number.trim().is_empty() {
            Some(("TaxNo", p.vat_number.trim()))
        } else if !p.email.trim().is_empty() {
            Some(("eMail", p.email.trim()))
        } else {
            None
        };
        if let Some((column, value)) = key.filter(|_| !name.is_empty()) {
            // A locking read: two writers importing the same new customer at once must
            // not both create the partner (the second waits, then finds the first's row).
            let sql = self.dialect().locking_select(
                "ID",
                Table::Partners,
                &format!("{column} = ? AND Company = ? AND Deleted = 0 AND ID > 1 ORDER BY ID"),
            );
            if let Some(id) = self.query_i64(&sql, &[text(value), text(name)])? {
                return Ok(id);
            }
        }
        let name = blank(&p.name);
        let contact = if p.contact.trim().is_empty() {
            name.clone()
        } else {
            blank(&p.contact)
        };
        let sql = format!(
            "INSERT INTO {} (Code, Company, Company2, MOL, MOL2, City, City2, Address, Address2, \
             Phone, Phone2, Fax, eMail, TaxNo, Bulstat, BankName, BankCode, BankAcct, BankVATName, \
             BankVATCode, BankVATAcct, PriceGroup, Discount, {}, IsVeryUsed, UserID, GroupID, \
             UserRealTime, Deleted, CardNumber, Note1, Note2, PaymentDays) \
             VALUES (' ',?,?,?,?,?,?,?,?,?,?,' ',?,?,?,' ',' ',' ',' ',' ',' ',1,0,?,0,?,1,?,0,' ',' ',' ',0)",
            self.t(Table::Partners),
            self.q("Type")
        );
        self.exec(
            &sql,
            &[
                text(name.as_str()),
                text(name.as_str()),
                text(contact.as_str()),
                text(contact.as_str()),
                text(blank(&p.city)),
                text(blank(&p.city)),
                text(blank(&p.address)),
                text(blank(&p.address)),
                text(blank(&p.phone)),
                text(blank(&p.phone)),
                text(blank(&p.email)),
                text(blank(&p.vat_number)),
                text(blank(&p.eik)),
                Param::Int(guess::NEW_PARTNER_TYPE),
                Param::Int(user_id),
                text(now_text),
            ],
        )?;
        self.last_insert_id()
    }

    /// Reserves the next document number in `NextAcct` (retrying on taken keys).
    pub(super) fn reserve_number(
        &self,
        oper_type: i64,
        object_id: i64,
        per_object: bool,
    ) -> Result<i64, WarehouseError> {
        let params = if per_object {
            vec![Param::Int(object_id)]
        } else {
            vec![]
        };
        let max = self.query_i64(
            &next_acct_sql(self.dialect(), oper_type, per_object),
            &params,
        )?;
        let mut n = max.unwrap_or(0).max(0) + 1;
        let insert = format!(
            "INSERT INTO {} (NextAcct) VALUES (?)",
            self.t(Table::NextAcct)
        );
        for _ in 0..NUMBERING_ATTEMPTS {
            let key = guess::nextacct_key(nextacct_prefix(oper_type), object_id, per_object, n);
            match self.exec(&insert, &[text(key)]) {
                Ok(()) => return Ok(n),
                Err(e) if is_duplicate_key(&e) => n += 1,
                Err(e) => return Err(e),
            }
        }
        Err(WarehouseError::NumberingExhausted(NUMBERING_ATTEMPTS))
    }

    /// Fails with `InsufficientStock` when a sold good's stock in the object went below 0.
    fn check_stock_not_negative(
        &self,
        doc: &NewDocument,
        lines: &[ResolvedLine],
    ) -> Result<(), WarehouseError> {
        let sql = format!(
            "SELECT SUM(Qtty) FROM {} WHERE ObjectID = ? AND GoodID = ?",
            self.t(Table::Store)
        );
        let mut short = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, l) in lines.iter().enumerate() {
            if !l.inventory || !seen.insert(l.good_id) {
                continue;
            }
            let left = self
                .query(&sql, &[Param::Int(doc.object_id), Param::Int(l.good_id)])?
                .first()
                .and_then(|r| r[0].as_deref().and_then(Qty::parse))
                .unwrap_or_default();
            if left.0 < 0 {
                let sku = doc.lines.get(i).map(|d| d.sku.trim().to_string());
                short.push(sku.unwrap_or_else(|| l.good_id.to_string()));
            }
        }
        if short.is_empty() {
            Ok(())
        } else {
            Err(WarehouseError::InsufficientStock(short))
        }
    }

    /// Moves `sign` × the line's quantity into the object's stock row (-1 takes a sold
    /// quantity off, +1 puts a returned one back; creates the row when the good has none
    /// there).
    pub(super) fn change_stock(
        &self,
        object_id: i64,
        l: &ResolvedLine,
        sign: i64,
    ) -> Result<(), WarehouseError> {
        let store = self.t(Table::Store);
        let find = self.dialect().select_first(
            1,
            "ID",
            &format!("FROM {store} WHERE ObjectID = ? AND GoodID = ? ORDER BY ID"),
        );
        let row_id = self.query_i64(&find, &[Param::Int(object_id), Param::Int(l.good_id)])?;
        match row_id {
            Some(id) => self.exec(
                &format!("UPDATE {store} SET Qtty = Qtty + ? WHERE ID = ?"),
                &[text((sign * l.qty).to_string()), Param::Int(id)],
            ),
            None => self.exec(
                &format!(
                    "INSERT INTO {store} (ObjectID, GoodID, Qtty, Price, Lot, LotID, LotOrder) \
                     VALUES (?,?,?,?,' ',1,1)"
                ),
                &[
                    Param::Int(object_id),
                    Param::Int(l.good_id),
                    text((sign * l.qty).to_string()),
                    text(l.price_in.to_string()),
                ],
            ),
        }
    }

    /// Records the fiscal receipt number printed for document (`oper_type`, `acct`) with
    /// this УНП (SUPTO mode, after the e-Shop Connector printed it). False when no УНП
    /// record matches.
    pub fn record_receipt_number(
        &self,
        oper_type: i64,
        acct: i64,
        unp: &str,
        receipt_no: i64,
    ) -> Result<bool, WarehouseError> {
        let now = self.dialect().datetime_param(Local::now().naive_local());
        let (sql, params) =
            guess::receipt_number_update(self.dialect(), oper_type, acct, unp, receipt_no, &now);
        self.exec(&sql, &params)?;
        let check = format!(
            "SELECT COUNT(*) FROM {} WHERE OperType = ? AND Acct = ? AND Description = ? \
             AND ReceiptID = ?",
            self.t(Table::EcrReceipts)
        );
        Ok(self
            .query_i64(
                &check,
                &[
                    Param::Int(oper_type),
                    Param::Int(acct),
                    text(unp),
                    Param::Int(receipt_no),
                ],
            )?
            .unwrap_or(0)
            > 0)
    }

    /// The document (OperType, Acct) holding this shop order number, if any.
    pub fn find_document_by_note(
        &self,
        order_number: &str,
    ) -> Result<Option<(i64, i64)>, WarehouseError> {
        self.document_with_note(order_number, &format!("{OPER_SALE},{OPER_ORDER}"))
    }

    /// The first real document (OperType, Acct) of the types listed in `oper_types`
    /// (comma-separated codes) whose `Note` is `note`.
    pub(super) fn document_with_note(
        &self,
        note: &str,
        oper_types: &str,
    ) -> Result<Option<(i64, i64)>, WarehouseError> {
        let sql = format!(
            "SELECT OperType, Acct FROM {} WHERE Note = ? AND OperType IN ({oper_types}) \
             AND PartnerID <> 0 AND Acct > 0",
            self.t(Table::Operations)
        );
        Ok(self
            .query(&sql, &[text(note)])?
            .into_iter()
            .next()
            .and_then(|r| Some((int_of(r[0].as_deref()?)?, int_of(r[1].as_deref()?)?))))
    }
}

fn validate(doc: &NewDocument) -> Result<(), WarehouseError> {
    if doc.lines.is_empty() {
        return Err(WarehouseError::EmptyDocument);
    }
    let note = doc.order_number.trim();
    if note.is_empty() || note.chars().count() > 255 {
        return Err(WarehouseError::InvalidDocument(
            "order number empty or longer than 255 characters".into(),
        ));
    }
    for l in &doc.lines {
        if l.qty <= 0 || l.unit_price < Money::ZERO {
            return Err(WarehouseError::InvalidDocument(format!(
                "line '{}': quantity {} price {}",
                clean(&Some(l.sku.clone())),
                l.qty,
                l.unit_price
            )));
        }
    }
    if doc.shipping.as_ref().is_some_and(|s| s.price < Money::ZERO) {
        return Err(WarehouseError::InvalidDocument(
            "negative shipping price".into(),
        ));
    }
    Ok(())
}

fn backoff(attempt: u32) -> std::time::Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 40)
        .unwrap_or(0) as u64;
    std::time::Duration::from_millis(10 + 15 * attempt.min(10) as u64 + jitter)
}

/// The date written for a document (today, time 00:00), for callers that compare.
pub fn document_date(now: NaiveDateTime) -> NaiveDateTime {
    now.date().and_hms_opt(0, 0, 0).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mssql_write_sql() {
        assert_eq!(
            next_acct_sql(Dialect::MsSql, OPER_SALE, true),
            "SELECT MAX(Acct) FROM [Operations] WHERE OperType IN (2,16) AND ObjectID = ?"
        );
        assert_eq!(
            next_acct_sql(Dialect::MsSql, OPER_ORDER, false),
            "SELECT MAX(Acct) FROM [Operations] WHERE OperType IN (19)"
        );
        let sql = operation_insert_sql(Dialect::MsSql);
        assert!(sql.starts_with("INSERT INTO [Operations] (OperType, Acct,"));
        assert!(sql.contains("CurrencyRate, [Date], Lot"));
        assert_eq!(sql.matches('?').count(), 16);
    }

    #[test]
    fn emoji_replaced() {
        assert_eq!(
            replace_4byte("Иван 😀!"),
            ("Иван \u{FFFD}!".to_string(), true)
        );
        assert_eq!(
            replace_4byte("Чай „Зелен“"),
            ("Чай „Зелен“".to_string(), false)
        );
    }

    #[test]
    fn prefixes() {
        assert_eq!(nextacct_prefix(OPER_SALE), "S");
        assert_eq!(nextacct_prefix(OPER_ORDER), "OR");
        assert_eq!(nextacct_prefix(OPER_RETURN), "Rf");
        assert_eq!(numbering_types(OPER_RETURN), "34");
    }
}
