//! Microinvest Warehouse Pro database over ODBC: dialects, reading goods and stock,
//! writing documents in one transaction.

pub mod probe;
