//! End to end: the real kiln binary, the real async-openai client over HTTP to a scripted server,
//! and real cargo in a real sandbox, on a temp copy of `assets/demo`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{
    cargo_test, kiln, kiln_json, kiln_with_env, message_text, o200k_completion_tokens,
    o200k_prompt_tokens, DemoCrate, Reply, ReplyOptions, ScriptedServer,
};

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

/// `counted` is within 10% of what the server's tokenizer saw.
fn assert_near(what: &str, counted: u64, server: u64, result: &Value) {
    let off = counted.abs_diff(server) as f64 / server as f64;
    eprintln!("{what}: kiln {counted}, server {server}");
    assert!(
        server > 0 && off <= 0.10,
        "{what}: kiln counted {counted}, the server's tokenizer {server} ({:.0}% off)\n{result:#}",
        off * 100.0
    );
}

/// A server that sends no usage (llama-cpp-python, several proxies): kiln counts the tokens
/// itself, near what the server's own o200k count of the same messages and tools gives, and
/// says everywhere that they are estimated rather than showing zeros.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_a_server_does_not_report_are_estimated_and_labelled() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    let no_usage = ReplyOptions {
        omit_usage: true,
        ..ReplyOptions::default()
    };
    let replies = [
        Reply::text("Sure! I will write tests for these functions."),
        Reply::tool_code(PASSES),
    ];
    for reply in &replies {
        server.push_with(reply.clone(), no_usage.clone());
    }

    let (run, result) = kiln_json(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap()],
    )
    .await;
    let mini = &result["tiers"]["mini"];
    assert_eq!(mini["requests"], 2, "{result:#}");
    assert_eq!(mini["usage_source"], "estimated", "{result:#}");
    let per_request = mini["per_request"].as_array().unwrap();
    assert_eq!(per_request.len(), 2, "{result:#}");
    assert!(
        per_request.iter().all(|r| r["usage_source"] == "estimated"),
        "{result:#}"
    );
    let sent = server.chat_requests();
    assert_eq!(sent.len(), 2);
    assert_near(
        "prompt tokens",
        mini["prompt_tokens"].as_u64().unwrap(),
        sent.iter().map(o200k_prompt_tokens).sum(),
        &result,
    );
    assert_near(
        "completion tokens",
        mini["completion_tokens"].as_u64().unwrap(),
        replies.iter().map(o200k_completion_tokens).sum(),
        &result,
    );
    assert_near(
        "the second request's prompt",
        per_request[1]["prompt_tokens"].as_u64().unwrap(),
        o200k_prompt_tokens(&sent[1]),
        &result,
    );
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("request(s)"))
        .unwrap_or_default();
    assert!(
        line.contains("in / ~")
            && line.contains("out tokens (estimated)")
            && line.contains(": 2 request(s), ~"),
        "the usage line labels the estimate: {}",
        run.describe()
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
    assert_eq!(mini["usage_source"], "server", "{result}");
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

/// The summary says where the time went, per kind of sandbox run, from the sandbox's own
/// clocks: one failing candidate and one passing one, its re-runs, the mutants.
#[tokio::test(flavor = "multi_thread")]
async fn json_says_where_the_time_went() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(FAILS_AN_ASSERTION));
    server.push(Reply::tool_code(PASSES));
    let started = std::time::Instant::now();
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--fn",
            "mean_floor",
            "--json",
        ],
    )
    .await;
    let wall_ms = started.elapsed().as_millis() as u64;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    let timings = &result["timings"];
    let runs = |purpose: &str| timings["runs"][purpose]["runs"].as_u64().unwrap_or(0);
    assert_eq!(runs("candidate"), 2, "{timings:#}");
    assert_eq!(runs("rerun"), 3, "{timings:#}");
    assert!(runs("mutant_build") >= 1, "{timings:#}");
    assert!(runs("mutant_round") >= 1, "{timings:#}");
    // The demo is too small for its mutants to be built ahead (see events_json.rs).
    assert_eq!(runs("mutant_build_ahead"), 0, "{timings:#}");
    let mut sandbox_ms = timings["copy_ms"].as_u64().expect("the copy is timed");
    for (purpose, times) in timings["runs"].as_object().unwrap() {
        let (ms, build_ms) = (
            times["ms"].as_u64().unwrap(),
            times["build_ms"].as_u64().unwrap(),
        );
        assert!(build_ms <= ms, "{purpose}: {times}");
        // The build ahead ran beside the candidate's runs: its time is theirs too.
        if purpose != "mutant_build_ahead" {
            sandbox_ms += ms;
        }
    }
    assert!(
        timings["runs"]["candidate"]["build_ms"].as_u64().unwrap() > 0,
        "{timings:#}"
    );
    assert!(sandbox_ms <= wall_ms, "{sandbox_ms} ms of {wall_ms} ms");
    assert!(timings["kiln_cpu_ms"].is_u64(), "{timings:#}");
    assert!(
        run.stderr.contains("kiln: time in the sandbox ")
            && run.stderr.contains("candidate 2 runs")
            && run.stderr.contains("re-runs 3 runs"),
        "{}",
        run.describe()
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

/// Where the shared build cache records which untouched copies built (one per crate).
fn untouched_build_record(cache: &std::path::Path) -> std::path::PathBuf {
    let crates: Vec<_> = std::fs::read_dir(cache.join("target"))
        .unwrap()
        .map(|e| e.unwrap().path().join(".kiln-untouched-builds"))
        .filter(|record| record.is_file())
        .collect();
    assert_eq!(crates.len(), 1, "{crates:?}");
    crates[0].clone()
}

fn first_chat_request_at(server: &ScriptedServer) -> std::time::SystemTime {
    server
        .requests()
        .into_iter()
        .find(|r| r.path.contains("chat/completions"))
        .unwrap()
        .received_at
}

/// The untouched build goes before the first request the first time (a crate that does not build
/// costs no request), and beside it once that exact copy is known to build: the request then
/// reaches the server before the build has ended (the cache's record is rewritten at its end).
#[tokio::test(flavor = "multi_thread")]
async fn a_crate_known_to_build_is_built_beside_the_first_request() {
    let demo = DemoCrate::new();
    let cache = tempfile::tempdir().unwrap();
    let env = [("KILN_CACHE_DIR", cache.path().to_str().unwrap())];
    let lib = demo.lib_rs();
    let args = ["gen-tests", lib.to_str().unwrap(), "--dry-run"];

    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(PASSES));
    let run = kiln_with_env(&server.base_url(), &args, &env).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let record = untouched_build_record(cache.path());
    let built = std::fs::metadata(&record).unwrap().modified().unwrap();
    assert!(
        built <= first_chat_request_at(&server),
        "the first time, the build ends before the request"
    );

    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(PASSES));
    let run = kiln_with_env(&server.base_url(), &args, &env).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run.stdout.contains("+mod tests {"), "{}", run.describe());
    let built = std::fs::metadata(&record).unwrap().modified().unwrap();
    assert!(
        first_chat_request_at(&server) < built,
        "the second time, the request went out while the build ran"
    );
}

