//! Tremol ZFP command execution for the emulator: the receipt state machine of `device`
//! with Tremol's `;`-separated formats, ACK status digits, the 7-byte status of command
//! 0x20 and the receipt-state read 0x72.
//!
//! Sources: PROTOCOLS.md §3.1 (commands as ErpNet.FP's Tremol driver sends them, the ACK
//! digits, the 36-character name of which 34 are printed); Tremol's own library for its
//! ZFP devices (the order of the status bits and of the fields of "ReadCurrentReceiptInfo",
//! command 0x72, and "ReadVATrates").

use super::device::{self, DeviceState, Faults, Modifier, Refusal};
use super::fields::{decode_text, encode_text, money};

/// The name field of a sale: always 36 characters (ErpNet.FP pads it; shorter is a syntax
/// error).
pub const NAME_FIELD: usize = 36;
/// Characters of the name the device prints.
pub const NAME_PRINTED: usize = 34;

/// Status (7 bytes).
const STATUS: u8 = 0x20;
/// Version.
const VERSION: u8 = 0x21;
/// Open a fiscal or storno receipt.
const OPEN: u8 = 0x30;
/// Sale.
const SALE: u8 = 0x31;
/// Subtotal (with an amount discount).
const SUBTOTAL: u8 = 0x33;
/// Payment.
const PAYMENT: u8 = 0x35;
/// Pay the exact sum and close.
const PAY_EXACT_AND_CLOSE: u8 = 0x36;
/// Close.
const CLOSE: u8 = 0x38;
/// Cancel.
const CANCEL: u8 = 0x39;
/// Duplicate of the last receipt.
const DUPLICATE: u8 = 0x3A;
/// Set date and time.
const SET_CLOCK: u8 = 0x48;
/// Device and fiscal memory numbers.
const NUMBERS: u8 = 0x60;
/// VAT rates: "ReadVATrates", 62h ('b'), answering the 8 rates А–З as `##.##%` (Tremol's
/// ZFP protocol description, BG, 2019-10-21, §2.5.3).
const VAT_RATES: u8 = 0x62;
/// Read date and time.
const CLOCK: u8 = 0x68;
/// With `B`: the QR data of the last receipt; without data: the current receipt's state.
const RECEIPT_INFO: u8 = 0x72;

/// The emulator's answer to a Tremol request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZfpOutcome {
    /// ACK with two status digits.
    Ack(u8, u8),
    /// Data reply.
    Data(Vec<u8>),
}

/// True for commands that print (the device answers RETRY while they run).
pub fn prints(cmd: u8) -> bool {
    matches!(
        cmd,
        OPEN | SALE | SUBTOTAL | PAYMENT | PAY_EXACT_AND_CLOSE | CLOSE | CANCEL | DUPLICATE
    )
}

/// True for commands that change the receipt (the ones a repeated frame would do twice on
/// a device without duplicate detection).
pub fn changes_receipt(cmd: u8) -> bool {
    prints(cmd)
}

/// The answer to a ping: 0x40 ready, 0x42 out of paper.
pub fn ping_answer(faults: &Faults) -> u8 {
    if faults.paper_out { 0x42 } else { 0x40 }
}

/// The 7 status bytes of command 0x20 (bit 7 always set). Byte 0: bit 1 power down in an
/// open fiscal receipt, bit 2 printer not ready; byte 1: bit 0 no paper; byte 2: bits 1–3
/// fiscal receipt open (detailed, with VAT); byte 3: bit 2 fiscal memory full, bits 5–6
/// fiscalised and produced.
pub fn status_bytes(state: &DeviceState, faults: &Faults) -> Vec<u8> {
    let mut s = vec![0x80u8; 7];
    if state.power_down_in_receipt {
        s[0] |= 0x02;
    }
    if faults.cover_open {
        s[0] |= 0x04;
    }
    if faults.paper_out {
        s[1] |= 0x01;
    }
    if state.open.is_some() {
        s[2] |= 0x02 | 0x04 | 0x08;
    }
    s[3] |= 0x20 | 0x40;
    if faults.fm_full {
        s[3] |= 0x04;
    }
    s
}

