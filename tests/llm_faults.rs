//! Fault injection at the model-server boundary: for each fault, the outcome, how many requests
//! it took, and (where a server asked for one) a lower bound on the wait. Each fault runs on both
//! wires (chat completions and the Responses API) through the same test body.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use kiln::config::{Tier, WireApi};
use kiln::llm::tools::{parse_run_code_args, run_code_tool, ArgsQuality, RUN_CODE};
use kiln::llm::{messages, ChatRequest, LlmClient, LlmError, LlmEvent, Reply as ModelReply};
use support::{
    classify_falls_back_to_prompt_only_after, llm_client, llm_client_on, Reply, ReplyOptions,
    ScriptedServer,
};

const CODE: &str = "#[test]\nfn t() { assert_eq!(1 + 1, 2); }";

async fn ask(llm: &LlmClient) -> (Result<ModelReply, LlmError>, Vec<LlmEvent>) {
    let conversation = vec![messages::user("write a test")];
    let tools = vec![run_code_tool("runs code")];
    let request = ChatRequest {
        tier: Tier::Mini,
        messages: &conversation,
        tools: &tools,
        force_tool: Some(RUN_CODE),
        previous: None,
    };
    let mut events = Vec::new();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        llm.chat(&request, &mut |e| events.push(e)),
    )
    .await
    .expect("a chat call must never hang");
    (result, events)
}

fn retries(events: &[LlmEvent]) -> Vec<Duration> {
    events
        .iter()
        .filter_map(|e| match e {
            LlmEvent::Retrying { delay, .. } => Some(*delay),
            _ => None,
        })
        .collect()
}

/// A good reply with `fault`, then the same reply whole, asked for with up to 2 retries and
/// `settings`: the reply kiln settles on and its events. Exactly two requests reached the
/// server.
async fn one_fault_then_a_good_reply(
    wire: WireApi,
    fault: ReplyOptions,
    settings: &[(&str, &str)],
) -> (ModelReply, Vec<LlmEvent>) {
    let server = ScriptedServer::start().await;
    server.push_with(Reply::tool_code(CODE), fault);
    server.push(Reply::tool_code(CODE));
    let mut settings = settings.to_vec();
    settings.push(("KILN_MAX_RETRIES", "2"));
    let llm = llm_client_on(wire, &server.base_url(), &settings);
    let (result, events) = ask(&llm).await;
    assert_eq!(server.model_requests().len(), 2, "{events:?}");
    (result.unwrap(), events)
}

fn code_of(reply: &ModelReply) -> String {
    let args: serde_json::Value = serde_json::from_str(&reply.tool_calls[0].arguments).unwrap();
    args["code"].as_str().unwrap().to_string()
}

async fn rate_limit_with_retry_after_waits_as_told_then_succeeds(wire: WireApi) {
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::rate_limit(),
        ReplyOptions {
            retry_after_secs: Some(1),
            ..ReplyOptions::default()
        },
    );
    server.push(Reply::tool_code(CODE));
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "2")]);
    let started = Instant::now();
    let (result, events) = ask(&llm).await;
    assert_eq!(code_of(&result.unwrap()), CODE);
    assert_eq!(
        retries(&events),
        vec![Duration::from_secs(1)],
        "Retry-After is honoured exactly"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.model_requests().len(), 2);
}

on_both_wires!(rate_limit_with_retry_after_waits_as_told_then_succeeds);

async fn rate_limit_message_hint_is_used_without_a_header(wire: WireApi) {
    let server = ScriptedServer::start().await;
    server.push(Reply::http_error(
        429,
        "Rate limit reached. Please try again in 300ms.",
    ));
    server.push(Reply::tool_code(CODE));
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "2")]);
    let (result, events) = ask(&llm).await;
    assert!(result.is_ok());
    assert_eq!(retries(&events), vec![Duration::from_millis(300)]);
}

on_both_wires!(rate_limit_message_hint_is_used_without_a_header);

