//! Pulling Rust code out of a model's prose reply.

use super::SourceFile;

/// The content of the first fenced block tagged `rust`/`rs` (or untagged) whose content
/// parses as Rust, or `None`.
///
/// Models often put a shell command or output in an earlier untagged block, so the first
/// block is not enough; parsing is the arbiter. An unterminated final block (a reply cut
/// off by the token limit) is still considered, in case it happens to be complete.
pub fn extract_rust_code_block(text: &str) -> Option<String> {
    fenced_blocks(text)
        .into_iter()
        .filter(|b| is_rust_info(&b.info))
        .map(|b| b.content)
        .find(|c| !c.trim().is_empty() && SourceFile::parse(c).is_ok())
}

struct Block {
    info: String,
    content: String,
}

fn is_rust_info(info: &str) -> bool {
    let lang = info
        .split(|c: char| c == ',' || c.is_whitespace())
        .next()
        .unwrap_or("");
    matches!(lang.to_ascii_lowercase().as_str(), "" | "rust" | "rs")
}

/// CommonMark-style fenced blocks: a run of >= 3 backticks or tildes opens, the same
/// character repeated at least as often closes; the opening indentation is removed from
/// content lines.
fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(fence) = Fence::open(line) else {
            continue;
        };
        let mut content = String::new();
        for inner in lines.by_ref() {
            if fence.closes(inner) {
                break;
            }
            content.push_str(strip_indent(inner, fence.indent));
            content.push('\n');
        }
        blocks.push(Block {
            info: fence.info,
            content,
        });
    }
    blocks
}

struct Fence {
    marker: char,
    len: usize,
    indent: usize,
    info: String,
}

impl Fence {
    fn open(line: &str) -> Option<Fence> {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = trimmed.chars().take_while(|c| *c == marker).count();
        let info = trimmed.get(len..).unwrap_or("").trim();
        if indent > 3 || len < 3 || (marker == '`' && info.contains('`')) {
            return None;
        }
        Some(Fence {
            marker,
            len,
            indent,
            info: info.to_owned(),
        })
    }

    fn closes(&self, line: &str) -> bool {
        let trimmed = line.trim();
        trimmed.len() >= self.len && trimmed.chars().all(|c| c == self.marker)
    }
}

fn strip_indent(line: &str, indent: usize) -> &str {
    let spaces = line.len() - line.trim_start_matches(' ').len();
    line.get(spaces.min(indent)..).unwrap_or(line)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn picks_first_rust_block_that_parses() {
        let reply = "Run it with:\n```\n$ cargo test --lib\n```\nBroken attempt:\n```rust\nfn a( {\n```\n\
                     Here you go:\n```rust\n#[test]\nfn works() {}\n```\nAlso:\n```rust\nfn later() {}\n```\n";
        assert_eq!(
            extract_rust_code_block(reply).as_deref(),
            Some("#[test]\nfn works() {}\n")
        );
    }

    #[test]
    fn accepts_rs_and_bare_fences_and_ignores_other_languages() {
        assert_eq!(
            extract_rust_code_block("```toml\n[x]\n```\n```rs\nfn a() {}\n```").as_deref(),
            Some("fn a() {}\n")
        );
        assert_eq!(
            extract_rust_code_block("```\nfn b() {}\n```").as_deref(),
            Some("fn b() {}\n")
        );
        assert_eq!(
            extract_rust_code_block("~~~rust,ignore\nfn c() {}\n~~~").as_deref(),
            Some("fn c() {}\n")
        );
    }

    #[test]
    fn handles_indented_fences_and_longer_closers() {
        let reply =
            "1. Add this:\n   ```rust\n   fn d() {\n       let s = \"```\";\n   }\n   ````\n";
        assert_eq!(
            extract_rust_code_block(reply).as_deref(),
            Some("fn d() {\n    let s = \"```\";\n}\n")
        );
    }

    #[test]
    fn none_without_a_usable_block() {
        assert_eq!(extract_rust_code_block("just prose, fn a() {}"), None);
        assert_eq!(extract_rust_code_block("```rust\n\n```"), None);
        assert_eq!(extract_rust_code_block("```python\nprint(1)\n```"), None);
        assert_eq!(extract_rust_code_block("```rust\nfn x( {\n```"), None);
    }

    #[test]
    fn unterminated_block_is_used_if_complete() {
        assert_eq!(
            extract_rust_code_block("```rust\nfn e() {}\n").as_deref(),
            Some("fn e() {}\n")
        );
    }
}
