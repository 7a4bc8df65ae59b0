//! Microinvest Warehouse Pro database over ODBC: dialects, reading goods and stock,
//! writing documents in one transaction.
//!
//! Entry point: [`Warehouse`] (connect, [`Warehouse::info`], [`Warehouse::read_goods`],
//! [`Warehouse::write_document`]). Facts the reference marks GUESS live in [`guess`].

pub mod db;
pub mod demo;
pub mod dialect;
pub mod error;
pub mod guess;
pub mod money;
pub mod probe;
pub mod read;
pub mod script;
pub mod write;

pub use db::{DataSource, OdbcCatalog, Param, Warehouse, WarehouseInfo, check, list_odbc};
pub use demo::{
    DemoSpec, DemoSummary, create_demo_db, create_demo_db_with, load_schema, populate_demo,
};
pub use dialect::{Dialect, Table};
pub use error::WarehouseError;
pub use guess::UnpRecord;
pub use money::{Qty, Stotinki};
pub use read::{
    Good, GoodsGroupNode, GoodsQuery, GoodsSnapshot, InvalidGood, ObjectGroup, SkuProblem,
    VatGroup, WarehouseObject,
};
pub use write::{
    DocLine, NewDocument, PartnerData, PaymentInfo, PaymentMethod, ShippingLine, WriteOptions,
    WriteOutcome,
};
