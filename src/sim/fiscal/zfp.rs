//! Tremol ZFP command execution for the emulator: the same receipt state machine as the
//! Datecs-style families, with Tremol's `;`-separated formats, ACK status digits and the
//! 7-byte status of command 0x20.

use super::device::{self, DeviceState, Faults, Modifier};
use crate::fiscal::error::DeviceFault;
use crate::fiscal::text::{format_amount, from_cp1251, to_cp1251};
use crate::fiscal::zfp::{ITEM_TEXT_LEN, fault_ack};

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
    matches!(cmd, 0x30 | 0x31 | 0x33 | 0x35 | 0x36 | 0x38 | 0x39 | 0x3A)
}

/// The answer to a ping: ready, or out of paper.
pub fn ping_answer(faults: &Faults) -> u8 {
    if faults.paper_out { 0x42 } else { 0x40 }
}

/// The 7 status bytes of command 0x20.
pub fn status_bytes(state: &DeviceState, faults: &Faults) -> Vec<u8> {
    let mut s = vec![0x80u8; 7];
    if faults.cover_open {
        s[0] |= 0x04; // printer not ready
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
    let text = from_cp1251(data);
    if prints(cmd) && faults.paper_out {
        return ack(Err(DeviceFault::PaperOut));
    }
    if prints(cmd) && faults.cover_open {
        return ack(Err(DeviceFault::PrinterFault));
    }
    match cmd {
        0x20 => ZfpOutcome::Data(status_bytes(state, faults)),
        0x21 => ZfpOutcome::Data(to_cp1251(&format!("{};1.00", state.model))),
        0x60 => ZfpOutcome::Data(to_cp1251(&format!("{};{}", state.serial, state.fm_number))),
        0x68 => ZfpOutcome::Data(
            state
                .now()
                .format("%d-%m-%Y %H:%M")
                .to_string()
                .into_bytes(),
        ),
        0x48 => ack(
            chrono::NaiveDateTime::parse_from_str(text.trim(), "%d-%m-%y %H:%M:%S")
                .map(|to| state.set_clock(to))
                .map_err(|_| DeviceFault::Syntax),
        ),
        0x3A => ack(device::op_duplicate(state)),
        0x72 if text == "B" => {
            let now = state.now();
            let (number, total) = state
                .issued
                .iter()
                .rev()
                .find(|r| !r.cancelled)
                .map_or((0, 0), |r| (r.number, r.total));
            let qr = format!(
                "{}*{number:07}*{}*{}*{}",
                state.fm_number,
                now.format("%Y-%m-%d"),
                now.format("%H:%M:%S"),
                format_amount(total)
            );
            ZfpOutcome::Data(qr.into_bytes())
        }
        0x30 => ack(open(state, faults, &text, check_unp_serial)),
        0x31 => ack(sale(state, &text)),
        0x33 => ack(subtotal(state, &text)),
        0x35 => ack(payment(state, &text)),
        0x38 => ack(device::op_close(state).map(drop)),
        0x36 => ack(device::op_payment(state, None)
            .and_then(|_| device::op_close(state))
            .map(drop)),
        0x39 => ack(device::op_cancel(state)),
        _ => ack(Err(DeviceFault::InvalidCommand)),
    }
}

fn ack(result: Result<(), DeviceFault>) -> ZfpOutcome {
    match result {
        Ok(()) => ZfpOutcome::Ack(0x30, 0x30),
        Err(f) => {
            let (a, b) = fault_ack(f);
            ZfpOutcome::Ack(a, b)
        }
    }
}

fn open(
    state: &mut DeviceState,
    faults: &Faults,
    text: &str,
    check_serial: bool,
) -> Result<(), DeviceFault> {
    if !text.contains('$') {
        // Storno: Op;Pwd;Format;VAT;D;Reason;RcpNum;RcpDateTime;FMNum;UNP
        if let [op, pwd, _format, _vat, "D", reason, doc, _dt, fm, unp] =
            text.split(';').collect::<Vec<_>>()[..]
        {
            let storno = device::StornoRequest {
                doc: doc.parse().map_err(|_| DeviceFault::Syntax)?,
                fm: fm.to_string(),
                reason: reason.parse().map_err(|_| DeviceFault::Syntax)?,
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
        return Err(DeviceFault::Syntax);
    };
    device::op_open(state, faults, op, Some(pwd), unp, check_serial, None).map(drop)
}

fn sale(state: &mut DeviceState, text: &str) -> Result<(), DeviceFault> {
    let [name, letter, rest] = text.split(';').collect::<Vec<_>>()[..] else {
        return Err(DeviceFault::Syntax);
    };
    if name.chars().count() != ITEM_TEXT_LEN {
        return Err(DeviceFault::Syntax);
    }
    let mut letters = letter.chars();
    let (Some(l), None) = (letters.next(), letters.next()) else {
        return Err(DeviceFault::Syntax);
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

fn subtotal(state: &mut DeviceState, text: &str) -> Result<(), DeviceFault> {
    let (head, value) = match text.split_once(':') {
        Some((h, v)) => (h, -device::amount(v)?),
        None => (text, 0),
    };
    if head.split(';').count() != 2 {
        return Err(DeviceFault::Syntax);
    }
    device::op_subtotal(state, value).map(drop)
}

fn payment(state: &mut DeviceState, text: &str) -> Result<(), DeviceFault> {
    let [kind, change, amount] = text.split(';').collect::<Vec<_>>()[..] else {
        return Err(DeviceFault::Syntax);
    };
    let kind: u8 = kind.parse().map_err(|_| DeviceFault::Syntax)?;
    if kind > 11 || !matches!(change, "0" | "1") {
        return Err(DeviceFault::Syntax);
    }
    let amount = device::amount(amount.trim_end_matches('*'))?;
    device::op_payment(state, Some(amount)).map(drop)
}
