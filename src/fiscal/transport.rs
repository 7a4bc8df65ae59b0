//! Serial transport with the Datecs-style timing: a reply timeout (500 ms by default) after
//! which the SAME frame (same sequence number) is sent again, SYN keeps the host waiting, NAK
//! and damaged replies cause a resend, replies may arrive in pieces and after junk bytes.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use serialport::SerialPort;

use super::error::FiscalError;
use super::frame::{self, Frame, Framing, Scan};

/// Timing of the request/reply exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long to wait for a reply (or the next SYN) before resending.
    pub reply_timeout: Duration,
    /// How many times a frame is sent before giving up.
    pub attempts: u32,
    /// How long SYN bytes may keep the host waiting for one reply.
    pub busy_limit: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            reply_timeout: Duration::from_millis(500),
            attempts: 3,
            busy_limit: Duration::from_secs(60),
        }
    }
}

/// A serial link to a Datecs-style device: sends frames and reads their replies.
pub struct Transport {
    port: Box<dyn SerialPort>,
    framing: Framing,
    timing: Timing,
    seq: u8,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("framing", &self.framing)
            .field("seq", &self.seq)
            .finish()
    }
}

/// Opens a serial port for a fiscal device (8N1, no flow control).
pub fn open_port(
    path: &str,
    baud: u32,
    timeout: Duration,
) -> Result<Box<dyn SerialPort>, FiscalError> {
    serialport::new(path, baud)
        .timeout(timeout)
        .open()
        .map_err(|e| FiscalError::PortOpen {
            port: path.to_string(),
            detail: e.to_string(),
        })
}

impl Transport {
    /// Wraps an open port.
    pub fn new(port: Box<dyn SerialPort>, framing: Framing, timing: Timing) -> Self {
        // ErpNet.FP also starts at an arbitrary SEQ; a fresh start avoids colliding with
        // the device's last remembered SEQ after a restart.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            port,
            framing,
            timing,
            seq: 0x20 + (seed % 0x60) as u8,
            buf: Vec::new(),
        }
    }

    /// The timing in use.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// Makes `seq` (0x20–0x7F) the sequence number of the next command.
    pub fn set_next_seq(&mut self, seq: u8) {
        self.seq = if seq <= 0x20 { 0x7F } else { seq.min(0x80) - 1 };
    }

    fn next_seq(&mut self) -> u8 {
        self.seq = if self.seq >= 0x7F { 0x20 } else { self.seq + 1 };
        self.seq
    }

    /// Sends command `cmd` with `data` under a new sequence number and returns the reply.
    pub fn command(&mut self, cmd: u16, data: &[u8]) -> Result<Frame, FiscalError> {
        for _ in 0..2 {
            let seq = self.next_seq();
            let request = frame::encode_request(self.framing, seq, cmd, data);
            let reply = self.exchange(&request, seq)?;
            if reply.cmd == cmd {
                return Ok(reply);
            }
            // The device took our SEQ for a repeat of its previous frame (a new connection
            // happened to reuse it) and replayed that frame's reply without executing ours:
            // send again under the next SEQ.
        }
        Err(FiscalError::BadReply(format!(
            "reply to another command than {cmd:#04x}"
        )))
    }

    /// Sends an already built frame (resending it unchanged on timeout, NAK or a damaged
    /// reply) and returns the reply carrying sequence number `seq`.
    pub fn exchange(&mut self, request: &[u8], seq: u8) -> Result<Frame, FiscalError> {
        self.buf.clear();
        for _ in 0..self.timing.attempts {
            self.port
                .write_all(request)
                .map_err(|e| FiscalError::Disconnected(e.to_string()))?;
            self.port
                .flush()
                .map_err(|e| FiscalError::Disconnected(e.to_string()))?;
            if let Some(reply) = self.await_reply(seq)? {
                return Ok(reply);
            }
        }
        Err(FiscalError::NoReply {
            attempts: self.timing.attempts,
        })
    }

    /// Reads until a reply with `seq` arrives (Some) or the attempt must be repeated (None).
    fn await_reply(&mut self, seq: u8) -> Result<Option<Frame>, FiscalError> {
        let started = Instant::now();
        let mut deadline = started + self.timing.reply_timeout;
        let mut chunk = [0u8; 256];
        loop {
            match frame::scan_reply(self.framing, &self.buf) {
                Scan::Frame { frame, consumed } => {
                    self.buf.drain(..consumed);
                    if frame.seq == seq {
                        return Ok(Some(frame));
                    }
                    continue; // a late reply to an earlier command
                }
                Scan::Nak { consumed } | Scan::Bad { consumed, .. } => {
                    self.buf.drain(..consumed);
                    return Ok(None);
                }
                Scan::Syn { consumed } => {
                    self.buf.drain(..consumed);
                    if started.elapsed() < self.timing.busy_limit {
                        deadline = Instant::now() + self.timing.reply_timeout;
                    }
                    continue;
                }
                Scan::Incomplete { skipped } => {
                    self.buf.drain(..skipped);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            self.port
                .set_timeout(deadline - now)
                .map_err(|e| FiscalError::Disconnected(e.to_string()))?;
            match self.port.read(&mut chunk) {
                Ok(0) => return Err(FiscalError::Disconnected("end of stream".into())),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {
                }
                Err(e) => return Err(FiscalError::Disconnected(e.to_string())),
            }
        }
    }
}
