//! SkladLink: links a Microinvest Warehouse Pro database with a WooCommerce shop and a
//! Bulgarian fiscal device. The UI only draws and sends commands; workers do the work;
//! `core` decides; adapters (`woo`, `warehouse`, `fiscal`) talk to the outside.

rust_i18n::i18n!("locales", fallback = "en");

pub mod cli;
pub mod config;
pub mod core;
pub mod demo;
pub mod fiscal;
pub mod headless;
pub mod i18n;
pub mod ledger;
pub mod logging;
pub mod private;
pub mod runner;
pub mod secrets;
pub mod sim;
pub mod ui;
pub mod warehouse;
pub mod woo;
