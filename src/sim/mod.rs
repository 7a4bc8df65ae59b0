//! Local simulators used by the demo and the tests: a WooCommerce-compatible shop and a
//! fiscal-device emulator.

pub mod fiscal;
pub mod shop;
