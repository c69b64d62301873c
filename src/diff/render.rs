//! Unified diffs, coloured only for a terminal that wants colour.

use similar::{ChangeTag, TextDiff};

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

/// A `diff -u` style patch of `old` to `new`, labelled `a/<label>` and `b/<label>`.
pub fn unified(label: &str, old: &str, new: &str, colour: Colour) -> String {
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    let paint = |code: &str, text: &str| match colour {
        Colour::Always => format!("{code}{text}{RESET}"),
        Colour::Never => text.to_string(),
    };
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
    fn colour_wraps_changed_lines_only() {
        let text = unified("f", "x\n", "y\n", Colour::Always);
        assert!(text.contains("\x1b[31m-x\x1b[0m\n"), "{text:?}");
        assert!(text.contains("\x1b[32m+y\x1b[0m\n"), "{text:?}");
        assert!(!unified("f", "x\n", "y\n", Colour::Never).contains('\x1b'));
    }
}
