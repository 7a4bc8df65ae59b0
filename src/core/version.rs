//! Warehouse Pro database versions (`System.Version`, e.g. "3.07.100").

/// The first database version with SUPTO support; the SUPTO-mode setting is shown from it.
pub const SUPTO_MIN_VERSION: [u32; 3] = [3, 7, 100];

/// Parses a dotted version ("3.07.100") into numbers; `None` when it is not one.
pub fn parse_version(text: &str) -> Option<Vec<u32>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    text.split('.')
        .map(|part| part.trim().parse::<u32>().ok())
        .collect()
}

/// True when `version` is 3.07.100 or newer (missing parts count as 0: "3.07" is older).
pub fn supports_supto(version: &str) -> bool {
    let Some(mut parts) = parse_version(version) else {
        return false;
    };
    parts.resize(parts.len().max(3), 0);
    parts.as_slice() >= SUPTO_MIN_VERSION.as_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supto_threshold() {
        assert!(supports_supto("3.07.100"));
        assert!(supports_supto("3.07.101"));
        assert!(supports_supto("3.08"));
        assert!(supports_supto("4.0.0"));
        assert!(!supports_supto("3.07.099"));
        assert!(!supports_supto("3.07.044"));
        assert!(!supports_supto("3.07"));
        assert!(!supports_supto(""));
        assert!(!supports_supto("abc"));
    }
}
