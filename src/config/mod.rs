//! Server definitions (Export, Import, e-Shop Connector), the database connection, the
//! Servers list and the UI language; validation; JSON load/save. Never secrets.

mod model;
mod store;
mod validate;
mod workspace;

pub use model::*;
pub use store::*;
pub use validate::*;
pub use workspace::*;