/// Executes one Tremol request.
pub fn execute(
    state: &mut DeviceState,
    faults: &Faults,
    cmd: u8,
    data: &[u8],
    check_unp_serial: bool,
) -> ZfpOutcome {
    let text = decode_text(data);
    if prints(cmd) && faults.paper_out {
        return ack(Err(Refusal::PaperOut));
    }
    if prints(cmd) && faults.cover_open {
        return ack(Err(Refusal::PrinterFault));
    }
    match cmd {
        STATUS => ZfpOutcome::Data(status_bytes(state, faults)),
        VERSION => ZfpOutcome::Data(encode_text(&format!("{};1.00", state.model))),
        NUMBERS => ZfpOutcome::Data(encode_text(&format!(
            "{};{}",
            state.serial, state.fm_number
        ))),
        CLOCK => ZfpOutcome::Data(
            state
                .now()
                .format("%d-%m-%Y %H:%M")
                .to_string()
                .into_bytes(),
        ),
        SET_CLOCK => ack(
            chrono::NaiveDateTime::parse_from_str(text.trim(), "%d-%m-%y %H:%M:%S")
                .map(|to| state.set_clock(to))
                .map_err(|_| Refusal::Syntax),
        ),
        VAT_RATES if text.is_empty() => {
            // GUESS: a disabled group is sent as 100.00 %, as Datecs X does.
            let rates: Vec<String> = state
                .vat_rates
                .iter()
                .map(|r| format!("{}%", money(r.map_or(10_000, i64::from))))
                .collect();
            ZfpOutcome::Data(rates.join(";").into_bytes())
        }
        DUPLICATE => ack(device::op_duplicate(state)),
        RECEIPT_INFO if text == "B" => ZfpOutcome::Data(last_receipt_qr(state).into_bytes()),
        RECEIPT_INFO if text.is_empty() => ZfpOutcome::Data(current_receipt(state).into_bytes()),
        OPEN => ack(open(state, faults, &text, check_unp_serial)),
        SALE => ack(sale(state, &text)),
        SUBTOTAL => ack(subtotal(state, &text)),
        PAYMENT => ack(payment(state, &text)),
        CLOSE => ack(device::op_close(state).map(drop)),
        PAY_EXACT_AND_CLOSE => ack(device::op_payment(state, None)
            .and_then(|_| device::op_close(state))
            .map(drop)),
        CANCEL => ack(cancel(state)),
        _ => ack(Err(Refusal::InvalidCommand)),
    }
}

fn ack(result: Result<(), Refusal>) -> ZfpOutcome {
    match result {
        Ok(()) => ZfpOutcome::Ack(0x30, 0x30),
        Err(r) => {
            let (a, b) = r.tremol_digits();
            ZfpOutcome::Ack(a, b)
        }
    }
}

/// QR data of the last receipt, `FM*Number*Date*Time*Amount`; empty on a device that has
/// issued no receipt yet.
fn last_receipt_qr(state: &DeviceState) -> String {
    let Some(last) = state.issued.iter().rev().find(|r| !r.cancelled) else {
        return String::new();
    };
    let now = state.now();
    format!(
        "{}*{:07}*{}*{}*{}",
        state.fm_number,
        last.number,
        now.format("%Y-%m-%d"),
        now.format("%H:%M:%S"),
        money(last.total)
    )
}

/// "ReadCurrentReceiptInfo": IsReceiptOpened; SalesNumber; subtotals of groups А, Б, В;
/// ForbiddenVoid; VATinReceipt; ReceiptFormat; InitiatedPayment; FinalizedPayment;
/// PowerDownInReceipt; TypeReceipt; ChangeAmount; ChangeType; subtotals of Г–З;
/// CurrentReceiptNumber (6 digits).
fn current_receipt(state: &DeviceState) -> String {
    let mut by_group = [0i64; 8];
    let (open, sales, initiated, finalized, storno, number) = match &state.open {
        Some(o) => {
            for l in &o.lines {
                by_group[usize::from(l.group - 1)] += l.total;
            }
            // The subtotal discounts are taken off the first group that has sales.
            if let Some(g) = by_group.iter_mut().find(|v| **v > 0) {
                *g -= o.discounts;
            }
            (
                1,
                o.lines.len(),
                o.paid > 0,
                o.paid >= o.total(),
                o.storno_of.is_some(),
                o.number,
            )
        }
        None => (0, 0, false, false, false, state.last_document),
    };
    let flag = |b: bool| if b { "1" } else { "0" };
    let g = |i: usize| money(by_group[i]);
    format!(
        "{open};{sales:03};{};{};{};0;1;1;{};{};{};{};0.00;0;{};{};{};{};{};{number:06}",
        g(0),
        g(1),
        g(2),
        flag(initiated),
        flag(finalized && initiated),
        flag(state.power_down_in_receipt),
        if storno { 6 } else { 2 },
        g(3),
        g(4),
        g(5),
        g(6),
        g(7),
    )
}

