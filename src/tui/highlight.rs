//! Syntax colouring for the code view: a one-line lexer for keywords, strings, comments and
//! numbers. It runs on visible lines only, so scrolling costs the same on a 10,000-line file as
//! on a short one. It keeps no state between lines: the inside of a multi-line string or block
//! comment is coloured as code, a fair trade for never re-lexing the whole file.

use ratatui::style::Style;
use ratatui::text::Span;

use super::theme::Theme;

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while",
];

/// The line split into styled spans.
pub fn line<'a>(text: &'a str, theme: &Theme) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (len, style) = token(rest, theme);
        let (head, tail) = rest.split_at(len);
        spans.push(Span::styled(head, style));
        rest = tail;
    }
    spans
}

/// Length in bytes and style of the token at the start of `text` (never 0 for non-empty text).
fn token(text: &str, theme: &Theme) -> (usize, Style) {
    let first = text.chars().next().unwrap_or(' ');
    if text.starts_with("//") {
        return (text.len(), theme.comment);
    }
    if first == '"' {
        return (string_len(text), theme.string);
    }
    if first.is_ascii_digit() {
        return (word_len(text), theme.number);
    }
    if first.is_alphabetic() || first == '_' {
        let len = word_len(text);
        let style = if KEYWORDS.contains(&&text[..len]) {
            theme.keyword
        } else {
            Style::new()
        };
        return (len, style);
    }
    (first.len_utf8(), Style::new())
}

fn word_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len())
}

/// Up to and including the closing quote, skipping escapes; the rest of the line if unclosed.
fn string_len(text: &str) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return i + 1,
            _ => escaped = false,
        }
    }
    text.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::tui::theme::Palette;

    #[test]
    fn tokens_get_their_styles_and_nothing_is_lost() {
        let theme = Theme::new(Palette::Colour);
        let text = r#"pub fn f(x: u8) -> &str { "a\"b" } // done 42"#;
        let spans = line(text, &theme);
        let joined: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(joined, text);
        let style_of = |content: &str| {
            spans
                .iter()
                .find(|s| s.content == content)
                .map(|s| s.style)
                .unwrap()
        };
        assert_eq!(style_of("pub"), theme.keyword);
        assert_eq!(style_of("fn"), theme.keyword);
        assert_eq!(style_of("x"), Style::new());
        assert_eq!(style_of(r#""a\"b""#), theme.string);
        assert_eq!(style_of("// done 42"), theme.comment);
    }

    #[test]
    fn unclosed_strings_and_multibyte_text_do_not_panic() {
        let theme = Theme::new(Palette::NoColour);
        for text in ["\"open", "é ü 1.5e3", "'a'", "\\"] {
            let joined: String = line(text, &theme)
                .iter()
                .map(|s| s.content.as_ref())
                .collect();
            assert_eq!(joined, text);
        }
    }
}
