//! Bounded text accumulation that keeps the beginning and the end.
//!
//! Untrusted tests can print gigabytes. We must keep parsing every byte (the
//! counts and failures matter) while holding only a bounded amount in memory.
//! The head usually explains *what* started going wrong and the tail holds the
//! final summary, so both are kept and the middle is replaced with a marker
//! that says how much was dropped.

use std::fmt::Write as _;

/// Bytes reserved for the `[... N bytes cut ...]` marker so that the rendered
/// text never exceeds the cap. The longest marker (20-digit count plus
/// framing) is well under this.
const MARKER_RESERVE_BYTES: usize = 48;

/// Keeps at most `cap_bytes` of rendered text: a head, a tail and a marker.
#[derive(Debug, Clone)]
pub(crate) struct CappedText {
    head: String,
    tail: String,
    head_budget_bytes: usize,
    tail_budget_bytes: usize,
    cap_bytes: usize,
    total_bytes: usize,
}

impl CappedText {
    pub(crate) fn new(cap_bytes: usize) -> Self {
        let usable = cap_bytes.saturating_sub(MARKER_RESERVE_BYTES);
        let head_budget_bytes = usable / 2;
        Self {
            head: String::new(),
            tail: String::new(),
            head_budget_bytes,
            tail_budget_bytes: usable - head_budget_bytes,
            cap_bytes,
            total_bytes: 0,
        }
    }

    /// Appends `line` followed by a newline.
    pub(crate) fn push_line(&mut self, line: &str) {
        self.push_str(line);
        self.push_str("\n");
    }

    pub(crate) fn push_str(&mut self, text: &str) {
        self.total_bytes += text.len();
        let head_room = self.head_budget_bytes.saturating_sub(self.head.len());
        let rest = if head_room > 0 {
            let split = floor_char_boundary(text, head_room);
            self.head.push_str(&text[..split]);
            &text[split..]
        } else {
            text
        };
        if rest.is_empty() {
            return;
        }
        self.tail.push_str(rest);
        // Trim lazily (at twice the budget) so appends stay amortised O(1).
        if self.tail.len() > self.tail_budget_bytes.saturating_mul(2).max(4096) {
            self.trim_tail();
        }
    }

    fn trim_tail(&mut self) {
        if self.tail.len() > self.tail_budget_bytes {
            let cut = ceil_char_boundary(&self.tail, self.tail.len() - self.tail_budget_bytes);
            self.tail.drain(..cut);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total_bytes == 0
    }

    /// Whether [`CappedText::render`] leaves anything out.
    pub(crate) fn is_cut(&self) -> bool {
        self.total_bytes > self.cap_bytes
    }

    /// Renders the kept text; never longer than the cap.
    pub(crate) fn render(&self) -> String {
        let kept = self.head.len() + self.tail.len();
        if kept == self.total_bytes && kept <= self.cap_bytes {
            let mut all = self.head.clone();
            all.push_str(&self.tail);
            return all;
        }
        let mut tail = self.tail.as_str();
        if tail.len() > self.tail_budget_bytes {
            let cut = ceil_char_boundary(tail, tail.len() - self.tail_budget_bytes);
            tail = &tail[cut..];
        }
        let cut_bytes = self.total_bytes - self.head.len() - tail.len();
        let mut out = String::with_capacity(self.cap_bytes);
        out.push_str(&self.head);
        let _ = write!(out, "\n[... {cut_bytes} bytes cut ...]\n");
        out.push_str(tail);
        truncate_to(&mut out, self.cap_bytes);
        out
    }
}

/// Largest char boundary `<= index` (stable replacement for `str::floor_char_boundary`).
pub(crate) fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    let mut i = index;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Smallest char boundary `>= index`.
pub(crate) fn ceil_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    let mut i = index;
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Truncates `text` to at most `max_bytes`, on a char boundary.
pub(crate) fn truncate_to(text: &mut String, max_bytes: usize) {
    let end = floor_char_boundary(text, max_bytes);
    text.truncate(end);
}

/// Returns `text` cut to at most `max_bytes`, keeping head and tail around a
/// marker. Used for single items (a failure message, a diagnostic).
pub(crate) fn cap_str(text: &str, max_bytes: usize) -> String {
    let mut capped = CappedText::new(max_bytes);
    capped.push_str(text);
    capped.render()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_verbatim() {
        let mut c = CappedText::new(1024);
        c.push_line("hello");
        c.push_line("world");
        assert_eq!(c.render(), "hello\nworld\n");
    }

    #[test]
    fn long_text_keeps_head_tail_and_marker_within_cap() {
        let mut c = CappedText::new(200);
        c.push_line("FIRST LINE");
        for i in 0..10_000 {
            c.push_line(&format!("middle {i}"));
        }
        c.push_line("LAST LINE");
        let out = c.render();
        assert!(out.len() <= 200, "len {}", out.len());
        assert!(out.starts_with("FIRST LINE"), "{out}");
        assert!(out.ends_with("LAST LINE\n"), "{out}");
        assert!(out.contains("bytes cut ...]"), "{out}");
    }

    #[test]
    fn marker_counts_exactly_the_dropped_bytes() {
        let text = "a".repeat(1000);
        let out = cap_str(&text, 148);
        let kept_a = out.chars().filter(|&ch| ch == 'a').count();
        assert!(
            out.contains(&format!("[... {} bytes cut ...]", 1000 - kept_a)),
            "{out}"
        );
    }

    #[test]
    fn multibyte_text_is_cut_on_char_boundaries() {
        let text = "é".repeat(5000);
        let out = cap_str(&text, 101);
        assert!(out.len() <= 101);
        assert!(out.contains("bytes cut"));
    }

    #[test]
    fn tiny_cap_is_still_respected() {
        let out = cap_str("0123456789abcdef", 5);
        assert!(out.len() <= 5, "{out:?}");
    }
}
