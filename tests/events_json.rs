//! `--message-format json` end to end: the real kiln binary against the scripted server, with
//! real cargo in the real sandbox. Every stdout line must match assets/events.schema.json, in
//! the order the run happened, ending with the summary, also when a signal stops the run; and
//! the summary's cost per result must be the run's spend divided by what it kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{
    kiln_with_env, DemoCrate, KilnHomes, Reply, ReplyOptions, Run, ScriptedServer, MEAN_FLOOR_TESTS,
};

/// A candidate whose test does not compile.
const DOES_NOT_COMPILE: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_one_two() {
        assert_eq!(mean_floor(&[1, 2]), Some(undefined_expected_value));
    }
}
";

/// A candidate whose test prints a terminal escape (OSC 52: set the clipboard) and then fails:
/// the failure message that reaches the event lines is sandbox output.
const FAILS_PRINTING_AN_ESCAPE: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_one_two() {
        println!(\"\\x1b]52;c;aGk=\\x07\");
        assert_eq!(mean_floor(&[1, 2]), Some(2));
    }
}
";

/// Prices for both tiers the run may use, so its spend is known in dollars.
const PRICES: &str = "[tiers.mini]\nmodel = \"gpt-5.4-mini\"\nprice_in_per_mtok = 2.0\nprice_out_per_mtok = 8.0\n\
                      [tiers.full]\nmodel = \"gpt-5.4\"\nprice_in_per_mtok = 5.0\nprice_out_per_mtok = 20.0\n";

fn schema() -> (boon::Schemas, boon::SchemaIndex) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/events.schema.json");
    let mut schemas = boon::Schemas::new();
    let index = boon::Compiler::new()
        .compile(path, &mut schemas)
        .unwrap_or_else(|e| panic!("the schema does not compile: {e:#}"));
    (schemas, index)
}

/// Every stdout line parsed and checked against the schema; panics naming the first that is
/// not JSON or does not match.
fn checked_lines(run: &Run) -> Vec<Value> {
    let (schemas, index) = schema();
    assert!(!run.stdout.is_empty(), "no lines:\n{}", run.describe());
    run.stdout
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{}", run.describe()));
            if let Err(e) = schemas.validate(&value, index) {
                panic!("a line does not match the schema: {e:#}\n{line}");
            }
            value
        })
        .collect()
}

/// Every string in `value`, keys included.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.as_str()).chain(strings(v)))
            .collect(),
        _ => Vec::new(),
    }
}

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

