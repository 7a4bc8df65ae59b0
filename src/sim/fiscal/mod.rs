//! Fiscal-device emulator for every protocol family (Datecs-style and Tremol ZFP), served on a
//! pseudo-terminal: strict frame parsing with NAK, the sequence-number replay cache, SYN
//! while printing, the receipt state machine, persistent identity and counters, and fault
//! switches (paper out, cover open, fiscal memory full, no reply, lost replies, power loss).
//!
//! It is written from the protocol documents (the fiscal research notes, PROTOCOLS.md, and
//! the manufacturers' documents they summarise) and shares no code with SkladLink's own
//! fiscal client: its own frame parser and builder (`wire`), command table and refusals
//! (`device`), field formats (`fields`). `tests/architecture.rs` keeps it so.

#![cfg_attr(not(unix), allow(dead_code))]

pub mod device;
pub mod fields;
pub mod wire;
pub mod zfp;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use device::{DeviceState, Faults, IssuedReceipt, OpenReceipt, Refusal, SecondTotal};

use crate::config::FiscalProtocol;
use crate::i18n::{Language, tr, tr_args};
use wire::{Incoming, Line};

/// Why the emulator could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No pseudo-terminal pair (or no thread) could be made.
    #[error("pseudo-terminal: {0}")]
    Pty(String),
    /// The state file could not be read.
    #[error("emulator state {path}: {detail}")]
    State {
        /// File path.
        path: String,
        /// Error text.
        detail: String,
    },
}

impl SimError {
    /// A clear translated message.
    pub fn message(&self, lang: Language) -> String {
        match self {
            SimError::Pty(detail) => tr_args(
                lang,
                "fiscal.error.port_open",
                &[("port", "pty"), ("detail", detail)],
            ),
            SimError::State { path, detail } => tr_args(
                lang,
                "fiscal.error.storage",
                &[("path", path), ("detail", detail)],
            ),
        }
    }
}

/// What the device does with a frame that repeats the sequence number of the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeats {
    /// Sends its last reply again without executing (the Datecs documents; Daisy compares
    /// SEQ and CMD).
    Replay,
    /// Executes it again: Tremol's document describes no duplicate detection.
    Execute,
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash leaves the
/// old or the new state, never half of one.
fn save_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// A fault the emulator can be switched into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Out of paper: printing commands are refused.
    PaperOut,
    /// Cover open: printing commands are refused.
    CoverOpen,
    /// Fiscal memory full: no receipt can be opened.
    FiscalMemoryFull,
    /// The device reads frames but never answers.
    NoReply,
}

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Protocol family to emulate.
    pub protocol: FiscalProtocol,
    /// Folder of the persistent state file; None keeps state in memory only.
    pub state_dir: Option<PathBuf>,
    /// How long printing commands keep the device busy (SYN every 60 ms meanwhile).
    pub print_delay: Duration,
    /// Refuse a УНП whose first 8 characters are not the device serial.
    pub check_unp_serial: bool,
    /// Serial number of a new device (2 letters + 6 digits); None = the family's example.
    /// A device loaded from its state file keeps its own.
    pub serial: Option<String>,
    /// VAT rates programmed in a new device, per group А–З in hundredths of a percent
    /// (None = disabled); None = 0 %, 20 %, 20 %, 9 %, the rest disabled.
    pub vat_rates: Option<Vec<Option<u32>>>,
    /// What a repeated sequence number does: Datecs families replay, Tremol executes.
    pub repeats: Repeats,
    /// Datecs X: answer a syntax error with an empty data field and only the status bit, as
    /// PROTOCOLS.md §2.1 describes, instead of the `-112001` error code.
    pub bare_syntax_errors: bool,
    /// The euro mode 0–3 of a new device (see [`DeviceState::currency_mode`]); None = 2.
    /// A device loaded from its state file keeps its own.
    pub currency_mode: Option<u8>,
}

/// One request the emulator executed, its data bytes exactly as they arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Command code.
    pub command: u8,
    /// Data field as received (Windows-1251 text for item names).
    pub data: Vec<u8>,
}

