//! Tremol ZFP protocol: STX/LF framing with an XOR checksum, ACK frames carrying two status
//! digits, the 0x09 ping before every command, RETRY (0x0E) while busy
//! (PROTOCOLS.md §3.1; command formats after ErpNet.FP's Tremol driver).
//!
//! Host frame `02 LEN NBL CMD DATA CS CS 0A` (LEN = 0x20 + 3 + data length, NBL = 0x20 +
//! sequence, CS = XOR of LEN..DATA as 2 nibbles + 0x30); ACK `06 NBL STE1 STE2 CS CS 0A`.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serialport::SerialPort;

use super::error::{Condition, DeviceFault, FiscalError};
use super::receipt::StornoOf;
use super::text::{from_cp1251, to_cp1251};
use super::transport::Timing;
use super::{
    DeviceInfo, DeviceStatus, FiscalDevice, PaymentKind, PaymentOutcome, SaleItem, TransactionState,
};
use crate::config::FiscalProtocol;
use crate::core::money::{Money, Qty, parse_scaled};
use crate::core::unp::Unp;
use crate::secrets::Secret;

/// Start of a data frame.
pub const STX: u8 = 0x02;
/// Start of an ACK frame.
pub const ACK: u8 = 0x06;
/// End of a frame.
pub const ETX: u8 = 0x0A;
/// Negative acknowledge (damaged frame).
pub const NACK: u8 = 0x15;
/// Busy: keep waiting.
pub const RETRY: u8 = 0x0E;
/// Ping byte.
pub const PING: u8 = 0x09;
/// Ping answer: ready.
pub const PING_READY: u8 = 0x40;
/// Ping answer: busy.
pub const PING_BUSY: u8 = 0x41;
/// Item names are padded to this length (ErpNet.FP: shorter names are a syntax error).
pub const ITEM_TEXT_LEN: usize = 36;
/// Characters of the name the device prints (PROTOCOLS.md §3.1: "36 characters, 34
/// printed"): longer names are cut here, so nothing sent is lost on paper.
pub const ITEM_TEXT_PRINTED: usize = 34;

/// The current receipt as command 0x72 without data reports it (Tremol's
/// "ReadCurrentReceiptInfo"): IsReceiptOpened; SalesNumber; subtotals of groups А, Б, В;
/// ForbiddenVoid; VATinReceipt; ReceiptFormat; InitiatedPayment; FinalizedPayment;
/// PowerDownInReceipt; TypeReceipt; ChangeAmount; ChangeType; subtotals of Г–З;
/// CurrentReceiptNumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptInfo {
    /// A receipt is open.
    pub open: bool,
    /// Sales registered.
    pub sales: u32,
    /// Sum of the subtotals of every VAT group, in stotinki.
    pub amount: i64,
    /// Payment has started.
    pub payment_started: bool,
    /// Payment is complete.
    pub payment_finished: bool,
    /// Number of the current receipt.
    pub number: u64,
}

/// Parses the reply to 0x72 without data.
pub fn parse_receipt_info(text: &str) -> Result<ReceiptInfo, FiscalError> {
    let f: Vec<&str> = text.split(';').map(str::trim).collect();
    let bad = || FiscalError::BadReply(format!("receipt state {text:?}"));
    if f.len() < 20 {
        return Err(bad());
    }
    let flag = |i: usize| match f[i] {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(bad()),
    };
    let mut amount = 0;
    for i in [2, 3, 4, 14, 15, 16, 17, 18] {
        amount += parse_scaled(f[i], 2).map_err(|_| bad())?;
    }
    Ok(ReceiptInfo {
        open: flag(0)?,
        sales: f[1].parse().map_err(|_| bad())?,
        amount,
        payment_started: flag(8)?,
        payment_finished: flag(9)?,
        number: f[19].parse().map_err(|_| bad())?,
    })
}

fn nibbles(b: u8) -> [u8; 2] {
    [0x30 + (b >> 4), 0x30 + (b & 0x0F)]
}

fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Builds a data frame (host request or device data reply).
pub fn encode_frame(nbl: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![STX, (0x20 + 3 + data.len()) as u8, nbl, cmd];
    out.extend_from_slice(data);
    let cs = xor(&out[1..]);
    out.extend(nibbles(cs));
    out.push(ETX);
    out
}

