//! The loop's handling of small-model failure modes, tiers and budgets, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use kiln::config::WireApi;
use serde_json::Value;
use support::{
    kiln, kiln_with_env, last_message, DemoCrate, Reply, ReplyOptions, Run, ScriptedServer,
};

const SPLIT_TEST: &str = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn splits() { assert_eq!(split_fields(\"a, ,b\"), vec![\"a\", \"b\"]); }\n}\n";
const WRONG_SPLIT_TEST: &str = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn splits() { assert_eq!(split_fields(\"a,b\"), vec![\"b\"]); }\n}\n";

#[tokio::test(flavor = "multi_thread")]
async fn broken_tool_json_and_unknown_tools_go_back_as_tool_errors() {
    let demo = DemoCrate::new();
    let before = demo.read_lib();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_call("run_code", "{\"code\": \"fn a("));
    server.push(Reply::tool_call(
        "execute_python",
        "{\"code\": \"print(1)\"}",
    ));
    server.push(Reply::tool_code(SPLIT_TEST));
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--fn",
            "split_fields",
            "--json",
            "--tier",
            "mini",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let requests = server.chat_requests();
    assert_eq!(
        requests[1]["messages"].as_array().unwrap().last().unwrap()["role"],
        "tool"
    );
    assert!(last_message(&requests[1]).contains("\"required\":[\"code\"]"));
    assert!(last_message(&requests[2]).contains("no tool named `execute_python`"));
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    let mini = &result["tiers"]["mini"];
    assert_eq!(mini["tool_calls_rejected"], 2);
    assert_eq!(mini["tool_calls_well_formed"], 1);
    assert_eq!(
        demo.read_lib(),
        before,
        "--json without --yes writes nothing"
    );
}

/// The last thing a request told the model, and how: a user message, or a tool's answer.
fn feedback(wire: WireApi, request: &Value) -> (&'static str, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    match wire {
        WireApi::Chat => {
            let last = request["messages"].as_array().unwrap().last().unwrap();
            let how = if last["role"] == "tool" {
                "tool"
            } else {
                "user"
            };
            (how, text(&last["content"]))
        }
        WireApi::Responses => {
            let last = request["input"].as_array().unwrap().last().unwrap();
            match last["type"].as_str() {
                Some("function_call_output") => ("tool", text(&last["output"])),
                _ => ("user", text(&last["content"])),
            }
        }
    }
}

/// A reply with no tool call and no code, then a call whose arguments cannot be read: on either
/// wire each gets its feedback the same way (a user message; the tool's answer with the schema)
/// and the same count, and the run goes on to pass.
async fn prose_and_broken_arguments_get_the_same_feedback_on_both_wires(wire: WireApi) {
    let demo = DemoCrate::new();
    demo.write(
        "kiln.toml",
        &format!("[tiers.mini]\nwire_api = \"{}\"\n", wire.name()),
    );
    let server = ScriptedServer::start().await;
    server.push(Reply::text("I cannot do that."));
    server.push(Reply::tool_call("run_code", "{\"code\": \"fn a("));
    server.push(Reply::tool_code(SPLIT_TEST));
    let lib = demo.lib_rs();
    let args = [
        "gen-tests",
        lib.to_str().unwrap(),
        "--fn",
        "split_fields",
        "--json",
        "--tier",
        "mini",
    ];
    let run = kiln(&server.base_url(), &args).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let requests = server.model_requests();
    assert_eq!(requests.len(), 3, "{}", run.describe());
    let (how, text) = feedback(wire, &requests[1]);
    assert_eq!(how, "user", "{}", requests[1]);
    assert!(
        text.contains("did not contain a `run_code` tool call"),
        "{text}"
    );
    let (how, text) = feedback(wire, &requests[2]);
    assert_eq!(how, "tool", "{}", requests[2]);
    assert!(text.contains("\"required\":[\"code\"]"), "{text}");
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    let mini = &result["tiers"]["mini"];
    assert_eq!(
        [
            &mini["no_tool_call"],
            &mini["tool_calls_rejected"],
            &mini["tool_calls_well_formed"]
        ],
        [1, 1, 1],
        "{result:#}"
    );
}
on_both_wires!(
    #[tokio::test(flavor = "multi_thread")]
    prose_and_broken_arguments_get_the_same_feedback_on_both_wires
);

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_on_mini_escalate_to_full_with_a_summary() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(WRONG_SPLIT_TEST));
    server.push(Reply::tool_code(WRONG_SPLIT_TEST));
    server.push(Reply::tool_code(SPLIT_TEST));
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--fn",
            "split_fields",
            "--json",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let requests = server.chat_requests();
    assert_eq!(
        server.chat_models(),
        ["gpt-5.4-mini", "gpt-5.4-mini", "gpt-5.4"]
    );
    let escalated = &requests[2]["messages"];
    assert_eq!(
        escalated.as_array().unwrap().len(),
        3,
        "system, task, summary: not mini's transcript"
    );
    let summary = last_message(&requests[2]);
    assert!(
        summary.contains("attempt 1 (mini)") && summary.contains("attempt 2 (mini)"),
        "{summary}"
    );
    assert!(
        summary.contains("splits"),
        "the last failure is included: {summary}"
    );
    assert!(
        run.stderr.contains("escalating from mini to full after 2"),
        "{}",
        run.describe()
    );
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["tiers"]["mini"]["requests"], 2);
    assert_eq!(result["tiers"]["full"]["requests"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pinned_tier_never_escalates() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    for _ in 0..3 {
        server.push(Reply::tool_code(WRONG_SPLIT_TEST));
    }
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--fn",
            "split_fields",
            "--tier",
            "mini",
            "--max-attempts",
            "3",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(server
        .chat_requests()
        .iter()
        .all(|r| r["model"] == "gpt-5.4-mini"));
    assert!(
        run.stderr.contains("left: [\"a\", \"b\"]") || run.stderr.contains("splits"),
        "{}",
        run.describe()
    );
}

/// gen-tests for `split_fields` with `--max-cost 0.5` under `config`, which prices a prompt
/// token at a dollar, against a server that answers a wrong test then a right one with `opts`:
/// the run, and how many requests the server saw.
async fn split_fields_under_budget(config: &Path, opts: ReplyOptions) -> (Run, usize) {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push_with(Reply::tool_code(WRONG_SPLIT_TEST), opts.clone());
    server.push_with(Reply::tool_code(SPLIT_TEST), opts);
    let run = kiln_with_env(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--fn",
            "split_fields",
            "--max-cost",
            "0.5",
        ],
        &[("KILN_CONFIG", config.to_str().unwrap())],
    )
    .await;
    (run, server.chat_requests().len())
}

#[tokio::test(flavor = "multi_thread")]
async fn max_cost_stops_before_the_next_request() {
    let demo = DemoCrate::new();
    let config = demo.write(
        "kiln.toml",
        "[tiers.mini]\nmodel = \"gpt-5.4-mini\"\nprice_in_per_mtok = 1000000.0\nprice_out_per_mtok = 0.0\n\
         [tiers.full]\nmodel = \"gpt-5.4\"\nprice_in_per_mtok = 1000000.0\nprice_out_per_mtok = 0.0\n",
    );
    let (run, requests) = split_fields_under_budget(&config, ReplyOptions::default()).await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stderr.contains("(--max-cost)"), "{}", run.describe());
    // The plan's token figure is always an estimate; the spend is what the server reported.
    let usage_line = run
        .stderr
        .lines()
        .find(|line| line.contains("request(s)"))
        .unwrap_or_default();
    assert!(
        usage_line.contains(" in / ")
            && !usage_line.contains('~')
            && !usage_line.contains("estimated"),
        "{}",
        run.describe()
    );
    assert!(
        !run.stderr.contains("(estimated) (--max-cost)"),
        "{}",
        run.describe()
    );
    assert_eq!(requests, 1, "the budget was spent by the first reply");

    // A server that reports no usage: the budget counts kiln's estimate, and says so.
    let no_usage = ReplyOptions {
        omit_usage: true,
        ..ReplyOptions::default()
    };
    let (run, requests) = split_fields_under_budget(&config, no_usage).await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert_eq!(
        requests,
        1,
        "the estimated cost of the first reply spent the budget: {}",
        run.describe()
    );
    assert!(
        run.stderr.contains("stopped at ~$") && run.stderr.contains("(estimated) (--max-cost)"),
        "{}",
        run.describe()
    );

    let plain = DemoCrate::new();
    let server = ScriptedServer::start().await;
    let unpriced = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            plain.lib_rs().to_str().unwrap(),
            "--max-cost",
            "1",
        ],
    )
    .await;
    assert_eq!(unpriced.code, Some(2), "{}", unpriced.describe());
    assert!(
        unpriced.stderr.contains("price_in_per_mtok"),
        "{}",
        unpriced.describe()
    );
}
