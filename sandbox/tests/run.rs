//! End-to-end runs of real `cargo test` on tiny crates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{
    again_as_unprivileged_user, lib_args, run_lib_tests, survivors_after_grace, tiny_crate,
};
use kiln_sandbox::{Progress, RunOutcome, RunReport, Sandbox, SandboxConfig, TestArgs};

const ADD_LIB: &str = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n";

#[tokio::test]
async fn passing_tests_written_into_the_copy_run_and_report_progress() {
    let krate = tiny_crate("passing", ADD_LIB);
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    // The kiln flow: the model's test module is written into the copy only.
    let with_tests = format!(
        "{ADD_LIB}\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn adds() {{ assert_eq!(super::add(2, 2), 4); }}\n    #[test]\n    fn adds_negative() {{ assert_eq!(super::add(-2, 1), -1); }}\n    #[test]\n    #[ignore]\n    fn slow() {{}}\n}}\n"
    );
    sandbox
        .write_file(Path::new("src/lib.rs"), &with_tests)
        .unwrap();
    let mut progress = Vec::new();
    let report = sandbox
        .cargo_test(&lib_args(), &mut |p| progress.push(p))
        .await
        .unwrap();

    assert_eq!(report.outcome, RunOutcome::Passed, "{}", report.output);
    assert_eq!((report.passed, report.failed, report.ignored), (2, 0, 1));
    assert!(report.compiler_errors.is_empty());
    assert!(report.failures.is_empty());
    assert!(
        report.output.contains("test tests::adds ... ok"),
        "{}",
        report.output
    );
    assert!(
        progress.contains(&Progress::Compiling {
            unit: "passing v0.1.0".into()
        }),
        "{progress:?}"
    );
    assert!(
        progress.contains(&Progress::TestsStarted { total: 3 }),
        "{progress:?}"
    );
    assert!(progress.contains(&Progress::TestFinished {
        name: "tests::adds".into(),
        passed: true
    }));
    // The user's tree is untouched.
    let original = std::fs::read_to_string(krate.path().join("src/lib.rs")).unwrap();
    assert_eq!(original, ADD_LIB);
}

/// A re-run writes the same text again: the copy is left as it was, so cargo finds the build
/// fresh and only runs the tests; a changed text is compiled again.
#[tokio::test]
async fn the_same_text_written_again_runs_without_compiling() {
    let krate = tiny_crate("again", ADD_LIB);
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let with_test = |expected: i32| {
        format!(
            "{ADD_LIB}\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn adds() {{ assert_eq!(super::add(2, 2), {expected}); }}\n}}\n"
        )
    };
    let compiles = |text: String| {
        let sandbox = &sandbox;
        async move {
            sandbox.write_file(Path::new("src/lib.rs"), &text).unwrap();
            let mut compiled = Vec::new();
            let report = sandbox
                .cargo_test(&lib_args(), &mut |progress| {
                    if let Progress::Compiling { unit } = progress {
                        compiled.push(unit);
                    }
                })
                .await
                .unwrap();
            (report.outcome, compiled)
        }
    };
    let (outcome, compiled) = compiles(with_test(4)).await;
    assert_eq!(
        (outcome, compiled.len()),
        (RunOutcome::Passed, 1),
        "{compiled:?}"
    );
    let (outcome, compiled) = compiles(with_test(4)).await;
    assert_eq!(outcome, RunOutcome::Passed);
    assert!(
        compiled.is_empty(),
        "the same text was compiled again: {compiled:?}"
    );
    let (outcome, compiled) = compiles(with_test(5)).await;
    assert_eq!(
        (outcome, compiled.len()),
        (RunOutcome::TestsFailed, 1),
        "{compiled:?}"
    );
}

