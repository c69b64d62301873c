//! `kiln doctor` on this machine: every protection is listed with a status, and a protection that
//! cannot be in force for an unprivileged user is not claimed for one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const PROTECTIONS: &[&str] = &[
    "wall-clock timeout",
    "output cap",
    "scrubbed environment",
    "output shown safely",
    "no network",
    "no reads outside the crate, toolchain and system",
    "no host sockets",
    "no terminal",
    "no writes outside the sandbox",
    "no planting in the shared build cache",
    "no root privileges",
    "no reading kiln's memory or environment",
    "cpu time limit",
    "memory limit",
    "file size limit",
    "process limit",
    "no process outlives its run",
    "the run dies with kiln",
];

/// The status word doctor printed for `name`.
fn status_of<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| {
            let (status, rest) = line.trim_start().split_once(char::is_whitespace)?;
            rest.trim_start()
                .strip_prefix(name)?
                .starts_with(':')
                .then_some(status)
        })
        .unwrap_or_else(|| panic!("{name} is not listed:\n{stdout}"))
}

#[test]
fn doctor_lists_every_protection_with_a_status() {
    let output = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("doctor")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for name in PROTECTIONS {
        let status = status_of(&stdout, name);
        assert!(
            status == "active" || status == "UNAVAILABLE",
            "{name}: {status}"
        );
    }
    // These need no kernel support at all.
    for name in ["wall-clock timeout", "output cap", "scrubbed environment"] {
        assert_eq!(status_of(&stdout, name), "active", "{stdout}");
    }
}

#[test]
fn doctor_as_an_unprivileged_user_does_not_claim_the_cgroup() {
    let root = effective_uid() == Some(0);
    let setpriv = std::path::Path::new("/usr/bin/setpriv");
    if !root || !setpriv.exists() {
        eprintln!("skipped: needs root and /usr/bin/setpriv to run doctor as user 65534");
        return;
    }
    let output = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_kiln"))
        .arg("doctor")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        eprintln!(
            "skipped: user 65534 cannot run the kiln binary here: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    }
    // A root-owned pids hierarchy is not writable for nobody: the cgroup-based protections must
    // be reported off, with a reason, or (the process limit) provided another way.
    let process_limit = stdout
        .lines()
        .find(|line| line.contains("process limit:"))
        .unwrap();
    assert!(
        process_limit.contains("UNAVAILABLE") || process_limit.contains("RLIMIT_NPROC"),
        "{stdout}"
    );
    assert!(!process_limit.contains("cgroup per run"), "{stdout}");
    // What still ends every process of a run for nobody is a pid namespace of its own, made
    // through a user namespace; never the cgroup.
    let outlives = stdout
        .lines()
        .find(|line| line.contains("no process outlives its run:"))
        .unwrap();
    assert!(!outlives.contains("cgroup is killed"), "{stdout}");
    assert!(
        outlives.contains("UNAVAILABLE") || outlives.contains("a pid namespace per run"),
        "{stdout}"
    );
}

/// From /proc, so this test needs no libc binding.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uids = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

/// A reader that went away (`kiln doctor | head -0`): kiln ends quietly, without a panic.
fn run_into_a_closed_pipe(args: &[&str], on_stdout: bool) -> std::process::Output {
    // std::io::pipe is newer than the MSRV.
    let mut fds = [0; 2];
    // SAFETY: pipe writes two new fds into the array; each is owned exactly once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (reader, writer) = unsafe {
        use std::os::fd::FromRawFd as _;
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(reader);
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
    command.args(args);
    if on_stdout {
        command.stdout(writer).stderr(std::process::Stdio::piped());
    } else {
        command.stderr(writer).stdout(std::process::Stdio::piped());
    }
    command.output().unwrap()
}

#[test]
fn a_closed_pipe_ends_kiln_quietly_on_stdout_and_on_stderr() {
    use std::os::unix::process::ExitStatusExt as _;
    for (args, on_stdout) in [
        (&["doctor"][..], true),
        (&["gen-tests", "/nonexistent/kiln/src/lib.rs"][..], false),
    ] {
        let output = run_into_a_closed_pipe(args, on_stdout);
        let other = String::from_utf8_lossy(if on_stdout {
            &output.stderr
        } else {
            &output.stdout
        })
        .into_owned();
        assert_eq!(
            output.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {output:?}"
        );
        assert!(!other.contains("panicked"), "{args:?}: {other}");
    }
}

/// `kiln doctor` in a crate whose kiln.toml puts mini on the Responses API.
fn doctor_with(kiln_toml: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kiln.toml"), kiln_toml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("doctor")
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("no-user-config"))
        .env_remove("KILN_CONFIG")
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .output()
        .unwrap()
}

#[test]
fn doctor_says_which_wire_each_tier_speaks() {
    let output = doctor_with("[tiers.mini]\nmodel = \"m\"\nwire_api = \"responses\"\n");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let tier_line = |tier: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{tier} ")))
            .unwrap_or_else(|| panic!("no line for {tier}:\n{stdout}"))
            .to_string()
    };
    assert!(
        tier_line("mini")
            .contains("m at http://127.0.0.1:9/v1/responses (wire_api = \"responses\""),
        "{stdout}"
    );
    for tier in ["nano", "full"] {
        assert!(
            tier_line(tier).contains("/v1/chat/completions (wire_api = \"chat\""),
            "{stdout}"
        );
    }
}

#[test]
fn doctor_reports_an_unknown_wire_api_naming_the_file_and_key() {
    let output = doctor_with("[tiers.nano]\nwire_api = \"grpc\"\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for part in [
        "kiln.toml",
        "tiers.nano.wire_api",
        "\"grpc\"",
        "\"responses\"",
    ] {
        assert!(stderr.contains(part), "{part}: {stderr}");
    }
}