/// Builds an ACK frame with the two status digits.
pub fn encode_ack(nbl: u8, ste1: u8, ste2: u8) -> Vec<u8> {
    let mut out = vec![ACK, nbl, ste1, ste2];
    out.extend(nibbles(xor(&out[1..])));
    out.push(ETX);
    out
}

/// A parsed Tremol reply or request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Data frame.
    Data {
        /// Sequence byte.
        nbl: u8,
        /// Command.
        cmd: u8,
        /// Data.
        data: Vec<u8>,
    },
    /// ACK frame with status digits.
    Ack {
        /// Sequence byte.
        nbl: u8,
        /// Fiscal-device error digit.
        ste1: u8,
        /// Command error digit.
        ste2: u8,
    },
    /// A single control byte (NACK, RETRY, ping, ping answer).
    Byte(u8),
}

/// What the start of a buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// More bytes needed; `skipped` junk bytes can be dropped.
    Incomplete {
        /// Junk bytes before a possible frame.
        skipped: usize,
    },
    /// A message and the bytes it used.
    Message {
        /// The message.
        message: Message,
        /// Bytes to drop.
        consumed: usize,
    },
    /// A damaged frame.
    Bad {
        /// Bytes to drop.
        consumed: usize,
    },
}

/// Scans a buffer; `singles` are the control bytes accepted on their own.
pub fn scan(buf: &[u8], singles: &[u8]) -> Scan {
    let mut start = 0;
    while start < buf.len() {
        let b = buf[start];
        if b == STX || b == ACK {
            break;
        }
        if singles.contains(&b) {
            return Scan::Message {
                message: Message::Byte(b),
                consumed: start + 1,
            };
        }
        start += 1;
    }
    let rest = &buf[start..];
    if rest.is_empty() {
        return Scan::Incomplete { skipped: start };
    }
    if rest[0] == ACK {
        if rest.len() < 7 {
            return Scan::Incomplete { skipped: start };
        }
        let ok = rest[6] == ETX && rest[4..6] == nibbles(xor(&rest[1..4]));
        return if ok {
            Scan::Message {
                message: Message::Ack {
                    nbl: rest[1],
                    ste1: rest[2],
                    ste2: rest[3],
                },
                consumed: start + 7,
            }
        } else {
            Scan::Bad {
                consumed: start + 1,
            }
        };
    }
    if rest.len() < 2 {
        return Scan::Incomplete { skipped: start };
    }
    if rest[1] < 0x23 {
        return Scan::Bad {
            consumed: start + 1,
        };
    }
    let count = usize::from(rest[1] - 0x20);
    let total = 1 + count + 3;
    if rest.len() < total {
        return Scan::Incomplete { skipped: start };
    }
    let ok =
        rest[total - 1] == ETX && rest[1 + count..3 + count] == nibbles(xor(&rest[1..1 + count]));
    if !ok {
        return Scan::Bad {
            consumed: start + total,
        };
    }
    Scan::Message {
        message: Message::Data {
            nbl: rest[2],
            cmd: rest[3],
            data: rest[4..1 + count].to_vec(),
        },
        consumed: start + total,
    }
}

/// The fault an ACK's status digits report, if any (ErpNet.FP's Tremol error tables).
pub fn ack_fault(ste1: u8, ste2: u8) -> Option<DeviceFault> {
    let first = match ste1 {
        0x30 => None,
        0x31 => Some(DeviceFault::PaperOut),
        0x32 => Some(DeviceFault::Overflow),
        0x34 => Some(DeviceFault::ReceiptAlreadyOpen),
        0x35 => Some(DeviceFault::PaymentIncomplete),
        0x37 => Some(DeviceFault::PaymentStarted),
        0x38 => Some(DeviceFault::FiscalMemoryFull),
        0x39 => Some(DeviceFault::WrongPassword),
        0x3B => Some(DeviceFault::Blocked24h),
        0x3C => Some(DeviceFault::PrinterFault),
        0x3E => Some(DeviceFault::JournalFull),
        0x33 | 0x36 | 0x3A | 0x3D | 0x3F => Some(DeviceFault::NotPermitted),
        other => Some(DeviceFault::Code(-i32::from(other))),
    };
    first.or(match ste2 {
        0x30 => None,
        0x31 => Some(DeviceFault::InvalidCommand),
        0x34 => Some(DeviceFault::Syntax),
        0x35 => Some(DeviceFault::Overflow),
        0x37 => Some(DeviceFault::ReceiptNotOpen),
        0x38 => Some(DeviceFault::PaymentIncomplete),
        0x32 | 0x33 | 0x36 => Some(DeviceFault::NotPermitted),
        other => Some(DeviceFault::Code(-i32::from(other))),
    })
}

