//! The emulated device's state and command execution for the Datecs-style families: the
//! receipt state machine, validation, device rounding and status bytes.

use serde::{Deserialize, Serialize};

use super::fields::{
    decimal as parse_decimal, decode_text, encode_text, money, round_div, unp_parts,
};
use super::wire::Line;
use crate::config::FiscalProtocol;

/// Most sales one receipt takes.
pub const MAX_SALES: usize = 512;
/// Largest line amount (9 999 999.99) in stotinki.
pub const MAX_LINE: i64 = 999_999_999;

/// Why the emulated device refuses a command. Each family reports it its own way: Datecs X
/// with a negative error code (Datecs' error list, PROTOCOLS.md §2.7), the old Datecs
/// framing with status bits (§2.5), Tremol with two ACK status digits (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// End of paper.
    PaperOut,
    /// Cover open.
    CoverOpen,
    /// Printing mechanism failure.
    PrinterFault,
    /// Fiscal memory full.
    FiscalMemoryFull,
    /// A fiscal receipt is open.
    ReceiptAlreadyOpen,
    /// No fiscal receipt is open.
    ReceiptNotOpen,
    /// Payment has started.
    PaymentStarted,
    /// Payment does not cover the total.
    PaymentIncomplete,
    /// Not permitted in the current state.
    NotPermitted,
    /// Wrong operator password.
    WrongPassword,
    /// Bad field syntax.
    Syntax,
    /// Unknown command.
    InvalidCommand,
    /// Disabled VAT group.
    ForbiddenVat,
    /// Quantity × price overflow.
    Overflow,
}

impl Refusal {
    /// The Datecs X error code (Datecs' list of negative codes, PROTOCOLS.md §2.7).
    pub fn x_code(self) -> i32 {
        match self {
            Refusal::PaperOut => -112006,
            Refusal::CoverOpen => -112007,
            Refusal::PrinterFault => -112008,
            Refusal::FiscalMemoryFull => -100114,
            Refusal::ReceiptAlreadyOpen => -111015,
            Refusal::ReceiptNotOpen => -111016,
            Refusal::PaymentStarted => -111018,
            Refusal::PaymentIncomplete => -111064,
            Refusal::NotPermitted => -112002,
            Refusal::WrongPassword => -102002,
            Refusal::Syntax => -112001,
            Refusal::InvalidCommand => -112000,
            Refusal::ForbiddenVat => -111005,
            Refusal::Overflow => -111006,
        }
    }

    /// Tremol's ACK digits (first: device error, second: command error; PROTOCOLS.md §3.1).
    pub fn tremol_digits(self) -> (u8, u8) {
        match self {
            Refusal::PaperOut => (0x31, 0x30),
            Refusal::Overflow => (0x30, 0x35),
            Refusal::ReceiptAlreadyOpen => (0x34, 0x30),
            Refusal::PaymentIncomplete => (0x30, 0x38),
            Refusal::PaymentStarted => (0x37, 0x30),
            Refusal::FiscalMemoryFull => (0x38, 0x30),
            Refusal::WrongPassword => (0x39, 0x30),
            // "overheated" is the nearest printer condition Tremol's digits name.
            Refusal::PrinterFault | Refusal::CoverOpen => (0x3C, 0x30),
            Refusal::InvalidCommand => (0x30, 0x31),
            Refusal::Syntax | Refusal::ForbiddenVat => (0x30, 0x34),
            Refusal::ReceiptNotOpen => (0x30, 0x37),
            Refusal::NotPermitted => (0x30, 0x32),
        }
    }
}

/// Command codes of one Datecs-style family (PROTOCOLS.md §1, §2.6, §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandTable {
    /// Opens a fiscal receipt (Eltrade: 90h).
    pub open: u8,
    /// Cancels the open receipt (Daisy, Incotex: 82h).
    pub cancel: u8,
    /// Opens a storno receipt when it has a command of its own (X: 2Bh, P and C: 2Eh).
    pub storno: Option<u8>,
}

/// The command table of `protocol`.
pub fn commands(protocol: FiscalProtocol) -> CommandTable {
    use FiscalProtocol::*;
    CommandTable {
        open: if protocol == Eltrade { 0x90 } else { 0x30 },
        cancel: if matches!(protocol, Daisy | Incotex) {
            0x82
        } else {
            0x3C
        },
        storno: match protocol {
            DatecsX => Some(0x2B),
            DatecsP | DatecsC => Some(0x2E),
            _ => None,
        },
    }
}

/// Characters of an item name the family prints, where its document says: Datecs X 72,
/// Datecs P 34 (its models print 34–42), Datecs C 22, Tremol 34 of its 36-character field
/// (PROTOCOLS.md §3.1, §4 item 7).
pub fn printed_width(protocol: FiscalProtocol) -> Option<usize> {
    match protocol {
        FiscalProtocol::DatecsX => Some(72),
        FiscalProtocol::DatecsP | FiscalProtocol::TremolZfp => Some(34),
        FiscalProtocol::DatecsC => Some(22),
        _ => None,
    }
}

