//! One e-Shop Connector's link to its fiscal device: the detected device, its УНП sequence
//! and print journal (files in a state folder), the operator and the tax-group mapping.

use std::path::Path;

use super::receipt::{
    PrintOptions, Receipt, StornoReceipt, TaxGroupMap, print_receipt, print_storno,
};
use super::store::{PrintJournal, PrintedReceipt, UnpSequence};
use super::transport::Timing;
use super::{DeviceInfo, FiscalDevice, FiscalError};
use crate::config::EShopSettings;
use crate::core::unp::Unp;
use crate::secrets::Secret;

/// A connected fiscal device with its persistent УНП sequence and print journal.
pub struct FiscalSession {
    device: Box<dyn FiscalDevice>,
    info: DeviceInfo,
    baud_rate: u32,
    operator: String,
    password: Secret,
    options: PrintOptions,
    sequence: UnpSequence,
    journal: PrintJournal,
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
    /// the configured fiscal number and opens the state files kept in `state_dir`.
    pub fn connect(
        settings: &EShopSettings,
        password: Secret,
        state_dir: &Path,
        tax_groups: TaxGroupMap,
        timing: Timing,
    ) -> Result<Self, FiscalError> {
        let (device, baud_rate, info) = super::detect_checked_device(settings, timing)?;
        let sequence = UnpSequence::open(state_dir, &info.serial)?;
        let journal = PrintJournal::open(state_dir, &info.serial)?;
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
            sequence,
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

    /// Allocates the next УНП of this device for this operator (persisted before returning).
    pub fn next_unp(&mut self) -> Result<Unp, FiscalError> {
        self.sequence.next(&self.operator)
    }

    /// Prints `receipt` exactly once (see [`print_receipt`]).
    pub fn print(&mut self, receipt: &Receipt) -> Result<PrintedReceipt, FiscalError> {
        print_receipt(
            self.device.as_mut(),
            receipt,
            &self.password,
            &self.options,
            &mut self.journal,
        )
    }

    /// Prints a storno of an earlier sale exactly once (see [`print_storno`]).
    pub fn print_storno(&mut self, storno: &StornoReceipt) -> Result<PrintedReceipt, FiscalError> {
        print_storno(
            self.device.as_mut(),
            storno,
            &self.password,
            &self.options,
            &mut self.journal,
        )
    }

    /// The receipts this device printed, from the journal.
    pub fn printed(&self) -> Vec<PrintedReceipt> {
        self.journal.printed().into_iter().cloned().collect()
    }

    /// The device itself, for status and other direct commands.
    pub fn device(&mut self) -> &mut dyn FiscalDevice {
        self.device.as_mut()
    }
}
