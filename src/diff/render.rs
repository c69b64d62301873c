//! Unified diffs, coloured only for a terminal that wants colour.

use similar::{ChangeTag, TextDiff};

use super::hunks::{Hunk, LineKind};

/// Hunks show this many unchanged lines around each change, as `git diff` does.
pub(super) const CONTEXT_LINES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Always,
    Never,
}

impl Colour {
    /// Colour for a terminal, none for pipes, files or `NO_COLOR` (https://no-color.org).
    pub fn for_stream(stream: &impl std::io::IsTerminal) -> Colour {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if stream.is_terminal() && !no_colour {
            Colour::Always
        } else {
            Colour::Never
        }
    }
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(colour: Colour, code: &str, text: &str) -> String {
    match colour {
        Colour::Always => format!("{code}{text}{RESET}"),
        Colour::Never => text.to_string(),
    }
}

/// One hunk as [`unified`] shows it, for a question about that hunk alone (`--patch`).
pub fn hunk(hunk: &Hunk, colour: Colour) -> String {
    let mut out = paint(colour, CYAN, &hunk.header);
    out.push('\n');
    for line in &hunk.lines {
        let painted = match line.kind {
            LineKind::Context => format!(" {}", line.text),
            LineKind::Removed => paint(colour, RED, &format!("-{}", line.text)),
            LineKind::Added => paint(colour, GREEN, &format!("+{}", line.text)),
        };
        out.push_str(&painted);
        out.push('\n');
    }
    out
}

/// A `diff -u` style patch of `old` to `new`, labelled `a/<label>` and `b/<label>`.
pub fn unified(label: &str, old: &str, new: &str, colour: Colour) -> String {
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    let paint = |code: &str, text: &str| paint(colour, code, text);
    out.push_str(&paint(BOLD, &format!("--- a/{label}\n+++ b/{label}\n")));
    for hunk in diff
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .iter_hunks()
    {
        out.push_str(&paint(CYAN, &format!("{}\n", hunk.header())));
        for change in hunk.iter_changes() {
            let (sign, code) = match change.tag() {
                ChangeTag::Delete => ("-", Some(RED)),
                ChangeTag::Insert => ("+", Some(GREEN)),
                ChangeTag::Equal => (" ", None),
            };
            let mut line = format!("{sign}{}", change.value());
            if change.missing_newline() {
                line.push_str("\n\\ No newline at end of file\n");
            }
            match code {
                Some(code) => {
                    let (body, newline) = match line.strip_suffix('\n') {
                        Some(body) => (body.to_string(), "\n"),
                        None => (line.clone(), ""),
                    };
                    out.push_str(&paint(code, &body));
                    out.push_str(newline);
                }
                None => out.push_str(&line),
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn plain_diff_is_a_standard_unified_patch() {
        let old = "a\nb\nc\n";
        let new = "a\nb\nc\nd\n";
        assert_eq!(
            unified("src/lib.rs", old, new, Colour::Never),
            "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,4 @@\n a\n b\n c\n+d\n"
        );
    }

    #[test]
    fn a_hunk_alone_reads_as_it_does_in_the_whole_diff() {
        let (old, new) = ("a\nb\nc\n", "a\nB\nc\n");
        let hunks = crate::diff::hunks(old, new);
        let whole = unified("f", old, new, Colour::Never);
        assert_eq!(
            format!("--- a/f\n+++ b/f\n{}", hunk(&hunks[0], Colour::Never)),
            whole
        );
        let coloured = hunk(&hunks[0], Colour::Always);
        assert!(coloured.contains("\x1b[31m-b\x1b[0m\n"), "{coloured:?}");
        assert!(coloured.contains("\x1b[32m+B\x1b[0m\n"), "{coloured:?}");
        assert!(coloured.contains("\n a\n"), "{coloured:?}");
    }

    #[test]
    fn colour_wraps_changed_lines_only() {
        let text = unified("f", "x\n", "y\n", Colour::Always);
        assert!(text.contains("\x1b[31m-x\x1b[0m\n"), "{text:?}");
        assert!(text.contains("\x1b[32m+y\x1b[0m\n"), "{text:?}");
        assert!(!unified("f", "x\n", "y\n", Colour::Never).contains('\x1b'));
    }
}
