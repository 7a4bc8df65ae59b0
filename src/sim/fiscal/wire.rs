//! The device's side of the serial line, written from the protocol documents and nothing
//! else (the SkladLink client has its own codec; the two are checked against each other and
//! against the worked frames of the fiscal research notes, PROTOCOLS.md §2.4 and §3.1).
//!
//! Datecs-style frames (§2.2 old, §2.3 X): the host sends
//! `01 LEN SEQ CMD DATA 05 BCC 03`; LEN counts the bytes after 01 up to and including 05,
//! plus 0x20 (one raw byte, or four "nibble + 0x30" bytes on X); CMD is one raw byte, or four
//! nibble bytes on X; BCC is the 16-bit sum of the bytes after 01 up to and including 05, as
//! four nibble bytes. The device answers `01 LEN SEQ CMD DATA 04 STATUS 05 BCC 03` with 6
//! (old) or 8 (X) status bytes, NAK 0x15 for a damaged frame, SYN 0x16 while busy.
//!
//! Tremol ZFP (§3.1): the host sends `02 LEN NBL CMD DATA CS CS 0A`, LEN = 0x20 + 3 + data
//! length, CS = XOR of LEN through DATA as two "nibble + 0x30" bytes; the device answers a
//! data frame of the same layout or an ACK `06 NBL STE1 STE2 CS CS 0A` (CS = XOR of NBL,
//! STE1, STE2), NACK 0x15 for a damaged frame and RETRY 0x0E while busy. Single bytes 0x09
//! (ping) and 0x04 (echo) are probes.

/// Datecs: start of a frame.
const SOH: u8 = 0x01;
/// Datecs: end of the counted part.
const ENQ: u8 = 0x05;
/// Datecs: separator before the status bytes of a reply.
const EOT: u8 = 0x04;
/// Datecs: end of a frame.
const ETX: u8 = 0x03;
/// Datecs: the device's "damaged frame" answer.
pub const DATECS_NAK: u8 = 0x15;
/// Datecs: the device's "still working" byte, every 60 ms.
pub const DATECS_SYN: u8 = 0x16;
/// Tremol: start of a data frame.
const STX: u8 = 0x02;
/// Tremol: start of an ACK frame.
const ACK: u8 = 0x06;
/// Tremol: end of a frame.
const LF: u8 = 0x0A;
/// Tremol: the device's "damaged frame" answer.
pub const TREMOL_NACK: u8 = 0x15;
/// Tremol: the device's "busy, ask again" byte.
pub const TREMOL_RETRY: u8 = 0x0E;
/// Tremol: the host's ping byte.
pub const TREMOL_PING: u8 = 0x09;
/// Tremol: the host's "are you on" byte, echoed back.
pub const TREMOL_ECHO: u8 = 0x04;

/// Longest Datecs data field from host to device (PROTOCOLS.md §2.1: 0–213 bytes).
const MAX_REQUEST_DATA: usize = 213;

/// The line format of a protocol family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Datecs P/C, Daisy, Eltrade, Incotex: one-byte LEN and CMD, 6 status bytes.
    DatecsOld,
    /// Datecs X: four-nibble LEN and CMD, 8 status bytes.
    DatecsX,
    /// Tremol ZFP.
    Tremol,
}

impl Line {
    /// Status bytes in a Datecs reply.
    pub fn status_bytes(self) -> usize {
        if self == Line::DatecsX { 8 } else { 6 }
    }

    fn field(self) -> usize {
        if self == Line::DatecsX { 4 } else { 1 }
    }
}

/// What the front of the receive buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Not a whole frame yet; the first `drop` bytes are line noise.
    Partial {
        /// Noise bytes before a possible frame.
        drop: usize,
    },
    /// A damaged frame: answer NAK and forget `drop` bytes.
    Damaged {
        /// Bytes to forget.
        drop: usize,
    },
    /// A one-byte probe (Tremol ping or echo).
    Probe {
        /// The probe byte.
        byte: u8,
        /// Bytes to forget.
        drop: usize,
    },
    /// A well-formed host frame.
    Request {
        /// Sequence byte (SEQ / NBL).
        seq: u8,
        /// Command code.
        cmd: u8,
        /// Data field.
        data: Vec<u8>,
        /// Bytes to forget.
        drop: usize,
    },
}

