//! The worked frames of the fiscal research notes (PROTOCOLS.md §2.4 and §3.1) and frames
//! derived from the documents' rules by hand, checked against both the SkladLink client's
//! codec (`fiscal::frame`, `fiscal::zfp`) and the emulator's own (`sim::fiscal::wire`):
//! a mistake the two shared would fail here, whoever made it.

use skladlink::fiscal::frame::{self, Framing, Scan};
use skladlink::fiscal::zfp;
use skladlink::sim::fiscal::wire::{self, Incoming, Line};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

fn cp1251(text: &str) -> Vec<u8> {
    encoding_rs::WINDOWS_1251.encode(text).0.into_owned()
}

/// A host frame: line, SEQ, CMD, data, the bytes on the wire.
type HostFrame = (Line, u8, u8, Vec<u8>, Vec<u8>);

fn host_frames() -> Vec<HostFrame> {
    let milk = cp1251("Мляко");
    let x_sale = [milk.as_slice(), b"\t2\t2.50\t1.000\t0\t\t0\t"].concat();
    let old_sale = [milk.as_slice(), b"\t", &cp1251("Б"), b"2.50*1.000"].concat();
    vec![
        // §2.4, computed in the notes.
        (
            Line::DatecsOld,
            0x20,
            0x4A,
            vec![],
            hex("01 24 20 4A 05 30 30 39 33 03"),
        ),
        (
            Line::DatecsX,
            0x20,
            0x4A,
            vec![],
            hex("01 30 30 32 3A 20 30 30 34 3A 05 30 31 3B 3F 03"),
        ),
        (
            Line::DatecsX,
            0x21,
            0x30,
            b"1\t0000\tDT279013-0001-0000001\t1\t\t".to_vec(),
            hex(
                "01 30 30 34 3A 21 30 30 33 30 31 09 30 30 30 30 09 44 54 32 37 39 30 31 33 2D 30 30 30 31 2D 30 30 30 30 30 30 31 09 31 09 09 05 30 37 34 30 03",
            ),
        ),
        (
            Line::DatecsOld,
            0x21,
            0x30,
            b"1,0000,1,DT279013-0001-0000001".to_vec(),
            hex(
                "01 42 21 30 31 2C 30 30 30 30 2C 31 2C 44 54 32 37 39 30 31 33 2D 30 30 30 31 2D 30 30 30 30 30 30 31 05 30 36 37 38 03",
            ),
        ),
        // Derived by hand from §2.3/§2.6: an X sale of "Мляко" (cp1251), group 2, 2.50 × 1.
        (
            Line::DatecsX,
            0x22,
            0x31,
            x_sale,
            hex(
                "01 30 30 34 32 22 30 30 33 31 CC EB FF EA EE 09 32 09 32 2E 35 30 09 31 2E 30 30 30 09 30 09 09 30 09 05 30 38 3C 34 03",
            ),
        ),
        // Derived from §2.2/§2.6: the same sale on Datecs P, group Б as the cp1251 letter.
        (
            Line::DatecsOld,
            0x23,
            0x31,
            old_sale,
            hex("01 35 23 31 CC EB FF EA EE 09 C1 32 2E 35 30 2A 31 2E 30 30 30 05 30 37 3C 34 03"),
        ),
    ]
}

#[test]
fn datecs_host_frames_match_on_both_sides() {
    for (line, seq, cmd, data, bytes) in host_frames() {
        let framing = if line == Line::DatecsX {
            Framing::X
        } else {
            Framing::Old
        };
        assert_eq!(
            frame::encode_request(framing, seq, u16::from(cmd), &data),
            bytes,
            "client builds {cmd:#04x}"
        );
        let Scan::Frame { frame: f, consumed } = frame::scan_request(framing, &bytes) else {
            panic!("client parses {cmd:#04x}")
        };
        assert_eq!(
            (f.seq, f.cmd, &f.data, consumed),
            (seq, u16::from(cmd), &data, bytes.len())
        );
        assert_eq!(
            wire::read_request(line, &bytes),
            Incoming::Request {
                seq,
                cmd,
                data,
                drop: bytes.len()
            },
            "emulator parses {cmd:#04x}"
        );
    }
}

#[test]
fn datecs_replies_match_on_both_sides() {
    let replies = [
        (
            Line::DatecsOld,
            b"0006,0003".to_vec(),
            hex("80 80 88 80 86 9A"),
            hex("01 34 21 30 30 30 30 36 2C 30 30 30 33 04 80 80 88 80 86 9A 05 30 35 36 3B 03"),
        ),
        (
            Line::DatecsX,
            b"0\t12\t".to_vec(),
            hex("80 80 88 80 86 9A 80 80"),
            hex(
                "01 30 30 33 38 21 30 30 33 30 30 09 31 32 09 04 80 80 88 80 86 9A 80 80 05 30 36 38 35 03",
            ),
        ),
    ];
    for (line, data, status, bytes) in replies {
        let framing = if line == Line::DatecsX {
            Framing::X
        } else {
            Framing::Old
        };
        assert_eq!(wire::datecs_reply(line, 0x21, 0x30, &data, &status), bytes);
        assert_eq!(
            frame::encode_reply(framing, 0x21, 0x30, &data, &status),
            bytes
        );
        let Scan::Frame { frame: f, .. } = frame::scan_reply(framing, &bytes) else {
            panic!("client parses the reply")
        };
        assert_eq!((f.seq, f.cmd, f.data, f.status), (0x21, 0x30, data, status));
    }
}

#[test]
fn tremol_frames_match_on_both_sides() {
    // §3.1: status 0x20 with NBL 0x20, computed in the notes.
    let status = hex("02 23 20 20 32 33 0A");
    assert_eq!(zfp::encode_frame(0x20, 0x20, b""), status);
    assert_eq!(
        wire::read_request(Line::Tremol, &status),
        Incoming::Request {
            seq: 0x20,
            cmd: 0x20,
            data: vec![],
            drop: 7
        }
    );
    // Derived from §3.1: a sale, name padded to its 36 characters, group Б, 2.50 × 1.
    let data = [
        cp1251(&format!("{:<36}", "Мляко")).as_slice(),
        b";",
        &cp1251("Б"),
        b";2.50*1.000",
    ]
    .concat();
    let sale = hex(
        "02 54 24 31 CC EB FF EA EE 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 20 3B C1 3B 32 2E 35 30 2A 31 2E 30 30 30 36 30 0A",
    );
    assert_eq!(zfp::encode_frame(0x24, 0x31, &data), sale);
    assert_eq!(
        wire::read_request(Line::Tremol, &sale),
        Incoming::Request {
            seq: 0x24,
            cmd: 0x31,
            data: data.clone(),
            drop: sale.len()
        }
    );
    // Derived: the ACK "all well" to NBL 0x25 (CS = 25h XOR 30h XOR 30h = 25h → 32 35).
    let ack = hex("06 25 30 30 32 35 0A");
    assert_eq!(wire::tremol_ack(0x25, 0x30, 0x30), ack);
    assert_eq!(zfp::encode_ack(0x25, 0x30, 0x30), ack);
    assert_eq!(
        zfp::scan(&ack, &[]),
        zfp::Scan::Message {
            message: zfp::Message::Ack {
                nbl: 0x25,
                ste1: 0x30,
                ste2: 0x30
            },
            consumed: 7
        }
    );
    // A data reply (same layout as a host frame) built by the emulator, read by the client.
    let reply = wire::tremol_data(0x26, 0x60, b"ZK123456;50123456");
    assert_eq!(reply, zfp::encode_frame(0x26, 0x60, b"ZK123456;50123456"));
}