async fn server_error_then_success(wire: WireApi) {
    let server = ScriptedServer::start().await;
    server.push(Reply::http_error(500, "boom"));
    server.push(Reply::tool_code(CODE));
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "2")]);
    let (result, events) = ask(&llm).await;
    assert_eq!(code_of(&result.unwrap()), CODE);
    assert_eq!(retries(&events).len(), 1);
    assert_eq!(server.model_requests().len(), 2);
}

on_both_wires!(server_error_then_success);

async fn retries_are_bounded_and_the_last_error_is_reported(wire: WireApi) {
    let server = ScriptedServer::start().await;
    for _ in 0..3 {
        server.push(Reply::http_error(503, "still down"));
    }
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "2")]);
    let (result, events) = ask(&llm).await;
    let err = result.unwrap_err();
    assert!(matches!(err, LlmError::Server { status: 503, .. }), "{err}");
    assert_eq!(retries(&events).len(), 2);
    assert_eq!(server.model_requests().len(), 3);
}

on_both_wires!(retries_are_bounded_and_the_last_error_is_reported);

async fn connection_dropped_mid_stream_is_retried(wire: WireApi) {
    let cut = ReplyOptions {
        truncate_after_events: Some(3),
        ..ReplyOptions::default()
    };
    let (reply, events) = one_fault_then_a_good_reply(wire, cut, &[]).await;
    assert_eq!(
        code_of(&reply),
        CODE,
        "the retry's whole reply, not the cut one"
    );
    assert_eq!(retries(&events).len(), 1);
}

on_both_wires!(connection_dropped_mid_stream_is_retried);

async fn a_garbage_sse_line_is_skipped_not_fatal(wire: WireApi) {
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::tool_code(CODE),
        ReplyOptions {
            garbage_event_before: Some(2),
            ..ReplyOptions::default()
        },
    );
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "0")]);
    let (result, events) = ask(&llm).await;
    assert_eq!(code_of(&result.unwrap()), CODE);
    assert!(events
        .iter()
        .any(|e| matches!(e, LlmEvent::BadChunkSkipped(_))));
    assert_eq!(server.model_requests().len(), 1);
}

on_both_wires!(a_garbage_sse_line_is_skipped_not_fatal);

async fn empty_choices_is_an_empty_reply_not_a_crash(wire: WireApi) {
    let server = ScriptedServer::start().await;
    server.push(Reply::NoChoices);
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "0")]);
    let (result, _) = ask(&llm).await;
    let reply = result.unwrap();
    assert!(reply.tool_calls.is_empty() && reply.content.is_empty());
}

on_both_wires!(empty_choices_is_an_empty_reply_not_a_crash);

async fn an_idle_stream_is_abandoned_and_retried(wire: WireApi) {
    let slow = ReplyOptions {
        delay_ms_between_chunks: 3_000,
        ..ReplyOptions::default()
    };
    let (reply, events) =
        one_fault_then_a_good_reply(wire, slow, &[("KILN_STREAM_IDLE_SECS", "1")]).await;
    assert_eq!(code_of(&reply), CODE);
    assert_eq!(retries(&events).len(), 1);
    assert!(events.iter().any(
        |e| matches!(e, LlmEvent::Retrying { reason, .. } if reason.contains("sent nothing for"))
    ));
}

on_both_wires!(an_idle_stream_is_abandoned_and_retried);

#[tokio::test]
async fn repeated_tool_names_in_every_chunk_are_assembled_once() {
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::tool_code(CODE),
        ReplyOptions {
            repeat_tool_name_in_every_chunk: true,
            ..ReplyOptions::default()
        },
    );
    let llm = llm_client(&server.base_url(), &[("KILN_MAX_RETRIES", "0")]);
    let reply = ask(&llm).await.0.unwrap();
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(reply.tool_calls[0].name, "run_code");
    assert_eq!(code_of(&reply), CODE);
}

async fn auth_and_not_found_are_not_retried_and_say_what_to_check(wire: WireApi) {
    for (status, check) in [(401, "Check the key"), (404, "Check the model name")] {
        let server = ScriptedServer::start().await;
        server.push(Reply::http_error(status, "nope"));
        let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "3")]);
        let (result, events) = ask(&llm).await;
        let message = result.unwrap_err().to_string();
        assert!(message.contains(check), "{status}: {message}");
        assert!(retries(&events).is_empty());
        assert_eq!(server.model_requests().len(), 1);
    }
}

