//! Candidates written by an attacker who wants out: read the user's secrets (in `$HOME`, through
//! an in-crate symlink, through a hard link, in `/proc` and `/etc/shadow`, in a sibling project),
//! list the home directory, connect to a Unix socket a host process listens on, open the
//! terminal, and drive the user's terminal through what kiln prints. Each must fail, and no
//! secret may appear anywhere in the report, which is what kiln shows and sends to the model.
//!
//! Each test runs as this process's user and, when that is root, once more as an unprivileged
//! user (see `common::again_as_unprivileged_user`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use common::{
    again_as_unprivileged_user, candidate_lib, require, run_lib_tests, run_lib_tests_both_ways,
    tiny_crate_in,
};
use kiln_sandbox::{Progress, RunOutcome, RunReport, SandboxConfig};

/// A file holding a marker that must never come back out of the sandbox; removed on drop.
struct Secret {
    path: PathBuf,
    marker: String,
}

impl Secret {
    fn at(path: PathBuf) -> Secret {
        let marker = format!("kiln-leak-probe-{}-{}", std::process::id(), path.display());
        std::fs::write(&path, &marker).unwrap();
        Secret { path, marker }
    }

    fn in_home(name: &str) -> Secret {
        Secret::at(PathBuf::from(std::env::var("HOME").unwrap()).join(name))
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Every piece of text the report holds: what kiln prints and feeds back.
fn report_text(report: &RunReport) -> String {
    let mut text = report.output.clone();
    for failure in &report.failures {
        text.push_str(&failure.name);
        text.push_str(&failure.message);
    }
    for error in &report.compiler_errors {
        text.push_str(&error.rendered);
    }
    text.push_str(&report.summary_for_model(64 * 1024));
    text
}

/// Runs a crate at `root` whose only test is `body`, which must end in a panic that reports what
/// it got, through cargo and again from the binaries cargo built (see
/// `common::run_lib_tests_both_ways`); returns each report with its failing test's message.
async fn attack(root: &Path, body: &str) -> Vec<(RunReport, String)> {
    if !root.join("Cargo.toml").exists() {
        tiny_crate_in(root, "attacker", &candidate_lib(body));
    }
    let (_sandbox, reports) = run_lib_tests_both_ways(root, SandboxConfig::default()).await;
    reports
        .into_iter()
        .map(|report| {
            assert_eq!(report.outcome, RunOutcome::TestsFailed, "{}", report.output);
            let message = report.failures[0].message.clone();
            (report, message)
        })
        .collect()
}

/// A candidate body that reads each of `paths` and panics with what it read or why not.
fn read_each(paths: &[&Path]) -> String {
    let list = paths
        .iter()
        .map(|path| format!("{:?}", path.display().to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"        let mut results = Vec::new();
        for path in [{list}] {{
            match std::fs::read_to_string(path) {{
                Ok(text) => results.push(format!("READ {{path}}: {{text}}")),
                Err(e) => results.push(format!("{{path}}: {{e}}")),
            }}
        }}
        panic!("{{results:#?}}");"#
    )
}

fn assert_not_leaked(report: &RunReport, secret: &Secret) {
    let text = report_text(report);
    assert!(
        !text.contains(&secret.marker),
        "the secret came out: {text}"
    );
}

#[tokio::test]
async fn reading_a_secret_in_home_directly_through_a_symlink_or_a_hard_link_fails() {
    if !require("no reads outside the crate, toolchain and system") {
        return;
    }
    let secret = Secret::in_home(&format!(".kiln-leak-probe-{}", std::process::id()));
    let krate = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&secret.path, krate.path().join("data")).unwrap();
    // A hard link needs one filesystem; where home and the temp dir differ the check is skipped.
    let hard = std::fs::hard_link(&secret.path, krate.path().join("notes.txt")).is_ok();
    for (report, message) in attack(
        krate.path(),
        &read_each(&[&secret.path, Path::new("data"), Path::new("notes.txt")]),
    )
    .await
    {
        assert_not_leaked(&report, &secret);
        assert!(!message.contains("READ"), "{message}");
    }
    if !hard {
        eprintln!("hard link not tried: home and the temp dir are on different filesystems");
    }
    again_as_unprivileged_user(
        "reading_a_secret_in_home_directly_through_a_symlink_or_a_hard_link_fails",
    );
}

#[tokio::test]
async fn kilns_environment_other_processes_and_shadow_are_unreadable() {
    if !require("no reads outside the crate, toolchain and system") {
        return;
    }
    // kiln's own pid on the host, and pid 1 (the host's init, or the run's own cargo inside its
    // pid namespace, whose environment is the scrubbed one).
    let kiln = PathBuf::from(format!("/proc/{}/environ", std::process::id()));
    let path = std::env::var("PATH").unwrap();
    for (report, message) in attack(
        tempfile::tempdir().unwrap().path(),
        &read_each(&[&kiln, Path::new("/etc/shadow")]),
    )
    .await
    {
        assert!(!message.contains("READ"), "{message}");
        assert!(
            !report_text(&report).contains(&format!("PATH={path}")),
            "kiln's environment came out"
        );
    }
    again_as_unprivileged_user("kilns_environment_other_processes_and_shadow_are_unreadable");
}

#[tokio::test]
async fn listing_home_and_reading_a_sibling_project_fail() {
    if !require("no reads outside the crate, toolchain and system") {
        return;
    }
    let secret = Secret::in_home(&format!(".kiln-listing-probe-{}", std::process::id()));
    let projects = tempfile::tempdir().unwrap();
    let sibling = Secret::at(projects.path().join("sibling.env"));
    let krate = projects.path().join("crate");
    std::fs::create_dir(&krate).unwrap();
    let home = std::env::var("HOME").unwrap();
    let body = format!(
        r#"        let listing = match std::fs::read_dir({home:?}) {{
            Ok(entries) => entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>().join(" "),
            Err(e) => e.to_string(),
        }};
        let sibling = std::fs::read_to_string({sibling:?}).unwrap_or_else(|e| e.to_string());
        panic!("home: {{listing}}; sibling: {{sibling}}");"#,
        sibling = sibling.path.display().to_string(),
    );
    let probe_name = secret.path.file_name().unwrap().to_string_lossy();
    for (report, message) in attack(&krate, &body).await {
        assert_not_leaked(&report, &sibling);
        assert!(!message.contains(probe_name.as_ref()), "{message}");
        assert!(message.contains("home: "), "{message}");
    }
    again_as_unprivileged_user("listing_home_and_reading_a_sibling_project_fail");
}

