//! Datecs-style protocol families over the shared ISL framing: Datecs X (4-nibble framing,
//! TAB-terminated fields, negative error codes) and the old 1-byte framing of Datecs P,
//! Datecs C, Daisy, Eltrade and Incotex (comma fields, errors in the status bytes), with
//! their command differences (PROTOCOLS.md §1, §2.6, §3.2).

use chrono::NaiveDateTime;

use super::error::{Condition, DeviceFault, FiscalError, decode_conditions};
use super::frame::{Frame, Framing};
use super::receipt::StornoOf;
use super::text::{from_cp1251, to_cp1251};
use super::transport::Transport;
use super::{
    DeviceInfo, DeviceStatus, FiscalDevice, PaymentKind, PaymentOutcome, SaleItem, TransactionState,
};
use crate::config::FiscalProtocol;
use crate::core::money::{Money, Qty, parse_scaled};
use crate::core::unp::Unp;
use crate::secrets::Secret;

/// Framing used by a Datecs-style protocol family; None for Tremol.
pub fn framing_of(protocol: FiscalProtocol) -> Option<Framing> {
    match protocol {
        FiscalProtocol::DatecsX => Some(Framing::X),
        FiscalProtocol::TremolZfp => None,
        _ => Some(Framing::Old),
    }
}

/// Command code that opens a fiscal receipt.
pub fn open_command(protocol: FiscalProtocol) -> u16 {
    if protocol == FiscalProtocol::Eltrade {
        0x90
    } else {
        0x30
    }
}

/// Command code that cancels an open fiscal receipt.
pub fn cancel_command(protocol: FiscalProtocol) -> u16 {
    match protocol {
        FiscalProtocol::Daisy | FiscalProtocol::Incotex => 0x82,
        _ => 0x3C,
    }
}

/// Longest item text the family prints: what its document says (Datecs X 72, Datecs P 34,
/// the shortest of its models' 34–42, Datecs C 22 per line; PROTOCOLS.md §2.6, §4), else 32
/// (what ErpNet.FP cuts to).
pub fn item_text_max(protocol: FiscalProtocol) -> usize {
    match protocol {
        FiscalProtocol::DatecsX => 72,
        FiscalProtocol::DatecsP => 34,
        FiscalProtocol::DatecsC => 22,
        _ => 32,
    }
}

/// Payment-type code sent to the device (X: digit; others: letter).
pub fn payment_code(protocol: FiscalProtocol, kind: PaymentKind) -> &'static str {
    use PaymentKind::*;
    match protocol {
        FiscalProtocol::DatecsX => match kind {
            Cash => "0",
            Card => "1",
            Check => "3",
            Coupon => "5",
            Bank => "4",
        },
        FiscalProtocol::DatecsC => match kind {
            Cash => "P",
            Card => "C",
            Check => "N",
            Coupon => "J",
            Bank => "I",
        },
        FiscalProtocol::Eltrade => match kind {
            Cash => "P",
            Card => "L",
            Check => "N",
            Coupon => "C",
            Bank => "M",
        },
        _ => match kind {
            Cash => "P",
            Card => "D",
            Check => "C",
            Coupon => "m",
            Bank => "r",
        },
    }
}

/// The VAT group letter old-framing devices take: Cyrillic А–З in Windows-1251.
pub fn tax_letter(group: u8) -> u8 {
    0xC0 + group.clamp(1, 8) - 1
}

/// A Datecs-style fiscal device on a serial transport.
#[derive(Debug)]
pub struct IslDevice {
    transport: Transport,
    protocol: FiscalProtocol,
}

impl IslDevice {
    /// Wraps a transport whose framing matches `protocol`.
    pub fn new(transport: Transport, protocol: FiscalProtocol) -> Self {
        Self {
            transport,
            protocol,
        }
    }

    fn is_x(&self) -> bool {
        self.protocol == FiscalProtocol::DatecsX
    }

    /// Runs an X command: fields TAB-terminated; the reply's first field is the error code.
    fn x(&mut self, cmd: u16, fields: &[&str]) -> Result<Vec<String>, FiscalError> {
        let mut data = Vec::new();
        for f in fields {
            data.extend(to_cp1251(f));
            data.push(b'\t');
        }
        let reply = self.transport.command(cmd, &data)?;
        let text = from_cp1251(&reply.data);
        let mut parts: Vec<String> = text.split('\t').map(str::to_string).collect();
        if parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
        if parts.is_empty() {
            // An unknown command or a syntax error may come back with an empty data field
            // and only the status bit set (PROTOCOLS.md §2.1): report what the bits say.
            return Err(match old_failure(&reply.status, false) {
                Some(fault) => FiscalError::Device(fault),
                None => FiscalError::BadReply(format!("empty reply to command {cmd:#04x}")),
            });
        }
        let code: i32 = parts[0]
            .trim()
            .parse()
            .map_err(|_| FiscalError::BadReply(format!("error code {:?}", parts[0])))?;
        if code != 0 {
            return Err(FiscalError::Device(DeviceFault::from_x_code(code)));
        }
        parts.remove(0);
        Ok(parts)
    }