on_both_wires!(auth_and_not_found_are_not_retried_and_say_what_to_check);

/// The nano gate asks on its tier's wire: the schema goes in `response_format` on chat and in
/// `text.format` on the Responses API.
async fn classify_uses_structured_output_and_falls_back_when_rejected(wire: WireApi) {
    let server = ScriptedServer::start().await;
    server.push(Reply::text("{\"answer\": \"no\"}"));
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "0")]);
    let answer = llm
        .classify(
            "Does `fn id(x: u8) -> u8 { x }` need tests?",
            &["yes", "no"],
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(answer.answer, "no");
    assert_eq!(answer.path, kiln::llm::ClassifyPath::StructuredOutput);
    let sent = &server.model_requests()[0];
    assert_eq!(sent["model"], "gpt-5.4-nano");
    let format = match wire {
        WireApi::Chat => {
            assert_eq!(sent["response_format"]["type"], "json_schema", "{sent}");
            &sent["response_format"]["json_schema"]
        }
        WireApi::Responses => {
            assert_eq!(sent["text"]["format"]["type"], "json_schema", "{sent}");
            assert_eq!(sent["max_output_tokens"], 32, "{sent}");
            &sent["text"]["format"]
        }
    };
    assert_eq!(
        format["schema"]["properties"]["answer"]["enum"][1], "no",
        "{sent}"
    );

    classify_falls_back_to_prompt_only_after(
        wire,
        Reply::http_error(400, "response_format json_schema is not supported"),
        "0",
    )
    .await;
}
on_both_wires!(classify_uses_structured_output_and_falls_back_when_rejected);

/// llama-cpp-python was seen cutting streams of the same request again and again; a third ask
/// would only repeat it, so the second cut reply goes on as it is.
async fn a_stream_cut_twice_is_taken_as_it_is_not_retried_forever(wire: WireApi) {
    let server = ScriptedServer::start().await;
    for _ in 0..2 {
        server.push_with(
            Reply::text("partial answer that goes on"),
            ReplyOptions {
                truncate_after_events: Some(3),
                ..ReplyOptions::default()
            },
        );
    }
    server.push(Reply::tool_code(CODE));
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "4")]);
    let (result, events) = ask(&llm).await;
    let reply = result.unwrap();
    assert!(reply.tool_calls.is_empty());
    assert!(
        reply.finish_reason.is_none(),
        "the partial reply is not passed off as complete"
    );
    assert!(!reply.content.is_empty());
    assert_eq!(retries(&events).len(), 1);
    assert_eq!(
        server.model_requests().len(),
        2,
        "the third reply was never asked for"
    );
}

on_both_wires!(a_stream_cut_twice_is_taken_as_it_is_not_retried_forever);

/// The request went to the endpoint of the wire under test, and only there.
async fn the_turn_goes_to_its_wires_endpoint(wire: WireApi) {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(CODE));
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "0")]);
    let reply = ask(&llm).await.0.unwrap();
    assert_eq!(code_of(&reply), CODE);
    let (chat, responses) = (server.chat_requests(), server.responses_requests());
    match wire {
        WireApi::Chat => assert_eq!((chat.len(), responses.len()), (1, 0)),
        WireApi::Responses => {
            assert_eq!((chat.len(), responses.len()), (0, 1));
            let sent = &responses[0];
            assert_eq!(sent["stream"], true);
            assert_eq!(sent["tools"][0]["name"], RUN_CODE, "{sent}");
            assert_eq!(sent["tool_choice"]["name"], RUN_CODE, "{sent}");
            assert_eq!(sent["input"][0]["content"], "write a test", "{sent}");
            assert_eq!(reply.response_id.as_deref(), Some("resp_1"));
        }
    }
}
on_both_wires!(the_turn_goes_to_its_wires_endpoint);