/// The line format of `protocol`.
pub fn line_of(protocol: FiscalProtocol) -> Line {
    match protocol {
        FiscalProtocol::DatecsX => Line::DatecsX,
        FiscalProtocol::TremolZfp => Line::Tremol,
        _ => Line::DatecsOld,
    }
}

/// A sale registered on the open receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoldLine {
    /// Item text as printed on paper.
    pub text: String,
    /// Characters the host sent that did not fit on paper (spaces of padding not counted).
    #[serde(default)]
    pub lost_on_paper: usize,
    /// Tax group 1–8.
    pub group: u8,
    /// Unit price in stotinki.
    pub price: i64,
    /// Quantity in thousandths.
    pub quantity_milli: i64,
    /// Line total after its modifier, in stotinki.
    pub total: i64,
}

/// The receipt currently open on the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenReceipt {
    /// Document number.
    pub number: u64,
    /// УНП it was opened with (empty when none).
    pub unp: String,
    /// Operator number.
    pub operator: u32,
    /// Sales so far.
    pub lines: Vec<SoldLine>,
    /// Subtotal discounts so far, in stotinki.
    pub discounts: i64,
    /// Paid so far, in stotinki.
    pub paid: i64,
    /// For a storno receipt: the number of the receipt it reverses.
    #[serde(default)]
    pub storno_of: Option<u64>,
}

impl OpenReceipt {
    /// Receipt total so far.
    pub fn total(&self) -> i64 {
        self.lines.iter().map(|l| l.total).sum::<i64>() - self.discounts
    }
}

/// A receipt the device finished (closed or cancelled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedReceipt {
    /// Document number.
    pub number: u64,
    /// УНП.
    pub unp: String,
    /// Total in stotinki.
    pub total: i64,
    /// Number of sales.
    pub sales: usize,
    /// True when cancelled instead of closed.
    pub cancelled: bool,
    /// For a storno receipt: the number of the receipt it reverses.
    #[serde(default)]
    pub storno_of: Option<u64>,
    /// ISO code of the main currency the amounts were printed in (`BGN` in modes 0 and
    /// 1, `EUR` in modes 2 and 3).
    #[serde(default)]
    pub currency: String,
    /// The total in the second currency, printed below the main one (modes 1 and 2).
    #[serde(default)]
    pub second_total: Option<SecondTotal>,
}

/// The receipt total a device in dual display prints in its second currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondTotal {
    /// ISO code of the second currency.
    pub currency: String,
    /// The total converted at the fixed rate, in hundredths, rounded half away from zero.
    pub total: i64,
}

/// Leva per euro in hundred-thousandths: 1 EUR = 1.95583 BGN (EURO.md).
const LEVA_PER_EURO_E5: i64 = 195_583;

/// The euro mode of a new device: 2, euro main and leva second, the state through
/// 31 December 2026 (EURO.md).
pub const DEFAULT_CURRENCY_MODE: u8 = 2;

fn default_currency_mode() -> u8 {
    DEFAULT_CURRENCY_MODE
}

/// Persistent identity and counters of the emulated device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    /// Protocol family.
    pub protocol: FiscalProtocol,
    /// Serial number.
    pub serial: String,
    /// Fiscal memory number.
    pub fm_number: String,
    /// Model name.
    pub model: String,
    /// VAT rate per group А–З in hundredths of a percent; None = disabled.
    pub vat_rates: Vec<Option<u32>>,
    /// Password of every operator.
    pub operator_password: String,
    /// Last document number issued.
    pub last_document: u64,
    /// Fiscal receipts opened since the last Z report.
    #[serde(default)]
    pub fiscal_receipts: u64,
    /// Sequence part of the last УНП a receipt was opened with.
    pub last_unp_sequence: u32,
    /// The open receipt.
    pub open: Option<OpenReceipt>,
    /// Every finished receipt, oldest first.
    pub issued: Vec<IssuedReceipt>,
    /// Receipt numbers a duplicate was printed for (one duplicate each).
    #[serde(default)]
    pub duplicates: Vec<u64>,
    /// Device clock minus the host clock, in seconds.
    #[serde(default)]
    pub clock_offset_secs: i64,
    /// Power was lost while a receipt was open (Tremol reports it until the receipt ends).
    #[serde(default)]
    pub power_down_in_receipt: bool,
    /// Wrong operator passwords in a row since power-on (Datecs P locks at 3).
    #[serde(skip)]
    pub wrong_passwords: u32,
    /// The production parameter for the euro (N-18 as amended, EURO.md): 0 leva only,
    /// 1 leva main with euro second, 2 euro main with leva second, 3 euro only. Amounts
    /// the host sends are taken in the main currency; the device adds the second itself.
    #[serde(default = "default_currency_mode")]
    pub currency_mode: u8,
}

