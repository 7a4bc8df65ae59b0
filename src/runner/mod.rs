//! Background workers: one per running server, interval scheduling, a command channel in
//! and an event channel out; the runner is the only owner of the ledger and does the
//! window's slow work (database checks, shop statuses, file dialogs) on its runtime.

pub mod currency;
pub mod eshop;
pub mod export;
pub mod history;
pub mod import;
pub mod jobs;
pub mod progress;
pub mod site;
pub mod warehouse_thread;
pub mod window;
pub mod worker;

pub use worker::{Command, Event, Runner, RunnerContext, RunnerError, StopFlag, WorkerState};
