//! Splitting a byte stream into lines with a bound on line length.
//!
//! `tokio::io::Lines` buffers a whole line however long it is; an untrusted
//! test printing a gigabyte without a newline would then exhaust memory.
//! This splitter keeps at most [`MAX_LINE_BYTES`] of any line and drops the
//! rest of it (noting that it did).

/// Longest line kept. Cargo's JSON lines for big diagnostics can reach tens of
/// KiB; nothing legitimate comes near this.
pub(crate) const MAX_LINE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    /// Bytes of the current line dropped for exceeding [`MAX_LINE_BYTES`].
    dropped_bytes: usize,
}

impl LineSplitter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; calls `on_line` for each completed line (without the
    /// trailing `\n` / `\r\n`), decoded lossily as UTF-8.
    pub(crate) fn push(&mut self, mut chunk: &[u8], on_line: &mut impl FnMut(&str)) {
        while let Some(pos) = chunk.iter().position(|&b| b == b'\n') {
            self.append(&chunk[..pos]);
            self.emit(on_line);
            chunk = &chunk[pos + 1..];
        }
        self.append(chunk);
    }

    /// Emits the final unterminated line, if any.
    pub(crate) fn finish(&mut self, on_line: &mut impl FnMut(&str)) {
        if !self.pending.is_empty() || self.dropped_bytes > 0 {
            self.emit(on_line);
        }
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.pending.len());
        let take = room.min(bytes.len());
        self.pending.extend_from_slice(&bytes[..take]);
        self.dropped_bytes += bytes.len() - take;
    }

    fn emit(&mut self, on_line: &mut impl FnMut(&str)) {
        if self.pending.last() == Some(&b'\r') {
            self.pending.pop();
        }
        let mut line = String::from_utf8_lossy(&self.pending).into_owned();
        if self.dropped_bytes > 0 {
            line.push_str(&format!(
                " [... line too long, {} bytes cut ...]",
                self.dropped_bytes
            ));
        }
        on_line(&line);
        self.pending.clear();
        self.dropped_bytes = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::new();
        let mut lines = Vec::new();
        let mut on_line = |l: &str| lines.push(l.to_string());
        for chunk in chunks {
            s.push(chunk, &mut on_line);
        }
        s.finish(&mut on_line);
        lines
    }

    #[test]
    fn joins_lines_across_chunks() {
        assert_eq!(
            split(&[b"ab", b"c\nde", b"f\r\n\ng"]),
            vec!["abc", "def", "", "g"]
        );
    }

    #[test]
    fn no_trailing_empty_line_after_final_newline() {
        assert_eq!(split(&[b"a\n"]), vec!["a"]);
    }

    #[test]
    fn overlong_lines_are_cut_and_marked() {
        let big = vec![b'x'; MAX_LINE_BYTES + 10];
        let lines = split(&[&big, b"\nnext\n"]);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].len() < MAX_LINE_BYTES + 100);
        assert!(lines[0].ends_with("[... line too long, 10 bytes cut ...]"));
        assert_eq!(lines[1], "next");
    }
}
