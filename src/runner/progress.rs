//! Progress reports of a running job.

use serde::{Deserialize, Serialize};

/// The step a run is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading goods from the warehouse database.
    ReadingWarehouse,
    /// Reading products, categories or orders from the shop.
    ReadingShop,
    /// Creating or updating product categories.
    Categories,
    /// Creating or updating products.
    Products,
    /// Importing orders.
    Orders,
    /// Printing fiscal receipts.
    Receipts,
}

impl Stage {
    /// Locale key of the stage's progress text (`%{done}` / `%{total}`).
    pub fn label_key(self) -> &'static str {
        match self {
            Stage::ReadingWarehouse => "progress.reading_warehouse",
            Stage::ReadingShop => "progress.reading_shop",
            Stage::Categories => "progress.categories",
            Stage::Products => "progress.products",
            Stage::Orders => "progress.orders",
            Stage::Receipts => "progress.receipts",
        }
    }
}

/// Where a run stands: `done` of `total` items in `stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The step.
    pub stage: Stage,
    /// Items done in this step.
    pub done: u64,
    /// Items in this step (0 when not known yet).
    pub total: u64,
}

/// Receives progress reports; must not block.
pub type ProgressSink = dyn Fn(Progress) + Send + Sync;

pub use crate::i18n::group_thousands;

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::group_thousands(1200), "1\u{a0}200");
        assert_eq!(super::group_thousands(10000), "10\u{a0}000");
        assert_eq!(super::group_thousands(999), "999");
        assert_eq!(super::group_thousands(1234567), "1\u{a0}234\u{a0}567");
    }
}