/// A build made ahead runs at the lowest CPU priority, out of the way of the run someone waits
/// for; and what it built is what the next run of the same text runs. The build script records
/// the niceness it was built with, which the test then checks.
#[tokio::test]
async fn a_build_made_ahead_runs_at_the_lowest_priority() {
    let krate = tiny_crate(
        "ahead",
        "include!(concat!(env!(\"OUT_DIR\"), \"/built_with.rs\"));\n\
         #[cfg(test)]\nmod tests {\n    #[test]\n    fn built_in_the_background() {\n        \
         assert_eq!(super::NICENESS, 19);\n    }\n}\n",
    );
    common::write(
        krate.path(),
        "build.rs",
        r#"fn main() {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The fields after the command's closing parenthesis; niceness is the 19th of the line.
    let niceness: i64 = stat.rsplit(')').next().unwrap().split_whitespace().nth(16).unwrap().parse().unwrap();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(
        out.join("built_with.rs"),
        format!("pub const NICENESS: i64 = {niceness};\n"),
    )
    .unwrap();
}
"#,
    );
    let ahead = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let built = ahead.build_tests(&lib_args(), &mut |_| {}).await.unwrap();
    assert_ne!(built.outcome, RunOutcome::BuildFailed, "{}", built.output);
    let report = ahead.cargo_test(&lib_args(), &mut |_| {}).await.unwrap();
    assert_eq!(report.outcome, RunOutcome::Passed, "{}", report.output);
    // Built the usual way, the same test sees the normal priority and fails.
    let usual = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let report = usual.cargo_test(&lib_args(), &mut |_| {}).await.unwrap();
    assert_eq!(report.outcome, RunOutcome::TestsFailed, "{}", report.output);
}

#[tokio::test]
async fn compile_error_is_build_failed_with_message_and_line() {
    let krate = tiny_crate(
        "broken",
        "pub fn one() -> i32 {\n    1\n}\n\npub fn two() -> i32 {\n    \"two\"\n}\n",
    );
    let (_sandbox, report, _) = run_lib_tests(krate.path(), SandboxConfig::default()).await;

    assert_eq!(report.outcome, RunOutcome::BuildFailed, "{}", report.output);
    assert_eq!(
        report.compiler_errors.len(),
        1,
        "{:?}",
        report.compiler_errors
    );
    let error = &report.compiler_errors[0];
    assert_eq!(error.message, "mismatched types");
    assert_eq!(error.file.as_deref(), Some(Path::new("src/lib.rs")));
    assert_eq!(error.line, Some(6));
    assert_eq!(error.column, Some(5));
    assert!(
        error.rendered.contains("error[E0308]"),
        "{}",
        error.rendered
    );
    assert_eq!(report.passed + report.failed, 0);

    let summary = report.summary_for_model(600);
    assert!(summary.len() <= 600);
    assert!(summary.starts_with("BUILD FAILED"), "{summary}");
    assert!(summary.contains("mismatched types"), "{summary}");
    assert!(summary.contains("src/lib.rs:6:5"), "{summary}");
    assert!(
        !summary.contains("/tmp/"),
        "sandbox paths leak into the summary: {summary}"
    );
}

#[tokio::test]
async fn failing_assertion_is_tests_failed_with_panic_message() {
    let krate = tiny_crate(
        "failing",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn fine() {}\n    #[test]\n    fn adds_wrong() {\n        assert_eq!(1 + 1, 3);\n    }\n}\n",
    );
    let (_sandbox, report, progress) = run_lib_tests(krate.path(), SandboxConfig::default()).await;

    assert_eq!(report.outcome, RunOutcome::TestsFailed, "{}", report.output);
    assert_eq!((report.passed, report.failed), (1, 1));
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let failure = &report.failures[0];
    assert_eq!(failure.name, "tests::adds_wrong");
    assert!(
        failure.message.contains("assertion `left == right` failed"),
        "{}",
        failure.message
    );
    assert!(failure.message.contains("left: 2"), "{}", failure.message);
    assert!(failure.message.contains("right: 3"), "{}", failure.message);
    assert!(progress.contains(&Progress::TestFinished {
        name: "tests::adds_wrong".into(),
        passed: false
    }));

    let summary = report.summary_for_model(2_000);
    assert!(
        summary.starts_with("TESTS FAILED: 1 passed, 1 failed"),
        "{summary}"
    );
    assert!(summary.contains("tests::adds_wrong"), "{summary}");
    assert!(summary.contains("right: 3"), "{summary}");
}

