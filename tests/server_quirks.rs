//! What real "OpenAI-compatible" servers and small models do, scripted: each quirk that the
//! real-model tier (tests/real_model.rs, llama-cpp-python + SmolLM2-135M) showed, reproduced
//! offline so it stays covered when that tier is not run. The empty streamed 200 is in
//! gen_tests_errors.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kiln::config::WireApi;
use serde_json::Value;
use support::{
    classify_falls_back_to_prompt_only_after, kiln_with_env, DemoCrate, Reply, ReplyOptions,
    ScriptedServer,
};

const PASSES: &str = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn splits() {\n        assert_eq!(split_fields(\"a, ,b\"), vec![\"a\", \"b\"]);\n    }\n}\n";
const FAILS: &str = "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn splits() {\n        assert_eq!(split_fields(\"a,b\"), vec![\"b\"]);\n    }\n}\n";

/// `kiln gen-tests --fn split_fields --dry-run --json` on a fresh demo crate; the demo's file
/// must come out unchanged. Returns the JSON result and the requests kiln sent.
async fn dry_run(server: &ScriptedServer) -> (Value, Vec<Value>) {
    dry_run_with_env(server, &[]).await
}

async fn dry_run_with_env(server: &ScriptedServer, env: &[(&str, &str)]) -> (Value, Vec<Value>) {
    let demo = DemoCrate::new();
    let before = demo.read_lib();
    let run = kiln_with_env(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--fn",
            "split_fields",
            "--dry-run",
            "--json",
        ],
        env,
    )
    .await;
    assert_eq!(demo.read_lib(), before);
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    let json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.describe()));
    (json, server.chat_requests())
}

/// The last message of a request: what kiln answered to the model's previous reply.
fn last_message(request: &Value) -> Value {
    request["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_name_repeated_in_every_streamed_chunk_is_read_once() {
    let server = ScriptedServer::start().await;
    let quirk = ReplyOptions {
        repeat_tool_name_in_every_chunk: true,
        chunk_chars: 5,
        ..ReplyOptions::default()
    };
    server.push_with(Reply::tool_code(FAILS), quirk.clone());
    server.push_with(Reply::tool_code(PASSES), quirk);

    let (json, requests) = dry_run(&server).await;
    assert_eq!(json["outcome"], "proposed", "{json}");
    assert_eq!(json["tiers"]["mini"]["tool_calls_well_formed"], 2, "{json}");
    assert_eq!(requests.len(), 2);
    // The echoed call carries the name once, or the server would see a call to
    // `run_coderun_code...` that has no tool.
    let echoed = &requests[1]["messages"].as_array().unwrap();
    let assistant = echoed.iter().rfind(|m| m["role"] == "assistant").unwrap();
    assert_eq!(
        assistant["tool_calls"][0]["function"]["name"], "run_code",
        "{assistant}"
    );
    assert_eq!(assistant["tool_calls"][0]["id"], "call_1", "{assistant}");
    assert_eq!(last_message(&requests[1])["tool_call_id"], "call_1");
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_newlines_in_arguments_are_repaired_and_counted() {
    let server = ScriptedServer::start().await;
    // What the model sends: a JSON object whose string holds unescaped newlines.
    let raw = format!("{{\"code\": \"{}\"}}", PASSES.replace('"', "\\\""));
    assert!(
        serde_json::from_str::<Value>(&raw).is_err(),
        "must be invalid JSON"
    );
    server.push(Reply::tool_call("run_code", &raw));

    let (json, _) = dry_run(&server).await;
    assert_eq!(json["outcome"], "proposed", "{json}");
    assert_eq!(json["tiers"]["mini"]["tool_calls_repaired"], 1, "{json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_code_argument_is_rejected_with_the_schema_and_the_run_goes_on() {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_call("run_code", r#"{"code": ""}"#));
    server.push(Reply::tool_code(PASSES));

    let (json, requests) = dry_run(&server).await;
    assert_eq!(json["outcome"], "proposed", "{json}");
    assert_eq!(json["tiers"]["mini"]["tool_calls_rejected"], 1, "{json}");
    assert_eq!(json["tiers"]["mini"]["tool_calls_well_formed"], 1, "{json}");
    let answer = last_message(&requests[1]);
    assert_eq!(answer["role"], "tool");
    assert!(
        answer["content"]
            .as_str()
            .unwrap()
            .contains("\"required\":[\"code\"]"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn echoed_tool_call_carries_a_content_field() {
    // llama-cpp-python's chatml-function-calling template reads `message.content` of every
    // assistant message with StrictUndefined: a tool-call echo without the key is an HTTP 500 on
    // every later turn.
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(FAILS));
    server.push(Reply::tool_code(PASSES));

    let (json, requests) = dry_run(&server).await;
    assert_eq!(json["outcome"], "proposed", "{json}");
    let messages = requests[1]["messages"].as_array().unwrap();
    let assistant = messages.iter().rfind(|m| m["role"] == "assistant").unwrap();
    assert!(
        assistant.get("content").is_some_and(Value::is_string),
        "{assistant}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_call_cut_off_at_the_length_limit_is_rejected_and_answered() {
    // A small model's code string runs on until max_tokens or the context ends: the arguments
    // stop mid-string and the chunk says finish_reason "length".
    let server = ScriptedServer::start().await;
    let cut = &serde_json::json!({ "code": PASSES }).to_string()[..40];
    server.push_with(
        Reply::tool_call("run_code", cut),
        ReplyOptions {
            finish_reason: Some("length".to_string()),
            ..ReplyOptions::default()
        },
    );
    server.push(Reply::tool_code(PASSES));

    let (json, requests) = dry_run(&server).await;
    assert_eq!(json["outcome"], "proposed", "{json}");
    assert_eq!(json["tiers"]["mini"]["tool_calls_rejected"], 1, "{json}");
    assert_eq!(requests.len(), 2);
    let answer = last_message(&requests[1]);
    assert_eq!(
        answer["role"], "tool",
        "the cut-off call still gets its answer"
    );
    assert_eq!(answer["tool_call_id"], "call_1");
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_are_capped_only_when_max_output_tokens_is_set() {
    // SmolLM2 behind llama-cpp-python can run on until the context is full (the server's default
    // is no cap); the next turn then overflows the context. KILN_MAX_OUTPUT_TOKENS bounds each
    // reply, as `max_tokens`, the field local servers read.
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(PASSES));
    let (_, requests) = dry_run(&server).await;
    assert!(requests[0].get("max_tokens").is_none(), "{}", requests[0]);

    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(PASSES));
    let (json, requests) = dry_run_with_env(&server, &[("KILN_MAX_OUTPUT_TOKENS", "512")]).await;
    assert_eq!(json["outcome"], "proposed", "{json}");
    assert_eq!(requests[0]["max_tokens"], 512);
}

/// llama-cpp-python 0.3.36 refuses `response_format` of type `json_schema` with an HTTP 500
/// (its request validation), not a 4xx. The nano gate must fall back to the prompt-only path at
/// once, without retrying a 500 that will never change, and remember it for the next question.
#[tokio::test]
async fn a_500_refusing_json_schema_sends_the_nano_gate_to_the_prompt_only_path_without_retries() {
    let rejection = Reply::http_error(
        500,
        "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), \
         'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}",
    );
    let sent = classify_falls_back_to_prompt_only_after(WireApi::Chat, rejection, "3").await;
    // A small model asked yes/no on the prompt-only path otherwise writes paragraphs.
    for request in &sent {
        assert!(
            request["max_tokens"].as_u64().is_some_and(|n| n <= 32),
            "{request}"
        );
    }
}