impl DeviceState {
    /// A new device of `protocol` with the family's example identity.
    pub fn new(protocol: FiscalProtocol) -> Self {
        let (serial, model) = match protocol {
            FiscalProtocol::DatecsX => ("DT279013", "FP-700X"),
            FiscalProtocol::DatecsP => ("DT000600", "FP-2000"),
            FiscalProtocol::DatecsC => ("DT517985", "DP-25"),
            FiscalProtocol::Daisy => ("DY000600", "COMPACT S"),
            FiscalProtocol::Eltrade => ("ED311662", "A3"),
            FiscalProtocol::Incotex => ("IN015061", "181"),
            FiscalProtocol::TremolZfp => ("ZK123456", "M20"),
        };
        Self {
            protocol,
            serial: serial.to_string(),
            fm_number: format!("02{}", &serial[2..]),
            model: model.to_string(),
            vat_rates: vec![
                Some(0),
                Some(2000),
                Some(2000),
                Some(900),
                None,
                None,
                None,
                None,
            ],
            operator_password: "0000".to_string(),
            last_document: 0,
            fiscal_receipts: 0,
            last_unp_sequence: 0,
            open: None,
            issued: Vec::new(),
            duplicates: Vec::new(),
            clock_offset_secs: 0,
            power_down_in_receipt: false,
            wrong_passwords: 0,
            currency_mode: DEFAULT_CURRENCY_MODE,
        }
    }

    /// ISO code of the main currency: leva in modes 0 and 1, euro in 2 and 3.
    pub fn main_currency(&self) -> &'static str {
        if self.currency_mode <= 1 {
            "BGN"
        } else {
            "EUR"
        }
    }

    /// What the device prints in its second currency for a receipt of `total` in the
    /// main one: euro in mode 1, leva in mode 2, nothing in modes 0 and 3.
    pub fn second_total(&self, total: i64) -> Option<SecondTotal> {
        let (currency, total) = match self.currency_mode {
            1 => ("EUR", round_div(total * 100_000, LEVA_PER_EURO_E5)),
            2 => ("BGN", round_div(total * LEVA_PER_EURO_E5, 100_000)),
            _ => return None,
        };
        Some(SecondTotal {
            currency: currency.to_string(),
            total,
        })
    }

    /// The device clock.
    pub fn now(&self) -> chrono::NaiveDateTime {
        chrono::Local::now().naive_local() + chrono::Duration::seconds(self.clock_offset_secs)
    }

    /// Sets the device clock.
    pub fn set_clock(&mut self, to: chrono::NaiveDateTime) {
        self.clock_offset_secs = (to - chrono::Local::now().naive_local()).num_seconds();
    }

    /// Closed (not cancelled) storno receipts reversing receipt `number`.
    pub fn stornos_of(&self, number: u64) -> Vec<&IssuedReceipt> {
        self.issued
            .iter()
            .filter(|r| r.storno_of == Some(number) && !r.cancelled)
            .collect()
    }

    /// Closed (not cancelled) sale receipts opened with `unp`.
    pub fn printed_with(&self, unp: &str) -> usize {
        self.issued
            .iter()
            .filter(|r| r.unp == unp && !r.cancelled && r.storno_of.is_none())
            .count()
    }
}

/// Switchable faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Out of paper.
    pub paper_out: bool,
    /// Cover open.
    pub cover_open: bool,
    /// Fiscal memory full.
    pub fm_full: bool,
}

/// Result of executing one command: reply data and the fault, if refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Reply data.
    pub data: Vec<u8>,
    /// The refusal.
    pub fault: Option<Refusal>,
}

/// True for commands that print (the device sends SYN while they run).
pub fn prints(protocol: FiscalProtocol, cmd: u8) -> bool {
    let table = commands(protocol);
    cmd == table.open
        || cmd == table.cancel
        || Some(cmd) == table.storno
        || matches!(cmd, 0x31 | 0x33 | 0x35 | 0x38 | 0x6D)
}

/// The status bytes the device sends with a reply.
/// Bits (PROTOCOLS.md §2.5, shared by groups A, B and C for bytes 0, 1, 2 and 4): 0.0
/// syntax error, 0.1 invalid command, 0.5 general error, 0.6 cover open, 1.1 command not
/// permitted, 2.0 end of paper, 2.3 fiscal receipt open, 4.1/4.2 numbers set, 4.4 fiscal
/// memory full (4.5 its OR bit), 5.1/5.3/5.4 formatted, fiscalised, VAT set.
pub fn status_bytes(
    line: Line,
    state: &DeviceState,
    faults: &Faults,
    fault: Option<Refusal>,
) -> Vec<u8> {
    let mut s = vec![0x80u8; line.status_bytes()];
    match fault {
        Some(Refusal::Syntax) => s[0] |= 0x01,
        Some(Refusal::InvalidCommand) => s[0] |= 0x02,
        Some(_) => s[1] |= 0x02,
        None => {}
    }
    if faults.cover_open {
        s[0] |= 0x40;
    }
    if faults.paper_out {
        s[2] |= 0x01;
    }
    if state.open.is_some() {
        s[2] |= 0x08;
    }
    if s[0] & 0x13 != 0 || s[1] & 0x0F != 0 || s[2] & 0x01 != 0 {
        s[0] |= 0x20;
    }
    s[4] |= 0x06;
    if faults.fm_full {
        s[4] |= 0x30;
    }
    s[5] |= 0x1A;
    s
}