    /// Runs an old-framing command and checks the status bytes for a refusal.
    fn old(&mut self, cmd: u16, data: &[u8]) -> Result<Frame, FiscalError> {
        let reply = self.transport.command(cmd, data)?;
        if let Some(fault) = old_failure(&reply.status, cmd == open_command(self.protocol)) {
            return Err(FiscalError::Device(fault));
        }
        Ok(reply)
    }

    fn old_fields(&mut self, cmd: u16, data: &str) -> Result<Vec<String>, FiscalError> {
        let reply = self.old(cmd, &to_cp1251(data))?;
        Ok(from_cp1251(&reply.data)
            .split(',')
            .map(|s| s.trim().to_string())
            .collect())
    }

    fn field<'a>(fields: &'a [String], i: usize, what: &str) -> Result<&'a str, FiscalError> {
        fields
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| FiscalError::BadReply(format!("missing {what}")))
    }
}

/// The fault an old-framing reply signals, if the command was refused (bits 0.0 syntax,
/// 0.1 invalid command, 1.1 not permitted), most specific cause first.
pub fn old_failure(status: &[u8], opening: bool) -> Option<DeviceFault> {
    let bit = |byte: usize, b: u8| status.get(byte).is_some_and(|v| v & (1 << b) != 0);
    if !(bit(0, 0) || bit(0, 1) || bit(1, 1)) {
        return None;
    }
    let conditions = decode_conditions(status);
    if let Some(f) = conditions.iter().find_map(|c| c.fault()) {
        return Some(f);
    }
    Some(if bit(0, 0) {
        DeviceFault::Syntax
    } else if bit(0, 1) {
        DeviceFault::InvalidCommand
    } else if opening && conditions.contains(&Condition::FiscalReceiptOpen) {
        DeviceFault::ReceiptAlreadyOpen
    } else {
        DeviceFault::NotPermitted
    })
}

fn parse_number(text: &str, what: &str) -> Result<u64, FiscalError> {
    text.trim()
        .parse()
        .map_err(|_| FiscalError::BadReply(format!("{what} {text:?}")))
}

fn parse_money(text: &str, scale: u32, what: &str) -> Result<i64, FiscalError> {
    parse_scaled(text, scale).map_err(|_| FiscalError::BadReply(format!("{what} {text:?}")))
}

/// Parses the device clock (`DD-MM-YY hh:mm:ss`, also with dots, optional ` DST`).
pub fn parse_device_time(text: &str) -> Result<NaiveDateTime, FiscalError> {
    let t = text.trim().trim_end_matches("DST").trim().replace('.', "-");
    NaiveDateTime::parse_from_str(&t, "%d-%m-%y %H:%M:%S")
        .map_err(|_| FiscalError::BadReply(format!("date/time {text:?}")))
}

impl FiscalDevice for IslDevice {
    fn protocol(&self) -> FiscalProtocol {
        self.protocol
    }

    fn device_info(&mut self) -> Result<DeviceInfo, FiscalError> {
        let (f, serial_at) = if self.is_x() {
            (self.x(0x5A, &["1"])?, 6)
        } else {
            (self.old_fields(0x5A, "1")?, 4)
        };
        Ok(DeviceInfo {
            model: Self::field(&f, 0, "model")?.to_string(),
            firmware: Self::field(&f, 1, "firmware")?.to_string(),
            serial: Self::field(&f, serial_at, "serial number")?.to_string(),
            fm_number: Self::field(&f, serial_at + 1, "fiscal memory number")?.to_string(),
        })
    }

    fn status(&mut self) -> Result<DeviceStatus, FiscalError> {
        let reply = self.transport.command(0x4A, b"")?;
        Ok(DeviceStatus::from_conditions(decode_conditions(
            &reply.status,
        )))
    }

    fn vat_rates(&mut self) -> Result<Option<Vec<Option<u32>>>, FiscalError> {
        if !self.is_x() {
            // The old families' rate command (61h) has no documented reply layout here.
            return Ok(None);
        }
        // 50 (32h): Err, nZ, TaxA..TaxH, Date; 100.00 marks a disabled group.
        let f = self.x(0x32, &[])?;
        let mut rates = Vec::with_capacity(8);
        for i in 1..=8 {
            let rate = parse_money(Self::field(&f, i, "VAT rate")?, 2, "VAT rate")?;
            rates.push((0..10_000).contains(&rate).then_some(rate as u32));
        }
        Ok(Some(rates))
    }

