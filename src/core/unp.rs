//! УНП (уникален номер на продажба, unique sale number): formatting and validation.
//!
//! Format `XXXXXXXX-ZZZZ-NNNNNNN`: the fiscal device's serial (2 capital Latin letters and
//! 6 digits), the operator code (upper-case letters or digits, padded to 4 with leading
//! zeros) and a 7-digit sale sequence. Source: the Datecs X/P/C, Daisy and Tremol protocol
//! documents and ErpNet.FP's validation regex `^[A-Z]{2}[0-9]{6}-[A-Z0-9]{4}-[0-9]{7}$`.

use std::fmt;

/// Largest sale sequence that fits the 7-digit part of a УНП.
pub const MAX_SEQUENCE: u32 = 9_999_999;

/// Why a УНП or one of its parts is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpError {
    /// The device serial is not 2 capital Latin letters followed by 6 digits.
    #[error("invalid fiscal device serial {0:?}")]
    BadSerial(String),
    /// The operator code is empty, longer than 4 characters or not letters/digits.
    #[error("invalid operator code {0:?}")]
    BadOperator(String),
    /// The sequence is 0 or larger than 9999999.
    #[error("sale sequence {0} out of range")]
    BadSequence(u64),
    /// The text is not `XXXXXXXX-ZZZZ-NNNNNNN`.
    #[error("invalid УНП {0:?}")]
    BadFormat(String),
}

/// A valid УНП.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Unp {
    serial: String,
    operator: String,
    sequence: u32,
}

/// True when `serial` is a fiscal device serial: 2 capital Latin letters and 6 digits.
pub fn is_valid_serial(serial: &str) -> bool {
    let b = serial.as_bytes();
    b.len() == 8
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..].iter().all(u8::is_ascii_digit)
}

/// The 4-character operator code used in a УНП: upper-cased and left-padded with zeros.
pub fn normalize_operator(code: &str) -> Result<String, UnpError> {
    let code = code.trim();
    if code.is_empty() || code.len() > 4 || !code.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(UnpError::BadOperator(code.to_string()));
    }
    Ok(format!("{:0>4}", code.to_ascii_uppercase()))
}

impl Unp {
    /// Builds a УНП from the device serial, the operator code and the sale sequence.
    pub fn new(serial: &str, operator: &str, sequence: u32) -> Result<Self, UnpError> {
        if !is_valid_serial(serial) {
            return Err(UnpError::BadSerial(serial.to_string()));
        }
        let operator = normalize_operator(operator)?;
        if sequence == 0 || sequence > MAX_SEQUENCE {
            return Err(UnpError::BadSequence(u64::from(sequence)));
        }
        Ok(Self {
            serial: serial.to_string(),
            operator,
            sequence,
        })
    }

    /// Parses and validates a УНП text.
    pub fn parse(text: &str) -> Result<Self, UnpError> {
        let bad = || UnpError::BadFormat(text.to_string());
        let mut parts = text.split('-');
        let (Some(serial), Some(op), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if op.len() != 4
            || !op
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            || seq.len() != 7
            || !seq.bytes().all(|c| c.is_ascii_digit())
            || !is_valid_serial(serial)
        {
            return Err(bad());
        }
        let sequence: u32 = seq.parse().map_err(|_| bad())?;
        if sequence == 0 {
            return Err(bad());
        }
        Ok(Self {
            serial: serial.to_string(),
            operator: op.to_string(),
            sequence,
        })
    }

    /// The fiscal device serial part.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The 4-character operator part.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The sale sequence part.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }
}

impl fmt::Display for Unp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{:07}", self.serial, self.operator, self.sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_reference_example() {
        let unp = Unp::new("DT279013", "1", 1).unwrap();
        assert_eq!(unp.to_string(), "DT279013-0001-0000001");
        assert_eq!(
            Unp::new("DY000600", "op1", 1000).unwrap().to_string(),
            "DY000600-0OP1-0001000"
        );
    }

    #[test]
    fn parse_round_trips_and_rejects_bad_text() {
        let unp = Unp::parse("DT000600-OP01-0001000").unwrap();
        assert_eq!(
            (unp.serial(), unp.operator(), unp.sequence()),
            ("DT000600", "OP01", 1000)
        );
        assert_eq!(unp.to_string(), "DT000600-OP01-0001000");
        for bad in [
            "",
            "DT000600-op01-0001000",
            "DT00060-OP01-0001000",
            "dt000600-OP01-0001000",
            "DT000600-OP01-000100",
            "DT000600-OP01-0000000",
            "DT000600_OP01_0001000",
            "DT000600-OP01-0001000-1",
            "DT000600-ОР01-0001000",
        ] {
            assert!(Unp::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn new_validates_parts() {
        assert!(matches!(
            Unp::new("DT27901", "1", 1),
            Err(UnpError::BadSerial(_))
        ));
        assert!(matches!(
            Unp::new("DT279013", "", 1),
            Err(UnpError::BadOperator(_))
        ));
        assert!(matches!(
            Unp::new("DT279013", "12345", 1),
            Err(UnpError::BadOperator(_))
        ));
        assert!(matches!(
            Unp::new("DT279013", "1-", 1),
            Err(UnpError::BadOperator(_))
        ));
        assert!(matches!(
            Unp::new("DT279013", "1", 0),
            Err(UnpError::BadSequence(0))
        ));
        assert!(Unp::new("DT279013", "1", MAX_SEQUENCE).is_ok());
        assert!(Unp::new("DT279013", "1", MAX_SEQUENCE + 1).is_err());
    }
}