type Res = Result<String, Refusal>;

/// Parses an amount with at most 2 decimals.
pub fn amount(text: &str) -> Result<i64, Refusal> {
    decimal(text, 2)
}

/// Strict decimal: digits, an optional sign and at most `scale` decimals.
pub fn decimal(text: &str, scale: usize) -> Result<i64, Refusal> {
    let t = text.trim();
    let frac = t.split_once('.').map_or("", |(_, f)| f);
    if t.is_empty() || frac.len() > scale {
        return Err(Refusal::Syntax);
    }
    parse_decimal(t, scale).ok_or(Refusal::Syntax)
}

/// Executes one request on the device.
pub fn execute(
    state: &mut DeviceState,
    faults: &Faults,
    cmd: u8,
    data: &[u8],
    check_unp_serial: bool,
) -> Outcome {
    let protocol = state.protocol;
    let x = protocol == FiscalProtocol::DatecsX;
    let text = decode_text(data);
    let fields: Option<Vec<&str>> = if !x || text.is_empty() {
        Some(Vec::new())
    } else {
        // X fields must each end with TAB (§2.3).
        text.strip_suffix('\t')
            .map(|body| body.split('\t').collect())
    };
    let Some(f) = fields else {
        // A field list that does not end in TAB is a syntax error of the frame's data:
        // the device answers with an empty data field and the syntax bit (§2.1).
        return Outcome {
            data: Vec::new(),
            fault: Some(Refusal::Syntax),
        };
    };
    let printing = prints(protocol, cmd);
    let result: Res = if printing && faults.paper_out {
        Err(Refusal::PaperOut)
    } else if printing && faults.cover_open {
        Err(Refusal::CoverOpen)
    } else {
        dispatch(state, faults, cmd, &text, &f, x, check_unp_serial)
    };
    match result {
        Ok(reply) => {
            let body = if x { format!("0\t{reply}") } else { reply };
            Outcome {
                data: encode_text(&body),
                fault: None,
            }
        }
        Err(fault) => {
            let body = if x {
                format!("{}\t", fault.x_code())
            } else {
                String::new()
            };
            Outcome {
                data: body.into_bytes(),
                fault: Some(fault),
            }
        }
    }
}

fn dispatch(
    state: &mut DeviceState,
    faults: &Faults,
    cmd: u8,
    text: &str,
    f: &[&str],
    x: bool,
    check_unp_serial: bool,
) -> Res {
    let protocol = state.protocol;
    match cmd {
        0x4A => Ok(String::new()),
        0x5A => {
            let arg = if x {
                f.first().copied().unwrap_or("")
            } else {
                text
            };
            if arg.trim() != "1" {
                return Err(Refusal::Syntax);
            }
            let (name, fw, date, time) = (&state.model, "1.00BG", "01Jan20", "1200");
            Ok(if x {
                format!(
                    "{name}\t{fw}\t{date}\t{time}\tA1B2\t00000000\t{}\t{}\t",
                    state.serial, state.fm_number
                )
            } else {
                format!(
                    "{name},{fw} {date} {time},A1B2,00000000,{},{}",
                    state.serial, state.fm_number
                )
            })
        }
        c if c == commands(protocol).open => open(state, faults, text, f, x, check_unp_serial),
        0x2B if x => storno(state, faults, text, f, x, check_unp_serial),
        0x2E if matches!(protocol, FiscalProtocol::DatecsP | FiscalProtocol::DatecsC) => {
            storno(state, faults, text, f, x, check_unp_serial)
        }
        0x31 => sale(state, text, f, x),
        0x33 => subtotal(state, text, f, x),
        0x35 => payment(state, text, f, x),
        0x38 => {
            let number = op_close(state)?;
            Ok(if x {
                format!("{number}\t")
            } else {
                format!("{number:04},{:04}", state.fiscal_receipts)
            })
        }
        c if c == commands(protocol).cancel => op_cancel(state).map(|()| String::new()),
        0x4C => {
            let (is_open, number, items, total, paid) = match &state.open {
                Some(o) => (1, o.number, o.lines.len(), o.total(), o.paid),
                None => (0, state.last_document, 0, 0, 0),
            };
            if x {
                Ok(format!(
                    "{is_open}\t{number}\t{items}\t{}\t{}\t",
                    money(total),
                    money(paid)
                ))
            } else if text != "T" && !text.is_empty() {
                Err(Refusal::Syntax)
            } else {
                Ok(format!("{is_open},{items},{total:+09},{paid:+09}"))
            }
        }
        0x71 => Ok(format!("{:07}", state.last_document)),
        0x32 if x => {
            let rates: Vec<String> = state
                .vat_rates
                .iter()
                .map(|r| money(r.map_or(10_000, i64::from)))
                .collect();
            Ok(format!("0\t{}\t01-01-20\t", rates.join("\t")))
        }
        0x3E => {
            let now = state.now().format("%d-%m-%y %H:%M:%S").to_string();
            Ok(if x { format!("{now}\t") } else { now })
        }
        0x3D => {
            let value = if x {
                f.first().copied().unwrap_or("")
            } else {
                text
            };
            let to = chrono::NaiveDateTime::parse_from_str(value.trim(), "%d-%m-%y %H:%M:%S")
                .map_err(|_| Refusal::Syntax)?;
            state.set_clock(to);
            Ok(String::new())
        }
        0x6D => {
            if !x && text != "1" {
                return Err(Refusal::Syntax);
            }
            op_duplicate(state).map(|()| String::new())
        }
        _ => Err(Refusal::InvalidCommand),
    }
}