    fn transaction(&mut self) -> Result<TransactionState, FiscalError> {
        if self.is_x() {
            let f = self.x(0x4C, &[])?;
            Ok(TransactionState {
                open: Self::field(&f, 0, "IsOpen")? != "0",
                number: parse_number(Self::field(&f, 1, "Number")?, "receipt number")?,
                items: Some(parse_number(Self::field(&f, 2, "Items")?, "item count")? as u32),
                amount: Some(parse_money(Self::field(&f, 3, "Amount")?, 2, "amount")?),
                paid: Some(parse_money(Self::field(&f, 4, "Payed")?, 2, "paid amount")?),
                payment_started: None,
            }
            .with_payment_started())
        } else {
            let f = self.old_fields(0x4C, "T")?;
            let paid = match f.get(3) {
                Some(t) if !t.is_empty() => parse_money(t, 0, "tender")?,
                _ => 0,
            };
            Ok(TransactionState {
                open: Self::field(&f, 0, "Open")? == "1",
                number: 0,
                items: Some(parse_number(Self::field(&f, 1, "Items")?, "item count")? as u32),
                amount: Some(parse_money(Self::field(&f, 2, "Amount")?, 0, "amount")?),
                paid: Some(paid),
                payment_started: Some(paid > 0),
            })
        }
    }

    fn open_receipt(
        &mut self,
        operator: &str,
        password: &Secret,
        unp: &Unp,
    ) -> Result<(), FiscalError> {
        let op = operator.trim();
        let pwd = password.expose();
        let unp = unp.to_string();
        let cmd = open_command(self.protocol);
        match self.protocol {
            FiscalProtocol::DatecsX => self.x(cmd, &[op, pwd, &unp, "1", ""]).map(drop),
            FiscalProtocol::DatecsP => self
                .old(cmd, format!("{op},{pwd},1,{unp}").as_bytes())
                .map(drop),
            FiscalProtocol::DatecsC => self
                .old(cmd, format!("{op},{pwd},{unp},1").as_bytes())
                .map(drop),
            FiscalProtocol::Daisy => self
                .old(cmd, format!("{op},{pwd},{unp}").as_bytes())
                .map(drop),
            FiscalProtocol::Eltrade => self.old(cmd, format!("{op},{unp}").as_bytes()).map(drop),
            FiscalProtocol::Incotex => self.old(cmd, format!("{op},{unp},0").as_bytes()).map(drop),
            FiscalProtocol::TremolZfp => Err(FiscalError::Unsupported("tremol-zfp".into())),
        }
    }

    fn open_storno(
        &mut self,
        operator: &str,
        password: &Secret,
        unp: &Unp,
        original: &StornoOf,
    ) -> Result<(), FiscalError> {
        let op = operator.trim();
        let pwd = password.expose();
        let unp = unp.to_string();
        let doc = original.receipt_number;
        let fm = original.fm_number.trim();
        let code = original.reason.code();
        let letter = ["E", "R", "T"][usize::from(code)];
        let compact = original.date_time.format("%d%m%y%H%M%S").to_string();
        match self.protocol {
            // 43 (2Bh): OpCode, OpPwd, TillNmb, Storno, DocNum, DateTime, FMNumber, Invoice,
            // ToInvoice, Reason, NSale.
            FiscalProtocol::DatecsX => {
                let dt = original.date_time.format("%d-%m-%y %H:%M:%S").to_string();
                let (code, doc) = (code.to_string(), doc.to_string());
                self.x(
                    0x2B,
                    &[op, pwd, "1", &code, &doc, &dt, fm, "", "", "", &unp],
                )
                .map(drop)
            }
            FiscalProtocol::DatecsP => self
                .old(
                    0x2E,
                    format!("{op},{pwd},1,{letter}{doc},{unp},{compact},{fm}").as_bytes(),
                )
                .map(drop),
            FiscalProtocol::DatecsC => self
                .old(
                    0x2E,
                    format!("{op},{pwd},{unp},1,{code},{doc},{compact},{fm}").as_bytes(),
                )
                .map(drop),
            FiscalProtocol::Daisy => {
                let data = format!("{op},{pwd},{unp}\tR{code},{doc},{compact}\t{fm}");
                self.old(0x30, &to_cp1251(&data)).map(drop)
            }
            FiscalProtocol::Eltrade => {
                let reason = ["O", "R", "T"][usize::from(code)];
                self.old(
                    0x90,
                    format!("{op},{unp},S,{fm},{reason},{doc},{compact}").as_bytes(),
                )
                .map(drop)
            }
            FiscalProtocol::Incotex | FiscalProtocol::TremolZfp => Err(FiscalError::Unsupported(
                format!("{:?} storno", self.protocol),
            )),
        }
    }