/// Decodes the 7 status bytes of command 0x20 (ErpNet.FP's Tremol bit table).
pub fn decode_status(status: &[u8]) -> Vec<Condition> {
    let bit = |byte: usize, b: u8| status.get(byte).is_some_and(|v| v & (1 << b) != 0);
    let mut out = Vec::new();
    let table = [
        (1, 0, Condition::PaperOut),
        (6, 4, Condition::PaperLow),
        (0, 2, Condition::PrinterFault),
        (3, 2, Condition::FiscalMemoryFull),
        (3, 3, Condition::FiscalMemoryNearFull),
        (2, 6, Condition::JournalFull),
        (2, 5, Condition::JournalNearFull),
        (0, 3, Condition::ClockNotSet),
        (2, 0, Condition::NonFiscalReceiptOpen),
    ];
    for (byte, b, c) in table {
        if bit(byte, b) {
            out.push(c);
        }
    }
    if (1..=4).any(|b| bit(2, b)) {
        out.push(Condition::FiscalReceiptOpen);
    }
    out
}

/// Tremol payment-type code (0 cash, 1 check, 2 coupon, 7 card, 8 bank).
pub fn payment_code(kind: PaymentKind) -> &'static str {
    match kind {
        PaymentKind::Cash => "0",
        PaymentKind::Check => "1",
        PaymentKind::Coupon => "2",
        PaymentKind::Card => "7",
        PaymentKind::Bank => "8",
    }
}

/// A Tremol ZFP device on a serial port.
pub struct ZfpDevice {
    port: Box<dyn SerialPort>,
    timing: Timing,
    seq: u8,
    buf: Vec<u8>,
    synced: bool,
}

impl std::fmt::Debug for ZfpDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZfpDevice").field("seq", &self.seq).finish()
    }
}

enum Reply {
    Ack,
    Data(Vec<u8>),
    /// A replayed reply to another command under our NBL.
    Stale,
}

