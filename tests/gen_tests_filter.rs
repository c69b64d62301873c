//! The gen-tests filter end to end: the real binary, a scripted model, real cargo in a sandbox.
//! Each scripted module has a known truth (which test breaks the build, which is flaky, which
//! asserts nothing); the report must say exactly that.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{json, Value};
use support::{cargo_test, kiln, kiln_json, last_message, DemoCrate, Reply, ScriptedServer};

const LIB: &str = "//! One function with a boundary.

/// Whether someone of `age` years is an adult.
pub fn is_adult(age: u32) -> bool {
    age >= 18
}
";

const ONE_OF_THREE_BREAKS_THE_BUILD: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_is_adult() {
        assert!(is_adult(18));
    }

    #[test]
    fn uses_an_undefined_name() {
        assert!(is_adult(undefined_age));
    }

    #[test]
    fn seventeen_is_not() {
        assert!(!is_adult(17));
    }
}
";

/// Kills every mutant of `is_adult`.
const GOOD: &str = "    #[test]
    fn good() {
        assert!(is_adult(18));
        assert!(!is_adult(17));
    }
";

/// Kills no mutant: it compares the function with itself.
const SAME_ANSWER_TWICE: &str = "    #[test]
    fn same_answer_twice() {
        assert!(is_adult(1) == is_adult(1));
    }
";

/// A test module with these tests.
fn module(tests: &[&str]) -> String {
    format!(
        "#[cfg(test)]\nmod tests {{\n    use super::*;\n\n{}}}\n",
        tests.join("\n")
    )
}

/// A test `name` that counts its runs in a file (so the count survives between the test
/// processes of re-runs) and then does `then`, where `runs` is how often it ran before.
fn counting_test(name: &str, then: &str) -> String {
    format!(
        "    #[test]
    fn {name}() {{
        let path = concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{name}-counter\");
        let runs: u32 = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        std::fs::write(path, (runs + 1).to_string()).unwrap();
{then}    }}
"
    )
}

/// `good`, `same_answer_twice`, and `flaky`, which passes on even runs only.
fn good_useless_and_flaky() -> String {
    let flaky = counting_test(
        "flaky",
        "        assert!(runs % 2 == 0, \"run {runs}\");\n        assert!(is_adult(40));\n",
    );
    module(&[GOOD, SAME_ANSWER_TWICE, &flaky])
}

const REPLACEMENT: &str = "#[test]
fn zero_is_not_adult() {
    assert!(!is_adult(0));
}
";

fn crate_with_lib() -> DemoCrate {
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", LIB);
    demo
}