    fn sale(&mut self, item: &SaleItem) -> Result<(), FiscalError> {
        let text: String = item
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(item_text_max(self.protocol))
            .collect();
        let price = Money::from_cents(item.unit_price).to_string();
        let qty = Qty(item.quantity_milli).to_text();
        if self.is_x() {
            let group = item.tax_group.to_string();
            let (dtype, dval) = if item.discount > 0 {
                ("4", Money::from_cents(item.discount).to_string())
            } else {
                ("0", String::new())
            };
            self.x(0x31, &[&text, &group, &price, &qty, dtype, &dval, "0"])
                .map(drop)
        } else {
            let mut data = to_cp1251(&text);
            data.push(b'\t');
            data.push(tax_letter(item.tax_group));
            data.extend(format!("{price}*{qty}").bytes());
            if item.discount > 0 {
                data.extend(format!(";-{}", Money::from_cents(item.discount)).bytes());
            }
            self.old(0x31, &data).map(drop)
        }
    }

    fn subtotal_discount(&mut self, amount: i64) -> Result<(), FiscalError> {
        let value = Money::from_cents(amount).to_string();
        if self.is_x() {
            self.x(0x33, &["1", "0", "4", &value]).map(drop)
        } else {
            self.old(0x33, format!("10;-{value}").as_bytes()).map(drop)
        }
    }

    fn payment(
        &mut self,
        kind: PaymentKind,
        amount: i64,
    ) -> Result<Option<PaymentOutcome>, FiscalError> {
        let code = payment_code(self.protocol, kind);
        let value = Money::from_cents(amount).to_string();
        let (status, rest) = if self.is_x() {
            let f = self.x(0x35, &[code, &value, ""])?;
            (
                Self::field(&f, 0, "payment status")?.to_string(),
                Self::field(&f, 1, "amount")?.to_string(),
            )
        } else {
            let reply = self.old(0x35, format!("\t{code}{value}").as_bytes())?;
            let text = from_cp1251(&reply.data);
            let mut chars = text.chars();
            let status = chars.next().map(String::from).unwrap_or_default();
            (status, chars.as_str().to_string())
        };
        match status.as_str() {
            "D" => Ok(Some(PaymentOutcome {
                due: parse_money(&rest, 2, "amount due")?,
                change: 0,
            })),
            "R" => Ok(Some(PaymentOutcome {
                due: 0,
                change: parse_money(&rest, 2, "change")?,
            })),
            "F" | "E" | "I" => Err(FiscalError::Device(DeviceFault::NotPermitted)),
            other => Err(FiscalError::BadReply(format!("payment status {other:?}"))),
        }
    }

    fn pay_rest_and_close(&mut self, kind: PaymentKind) -> Result<u64, FiscalError> {
        let tx = self.transaction()?;
        let (amount, paid) = (tx.amount.unwrap_or(0), tx.paid.unwrap_or(0));
        if tx.open && paid < amount {
            self.payment(kind, amount - paid)?;
        }
        self.close_receipt()
    }

    fn close_receipt(&mut self) -> Result<u64, FiscalError> {
        if self.is_x() {
            let f = self.x(0x38, &[])?;
            parse_number(Self::field(&f, 0, "slip number")?, "slip number")
        } else {
            self.old(0x38, b"")?;
            self.last_receipt_number()
        }
    }

    fn cancel_receipt(&mut self) -> Result<(), FiscalError> {
        let cmd = cancel_command(self.protocol);
        if self.is_x() {
            self.x(cmd, &[]).map(drop)
        } else {
            self.old(cmd, b"").map(drop)
        }
    }

    fn date_time(&mut self) -> Result<NaiveDateTime, FiscalError> {
        if self.is_x() {
            let f = self.x(0x3E, &[])?;
            parse_device_time(Self::field(&f, 0, "date/time")?)
        } else {
            let reply = self.old(0x3E, b"")?;
            parse_device_time(&from_cp1251(&reply.data))
        }
    }

    fn set_date_time(&mut self, to: NaiveDateTime) -> Result<(), FiscalError> {
        let text = to.format("%d-%m-%y %H:%M:%S").to_string();
        if self.is_x() {
            self.x(0x3D, &[&text]).map(drop)
        } else {
            self.old(0x3D, text.as_bytes()).map(drop)
        }
    }

    fn print_duplicate(&mut self) -> Result<(), FiscalError> {
        if self.is_x() {
            self.x(0x6D, &[]).map(drop)
        } else {
            self.old(0x6D, b"1").map(drop)
        }
    }

    fn last_receipt_number(&mut self) -> Result<u64, FiscalError> {
        if self.is_x() {
            Ok(self.transaction()?.number)
        } else {
            let reply = self.old(0x71, b"")?;
            parse_number(&from_cp1251(&reply.data), "document number")
        }
    }
}
