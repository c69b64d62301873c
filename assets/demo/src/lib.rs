//! A tiny key/value config parser and some arithmetic with edge cases: the kind of code that
//! ships without tests. Try `kiln gen-tests assets/demo/src/lib.rs`.

use std::collections::BTreeMap;

/// Why a line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The line has no `=` separator.
    MissingSeparator { line: usize },
    /// The key before `=` is empty.
    EmptyKey { line: usize },
    /// The same key appears twice.
    DuplicateKey { line: usize, key: String },
}

/// Parses `key = value` lines. Blank lines and lines starting with `#` are skipped; keys and
/// values are trimmed. Line numbers in errors are 1-based.
pub fn parse_config(text: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let mut entries = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (key, value) = trimmed
            .split_once('=')
            .ok_or(ParseError::MissingSeparator { line })?;
        let key = key.trim();
        if key.is_empty() {
            return Err(ParseError::EmptyKey { line });
        }
        if entries.contains_key(key) {
            return Err(ParseError::DuplicateKey {
                line,
                key: key.to_string(),
            });
        }
        entries.insert(key.to_string(), value.trim().to_string());
    }
    Ok(entries)
}

/// Splits a comma-separated field list, dropping empty fields.
pub fn split_fields(line: &str) -> Vec<&str> {
    line.split(',')
        .map(str::trim)
        .filter(|field| !field.is_empty())
        .collect()
}

/// Integer average rounded toward negative infinity; `None` for an empty slice.
/// Sums in `i64` so large `i32` inputs do not overflow.
pub fn mean_floor(values: &[i32]) -> Option<i32> {
    if values.is_empty() {
        return None;
    }
    let sum: i64 = values.iter().map(|&v| i64::from(v)).sum();
    Some(sum.div_euclid(values.len() as i64) as i32)
}

/// Clamps `value` into `[low, high]`. Returns `None` when the range is empty (`low > high`).
pub fn clamp_checked(value: i64, low: i64, high: i64) -> Option<i64> {
    if low > high {
        return None;
    }
    Some(value.max(low).min(high))
}

/// Percentage of `part` in `whole`, rounded to the nearest whole percent; `None` when `whole` is 0.
pub fn percent(part: u32, whole: u32) -> Option<u32> {
    if whole == 0 {
        return None;
    }
    let scaled = u64::from(part) * 100 + u64::from(whole) / 2;
    Some((scaled / u64::from(whole)) as u32)
}