fn open(
    state: &mut DeviceState,
    faults: &Faults,
    text: &str,
    f: &[&str],
    x: bool,
    check_serial: bool,
) -> Res {
    if state.protocol == FiscalProtocol::Daisy && text.contains('\t') {
        return daisy_storno(state, faults, text, check_serial);
    }
    let parts: Vec<&str> = if x {
        f.to_vec()
    } else {
        text.split(',').collect()
    };
    if let (FiscalProtocol::Eltrade, [op, unp, "S", fm, reason, doc, _time, ..]) =
        (state.protocol, parts.as_slice())
    {
        let reason = match *reason {
            "O" => 0,
            "R" => 1,
            "T" => 2,
            _ => return Err(Refusal::Syntax),
        };
        let storno = StornoRequest {
            doc: doc.parse().map_err(|_| Refusal::Syntax)?,
            fm: fm.to_string(),
            reason,
        };
        let number = op_open(
            state,
            faults,
            op,
            None,
            Some(unp),
            check_serial,
            Some(storno),
        )?;
        return Ok(format!("{number:04},{:04}", state.fiscal_receipts));
    }
    // (operator, password, УНП) per family (PROTOCOLS.md §1 table).
    let (op, pwd, unp): (&str, Option<&str>, Option<&str>) =
        match (state.protocol, parts.as_slice()) {
            (FiscalProtocol::DatecsX, [op, pwd, unp, _till, _inv]) => (op, Some(pwd), Some(unp)),
            (FiscalProtocol::DatecsX, [op, pwd, _till, _inv]) => (op, Some(pwd), None),
            (FiscalProtocol::DatecsP, [op, pwd, _till, rest @ ..]) => {
                (op, Some(pwd), rest.last().copied())
            }
            (FiscalProtocol::DatecsC, [op, pwd, unp, _till, ..]) => (op, Some(pwd), Some(unp)),
            (FiscalProtocol::Daisy, [op, pwd, unp]) => (op, Some(pwd), Some(unp)),
            (FiscalProtocol::Eltrade, [op, unp, ..]) => (op, None, Some(unp)),
            (FiscalProtocol::Incotex, [op, unp, "0"]) => (op, None, Some(unp)),
            _ => return Err(Refusal::Syntax),
        };
    let number = op_open(state, faults, op, pwd, unp, check_serial, None)?;
    let fiscal = state.fiscal_receipts;
    Ok(if x {
        format!("{number}\t")
    } else {
        format!("{number:04},{fiscal:04}")
    })
}

/// What a storno-opening command names: the reversed receipt, the FM number, the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StornoRequest {
    /// Number of the receipt reversed.
    pub doc: u64,
    /// Fiscal memory number given.
    pub fm: String,
    /// Reason code 0–2.
    pub reason: u8,
}

/// Daisy storno: `op,pwd,UNP<TAB>R<reason>,<doc>,<date><TAB><FM>`.
fn daisy_storno(state: &mut DeviceState, faults: &Faults, text: &str, check_serial: bool) -> Res {
    let [head, spec, fm] = text.split('\t').collect::<Vec<_>>()[..] else {
        return Err(Refusal::Syntax);
    };
    let [op, pwd, unp] = head.split(',').collect::<Vec<_>>()[..] else {
        return Err(Refusal::Syntax);
    };
    let [reason, doc, _date] = spec.split(',').collect::<Vec<_>>()[..] else {
        return Err(Refusal::Syntax);
    };
    let reason = reason
        .strip_prefix('R')
        .and_then(|r| r.parse().ok())
        .ok_or(Refusal::Syntax)?;
    let storno = StornoRequest {
        doc: doc.parse().map_err(|_| Refusal::Syntax)?,
        fm: fm.to_string(),
        reason,
    };
    let number = op_open(
        state,
        faults,
        op,
        Some(pwd),
        Some(unp),
        check_serial,
        Some(storno),
    )?;
    Ok(format!("{number:04},{:04}", state.fiscal_receipts))
}