fn function_report(result: &Value) -> &Value {
    let functions = result["validation"]["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 1, "{result:#}");
    &functions[0]
}

fn dropped(report: &Value) -> Vec<(String, String)> {
    report["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_that_breaks_the_build_is_dropped_and_the_rest_kept() {
    let demo = crate_with_lib();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(ONE_OF_THREE_BREAKS_THE_BUILD));

    // One attempt: the two good tests are proposed at once instead of asking for a replacement.
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--json",
            "--max-attempts",
            "1",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(server.chat_requests().len(), 1);
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "proposed", "{result:#}");
    assert_eq!(
        result["summary"],
        "2 tests: eighteen_is_adult, seventeen_is_not"
    );
    let report = function_report(&result);
    assert_eq!(
        report["kept"],
        json!(["eighteen_is_adult", "seventeen_is_not"])
    );
    assert_eq!(
        dropped(report),
        vec![(
            "uses_an_undefined_name".to_string(),
            "does_not_compile".to_string()
        )]
    );
    assert!(
        report["dropped"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("undefined_age"),
        "{report:#}"
    );
    let diff = result["diff"].as_str().unwrap();
    assert!(diff.contains("+    fn seventeen_is_not()"), "{diff}");
    assert!(!diff.contains("undefined_age"), "{diff}");
    // The dropped test's separating blank line went with it: no blank-line run is proposed.
    assert!(!diff.contains("\n+\n+\n"), "{diff}");
    // The run line counts what is proposed, not the build's passes alone.
    assert!(
        run.stderr
            .contains("✓ 2 tests proposed (3 written, 1 dropped"),
        "{}",
        run.describe()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn flaky_and_useless_tests_are_dropped_and_the_useless_one_fed_back() {
    let demo = crate_with_lib();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(&good_useless_and_flaky()));
    server.push(Reply::tool_code(REPLACEMENT));

    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--json",
            "--yes",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());

    let requests = server.chat_requests();
    assert_eq!(requests.len(), 2, "{}", run.describe());
    let feedback = last_message(&requests[1]);
    assert!(feedback.contains("Kept: good."), "{feedback}");
    assert!(
        feedback
            .contains("`same_answer_twice`: this test does not detect a changed implementation"),
        "{feedback}"
    );
    assert!(
        feedback.contains("`flaky` passed, then failed"),
        "{feedback}"
    );
    assert!(!feedback.contains("`good`"), "{feedback}");

    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "applied", "{result:#}");
    let report = function_report(&result);
    assert_eq!(report["function"], "is_adult");
    assert_eq!(report["kept"], json!(["zero_is_not_adult", "good"]));
    assert_eq!(
        dropped(report),
        vec![
            ("flaky".to_string(), "flaky".to_string()),
            (
                "same_answer_twice".to_string(),
                "kills_no_mutant".to_string()
            ),
        ]
    );
    let caught = |by: &[&str], description: &str| json!({"description": description, "outcome": "caught", "caught_by": by, "crashed_in": []});
    let both = ["zero_is_not_adult", "good"];
    assert_eq!(
        report["mutants"],
        json!([
            caught(&both, "body replaced by `true`"),
            caught(&["good"], "body replaced by `false`"),
            caught(&["good"], "`>=` -> `>` at 5:9"),
            caught(&["good"], "`18` -> `19` at 5:12"),
            caught(&both, "`>=` -> `<` at 5:9"),
            caught(&["good"], "`18` -> `17` at 5:12"),
        ])
    );
    assert_eq!(report["mutants_made"], 6);
    assert_eq!(report["mutants_caught"], 6);
    assert_eq!(report["mutants_unviable"], 0);
    assert_eq!(report["survivors"], json!([]));
    assert_eq!(report["mutation_score"], 1.0);
    assert_eq!(report["attempts"], json!({"mini": 2}));
    assert!(
        run.stderr.contains(
            "kiln: is_adult: 2 kept (zero_is_not_adult, good), 2 dropped (flaky: flaky; \
             same_answer_twice: kills no mutant), mutants 6/6 caught (100%; by good 6, \
             zero_is_not_adult 2), attempts: mini 2"
        ),
        "{}",
        run.describe()
    );

    // Each kind of run says what it is for.
    for step in [
        "  re-running 3 test(s) 3 more time(s) to catch flaky ones",
        "  building 6 mutant(s) of 1 function(s) in one binary",
        "  running the tests against the mutants: 6 round(s)",
        "  running the kept tests once more, as they will be proposed",
    ] {
        assert!(run.stderr.contains(step), "{step}\n{}", run.describe());
    }

    let applied = demo.read_lib();
    assert!(applied.contains("fn good()") && applied.contains("fn zero_is_not_adult()"));
    assert!(!applied.contains("fn flaky()") && !applied.contains("same_answer_twice"));
    let check = cargo_test(demo.dir.path());
    assert!(check.stdout.contains("2 passed"), "{}", check.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_mutation_keeps_a_test_that_asserts_nothing_useful() {
    let demo = crate_with_lib();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(
        "#[test]\nfn same_answer_twice() {\n    assert!(is_adult(1) == is_adult(1));\n}\n",
    ));

    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--json",
            "--no-mutation",
            "--reruns",
            "0",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(server.chat_requests().len(), 1);
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    let report = function_report(&result);
    assert_eq!(report["kept"], json!(["same_answer_twice"]));
    assert_eq!(report["mutants"], Value::Null);
    assert_eq!(report["mutation_score"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_kiln_cannot_mutate_keeps_its_tests_unjudged() {
    let demo = DemoCrate::new();
    demo.write(
        "src/lib.rs",
        "/// Doubled at compile time.\npub const fn double(x: u32) -> u32 {\n    x * 2\n}\n",
    );
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(
        "#[test]\nfn doubles() {\n    assert_eq!(double(2), 4);\n}\n",
    ));

    let run = kiln(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--json"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    let report = function_report(&result);
    assert_eq!(report["kept"], json!(["doubles"]));
    assert_eq!(report["mutants"], Value::Null);
    assert_eq!(
        result["validation"]["mutation_error"],
        "no mutants could be made of the functions under test"
    );
    assert!(
        run.stderr
            .contains("mutation testing was skipped: no mutants could be made"),
        "{}",
        run.describe()
    );
}

/// `good`, and `hangs_on_second_run`, which sleeps for an hour on its second run only: the
/// first re-run times out with it unfinished, which makes it flaky too.
fn good_and_hangs_once() -> String {
    let hangs = counting_test(
        "hangs_on_second_run",
        "        if runs == 1 {\n            std::thread::sleep(std::time::Duration::from_secs(3600));\n        }\n        assert!(is_adult(40));\n",
    );
    module(&[GOOD, &hangs])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_that_hangs_in_a_re_run_is_dropped_as_flaky() {
    let demo = crate_with_lib();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(&good_and_hangs_once()));

    let run = support::kiln_with_env(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--json",
            "--max-attempts",
            "1",
            "--no-mutation",
        ],
        &[("KILN_SANDBOX_TIMEOUT_SECS", "15")],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "proposed", "{result:#}");
    let report = function_report(&result);
    assert_eq!(report["kept"], json!(["good"]), "{result:#}");
    assert_eq!(
        dropped(report),
        vec![("hangs_on_second_run".to_string(), "flaky".to_string())]
    );
    let detail = report["dropped"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("had not finished"), "{detail}");
}

/// Kills two of `is_adult`'s six mutants (`false`, `>=` -> `<`): weaker than [`GOOD`].
const WEAKER_GOOD: &str = "    #[test]
    fn good() {
        assert!(is_adult(40));
    }
";

#[tokio::test(flavor = "multi_thread")]
async fn kept_tests_keep_the_tier_and_the_best_module_seen_is_proposed() {
    let demo = crate_with_lib();
    let server = ScriptedServer::start().await;
    // 1: `good` is kept and one test dropped. 2: `good` replaced by a weaker one, another
    // dropped. 3: only a useless test again. Each attempt kept tests, so none is a failure.
    server.push(Reply::tool_code(&module(&[GOOD, SAME_ANSWER_TWICE])));
    let again = SAME_ANSWER_TWICE.replace("same_answer_twice", "same_again");
    server.push(Reply::tool_code(&module(&[WEAKER_GOOD, &again])));
    let once_more = SAME_ANSWER_TWICE.replace("same_answer_twice", "same_once_more");
    server.push(Reply::tool_code(&module(&[&once_more])));

    let lib = demo.lib_rs();
    let args = [
        "gen-tests",
        lib.to_str().unwrap(),
        "--max-attempts",
        "3",
        "--reruns",
        "0",
    ];
    let (run, result) = kiln_json(&server.base_url(), &args).await;
    // Two "failures" on mini would escalate to full (escalate_after = 2); these were not.
    assert_eq!(
        server.chat_models(),
        ["gpt-5.4-mini"; 3],
        "{}",
        run.describe()
    );
    assert!(!run.stderr.contains("escalat"), "{}", run.describe());
    assert_eq!(result["outcome"], "proposed", "{result:#}");
    let diff = result["diff"].as_str().unwrap();
    assert!(diff.contains("assert!(!is_adult(17));"), "{diff}");
    assert!(!diff.contains("is_adult(40)"), "{diff}");
    assert_eq!(function_report(&result)["mutants_caught"], 6, "{result:#}");
}

/// A second run on a file with kiln's own `mod kiln_tests`: the new tests join that module
/// (no `kiln_tests_2`), and the test already there, though it kills no mutant, is left as is.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_adds_to_kilns_own_module_and_leaves_its_tests_alone() {
    let demo = DemoCrate::new();
    let earlier = SAME_ANSWER_TWICE.replace("    fn ", "    fn earlier_");
    let lib = format!("{LIB}\n#[cfg(test)]\nmod kiln_tests {{\n    use super::*;\n\n{earlier}}}\n");
    demo.write("src/lib.rs", &lib);
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(&module(&[GOOD])));

    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--fn",
            "is_adult",
            "--json",
            "--max-attempts",
            "1",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "proposed", "{result:#}");
    assert_eq!(result["summary"], "1 test: good", "{result:#}");
    let report = function_report(&result);
    assert_eq!(report["kept"], json!(["good"]), "{report:#}");
    assert_eq!(report["dropped"], json!([]), "{report:#}");
    let diff = result["diff"].as_str().unwrap();
    assert!(diff.contains("+    fn good()"), "{diff}");
    assert!(
        !diff.contains("+mod ") && !diff.contains("kiln_tests_2"),
        "{diff}"
    );
    assert!(!diff.contains("-    fn earlier_same"), "{diff}");
    let prompt = last_message(&server.chat_requests()[0]);
    assert!(prompt.contains("mod kiln_tests"), "{prompt}");
}

/// The applied file passes `rustfmt --check`: a model's own layout (here one line per test,
/// and a dropped test's gap) is laid out as rustfmt would.
#[tokio::test(flavor = "multi_thread")]
async fn the_applied_module_is_laid_out_as_rustfmt_would() {
    let demo = crate_with_lib();
    let server = ScriptedServer::start().await;
    let squeezed = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn good() { assert!(is_adult(18)); assert!(!is_adult(17)); }\n\n    #[test]\n    fn broken() { assert!(is_adult(undefined_age)); }\n\n    #[test]\n    fn zero() { assert!(!is_adult(0)); }\n}\n";
    server.push(Reply::tool_code(squeezed));
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--yes",
            "--no-mutation",
            "--max-attempts",
            "1",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let lib = demo.read_lib();
    assert!(
        lib.contains("fn zero()") && !lib.contains("undefined_age"),
        "{lib}"
    );
    let check = std::process::Command::new("rustfmt")
        .args(["--check", "--edition", "2021"])
        .arg(demo.lib_rs())
        .output()
        .expect("rustfmt is installed where kiln's tests run");
    assert!(
        check.status.success(),
        "{}\n{lib}",
        String::from_utf8_lossy(&check.stdout)
    );
}
