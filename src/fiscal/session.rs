//! One e-Shop Connector's link to its fiscal device: the detected device, its print
//! journal (kept in the ledger), the operator and the tax-group mapping.

use super::receipt::{
    PrintOptions, Receipt, StornoReceipt, TaxGroupMap, print_receipt, print_storno,
};
use super::store::{Journal, PrintedReceipt};
use super::transport::Timing;
use super::{DeviceInfo, FiscalDevice, FiscalError};
use crate::config::EShopSettings;
use crate::secrets::Secret;

/// A connected fiscal device with its persistent print journal.
pub struct FiscalSession {
    device: Box<dyn FiscalDevice>,
    info: DeviceInfo,
    baud_rate: u32,
    operator: String,
    password: Secret,
    options: PrintOptions,
    journal: Box<dyn Journal>,
}

impl std::fmt::Debug for FiscalSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiscalSession")
            .field("info", &self.info)
            .field("baud_rate", &self.baud_rate)
            .finish()
    }
}

impl FiscalSession {
    /// Opens the device of `settings` (detecting the baud rate), checks its serial against
    /// the configured fiscal number and opens its journal with `open_journal(serial)`.
    pub fn connect(
        settings: &EShopSettings,
        password: Secret,
        open_journal: impl FnOnce(&str) -> Box<dyn Journal>,
        tax_groups: TaxGroupMap,
        timing: Timing,
    ) -> Result<Self, FiscalError> {
        let (device, baud_rate, info) = super::detect_checked_device(settings, timing)?;
        let journal = open_journal(&info.serial);
        Ok(Self {
            device,
            options: PrintOptions {
                fiscal_number: info.serial.clone(),
                tax_groups,
            },
            info,
            baud_rate,
            operator: settings.operator_code.trim().to_string(),
            password,
            journal,
        })
    }

    /// The device's identity.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    /// The baud rate that answered.
    pub fn baud_rate(&self) -> u32 {
        self.baud_rate
    }

    /// The configured operator code.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// Prints `receipt` exactly once (see [`print_receipt`]).
    pub fn print(&mut self, receipt: &Receipt) -> Result<PrintedReceipt, FiscalError> {
        print_receipt(
            self.device.as_mut(),
            receipt,
            &self.password,
            &self.options,
            self.journal.as_mut(),
        )
    }

    /// Prints a storno of an earlier sale exactly once (see [`print_storno`]).
    pub fn print_storno(&mut self, storno: &StornoReceipt) -> Result<PrintedReceipt, FiscalError> {
        print_storno(
            self.device.as_mut(),
            storno,
            &self.password,
            &self.options,
            self.journal.as_mut(),
        )
    }

    /// The receipts this device printed, from the journal.
    pub fn printed(&self) -> Result<Vec<PrintedReceipt>, FiscalError> {
        self.journal.printed()
    }

    /// The device itself, for status and other direct commands.
    pub fn device(&mut self) -> &mut dyn FiscalDevice {
        self.device.as_mut()
    }
}
