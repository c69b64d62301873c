//! Helpers shared by the integration tests: tiny throwaway crates.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use kiln_sandbox::{Progress, RunReport, Sandbox, SandboxConfig, TestArgs};

/// Creates a dependency-free crate named `name` with the given `src/lib.rs`.
pub fn tiny_crate(name: &str, lib_rs: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    tiny_crate_in(dir.path(), name, lib_rs);
    dir
}

/// Writes a dependency-free crate named `name` into the existing directory `root`.
pub fn tiny_crate_in(root: &Path, name: &str, lib_rs: &str) {
    write(
        root,
        "Cargo.toml",
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"
        ),
    );
    write(root, "src/lib.rs", lib_rs);
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

/// Whether the machine provides the protection `name`; if not, prints why the calling test is
/// skipped, so a missing protection never passes silently.
pub fn require(name: &str) -> bool {
    let protection = kiln_sandbox::probe()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no protection named {name}"));
    match protection.status {
        kiln_sandbox::ProtectionStatus::Active { .. } => true,
        kiln_sandbox::ProtectionStatus::Unavailable { reason } => {
            eprintln!("skipped: {name} is unavailable on this machine: {reason}");
            false
        }
    }
}

/// Live processes that belong to `sandbox`'s runs: every process kiln starts inherits the
/// sandbox's private TMPDIR, so we look for it in each process's environment.
pub fn survivors(sandbox: &Sandbox) -> Vec<String> {
    let marker = format!("TMPDIR={}", sandbox.tmp_dir().display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || !is_alive(&pid) {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Waits (briefly: SIGKILL is delivered asynchronously) until no process of `sandbox` is left,
/// and returns those that are.
pub async fn survivors_after_grace(sandbox: &Sandbox) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let left = survivors(sandbox);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether `pid` is still a live (non-zombie) process.
pub fn is_alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3, after the parenthesised command name, is the state.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// A crate whose only test is `body` (inside `#[test] fn candidate()`).
pub fn candidate_crate(name: &str, body: &str) -> tempfile::TempDir {
    tiny_crate(name, &candidate_lib(body))
}

/// A `lib.rs` whose only test is `body`.
pub fn candidate_lib(body: &str) -> String {
    format!("#[cfg(test)]\nmod tests {{\n    #[test]\n    fn candidate() {{\n{body}\n    }}\n}}\n")
}

/// Runs the crate's lib tests in a default sandbox and asserts they passed.
pub async fn assert_lib_tests_pass(crate_root: &Path) -> RunReport {
    let (_sandbox, report, _) = run_lib_tests(crate_root, SandboxConfig::default()).await;
    assert_eq!(
        report.outcome,
        kiln_sandbox::RunOutcome::Passed,
        "{}",
        report.summary_for_model(4_000)
    );
    report
}

/// Runs the crate's lib tests and asserts the structured result: `outcome`, `cause`, and no
/// process of the run left alive. Returns the report for further checks.
pub async fn assert_run_ends(
    crate_root: &Path,
    config: SandboxConfig,
    outcome: kiln_sandbox::RunOutcome,
    cause: Option<kiln_sandbox::Cause>,
) -> RunReport {
    let (sandbox, report, _) = run_lib_tests(crate_root, config).await;
    assert_eq!(report.outcome, outcome, "{}", report.output);
    assert_eq!(report.cause, cause, "{}", report.output);
    assert_eq!(survivors_after_grace(&sandbox).await, Vec::<String>::new());
    report
}
