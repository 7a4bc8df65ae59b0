//! Datecs-style ("ISL") frames: the old 1-byte-LEN framing (Datecs P/C, Daisy, Eltrade,
//! Incotex) and the Datecs X 4-nibble framing. Encoding and strict parsing of requests and
//! replies, shared by the client and the emulator.
//!
//! Layouts (reference: PROTOCOLS.md §2.2–2.4):
//! request `01 LEN SEQ CMD DATA 05 BCC(4) 03`, reply `01 LEN SEQ CMD DATA 04 STATUS 05 BCC(4) 03`.
//! LEN = 0x20 + byte count after 01 up to and including 05; BCC = 16-bit sum of the same
//! bytes, sent as 4 nibbles + 0x30, most significant first.

/// Start of a frame.
pub const PRE: u8 = 0x01;
/// End of data / start of checksum.
pub const PST: u8 = 0x05;
/// Separator before the status bytes in a reply.
pub const SEP: u8 = 0x04;
/// End of a frame.
pub const EOT: u8 = 0x03;
/// Negative acknowledge: the device rejected a damaged frame.
pub const NAK: u8 = 0x15;
/// Synchronise: the device is busy and will answer later.
pub const SYN: u8 = 0x16;
/// Largest frame either side accepts, in bytes (218 data bytes plus framing, with room).
pub const MAX_FRAME: usize = 300;

/// Which Datecs-style framing a protocol family uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// 1-byte LEN and CMD, 6 status bytes (Datecs P/C, Daisy, Eltrade, Incotex).
    Old,
    /// 4-nibble LEN and CMD, 8 status bytes (Datecs X).
    X,
}

impl Framing {
    /// Width of the LEN and CMD fields in bytes.
    fn field_width(self) -> usize {
        match self {
            Framing::Old => 1,
            Framing::X => 4,
        }
    }

    /// Number of status bytes in a reply.
    pub fn status_len(self) -> usize {
        match self {
            Framing::Old => 6,
            Framing::X => 8,
        }
    }
}

/// A parsed frame (request or reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Sequence number.
    pub seq: u8,
    /// Command code.
    pub cmd: u16,
    /// Data field.
    pub data: Vec<u8>,
    /// Status bytes (empty for a request).
    pub status: Vec<u8>,
}

