//! Fiscal devices over a real pseudo-terminal: the emulator on one side, the SkladLink
//! client (transport, protocol, receipt flow) on the other, for every protocol family.
#![cfg(unix)]

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use skladlink::config::{EShopSettings, FiscalProtocol};
use skladlink::core::unp::Unp;
use skladlink::fiscal::{
    self, Condition, DeviceFault, FiscalDevice, FiscalError, Journal, Payment, PaymentKind,
    PrintOptions, Receipt, ReceiptLine, SaleItem, TaxGroupMap, Timing,
};
use skladlink::i18n::Language;
use skladlink::ledger::Ledger;
use skladlink::ledger::fiscal::LedgerJournal;
use skladlink::secrets::Secret;
use skladlink::sim::fiscal::device::SoldLine;
use skladlink::sim::fiscal::{DeviceState, EmulatorConfig, Fault, FiscalEmulator, state_path};

/// The host's УНП sequence of one device, in a ledger in `dir`.
struct UnpSequence {
    ledger: Ledger,
    serial: String,
}

impl UnpSequence {
    fn open(dir: &Path, serial: &str) -> Result<Self, skladlink::ledger::LedgerError> {
        Ok(UnpSequence {
            ledger: Ledger::open(dir)?,
            serial: serial.to_string(),
        })
    }

    fn next(&mut self, operator: &str) -> Result<Unp, skladlink::ledger::LedgerError> {
        self.ledger.next_unp(&self.serial, operator)
    }
}

/// The host's print journal of one device, in a ledger in `dir`.
struct PrintJournal;

impl PrintJournal {
    fn open(dir: &Path, serial: &str) -> Result<LedgerJournal, skladlink::ledger::LedgerError> {
        Ok(Ledger::open(dir)?.journal(serial))
    }
}

const FAMILIES: [FiscalProtocol; 7] = [
    FiscalProtocol::DatecsX,
    FiscalProtocol::DatecsP,
    FiscalProtocol::DatecsC,
    FiscalProtocol::Daisy,
    FiscalProtocol::Eltrade,
    FiscalProtocol::Incotex,
    FiscalProtocol::TremolZfp,
];

/// The fault a family reports for `fault`: the old Datecs framing has only the "command not
/// permitted" bit for state errors; Tremol has no cover-open or forbidden-VAT code.
fn reported(protocol: FiscalProtocol, fault: DeviceFault) -> DeviceFault {
    use FiscalProtocol::*;
    match (protocol, fault) {
        (DatecsX, f) => f,
        (TremolZfp, DeviceFault::CoverOpen) => DeviceFault::PrinterFault,
        (TremolZfp, DeviceFault::ForbiddenVat) => DeviceFault::Syntax,
        (TremolZfp, f) => f,
        (
            _,
            f @ (DeviceFault::PaperOut | DeviceFault::CoverOpen | DeviceFault::FiscalMemoryFull),
        ) => f,
        (_, f @ (DeviceFault::ReceiptAlreadyOpen | DeviceFault::Syntax)) => f,
        (_, _) => DeviceFault::NotPermitted,
    }
}

fn fast() -> Timing {
    Timing {
        reply_timeout: Duration::from_millis(250),
        attempts: 3,
        busy_limit: Duration::from_secs(5),
    }
}

fn start(protocol: FiscalProtocol, dir: Option<&Path>) -> FiscalEmulator {
    let config = EmulatorConfig {
        state_dir: dir.map(Path::to_path_buf),
        ..EmulatorConfig::new(protocol)
    };
    FiscalEmulator::start(config).expect("emulator starts")
}

/// Short timeout for tests that wait for "no reply" and count nothing.
fn quick() -> Timing {
    Timing {
        reply_timeout: Duration::from_millis(80),
        ..fast()
    }
}

fn connect(emu: &FiscalEmulator, protocol: FiscalProtocol) -> Box<dyn FiscalDevice> {
    fiscal::open_device(protocol, emu.port_path(), 115_200, fast()).expect("port opens")
}

fn raw_port(emu: &FiscalEmulator) -> Box<dyn serialport::SerialPort> {
    serialport::new(emu.port_path(), 9600)
        .timeout(Duration::from_millis(50))
        .open()
        .unwrap()
}

