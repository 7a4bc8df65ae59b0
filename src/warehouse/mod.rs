//! Microinvest Warehouse Pro database over ODBC: dialects, reading goods and stock,
//! writing documents in one transaction.
//!
//! Entry point: [`Warehouse`] (connect, [`Warehouse::info`], [`Warehouse::read_goods`],
//! [`Warehouse::write_document`]). Facts the reference marks GUESS live in [`guess`];
//! every SQL difference between servers lives in [`dialect`].
//!
//! Connection strings (ODBC):
//! - MySQL/MariaDB: `Driver={MariaDB Unicode};Server=HOST;Port=3306;Database=DB;User=U;Password=P;CHARSET=utf8mb4`
//! - MS SQL Server, FreeTDS (Linux): `Driver={FreeTDS};Server=HOST;Port=1433;Database=Microinvest;UID=sa;PWD=P;TDS_Version=7.4;ClientCharset=UTF-8`
//! - MS SQL Server, Microsoft driver: `Driver={ODBC Driver 18 for SQL Server};Server=HOST,1433;Database=Microinvest;UID=sa;PWD=P;TrustServerCertificate=yes`
//! - Access (Windows): `Driver={Microsoft Access Driver (*.mdb, *.accdb)};DBQ=C:\ProgramData\Microinvest\Warehouse Pro\Microinvest.mdb`
//! - SQLite (demo, tests): `Driver={SQLite3};Database=PATH;Timeout=30000`
//!
//! Rules kept everywhere: rows with ID 1 are service rows and are skipped; `' '` is empty
//! text; `-1` is true; deleted goods (`Deleted = -1`) are never exported; documents are
//! read with `PartnerID <> 0 AND Acct > 0`.
//!
//! Decisions (see `guess` for the unconfirmed facts behind them):
//! - Goods status: All = every live good; In use = live and with stock ≠ 0 in some object
//!   or on some document; Used often = `IsVeryUsed <> 0`.
//! - SKUs are compared case-insensitively for duplicates (as WooCommerce does); `BarCode3`
//!   lists give their first entry.
//! - Stock counts live objects only (all of them when no object group is chosen); open
//!   Orders (OperType 19) in the same objects are subtracted on request.
//! - The shipping good (`Code` `SHIPPING` by default) is created as a non-inventory good
//!   (`Type` 8) in the service group (`GroupID` -1), so it keeps no stock and is never
//!   exported.
//! - Orders write no payments and do not touch stock; Sales write the due row (payment
//!   type 1, as `example_write_sale.sql`) and, when paid, the paid row with the real type;
//!   cash that is paid also goes to the cash book.
//! - A Sale that would take stock below zero is refused only when the database forbids
//!   negative availability.
//! - Refunds are return documents (OperType 34, `Rf` numbering) that put the goods back
//!   into the sale's object, for the sale's partner (see [`returns`]).
//! - Lock conflicts (deadlocks, busy SQLite) retry the whole transaction.

pub mod db;
pub mod demo;
pub mod dialect;
pub mod error;
pub mod guess;
pub mod probe;
pub mod read;
pub mod returns;
pub mod script;
pub mod write;

pub use crate::core::money::Qty;
pub use db::{DataSource, OdbcCatalog, Param, Warehouse, WarehouseInfo, check, list_odbc};
pub use demo::{
    DemoSpec, DemoSummary, create_demo_db, create_demo_db_with, load_schema, populate_demo,
};
pub use dialect::{Dialect, Table};
pub use error::WarehouseError;
pub use guess::UnpRecord;
pub use read::{
    Good, GoodsGroupNode, GoodsQuery, GoodsSnapshot, InvalidGood, ObjectGroup, SkuProblem,
    VatGroup, WarehouseObject,
};
pub use write::{
    DocLine, NewDocument, PartnerData, PaymentInfo, PaymentMethod, ShippingLine, WriteOptions,
    WriteOutcome,
};