/// How many executed requests the emulator keeps for [`FiscalEmulator::received`].
const RECEIVED_KEPT: usize = 4096;

impl EmulatorConfig {
    /// Defaults for `protocol`: no state file, no print delay, УНП serial checked.
    pub fn new(protocol: FiscalProtocol) -> Self {
        Self {
            protocol,
            state_dir: None,
            print_delay: Duration::ZERO,
            check_unp_serial: true,
            serial: None,
            vat_rates: None,
            repeats: if protocol == FiscalProtocol::TremolZfp {
                Repeats::Execute
            } else {
                Repeats::Replay
            },
            bare_syntax_errors: false,
            currency_mode: None,
        }
    }
}

/// Path of the state file of `protocol` in `dir`.
pub fn state_path(dir: &Path, protocol: FiscalProtocol) -> PathBuf {
    dir.join(format!("fiscal-device-{protocol:?}.json").to_lowercase())
}

struct Inner {
    state: DeviceState,
    faults: Faults,
    no_reply: bool,
    drop_replies: u32,
    nak_next: u32,
    corrupt_next: u32,
    line_noise: bool,
    before_next_ping: Vec<u8>,
    power_loss_after: Option<u32>,
    silent_after: Option<u32>,
    cache: Option<(u8, u8, Vec<u8>)>,
    received: std::collections::VecDeque<Received>,
}

struct Shared {
    inner: Mutex<Inner>,
    stop: AtomicBool,
    powered: AtomicBool,
    executed: AtomicU64,
    replayed: AtomicU64,
    naks: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running emulator. Dropping it stops it.
pub struct FiscalEmulator {
    port_path: String,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    #[cfg(unix)]
    _slave: serialport::TTYPort,
}

impl std::fmt::Debug for FiscalEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FiscalEmulator")
            .field("port_path", &self.port_path)
            .finish()
    }
}

