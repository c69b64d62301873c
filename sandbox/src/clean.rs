//! What leaves the sandbox is made safe to show and to send: control characters neutralised and
//! secrets redacted.
//!
//! Generated code chooses what a failing test prints, and kiln shows that text on the user's
//! terminal, stores it in hook notes and sends it to the model provider. So, for every string of
//! a [`crate::RunReport`]:
//! - control characters other than newline and tab are escaped (`\u{1b}`), as are the bidi
//!   overrides that reorder what a reader sees: no escape sequence reaches the terminal (a
//!   clipboard write with OSC 52, a screen clear, a title change), no carriage return hides a
//!   line;
//! - values of the user's environment that look secret (names with KEY, TOKEN, SECRET,
//!   PASSWORD, ...), values the caller names, and common credential shapes (private-key blocks,
//!   `AKIA…`, `ghp_…`, `github_pat_…`, `sk-…`, `xox?-…`) become `[redacted]`. The run cannot
//!   read such values any more (scrubbed environment, confined reads): this is the second wall,
//!   for whatever a future gap lets through.

use std::ffi::OsString;

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[redacted]";
/// Environment variable names (upper-cased) that mark a value as secret when they contain one
/// of these.
const SECRET_NAME_PARTS: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
];
/// Shorter values are not redacted: `KEY=1` would turn every `1` into `[redacted]`.
const MIN_SECRET_LEN: usize = 8;
/// Prefixed token shapes: the prefix, and the least number of token characters after it.
const TOKEN_SHAPES: &[(&str, usize)] = &[
    ("ghp_", 30),
    ("gho_", 30),
    ("ghu_", 30),
    ("ghs_", 30),
    ("ghr_", 30),
    ("github_pat_", 22),
    ("sk-", 20),
    ("xoxb-", 10),
    ("xoxp-", 10),
    ("xoxa-", 10),
    ("xoxs-", 10),
];
/// AWS access key ids: one of these, then 16 upper-case letters or digits.
const AWS_KEY_PREFIXES: &[&str] = &["AKIA", "ASIA"];
const AWS_KEY_TAIL: usize = 16;
const PEM_BEGIN: &str = "-----BEGIN ";
const PEM_PRIVATE: &str = "PRIVATE KEY-----";
const PEM_END: &str = "-----END ";

/// Escapes control characters (but newline and tab) and bidi overrides.
pub fn neutralise_controls(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first character [`neutralise_controls`] would escape, for a check that refuses text
/// instead of rewriting it; a carriage return before a newline (CRLF) passes.
pub fn first_raw_control(text: &str) -> Option<char> {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if needs_escape(c) {
            return Some(c);
        }
    }
    None
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Replaces secrets in text with [`REDACTED`], counting each replacement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Exact values to redact, longest first (so a secret containing another is redacted whole).
    values: Vec<String>,
}

impl Redactor {
    /// Secret-looking values of the environment read by `lookup`-able `vars`, and `extra`.
    pub fn new(vars: impl IntoIterator<Item = (OsString, OsString)>, extra: &[String]) -> Self {
        let mut values: Vec<String> = vars
            .into_iter()
            .filter(|(name, _)| {
                let name = name.to_string_lossy().to_ascii_uppercase();
                SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
            })
            .filter_map(|(_, value)| value.into_string().ok())
            .chain(extra.iter().cloned())
            .filter(|value| value.len() >= MIN_SECRET_LEN)
            .collect();
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        values.dedup();
        Redactor { values }
    }

    /// [`Redactor::new`] over the real process environment.
    pub fn from_process(extra: &[String]) -> Self {
        Self::new(std::env::vars_os(), extra)
    }

    /// `text` with every secret replaced; `count` grows by the number replaced.
    pub fn redact(&self, text: &str, count: &mut usize) -> String {
        let mut out = text.to_string();
        for value in &self.values {
            let found = out.matches(value.as_str()).count();
            if found > 0 {
                *count += found;
                out = out.replace(value.as_str(), REDACTED);
            }
        }
        redact_pem_blocks(&redact_token_shapes(&out, count), count)
    }
}