/// Reads from `port` until `want` bytes arrived or 1 s passed.
fn read_n(port: &mut dyn serialport::SerialPort, want: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut chunk = [0u8; 256];
    while out.len() < want && Instant::now() < deadline {
        match port.read(&mut chunk) {
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read failed: {e}"),
        }
    }
    out
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

fn password() -> Secret {
    Secret::new("0000")
}

fn options(serial: &str) -> PrintOptions {
    PrintOptions {
        fiscal_number: serial.to_string(),
        tax_groups: TaxGroupMap::default(),
    }
}

fn sample_receipt(unp: Unp) -> Receipt {
    Receipt {
        unp,
        operator: "1".into(),
        lines: vec![
            ReceiptLine::Item {
                text: "Сирене краве".into(),
                unit_price: 1250,
                quantity_milli: 2000,
                vat_rate: 2000,
                discount: 100,
            },
            ReceiptLine::Item {
                text: "Хляб".into(),
                unit_price: 333,
                quantity_milli: 1500,
                vat_rate: 900,
                discount: 0,
            },
            ReceiptLine::Shipping {
                text: "Доставка".into(),
                amount: 599,
                vat_rate: 2000,
            },
            ReceiptLine::Discount { amount: 99 },
        ],
        // 25.00 − 1.00 + 5.00 (3.33 × 1.5 = 4.995) + 5.99 − 0.99 = 34.00
        payments: vec![
            Payment {
                kind: PaymentKind::Card,
                amount: 3000,
            },
            Payment {
                kind: PaymentKind::Cash,
                amount: 500,
            },
        ],
    }
}

const SAMPLE_TOTAL: i64 = 3400;

fn serial_of(protocol: FiscalProtocol) -> String {
    DeviceState::new(protocol).serial
}

#[test]
fn reference_example_frames_over_the_pty() {
    // X: read status, the exact computed request; the reply echoes SEQ 0x20 and CMD 0x4A.
    let emu = start(FiscalProtocol::DatecsX, None);
    let mut port = raw_port(&emu);
    port.write_all(&hex("01 30 30 32 3A 20 30 30 34 3A 05 30 31 3B 3F 03"))
        .unwrap();
    let reply = read_n(port.as_mut(), 27);
    assert_eq!(
        &reply[..10],
        &hex("01 30 30 33 35 20 30 30 34 3A")[..],
        "{reply:02X?}"
    );
    drop(port);
    drop(emu);

    // X: open receipt with the УНП; a device whose last document was 11 answers `0\t12\t`
    // with the reference reply, byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let mut state = DeviceState::new(FiscalProtocol::DatecsX);
    state.last_document = 11;
    std::fs::write(
        state_path(dir.path(), FiscalProtocol::DatecsX),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    let emu = start(FiscalProtocol::DatecsX, Some(dir.path()));
    let mut port = raw_port(&emu);
    port.write_all(&hex("01 30 30 34 3A 21 30 30 33 30 31 09 30 30 30 30 09 44 54 32 37 39 30 31 33 2D 30 30 30 31 2D 30 30 30 30 30 30 31 09 31 09 09 05 30 37 34 30 03")).unwrap();
    let expected = hex(
        "01 30 30 33 38 21 30 30 33 30 30 09 31 32 09 04 80 80 88 80 86 9A 80 80 05 30 36 38 35 03",
    );
    assert_eq!(read_n(port.as_mut(), expected.len()), expected);
    assert_eq!(emu.state().open.unwrap().unp, "DT279013-0001-0000001");
    drop(port);
    drop(emu);

    // P: the old read-status frame and the old open frame; with 5 documents and 2 fiscal
    // receipts before, the device answers `0006,0003` exactly as the reference reply.
    let dir = tempfile::tempdir().unwrap();
    let mut state = DeviceState::new(FiscalProtocol::DatecsP);
    state.serial = "DT279013".into();
    state.last_document = 5;
    state.fiscal_receipts = 2;
    std::fs::write(
        state_path(dir.path(), FiscalProtocol::DatecsP),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    let emu = start(FiscalProtocol::DatecsP, Some(dir.path()));
    let mut port = raw_port(&emu);
    port.write_all(&hex("01 24 20 4A 05 30 30 39 33 03"))
        .unwrap();
    let status_reply = read_n(port.as_mut(), 17);
    assert_eq!(
        &status_reply[..4],
        &[0x01, 0x2B, 0x20, 0x4A],
        "{status_reply:02X?}"
    );
    port.write_all(&hex("01 42 21 30 31 2C 30 30 30 30 2C 31 2C 44 54 32 37 39 30 31 33 2D 30 30 30 31 2D 30 30 30 30 30 30 31 05 30 36 37 38 03")).unwrap();
    let expected =
        hex("01 34 21 30 30 30 30 36 2C 30 30 30 33 04 80 80 88 80 86 9A 05 30 35 36 3B 03");
    assert_eq!(read_n(port.as_mut(), expected.len()), expected);
}

#[test]
fn tremol_reference_frame_over_the_pty() {
    let emu = start(FiscalProtocol::TremolZfp, None);
    let mut port = raw_port(&emu);
    port.write_all(&[0x09]).unwrap();
    assert_eq!(read_n(port.as_mut(), 1), vec![0x40]);
    // PROTOCOLS.md §3.1: status command 0x20 with NBL 0x20.
    port.write_all(&hex("02 23 20 20 32 33 0A")).unwrap();
    let reply = read_n(port.as_mut(), 14);
    assert_eq!(&reply[..4], &[0x02, 0x2A, 0x20, 0x20], "{reply:02X?}");
    assert_eq!(reply.last(), Some(&0x0A));
    // A damaged frame gets a NACK.
    port.write_all(&hex("02 23 21 20 32 33 0A")).unwrap();
    assert_eq!(read_n(port.as_mut(), 1), vec![0x15]);
    assert_eq!((emu.executed(), emu.naks()), (1, 1));
}

#[test]
fn junk_pieces_and_bad_checksums() {
    let emu = start(FiscalProtocol::DatecsX, None);
    let mut port = raw_port(&emu);
    // A damaged checksum gets a NAK and is not executed.
    let mut bad = hex("01 30 30 32 3A 20 30 30 34 3A 05 30 31 3B 3F 03");
    bad[12] = 0x30;
    port.write_all(&bad).unwrap();
    assert_eq!(read_n(port.as_mut(), 1), vec![0x15]);
    assert_eq!((emu.naks(), emu.executed()), (1, 0));
    // Junk before the start byte, then a frame in two pieces, is answered.
    port.write_all(&[0x00, 0xFF, 0x37]).unwrap();
    let frame = hex("01 30 30 32 3A 22 30 30 34 3A 05 30 31 3C 31 03");
    port.write_all(&frame[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    port.write_all(&frame[5..]).unwrap();
    let reply = read_n(port.as_mut(), 28);
    assert_eq!(reply.first(), Some(&0x01), "{reply:02X?}");
    assert_eq!(reply[5], 0x22);
    assert_eq!(emu.executed(), 1);
}

fn print_once(protocol: FiscalProtocol) {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(protocol, None);
    let mut dev = connect(&emu, protocol);
    let serial = serial_of(protocol);
    let mut seq = UnpSequence::open(dir.path(), &serial).unwrap();
    let mut journal = PrintJournal::open(dir.path(), &serial).unwrap();
    let unp = seq.next("1").unwrap();
    let receipt = sample_receipt(unp.clone());
    let printed = fiscal::print_receipt(
        dev.as_mut(),
        &receipt,
        &password(),
        &options(&serial),
        &mut journal,
    )
    .unwrap_or_else(|e| panic!("{protocol:?}: {}", e.message(Language::En)));
    assert_eq!(printed.unp, unp.to_string());
    assert_eq!(printed.total, SAMPLE_TOTAL);
    assert!(!printed.recovered);
    assert_eq!(printed.fm_number, DeviceState::new(protocol).fm_number);
    let state = emu.state();
    assert!(state.open.is_none(), "{protocol:?}");
    assert_eq!(state.issued.len(), 1, "{protocol:?}");
    let issued = &state.issued[0];
    assert_eq!(
        (issued.number, issued.total, issued.sales, issued.cancelled),
        (printed.receipt_number, SAMPLE_TOTAL, 3, false)
    );
    assert_eq!(state.last_unp_sequence, 1);
    // Printing the same sale again returns the record and prints nothing.
    let again = fiscal::print_receipt(
        dev.as_mut(),
        &receipt,
        &password(),
        &options(&serial),
        &mut journal,
    )
    .unwrap();
    assert_eq!(again, printed);
    assert_eq!(emu.state().issued.len(), 1);
    // The next sale gets the next УНП and the next receipt number.
    let second = sample_receipt(seq.next("1").unwrap());
    let p2 = fiscal::print_receipt(
        dev.as_mut(),
        &second,
        &password(),
        &options(&serial),
        &mut journal,
    )
    .unwrap();
    assert_eq!(p2.receipt_number, printed.receipt_number + 1);
    assert_eq!(emu.state().last_unp_sequence, 2);
}

#[test]
fn full_receipt_prints_on_every_family() {
    for protocol in FAMILIES {
        print_once(protocol);
    }
}

#[test]
fn syn_keeps_the_host_waiting_while_printing() {
    for protocol in [FiscalProtocol::DatecsP, FiscalProtocol::TremolZfp] {
        let config = EmulatorConfig {
            print_delay: Duration::from_millis(600),
            ..EmulatorConfig::new(protocol)
        };
        let emu = FiscalEmulator::start(config).unwrap();
        let mut dev = connect(&emu, protocol);
        let unp = Unp::new(&serial_of(protocol), "1", 7).unwrap();
        let started = Instant::now();
        dev.open_receipt("1", &password(), &unp).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(590));
        // Tremol reads the status once per connection before its first command, and the
        // receipt's state before a command that changes it.
        let expected = if protocol == FiscalProtocol::TremolZfp {
            3
        } else {
            1
        };
        assert_eq!(
            (emu.executed(), emu.replayed()),
            (expected, 0),
            "{protocol:?}"
        );
    }
    let config = EmulatorConfig {
        print_delay: Duration::from_millis(600),
        ..EmulatorConfig::new(FiscalProtocol::DatecsX)
    };
    let emu = FiscalEmulator::start(config).unwrap();
    let mut dev = connect(&emu, FiscalProtocol::DatecsX);
    let unp = Unp::new("DT279013", "1", 7).unwrap();
    // Opening takes 600 ms, longer than the 250 ms reply timeout: SYN bytes keep it alive.
    let started = Instant::now();
    dev.open_receipt("1", &password(), &unp).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(590));
    assert_eq!((emu.executed(), emu.replayed()), (1, 0));
}

#[test]
fn status_and_device_info_on_every_family() {
    for protocol in FAMILIES {
        let emu = start(protocol, None);
        let mut dev = connect(&emu, protocol);
        let info = dev.device_info().unwrap();
        assert_eq!(info.serial, serial_of(protocol));
        let status = dev.status().unwrap();
        assert!(
            status.ready() && !status.receipt_open(),
            "{protocol:?}: {status:?}"
        );
        emu.set_fault(Fault::PaperOut, true);
        emu.set_fault(Fault::CoverOpen, true);
        let status = dev.status().unwrap();
        assert!(
            status.conditions.contains(&Condition::PaperOut),
            "{protocol:?}"
        );
        let cover = if protocol == FiscalProtocol::TremolZfp {
            Condition::PrinterFault
        } else {
            Condition::CoverOpen
        };
        assert!(status.conditions.contains(&cover), "{protocol:?}");
        assert!(!status.ready());
        let unp = Unp::new(&info.serial, "1", 1).unwrap();
        emu.set_fault(Fault::PaperOut, false);
        emu.set_fault(Fault::CoverOpen, false);
        dev.open_receipt("1", &password(), &unp).unwrap();
        assert!(dev.status().unwrap().receipt_open());
        let tx = dev.transaction().unwrap();
        assert!(tx.open, "{protocol:?}: {tx:?}");
        if protocol != FiscalProtocol::TremolZfp {
            assert_eq!((tx.items, tx.paid), (Some(0), Some(0)), "{protocol:?}");
        }
    }
}

#[test]
fn every_fault_switch_gives_its_typed_error() {
    for protocol in FAMILIES {
        let dir = tempfile::tempdir().unwrap();
        let emu = start(protocol, None);
        let mut dev = fiscal::open_device(protocol, emu.port_path(), 115_200, quick()).unwrap();
        let serial = serial_of(protocol);
        let mut seq = UnpSequence::open(dir.path(), &serial).unwrap();
        let mut journal = PrintJournal::open(dir.path(), &serial).unwrap();
        let cases = [
            (Fault::PaperOut, Some(DeviceFault::PaperOut)),
            (Fault::CoverOpen, Some(DeviceFault::CoverOpen)),
            (Fault::FiscalMemoryFull, Some(DeviceFault::FiscalMemoryFull)),
            (Fault::NoReply, None),
        ];
        for (fault, expected) in cases {
            emu.set_fault(fault, true);
            let receipt = sample_receipt(seq.next("1").unwrap());
            let err = fiscal::print_receipt(
                dev.as_mut(),
                &receipt,
                &password(),
                &options(&serial),
                &mut journal,
            )
            .expect_err("fault must fail the print");
            match expected {
                Some(f) => assert_eq!(
                    err,
                    FiscalError::Device(reported(protocol, f)),
                    "{protocol:?} {fault:?}"
                ),
                None => assert_eq!(err, FiscalError::NoReply { attempts: 3 }, "{protocol:?}"),
            }
            assert!(
                !err.message(Language::Bg).contains("fiscal."),
                "untranslated: {}",
                err.message(Language::Bg)
            );
            emu.set_fault(fault, false);
            // After the fault is cleared the same sale prints, exactly once.
            let printed = fiscal::print_receipt(
                dev.as_mut(),
                &receipt,
                &password(),
                &options(&serial),
                &mut journal,
            )
            .unwrap_or_else(|e| panic!("{protocol:?} {fault:?}: {e}"));
            assert_eq!(emu.state().printed_with(&printed.unp), 1);
        }
        assert!(emu.state().open.is_none());
    }
}

#[test]
fn a_retried_frame_is_not_executed_twice() {
    for protocol in FAMILIES {
        let emu = start(protocol, None);
        let mut dev = connect(&emu, protocol);
        let unp = Unp::new(&serial_of(protocol), "1", 1).unwrap();
        dev.open_receipt("1", &password(), &unp).unwrap();
        let item = milk();
        // The device executes the sale but its reply is lost: the host resends the same
        // frame, the device answers from its cache.
        emu.drop_replies(1);
        dev.sale(&item).unwrap();
        assert_eq!(emu.replayed(), 1, "{protocol:?}");
        assert_eq!(emu.state().open.unwrap().lines.len(), 1, "{protocol:?}");
        // Lost reply to a payment: paid once, not twice.
        emu.drop_replies(1);
        let outcome = dev.payment(PaymentKind::Cash, 300).unwrap();
        if protocol != FiscalProtocol::TremolZfp {
            assert_eq!(outcome.unwrap().change, 50);
        }
        assert_eq!(emu.state().open.unwrap().paid, 300);
        // Lost reply to close: closed once.
        emu.drop_replies(1);
        let number = dev.close_receipt().unwrap();
        assert_eq!(emu.state().issued.len(), 1);
        assert_eq!(emu.state().issued[0].number, number);
        assert_eq!(emu.replayed(), 3);
    }
}

#[test]
fn out_of_order_commands_are_refused() {
    for protocol in FAMILIES {
        let emu = start(protocol, None);
        let mut dev = connect(&emu, protocol);
        let item = SaleItem {
            text: "A".into(),
            tax_group: 2,
            unit_price: 100,
            quantity_milli: 1000,
            discount: 0,
        };
        let refused = |f| Err(FiscalError::Device(reported(protocol, f)));
        assert_eq!(
            dev.sale(&item),
            refused(DeviceFault::ReceiptNotOpen),
            "{protocol:?}"
        );
        let unp = Unp::new(&serial_of(protocol), "1", 1).unwrap();
        dev.open_receipt("1", &password(), &unp).unwrap();
        assert_eq!(
            dev.open_receipt("1", &password(), &unp),
            refused(DeviceFault::ReceiptAlreadyOpen),
            "{protocol:?}"
        );
        dev.sale(&item).unwrap();
        assert_eq!(
            dev.close_receipt(),
            refused(DeviceFault::PaymentIncomplete).map(|()| 0),
            "{protocol:?}"
        );
        assert_eq!(
            dev.sale(&SaleItem {
                tax_group: 6,
                ..item.clone()
            }),
            refused(DeviceFault::ForbiddenVat)
        );
        dev.payment(PaymentKind::Cash, 50).unwrap();
        assert_eq!(
            dev.sale(&item),
            refused(DeviceFault::PaymentStarted),
            "{protocol:?}"
        );
        assert_eq!(
            dev.cancel_receipt(),
            refused(DeviceFault::PaymentStarted),
            "{protocol:?}"
        );
        let tx = dev.transaction().unwrap();
        assert!(tx.open);
        if protocol != FiscalProtocol::TremolZfp {
            assert_eq!(
                (tx.items, tx.amount, tx.paid),
                (Some(1), Some(100), Some(50)),
                "{protocol:?}"
            );
        }
        let state = emu.state().open.unwrap();
        assert_eq!((state.lines.len(), state.paid), (1, 50), "{protocol:?}");
    }
}

#[test]
fn operator_and_unp_are_validated_by_the_device() {
    let emu = start(FiscalProtocol::DatecsX, None);
    let mut dev = connect(&emu, FiscalProtocol::DatecsX);
    let unp = Unp::new("DT279013", "1", 1).unwrap();
    assert_eq!(
        dev.open_receipt("1", &Secret::new("9999"), &unp),
        Err(FiscalError::Device(DeviceFault::WrongPassword))
    );
    assert_eq!(
        dev.open_receipt("31", &password(), &unp),
        Err(FiscalError::Device(DeviceFault::Syntax))
    );
    let foreign = Unp::new("DT000001", "1", 1).unwrap();
    assert_eq!(
        dev.open_receipt("1", &password(), &foreign),
        Err(FiscalError::Device(DeviceFault::Syntax))
    );
    for protocol in [
        FiscalProtocol::DatecsP,
        FiscalProtocol::DatecsC,
        FiscalProtocol::Daisy,
        FiscalProtocol::TremolZfp,
    ] {
        let emu = start(protocol, None);
        let mut dev = connect(&emu, protocol);
        let unp = Unp::new(&serial_of(protocol), "1", 1).unwrap();
        let err = dev
            .open_receipt("1", &Secret::new("9999"), &unp)
            .unwrap_err();
        assert_eq!(
            err,
            FiscalError::Device(reported(protocol, DeviceFault::WrongPassword)),
            "{protocol:?}"
        );
        assert!(emu.state().open.is_none());
    }
    let msg = FiscalError::Device(DeviceFault::WrongPassword).message(Language::Bg);
    assert!(msg.contains("парола"), "{msg}");
    assert!(!msg.contains("9999"));
    assert_eq!(emu.state().open, None);
    // The flow refuses a УНП of another device before touching the device.
    let dir = tempfile::tempdir().unwrap();
    let mut journal = PrintJournal::open(dir.path(), "DT279013").unwrap();
    let err = fiscal::print_receipt(
        dev.as_mut(),
        &sample_receipt(foreign),
        &password(),
        &options("DT279013"),
        &mut journal,
    )
    .unwrap_err();
    assert!(matches!(err, FiscalError::UnpDevice { .. }), "{err:?}");
    // A configured fiscal number that differs from the device's serial is refused.
    let err = fiscal::print_receipt(
        dev.as_mut(),
        &sample_receipt(unp),
        &password(),
        &options("DT111111"),
        &mut journal,
    )
    .unwrap_err();
    assert!(matches!(err, FiscalError::SerialMismatch { .. }), "{err:?}");
    assert!(emu.state().issued.is_empty());
}

/// Power is lost after `after` commands of the print; the device restarts from its state
/// file, the host prints again from its journal: exactly one receipt for the sale.
fn crash_and_recover(protocol: FiscalProtocol, after: u32) -> bool {
    let device_dir = tempfile::tempdir().unwrap();
    let host_dir = tempfile::tempdir().unwrap();
    let serial = serial_of(protocol);
    let emu = start(protocol, Some(device_dir.path()));
    let mut dev = connect(&emu, protocol);
    let mut seq = UnpSequence::open(host_dir.path(), &serial).unwrap();
    let mut journal = PrintJournal::open(host_dir.path(), &serial).unwrap();
    let receipt = sample_receipt(seq.next("1").unwrap());
    emu.power_loss_after(after);
    let first = fiscal::print_receipt(
        dev.as_mut(),
        &receipt,
        &password(),
        &options(&serial),
        &mut journal,
    );
    let crashed = first.is_err();
    if crashed {
        assert!(
            first.as_ref().unwrap_err().is_link_failure(),
            "{protocol:?} {after}: {first:?}"
        );
        assert!(!emu.is_powered());
    }
    drop(dev);
    drop(emu);
    // Restart both sides: the device from its state file, the host from its journal.
    let emu = start(protocol, Some(device_dir.path()));
    let mut dev = connect(&emu, protocol);
    let mut journal = PrintJournal::open(host_dir.path(), &serial).unwrap();
    let printed = fiscal::print_receipt(
        dev.as_mut(),
        &receipt,
        &password(),
        &options(&serial),
        &mut journal,
    )
    .unwrap_or_else(|e| panic!("{protocol:?} after {after}: {e}"));
    let state = emu.state();
    assert_eq!(
        state.printed_with(&printed.unp),
        1,
        "{protocol:?} after {after}: {:?}",
        state.issued
    );
    assert!(state.open.is_none());
    assert_eq!(printed.total, SAMPLE_TOTAL);
    let issued = state.issued.iter().find(|r| !r.cancelled).unwrap();
    assert_eq!(
        (issued.number, issued.total, issued.sales),
        (printed.receipt_number, SAMPLE_TOTAL, 3)
    );
    // The УНП sequence survived too and moves on.
    let mut seq = UnpSequence::open(host_dir.path(), &serial).unwrap();
    assert_eq!(seq.next("1").unwrap().sequence(), 2);
    crashed
}

#[test]
fn crash_mid_receipt_then_restart_leaves_exactly_one_receipt() {
    // Commands of one print: info, transaction, last number, open, 3 sales, discount,
    // 2 payments, close, date. Power loss after each of them in turn.
    for protocol in [FiscalProtocol::DatecsX, FiscalProtocol::DatecsP] {
        let mut crashes = 0;
        for after in 1..=13 {
            if crash_and_recover(protocol, after) {
                crashes += 1;
            }
        }
        assert!(crashes >= 11, "{protocol:?}: only {crashes} crashes");
    }
    for protocol in [
        FiscalProtocol::DatecsC,
        FiscalProtocol::Daisy,
        FiscalProtocol::Eltrade,
        FiscalProtocol::Incotex,
    ] {
        // Mid-sales (cancel and reprint), after payment (finish) and after close (recover).
        for after in [6, 10, 11] {
            assert!(crash_and_recover(protocol, after), "{protocol:?} {after}");
        }
    }
}

#[test]
fn check_device_reads_identity_and_checks_the_serial() {
    let emu = start(FiscalProtocol::DatecsX, None);
    let settings = EShopSettings {
        protocol: FiscalProtocol::DatecsX,
        port: emu.port_path().to_string(),
        baud_rate: 9600,
        fiscal_number: "DT279013".into(),
        ..EShopSettings::default()
    };
    let status = fiscal::check_device(&settings, &password()).unwrap();
    assert_eq!(status.info.as_ref().unwrap().serial, "DT279013");
    assert!(status.ready());
    let wrong = EShopSettings {
        fiscal_number: "DT000000".into(),
        ..settings.clone()
    };
    assert!(matches!(
        fiscal::check_device(&wrong, &password()),
        Err(FiscalError::SerialMismatch { .. })
    ));
    let missing = EShopSettings {
        port: "/nonexistent/tty".into(),
        ..settings
    };
    assert!(matches!(
        fiscal::check_device(&missing, &password()),
        Err(FiscalError::PortOpen { .. })
    ));
}

#[test]
fn device_vat_rates_must_match_the_tax_group_mapping() {
    let device_dir = tempfile::tempdir().unwrap();
    let host_dir = tempfile::tempdir().unwrap();
    let mut state = DeviceState::new(FiscalProtocol::DatecsX);
    state.vat_rates[1] = Some(900); // group Б programmed as 9 %
    std::fs::write(
        state_path(device_dir.path(), FiscalProtocol::DatecsX),
        serde_json::to_vec(&state).unwrap(),
    )
    .unwrap();
    let emu = start(FiscalProtocol::DatecsX, Some(device_dir.path()));
    let mut dev = connect(&emu, FiscalProtocol::DatecsX);
    assert_eq!(
        dev.vat_rates().unwrap().unwrap()[..4],
        [Some(0), Some(900), Some(2000), Some(900)]
    );
    let mut journal = PrintJournal::open(host_dir.path(), "DT279013").unwrap();
    let receipt = sample_receipt(Unp::new("DT279013", "1", 1).unwrap());
    let err = fiscal::print_receipt(
        dev.as_mut(),
        &receipt,
        &password(),
        &options("DT279013"),
        &mut journal,
    )
    .unwrap_err();
    assert!(
        matches!(&err, FiscalError::TaxRateMismatch { group: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.message(Language::Bg).contains("Б"),
        "{}",
        err.message(Language::Bg)
    );
    assert!(emu.state().issued.is_empty() && emu.state().open.is_none());
    // Mapping 20 % to group В, which the device has at 20 %, prints.
    let opts = PrintOptions {
        fiscal_number: "DT279013".into(),
        tax_groups: TaxGroupMap {
            entries: vec![(2000, 3), (900, 4)],
        },
    };
    let printed =
        fiscal::print_receipt(dev.as_mut(), &receipt, &password(), &opts, &mut journal).unwrap();
    assert_eq!(emu.state().printed_with(&printed.unp), 1);
}

#[test]
fn session_allocates_unps_and_prints_across_restarts() {
    let state_dir = tempfile::tempdir().unwrap();
    let emu = FiscalEmulator::start(EmulatorConfig {
        serial: Some("DY123987".into()),
        ..EmulatorConfig::new(FiscalProtocol::Daisy)
    })
    .unwrap();
    let settings = EShopSettings {
        protocol: FiscalProtocol::Daisy,
        port: emu.port_path().to_string(),
        baud_rate: 19_200,
        fiscal_number: "DY123987".into(),
        operator_code: "1".into(),
        ..EShopSettings::default()
    };
    let connect = || {
        fiscal::FiscalSession::connect(
            &settings,
            password(),
            |serial| Box::new(Ledger::open(state_dir.path()).unwrap().journal(serial)),
            TaxGroupMap::default(),
            fast(),
        )
        .unwrap()
    };
    let ledger = Ledger::open(state_dir.path()).unwrap();
    let mut session = connect();
    assert_eq!(session.info().serial, "DY123987");
    assert_eq!(session.info().fm_number, "02123987");
    let first = ledger.next_unp("DY123987", session.operator()).unwrap();
    assert_eq!(first.to_string(), "DY123987-0001-0000001");
    let printed = session.print(&sample_receipt(first)).unwrap();
    drop(session);
    // After a restart the sequence continues and the journal remembers the receipt.
    let mut session = connect();
    assert_eq!(session.printed().unwrap(), vec![printed.clone()]);
    let second = ledger.next_unp("DY123987", session.operator()).unwrap();
    assert_eq!(second.sequence(), 2);
    session.print(&sample_receipt(second)).unwrap();
    // A full refund of the first sale, under its УНП.
    let storno = fiscal::StornoReceipt {
        id: "refund-7".into(),
        receipt: sample_receipt(Unp::parse(&printed.unp).unwrap()),
        original: fiscal::StornoOf {
            receipt_number: printed.receipt_number,
            date_time: printed.date_time,
            fm_number: printed.fm_number.clone(),
            reason: fiscal::StornoReason::Refund,
        },
    };
    let refunded = session.print_storno(&storno).unwrap();
    assert_eq!(
        (refunded.unp.as_str(), refunded.total),
        (printed.unp.as_str(), SAMPLE_TOTAL)
    );
    assert_eq!(session.print_storno(&storno).unwrap(), refunded);
    let state = emu.state();
    assert_eq!(state.issued.len(), 3);
    assert_eq!(state.stornos_of(printed.receipt_number).len(), 1);
    assert_eq!(state.last_unp_sequence, 2); // a storno (first УНП) does not move it back
    drop(session); // the port is opened exclusively
    let wrong = EShopSettings {
        fiscal_number: "DY999999".into(),
        ..settings.clone()
    };
    let err = fiscal::FiscalSession::connect(
        &wrong,
        password(),
        |serial| Box::new(ledger.journal(serial)),
        TaxGroupMap::default(),
        fast(),
    )
    .unwrap_err();
    assert!(matches!(err, FiscalError::SerialMismatch { .. }));
}

#[test]
fn transport_survives_naks_damaged_replies_junk_and_pieces() {
    for protocol in [
        FiscalProtocol::DatecsX,
        FiscalProtocol::DatecsP,
        FiscalProtocol::TremolZfp,
    ] {
        let emu = start(protocol, None);
        let mut dev = connect(&emu, protocol);
        let serial = serial_of(protocol);
        emu.set_line_noise(true);
        let info = dev.device_info().unwrap();
        assert_eq!(info.serial, serial);
        let unp = Unp::new(&serial, "1", 1).unwrap();
        // NAK: the host resends the same frame; it runs once.
        emu.nak_next(1);
        dev.open_receipt("1", &password(), &unp).unwrap();
        // A reply with a bad checksum: the host resends; the device replays, not re-executes.
        emu.corrupt_next_replies(1);
        let item = SaleItem {
            text: "Кафе".into(),
            tax_group: 2,
            unit_price: 180,
            quantity_milli: 3000,
            discount: 0,
        };
        dev.sale(&item).unwrap();
        let state = emu.state().open.unwrap();
        assert_eq!(
            (state.lines.len(), state.lines[0].total),
            (1, 540),
            "{protocol:?}"
        );
        assert_eq!((emu.naks(), emu.replayed()), (1, 1), "{protocol:?}");
        emu.corrupt_next_replies(1);
        dev.payment(PaymentKind::Cash, 540).unwrap();
        let number = dev.close_receipt().unwrap();
        let state = emu.state();
        assert_eq!(state.issued.len(), 1, "{protocol:?}");
        assert_eq!(
            (state.issued[0].number, state.issued[0].total),
            (number, 540)
        );
    }
}

#[test]
fn a_new_connection_reusing_the_last_seq_is_not_fooled_by_the_replay_cache() {
    use skladlink::fiscal::frame::{Framing, encode_request};
    use skladlink::fiscal::isl::IslDevice;
    use skladlink::fiscal::transport::{Transport, open_port};
    use skladlink::fiscal::zfp::{ZfpDevice, encode_frame};

    // Datecs X: a previous client's last frame was status with SEQ 0x30.
    let emu = start(FiscalProtocol::DatecsX, None);
    let mut raw = raw_port(&emu);
    raw.write_all(&encode_request(Framing::X, 0x30, 0x4A, b""))
        .unwrap();
    assert_eq!(read_n(raw.as_mut(), 27).len(), 27);
    drop(raw);
    let mut transport = Transport::new(
        open_port(emu.port_path(), 9600, fast().reply_timeout).unwrap(),
        Framing::X,
        fast(),
    );
    transport.set_next_seq(0x30);
    let mut dev = IslDevice::new(transport, FiscalProtocol::DatecsX);
    assert_eq!(dev.device_info().unwrap().serial, "DT279013");
    assert_eq!((emu.executed(), emu.replayed()), (2, 1));
    drop(dev);

    // Tremol: a previous client's last frame was close (NBL 0x30), answered with an ACK.
    let emu = start(FiscalProtocol::TremolZfp, None);
    let mut raw = raw_port(&emu);
    raw.write_all(&encode_frame(0x30, 0x38, b"")).unwrap();
    assert_eq!(read_n(raw.as_mut(), 7).len(), 7);
    drop(raw);
    let mut dev = ZfpDevice::new(
        open_port(emu.port_path(), 9600, fast().reply_timeout).unwrap(),
        fast(),
    );
    dev.set_next_nbl(0x30);
    assert_eq!(dev.device_info().unwrap().serial, "ZK123456");
    assert_eq!(emu.replayed(), 1);
}

#[test]
fn clock_and_duplicate_on_every_family() {
    let target = chrono::NaiveDate::from_ymd_opt(2030, 5, 17)
        .unwrap()
        .and_hms_opt(13, 55, 0)
        .unwrap();
    for protocol in FAMILIES {
        let dir = tempfile::tempdir().unwrap();
        let emu = start(protocol, None);
        let mut dev = connect(&emu, protocol);
        dev.set_date_time(target)
            .unwrap_or_else(|e| panic!("{protocol:?}: {e:?}"));
        let read = dev.date_time().unwrap();
        assert!(
            (read - target).num_seconds().abs() <= 60,
            "{protocol:?}: {read}"
        );
        // No receipt yet: nothing to duplicate.
        assert!(dev.print_duplicate().is_err(), "{protocol:?}");
        let serial = serial_of(protocol);
        let mut journal = PrintJournal::open(dir.path(), &serial).unwrap();
        let receipt = sample_receipt(Unp::new(&serial, "1", 1).unwrap());
        let printed = fiscal::print_receipt(
            dev.as_mut(),
            &receipt,
            &password(),
            &options(&serial),
            &mut journal,
        )
        .unwrap();
        assert!(
            (printed.date_time - target).num_seconds().abs() <= 120,
            "{protocol:?}"
        );
        emu.set_fault(Fault::PaperOut, true);
        assert_eq!(
            dev.print_duplicate(),
            Err(FiscalError::Device(DeviceFault::PaperOut)),
            "{protocol:?}"
        );
        emu.set_fault(Fault::PaperOut, false);
        dev.print_duplicate().unwrap();
        assert_eq!(
            dev.print_duplicate(),
            Err(FiscalError::Device(reported(
                protocol,
                DeviceFault::NotPermitted
            ))),
            "{protocol:?}"
        );
        assert_eq!(emu.state().duplicates, vec![printed.receipt_number]);
    }
}

#[test]
fn datecs_p_locks_after_three_wrong_passwords_until_power_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let protocol = FiscalProtocol::DatecsP;
    let emu = start(protocol, Some(dir.path()));
    let mut dev = connect(&emu, protocol);
    let unp = Unp::new(&serial_of(protocol), "1", 1).unwrap();
    for _ in 0..3 {
        assert_eq!(
            dev.open_receipt("1", &Secret::new("1234"), &unp),
            Err(FiscalError::Device(DeviceFault::NotPermitted))
        );
    }
    // Locked: even the right password is refused.
    assert_eq!(
        dev.open_receipt("1", &password(), &unp),
        Err(FiscalError::Device(DeviceFault::NotPermitted))
    );
    drop(dev);
    drop(emu);
    let emu = start(protocol, Some(dir.path()));
    let mut dev = connect(&emu, protocol);
    dev.open_receipt("1", &password(), &unp).unwrap();
    assert!(emu.state().open.is_some());
}

#[test]
fn storno_reuses_the_sale_unp_and_prints_once() {
    use skladlink::fiscal::{StornoOf, StornoReason, StornoReceipt};
    for protocol in FAMILIES {
        let dir = tempfile::tempdir().unwrap();
        let emu = start(protocol, None);
        let mut dev = connect(&emu, protocol);
        let serial = serial_of(protocol);
        let mut journal = PrintJournal::open(dir.path(), &serial).unwrap();
        let unp = Unp::new(&serial, "1", 1).unwrap();
        let sale = fiscal::print_receipt(
            dev.as_mut(),
            &sample_receipt(unp.clone()),
            &password(),
            &options(&serial),
            &mut journal,
        )
        .unwrap();
        let refund = |id: &str, number: u64| StornoReceipt {
            id: id.into(),
            receipt: Receipt {
                unp: unp.clone(),
                operator: "1".into(),
                lines: vec![ReceiptLine::Item {
                    text: "Сирене краве".into(),
                    unit_price: 1250,
                    quantity_milli: 1000,
                    vat_rate: 2000,
                    discount: 0,
                }],
                payments: vec![Payment {
                    kind: PaymentKind::Cash,
                    amount: 1250,
                }],
            },
            original: StornoOf {
                receipt_number: number,
                date_time: sale.date_time,
                fm_number: sale.fm_number.clone(),
                reason: StornoReason::Refund,
            },
        };
        let result = fiscal::print_storno(
            dev.as_mut(),
            &refund("r1", sale.receipt_number),
            &password(),
            &options(&serial),
            &mut journal,
        );
        if protocol == FiscalProtocol::Incotex {
            assert!(
                matches!(result, Err(FiscalError::Unsupported(_))),
                "{result:?}"
            );
            continue;
        }
        let storno = result.unwrap_or_else(|e| panic!("{protocol:?}: {e}"));
        assert_eq!(storno.unp, unp.to_string());
        assert_eq!(storno.total, 1250);
        let state = emu.state();
        let reversed = state.stornos_of(sale.receipt_number);
        assert_eq!(reversed.len(), 1, "{protocol:?}");
        assert_eq!(
            (
                reversed[0].number,
                reversed[0].total,
                reversed[0].unp.as_str()
            ),
            (storno.receipt_number, 1250, storno.unp.as_str())
        );
        assert_eq!(state.printed_with(&unp.to_string()), 1);
        // The same refund again: the journal answers, nothing is printed.
        let again = fiscal::print_storno(
            dev.as_mut(),
            &refund("r1", sale.receipt_number),
            &password(),
            &options(&serial),
            &mut journal,
        )
        .unwrap();
        assert_eq!(again, storno);
        // A storno of a receipt the device never printed is refused.
        let err = fiscal::print_storno(
            dev.as_mut(),
            &refund("r2", sale.receipt_number + 7),
            &password(),
            &options(&serial),
            &mut journal,
        )
        .unwrap_err();
        assert_eq!(
            err,
            FiscalError::Device(reported(protocol, DeviceFault::NotPermitted)),
            "{protocol:?}"
        );
        assert_eq!(emu.state().stornos_of(sale.receipt_number).len(), 1);
        assert!(emu.state().open.is_none());
    }
}

/// One milk at 2.50 in group Б.
fn milk() -> SaleItem {
    SaleItem {
        text: "Мляко".into(),
        tax_group: 2,
        unit_price: 250,
        quantity_milli: 1000,
        discount: 0,
    }
}

/// The line a new device of `protocol` registers for a sale of one item named `text`.
fn sold_on_a_new_device(protocol: FiscalProtocol, text: &str) -> SoldLine {
    sale_on_a_new_device(protocol, text).0
}

/// The line a new device of `protocol` registers for a sale of one item named `text`, and
/// the data bytes of the sale request as the device received them.
fn sale_on_a_new_device(protocol: FiscalProtocol, text: &str) -> (SoldLine, Vec<u8>) {
    let emu = start(protocol, None);
    let mut dev = connect(&emu, protocol);
    let unp = Unp::new(&serial_of(protocol), "1", 1).unwrap();
    dev.open_receipt("1", &password(), &unp).unwrap();
    dev.sale(&SaleItem {
        text: text.into(),
        ..milk()
    })
    .unwrap();
    // Datecs-style families and Tremol both register a sale with command 0x31.
    let sale = emu
        .received()
        .into_iter()
        .rfind(|r| r.command == 0x31)
        .expect("a sale request reached the device");
    (emu.state().open.unwrap().lines.remove(0), sale.data)
}

fn print_on(
    dev: &mut dyn FiscalDevice,
    receipt: &Receipt,
    serial: &str,
    journal: &mut LedgerJournal,
) -> Result<fiscal::PrintedReceipt, FiscalError> {
    fiscal::print_receipt(dev, receipt, &password(), &options(serial), journal)
}

/// Prints `receipt` with power lost after `after` commands and restarts the emulator from
/// its state file; Some(emulator) when the power loss left a receipt open with payment
/// started.
fn lose_power_after_payment(
    protocol: FiscalProtocol,
    device_dir: &Path,
    host_dir: &Path,
    receipt: &Receipt,
    after: u32,
) -> Option<FiscalEmulator> {
    let serial = serial_of(protocol);
    let emu = start(protocol, Some(device_dir));
    let mut dev = connect(&emu, protocol);
    let mut journal = PrintJournal::open(host_dir, &serial).unwrap();
    emu.power_loss_after(after);
    let first = print_on(dev.as_mut(), receipt, &serial, &mut journal);
    drop(dev);
    drop(emu);
    let emu = start(protocol, Some(device_dir));
    let paid = emu.state().open.is_some_and(|o| o.paid > 0);
    (first.is_err() && paid).then_some(emu)
}

#[test]
fn a_paid_receipt_left_open_is_finished_and_one_not_ours_stops_printing() {
    for protocol in [
        FiscalProtocol::DatecsX,
        FiscalProtocol::DatecsP,
        FiscalProtocol::TremolZfp,
    ] {
        let serial = serial_of(protocol);
        let mut found = false;
        for after in 1..=40 {
            let device_dir = tempfile::tempdir().unwrap();
            let host_dir = tempfile::tempdir().unwrap();
            let mut seq = UnpSequence::open(host_dir.path(), &serial).unwrap();
            let a = sample_receipt(seq.next("1").unwrap());
            let b = sample_receipt(seq.next("1").unwrap());
            let Some(emu) =
                lose_power_after_payment(protocol, device_dir.path(), host_dir.path(), &a, after)
            else {
                continue;
            };
            found = true;
            // The device refuses to cancel a receipt whose payment started (Tremol would
            // close it): a print of another sale must not touch it and names the sale.
            let mut dev = connect(&emu, protocol);
            let mut journal = PrintJournal::open(host_dir.path(), &serial).unwrap();
            let open_before = emu.state().open;
            let other = print_on(dev.as_mut(), &b, &serial, &mut journal).unwrap_err();
            assert_eq!(
                other,
                FiscalError::OtherSaleOpen {
                    sale: a.unp.to_string()
                },
                "{protocol:?} {after}"
            );
            assert!(other.stops_printing());
            assert_eq!(emu.state().open, open_before, "{protocol:?}");
            // The sale the journal names is finished: paid in full and closed, never
            // cancelled, never printed twice.
            let printed = print_on(dev.as_mut(), &a, &serial, &mut journal)
                .unwrap_or_else(|e| panic!("{protocol:?} {after}: {e}"));
            assert!(printed.recovered);
            let state = emu.state();
            assert!(state.open.is_none());
            assert!(state.issued.iter().all(|r| !r.cancelled), "{protocol:?}");
            assert_eq!(state.printed_with(&a.unp.to_string()), 1);
            let issued = state.issued.iter().find(|r| r.unp == printed.unp).unwrap();
            assert_eq!(
                (issued.number, issued.total, issued.sales),
                (printed.receipt_number, SAMPLE_TOTAL, 3)
            );
            // And the rest print again.
            print_on(dev.as_mut(), &b, &serial, &mut journal).unwrap();
            assert_eq!(emu.state().printed_with(&b.unp.to_string()), 1);
            break;
        }
        assert!(found, "{protocol:?}: no power loss after payment");
    }
}

#[test]
fn a_receipt_skladlink_did_not_open_stops_printing_and_is_left_alone() {
    for protocol in [
        FiscalProtocol::DatecsX,
        FiscalProtocol::DatecsC,
        FiscalProtocol::TremolZfp,
    ] {
        for pay in [false, true] {
            let host_dir = tempfile::tempdir().unwrap();
            let serial = serial_of(protocol);
            let emu = start(protocol, None);
            let mut dev = connect(&emu, protocol);
            let mut seq = UnpSequence::open(host_dir.path(), &serial).unwrap();
            let mut journal = PrintJournal::open(host_dir.path(), &serial).unwrap();
            // Someone else's receipt: opened on the device outside SkladLink's journal.
            let foreign = Unp::new(&serial, "7", 900).unwrap();
            dev.open_receipt("1", &password(), &foreign).unwrap();
            dev.sale(&SaleItem {
                text: "Чужд".into(),
                tax_group: 2,
                unit_price: 500,
                quantity_milli: 1000,
                discount: 0,
            })
            .unwrap();
            if pay {
                dev.payment(PaymentKind::Cash, 100).unwrap();
            }
            let before = emu.state().open;
            let receipt = sample_receipt(seq.next("1").unwrap());
            let err = print_on(dev.as_mut(), &receipt, &serial, &mut journal).unwrap_err();
            assert_eq!(
                err,
                FiscalError::ForeignReceiptOpen {
                    device: serial.clone()
                },
                "{protocol:?} {pay}"
            );
            assert!(err.stops_printing());
            let text = err.message(Language::En);
            assert!(
                text.contains(&serial) && text.contains("on the device"),
                "{text}"
            );
            assert_eq!(emu.state().open, before, "{protocol:?} {pay}");
            assert!(emu.state().issued.is_empty());
            assert!(journal.pending().unwrap().is_empty());
        }
    }
}

#[test]
fn tremol_lost_acknowledgements_never_double_a_sale() {
    use skladlink::sim::fiscal::Repeats;
    let protocol = FiscalProtocol::TremolZfp;
    for repeats in [Repeats::Execute, Repeats::Replay] {
        let emu = FiscalEmulator::start(EmulatorConfig {
            repeats,
            ..EmulatorConfig::new(protocol)
        })
        .unwrap();
        let mut dev = connect(&emu, protocol);
        let unp = Unp::new(&serial_of(protocol), "1", 1).unwrap();
        emu.drop_replies(1);
        dev.open_receipt("1", &password(), &unp).unwrap();
        let item = milk();
        // The sale runs, its acknowledgement is lost: the client reads the receipt's state
        // instead of sending it again.
        emu.drop_replies(1);
        dev.sale(&item).unwrap();
        let open = emu.state().open.unwrap();
        assert_eq!((open.lines.len(), open.total()), (1, 250), "{repeats:?}");
        // A damaged acknowledgement is lost all the same.
        emu.corrupt_next_replies(1);
        dev.sale(&item).unwrap();
        assert_eq!(emu.state().open.unwrap().lines.len(), 2, "{repeats:?}");
        emu.drop_replies(1);
        dev.payment(PaymentKind::Cash, 500).unwrap();
        assert_eq!(emu.state().open.unwrap().paid, 500, "{repeats:?}");
        emu.drop_replies(1);
        dev.close_receipt().unwrap();
        let state = emu.state();
        assert_eq!(state.issued.len(), 1);
        assert_eq!((state.issued[0].total, state.issued[0].sales), (500, 2));
    }
    // What the client avoids: a device without duplicate detection runs a frame sent
    // twice under the same sequence number twice.
    let emu = start(protocol, None);
    let mut dev = connect(&emu, protocol);
    let unp = Unp::new(&serial_of(protocol), "1", 2).unwrap();
    dev.open_receipt("1", &password(), &unp).unwrap();
    drop(dev);
    let mut port = raw_port(&emu);
    let name = format!("{:<36}", "Мляко");
    let mut data = skladlink::sim::fiscal::fields::encode_text(&name);
    data.extend_from_slice(";".as_bytes());
    data.extend(skladlink::sim::fiscal::fields::encode_text("Б"));
    data.extend_from_slice(b";2.50*1.000");
    let frame = skladlink::fiscal::zfp::encode_frame(0x55, 0x31, &data);
    for _ in 0..2 {
        port.write_all(&frame).unwrap();
        let ack = read_n(port.as_mut(), 7);
        assert_eq!(&ack[2..4], b"00", "{ack:02X?}");
    }
    assert_eq!(emu.state().open.unwrap().lines.len(), 2);
}

#[test]
fn item_names_are_cut_to_what_the_paper_prints() {
    let long = "Сирене краве от Родопите, зряло 12 месеца, вакуум 1 кг, BIO, партида 42";
    for protocol in FAMILIES {
        let line = &sold_on_a_new_device(protocol, long);
        assert_eq!(line.lost_on_paper, 0, "{protocol:?}: {:?}", line.text);
        assert!(long.starts_with(line.text.trim_end()), "{protocol:?}");
        if protocol == FiscalProtocol::TremolZfp {
            assert_eq!(line.text.chars().count(), 34);
        }
    }
}

#[test]
fn tremol_reads_its_vat_rates_and_refuses_a_mapping_that_differs() {
    let protocol = FiscalProtocol::TremolZfp;
    let serial = serial_of(protocol);
    // Group Г is programmed with 5 %, the mapping says 9 %.
    let emu = FiscalEmulator::start(EmulatorConfig {
        vat_rates: Some(vec![
            Some(0),
            Some(2000),
            Some(2000),
            Some(500),
            None,
            None,
            None,
            None,
        ]),
        ..EmulatorConfig::new(protocol)
    })
    .unwrap();
    let mut dev = connect(&emu, protocol);
    let rates = dev.vat_rates().unwrap().unwrap();
    assert_eq!(
        &rates[..5],
        &[Some(0), Some(2000), Some(2000), Some(500), None]
    );
    let host_dir = tempfile::tempdir().unwrap();
    let mut seq = UnpSequence::open(host_dir.path(), &serial).unwrap();
    let mut journal = PrintJournal::open(host_dir.path(), &serial).unwrap();
    let receipt = sample_receipt(seq.next("1").unwrap());
    let err = print_on(dev.as_mut(), &receipt, &serial, &mut journal).unwrap_err();
    assert_eq!(
        err,
        FiscalError::TaxRateMismatch {
            group: 4,
            device: "5.00 %".into(),
            expected: "9.00 %".into()
        }
    );
    let state = emu.state();
    assert!(state.open.is_none() && state.issued.is_empty());
}

#[test]
fn a_new_tremol_with_no_receipt_yet_prints_its_first() {
    let protocol = FiscalProtocol::TremolZfp;
    let serial = serial_of(protocol);
    let emu = start(protocol, None);
    let mut dev = connect(&emu, protocol);
    // The last-receipt query of a device that never printed answers with no data.
    assert_eq!(dev.last_receipt_number().unwrap(), 0);
    let host_dir = tempfile::tempdir().unwrap();
    let mut seq = UnpSequence::open(host_dir.path(), &serial).unwrap();
    let mut journal = PrintJournal::open(host_dir.path(), &serial).unwrap();
    let printed = print_on(
        dev.as_mut(),
        &sample_receipt(seq.next("1").unwrap()),
        &serial,
        &mut journal,
    )
    .unwrap();
    assert_eq!(printed.receipt_number, 1);
    assert_eq!(dev.last_receipt_number().unwrap(), 1);
}

#[test]
fn a_bare_syntax_error_reply_reads_as_a_syntax_error() {
    let emu = FiscalEmulator::start(EmulatorConfig {
        bare_syntax_errors: true,
        ..EmulatorConfig::new(FiscalProtocol::DatecsX)
    })
    .unwrap();
    let mut dev = connect(&emu, FiscalProtocol::DatecsX);
    let unp = Unp::new("DT279013", "1", 1).unwrap();
    dev.open_receipt("1", &password(), &unp).unwrap();
    // Tax group 9 does not exist: the device answers with no data and the syntax bit.
    let err = dev
        .sale(&SaleItem {
            text: "A".into(),
            tax_group: 9,
            unit_price: 100,
            quantity_milli: 1000,
            discount: 0,
        })
        .unwrap_err();
    assert_eq!(err, FiscalError::Device(DeviceFault::Syntax));
    assert!(!err.message(Language::En).contains("empty reply"));
}

#[test]
fn crash_mid_receipt_on_tremol_leaves_exactly_one_receipt() {
    let mut crashes = 0;
    for after in 1..=28 {
        if crash_and_recover(FiscalProtocol::TremolZfp, after) {
            crashes += 1;
        }
    }
    assert!(crashes >= 20, "only {crashes} crashes");
}

#[test]
fn the_tail_of_a_frame_from_a_broken_off_connection_is_not_taken_for_a_ping_answer() {
    // A Tremol data frame ends in its two checksum bytes and 0x0A (PROTOCOLS.md §3.1); what a
    // device was still sending when the last connection broke off arrives before the answer
    // to the next connection's first ping, letters included.
    let protocol = FiscalProtocol::TremolZfp;
    let emu = FiscalEmulator::start(EmulatorConfig::new(protocol)).unwrap();
    emu.send_before_next_ping(b"ZK123456;50123456\x35\x3A\x0A");
    print_sample(&emu, protocol).expect("the receipt prints");
    let issued = emu.state().issued;
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].total, SAMPLE_TOTAL);
}

#[test]
fn bulgarian_punctuation_and_the_euro_sign_reach_the_device_as_themselves() {
    let name = "„кафе“ – 250 г € — «№1»";
    for protocol in [
        FiscalProtocol::DatecsX,
        FiscalProtocol::DatecsP,
        FiscalProtocol::TremolZfp,
    ] {
        assert_eq!(
            sold_on_a_new_device(protocol, name).text,
            name,
            "{protocol:?}"
        );
    }
}

#[test]
fn a_receipt_line_reaches_the_device_as_windows_1251_bytes() {
    // By value (Windows-1251): „ 0x84, “ 0x93, – 0x96, — 0x97, € 0x88; к а ф е г in
    // 0xE0–0xFF.
    let expected: &[u8] = &[
        0x84, 0xEA, 0xE0, 0xF4, 0xE5, 0x93, 0x20, 0x96, 0x20, 0x32, 0x35, 0x30, 0x20, 0xE3, 0x20,
        0x88, 0x20, 0x97,
    ];
    for protocol in FAMILIES {
        let (line, data) = sale_on_a_new_device(protocol, "„кафе“ – 250 г € —");
        assert!(
            data.windows(expected.len()).any(|w| w == expected),
            "{protocol:?}: {data:02X?}"
        );
        assert!(!data.contains(&b'?'), "{protocol:?}: {data:02X?}");
        assert_eq!(line.text.trim_end(), "„кафе“ – 250 г € —", "{protocol:?}");
    }
}

/// Prints the sample receipt on a new device of `protocol` in euro mode `mode`.
fn issued_in_mode(protocol: FiscalProtocol, mode: u8) -> skladlink::sim::fiscal::IssuedReceipt {
    let emu = FiscalEmulator::start(EmulatorConfig {
        currency_mode: Some(mode),
        ..EmulatorConfig::new(protocol)
    })
    .unwrap();
    print_sample(&emu, protocol).unwrap();
    emu.state().issued.remove(0)
}

/// Prints the sample receipt once on `emu`, through a new connection, journal and УНП
/// sequence.
fn print_sample(
    emu: &FiscalEmulator,
    protocol: FiscalProtocol,
) -> Result<fiscal::PrintedReceipt, FiscalError> {
    let mut dev = connect(emu, protocol);
    let serial = serial_of(protocol);
    let host_dir = tempfile::tempdir().unwrap();
    let mut seq = UnpSequence::open(host_dir.path(), &serial).unwrap();
    let mut journal = PrintJournal::open(host_dir.path(), &serial).unwrap();
    let receipt = sample_receipt(seq.next("1").unwrap());
    print_on(dev.as_mut(), &receipt, &serial, &mut journal)
}

#[test]
fn a_device_prints_in_its_main_currency_and_adds_the_second_itself() {
    use skladlink::sim::fiscal::SecondTotal;
    let second = |currency: &str, total: i64| {
        Some(SecondTotal {
            currency: currency.into(),
            total,
        })
    };
    // 34.00 sent. Mode 2 prints 34.00 € and 66.50 лв below (34 × 1.95583 = 66.49822); a
    // device still in leva takes the same 34.00 as leva, with 17.38 € below in mode 1.
    let modes = [
        (0, "BGN", None),
        (1, "BGN", second("EUR", 1738)),
        (2, "EUR", second("BGN", 6650)),
        (3, "EUR", None),
    ];
    for protocol in [FiscalProtocol::DatecsX, FiscalProtocol::TremolZfp] {
        for (mode, currency, second_total) in &modes {
            let issued = issued_in_mode(protocol, *mode);
            assert_eq!(
                (issued.currency.as_str(), issued.total, &issued.second_total),
                (*currency, SAMPLE_TOTAL, second_total),
                "{protocol:?} in mode {mode}"
            );
        }
    }
    assert_eq!(DeviceState::new(FiscalProtocol::Daisy).currency_mode, 2);
}
