//! Background workers: one per running server, interval scheduling, a command channel in
//! and an event channel out.

pub mod export;
pub mod history;
pub mod progress;