/// `wire_api = "responses"` for mini: the same repair loop over the Responses API, repairing
/// twice. Each repair continues the kept reply (`previous_response_id`) and sends only the
/// tool's output for its call, never the conversation again; cached and reasoning tokens reach
/// `--json` and the usage line.
#[tokio::test(flavor = "multi_thread")]
async fn on_the_responses_api_repairs_continue_the_kept_reply() {
    let demo = DemoCrate::new();
    // Three rounds on mini: escalating would start afresh on full, with nothing to continue.
    demo.write(
        "kiln.toml",
        "escalate_after = 3\n[tiers.mini]\nwire_api = \"responses\"\n",
    );
    let server = ScriptedServer::start().await;
    for (round, code) in [DOES_NOT_COMPILE, FAILS_AN_ASSERTION, PASSES]
        .into_iter()
        .enumerate()
    {
        let round = round as u32;
        server.push_with(
            Reply::tool_code(code),
            ReplyOptions {
                usage: Some((2_000 + 100 * round, 300)),
                usage_details: Some((1_024 * round, 120)),
                ..ReplyOptions::default()
            },
        );
    }

    let (run, result) = kiln_json(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(result["outcome"], "applied", "{result:#}");
    assert_eq!(result["attempts"], 3, "{result:#}");
    assert!(server.chat_requests().is_empty(), "{}", run.describe());
    let sent = server.responses_requests();
    assert_eq!(sent.len(), 3, "{}", run.describe());

    let first = &sent[0];
    assert!(first.get("previous_response_id").is_none(), "{first}");
    assert_eq!(first["tools"][0]["name"], "run_code", "{first}");
    assert!(
        message_text_of_input(first).contains("mean_floor"),
        "{first}"
    );
    for (round, request) in sent.iter().enumerate().skip(1) {
        assert_eq!(
            request["previous_response_id"],
            support::response_id(round),
            "round {round} continues the reply before it: {request}"
        );
        let input = request["input"].as_array().unwrap();
        assert_eq!(input.len(), 1, "only the tool's output: {request}");
        assert_eq!(input[0]["type"], "function_call_output", "{request}");
        assert_eq!(input[0]["call_id"], format!("call_{round}"), "{request}");
    }
    let feedback = |round: usize| {
        sent[round]["input"][0]["output"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        feedback(1).contains("undefined_expected_value"),
        "{}",
        feedback(1)
    );
    assert!(feedback(2).contains("Some(34)"), "{}", feedback(2));
    assert!(
        !message_text_of_input(&sent[2]).contains("mean_floor(&[1, 2])"),
        "round 3 does not resend the earlier candidates: {}",
        sent[2]
    );

    let mini = &result["tiers"]["mini"];
    assert_eq!(mini["prompt_tokens"], 2_000 + 2_100 + 2_200, "{result:#}");
    assert_eq!(mini["cached_tokens"], 1_024 + 2_048, "{result:#}");
    assert_eq!(mini["reasoning_tokens"], 360, "{result:#}");
    assert_eq!(mini["per_request"][2]["cached_tokens"], 2_048, "{result:#}");
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("request(s)"))
        .unwrap_or_else(|| panic!("no usage line:\n{}", run.describe()));
    assert!(
        line.contains("3,072 cached") && line.contains("360 reasoning"),
        "{line}"
    );
    assert!(demo.read_lib().contains("fn percent_rounds_to_nearest()"));
}

/// Every text a Responses request carries in its input items, joined.
fn message_text_of_input(request: &Value) -> String {
    request["input"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let text = item["content"].as_str().or(item["output"].as_str());
            let arguments = item["arguments"].as_str();
            format!(
                "{}{}",
                text.unwrap_or_default(),
                arguments.unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