/// A reply the server ends as failed mid-stream (`response.failed` with `server_error`; on
/// chat, an error chunk where the end should be) is asked again, like any cut reply.
async fn a_reply_the_server_fails_midway_is_retried(wire: WireApi) {
    let failed = ReplyOptions {
        fail_with_code: Some("server_error".to_string()),
        ..ReplyOptions::default()
    };
    let (reply, events) = one_fault_then_a_good_reply(wire, failed, &[]).await;
    assert_eq!(code_of(&reply), CODE);
    assert_eq!(retries(&events).len(), 1, "{events:?}");
}
on_both_wires!(a_reply_the_server_fails_midway_is_retried);

/// Arguments a small model broke reach the lenient parser exactly as sent, whichever wire
/// carried them, and are repaired the same way.
async fn malformed_arguments_arrive_unchanged_and_are_repaired(wire: WireApi) {
    let broken = "{\"code\": \"#[test]\nfn t() {}\"}";
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_call(RUN_CODE, broken));
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "0")]);
    let reply = ask(&llm).await.0.unwrap();
    assert_eq!(reply.tool_calls[0].arguments, broken);
    let args = parse_run_code_args(&reply.tool_calls[0].arguments).unwrap();
    assert_eq!(args.code, "#[test]\nfn t() {}");
    assert_eq!(
        args.quality,
        ArgsQuality::Repaired("escaped raw control characters")
    );
}
on_both_wires!(malformed_arguments_arrive_unchanged_and_are_repaired);

/// Cached and reasoning tokens are read where each wire reports them.
async fn cached_and_reasoning_tokens_are_counted(wire: WireApi) {
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::tool_code(CODE),
        ReplyOptions {
            usage: Some((1_000, 300)),
            usage_details: Some((768, 200)),
            ..ReplyOptions::default()
        },
    );
    let llm = llm_client_on(wire, &server.base_url(), &[("KILN_MAX_RETRIES", "0")]);
    let usage = ask(&llm).await.0.unwrap().usage.unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens,
            usage.reasoning_tokens
        ),
        (1_000, 300, 768, 200)
    );
}
on_both_wires!(cached_and_reasoning_tokens_are_counted);

/// A server that kept no reply to continue (`store` off, say) refuses `previous_response_id`;
/// the turn is sent again whole, once, rather than failing the task.
#[tokio::test]
async fn a_refused_continuation_is_sent_again_whole() {
    let server = ScriptedServer::start().await;
    server.push(Reply::http_error(
        400,
        "Previous response with id 'resp_1' not found.",
    ));
    server.push(Reply::tool_code(CODE));
    let llm = llm_client_on(
        WireApi::Responses,
        &server.base_url(),
        &[("KILN_MAX_RETRIES", "2")],
    );
    let first = ModelReply {
        tool_calls: vec![kiln::llm::ToolCall {
            id: "call_1".to_string(),
            name: RUN_CODE.to_string(),
            arguments: "{}".to_string(),
        }],
        ..ModelReply::default()
    };
    let conversation = vec![
        messages::user("write a test"),
        messages::assistant(&first),
        messages::tool_result("call_1", "does not compile"),
    ];
    let tools = vec![run_code_tool("runs code")];
    let request = ChatRequest {
        tier: Tier::Mini,
        messages: &conversation,
        tools: &tools,
        force_tool: Some(RUN_CODE),
        previous: Some(kiln::llm::Previous {
            response_id: "resp_1",
            messages_held: 2,
        }),
    };
    let reply = llm.chat(&request, &mut |_| {}).await.unwrap();
    assert_eq!(code_of(&reply), CODE);
    let sent = server.responses_requests();
    assert_eq!(sent.len(), 2, "no retry of the refusal, one whole request");
    assert_eq!(sent[0]["previous_response_id"], "resp_1");
    assert_eq!(sent[0]["input"].as_array().unwrap().len(), 1);
    assert!(sent[1].get("previous_response_id").is_none(), "{}", sent[1]);
    assert_eq!(sent[1]["input"].as_array().unwrap().len(), 3, "{}", sent[1]);
}