/// What the start of a receive buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// Not enough bytes yet (junk before the start byte is counted in `skipped`).
    Incomplete {
        /// Bytes before the start of a possible frame that can be dropped.
        skipped: usize,
    },
    /// A NAK byte; `consumed` bytes can be dropped.
    Nak {
        /// Bytes to drop, the NAK included.
        consumed: usize,
    },
    /// A SYN byte; `consumed` bytes can be dropped.
    Syn {
        /// Bytes to drop, the SYN included.
        consumed: usize,
    },
    /// A complete, valid frame.
    Frame {
        /// The frame.
        frame: Frame,
        /// Bytes to drop, the frame included.
        consumed: usize,
    },
    /// A damaged frame (bad LEN, checksum or layout).
    Bad {
        /// Bytes to drop.
        consumed: usize,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Encodes `value` as `width` nibbles + 0x30, most significant first.
fn nibbles(value: u16, width: usize) -> Vec<u8> {
    (0..width)
        .rev()
        .map(|i| 0x30 + ((value >> (4 * i)) & 0x0F) as u8)
        .collect()
}

/// Decodes nibble characters (0x30–0x3F); None when a byte is out of range.
fn from_nibbles(bytes: &[u8]) -> Option<u16> {
    bytes.iter().try_fold(0u16, |acc, &b| {
        (0x30..=0x3F)
            .contains(&b)
            .then(|| (acc << 4) | u16::from(b - 0x30))
    })
}

/// The 16-bit additive checksum of `bytes`.
fn bcc(bytes: &[u8]) -> u16 {
    bytes
        .iter()
        .fold(0u16, |acc, &b| acc.wrapping_add(u16::from(b)))
}

fn encode(framing: Framing, seq: u8, cmd: u16, data: &[u8], status: Option<&[u8]>) -> Vec<u8> {
    let w = framing.field_width();
    let status_part = status.map_or(0, |s| s.len() + 1);
    let count = w + 1 + w + data.len() + status_part + 1;
    let len = 0x20 + count as u16;
    let mut out = Vec::with_capacity(count + 6);
    out.push(PRE);
    match framing {
        Framing::Old => out.push(len as u8),
        Framing::X => out.extend(nibbles(len, 4)),
    }
    out.push(seq);
    match framing {
        Framing::Old => out.push(cmd as u8),
        Framing::X => out.extend(nibbles(cmd, 4)),
    }
    out.extend_from_slice(data);
    if let Some(status) = status {
        out.push(SEP);
        out.extend_from_slice(status);
    }
    out.push(PST);
    let sum = bcc(&out[1..]);
    out.extend(nibbles(sum, 4));
    out.push(EOT);
    out
}

/// Builds a host-to-device frame.
pub fn encode_request(framing: Framing, seq: u8, cmd: u16, data: &[u8]) -> Vec<u8> {
    encode(framing, seq, cmd, data, None)
}

/// Builds a device-to-host frame.
pub fn encode_reply(framing: Framing, seq: u8, cmd: u16, data: &[u8], status: &[u8]) -> Vec<u8> {
    encode(framing, seq, cmd, data, Some(status))
}

/// Scans a buffer received by the host: skips junk, reports NAK/SYN, parses a reply.
pub fn scan_reply(framing: Framing, buf: &[u8]) -> Scan {
    scan(framing, buf, true)
}

/// Scans a buffer received by the device: skips junk and parses a request strictly.
pub fn scan_request(framing: Framing, buf: &[u8]) -> Scan {
    scan(framing, buf, false)
}

fn scan(framing: Framing, buf: &[u8], reply: bool) -> Scan {
    let mut start = 0;
    while start < buf.len() {
        match buf[start] {
            PRE => break,
            NAK if reply => {
                return Scan::Nak {
                    consumed: start + 1,
                };
            }
            SYN if reply => {
                return Scan::Syn {
                    consumed: start + 1,
                };
            }
            _ => start += 1,
        }
    }
    if start >= buf.len() {
        return Scan::Incomplete { skipped: start };
    }
    let w = framing.field_width();
    let rest = &buf[start..];
    if rest.len() < 1 + w {
        return Scan::Incomplete { skipped: start };
    }
    let len = match framing {
        Framing::Old => Some(u16::from(rest[1])),
        Framing::X => from_nibbles(&rest[1..1 + w]),
    };
    let bad = |reason| Scan::Bad {
        consumed: start + 1,
        reason,
    };
    let Some(len) = len else {
        return bad("LEN is not nibble-encoded");
    };
    let min = (w + 1 + w + 1) as u16
        + if reply {
            framing.status_len() as u16 + 1
        } else {
            0
        };
    if len < 0x20 + min || usize::from(len) > MAX_FRAME {
        return bad("LEN out of range");
    }
    let count = usize::from(len - 0x20);
    let total = 1 + count + 4 + 1;
    if rest.len() < total {
        return Scan::Incomplete { skipped: start };
    }
    let frame = &rest[..total];
    let consumed = start + total;
    let bad_whole = |reason| Scan::Bad { consumed, reason };
    if frame[count] != PST {
        return bad("no 05 where LEN says");
    }
    if frame[total - 1] != EOT {
        return bad_whole("no 03 at the end");
    }
    match from_nibbles(&frame[count + 1..count + 5]) {
        Some(sum) if sum == bcc(&frame[1..=count]) => {}
        _ => return bad_whole("bad checksum"),
    }
    let seq = frame[1 + w];
    let cmd = match framing {
        Framing::Old => Some(u16::from(frame[2 + w])),
        Framing::X => from_nibbles(&frame[2 + w..2 + 2 * w]),
    };
    let Some(cmd) = cmd else {
        return bad_whole("CMD is not nibble-encoded");
    };
    let body = &frame[2 + 2 * w..count];
    let (data, status) = if reply {
        let n = framing.status_len();
        let sep = body.len() - n - 1;
        if body[sep] != SEP || body[sep + 1..].iter().any(|b| b & 0x80 == 0) {
            return bad_whole("bad status block");
        }
        (body[..sep].to_vec(), body[sep + 1..].to_vec())
    } else {
        if body.iter().any(|&b| b == SEP || b == PST) {
            return bad_whole("control byte in data");
        }
        (body.to_vec(), Vec::new())
    };
    Scan::Frame {
        frame: Frame {
            seq,
            cmd,
            data,
            status,
        },
        consumed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect()
    }

    // The computed example frames of PROTOCOLS.md §2.4, byte for byte.
    #[test]
    fn old_status_request() {
        assert_eq!(
            encode_request(Framing::Old, 0x20, 0x4A, b""),
            hex("01 24 20 4A 05 30 30 39 33 03")
        );
    }

    #[test]
    fn x_status_request() {
        assert_eq!(
            encode_request(Framing::X, 0x20, 0x4A, b""),
            hex("01 30 30 32 3A 20 30 30 34 3A 05 30 31 3B 3F 03")
        );
    }

    #[test]
    fn x_open_request() {
        let data = b"1\t0000\tDT279013-0001-0000001\t1\t\t";
        assert_eq!(
            encode_request(Framing::X, 0x21, 0x30, data),
            hex(
                "01 30 30 34 3A 21 30 30 33 30 31 09 30 30 30 30 09 44 54 32 37 39 30 31 33 2D 30 30 30 31 2D 30 30 30 30 30 30 31 09 31 09 09 05 30 37 34 30 03"
            )
        );
    }

    #[test]
    fn old_open_request() {
        assert_eq!(
            encode_request(Framing::Old, 0x21, 0x30, b"1,0000,1,DT279013-0001-0000001"),
            hex(
                "01 42 21 30 31 2C 30 30 30 30 2C 31 2C 44 54 32 37 39 30 31 33 2D 30 30 30 31 2D 30 30 30 30 30 30 31 05 30 36 37 38 03"
            )
        );
    }

    #[test]
    fn old_reply_example() {
        let bytes =
            hex("01 34 21 30 30 30 30 36 2C 30 30 30 33 04 80 80 88 80 86 9A 05 30 35 36 3B 03");
        let status = hex("80 80 88 80 86 9A");
        assert_eq!(
            encode_reply(Framing::Old, 0x21, 0x30, b"0006,0003", &status),
            bytes
        );
        let Scan::Frame { frame, consumed } = scan_reply(Framing::Old, &bytes) else {
            panic!()
        };
        assert_eq!(consumed, bytes.len());
        assert_eq!(
            frame,
            Frame {
                seq: 0x21,
                cmd: 0x30,
                data: b"0006,0003".to_vec(),
                status
            }
        );
    }

    #[test]
    fn x_reply_example() {
        let bytes = hex(
            "01 30 30 33 38 21 30 30 33 30 30 09 31 32 09 04 80 80 88 80 86 9A 80 80 05 30 36 38 35 03",
        );
        let status = hex("80 80 88 80 86 9A 80 80");
        assert_eq!(
            encode_reply(Framing::X, 0x21, 0x30, b"0\t12\t", &status),
            bytes
        );
        let Scan::Frame { frame, .. } = scan_reply(Framing::X, &bytes) else {
            panic!()
        };
        assert_eq!(
            (frame.seq, frame.cmd, frame.data.as_slice()),
            (0x21, 0x30, &b"0\t12\t"[..])
        );
    }

    #[test]
    fn scanner_handles_junk_pieces_nak_syn_and_bad_checksum() {
        let frame = encode_request(Framing::X, 0x22, 0x31, b"abc\t");
        let mut buf = vec![0x00, 0xFF, 0x42];
        buf.extend_from_slice(&frame[..7]);
        assert_eq!(
            scan_request(Framing::X, &buf),
            Scan::Incomplete { skipped: 3 }
        );
        buf.extend_from_slice(&frame[7..]);
        let Scan::Frame { frame: f, consumed } = scan_request(Framing::X, &buf) else {
            panic!()
        };
        assert_eq!((f.cmd, consumed), (0x31, buf.len()));
        assert_eq!(
            scan_reply(Framing::X, &[0x00, SYN, PRE]),
            Scan::Syn { consumed: 2 }
        );
        assert_eq!(scan_reply(Framing::X, &[NAK]), Scan::Nak { consumed: 1 });
        let mut damaged = frame.clone();
        let n = damaged.len();
        damaged[n - 2] ^= 0x01;
        assert!(
            matches!(scan_request(Framing::X, &damaged), Scan::Bad { consumed, .. } if consumed == n)
        );
    }
}