/// A run-time switch for the code under test (gen-tests selects mutants this way): the extra
/// variable reaches the tests, and a run without it does not see it.
#[tokio::test]
async fn extra_env_reaches_the_tests_of_that_run_only() {
    let krate = tiny_crate(
        "switch",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn switch_is_on() {\n        assert_eq!(std::env::var(\"KILN_SWITCH\").as_deref(), Ok(\"on\"));\n    }\n}\n",
    );
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let env = [("KILN_SWITCH".to_string(), "on".to_string())];
    let with = sandbox
        .cargo_test_with_env(&lib_args(), &env, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(with.outcome, RunOutcome::Passed, "{}", with.output);
    let without = sandbox.cargo_test(&lib_args(), &mut |_| {}).await.unwrap();
    assert_eq!(
        without.outcome,
        RunOutcome::TestsFailed,
        "{}",
        without.output
    );
}

#[tokio::test]
async fn filter_matching_nothing_is_no_tests_ran() {
    let krate = tiny_crate(
        "filtered",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn a() {}\n}\n",
    );
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let args = TestArgs {
        target_flags: vec!["--lib".into()],
        filter: Some("no_such_test".into()),
    };
    let report = sandbox.cargo_test(&args, &mut |_| {}).await.unwrap();
    assert_eq!(report.outcome, RunOutcome::NoTestsRan, "{}", report.output);
    assert_eq!(report.passed, 0);
}

#[tokio::test]
async fn endless_test_times_out_and_its_whole_process_group_dies() {
    let krate = tiny_crate(
        "hangs",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn forever() {\n        std::fs::write(\"test.pid\", std::process::id().to_string()).unwrap();\n        let child = std::process::Command::new(\"sleep\").arg(\"600\").spawn().unwrap();\n        std::fs::write(\"child.pid\", child.id().to_string()).unwrap();\n        loop {\n            std::thread::sleep(std::time::Duration::from_millis(50));\n        }\n    }\n}\n",
    );
    let timeout = Duration::from_secs(5);
    let config = SandboxConfig {
        timeout,
        ..SandboxConfig::default()
    };
    let started = Instant::now();
    let (sandbox, report, _) = run_lib_tests(krate.path(), config).await;
    let elapsed = started.elapsed();

    assert_eq!(report.outcome, RunOutcome::TimedOut, "{}", report.output);
    assert!(
        elapsed < timeout + Duration::from_secs(4),
        "took {elapsed:?}"
    );
    assert!(report.duration >= timeout, "{:?}", report.duration);
    assert!(report.summary_for_model(1_000).starts_with("TIMED OUT"));

    assert!(
        sandbox.crate_dir().join("child.pid").exists(),
        "the test never started: the build took the whole timeout"
    );
    // The pids the test wrote are those of its own pid namespace; the run's processes are found
    // on the host by the sandbox's private TMPDIR in their environment.
    assert_eq!(survivors_after_grace(&sandbox).await, Vec::<String>::new());
}

#[tokio::test]
async fn huge_output_is_capped_with_a_marker() {
    let krate = tiny_crate(
        "noisy",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn noisy() {\n        let line = \"x\".repeat(99);\n        for _ in 0..100_000 {\n            println!(\"{line}\");\n        }\n        panic!(\"END OF NOISE\");\n    }\n}\n",
    );
    let cap = 16 * 1024;
    let config = SandboxConfig {
        output_cap_bytes: cap,
        ..SandboxConfig::default()
    };
    let (_sandbox, report, _) = run_lib_tests(krate.path(), config).await;

    assert_eq!(report.outcome, RunOutcome::TestsFailed);
    assert!(
        report.output.len() <= cap,
        "output is {} bytes",
        report.output.len()
    );
    assert!(report.output.contains(" bytes cut ...]"), "no cut marker");
    // Parsing continued through the 10 MB: the tail and the result are kept.
    assert!(report.output.contains("test result: FAILED"), "tail lost");
    assert_eq!(report.failures.len(), 1);
    let message = &report.failures[0].message;
    assert!(
        message.len() < 10 * 1024,
        "failure message is {} bytes",
        message.len()
    );
    assert!(
        message.contains("END OF NOISE"),
        "panic message lost from the tail"
    );
    let summary = report.summary_for_model(4_000);
    assert!(summary.len() <= 4_000);
    assert!(summary.contains("END OF NOISE"), "{summary}");
}

#[tokio::test]
async fn cargo_test_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let krate = tiny_crate("sendable", ADD_LIB);
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let args = lib_args();
    let mut on_progress = |_: Progress| {};
    let future = sandbox.cargo_test(&args, &mut on_progress);
    assert_send(&future);
}

/// A `cargo` first on the run's `PATH` that logs each call before handing it to the real one:
/// how a test sees whether a run started cargo at all. It lives in the sandbox's private tmp,
/// which every run can see.
struct CargoCalls {
    log: PathBuf,
    path: String,
}

impl CargoCalls {
    fn in_sandbox(sandbox: &Sandbox) -> CargoCalls {
        let bin = sandbox.tmp_dir().join("logging-bin");
        std::fs::create_dir(&bin).unwrap();
        let log = sandbox.tmp_dir().join("cargo-calls");
        let path = std::env::var("PATH").unwrap();
        let real = std::env::split_paths(&path)
            .map(|dir| dir.join("cargo"))
            .find(|cargo| cargo.is_file())
            .unwrap();
        let wrapper = bin.join("cargo");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                log.display(),
                real.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        CargoCalls {
            log,
            path: format!("{}:{path}", bin.display()),
        }
    }

    /// The run's extra environment: the logging cargo's `PATH`, and `more`.
    fn env(&self, more: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = vec![("PATH".to_string(), self.path.clone())];
        env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    fn count(&self) -> usize {
        std::fs::read_to_string(&self.log).map_or(0, |log| log.lines().count())
    }
}

/// A failure message as it would read in any run: libtest names the thread in a panic line with
/// its id since Rust 1.84, which differs from one run to the next, and only the first panic of a
/// process says how to get a backtrace, whichever test's thread finishes first.
fn comparable(message: &str) -> String {
    message
        .lines()
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .map(|line| {
            let Some((head, rest)) = line.split_once("' (") else {
                return line.to_string();
            };
            match rest.split_once(") panicked at ") {
                Some((id, tail)) if id.bytes().all(|b| b.is_ascii_digit()) => {
                    format!("{head}' panicked at {tail}")
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything a report says about the tests, as the front end and the model read it; in name
/// order, since tests run in parallel finish in any order.
fn reading(report: &RunReport) -> impl PartialEq + std::fmt::Debug {
    let mut failures: Vec<_> = report
        .failures
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                comparable(&f.message),
                f.panicked_at.clone(),
            )
        })
        .collect();
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    let mut passed = report.passed_tests.clone();
    passed.sort();
    (
        report.outcome,
        report.cause,
        (report.passed, report.failed, report.ignored),
        passed,
        failures,
        report.compiler_errors.clone(),
    )
}

const MIXED_TESTS: &str = "#[cfg(test)]\nmod tests {\n    #[test]\n    fn adds() { assert_eq!(2 + 2, 4); }\n    #[test]\n    fn adds_wrong() { assert_eq!(2 + 2, 5, \"a message\"); }\n    #[test]\n    fn sees_what_cargo_sets() {\n        let vars = [\"CARGO_MANIFEST_DIR\", \"CARGO_MANIFEST_PATH\", \"CARGO_PKG_NAME\", \"CARGO_PKG_VERSION\", \"CARGO_PKG_VERSION_MAJOR\", \"CARGO_PKG_VERSION_MINOR\", \"CARGO_PKG_VERSION_PATCH\", \"CARGO_PKG_VERSION_PRE\", \"CARGO_CRATE_NAME\", \"CARGO_TARGET_DIR\", \"HOME\", \"TMPDIR\", \"KILN_EXTRA\"].map(|k| (k, std::env::var(k).ok()));\n        panic!(\"{vars:?} cwd {:?}\", std::env::current_dir().unwrap());\n    }\n    #[test]\n    #[ignore]\n    fn slow() {}\n}\n";

/// A re-run of unchanged text starts the test binaries cargo built, not cargo, and its report
/// reads as cargo's: the same names, messages, panic sites and counts, and the environment and
/// working directory cargo gives a test. A changed text goes through cargo again.
#[tokio::test]
async fn an_unchanged_copy_runs_again_without_cargo_and_reads_the_same() {
    let krate = tiny_crate("direct", ADD_LIB);
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let calls = CargoCalls::in_sandbox(&sandbox);
    let env = calls.env(&[("KILN_EXTRA", "3")]);
    let run = |text: String| {
        let (sandbox, env) = (&sandbox, &env);
        async move {
            sandbox.write_file(Path::new("src/lib.rs"), &text).unwrap();
            let mut progress = Vec::new();
            let report = sandbox
                .cargo_test_with_env(&lib_args(), env, &mut |p| progress.push(p))
                .await
                .unwrap();
            (report, progress)
        }
    };

    let (by_cargo, _) = run(MIXED_TESTS.to_string()).await;
    assert_eq!(calls.count(), 1);
    assert_eq!(
        by_cargo.outcome,
        RunOutcome::TestsFailed,
        "{}",
        by_cargo.output
    );
    assert_eq!(
        (by_cargo.passed, by_cargo.failed, by_cargo.ignored),
        (1, 2, 1)
    );
    let (direct, progress) = run(MIXED_TESTS.to_string()).await;
    assert_eq!(
        calls.count(),
        1,
        "the re-run started cargo: {}",
        direct.output
    );
    assert_eq!(reading(&direct), reading(&by_cargo));
    let env_seen = &direct
        .failures
        .iter()
        .find(|f| f.name == "tests::sees_what_cargo_sets")
        .unwrap()
        .message;
    assert!(
        env_seen.contains("(\"CARGO_PKG_NAME\", Some(\"direct\"))"),
        "{env_seen}"
    );
    assert!(
        env_seen.contains("(\"KILN_EXTRA\", Some(\"3\"))"),
        "{env_seen}"
    );
    assert_eq!(direct.build_time, Some(Duration::ZERO));
    assert!(
        direct
            .output
            .contains("     Running unittests src/lib.rs ("),
        "{}",
        direct.output
    );
    assert!(
        progress.contains(&Progress::TestsStarted { total: 4 }),
        "{progress:?}"
    );
    assert!(progress.contains(&Progress::TestFinished {
        name: "tests::adds".into(),
        passed: true
    }));

    let fixed = MIXED_TESTS.replace("2 + 2, 5", "2 + 2, 4");
    let (changed, _) = run(fixed).await;
    assert_eq!(calls.count(), 2, "a changed text did not go through cargo");
    assert_eq!(
        (changed.passed, changed.failed),
        (2, 1),
        "{}",
        changed.output
    );
    again_as_unprivileged_user("an_unchanged_copy_runs_again_without_cargo_and_reads_the_same");
}

#[tokio::test]
async fn a_direct_run_honours_the_filter_and_its_own_extra_variables() {
    let krate = tiny_crate(
        "direct_filter",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn a_one() {}\n    #[test]\n    fn a_two() { assert_eq!(std::env::var(\"KILN_MUTANT\").as_deref(), Ok(\"3\")); }\n    #[test]\n    fn b() {}\n}\n",
    );
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let calls = CargoCalls::in_sandbox(&sandbox);
    let run = |filter: Option<&str>, more: &[(&str, &str)]| {
        let args = TestArgs {
            filter: filter.map(str::to_string),
            ..lib_args()
        };
        let env = calls.env(more);
        let sandbox = &sandbox;
        async move {
            sandbox
                .cargo_test_with_env(&args, &env, &mut |_| {})
                .await
                .unwrap()
        }
    };
    let all = run(None, &[]).await;
    assert_eq!((all.passed, all.failed), (2, 1), "{}", all.output);
    let filtered = run(Some("a_"), &[("KILN_MUTANT", "3")]).await;
    assert_eq!(filtered.outcome, RunOutcome::Passed, "{}", filtered.output);
    let mut passed = filtered.passed_tests.clone();
    passed.sort();
    assert_eq!(passed, ["tests::a_one", "tests::a_two"]);
    let without = run(Some("a_two"), &[]).await;
    assert_eq!(
        without.outcome,
        RunOutcome::TestsFailed,
        "{}",
        without.output
    );
    assert_eq!(calls.count(), 1, "a re-run started cargo");
}

/// A test binary that aborts reads as it does under cargo (its failure carries cargo's "process
/// didn't exit successfully" line), and the binaries after it are not run; when nothing fails,
/// every binary runs, in cargo's order.
#[tokio::test]
async fn a_crashing_binary_and_the_order_of_binaries_read_as_under_cargo() {
    let krate = tiny_crate(
        "direct_crash",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn crashes_when_asked() {\n        if std::env::var_os(\"KILN_CRASH\").is_some() {\n            eprintln!(\"about to abort\");\n            std::process::abort();\n        }\n    }\n}\n",
    );
    common::write(krate.path(), "tests/it.rs", "#[test]\nfn it_passes() {}\n");
    let sandbox = Sandbox::create(krate.path(), SandboxConfig::default()).unwrap();
    let calls = CargoCalls::in_sandbox(&sandbox);
    let args = TestArgs {
        target_flags: vec!["--tests".into()],
        filter: None,
    };
    let run = |more: &[(&str, &str)]| {
        let env = calls.env(more);
        let (sandbox, args) = (&sandbox, &args);
        async move {
            sandbox
                .cargo_test_with_env(args, &env, &mut |_| {})
                .await
                .unwrap()
        }
    };
    let mut crash_by_cargo = run(&[("KILN_CRASH", "1")]).await;
    assert_eq!(
        crash_by_cargo.outcome,
        RunOutcome::TestsFailed,
        "{}",
        crash_by_cargo.output
    );
    // Under cargo, the binary's `running 1 test` (stdout) and cargo's `Running` line (stderr)
    // come on two pipes, and under load the first may be read first: the crash is then named
    // with the collector's default label. A direct run names its binaries before starting them.
    if crash_by_cargo.failures[0].name == "test binary" {
        crash_by_cargo.failures[0].name = "unittests src/lib.rs".into();
    }
    assert_eq!(crash_by_cargo.failures[0].name, "unittests src/lib.rs");
    assert!(
        crash_by_cargo.failures[0].message.contains("SIGABRT"),
        "{:?}",
        crash_by_cargo.failures
    );
    let crash_direct = run(&[("KILN_CRASH", "1")]).await;
    assert_eq!(reading(&crash_direct), reading(&crash_by_cargo));
    let direct = run(&[]).await;
    assert_eq!(calls.count(), 1, "a re-run started cargo");
    assert_eq!(
        direct.passed_tests,
        ["tests::crashes_when_asked", "it_passes"]
    );
    // Any change to the copy sends the run to cargo, even one cargo would find builds nothing.
    sandbox
        .write_file(Path::new("notes.txt"), "changed")
        .unwrap();
    let by_cargo = run(&[]).await;
    assert_eq!(calls.count(), 2);
    assert_eq!(reading(&direct), reading(&by_cargo));
}

#[tokio::test]
async fn a_direct_run_that_hangs_is_killed_at_the_timeout() {
    let krate = tiny_crate(
        "direct_hang",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn hangs_when_asked() {\n        if std::env::var_os(\"KILN_HANG\").is_some() {\n            let _child = std::process::Command::new(\"sleep\").arg(\"600\").spawn().unwrap();\n            loop {\n                std::thread::sleep(std::time::Duration::from_millis(50));\n            }\n        }\n    }\n}\n",
    );
    let timeout = Duration::from_secs(8);
    let config = SandboxConfig {
        timeout,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::create(krate.path(), config).unwrap();
    let calls = CargoCalls::in_sandbox(&sandbox);
    let passes = sandbox
        .cargo_test_with_env(&lib_args(), &calls.env(&[]), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(passes.outcome, RunOutcome::Passed, "{}", passes.output);
    let started = Instant::now();
    let hangs = sandbox
        .cargo_test_with_env(&lib_args(), &calls.env(&[("KILN_HANG", "1")]), &mut |_| {})
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(calls.count(), 1, "the re-run started cargo");
    assert_eq!(hangs.outcome, RunOutcome::TimedOut, "{}", hangs.output);
    assert!(hangs.duration >= timeout, "{:?}", hangs.duration);
    assert!(
        elapsed < timeout + Duration::from_secs(4),
        "took {elapsed:?}"
    );
    assert_eq!(survivors_after_grace(&sandbox).await, Vec::<String>::new());
}