/// Storno-opening commands of Datecs X (2Bh) and Datecs P/C (2Eh).
fn storno(
    state: &mut DeviceState,
    faults: &Faults,
    text: &str,
    f: &[&str],
    x: bool,
    check_serial: bool,
) -> Res {
    let parts: Vec<&str> = if x {
        f.to_vec()
    } else {
        text.split(',').collect()
    };
    let (op, pwd, unp, reason, doc, fm) = match (state.protocol, parts.as_slice()) {
        (
            FiscalProtocol::DatecsX,
            [
                op,
                pwd,
                _till,
                reason,
                doc,
                _dt,
                fm,
                _inv,
                _to_inv,
                _text,
                unp,
            ],
        ) => (
            *op,
            *pwd,
            *unp,
            reason.parse().map_err(|_| Refusal::Syntax)?,
            *doc,
            *fm,
        ),
        (FiscalProtocol::DatecsP, [op, pwd, _till, typed_doc, unp, _dt, fm]) => {
            let reason = match typed_doc.chars().next() {
                Some('E') => 0,
                Some('R') => 1,
                Some('T') => 2,
                _ => return Err(Refusal::Syntax),
            };
            (*op, *pwd, *unp, reason, &typed_doc[1..], *fm)
        }
        (FiscalProtocol::DatecsC, [op, pwd, unp, _till, reason, doc, _dt, fm]) => (
            *op,
            *pwd,
            *unp,
            reason.parse().map_err(|_| Refusal::Syntax)?,
            *doc,
            *fm,
        ),
        _ => return Err(Refusal::Syntax),
    };
    let storno = StornoRequest {
        doc: doc.parse().map_err(|_| Refusal::Syntax)?,
        fm: fm.to_string(),
        reason,
    };
    let number = op_open(
        state,
        faults,
        op,
        Some(pwd),
        Some(unp),
        check_serial,
        Some(storno),
    )?;
    Ok(if x {
        format!("{number}\t")
    } else {
        format!("{number:04},{:04}", state.fiscal_receipts)
    })
}

/// Opens a fiscal (or, with `storno`, a storno) receipt after validating operator,
/// password and УНП; returns its number.
pub fn op_open(
    state: &mut DeviceState,
    faults: &Faults,
    op: &str,
    pwd: Option<&str>,
    unp: Option<&str>,
    check_serial: bool,
    storno: Option<StornoRequest>,
) -> Result<u64, Refusal> {
    let max_op = if state.protocol == FiscalProtocol::DatecsP {
        16
    } else {
        30
    };
    let operator: u32 = op.trim().parse().map_err(|_| Refusal::Syntax)?;
    if !(1..=max_op).contains(&operator) {
        return Err(Refusal::Syntax);
    }
    let unp = match unp {
        Some(u) => {
            let (serial, sequence) = unp_parts(u).ok_or(Refusal::Syntax)?;
            if check_serial && serial != state.serial {
                return Err(Refusal::Syntax);
            }
            Some((u.to_string(), sequence))
        }
        None => None,
    };
    // Datecs P: "after three wrong operator passwords the printer is locked" until it is
    // switched off and on (the counter is not persisted).
    let locks = state.protocol == FiscalProtocol::DatecsP;
    if locks && state.wrong_passwords >= 3 {
        return Err(Refusal::NotPermitted);
    }
    if pwd.is_some_and(|p| p != state.operator_password) {
        state.wrong_passwords += 1;
        return Err(Refusal::WrongPassword);
    }
    state.wrong_passwords = 0;
    if state.open.is_some() {
        return Err(Refusal::ReceiptAlreadyOpen);
    }
    if faults.fm_full {
        return Err(Refusal::FiscalMemoryFull);
    }
    if let Some(st) = &storno {
        // The reversed receipt must exist on this device, be a sale, and carry this УНП.
        let original = state
            .issued
            .iter()
            .find(|r| r.number == st.doc && !r.cancelled && r.storno_of.is_none())
            .ok_or(Refusal::NotPermitted)?;
        let same_unp = unp.as_ref().is_some_and(|(u, _)| *u == original.unp);
        if st.reason > 2 || !same_unp || st.fm.trim() != state.fm_number {
            return Err(Refusal::NotPermitted);
        }
    }
    state.last_document += 1;
    state.fiscal_receipts += 1;
    let number = state.last_document;
    // A storno carries the original sale's УНП; only sales move the last sequence.
    if let (Some((_, sequence)), None) = (&unp, &storno) {
        state.last_unp_sequence = *sequence;
    }
    state.open = Some(OpenReceipt {
        number,
        unp: unp.map(|(u, _)| u).unwrap_or_default(),
        operator,
        lines: Vec::new(),
        discounts: 0,
        paid: 0,
        storno_of: storno.map(|s| s.doc),
    });
    Ok(number)
}

fn receipt_for_sales(state: &mut DeviceState) -> Result<&mut OpenReceipt, Refusal> {
    let open = state.open.as_mut().ok_or(Refusal::ReceiptNotOpen)?;
    if open.paid > 0 {
        return Err(Refusal::PaymentStarted);
    }
    Ok(open)
}

