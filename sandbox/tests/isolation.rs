//! Candidates that try to reach out: a TCP connection to a listener this test started on
//! 127.0.0.1 and to an address beyond, and writes to $HOME, to the user's real crate and to the
//! host's /tmp. Each must be denied with the cause named, and leave nothing behind; the
//! run's own loopback works, for tests that talk to themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::ErrorKind;
use std::path::PathBuf;

use common::{
    assert_lib_tests_pass, assert_runs_end_both_ways, candidate_crate, candidate_lib, require,
    tiny_crate_in,
};
use kiln_sandbox::{Cause, RunOutcome, SandboxConfig};

#[tokio::test]
async fn tcp_connections_to_the_machine_and_beyond_are_denied() {
    if !require("no network") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // The run's 127.0.0.1 is its own: the parent's listener is not there. Anything beyond
    // the loopback has no route.
    let krate = candidate_crate(
        "dialer",
        &format!(
            r#"        let local = std::net::TcpStream::connect(("127.0.0.1", {port}));
        let outside = std::net::TcpStream::connect_timeout(
            &"93.184.216.34:80".parse().unwrap(),
            std::time::Duration::from_secs(5),
        );
        let show = |r: std::io::Result<std::net::TcpStream>| match r {{
            Ok(_) => "CONNECTED".to_string(),
            Err(e) => e.to_string(),
        }};
        panic!("connect failed: local: {{}}; outside: {{}}", show(local), show(outside));"#
        ),
    );
    let reports = assert_runs_end_both_ways(
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
    for report in &reports {
        let message = &report.failures[0].message;
        assert!(message.contains("connect failed"), "{message}");
        assert!(!message.contains("CONNECTED"), "{message}");
        assert!(message.contains("Network is unreachable"), "{message}");
    }
}

#[tokio::test]
async fn tests_can_talk_to_themselves_on_the_runs_own_loopback() {
    if !require("no network") {
        return;
    }
    // What a server crate's tests do: bind a local port and connect to it.
    let krate = candidate_crate(
        "echo",
        r#"        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.write_all(b"ping").unwrap();
        });
        let (mut served, _) = listener.accept().unwrap();
        let mut got = [0u8; 4];
        served.read_exact(&mut got).unwrap();
        client.join().unwrap();
        assert_eq!(&got, b"ping");"#,
    );
    assert_lib_tests_pass(krate.path()).await;
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
    let reports = assert_runs_end_both_ways(
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
    for report in &reports {
        let message = &report.failures[0].message;
        // Denied outright (Landlock: permission denied; the view: read-only or not there); only
        // a view's /tmp, which is the run's own tmpfs, may take the third write, and the host's
        // /tmp saw nothing of it (checked above).
        for denied in &targets.0[..2] {
            assert!(
                !message.contains(&format!("WROTE {}", denied.display())),
                "{message}"
            );
        }
    }
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

/// A build script and a proc macro run on the host side of a build: both must work inside the
/// view, through the shared cache's overlay, as root and as another user.
#[tokio::test]
async fn a_crate_with_a_build_script_and_a_proc_macro_builds_and_passes() {
    let krate = tempfile::tempdir().unwrap();
    let root = krate.path();
    common::write(
        root,
        "Cargo.toml",
        "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n\
         [dependencies]\nanswer = { path = \"answer\" }\n",
    );
    common::write(
        root,
        "build.rs",
        "fn main() {\n    let out = std::env::var(\"OUT_DIR\").unwrap();\n    \
         std::fs::write(format!(\"{out}/generated.rs\"), \"pub const FROM_BUILD: u8 = 7;\").unwrap();\n    \
         println!(\"cargo:rustc-env=KILN_BUILT=yes\");\n}\n",
    );
    common::write(
        root,
        "src/lib.rs",
        "include!(concat!(env!(\"OUT_DIR\"), \"/generated.rs\"));\n\
         answer::answer!();\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn both_ran() {\n        \
         assert_eq!(super::FROM_BUILD + super::answer(), 49);\n        \
         assert_eq!(env!(\"KILN_BUILT\"), \"yes\");\n    }\n}\n",
    );
    common::write(
        root,
        "answer/Cargo.toml",
        "[package]\nname = \"answer\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\nproc-macro = true\n",
    );
    common::write(
        root,
        "answer/src/lib.rs",
        "extern crate proc_macro;\nuse proc_macro::TokenStream;\n\n#[proc_macro]\n\
         pub fn answer(_: TokenStream) -> TokenStream {\n    \
         \"pub fn answer() -> u8 { 42 }\".parse().unwrap()\n}\n",
    );
    let cache = tempfile::tempdir().unwrap();
    let sandbox = kiln_sandbox::Sandbox::create(
        root,
        SandboxConfig {
            target_dir: Some(cache.path().to_path_buf()),
            ..SandboxConfig::default()
        },
    )
    .unwrap();
    let built = sandbox
        .build_untouched(&common::lib_args(), &mut |_| {})
        .await
        .unwrap();
    assert_ne!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
    // A candidate's change on top, built through the overlay.
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    sandbox
        .write_file(
            std::path::Path::new("src/lib.rs"),
            &format!("{lib}\n#[test]\nfn candidate() {{ assert_eq!(answer(), 42); }}\n"),
        )
        .unwrap();
    let report = sandbox
        .cargo_test(&common::lib_args(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.outcome, RunOutcome::Passed, "{}", report.output);
    assert_eq!(report.passed_tests.len(), 2, "{:?}", report.passed_tests);
    common::again_as_unprivileged_user(
        "a_crate_with_a_build_script_and_a_proc_macro_builds_and_passes",
    );
}