/// Replaces `-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----` (or to the end of
/// the text, when cut) with one [`REDACTED`].
fn redact_pem_blocks(text: &str, count: &mut usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(begin) = rest.find(PEM_BEGIN) {
        let header_end = rest[begin..].find('\n').map_or(rest.len(), |i| begin + i);
        if !rest[begin..header_end].contains(PEM_PRIVATE) {
            out.push_str(&rest[..begin + PEM_BEGIN.len()]);
            rest = &rest[begin + PEM_BEGIN.len()..];
            continue;
        }
        out.push_str(&rest[..begin]);
        out.push_str(REDACTED);
        *count += 1;
        let after = &rest[begin + PEM_BEGIN.len()..];
        rest = match after.find(PEM_END) {
            Some(end) => {
                let tail = &after[end..];
                let line_end = tail
                    .find(PEM_PRIVATE)
                    .map_or(tail.len(), |i| i + PEM_PRIVATE.len());
                &tail[line_end..]
            }
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Replaces prefixed tokens (`ghp_…`, `sk-…`) and AWS key ids that start at a word boundary.
fn redact_token_shapes(text: &str, count: &mut usize) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let at_boundary = i == 0 || !is_token_byte(bytes[i - 1]);
        let end = at_boundary.then(|| token_end(bytes, i)).flatten();
        match end {
            Some(end) => {
                out.push_str(&text[copied..i]);
                out.push_str(REDACTED);
                *count += 1;
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Where a credential starting at `start` ends, if one does.
fn token_end(bytes: &[u8], start: usize) -> Option<usize> {
    let rest = &bytes[start..];
    for (prefix, least) in TOKEN_SHAPES {
        if let Some(tail) = rest.strip_prefix(prefix.as_bytes()) {
            let len = tail.iter().take_while(|b| is_token_byte(**b)).count();
            if len >= *least {
                return Some(start + prefix.len() + len);
            }
        }
    }
    for prefix in AWS_KEY_PREFIXES {
        if let Some(tail) = rest.strip_prefix(prefix.as_bytes()) {
            let len = tail
                .iter()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                .count();
            if len == AWS_KEY_TAIL && tail.get(len).is_none_or(|b| !is_token_byte(*b)) {
                return Some(start + prefix.len() + len);
            }
        }
    }
    None
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Neutralises and redacts every string of `report` that a run's output put there, and records
/// how many secrets were redacted.
pub(crate) fn clean_report(report: &mut crate::RunReport, redactor: &Redactor) {
    let mut count = 0;
    let mut clean =
        |text: &mut String| *text = neutralise_controls(&redactor.redact(text, &mut count));
    clean(&mut report.output);
    for error in &mut report.compiler_errors {
        clean(&mut error.message);
        clean(&mut error.rendered);
    }
    for failure in &mut report.failures {
        clean(&mut failure.name);
        clean(&mut failure.message);
        if let Some(site) = &mut failure.panicked_at {
            clean(&mut site.file);
        }
    }
    for name in &mut report.passed_tests {
        clean(name);
    }
    report.redactions += count;
}

/// A progress event made as safe as a report: a test can print a line that libtest's parser
/// reads as a test name, or a `Compiling` line of its own, with escapes or a secret in it.
pub(crate) fn clean_progress(progress: crate::Progress, redactor: &Redactor) -> crate::Progress {
    use crate::Progress;
    let mut ignored = 0;
    let mut clean = |text: String| neutralise_controls(&redactor.redact(&text, &mut ignored));
    match progress {
        Progress::Compiling { unit } => Progress::Compiling { unit: clean(unit) },
        Progress::TestFinished { name, passed } => Progress::TestFinished {
            name: clean(name),
            passed,
        },
        started @ Progress::TestsStarted { .. } => started,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn raw_controls_are_found_but_crlf_is_not_one() {
        assert_eq!(first_raw_control("fn f() {}\r\n\tx\n"), None);
        assert_eq!(first_raw_control("let s = \"\x1b[2J\";"), Some('\x1b'));
        assert_eq!(first_raw_control("a\rb"), Some('\r'));
        assert_eq!(first_raw_control("x\u{202e}y"), Some('\u{202e}'));
    }

    fn redact(redactor: &Redactor, text: &str) -> (String, usize) {
        let mut count = 0;
        let out = redactor.redact(text, &mut count);
        (out, count)
    }

    #[test]
    fn escape_sequences_are_escaped_but_newlines_and_tabs_kept() {
        let shown = neutralise_controls("a\x1b]52;c;aGk=\x07b\r\n\tc\u{9b}2J\u{202e}d");
        assert!(!shown.contains('\x1b') && !shown.contains('\x07') && !shown.contains('\r'));
        assert!(!shown.contains('\u{9b}') && !shown.contains('\u{202e}'));
        assert_eq!(
            shown,
            "a\\u{1b}]52;c;aGk=\\u{7}b\\u{d}\n\tc\\u{9b}2J\\u{202e}d"
        );
        assert_eq!(neutralise_controls("plain\ttext\n"), "plain\ttext\n");
    }

    #[test]
    fn secret_environment_values_are_redacted_and_counted() {
        let redactor = Redactor::new(
            [
                ("OPENAI_API_KEY".into(), "key-1234567890".into()),
                ("github_token".into(), "tok-abcdefgh".into()),
                ("SHORT_KEY".into(), "1".into()),
                ("PATH".into(), "/usr/bin:/bin".into()),
            ],
            &["from-config-file".to_string()],
        );
        let (out, count) = redact(
            &redactor,
            "key-1234567890 and tok-abcdefgh twice tok-abcdefgh, from-config-file, 1, /usr/bin:/bin",
        );
        assert_eq!(
            out,
            "[redacted] and [redacted] twice [redacted], [redacted], 1, /usr/bin:/bin"
        );
        assert_eq!(count, 4);
    }

    #[test]
    fn credential_shapes_are_redacted_at_word_boundaries_only() {
        let redactor = Redactor::default();
        let aws = "AKIAIOSFODNN7EXAMPLE";
        let gh = format!("ghp_{}", "a1".repeat(18));
        let sk = "sk-proj-abcdefghijklmnopqrstuvwx";
        let text = format!("id {aws}; token={gh} \"{sk}\" task-abcdefghijklmnopqrstuvwxyz AKIA123");
        let (out, count) = redact(&redactor, &text);
        assert_eq!(
            out,
            "id [redacted]; token=[redacted] \"[redacted]\" task-abcdefghijklmnopqrstuvwxyz AKIA123"
        );
        assert_eq!(count, 3);
    }

    #[test]
    fn private_key_blocks_are_redacted_whole_even_when_cut() {
        let redactor = Redactor::default();
        let text = "before\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\nafter\n-----BEGIN CERTIFICATE-----\nMIIB\n-----BEGIN RSA PRIVATE KEY-----\nMIIE";
        let (out, count) = redact(&redactor, text);
        assert_eq!(
            out,
            "before\n[redacted]\nafter\n-----BEGIN CERTIFICATE-----\nMIIB\n[redacted]"
        );
        assert_eq!(count, 2);
    }
}
