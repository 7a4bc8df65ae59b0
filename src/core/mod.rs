//! Pure logic with no I/O: mapping, planning, rounding, versions, УНП.

pub mod currency;
pub mod export;
pub mod import;
pub mod money;
pub mod receipt;
pub mod refund;
pub mod schedule;
pub mod unp;
pub mod version;
pub mod window;