impl FiscalEmulator {
    /// Starts an emulator on a new pseudo-terminal pair; the client opens `port_path()`.
    /// Loads the state file when `state_dir` holds one.
    #[cfg(unix)]
    pub fn start(config: EmulatorConfig) -> Result<Self, SimError> {
        use serialport::SerialPort;
        let wire = device::line_of(config.protocol);
        let new_device = || {
            let mut state = DeviceState::new(config.protocol);
            if let Some(serial) = &config.serial {
                state.fm_number = format!("02{}", serial.get(2..).unwrap_or_default());
                state.serial = serial.clone();
            }
            if let Some(rates) = &config.vat_rates {
                state.vat_rates = rates.clone();
            }
            if let Some(mode) = config.currency_mode {
                state.currency_mode = mode;
            }
            state
        };
        let state = match &config.state_dir {
            Some(dir) => load_state(&state_path(dir, config.protocol))?.unwrap_or_else(new_device),
            None => new_device(),
        };
        let pty_err = |e: serialport::Error| SimError::Pty(e.to_string());
        let (mut master, slave) = serialport::TTYPort::pair().map_err(pty_err)?;
        let port_path = slave
            .name()
            .ok_or_else(|| SimError::Pty("no slave name".into()))?;
        master
            .set_timeout(Duration::from_millis(10))
            .map_err(pty_err)?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                state,
                faults: Faults::default(),
                no_reply: false,
                drop_replies: 0,
                nak_next: 0,
                corrupt_next: 0,
                line_noise: false,
                before_next_ping: Vec::new(),
                power_loss_after: None,
                silent_after: None,
                cache: None,
                received: std::collections::VecDeque::new(),
            }),
            stop: AtomicBool::new(false),
            powered: AtomicBool::new(true),
            executed: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            naks: AtomicU64::new(0),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fiscal-emulator".into())
            .spawn(move || serve(&mut master, wire, &config, &thread_shared))
            .map_err(|e| SimError::Pty(e.to_string()))?;
        Ok(Self {
            port_path,
            shared,
            thread: Some(thread),
            _slave: slave,
        })
    }

    /// Starting needs pseudo-terminals, which this platform lacks.
    #[cfg(not(unix))]
    pub fn start(config: EmulatorConfig) -> Result<Self, SimError> {
        Err(SimError::Pty(format!(
            "{:?} emulator: no pseudo-terminals here",
            config.protocol
        )))
    }

    /// Path of the client side of the pseudo-terminal.
    pub fn port_path(&self) -> &str {
        &self.port_path
    }

    /// Switches a fault on or off.
    pub fn set_fault(&self, fault: Fault, on: bool) {
        let mut inner = self.shared.lock();
        match fault {
            Fault::PaperOut => inner.faults.paper_out = on,
            Fault::CoverOpen => inner.faults.cover_open = on,
            Fault::FiscalMemoryFull => inner.faults.fm_full = on,
            Fault::NoReply => inner.no_reply = on,
        }
    }

    /// Executes the next `n` commands but loses their replies (the host will resend).
    pub fn drop_replies(&self, n: u32) {
        self.shared.lock().drop_replies = n;
    }

    /// Answers the next `n` valid frames with NAK without executing them.
    pub fn nak_next(&self, n: u32) {
        self.shared.lock().nak_next = n;
    }

    /// Sends the next `n` replies with a damaged checksum (the host resends; the device
    /// answers from its replay cache).
    pub fn corrupt_next_replies(&self, n: u32) {
        self.shared.lock().corrupt_next = n;
    }

    /// Sends `bytes` just before the next ping answer, as a device does that was still
    /// sending a reply frame to a host whose connection broke off.
    pub fn send_before_next_ping(&self, bytes: &[u8]) {
        self.shared.lock().before_next_ping = bytes.to_vec();
    }

    /// Puts junk bytes before every reply and sends replies in two pieces.
    pub fn set_line_noise(&self, on: bool) {
        self.shared.lock().line_noise = on;
    }

    /// Loses power right after executing `n` more commands (their state is kept, no reply
    /// is sent, the emulator stops).
    pub fn power_loss_after(&self, n: u32) {
        self.shared.lock().power_loss_after = Some(n);
    }

    /// Stops answering right after executing `n` more commands (their state is kept, the
    /// last one's reply is lost), as a cable pulled mid-receipt; `set_fault(NoReply, false)`
    /// plugs it back.
    pub fn silent_after(&self, n: u32) {
        self.shared.lock().silent_after = Some(n);
    }

    /// True until a power loss or stop.
    pub fn is_powered(&self) -> bool {
        self.shared.powered.load(Ordering::SeqCst)
    }

    /// A copy of the device state.
    pub fn state(&self) -> DeviceState {
        self.shared.lock().state.clone()
    }

    /// The last requests executed (at most 4096, oldest first), with their data bytes as
    /// they arrived on the line.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.iter().cloned().collect()
    }

    /// Commands executed (replays from the cache not counted).
    pub fn executed(&self) -> u64 {
        self.shared.executed.load(Ordering::SeqCst)
    }

    /// Frames answered from the replay cache.
    pub fn replayed(&self) -> u64 {
        self.shared.replayed.load(Ordering::SeqCst)
    }

    /// NAKs sent for damaged frames.
    pub fn naks(&self) -> u64 {
        self.shared.naks.load(Ordering::SeqCst)
    }

    /// Stops serving.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.shared.powered.store(false, Ordering::SeqCst);
    }
}