/// `value` as `n` bytes of "nibble + 0x30", most significant first.
fn to_nibbles(value: u32, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 4 * (n - 1 - i);
        *slot = 0x30 + ((value >> shift) & 0xF) as u8;
    }
    out
}

/// The value of "nibble + 0x30" bytes; None when one is outside 0x30–0x3F.
fn from_nibbles(bytes: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for &b in bytes {
        if !(0x30..=0x3F).contains(&b) {
            return None;
        }
        value = value * 16 + u32::from(b - 0x30);
    }
    Some(value)
}

fn sum16(bytes: &[u8]) -> u32 {
    bytes.iter().map(|&b| u32::from(b)).sum::<u32>() & 0xFFFF
}

fn xor8(bytes: &[u8]) -> u8 {
    let mut x = 0;
    for &b in bytes {
        x ^= b;
    }
    x
}

/// Reads the next host message off the front of `buf`.
pub fn read_request(line: Line, buf: &[u8]) -> Incoming {
    match line {
        Line::Tremol => read_tremol(buf),
        _ => read_datecs(line, buf),
    }
}

fn read_datecs(line: Line, buf: &[u8]) -> Incoming {
    let Some(start) = buf.iter().position(|&b| b == SOH) else {
        return Incoming::Partial { drop: buf.len() };
    };
    let frame = &buf[start..];
    let w = line.field();
    if frame.len() < 1 + w {
        return Incoming::Partial { drop: start };
    }
    let counted = match line {
        Line::DatecsX => from_nibbles(&frame[1..1 + w]),
        _ => Some(u32::from(frame[1])),
    };
    // The counted part holds LEN, SEQ, CMD and 05 at least.
    let smallest = (w + 1 + w + 1) as u32;
    let count = match counted {
        Some(len) if len >= 0x20 + smallest => (len - 0x20) as usize,
        _ => return Incoming::Damaged { drop: start + 1 },
    };
    if count > smallest as usize + MAX_REQUEST_DATA {
        return Incoming::Damaged { drop: start + 1 };
    }
    let whole = 1 + count + 4 + 1;
    if frame.len() < whole {
        return Incoming::Partial { drop: start };
    }
    let drop = start + whole;
    let end_ok = frame[count] == ENQ && frame[whole - 1] == ETX;
    let bcc_ok = from_nibbles(&frame[count + 1..count + 5]) == Some(sum16(&frame[1..=count]));
    if !end_ok || !bcc_ok {
        return Incoming::Damaged { drop };
    }
    let seq = frame[1 + w];
    let cmd = match line {
        Line::DatecsX => from_nibbles(&frame[2 + w..2 + 2 * w]).and_then(|c| u8::try_from(c).ok()),
        _ => Some(frame[2 + w]),
    };
    let data = &frame[2 + 2 * w..count];
    match cmd {
        Some(cmd) if !data.iter().any(|&b| b == ENQ || b == EOT || b == SOH) => Incoming::Request {
            seq,
            cmd,
            data: data.to_vec(),
            drop,
        },
        _ => Incoming::Damaged { drop },
    }
}

