//! Pure logic with no I/O: mapping, planning, rounding, versions, УНП.

pub mod unp;
pub mod version;
