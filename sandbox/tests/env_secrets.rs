//! Secrets in the parent's environment must not reach generated code.
//!
//! This lives in its own test binary because it mutates the process
//! environment, which would race with any other test in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_lib_tests_pass, tiny_crate};

#[tokio::test]
async fn parent_secrets_do_not_reach_the_tests() {
    let marker = format!("sk-kiln-test-{}-{}", std::process::id(), line!());
    std::env::set_var("OPENAI_API_KEY", &marker);
    std::env::set_var("KILN_UNRELATED_SECRET", &marker);
    let parent_home = std::env::var("HOME").unwrap_or_default();

    let lib_rs = format!(
        r#"#[cfg(test)]
mod tests {{
    #[test]
    fn environment_is_scrubbed() {{
        assert!(std::env::var("OPENAI_API_KEY").is_err(), "OPENAI_API_KEY leaked");
        for (key, value) in std::env::vars() {{
            assert!(!value.contains("{marker}"), "secret leaked via {{key}}");
        }}
        let home = std::env::var("HOME").unwrap();
        assert_ne!(home, "{parent_home}", "HOME is the user's real home");
        assert!(home.ends_with("/home"), "unexpected HOME {{home}}");
    }}
}}
"#
    );
    let krate = tiny_crate("scrubbed", &lib_rs);
    let report = assert_lib_tests_pass(krate.path()).await;
    assert_eq!(report.passed, 1);
}

/// Set in the re-executed copy of this test binary, to the marker it must not leak.
const PROC_MARKER_ENV: &str = "KILN_PROC_MARKER_SECRET";

#[tokio::test]
async fn parent_environment_is_unreadable_through_proc() {
    if !common::require("no reading kiln's memory or environment") {
        return;
    }
    // /proc/PID/environ shows the environment a process was *started* with, so the marker must
    // be there from the start: this test re-runs itself in a child process that has it.
    let Ok(marker) = std::env::var(PROC_MARKER_ENV) else {
        let marker = format!("sk-kiln-proc-{}-{}", std::process::id(), line!());
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "parent_environment_is_unreadable_through_proc",
                "--exact",
                "--nocapture",
            ])
            .env(PROC_MARKER_ENV, &marker)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return;
    };
    // The candidate walks up from its parent (cargo) through every ancestor, this process
    // included, and tries to find the marker in each one's /proc/PID/environ.
    let body = format!(
        r#"        let mut pid = std::process::id();
        let mut readable = Vec::new();
        while pid > 1 {{
            let status = std::fs::read_to_string(format!("/proc/{{pid}}/status")).unwrap();
            pid = status.lines().find_map(|l| l.strip_prefix("PPid:")).unwrap().trim().parse().unwrap();
            if let Ok(environ) = std::fs::read(format!("/proc/{{pid}}/environ")) {{
                if String::from_utf8_lossy(&environ).contains("{marker}") {{
                    readable.push(pid);
                }}
            }}
        }}
        assert!(readable.is_empty(), "SECRET READ from the environ of {{readable:?}}");"#
    );
    let krate = common::candidate_crate("prying", &body);
    assert_lib_tests_pass(krate.path()).await;
}
