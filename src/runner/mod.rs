//! Background workers: one per running server, interval scheduling, a command channel in
//! and an event channel out.
pub mod history;