/// Cancel: before payment the receipt is voided; once payment has started Tremol finishes
/// it instead, paying the rest and closing it (the reading of Tremol's document in the
/// fiscal issue).
fn cancel(state: &mut DeviceState) -> Result<(), Refusal> {
    match &state.open {
        Some(o) if o.paid > 0 => {
            if o.paid < o.total() {
                device::op_payment(state, None)?;
            }
            device::op_close(state).map(drop)
        }
        _ => device::op_cancel(state),
    }
}

fn open(
    state: &mut DeviceState,
    faults: &Faults,
    text: &str,
    check_serial: bool,
) -> Result<(), Refusal> {
    if !text.contains('$') {
        // Storno: Op;Pwd;Format;VAT;D;Reason;RcpNum;RcpDateTime;FMNum;UNP
        if let [op, pwd, _format, _vat, "D", reason, doc, _dt, fm, unp] =
            text.split(';').collect::<Vec<_>>()[..]
        {
            let storno = device::StornoRequest {
                doc: doc.parse().map_err(|_| Refusal::Syntax)?,
                fm: fm.to_string(),
                reason: reason.parse().map_err(|_| Refusal::Syntax)?,
            };
            return device::op_open(
                state,
                faults,
                op,
                Some(pwd),
                Some(unp),
                check_serial,
                Some(storno),
            )
            .map(drop);
        }
    }
    let (head, unp) = match text.split_once('$') {
        Some((h, u)) => (h, Some(u)),
        None => (text, None),
    };
    let [op, pwd, _format, _vat, _print] = head.split(';').collect::<Vec<_>>()[..] else {
        return Err(Refusal::Syntax);
    };
    device::op_open(state, faults, op, Some(pwd), unp, check_serial, None).map(drop)
}

fn sale(state: &mut DeviceState, text: &str) -> Result<(), Refusal> {
    let [name, letter, rest] = text.split(';').collect::<Vec<_>>()[..] else {
        return Err(Refusal::Syntax);
    };
    if name.chars().count() != NAME_FIELD {
        return Err(Refusal::Syntax);
    }
    let mut letters = letter.chars();
    let (Some(l), None) = (letters.next(), letters.next()) else {
        return Err(Refusal::Syntax);
    };
    let group = device::tax_group_letter(l)?;
    let (rest, value) = match rest.split_once(':') {
        Some((r, v)) => (r, Some(Modifier::Amount(device::amount(v)?))),
        None => (rest, None),
    };
    let (rest, percent) = match rest.split_once(',') {
        Some((r, p)) => (r, Some(Modifier::Percent(device::decimal(p, 2)?))),
        None => (rest, None),
    };
    let (price, qty) = match rest.split_once('*') {
        Some((p, q)) => (device::amount(p)?, device::decimal(q, 3)?),
        None => (device::amount(rest)?, 1000),
    };
    device::op_sale(
        state,
        name.trim_end().to_string(),
        group,
        price,
        qty,
        value.or(percent),
    )
    .map(drop)
}

fn subtotal(state: &mut DeviceState, text: &str) -> Result<(), Refusal> {
    let (head, value) = match text.split_once(':') {
        Some((h, v)) => (h, -device::amount(v)?),
        None => (text, 0),
    };
    if head.split(';').count() != 2 {
        return Err(Refusal::Syntax);
    }
    device::op_subtotal(state, value).map(drop)
}

fn payment(state: &mut DeviceState, text: &str) -> Result<(), Refusal> {
    let [kind, change, amount] = text.split(';').collect::<Vec<_>>()[..] else {
        return Err(Refusal::Syntax);
    };
    let kind: u8 = kind.parse().map_err(|_| Refusal::Syntax)?;
    if kind > 11 || !matches!(change, "0" | "1") {
        return Err(Refusal::Syntax);
    }
    let amount = device::amount(amount.trim_end_matches('*'))?;
    device::op_payment(state, Some(amount)).map(drop)
}