impl ZfpDevice {
    /// Wraps an open port.
    pub fn new(port: Box<dyn SerialPort>, timing: Timing) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            port,
            timing,
            seq: 0x20 + (seed % 0x80) as u8,
            buf: Vec::new(),
            synced: false,
        }
    }

    /// Makes `nbl` (0x20–0x9F) the sequence byte of the next frame.
    pub fn set_next_nbl(&mut self, nbl: u8) {
        self.seq = if nbl <= 0x20 { 0x9F } else { nbl.min(0xA0) - 1 };
    }

    fn read_some(&mut self, deadline: Instant) -> Result<bool, FiscalError> {
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        self.port
            .set_timeout(deadline - now)
            .map_err(|e| FiscalError::Disconnected(e.to_string()))?;
        let mut chunk = [0u8; 256];
        match self.port.read(&mut chunk) {
            Ok(0) => Err(FiscalError::Disconnected("end of stream".into())),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {
                Ok(true)
            }
            Err(e) => Err(FiscalError::Disconnected(e.to_string())),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), FiscalError> {
        self.port
            .write_all(bytes)
            .and_then(|()| self.port.flush())
            .map_err(|e| FiscalError::Disconnected(e.to_string()))
    }

    /// Pings until the device is ready.
    fn wait_ready(&mut self) -> Result<(), FiscalError> {
        let started = Instant::now();
        let mut silent = 0;
        loop {
            self.buf.clear();
            self.write(&[PING])?;
            let deadline = Instant::now() + self.timing.reply_timeout;
            let answer = loop {
                if let Some(pos) = self.buf.iter().position(|b| (0x40..=0x7F).contains(b)) {
                    break Some(self.buf[pos]);
                }
                if !self.read_some(deadline)? {
                    break None;
                }
            };
            match answer {
                // Ready, possibly with a condition (out of paper, overheated, no display):
                // the command's ACK reports what it refuses.
                Some(PING_READY | 0x42 | 0x44 | 0x48) => return Ok(()),
                Some(PING_BUSY | 0x43 | 0x45 | 0x49) => {
                    if started.elapsed() >= self.timing.busy_limit {
                        return Err(FiscalError::NoReply {
                            attempts: silent + 1,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Some(0x50 | 0x70) => return Err(FiscalError::Device(DeviceFault::WrongPassword)),
                // Not a ping answer (PROTOCOLS.md §3.1 lists them all): a byte of a frame
                // the device was still sending when an earlier connection broke off. The
                // rest of it is let through and the ping sent again.
                Some(other) => {
                    silent += 1;
                    if silent >= self.timing.attempts {
                        return Err(FiscalError::BadReply(format!("ping answer {other:#04x}")));
                    }
                    let drain = Instant::now() + self.timing.reply_timeout / 4;
                    while self.read_some(drain)? {}
                }
                None => {
                    silent += 1;
                    if silent >= self.timing.attempts {
                        return Err(FiscalError::NoReply { attempts: silent });
                    }
                }
            }
        }
    }

    /// Makes sure the device's replay cache does not hold our next NBL: the first exchange of
    /// a connection is a status read, whose data reply names its command. A replayed reply
    /// to another command (the NBL was reused) is skipped by moving to the next NBL.
    fn sync(&mut self) -> Result<(), FiscalError> {
        for _ in 0..2 {
            match self.send(0x20, "", true) {
                Ok(Reply::Data(d)) if d.len() == 7 => {
                    self.synced = true;
                    return Ok(());
                }
                // An ACK (with or without error digits) cannot answer a status read: stale.
                Ok(_) | Err(FiscalError::Device(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(FiscalError::BadReply("no status reply".into()))
    }

    fn request(&mut self, cmd: u8, data: &str) -> Result<Reply, FiscalError> {
        if !self.synced {
            self.sync()?;
        }
        self.send(cmd, data, true)
    }

    /// Sends one frame and reads its answer. A NACK (the device rejected the frame, nothing
    /// ran) is always answered by sending it again; a reply that never comes or arrives
    /// damaged is only followed by a resend when `resend_unanswered` is true: Tremol's
    /// document describes no duplicate detection, so a frame sent again may run twice.
    fn send(&mut self, cmd: u8, data: &str, resend_unanswered: bool) -> Result<Reply, FiscalError> {
        self.seq = if self.seq >= 0x9F { 0x20 } else { self.seq + 1 };
        let nbl = self.seq;
        self.wait_ready()?;
        let frame = encode_frame(nbl, cmd, &to_cp1251(data));
        let mut may_send = true;
        for sent in 0..self.timing.attempts {
            if !may_send {
                return Err(FiscalError::NoReply { attempts: sent });
            }
            may_send = resend_unanswered;
            self.buf.clear();
            self.write(&frame)?;
            let started = Instant::now();
            let mut deadline = started + self.timing.reply_timeout;
            loop {
                match scan(&self.buf, &[NACK, RETRY]) {
                    Scan::Message { message, consumed } => {
                        self.buf.drain(..consumed);
                        match message {
                            Message::Byte(RETRY) => {
                                if started.elapsed() < self.timing.busy_limit {
                                    deadline = Instant::now() + self.timing.reply_timeout;
                                }
                                continue;
                            }
                            Message::Byte(_) => {
                                // NACK: the frame was refused unread, so it may go again.
                                may_send = true;
                                break;
                            }
                            Message::Ack { nbl: n, ste1, ste2 } if n == nbl => {
                                return match ack_fault(ste1, ste2) {
                                    Some(f) => Err(FiscalError::Device(f)),
                                    None => Ok(Reply::Ack),
                                };
                            }
                            Message::Data {
                                nbl: n,
                                cmd: c,
                                data,
                            } if n == nbl => {
                                return Ok(if c == cmd {
                                    Reply::Data(data)
                                } else {
                                    Reply::Stale
                                });
                            }
                            _ => continue,
                        }
                    }
                    Scan::Bad { consumed } => {
                        self.buf.drain(..consumed);
                        break;
                    }
                    Scan::Incomplete { skipped } => {
                        self.buf.drain(..skipped);
                    }
                }
                if !self.read_some(deadline)? || Instant::now() >= deadline {
                    break;
                }
            }
        }
        Err(FiscalError::NoReply {
            attempts: self.timing.attempts,
        })
    }

    fn data(&mut self, cmd: u8, data: &str) -> Result<String, FiscalError> {
        match self.request(cmd, data)? {
            Reply::Data(d) => Ok(from_cp1251(&d)),
            Reply::Ack | Reply::Stale => Err(FiscalError::BadReply(format!(
                "no data in reply to {cmd:#04x}"
            ))),
        }
    }

    fn ack(&mut self, cmd: u8, data: &str) -> Result<(), FiscalError> {
        match self.request(cmd, data)? {
            Reply::Stale => Err(FiscalError::BadReply(format!(
                "reply to another command than {cmd:#04x}"
            ))),
            _ => Ok(()),
        }
    }

    /// The current receipt's state (0x72 without data).
    pub fn receipt_info(&mut self) -> Result<ReceiptInfo, FiscalError> {
        parse_receipt_info(&self.data(0x72, "")?)
    }

    /// Runs a command that changes the receipt without ever sending it twice blindly: when
    /// its answer is lost, the receipt's state before and after tells whether it ran
    /// (`ran(before, after)`: Some(true) ran, Some(false) did not, so it may be sent again,
    /// None cannot tell, so the link failure goes up to the receipt flow's recovery).
    fn change(
        &mut self,
        cmd: u8,
        data: &str,
        ran: fn(&ReceiptInfo, &ReceiptInfo) -> Option<bool>,
    ) -> Result<(), FiscalError> {
        if !self.synced {
            self.sync()?;
        }
        let before = self.receipt_info()?;
        for _ in 0..self.timing.attempts {
            match self.send(cmd, data, false) {
                Ok(Reply::Stale) => {
                    return Err(FiscalError::BadReply(format!(
                        "reply to another command than {cmd:#04x}"
                    )));
                }
                Ok(_) => return Ok(()),
                Err(lost) if lost.is_link_failure() => {
                    let after = self.receipt_info()?;
                    match ran(&before, &after) {
                        Some(true) => return Ok(()),
                        Some(false) => {}
                        None => return Err(lost),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(FiscalError::NoReply {
            attempts: self.timing.attempts,
        })
    }

    /// Reads the raw 7 status bytes.
    fn status_bytes(&mut self) -> Result<Vec<u8>, FiscalError> {
        match self.request(0x20, "")? {
            Reply::Data(d) if d.len() == 7 => Ok(d),
            _ => Err(FiscalError::BadReply("status is not 7 bytes".into())),
        }
    }
}

impl FiscalDevice for ZfpDevice {
    fn protocol(&self) -> FiscalProtocol {
        FiscalProtocol::TremolZfp
    }

    fn device_info(&mut self) -> Result<DeviceInfo, FiscalError> {
        let numbers = self.data(0x60, "")?;
        let version = self.data(0x21, "")?;
        let mut n = numbers.split(';');
        let mut v = version.split(';');
        let (Some(serial), Some(fm)) = (n.next(), n.next()) else {
            return Err(FiscalError::BadReply(format!("device numbers {numbers:?}")));
        };
        Ok(DeviceInfo {
            model: v.next().unwrap_or_default().trim().to_string(),
            firmware: v.next().unwrap_or_default().trim().to_string(),
            serial: serial.trim().to_string(),
            fm_number: fm.trim().to_string(),
        })
    }

    fn status(&mut self) -> Result<DeviceStatus, FiscalError> {
        Ok(DeviceStatus::from_conditions(decode_status(
            &self.status_bytes()?,
        )))
    }

    fn vat_rates(&mut self) -> Result<Option<Vec<Option<u32>>>, FiscalError> {
        // "ReadVATrates", command 62h ('b'): the rate of each group А–З as 7 symbols
        // `##.##%` (Tremol's ZFP protocol description, BG, 2019-10-21, §2.5.3). GUESS: the
        // document does not say how a disabled group answers; one that is not a rate below
        // 100 % is taken as disabled.
        let text = self.data(0x62, "")?;
        let rates: Vec<Option<u32>> = text
            .split(';')
            .map(|r| {
                parse_scaled(r.trim().trim_end_matches('%'), 2)
                    .ok()
                    .filter(|v| (0..10_000).contains(v))
                    .map(|v| v as u32)
            })
            .collect();
        if rates.len() < 8 {
            return Err(FiscalError::BadReply(format!("VAT rates {text:?}")));
        }
        Ok(Some(rates))
    }

    fn transaction(&mut self) -> Result<TransactionState, FiscalError> {
        let info = self.receipt_info()?;
        Ok(TransactionState {
            open: info.open,
            number: info.number,
            items: Some(info.sales),
            amount: Some(info.amount),
            paid: None,
            payment_started: Some(info.payment_started),
        })
    }

    fn open_receipt(
        &mut self,
        operator: &str,
        password: &Secret,
        unp: &Unp,
    ) -> Result<(), FiscalError> {
        // OperNum;OperPass;ReceiptFormat(1 detailed);PrintVAT(1);PrintType(2)$UNP
        let data = format!("{};{};1;1;2${unp}", operator.trim(), password.expose());
        self.change(0x30, &data, |b, a| Some(a.open && !b.open))
    }

    fn open_storno(
        &mut self,
        operator: &str,
        password: &Secret,
        unp: &Unp,
        original: &StornoOf,
    ) -> Result<(), FiscalError> {
        // OperNum;OperPass;ReceiptFormat;PrintVAT;StornoRcpPrintType(D);StornoReason;
        // RelatedToRcpNum;RelatedToRcpDateTime;FMNum;RelatedToURN
        let data = format!(
            "{};{};1;1;D;{};{};{};{};{unp}",
            operator.trim(),
            password.expose(),
            original.reason.code(),
            original.receipt_number,
            original.date_time.format("%d-%m-%y %H:%M:%S"),
            original.fm_number.trim()
        );
        self.change(0x30, &data, |b, a| Some(a.open && !b.open))
    }

    fn sale(&mut self, item: &SaleItem) -> Result<(), FiscalError> {
        let name = item_name(&item.text);
        let letter =
            char::from_u32('А' as u32 + u32::from(item.tax_group.clamp(1, 8) - 1)).unwrap_or('Б');
        let mut data = format!(
            "{name:<width$};{letter};{}*{}",
            Money::from_cents(item.unit_price),
            Qty(item.quantity_milli).to_text(),
            width = ITEM_TEXT_LEN
        );
        if item.discount > 0 {
            data.push_str(&format!(":-{}", Money::from_cents(item.discount)));
        }
        self.change(0x31, &data, |b, a| Some(a.sales > b.sales))
    }

    fn subtotal_discount(&mut self, amount: i64) -> Result<(), FiscalError> {
        // OptionPrinting(1);OptionDisplay(0):DiscAddV (signed amount).
        self.change(
            0x33,
            &format!("1;0:-{}", Money::from_cents(amount)),
            |b, a| Some(a.amount < b.amount),
        )
    }

    fn payment(
        &mut self,
        kind: PaymentKind,
        amount: i64,
    ) -> Result<Option<PaymentOutcome>, FiscalError> {
        // PayType;OptionChange(0 = with change);Amount. The ACK carries no amounts.
        // A first payment shows in the state; a further one cannot be told from it.
        self.change(
            0x35,
            &format!("{};0;{}", payment_code(kind), Money::from_cents(amount)),
            |b, a| (!b.payment_started).then_some(a.payment_started),
        )?;
        Ok(None)
    }

    fn pay_rest_and_close(&mut self, _kind: PaymentKind) -> Result<u64, FiscalError> {
        match self.close_receipt() {
            Err(FiscalError::Device(DeviceFault::PaymentIncomplete)) => {
                // 0x36 pays the exact remaining sum (in the device's default payment type)
                // and closes; the protocol takes no payment type for it.
                self.change(0x36, "", |b, a| Some(b.open && !a.open))?;
                self.last_receipt_number()
            }
            other => other,
        }
    }

    fn close_receipt(&mut self) -> Result<u64, FiscalError> {
        self.change(0x38, "", |b, a| Some(b.open && !a.open))?;
        self.last_receipt_number()
    }

    fn cancel_receipt(&mut self) -> Result<(), FiscalError> {
        // Tremol finishes and closes a receipt whose payment has started instead of
        // cancelling it: never ask for that.
        if self.receipt_info()?.payment_started {
            return Err(FiscalError::Device(DeviceFault::PaymentStarted));
        }
        self.change(0x39, "", |b, a| Some(b.open && !a.open))
    }

    fn date_time(&mut self) -> Result<NaiveDateTime, FiscalError> {
        let text = self.data(0x68, "")?;
        NaiveDateTime::parse_from_str(text.trim(), "%d-%m-%Y %H:%M")
            .map_err(|_| FiscalError::BadReply(format!("date/time {text:?}")))
    }

    fn set_date_time(&mut self, to: NaiveDateTime) -> Result<(), FiscalError> {
        self.ack(0x48, &to.format("%d-%m-%y %H:%M:%S").to_string())
    }

    fn print_duplicate(&mut self) -> Result<(), FiscalError> {
        self.ack(0x3A, "")
    }

    fn last_receipt_number(&mut self) -> Result<u64, FiscalError> {
        // QR data of the last receipt: FM*Number*Date*Time*Amount; a device that has issued
        // no receipt yet answers with no data: receipt number 0.
        let qr = self.data(0x72, "B")?;
        if qr.trim().is_empty() {
            return Ok(0);
        }
        let number = qr.split('*').nth(1).unwrap_or_default();
        parse_scaled(number, 0)
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| FiscalError::BadReply(format!("receipt number {number:?}")))
    }
}

/// An item's name as Tremol takes it: `;` separates fields and `|` (0x7C) starts a new
/// line on paper ("Symbol 0x7C ‘|’ is new line separator", Tremol's ZFP protocol
/// description, BG, 2019-10-21, command 31h), so a name keeps neither; cut to the 34
/// characters printed.
fn item_name(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ';' => ',',
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(ITEM_TEXT_PRINTED)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_name_never_splits_a_field_or_a_line() {
        assert_eq!(
            item_name("Чаша | 250 мл; бяла\tнова"),
            "Чаша / 250 мл, бяла нова"
        );
        assert_eq!(
            item_name(&"я".repeat(40)).chars().count(),
            ITEM_TEXT_PRINTED
        );
    }

    #[test]
    fn reference_status_frame() {
        // PROTOCOLS.md §3.1: status command 0x20 with NBL 0x20.
        assert_eq!(
            encode_frame(0x20, 0x20, b""),
            vec![0x02, 0x23, 0x20, 0x20, 0x32, 0x33, 0x0A]
        );
    }

    #[test]
    fn scan_ack_data_and_damage() {
        let ack = encode_ack(0x25, 0x30, 0x34);
        let mut buf = vec![0xFF];
        buf.extend(&ack);
        assert_eq!(
            scan(&buf, &[NACK]),
            Scan::Message {
                message: Message::Ack {
                    nbl: 0x25,
                    ste1: 0x30,
                    ste2: 0x34
                },
                consumed: 8
            }
        );
        assert_eq!(ack_fault(0x30, 0x34), Some(DeviceFault::Syntax));
        let frame = encode_frame(0x21, 0x60, b"ZK123456;50123456");
        assert!(matches!(
            scan(&frame[..5], &[]),
            Scan::Incomplete { skipped: 0 }
        ));
        let Scan::Message {
            message: Message::Data { data, .. },
            ..
        } = scan(&frame, &[])
        else {
            panic!()
        };
        assert_eq!(data, b"ZK123456;50123456");
        let mut bad = frame.clone();
        bad[6] ^= 1;
        assert!(matches!(scan(&bad, &[]), Scan::Bad { .. }));
        assert_eq!(
            scan(&[0x00, RETRY], &[RETRY]),
            Scan::Message {
                message: Message::Byte(RETRY),
                consumed: 2
            }
        );
        // PROTOCOLS.md §3.1: 31 out of paper, 39 wrong password; 37 transaction not
        // found, 34 syntax.
        assert_eq!(ack_fault(0x31, 0x30), Some(DeviceFault::PaperOut));
        assert_eq!(ack_fault(0x39, 0x30), Some(DeviceFault::WrongPassword));
        assert_eq!(ack_fault(0x30, 0x37), Some(DeviceFault::ReceiptNotOpen));
        assert_eq!(ack_fault(0x30, 0x34), Some(DeviceFault::Syntax));
    }
}
