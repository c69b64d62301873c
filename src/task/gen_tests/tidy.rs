//! The proposed test module laid out as rustfmt lays it out, so `cargo fmt --check` passes on
//! the file kiln writes (a model's layout, and the gaps dropped tests leave, would fail it).
//!
//! rustfmt runs on the host, not in the sandbox: it reads the module's text on stdin and writes
//! it back on stdout, and runs none of the crate's code (no build script, no proc macro), so
//! it needs none of the sandbox's walls; and the host's rustfmt is the one that will later judge
//! the file. Without a rustfmt (or when it fails) the module stays as it is: the blank-line
//! runs are already gone (`code::without_tests`), only the model's own layout remains.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::code;
use crate::project::SourceLocation;

/// `text` with its top-level `mod module` as rustfmt formats it for the crate's edition.
pub(super) async fn formatted(text: &str, module: &str, location: &SourceLocation) -> String {
    let Ok(Some(lines)) = code::module_lines(text, module) else {
        return text.to_string();
    };
    let all: Vec<&str> = text.split_inclusive('\n').collect();
    let (first, last) = (*lines.start() - 1, (*lines.end()).min(all.len()));
    let Some(original) = all.get(first..last).map(|l| l.concat()) else {
        return text.to_string();
    };
    match rustfmt(&original, &location.edition()).await {
        Some(module_text) if module_text != original => {
            let mut out = all[..first].concat();
            out.push_str(&module_text);
            out.push_str(&all[last..].concat());
            out
        }
        _ => text.to_string(),
    }
}

/// rustfmt's output for `source`, `None` when it is not installed or rejects the text.
async fn rustfmt(source: &str, edition: &str) -> Option<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", edition, "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    stdin.write_all(source.as_bytes()).await.ok()?;
    drop(stdin);
    let output = child.wait_with_output().await.ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_module_is_formatted_and_the_rest_of_the_file_left_alone() {
        let dir = crate::task::test_crate::crate_with("t", "");
        let location = SourceLocation::find(&dir.path().join("src/lib.rs")).unwrap();
        let text = "pub fn  odd_layout() {}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() { odd_layout();  }\n}\n";
        let out = formatted(text, "tests", &location).await;
        if rustfmt("", "2021").await.is_none() {
            // No rustfmt on this machine: the text is left as it is, never broken.
            assert_eq!(out, text);
            return;
        }
        assert_eq!(
            out,
            "pub fn  odd_layout() {}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() {\n        odd_layout();\n    }\n}\n"
        );
    }
}