/// A model that first sends JSON with raw newlines (kiln repairs it) around a test that does not
/// compile, then a test that fails, then a good one (after the escalation to full): every line
/// of the run matches the schema, in order, and the summary's cost per kept test is its spend
/// over the tests it kept.
#[tokio::test(flavor = "multi_thread")]
async fn every_line_of_a_run_with_repairs_matches_the_schema_in_the_order_it_happened() {
    let demo = DemoCrate::new();
    let config = demo.write("kiln.toml", PRICES);
    let server = ScriptedServer::start().await;
    let raw_newlines = format!(
        "{{\"code\": \"{}\"}}",
        DOES_NOT_COMPILE.replace('"', "\\\"")
    );
    assert!(serde_json::from_str::<Value>(&raw_newlines).is_err());
    server.push(Reply::tool_call("run_code", &raw_newlines));
    server.push(Reply::tool_code(FAILS_PRINTING_AN_ESCAPE));
    server.push(Reply::tool_code(MEAN_FLOOR_TESTS));

    let lib = demo.lib_rs();
    let run = kiln_with_env(
        &server.base_url(),
        &[
            "gen-tests",
            lib.to_str().unwrap(),
            "--fn",
            "mean_floor",
            "--message-format",
            "json",
            "--yes",
        ],
        &[("KILN_CONFIG", config.to_str().unwrap())],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let lines = checked_lines(&run);

    assert_eq!(lines[0]["type"], "start", "{}", run.stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary", "{}", run.stdout);
    assert_eq!(summary["outcome"], "applied", "{summary:#}");
    assert_eq!(of_type(&lines, "summary").len(), 1);
    assert!(demo.read_lib().contains("fn mean_of_one_two()"), "applied");

    // The steps of the run, in order, with what each found.
    let steps: Vec<Value> = lines
        .iter()
        .filter_map(|l| match l["type"].as_str().unwrap() {
            "attempt" => Some(json!(["attempt", l["attempt"], l["tier"]])),
            "reply" => Some(json!(["reply", l["answer"], l["tool_call"]])),
            "escalation" => Some(json!(["escalation", l["from"], l["to"]])),
            "sandbox_finish" => Some(json!(["sandbox_finish", l["outcome"]])),
            "proposal" => Some(json!(["proposal"])),
            "summary" => Some(json!(["summary"])),
            _ => None,
        })
        .collect();
    let expected = [
        json!(["attempt", 1, "mini"]),
        json!(["reply", "tool_call", "repaired"]),
        json!(["sandbox_finish", "build_failed"]),
        json!(["attempt", 2, "mini"]),
        json!(["reply", "tool_call", "well_formed"]),
        json!(["sandbox_finish", "tests_failed"]),
        json!(["escalation", "mini", "full"]),
        json!(["attempt", 3, "full"]),
        json!(["reply", "tool_call", "well_formed"]),
        json!(["sandbox_finish", "passed"]),
        json!(["proposal"]),
        json!(["summary"]),
    ];
    pretty_assertions::assert_eq!(steps, expected, "{}", run.stdout);
    let repaired = &of_type(&lines, "reply")[0];
    assert_eq!(
        repaired["detail"], "escaped raw control characters",
        "{repaired}"
    );
    // Each reply is followed by its usage, each sandbox run starts before it finishes.
    for (i, line) in lines.iter().enumerate() {
        if line["type"] == "reply" {
            assert_eq!(lines[i + 1]["type"], "usage", "{}", run.stdout);
        }
    }
    assert_eq!(of_type(&lines, "sandbox_start").len(), 3, "{}", run.stdout);
    let purposes: std::collections::BTreeSet<&str> = of_type(&lines, "sandbox_run")
        .iter()
        .map(|r| r["purpose"].as_str().unwrap())
        .collect();
    assert!(
        ["untouched", "candidate", "rerun", "mutant_round"]
            .iter()
            .all(|p| purposes.contains(p)),
        "{purposes:?}"
    );
    assert_eq!(of_type(&lines, "first_token").len(), 3, "{}", run.stdout);
    let proposal = of_type(&lines, "proposal")[0];
    assert_eq!(proposal["file"], "src/lib.rs");
    assert_eq!(proposal["diff"], summary["diff"]);

    // The escape the failing test printed arrives neutralised: shown, not obeyed.
    let failed = &of_type(&lines, "sandbox_finish")[1]["failures"][0]["message"];
    assert!(
        failed.as_str().unwrap().contains("\\u{1b}]52;c;aGk=\\u{7}"),
        "{failed}"
    );
    for line in &lines {
        for text in strings(line) {
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "a raw control character in {line}"
            );
        }
    }

    // The usage lines add up to the summary's spend, and cost per kept test is that spend over
    // the tests kept, as the text line on stderr says too.
    let tiers = summary["tiers"].as_object().unwrap();
    let spent: f64 = tiers
        .values()
        .map(|t| t["cost_usd"].as_f64().unwrap())
        .sum();
    let from_lines: f64 = of_type(&lines, "usage")
        .iter()
        .map(|u| u["cost_usd"].as_f64().unwrap())
        .sum();
    assert!(
        (spent - from_lines).abs() < 1e-12,
        "{spent} vs {from_lines}"
    );
    let kept: std::collections::BTreeSet<&str> = summary["validation"]["functions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["kept"].as_array().unwrap())
        .map(|name| name.as_str().unwrap())
        .collect();
    let per_result = &summary["per_result"];
    let per_test = &per_result["kept_tests"];
    assert_eq!(per_test["count"], kept.len(), "{per_result:#}");
    let each = per_test["usd_each"].as_f64().unwrap();
    assert!(
        spent > 0.0 && (each - spent / kept.len() as f64).abs() < 1e-12,
        "{each} per test, {spent} over {} kept: {per_result:#}",
        kept.len()
    );
    assert_eq!(per_result["applied_hunks"]["count"], 1, "{per_result:#}");
    let caught: u64 = summary["validation"]["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["mutants_caught"].as_u64().unwrap())
        .sum();
    assert!(caught > 0, "{summary:#}");
    assert_eq!(per_result["caught_mutants"]["count"], caught);
    let text = cost_per_result_line(&run);
    assert!(
        text.contains(&format!("${each:.4} per kept test ({} kept)", kept.len())),
        "{text}"
    );
}

/// The stderr line that words the cost per result.
fn cost_per_result_line(run: &Run) -> String {
    run.stderr
        .lines()
        .find(|l| l.starts_with("kiln: cost per result"))
        .unwrap_or_else(|| panic!("no cost per result:\n{}", run.describe()))
        .to_string()
}

/// `kiln gen-tests --fn mean_floor --dry-run` on `demo` with `output`'s flags, against a model
/// that answers with good tests at once.
async fn dry_run_of_good_tests(demo: &DemoCrate, output: &[&str]) -> Run {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(MEAN_FLOOR_TESTS));
    let lib = demo.lib_rs();
    let mut args = vec![
        "gen-tests",
        lib.to_str().unwrap(),
        "--fn",
        "mean_floor",
        "--dry-run",
    ];
    args.extend_from_slice(output);
    kiln_with_env(&server.base_url(), &args, &[]).await
}

/// Without prices the cost per result is in tokens: the run's tokens over the tests kept; and
/// a dry run applied no hunk, which is said rather than divided by.
#[tokio::test(flavor = "multi_thread")]
async fn without_prices_the_cost_per_result_is_in_tokens() {
    let run = dry_run_of_good_tests(&DemoCrate::new(), &["--json"]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    let mini = &result["tiers"]["mini"];
    let tokens =
        mini["prompt_tokens"].as_u64().unwrap() + mini["completion_tokens"].as_u64().unwrap();
    let per_result = &result["per_result"];
    assert_eq!(per_result["spent_usd"], Value::Null, "{per_result:#}");
    assert_eq!(per_result["spent_tokens"], tokens, "{per_result:#}");
    let per_test = &per_result["kept_tests"];
    assert_eq!(per_test["count"], 1, "{per_result:#}");
    assert_eq!(per_test["usd_each"], Value::Null, "{per_result:#}");
    assert_eq!(per_test["tokens_each"].as_f64(), Some(tokens as f64));
    assert_eq!(
        per_result["applied_hunks"],
        json!({"count": 0, "usd_each": null, "tokens_each": null})
    );
    let text = cost_per_result_line(&run);
    assert!(
        text.starts_with("kiln: cost per result: ")
            && text.contains(" tokens per kept test (1 kept)")
            && text.ends_with(" · no hunk applied")
            && !text.contains('$'),
        "{text}"
    );
}

/// The demo with 300 KB more source (`src/bulk.rs`): as big as a crate whose mutants are built
/// ahead.
fn big_demo() -> DemoCrate {
    let demo = DemoCrate::new();
    let lib = demo.read_lib();
    let bulk: String = (0..3_000)
        .map(|i| format!("pub const BULK_{i}: &str = \"{}\";\n", ".".repeat(80)))
        .collect();
    demo.write("src/bulk.rs", &bulk);
    demo.write("src/lib.rs", &format!("{lib}\nmod bulk;\n"));
    demo
}

/// In a crate big enough (here the demo with 300 KB more source), the mutant build is made
/// beside the passing candidate's build and re-runs, in a copy of its own: by the time the
/// mutant build's run comes, nothing is left for it to compile. (Made after the re-runs, as
/// before, that run compiled the crate again with the mutants in it.) The demo alone is too
/// small for a build beside its candidate's to pay.
#[tokio::test(flavor = "multi_thread")]
async fn the_mutant_build_is_made_ahead_and_its_run_compiles_nothing() {
    let run = dry_run_of_good_tests(&big_demo(), &["--message-format", "json"]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let lines = checked_lines(&run);
    let purposes: Vec<&str> = of_type(&lines, "sandbox_run")
        .iter()
        .map(|l| l["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes
            .iter()
            .filter(|p| **p == "mutant_build_ahead")
            .count(),
        1,
        "{purposes:?}"
    );
    let last_rerun = lines
        .iter()
        .rposition(|l| l["type"] == "sandbox_run" && l["purpose"] == "rerun")
        .unwrap_or_else(|| panic!("no re-run: {purposes:?}"));
    let mutant_build = lines
        .iter()
        .position(|l| l["type"] == "sandbox_run" && l["purpose"] == "mutant_build")
        .unwrap_or_else(|| panic!("no mutant build: {purposes:?}"));
    assert!(last_rerun < mutant_build, "{purposes:?}");
    let compiled: Vec<&Value> = lines[last_rerun..mutant_build]
        .iter()
        .filter(|l| l["type"] == "compiling")
        .collect();
    assert!(
        compiled.is_empty(),
        "the mutant build compiled: {compiled:?}"
    );
    // The mutants still ran and judged the test.
    assert!(purposes.contains(&"mutant_round"), "{purposes:?}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["outcome"], "proposed", "{summary:#}");
}

/// kiln started with `args` against `server`, returned once its first request came in.
async fn started_until_it_asks(
    homes: &KilnHomes,
    server: &ScriptedServer,
    args: &[&str],
) -> tokio::process::Child {
    let kiln = homes
        .command(&server.base_url(), args, &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let asked = tokio::time::timeout(Duration::from_secs(240), async {
        while server.chat_requests().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(asked.is_ok(), "kiln never asked the model");
    kiln
}

/// What a started kiln printed, once it ends; panics if it runs longer than `secs`.
async fn ended_within(kiln: tokio::process::Child, secs: u64) -> Run {
    tokio::time::timeout(Duration::from_secs(secs), kiln.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kiln did not end within {secs} s"))
        .unwrap()
        .into()
}

/// A file saved while the model answers (after the candidates' copy was made, before the
/// mutants' copy is): the mutants' copy would be of another tree, so it is not used, and the
/// mutants build and run in the candidates' copy as in a small crate.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_saved_during_the_run_keeps_the_mutants_in_the_candidates_copy() {
    let demo = big_demo();
    let server = ScriptedServer::start().await;
    let slow = ReplyOptions {
        delay_ms_before_first_byte: 3_000,
        ..ReplyOptions::default()
    };
    server.push_with(Reply::tool_code(MEAN_FLOOR_TESTS), slow);
    let lib = demo.lib_rs();
    let bulk = lib.with_file_name("bulk.rs");
    let args = [
        "gen-tests",
        lib.to_str().unwrap(),
        "--fn",
        "mean_floor",
        "--dry-run",
        "--message-format",
        "json",
    ];
    let homes = KilnHomes::new();
    // The request comes after the candidates' copy is made.
    let kiln = started_until_it_asks(&homes, &server, &args).await;
    let saved_later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&bulk)
        .unwrap()
        .set_modified(saved_later)
        .unwrap();
    let run = ended_within(kiln, 240).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let lines = checked_lines(&run);
    let purposes: Vec<&str> = of_type(&lines, "sandbox_run")
        .iter()
        .map(|l| l["purpose"].as_str().unwrap())
        .collect();
    assert!(!purposes.contains(&"mutant_build_ahead"), "{purposes:?}");
    assert!(
        purposes.contains(&"mutant_build") && purposes.contains(&"mutant_round"),
        "{purposes:?}"
    );
    assert_eq!(
        lines.last().unwrap()["outcome"],
        "proposed",
        "{}",
        run.stdout
    );
}

/// SIGINT while the model is still answering: the stream still ends with the summary, whose
/// outcome is `interrupted`, and nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_still_ends_the_stream_with_its_summary() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    let slow = ReplyOptions {
        delay_ms_before_first_byte: 120_000,
        ..ReplyOptions::default()
    };
    server.push_with(Reply::tool_code(MEAN_FLOOR_TESTS), slow);
    let homes = KilnHomes::new();
    let lib = demo.lib_rs();
    let args = [
        "gen-tests",
        lib.to_str().unwrap(),
        "--message-format",
        "json",
        "--yes",
    ];
    let kiln = started_until_it_asks(&homes, &server, &args).await;
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &kiln.id().unwrap().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let run = ended_within(kiln, 60).await;
    assert_eq!(run.code, Some(130), "{}", run.describe());
    let lines = checked_lines(&run);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"start"), "{}", run.stdout);
    assert!(types.contains(&"attempt"), "{}", run.stdout);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "summary", "{}", run.stdout);
    assert_eq!(last["outcome"], "interrupted", "{last:#}");
    assert_eq!(last["message"], "interrupted; nothing was written");
    assert_eq!(
        demo.read_lib(),
        std::fs::read_to_string("assets/demo/src/lib.rs").unwrap()
    );
}

/// The schema is strict enough to catch a wrong line: a valid one passes, and each way of
/// breaking it (an unknown type, a missing field, a field of the wrong type, an extra field, a
/// tool-call outcome on an answer that had no tool call) is rejected.
#[test]
fn the_schema_rejects_lines_kiln_must_not_write() {
    let (schemas, index) = schema();
    let valid = json!({
        "type": "reply",
        "answer": "tool_call",
        "tool_call": "repaired",
        "detail": "removed trailing commas",
        "first_token_ms": 12,
        "part": {"index": 0, "total": 2}
    });
    assert!(schemas.validate(&valid, index).is_ok());
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut line = valid.clone();
        change(&mut line);
        line
    };
    for wrong in [
        broken(&|l| l["type"] = json!("replied")),
        broken(&|l| {
            l.as_object_mut().unwrap().remove("detail");
        }),
        broken(&|l| l["first_token_ms"] = json!("12")),
        broken(&|l| l["tokens"] = json!(5)),
        broken(&|l| l["answer"] = json!("fenced_code")),
        broken(&|l| l["part"] = json!({"index": -1, "total": 2})),
        json!({"outcome": "applied"}),
    ] {
        assert!(
            schemas.validate(&wrong, index).is_err(),
            "accepted a wrong line: {wrong}"
        );
    }
}
