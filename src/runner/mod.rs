//! Background workers: one per running server, interval scheduling, a command channel in
//! and an event channel out.

pub mod export;
pub mod history;
pub mod jobs;
pub mod print_queue;
pub mod progress;
pub mod worker;

pub use worker::{Command, Event, Runner, RunnerContext, StopFlag, WorkerState};
