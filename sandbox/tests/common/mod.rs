//! Helpers shared by the integration tests: tiny throwaway crates.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use kiln_sandbox::{Progress, RunReport, Sandbox, SandboxConfig, TestArgs};

/// Creates a dependency-free crate named `name` with the given `src/lib.rs`.
pub fn tiny_crate(name: &str, lib_rs: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"
        ),
    );
    write(dir.path(), "src/lib.rs", lib_rs);
    dir
}

pub fn write(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

pub fn lib_args() -> TestArgs {
    TestArgs {
        target_flags: vec!["--lib".to_string()],
        filter: None,
    }
}

/// Runs `cargo test --lib` in a fresh sandbox of `crate_root`, collecting progress.
pub async fn run_lib_tests(
    crate_root: &Path,
    config: SandboxConfig,
) -> (Sandbox, RunReport, Vec<Progress>) {
    let sandbox = Sandbox::create(crate_root, config).unwrap();
    let mut progress = Vec::new();
    let report = sandbox
        .cargo_test(&lib_args(), &mut |p| progress.push(p))
        .await
        .unwrap();
    (sandbox, report, progress)
}