impl Drop for FiscalEmulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn load_state(path: &Path) -> Result<Option<DeviceState>, SimError> {
    let failed = |detail: String| SimError::State {
        path: path.display().to_string(),
        detail,
    };
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| failed(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// Gap after which a partial frame is dropped with a NAK.
const INTER_BYTE_TIMEOUT: Duration = Duration::from_millis(200);
/// SYN period while printing.
const SYN_PERIOD: Duration = Duration::from_millis(60);

fn serve<P: std::io::Read + std::io::Write>(
    port: &mut P,
    wire: Line,
    config: &EmulatorConfig,
    shared: &Shared,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut last_byte = Instant::now();
    let mut chunk = [0u8; 512];
    while !shared.stop.load(Ordering::SeqCst) {
        match port.read(&mut chunk) {
            Ok(0) => std::thread::sleep(Duration::from_millis(5)),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                last_byte = Instant::now();
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
        loop {
            match wire::read_request(wire, &buf) {
                Incoming::Partial { drop } => {
                    buf.drain(..drop);
                    if !buf.is_empty() && last_byte.elapsed() > INTER_BYTE_TIMEOUT {
                        buf.clear();
                        nak(port, wire, shared);
                    }
                    break;
                }
                Incoming::Damaged { drop } => {
                    buf.drain(..drop);
                    nak(port, wire, shared);
                }
                Incoming::Probe { byte, drop: used } => {
                    buf.drain(..used);
                    let mut inner = shared.lock();
                    if !inner.no_reply {
                        let mut answer = Vec::new();
                        if byte == wire::TREMOL_PING {
                            answer.append(&mut inner.before_next_ping);
                            answer.push(zfp::ping_answer(&inner.faults));
                        } else {
                            answer.push(byte);
                        }
                        drop(inner);
                        let _ = port.write_all(&answer);
                    }
                }
                Incoming::Request {
                    seq,
                    cmd,
                    data,
                    drop,
                } => {
                    buf.drain(..drop);
                    if !handle(port, wire, config, shared, seq, cmd, &data) {
                        shared.powered.store(false, Ordering::SeqCst);
                        return;
                    }
                }
            }
        }
    }
}

fn nak<P: std::io::Write>(port: &mut P, wire: Line, shared: &Shared) {
    if shared.lock().no_reply {
        return;
    }
    shared.naks.fetch_add(1, Ordering::SeqCst);
    let byte = match wire {
        Line::Tremol => wire::TREMOL_NACK,
        _ => wire::DATECS_NAK,
    };
    let _ = port.write_all(&[byte]);
}

/// Handles one valid request; false when the device lost power.
fn handle<P: std::io::Write>(
    port: &mut P,
    wire: Line,
    config: &EmulatorConfig,
    shared: &Shared,
    seq: u8,
    cmd: u8,
    data: &[u8],
) -> bool {
    let mut inner = shared.lock();
    if inner.no_reply {
        return true;
    }
    if inner.nak_next > 0 {
        inner.nak_next -= 1;
        drop(inner);
        nak(port, wire, shared);
        return true;
    }
    // Replay cache: the same SEQ (Daisy: SEQ and CMD) is answered again, not executed.
    if let Some((cached_seq, cached_cmd, reply)) = &inner.cache {
        let same_cmd = config.protocol != FiscalProtocol::Daisy || *cached_cmd == cmd;
        let replays = config.repeats == Repeats::Replay
            || (wire == Line::Tremol && !zfp::changes_receipt(cmd));
        if *cached_seq == seq && same_cmd && replays {
            let reply = reply.clone();
            shared.replayed.fetch_add(1, Ordering::SeqCst);
            send_reply(port, inner, reply);
            return true;
        }
    }
    if inner.received.len() == RECEIVED_KEPT {
        inner.received.pop_front();
    }
    inner.received.push_back(Received {
        command: cmd,
        data: data.to_vec(),
    });
    let faults = inner.faults;
    let (reply, printing, busy_byte) = match wire {
        Line::Tremol => {
            let reply = match zfp::execute(
                &mut inner.state,
                &faults,
                cmd,
                data,
                config.check_unp_serial,
            ) {
                zfp::ZfpOutcome::Ack(a, b) => wire::tremol_ack(seq, a, b),
                zfp::ZfpOutcome::Data(d) => wire::tremol_data(seq, cmd, &d),
            };
            (reply, zfp::prints(cmd), wire::TREMOL_RETRY)
        }
        line => {
            let mut outcome = device::execute(
                &mut inner.state,
                &faults,
                cmd,
                data,
                config.check_unp_serial,
            );
            if config.bare_syntax_errors && outcome.fault == Some(Refusal::Syntax) {
                outcome.data.clear();
            }
            let status = device::status_bytes(line, &inner.state, &faults, outcome.fault);
            let reply = wire::datecs_reply(line, seq, cmd, &outcome.data, &status);
            (
                reply,
                device::prints(config.protocol, cmd),
                wire::DATECS_SYN,
            )
        }
    };
    inner.cache = Some((seq, cmd, reply.clone()));
    shared.executed.fetch_add(1, Ordering::SeqCst);
    if let Some(dir) = &config.state_dir
        && let Ok(bytes) = serde_json::to_vec_pretty(&inner.state)
    {
        let _ = save_atomically(&state_path(dir, config.protocol), &bytes);
    }
    if let Some(n) = inner.power_loss_after.as_mut() {
        *n = n.saturating_sub(1);
        if *n == 0 {
            if inner.state.open.is_some() {
                inner.state.power_down_in_receipt = true;
                if let Some(dir) = &config.state_dir
                    && let Ok(bytes) = serde_json::to_vec_pretty(&inner.state)
                {
                    let _ = save_atomically(&state_path(dir, config.protocol), &bytes);
                }
            }
            return false;
        }
    }
    if let Some(n) = inner.silent_after.as_mut() {
        *n = n.saturating_sub(1);
        if *n == 0 {
            inner.silent_after = None;
            inner.no_reply = true;
            return true;
        }
    }
    if inner.drop_replies > 0 {
        inner.drop_replies -= 1;
        return true;
    }
    if printing && !config.print_delay.is_zero() {
        drop(inner);
        let started = Instant::now();
        while started.elapsed() < config.print_delay {
            let _ = port.write_all(&[busy_byte]);
            std::thread::sleep(SYN_PERIOD.min(config.print_delay));
        }
        inner = shared.lock();
    }
    send_reply(port, inner, reply);
    true
}

/// Writes a reply, applying the line faults (damaged checksum, junk, pieces).
fn send_reply<P: std::io::Write>(
    port: &mut P,
    mut inner: MutexGuard<'_, Inner>,
    mut reply: Vec<u8>,
) {
    if inner.corrupt_next > 0 && reply.len() >= 2 {
        inner.corrupt_next -= 1;
        let at = reply.len() - 2;
        reply[at] ^= 0x01;
    }
    let noise = inner.line_noise;
    drop(inner);
    if noise {
        let _ = port.write_all(&[0x00, 0xFF, 0x7E]);
        let half = reply.len() / 2;
        let _ = port.write_all(&reply[..half]);
        let _ = port.flush();
        std::thread::sleep(Duration::from_millis(3));
        let _ = port.write_all(&reply[half..]);
    } else {
        let _ = port.write_all(&reply);
    }
}

/// `skladlink sim-fiscal --protocol NAME [--state-dir DIR]`: starts an emulator, prints the
/// port path and serves until the process is interrupted (Ctrl-C).
pub fn run_sim_fiscal_cli(protocol: FiscalProtocol, state_dir: Option<PathBuf>) -> ExitCode {
    let lang = Language::default();
    let config = EmulatorConfig {
        state_dir,
        print_delay: Duration::from_millis(120),
        ..EmulatorConfig::new(protocol)
    };
    match FiscalEmulator::start(config) {
        Ok(emulator) => {
            let name = tr(lang, protocol.label_key());
            println!("{}", emulator.port_path());
            eprintln!(
                "{}",
                tr_args(
                    lang,
                    "fiscal.sim.listening",
                    &[("protocol", &name), ("port", emulator.port_path())]
                )
            );
            eprintln!("{}", tr(lang, "fiscal.sim.stop_hint"));
            while emulator.is_powered() {
                std::thread::sleep(Duration::from_millis(500));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "{}",
                tr_args(lang, "fiscal.sim.failed", &[("detail", &e.message(lang))])
            );
            ExitCode::FAILURE
        }
    }
}
