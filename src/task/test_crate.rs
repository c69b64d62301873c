//! Fixtures for kiln's unit tests: a throwaway crate (a package `name` whose `src/lib.rs` is
//! `lib`), and a sandbox run's report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kiln_sandbox::{RunOutcome, RunReport};

/// A run that ended with `outcome` after `passed` tests passed, in 1.5 s.
pub fn run_report(outcome: RunOutcome, passed: usize) -> RunReport {
    RunReport {
        outcome,
        compiler_errors: Vec::new(),
        passed,
        failed: 0,
        ignored: 0,
        failures: Vec::new(),
        passed_tests: Vec::new(),
        output: String::new(),
        cause: None,
        duration: std::time::Duration::from_millis(1_500),
        build_time: Some(std::time::Duration::from_millis(1_000)),
        redactions: 0,
    }
}

pub fn crate_with(name: &str, lib: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), lib).unwrap();
    dir
}
