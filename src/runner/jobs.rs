//! One run of one server: export, import or printing.

use crate::config::{AppConfig, ServerDef};
use crate::runner::history::ItemResult;
use crate::runner::progress::Progress;
use crate::runner::worker::{RunnerContext, StopFlag};

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct JobOutcome {
    /// Per-item results.
    pub items: Vec<ItemResult>,
    /// The error that stopped the run early, translated.
    pub error: Option<String>,
}

/// Runs `server` once.
pub async fn run_server(
    _config: &AppConfig,
    _server: &ServerDef,
    _ctx: &RunnerContext,
    _dry_run: bool,
    _stop: &StopFlag,
    _progress: &(dyn Fn(Progress) + Send + Sync),
) -> JobOutcome {
    JobOutcome {
        items: Vec::new(),
        error: Some("TEMPORARY".into()),
    }
}
