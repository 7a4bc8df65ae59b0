//! Bulgarian fiscal devices over a serial port: the `FiscalDevice` trait, one module per
//! protocol family, the serial transport.
