//! SkladLink: links a Microinvest Warehouse Pro database with a WooCommerce shop and a
//! Bulgarian fiscal device. The UI only draws and sends commands; workers do the work;
//! `core` decides; adapters (`woo`, `warehouse`, `fiscal`) talk to the outside.

rust_i18n::i18n!("locales", fallback = "en");

/// The memory allocator of every program linking SkladLink (the window, the command line,
/// tests and benches alike): a run holds tens of thousands of small strings per catalogue
/// (goods, product states, plans) and glibc's allocator spent most of an unchanged run of
/// 50 000 goods merging freed chunks (`malloc_consolidate`); mimalloc frees them in place.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