fn read_tremol(buf: &[u8]) -> Incoming {
    let mut start = 0;
    while start < buf.len() {
        match buf[start] {
            STX => break,
            byte @ (TREMOL_PING | TREMOL_ECHO) => {
                return Incoming::Probe {
                    byte,
                    drop: start + 1,
                };
            }
            _ => start += 1,
        }
    }
    let frame = &buf[start..];
    if frame.len() < 2 {
        return Incoming::Partial { drop: start };
    }
    // LEN covers LEN, NBL and CMD at least (0x23) and runs up to 0x9F.
    if !(0x23..=0x9F).contains(&frame[1]) {
        return Incoming::Damaged { drop: start + 1 };
    }
    let counted = usize::from(frame[1] - 0x20);
    let whole = 1 + counted + 2 + 1;
    if frame.len() < whole {
        return Incoming::Partial { drop: start };
    }
    let drop = start + whole;
    let cs = xor8(&frame[1..1 + counted]);
    let cs_ok = frame[1 + counted..3 + counted] == [0x30 + (cs >> 4), 0x30 + (cs & 0xF)];
    if !cs_ok || frame[whole - 1] != LF {
        return Incoming::Damaged { drop };
    }
    Incoming::Request {
        seq: frame[2],
        cmd: frame[3],
        data: frame[4..1 + counted].to_vec(),
        drop,
    }
}

/// A Datecs reply frame: SEQ and CMD echoed, DATA, 04, the status bytes, 05, BCC, 03.
pub fn datecs_reply(line: Line, seq: u8, cmd: u8, data: &[u8], status: &[u8]) -> Vec<u8> {
    let w = line.field();
    let counted = w + 1 + w + data.len() + 1 + status.len() + 1;
    let len = 0x20 + counted as u32;
    let mut out = vec![SOH];
    if line == Line::DatecsX {
        out.extend(to_nibbles(len, 4));
        out.push(seq);
        out.extend(to_nibbles(u32::from(cmd), 4));
    } else {
        out.push(len as u8);
        out.push(seq);
        out.push(cmd);
    }
    out.extend_from_slice(data);
    out.push(EOT);
    out.extend_from_slice(status);
    out.push(ENQ);
    let bcc = sum16(&out[1..]);
    out.extend(to_nibbles(bcc, 4));
    out.push(ETX);
    out
}

/// A Tremol data reply: `02 LEN NBL CMD DATA CS CS 0A`.
pub fn tremol_data(nbl: u8, cmd: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![STX, 0x20 + 3 + data.len() as u8, nbl, cmd];
    out.extend_from_slice(data);
    let cs = xor8(&out[1..]);
    out.extend([0x30 + (cs >> 4), 0x30 + (cs & 0xF), LF]);
    out
}

/// A Tremol ACK: `06 NBL STE1 STE2 CS CS 0A`.
pub fn tremol_ack(nbl: u8, ste1: u8, ste2: u8) -> Vec<u8> {
    let cs = nbl ^ ste1 ^ ste2;
    vec![
        ACK,
        nbl,
        ste1,
        ste2,
        0x30 + (cs >> 4),
        0x30 + (cs & 0xF),
        LF,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked frames of the notes are checked against this module and the client's
    // codec together in `tests/fiscal_frames.rs`; here, what a real line adds.
    #[test]
    fn noise_pieces_and_damage() {
        // X status request, SEQ 0x20 (PROTOCOLS.md §2.4).
        let frame = [
            0x01, 0x30, 0x30, 0x32, 0x3A, 0x20, 0x30, 0x30, 0x34, 0x3A, 0x05, 0x30, 0x31, 0x3B,
            0x3F, 0x03,
        ];
        let mut buf = vec![0xFF, 0x00];
        buf.extend_from_slice(&frame[..6]);
        assert_eq!(
            read_request(Line::DatecsX, &buf),
            Incoming::Partial { drop: 2 }
        );
        let mut bad = frame;
        bad[12] ^= 1;
        assert_eq!(
            read_request(Line::DatecsX, &bad),
            Incoming::Damaged { drop: frame.len() }
        );
        assert_eq!(
            read_request(Line::Tremol, &[0x33, TREMOL_PING]),
            Incoming::Probe {
                byte: TREMOL_PING,
                drop: 2
            }
        );
        // Tremol status request with a damaged checksum.
        let t = [0x02, 0x23, 0x20, 0x20, 0x39, 0x33, 0x0A];
        assert_eq!(
            read_request(Line::Tremol, &t),
            Incoming::Damaged { drop: 7 }
        );
    }
}
