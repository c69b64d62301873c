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

/// Runs `cargo test --lib` in a fresh sandbox of `crate_root` through cargo, then once more on
/// the unchanged copy, which starts the test binaries the first run built without cargo (and
/// says so: no build time). A check of what a test body can do holds for both ways of running it.
pub async fn run_lib_tests_both_ways(
    crate_root: &Path,
    config: SandboxConfig,
) -> (Sandbox, Vec<RunReport>) {
    let (sandbox, first, _) = run_lib_tests(crate_root, config).await;
    let second = sandbox.cargo_test(&lib_args(), &mut |_| {}).await.unwrap();
    assert_ne!(
        first.build_time,
        Some(std::time::Duration::ZERO),
        "{}",
        first.output
    );
    assert_eq!(
        second.build_time,
        Some(std::time::Duration::ZERO),
        "the second run went through cargo: {}",
        second.output
    );
    (sandbox, vec![first, second])
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
    assert_ended(&sandbox, &report, outcome, cause).await;
    report
}

/// [`assert_run_ends`] for both ways of running the tests (see [`run_lib_tests_both_ways`]).
pub async fn assert_runs_end_both_ways(
    crate_root: &Path,
    config: SandboxConfig,
    outcome: kiln_sandbox::RunOutcome,
    cause: Option<kiln_sandbox::Cause>,
) -> Vec<RunReport> {
    let (sandbox, reports) = run_lib_tests_both_ways(crate_root, config).await;
    for report in &reports {
        assert_ended(&sandbox, report, outcome, cause).await;
    }
    reports
}

async fn assert_ended(
    sandbox: &Sandbox,
    report: &RunReport,
    outcome: kiln_sandbox::RunOutcome,
    cause: Option<kiln_sandbox::Cause>,
) {
    assert_eq!(report.outcome, outcome, "{}", report.output);
    assert_eq!(report.cause, cause, "{}", report.output);
    assert_eq!(survivors_after_grace(sandbox).await, Vec::<String>::new());
}

/// Set in the copy of a test binary that [`again_as_unprivileged_user`] starts.
const UNPRIVILEGED_ENV: &str = "KILN_TEST_UNPRIVILEGED";
/// The user the confinement is tried as when the tests run as root: `nobody`.
const UNPRIVILEGED_ID: u32 = 65534;

/// Whether this process is the unprivileged copy started by [`again_as_unprivileged_user`].
pub fn is_unprivileged_copy() -> bool {
    std::env::var_os(UNPRIVILEGED_ENV).is_some()
}

/// When the tests run as root, runs the test `name` of this binary once more as user 65534,
/// so the sandbox is tried the way it confines an ordinary user (through a user namespace), and
/// asserts that it passed. Without root (already unprivileged) or without `unshare`/`setpriv`
/// it says so and returns.
///
/// The toolchain under `/root` is not reachable for that user, so the copy runs in a private
/// mount namespace where rustup's home is bound at a path it can reach, with a `CARGO_HOME`,
/// `HOME` and `TMPDIR` of its own. Nothing of the host's mounts changes.
pub fn again_as_unprivileged_user(name: &str) {
    if is_unprivileged_copy() {
        return;
    }
    let tools = ["/usr/bin/unshare", "/usr/bin/setpriv"];
    if current_uid() != 0 || tools.iter().any(|tool| !Path::new(tool).exists()) {
        eprintln!("not repeated as an unprivileged user: needs root, unshare and setpriv");
        return;
    }
    let sysroot = String::from_utf8(
        std::process::Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let sysroot = Path::new(sysroot.trim());
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap()).join(".rustup"));
    let Ok(toolchain) = sysroot.strip_prefix(&rustup_home) else {
        eprintln!("not repeated as an unprivileged user: the toolchain is not rustup's");
        return;
    };
    let place = tempfile::tempdir().unwrap();
    let alias = place.path().join("rustup");
    for dir in ["rustup", "cargo", "home", "tmp"] {
        let path = place.path().join(dir);
        std::fs::create_dir(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(UNPRIVILEGED_ID), Some(UNPRIVILEGED_ID)).unwrap();
    }
    std::fs::set_permissions(
        place.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:/usr/bin:/bin",
        alias.join(toolchain).join("bin").display()
    );
    let script = r#"mount --bind "$1" "$2" && shift 2 && exec "$@""#;
    let output = std::process::Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(&rustup_home)
        .arg(&alias)
        .args([
            "setpriv",
            &format!("--reuid={UNPRIVILEGED_ID}"),
            &format!("--regid={UNPRIVILEGED_ID}"),
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env(UNPRIVILEGED_ENV, "1")
        .env("PATH", path)
        .env("RUSTUP_HOME", &alias)
        .env("CARGO_HOME", place.path().join("cargo"))
        .env("HOME", place.path().join("home"))
        .env("TMPDIR", place.path().join("tmp"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "as user {UNPRIVILEGED_ID}:\n{stdout}\n{stderr}"
    );
    // A protection the machine lacks for that user skips the copy's check: then nothing was
    // tried, and passing would claim what was not shown.
    assert!(
        !stderr.contains("skipped:"),
        "as user {UNPRIVILEGED_ID}, the check was skipped:\n{stderr}"
    );
    eprintln!("repeated as user {UNPRIVILEGED_ID}: passed");
}

fn current_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uids = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .unwrap();
    uids.split_whitespace().nth(1).unwrap().parse().unwrap()
}