/// A price modifier: percent (hundredths, signed) or amount (stotinki, signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// Percent in hundredths; negative is a discount.
    Percent(i64),
    /// Amount in stotinki; negative is a discount.
    Amount(i64),
}

fn sale(state: &mut DeviceState, text: &str, f: &[&str], x: bool) -> Res {
    let (name, group, price, qty, modifier) = if x {
        let [name, tax, price, qty, dtype, dval, _dept, ..] = f else {
            return Err(Refusal::Syntax);
        };
        if f.len() > 8 {
            return Err(Refusal::Syntax);
        }
        let group: u8 = tax.parse().map_err(|_| Refusal::Syntax)?;
        let qty = if qty.is_empty() {
            1000
        } else {
            decimal(qty, 3)?
        };
        let modifier = match *dtype {
            "" | "0" => None,
            "1" => Some(Modifier::Percent(decimal(dval, 2)?)),
            "2" => Some(Modifier::Percent(-decimal(dval, 2)?)),
            "3" => Some(Modifier::Amount(amount(dval)?)),
            "4" => Some(Modifier::Amount(-amount(dval)?)),
            _ => return Err(Refusal::Syntax),
        };
        (name.to_string(), group, amount(price)?, qty, modifier)
    } else {
        let (name, rest) = text.split_once('\t').ok_or(Refusal::Syntax)?;
        let mut chars = rest.chars();
        let group = tax_group_letter(chars.next().ok_or(Refusal::Syntax)?)?;
        let rest = chars.as_str();
        let (body, modifier) = match rest.find([',', ';']) {
            Some(i) => {
                let value = &rest[i + 1..];
                let m = if rest.as_bytes()[i] == b',' {
                    Modifier::Percent(decimal(value, 2)?)
                } else {
                    Modifier::Amount(amount(value)?)
                };
                (&rest[..i], Some(m))
            }
            None => (rest, None),
        };
        let (price, qty) = match body.split_once('*') {
            Some((p, q)) => (amount(p)?, decimal(q, 3)?),
            None => (amount(body)?, 1000),
        };
        (name.replace('\n', " "), group, price, qty, modifier)
    };
    let number = op_sale(state, name, group, price, qty, modifier)?;
    Ok(if x {
        format!("{number}\t")
    } else {
        String::new()
    })
}

/// The tax group of a VAT letter: Cyrillic А–З or Latin A–H.
pub fn tax_group_letter(letter: char) -> Result<u8, Refusal> {
    match letter {
        'А'..='З' => Ok((letter as u32 - 'А' as u32 + 1) as u8),
        'A'..='H' => Ok((letter as u32 - 'A' as u32 + 1) as u8),
        _ => Err(Refusal::Syntax),
    }
}

/// Registers a sale with the device's rounding; returns the receipt number.
pub fn op_sale(
    state: &mut DeviceState,
    name: String,
    group: u8,
    price: i64,
    qty: i64,
    modifier: Option<Modifier>,
) -> Result<u64, Refusal> {
    if !(1..=8).contains(&group) {
        return Err(Refusal::Syntax);
    }
    let protocol = state.protocol;
    let enabled = state
        .vat_rates
        .get(usize::from(group) - 1)
        .copied()
        .flatten()
        .is_some();
    let open = receipt_for_sales(state)?;
    if !enabled {
        return Err(Refusal::ForbiddenVat);
    }
    if open.lines.len() >= MAX_SALES {
        return Err(Refusal::NotPermitted);
    }
    if price < 0 || qty <= 0 {
        return Err(Refusal::Syntax);
    }
    let base = price
        .checked_mul(qty)
        .map(|v| round_div(v, 1000))
        .ok_or(Refusal::Overflow)?;
    if base > MAX_LINE {
        return Err(Refusal::Overflow);
    }
    if base == 0 {
        return Err(Refusal::NotPermitted);
    }
    let delta = match modifier {
        Some(Modifier::Percent(h)) if h.abs() <= 9999 => round_div(base * h, 10_000),
        Some(Modifier::Percent(_)) => return Err(Refusal::Syntax),
        Some(Modifier::Amount(value)) => value,
        None => 0,
    };
    let total = base + delta;
    if total < 0 {
        return Err(Refusal::NotPermitted);
    }
    let name = name.trim_end();
    let (text, lost_on_paper) = match printed_width(protocol) {
        Some(w) if name.chars().count() > w => (
            name.chars().take(w).collect::<String>(),
            name.chars().count() - w,
        ),
        _ => (name.to_string(), 0),
    };
    open.lines.push(SoldLine {
        text,
        lost_on_paper,
        group,
        price,
        quantity_milli: qty,
        total,
    });
    Ok(open.number)
}

