//! WooCommerce REST API v3 client: auth, paging, batches, retries, typed errors.

mod answer;
pub mod auth;
pub mod client;
pub mod error;
pub mod types;

pub use client::{
    ClientOptions, OrderFilter, ProductFilter, Repeat, RetryPolicy, WooClient, check_connection,
};
pub use error::WooError;
pub use types::*;
