//! End to end: the real kiln binary, the real async-openai client over HTTP to a scripted server,
//! and real cargo in a real sandbox, on a temp copy of `assets/demo`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{cargo_test, kiln, kiln_with_env, message_text, DemoCrate, Reply, ScriptedServer};

const DOES_NOT_COMPILE: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_one_two() {
        assert_eq!(mean_floor(&[1, 2]), Some(undefined_expected_value));
    }
}
";

const FAILS_AN_ASSERTION: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_one_two() {
        assert_eq!(mean_floor(&[1, 2]), Some(1));
    }

    #[test]
    fn percent_rounds_one_third_up() {
        assert_eq!(percent(1, 3), Some(34));
    }
}
";

const PASSES: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_one_two() {
        assert_eq!(mean_floor(&[1, 2]), Some(1));
    }

    #[test]
    fn mean_floors_negative_averages() {
        assert_eq!(mean_floor(&[-1, -2]), Some(-2));
        assert_eq!(mean_floor(&[]), None);
    }

    #[test]
    fn percent_rounds_to_nearest() {
        assert_eq!(percent(1, 3), Some(33));
        assert_eq!(percent(2, 3), Some(67));
        assert_eq!(percent(1, 0), None);
    }

    #[test]
    fn config_lines_parse() {
        let parsed = parse_config(\"# c\\n a = 1 \\n\\nb=2\").unwrap();
        assert_eq!(parsed.get(\"a\").map(String::as_str), Some(\"1\"));
        assert_eq!(parse_config(\"=x\"), Err(ParseError::EmptyKey { line: 1 }));
    }
}
";

#[tokio::test(flavor = "multi_thread")]
async fn repair_loop_feeds_back_errors_and_applies_passing_tests() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(DOES_NOT_COMPILE));
    server.push(Reply::tool_code(FAILS_AN_ASSERTION));
    server.push(Reply::tool_code(PASSES));

    let run = kiln(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());

    let requests = server.chat_requests();
    assert_eq!(requests.len(), 3, "{}", run.describe());
    let first = &requests[0];
    assert_eq!(first["model"], "gpt-5.4-mini");
    assert_eq!(first["stream"], true);
    assert_eq!(first["tools"][0]["function"]["name"], "run_code");
    assert_eq!(first["tool_choice"]["function"]["name"], "run_code");
    let prompt = message_text(first);
    for target in [
        "parse_config",
        "split_fields",
        "mean_floor",
        "clamp_checked",
        "percent",
    ] {
        assert!(prompt.contains(target), "prompt lacks {target}:\n{prompt}");
    }

    let second = message_text(&requests[1]);
    assert!(
        second.contains("undefined_expected_value"),
        "request 2 lacks the compiler error:\n{second}"
    );
    let last = requests[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "tool", "feedback must answer the tool call");

    let third = message_text(&requests[2]);
    assert!(
        third.contains("percent_rounds_one_third_up"),
        "request 3 lacks the failing test:\n{third}"
    );
    assert!(
        third.contains("Some(34)"),
        "request 3 lacks the assertion message:\n{third}"
    );
    assert!(!third.contains("mean_of_one_two ... FAILED"), "{third}");

    let applied = demo.read_lib();
    assert!(
        applied.contains("fn percent_rounds_to_nearest()"),
        "{applied}"
    );
    assert!(applied.starts_with(&std::fs::read_to_string("assets/demo/src/lib.rs").unwrap()));
    let check = cargo_test(demo.dir.path());
    assert_eq!(check.code, Some(0), "{}", check.describe());
    assert!(check.stdout.contains("4 passed"), "{}", check.describe());
    assert!(
        run.stdout.contains("+    fn config_lines_parse()"),
        "the diff is shown:\n{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_shows_the_diff_and_writes_nothing() {
    let demo = DemoCrate::new();
    let before = std::fs::read(demo.lib_rs()).unwrap();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(PASSES));
    let cache = tempfile::tempdir().unwrap();

    let run = kiln_with_env(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--dry-run"],
        &[("KILN_CACHE_DIR", cache.path().to_str().unwrap())],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    // The build went to the persistent per-crate target dir under the cache, so the next run
    // on this crate reuses it.
    let targets: Vec<_> = std::fs::read_dir(cache.path().join("target"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert!(targets[0].join("debug").is_dir(), "{targets:?}");
    assert!(
        run.stdout.contains("--- a/src/lib.rs"),
        "{}",
        run.describe()
    );
    assert!(run.stdout.contains("+mod tests {"), "{}", run.describe());
    assert!(
        !run.stdout.contains('\x1b'),
        "no colour when stdout is a pipe"
    );
    assert_eq!(
        std::fs::read(demo.lib_rs()).unwrap(),
        before,
        "dry run must not write"
    );
    let leftovers: Vec<_> = std::fs::read_dir(demo.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "nothing else appears in the user's crate: {leftovers:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_reports_outcome_attempts_tokens_and_diff() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::text("Sure! I will write tests for these functions."));
    server.push(Reply::tool_code(PASSES));

    let run = kiln(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--json"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "proposed");
    assert_eq!(result["attempts"], 2);
    let mini = &result["tiers"]["mini"];
    assert_eq!(mini["requests"], 2);
    assert_eq!(mini["no_tool_call"], 1);
    assert_eq!(mini["tool_calls_well_formed"], 1);
    assert!(mini["prompt_tokens"].as_u64().unwrap() > 0, "{result}");
    assert!(result["diff"]
        .as_str()
        .unwrap()
        .contains("+    fn mean_of_one_two()"));
    // Every demo test was kept because each fails against a mutant of the function it calls.
    let functions = result["validation"]["functions"].as_array().unwrap();
    let mean = functions
        .iter()
        .find(|f| f["function"] == "mean_floor")
        .unwrap();
    assert_eq!(
        mean["kept"],
        serde_json::json!(["mean_of_one_two", "mean_floors_negative_averages"])
    );
    assert_eq!(mean["dropped"], serde_json::json!([]));
    assert!(mean["mutants_caught"].as_u64().unwrap() > 0, "{mean:#}");
    let untested = functions
        .iter()
        .find(|f| f["function"] == "split_fields")
        .unwrap();
    assert_eq!(untested["kept"], serde_json::json!([]));
    assert_eq!(untested["mutants"], Value::Null);
    assert!(
        !demo.read_lib().contains("mod tests"),
        "--json without --yes must not apply"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fenced_code_without_a_tool_call_is_used_as_the_candidate() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::text(&format!(
        "Here you go:\n```rust\n{PASSES}```\n"
    )));

    let run = kiln(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stderr.contains("code block, not a tool call"),
        "{}",
        run.describe()
    );
    assert!(demo.read_lib().contains("fn percent_rounds_to_nearest()"));
}
