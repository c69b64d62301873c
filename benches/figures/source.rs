//! A large, ordinary Rust file made to measure: blocks of a struct, an impl and a free function
//! that uses them, so a function's context is more than its own body.

use std::path::{Path, PathBuf};

/// Every block is this many lines, so a file of any multiple of it is exactly that long.
const BLOCK_LINES: usize = 25;

/// `lines` rounded up to whole blocks.
pub fn rust_file(lines: usize) -> String {
    (0..lines.div_ceil(BLOCK_LINES)).map(block).collect()
}

/// The free function of block `index`: what gen-tests is pointed at.
pub fn function_name(index: usize) -> String {
    format!("run_stage_{index}")
}

/// A crate in a tempdir with `text` as `src/lib.rs`.
pub fn crate_with(text: &str) -> std::io::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("src"))?;
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"large\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )?;
    let lib = dir.path().join("src/lib.rs");
    std::fs::write(&lib, text)?;
    Ok((dir, lib))
}

pub fn line_count(path: &Path) -> std::io::Result<usize> {
    Ok(std::fs::read_to_string(path)?.lines().count())
}

fn block(i: usize) -> String {
    format!(
        r#"/// Settings for stage {i}.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage{i} {{
    pub limit: u64,
    pub name: String,
}}

impl Stage{i} {{
    /// Applies stage {i} to `input`, keeping every value under the limit.
    pub fn apply(&self, input: &[u64]) -> Vec<u64> {{
        input
            .iter()
            .map(|value| value.wrapping_mul({i} + 1) % self.limit.max(1))
            .filter(|value| *value != {i})
            .collect()
    }}
}}

/// Sums what stage {i} makes of `input`.
pub fn run_stage_{i}(input: &[u64]) -> u64 {{
    let limit = {i} * 7 + 3;
    let stage = Stage{i} {{ limit, name: String::from("stage {i}") }};
    stage.apply(input).iter().sum()
}}

"#
    )
}
