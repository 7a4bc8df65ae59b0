//! The persisted queue of sales waiting for a fiscal receipt: the Import server (SUPTO
//! mode, document type Sale) adds a job after the document is committed; the e-Shop
//! Connector prints it. One JSON file in the data directory, written atomically.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::money::Money;

/// File name of the queue inside the data directory.
pub const QUEUE_FILE: &str = "print-queue.json";

/// A sale line to print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintLine {
    /// SKU (its VAT group is looked up in the warehouse when printing).
    pub sku: String,
    /// Printed name.
    pub name: String,
    /// Whole units.
    pub qty: i64,
    /// Unit price, VAT included.
    pub unit_price: Money,
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PrintState {
    /// Waiting to be printed.
    Pending,
    /// Printed.
    Printed {
        /// The device's receipt number.
        receipt_number: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Printing failed; Retry puts it back to pending.
    Failed {
        /// The translated error.
        error: String,
    },
    /// No receipt is due for this payment method (e.g. bank transfer).
    NotNeeded,
}

/// One sale waiting for (or done with) its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintJob {
    /// The sale's УНП (assigned when the sale was written).
    pub unp: String,
    /// The shop order key (`WEB#…`).
    pub order_key: String,
    /// The warehouse document number.
    pub acct: i64,
    /// Name of the e-Shop Connector that prints it.
    pub connector: String,
    /// Goods lines.
    pub lines: Vec<PrintLine>,
    /// Shipping, if invoiced.
    pub shipping: Option<Money>,
    /// WooCommerce payment method id.
    pub payment_method: String,
    /// Document total.
    pub total: Money,
    /// When it was queued.
    pub queued: DateTime<Utc>,
    /// State.
    #[serde(flatten)]
    pub state: PrintState,
}

/// The queue file.
#[derive(Debug, Clone)]
pub struct PrintQueue {
    path: PathBuf,
}

impl PrintQueue {
    /// The queue in `data_dir`.
    pub fn in_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(QUEUE_FILE),
        }
    }

    /// Every job, oldest first.
    pub fn load(&self) -> std::io::Result<Vec<PrintJob>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn save(&self, jobs: &[PrintJob]) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(jobs).map_err(std::io::Error::other)?;
        crate::config::write_atomically(&self.path, &json).map_err(std::io::Error::other)
    }

    /// Adds a job unless one with the same УНП or order is already queued.
    pub fn add(&self, job: PrintJob) -> std::io::Result<bool> {
        let mut jobs = self.load()?;
        if jobs
            .iter()
            .any(|j| j.unp == job.unp || j.order_key == job.order_key)
        {
            return Ok(false);
        }
        jobs.push(job);
        self.save(&jobs)?;
        Ok(true)
    }

    /// Changes the state of the job with `unp`.
    pub fn set_state(&self, unp: &str, state: PrintState) -> std::io::Result<()> {
        let mut jobs = self.load()?;
        if let Some(j) = jobs.iter_mut().find(|j| j.unp == unp) {
            j.state = state;
        }
        self.save(&jobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(unp: &str, order: &str) -> PrintJob {
        PrintJob {
            unp: unp.into(),
            order_key: order.into(),
            acct: 7,
            connector: "Каса".into(),
            lines: vec![PrintLine {
                sku: "A".into(),
                name: "Сирене".into(),
                qty: 2,
                unit_price: Money::from_cents(450),
            }],
            shipping: Some(Money::from_cents(599)),
            payment_method: "cod".into(),
            total: Money::from_cents(1499),
            queued: Utc::now(),
            state: PrintState::Pending,
        }
    }

    #[test]
    fn jobs_are_added_once_and_change_state() {
        let dir = tempfile::tempdir().unwrap();
        let q = PrintQueue::in_dir(dir.path());
        assert!(q.add(job("DT279013-0001-0000001", "WEB#1")).unwrap());
        assert!(
            !q.add(job("DT279013-0001-0000001", "WEB#1")).unwrap(),
            "same sale twice"
        );
        assert!(q.add(job("DT279013-0001-0000002", "WEB#2")).unwrap());
        q.set_state(
            "DT279013-0001-0000001",
            PrintState::Failed {
                error: "хартия".into(),
            },
        )
        .unwrap();
        let jobs = PrintQueue::in_dir(dir.path()).load().unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            jobs[0].state,
            PrintState::Failed {
                error: "хартия".into()
            }
        );
        assert_eq!(jobs[1].state, PrintState::Pending);
    }
}
