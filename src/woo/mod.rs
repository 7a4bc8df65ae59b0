//! WooCommerce REST API v3 client: auth, paging, batches, retries, typed errors.

pub mod auth;
