//! Secrets in the parent's environment must not reach generated code.
//!
//! This lives in its own test binary because it mutates the process
//! environment, which would race with any other test in the same process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{run_lib_tests, tiny_crate};
use kiln_sandbox::{RunOutcome, SandboxConfig};

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
    let (_sandbox, report, _) = run_lib_tests(krate.path(), SandboxConfig::default()).await;

    assert_eq!(
        report.outcome,
        RunOutcome::Passed,
        "{}",
        report.summary_for_model(4_000)
    );
    assert_eq!(report.passed, 1);
}