fn subtotal(state: &mut DeviceState, text: &str, f: &[&str], x: bool) -> Res {
    let discount = if x {
        match f {
            [_print, _display] | [_print, _display, "" | "0", ""] => 0,
            [_print, _display, "4", value] => amount(value)?,
            _ => return Err(Refusal::Syntax),
        }
    } else {
        match text.split_once(';') {
            Some((_, value)) => -amount(value)?,
            None if text.len() <= 2 => 0,
            None => return Err(Refusal::Syntax),
        }
    };
    let (number, sub) = op_subtotal(state, discount)?;
    let sub = money(sub);
    Ok(if x { format!("{number}\t{sub}\t") } else { sub })
}

/// Applies a subtotal discount (stotinki); returns the receipt number and new subtotal.
pub fn op_subtotal(state: &mut DeviceState, discount: i64) -> Result<(u64, i64), Refusal> {
    let open = receipt_for_sales(state)?;
    if discount < 0 || discount > open.total() {
        return Err(Refusal::NotPermitted);
    }
    open.discounts += discount;
    Ok((open.number, open.total()))
}

fn payment(state: &mut DeviceState, text: &str, f: &[&str], x: bool) -> Res {
    let paid = if x {
        let [mode, value, ..] = f else {
            return Err(Refusal::Syntax);
        };
        if f.len() > 3 || !matches!(*mode, "0" | "1" | "2" | "3" | "4" | "5" | "6") {
            return Err(Refusal::Syntax);
        }
        Some(amount(value)?)
    } else {
        let (_, tender) = text.split_once('\t').ok_or(Refusal::Syntax)?;
        let digits = tender
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .trim_start_matches('+');
        if tender.len() - digits.len() > 2 {
            return Err(Refusal::Syntax);
        }
        if digits.is_empty() {
            None
        } else {
            Some(amount(digits)?)
        }
    };
    let due = op_payment(state, paid)?;
    let (code, shown) = if due > 0 { ("D", due) } else { ("R", -due) };
    Ok(if x {
        format!("{code}\t{}\t", money(shown))
    } else {
        format!("{code}{}", money(shown))
    })
}

/// Registers a payment (None = the rest); returns the amount still due (negative = change).
pub fn op_payment(state: &mut DeviceState, paid: Option<i64>) -> Result<i64, Refusal> {
    let open = state.open.as_mut().ok_or(Refusal::ReceiptNotOpen)?;
    let total = open.total();
    if open.lines.is_empty() || total <= 0 {
        return Err(Refusal::NotPermitted);
    }
    let value = paid.unwrap_or(total - open.paid);
    if value <= 0 {
        return Err(Refusal::Syntax);
    }
    open.paid += value;
    Ok(total - open.paid)
}

/// Closes the receipt when fully paid; returns its number.
pub fn op_close(state: &mut DeviceState) -> Result<u64, Refusal> {
    let open = state.open.as_ref().ok_or(Refusal::ReceiptNotOpen)?;
    if open.lines.is_empty() || open.paid < open.total() {
        return Err(Refusal::PaymentIncomplete);
    }
    if let Some(doc) = open.storno_of {
        // A storno may not return more than the original receipt's total.
        let original = state
            .issued
            .iter()
            .find(|r| r.number == doc)
            .map_or(0, |r| r.total);
        let returned: i64 = state.stornos_of(doc).iter().map(|r| r.total).sum();
        if returned + open.total() > original {
            return Err(Refusal::NotPermitted);
        }
    }
    let open = state.open.take().expect("checked above");
    state.power_down_in_receipt = false;
    let total = open.total();
    let currency = state.main_currency().to_string();
    let second_total = state.second_total(total);
    state.issued.push(IssuedReceipt {
        number: open.number,
        unp: open.unp,
        total,
        sales: open.lines.len(),
        cancelled: false,
        storno_of: open.storno_of,
        currency,
        second_total,
    });
    Ok(open.number)
}

/// Prints the one allowed duplicate of the last closed receipt.
pub fn op_duplicate(state: &mut DeviceState) -> Result<(), Refusal> {
    if state.open.is_some() {
        return Err(Refusal::ReceiptAlreadyOpen);
    }
    let last = state
        .issued
        .iter()
        .rev()
        .find(|r| !r.cancelled)
        .ok_or(Refusal::NotPermitted)?;
    if state.duplicates.contains(&last.number) {
        return Err(Refusal::NotPermitted);
    }
    let number = last.number;
    state.duplicates.push(number);
    Ok(())
}

/// Cancels the receipt when no payment was made.
pub fn op_cancel(state: &mut DeviceState) -> Result<(), Refusal> {
    let open = state.open.as_ref().ok_or(Refusal::ReceiptNotOpen)?;
    if open.paid > 0 {
        return Err(Refusal::PaymentStarted);
    }
    let open = state.open.take().expect("checked above");
    state.power_down_in_receipt = false;
    state.issued.push(IssuedReceipt {
        number: open.number,
        unp: open.unp,
        total: 0,
        sales: open.lines.len(),
        cancelled: true,
        storno_of: open.storno_of,
        currency: state.main_currency().to_string(),
        second_total: None,
    });
    Ok(())
}
