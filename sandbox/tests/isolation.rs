//! Candidates that try to reach out: a TCP connection to a listener this test started on
//! 127.0.0.1, and writes to $HOME, to the user's real crate and to /tmp outside the sandbox.
//! Each must be denied with the cause named, and leave nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::ErrorKind;
use std::path::PathBuf;

use common::{assert_run_ends, candidate_crate, candidate_lib, require, tiny_crate_in};
use kiln_sandbox::{Cause, RunOutcome, SandboxConfig};

#[tokio::test]
async fn tcp_connection_to_a_local_listener_is_denied() {
    if !require("no network") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let krate = candidate_crate(
        "dialer",
        &format!(
            r#"        match std::net::TcpStream::connect(("127.0.0.1", {port})) {{
            Ok(_) => panic!("CONNECTED to the parent's listener"),
            Err(e) => panic!("connect failed: {{e}}"),
        }}"#
        ),
    );
    let report = assert_run_ends(
        krate.path(),
        SandboxConfig::default(),
        RunOutcome::TestsFailed,
        Some(Cause::Denied),
    )
    .await;
    let no_connection = matches!(listener.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock);
    assert!(
        no_connection,
        "the listener saw a connection from the sandbox"
    );
    let message = &report.failures[0].message;
    assert!(message.contains("connect failed"), "{message}");
}

#[tokio::test]
async fn writes_to_home_the_real_crate_and_shared_tmp_are_denied() {
    if !require("no writes outside the sandbox") {
        return;
    }
    let tag = format!("kiln-escape-{}", std::process::id());
    let home = PathBuf::from(std::env::var("HOME").unwrap());
    // The user's real crate: the sandbox copies it, and the candidate tries to write into it.
    let krate = tempfile::tempdir().unwrap();
    let targets = RemovedOnDrop(vec![
        home.join(&tag),
        krate.path().join(&tag),
        std::env::temp_dir().join(&tag),
    ]);
    let list = targets
        .0
        .iter()
        .map(|path| format!("{:?}", path.display().to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    tiny_crate_in(
        krate.path(),
        "writer",
        &candidate_lib(&format!(
            r#"        let mut results = Vec::new();
        for path in [{list}] {{
            match std::fs::write(path, "escaped") {{
                Ok(()) => results.push(format!("WROTE {{path}}")),
                Err(e) => results.push(format!("{{path}}: {{e}}")),
            }}
        }}
        panic!("{{results:#?}}");"#
        )),
    );
    let report = assert_run_ends(
        krate.path(),
        SandboxConfig::default(),
        RunOutcome::TestsFailed,
        Some(Cause::Denied),
    )
    .await;
    let escaped: Vec<_> = targets.0.iter().filter(|path| path.exists()).collect();
    assert!(
        escaped.is_empty(),
        "written outside the sandbox: {escaped:?}"
    );
    let message = &report.failures[0].message;
    assert!(!message.contains("WROTE"), "{message}");
    assert_eq!(message.matches("Permission denied").count(), 3, "{message}");
}

/// Files a failing run may have written outside the sandbox: removed however the test ends.
struct RemovedOnDrop(Vec<PathBuf>);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}