#[tokio::test]
async fn connecting_to_a_host_unix_socket_fails() {
    if !require("no host sockets") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    // Control: the socket works for anyone outside the sandbox.
    drop(std::os::unix::net::UnixStream::connect(&socket).unwrap());
    assert!(listener.accept().is_ok());
    let body = format!(
        r#"        use std::io::Write;
        let result = std::os::unix::net::UnixStream::connect({socket:?})
            .and_then(|mut stream| stream.write_all(b"touch /tmp/pwned\n"));
        panic!("connect: {{result:?}}");"#,
        socket = socket.display().to_string(),
    );
    for (_report, message) in attack(tempfile::tempdir().unwrap().path(), &body).await {
        assert!(!message.contains("Ok(())"), "{message}");
        assert!(
            matches!(listener.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock),
            "the host's socket saw a connection from the sandbox: {message}"
        );
    }
    again_as_unprivileged_user("connecting_to_a_host_unix_socket_fails");
}

#[tokio::test]
async fn the_terminal_cannot_be_opened() {
    if !require("no terminal") {
        return;
    }
    let body = r#"        let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty");
        let session = unsafe { getsid(0) } == unsafe { getpid() };
        panic!("tty: {:?}; own session: {session}", tty.map(|_| "OPENED"));
    }
    extern "C" {
        fn getsid(pid: i32) -> i32;
        fn getpid() -> i32;"#;
    for (_report, message) in attack(tempfile::tempdir().unwrap().path(), body).await {
        assert!(!message.contains("OPENED"), "{message}");
    }
    again_as_unprivileged_user("the_terminal_cannot_be_opened");
}

#[tokio::test]
async fn escape_sequences_in_a_panic_message_come_out_escaped() {
    // OSC 52 (write the clipboard), clear the screen, set the title, a carriage return that would
    // hide the line, a C1 CSI.
    let body = r#"        panic!("{}", "\x1b]52;c;dG91Y2ggL3RtcC9wd25lZA==\x07\x1b[2J\x1b]0;owned\x07\rhidden\u{9b}2J");"#;
    for (report, message) in attack(tempfile::tempdir().unwrap().path(), body).await {
        let text = report_text(&report);
        assert!(!text.contains('\x1b'), "an ESC byte came out: {text:?}");
        assert!(!text.contains('\r') && !text.contains('\u{9b}'), "{text:?}");
        assert!(message.contains("\\u{1b}]52;c;"), "{message}");
    }
}

#[tokio::test]
async fn progress_lines_a_test_forges_come_out_escaped() {
    // Straight to the fds, past libtest's capture: a line the libtest parser reads as a finished
    // test and one the cargo parser reads as a Compiling status, both with escapes in the name.
    let body = r#"        use std::io::Write as _;
        std::io::stdout().write_all(b"test forged\x1b]0;owned\x07 ... ok\n").unwrap();
        std::io::stderr().write_all(b"   Compiling forged\x1b[2J v0.1.0\n").unwrap();
        panic!("done");"#;
    let krate = tempfile::tempdir().unwrap();
    tiny_crate_in(krate.path(), "forger", &candidate_lib(body));
    let (_sandbox, report, progress) = run_lib_tests(krate.path(), SandboxConfig::default()).await;
    let shown: Vec<String> = progress
        .iter()
        .filter_map(|p| match p {
            Progress::Compiling { unit } => Some(unit.clone()),
            Progress::TestFinished { name, .. } => Some(name.clone()),
            Progress::TestsStarted { .. } => None,
        })
        .collect();
    assert!(
        shown.iter().any(|text| text.starts_with("forged")),
        "the forged lines were not parsed, so this test proves nothing: {shown:?}\n{}",
        report.output
    );
    for text in &shown {
        assert!(!text.contains('\x1b'), "an ESC byte came out: {text:?}");
    }
}

#[tokio::test]
async fn credentials_printed_by_a_test_are_redacted_and_counted() {
    let key = "sk-kilntest-abcdefghijklmnopqrstuvwxyz";
    let configured = format!("configured-secret-{}", std::process::id());
    let krate = tempfile::tempdir().unwrap();
    let body =
        format!(r#"        panic!("aws AKIAIOSFODNN7EXAMPLE key {key} config {configured}");"#);
    tiny_crate_in(krate.path(), "printer", &candidate_lib(&body));
    let config = SandboxConfig {
        redact: vec![configured.clone()],
        ..SandboxConfig::default()
    };
    let (_sandbox, report, _) = run_lib_tests(krate.path(), config).await;
    let text = report_text(&report);
    for secret in ["AKIAIOSFODNN7EXAMPLE", key, configured.as_str()] {
        assert!(!text.contains(secret), "{secret} came out: {text}");
    }
    assert!(report.failures[0]
        .message
        .contains("aws [redacted] key [redacted] config [redacted]"));
    // Each secret is in the panic message and in the captured output around it.
    assert!(report.redactions >= 3, "{}", report.redactions);
}
