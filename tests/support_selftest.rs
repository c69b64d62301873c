//! Self-tests of the scripted OpenAI-compatible server in `tests/support/`,
//! driven by the real async-openai client that kiln uses (plus a few raw
//! HTTP exchanges for things the client never does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestSystemMessageArgs,
    ChatCompletionRequestUserMessageArgs, ChatCompletionResponseStream,
    ChatCompletionStreamOptions, ChatCompletionTool, ChatCompletionTools,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs, CreateChatCompletionResponse,
    FinishReason, FunctionObjectArgs,
};
use async_openai::Client;
use futures::StreamExt;
use serde_json::json;
use support::{Reply, ReplyOptions, ScriptedServer};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

fn client(server: &ScriptedServer) -> Client<OpenAIConfig> {
    Client::with_config(
        OpenAIConfig::new()
            .with_api_base(server.base_url())
            .with_api_key("test"),
    )
}

fn request(model: &str, user: &str, stream: bool, usage: bool) -> CreateChatCompletionRequest {
    let tool = ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObjectArgs::default()
            .name("run_code")
            .description("Run code")
            .parameters(json!({
                "type": "object",
                "properties": {"code": {"type": "string"}},
                "required": ["code"],
            }))
            .build()
            .unwrap(),
    });
    let mut args = CreateChatCompletionRequestArgs::default();
    args.model(model)
        .messages(vec![
            ChatCompletionRequestSystemMessageArgs::default()
                .content("You are a test.")
                .build()
                .unwrap()
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(user)
                .build()
                .unwrap()
                .into(),
        ])
        .tools(vec![tool]);
    if stream {
        args.stream(true);
    }
    if usage {
        args.stream_options(ChatCompletionStreamOptions {
            include_usage: Some(true),
            include_obfuscation: None,
        });
    }
    args.build().unwrap()
}

async fn create(
    server: &ScriptedServer,
    req: CreateChatCompletionRequest,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    timeout(LIMIT, client(server).chat().create(req))
        .await
        .expect("create timed out")
}

async fn open_stream(
    server: &ScriptedServer,
    req: CreateChatCompletionRequest,
) -> Result<ChatCompletionResponseStream, OpenAIError> {
    timeout(LIMIT, client(server).chat().create_stream(req))
        .await
        .expect("create_stream timed out")
}

/// What a stream reassembles to.
#[derive(Debug, Default)]
struct Assembled {
    chunks: usize,
    content: String,
    /// (id, name, arguments) per tool-call index.
    calls: Vec<(String, String, String)>,
    finish: Option<FinishReason>,
    usage: Option<(u32, u32, u32)>,
    roles: usize,
    errors: Vec<String>,
}

async fn collect(mut stream: ChatCompletionResponseStream) -> Assembled {
    let mut out = Assembled::default();
    timeout(LIMIT, async {
        while let Some(item) = stream.next().await {
            let chunk = match item {
                Ok(c) => c,
                Err(e) => {
                    out.errors.push(e.to_string());
                    continue;
                }
            };
            out.chunks += 1;
            assert_eq!(chunk.object, "chat.completion.chunk");
            if let Some(u) = chunk.usage {
                out.usage = Some((u.prompt_tokens, u.completion_tokens, u.total_tokens));
            }
            for choice in chunk.choices {
                if choice.delta.role.is_some() {
                    out.roles += 1;
                }
                if let Some(c) = choice.delta.content {
                    out.content.push_str(&c);
                }
                for tc in choice.delta.tool_calls.unwrap_or_default() {
                    let i = tc.index as usize;
                    if out.calls.len() <= i {
                        out.calls.resize(i + 1, Default::default());
                    }
                    let slot = &mut out.calls[i];
                    // A robust client takes id/name once, not concatenated.
                    if let Some(id) = tc.id {
                        if slot.0.is_empty() {
                            slot.0 = id;
                        }
                    }
                    if let Some(f) = tc.function {
                        if let Some(n) = f.name {
                            if slot.1.is_empty() {
                                slot.1 = n;
                            }
                        }
                        if let Some(a) = f.arguments {
                            slot.2.push_str(&a);
                        }
                    }
                }
                if choice.finish_reason.is_some() {
                    out.finish = choice.finish_reason;
                }
            }
        }
    })
    .await
    .expect("stream did not end");
    out
}

#[tokio::test]
async fn base_url_points_at_v1_on_loopback() {
    let server = ScriptedServer::start().await;
    let url = server.base_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.ends_with("/v1"), "{url}");
    assert_ne!(server.addr().port(), 0);
}

#[tokio::test]
async fn non_streamed_text() {
    let server = ScriptedServer::start().await;
    server.push(Reply::Text("Hello there, general Kenobi!".into()));
    let resp = create(&server, request("my-model", "hi", false, false))
        .await
        .unwrap();
    assert_eq!(resp.object, "chat.completion");
    assert_eq!(resp.model, "my-model");
    assert_eq!(resp.choices.len(), 1);
    let choice = &resp.choices[0];
    assert_eq!(
        choice.message.content.as_deref(),
        Some("Hello there, general Kenobi!")
    );
    assert!(choice.message.tool_calls.is_none());
    assert_eq!(choice.finish_reason, Some(FinishReason::Stop));
    let usage = resp.usage.expect("usage");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    assert_eq!(server.remaining(), 0);
}

#[tokio::test]
async fn streamed_text_reassembles_in_several_chunks() {
    let server = ScriptedServer::start().await;
    let text = "The quick brown fox jumps over the lazy dog. ünïcödé ✓ 🦀!";
    server.push(Reply::Text(text.into()));
    let stream = open_stream(&server, request("m", "hi", true, false))
        .await
        .unwrap();
    let got = collect(stream).await;
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.content, text);
    assert!(got.chunks > 2, "only {} chunks", got.chunks);
    assert_eq!(got.roles, 1, "role only on the first chunk");
    assert_eq!(got.finish, Some(FinishReason::Stop));
    assert!(got.calls.is_empty());
    assert_eq!(got.usage, None, "usage not requested");
}

#[tokio::test]
async fn streamed_tool_call_reassembles_by_index() {
    let server = ScriptedServer::start().await;
    let code = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n";
    let reply = Reply::tool_code(code);
    let Reply::ToolCall { arguments, .. } = reply.clone() else {
        panic!("tool_code is a ToolCall");
    };
    server.push(reply);
    let stream = open_stream(&server, request("m", "add", true, false))
        .await
        .unwrap();
    let got = collect(stream).await;
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert!(got.chunks > 3, "only {} chunks", got.chunks);
    assert_eq!(got.calls.len(), 1);
    let (id, name, args) = &got.calls[0];
    assert_eq!(id, "call_1");
    assert_eq!(name, "run_code");
    assert_eq!(args, &arguments);
    let parsed: serde_json::Value = serde_json::from_str(args).unwrap();
    assert_eq!(parsed["code"], code);
    assert_eq!(got.finish, Some(FinishReason::ToolCalls));
    assert_eq!(got.content, "");
}

#[tokio::test]
async fn streamed_text_and_tool_call() {
    let server = ScriptedServer::start().await;
    server.push(Reply::TextAndToolCall {
        text: "Let me run that.".into(),
        name: "run_code".into(),
        arguments: "{not json on purpose".into(),
    });
    let stream = open_stream(&server, request("m", "x", true, false))
        .await
        .unwrap();
    let got = collect(stream).await;
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.content, "Let me run that.");
    assert_eq!(got.calls.len(), 1);
    assert_eq!(got.calls[0].1, "run_code");
    assert_eq!(got.calls[0].2, "{not json on purpose");
    assert_eq!(got.finish, Some(FinishReason::ToolCalls));
}

#[tokio::test]
async fn streamed_tool_call_with_repeated_name_quirk() {
    let server = ScriptedServer::start().await;
    let args = json!({"code": "print('quirky')"}).to_string();
    server.push_with(
        Reply::ToolCall {
            name: "run_code".into(),
            arguments: args.clone(),
        },
        ReplyOptions {
            repeat_tool_name_in_every_chunk: true,
            ..Default::default()
        },
    );
    let stream = open_stream(&server, request("m", "x", true, false))
        .await
        .unwrap();

    // Look at the raw chunks: every tool-call chunk repeats id and name and
    // carries an old-style function_call.
    let mut stream = stream;
    let mut names = Vec::new();
    let mut old_style = 0;
    let mut args_got = String::new();
    timeout(LIMIT, async {
        while let Some(item) = stream.next().await {
            let chunk = item.unwrap();
            for choice in chunk.choices {
                #[allow(deprecated)]
                if choice.delta.function_call.is_some() {
                    old_style += 1;
                }
                for tc in choice.delta.tool_calls.unwrap_or_default() {
                    assert_eq!(tc.id.as_deref(), Some("call_1"));
                    let f = tc.function.unwrap();
                    names.push(f.name.unwrap());
                    args_got.push_str(&f.arguments.unwrap_or_default());
                }
            }
        }
    })
    .await
    .unwrap();
    assert!(names.len() > 2, "{names:?}");
    assert!(names.iter().all(|n| n == "run_code"));
    assert_eq!(old_style, names.len());
    assert_eq!(args_got, args);
}

#[tokio::test]
async fn non_streamed_tool_call() {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code("print(42)"));
    let resp = create(&server, request("m", "x", false, false))
        .await
        .unwrap();
    let choice = &resp.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(choice.message.content, None);
    let calls = choice.message.tool_calls.as_ref().expect("tool_calls");
    assert_eq!(calls.len(), 1);
    let ChatCompletionMessageToolCalls::Function(call) = &calls[0] else {
        panic!("not a function call: {:?}", calls[0]);
    };
    assert_eq!(call.id, "call_1");
    assert_eq!(call.function.name, "run_code");
    assert_eq!(
        call.function.arguments,
        json!({"code": "print(42)"}).to_string()
    );
}

#[tokio::test]
async fn non_streamed_text_and_tool_call_with_invalid_arguments() {
    let server = ScriptedServer::start().await;
    server.push(Reply::TextAndToolCall {
        text: "thinking".into(),
        name: "run_code".into(),
        arguments: "{\"code\": \"unterminated".into(),
    });
    let resp = create(&server, request("m", "x", false, false))
        .await
        .unwrap();
    let msg = &resp.choices[0].message;
    assert_eq!(msg.content.as_deref(), Some("thinking"));
    let ChatCompletionMessageToolCalls::Function(call) = &msg.tool_calls.as_ref().unwrap()[0]
    else {
        panic!("not a function call");
    };
    assert_eq!(call.function.arguments, "{\"code\": \"unterminated");
}

#[tokio::test]
async fn http_error_400_surfaces_as_api_error() {
    let server = ScriptedServer::start().await;
    server.push(Reply::HttpError {
        status: 400,
        body: json!({"error": {"message": "context too long", "type": "invalid_request_error", "param": null, "code": null}}).to_string(),
    });
    let err = create(&server, request("m", "x", false, false))
        .await
        .unwrap_err();
    match err {
        OpenAIError::ApiError(e) => {
            assert_eq!(e.status_code.as_u16(), 400);
            assert_eq!(e.api_error.message, "context too long");
            assert_eq!(e.api_error.r#type.as_deref(), Some("invalid_request_error"));
        }
        other => panic!("expected ApiError, got {other:?}"),
    }
    // 400 is not retried: exactly one request.
    assert_eq!(server.chat_requests().len(), 1);
}

#[tokio::test]
async fn http_error_on_stream_request_fails_create_stream() {
    let server = ScriptedServer::start().await;
    server.push(Reply::http_error(400, "bad tools"));
    let err = open_stream(&server, request("m", "x", true, false))
        .await
        .err()
        .expect("expected an error");
    match err {
        OpenAIError::ApiError(e) => assert_eq!(e.api_error.message, "bad tools"),
        other => panic!("expected ApiError, got {other:?}"),
    }
}

#[tokio::test]
async fn usage_present_when_include_usage_requested() {
    let server = ScriptedServer::start().await;
    server.push(Reply::Text("some words here".into()));
    server.push_with(
        Reply::Text("fixed".into()),
        ReplyOptions {
            usage: Some((123, 45)),
            ..Default::default()
        },
    );
    let got = collect(
        open_stream(&server, request("m", "x", true, true))
            .await
            .unwrap(),
    )
    .await;
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let (p, c, t) = got.usage.expect("usage chunk");
    assert!(p > 0 && c > 0);
    assert_eq!(t, p + c);
    assert_eq!(got.content, "some words here");

    let got = collect(
        open_stream(&server, request("m", "x", true, true))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.usage, Some((123, 45, 168)));
}

#[tokio::test]
async fn recorded_request_has_model_and_messages() {
    let server = ScriptedServer::start().await;
    server.push(Reply::Text("ok".into()));
    create(
        &server,
        request("qwen-test-7b", "please add numbers", false, false),
    )
    .await
    .unwrap();
    let bodies = server.chat_requests();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(body["model"], "qwen-test-7b");
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1]["role"], "user");
    assert_eq!(messages[1]["content"], "please add numbers");
    assert_eq!(body["tools"][0]["function"]["name"], "run_code");

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/v1/chat/completions");
    assert_eq!(reqs[0].header("Authorization"), Some("Bearer test"));
    assert!(reqs[0]
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(reqs[0].json()["model"], "qwen-test-7b");
}

#[tokio::test]
async fn replies_are_served_in_fifo_order() {
    let server = ScriptedServer::start().await;
    server.push(Reply::text("first"));
    server.push(Reply::tool_code("second"));
    server.push(Reply::text("third"));
    let a = create(&server, request("m", "1", false, false))
        .await
        .unwrap();
    let b = collect(
        open_stream(&server, request("m", "2", true, false))
            .await
            .unwrap(),
    )
    .await;
    let c = create(&server, request("m", "3", false, false))
        .await
        .unwrap();
    assert_eq!(a.choices[0].message.content.as_deref(), Some("first"));
    assert_eq!(b.calls[0].0, "call_2");
    assert!(b.calls[0].2.contains("second"));
    assert_eq!(c.choices[0].message.content.as_deref(), Some("third"));
    let users: Vec<_> = server
        .chat_requests()
        .iter()
        .map(|b| b["messages"][1]["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(users, ["1", "2", "3"]);
}

#[tokio::test]
async fn empty_queue_is_a_clear_error() {
    let server = ScriptedServer::start().await;
    let err = create(&server, request("m", "x", false, false))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no reply queued"), "{text}");
    // The client retries 5xx by itself; every attempt is recorded and
    // numbered, and the error it finally returns is for the last attempt.
    let n = server.chat_requests().len();
    assert!(n >= 1);
    assert!(text.contains(&format!("for request {n}")), "{text}");
}

#[tokio::test]
async fn empty_ok_on_stream_yields_nothing_without_hanging() {
    let server = ScriptedServer::start().await;
    server.push(Reply::EmptyOk);
    let result = open_stream(&server, request("m", "x", true, false)).await;
    if let Ok(stream) = result {
        let got = collect(stream).await;
        assert_eq!(got.chunks, 0, "{got:?}");
        assert_eq!(got.content, "");
        assert!(got.calls.is_empty());
    }
}

#[tokio::test]
async fn empty_ok_non_streamed_is_a_parse_error() {
    let server = ScriptedServer::start().await;
    server.push(Reply::EmptyOk);
    let err = create(&server, request("m", "x", false, false))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OpenAIError::JSONDeserialize(..)),
        "expected a JSON error, got {err:?}"
    );
}

#[tokio::test]
async fn finish_reason_override() {
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::text("cut off mid"),
        ReplyOptions {
            finish_reason: Some("length".into()),
            ..Default::default()
        },
    );
    server.push_with(
        Reply::text("cut off mid"),
        ReplyOptions {
            finish_reason: Some("length".into()),
            ..Default::default()
        },
    );
    let resp = create(&server, request("m", "x", false, false))
        .await
        .unwrap();
    assert_eq!(resp.choices[0].finish_reason, Some(FinishReason::Length));
    let got = collect(
        open_stream(&server, request("m", "x", true, false))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.finish, Some(FinishReason::Length));
}

#[tokio::test]
async fn delays_are_applied() {
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::text("0123456789abcdef"), // 2 chunks of 8 + finish = 3 events
        ReplyOptions {
            delay_ms_before_first_byte: 150,
            delay_ms_between_chunks: 100,
            ..Default::default()
        },
    );
    let start = std::time::Instant::now();
    let got = collect(
        open_stream(&server, request("m", "x", true, false))
            .await
            .unwrap(),
    )
    .await;
    let elapsed = start.elapsed();
    assert_eq!(got.content, "0123456789abcdef");
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
}

#[tokio::test]
async fn chunk_chars_controls_piece_size() {
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::text("abcdef"),
        ReplyOptions {
            chunk_chars: 1,
            ..Default::default()
        },
    );
    let got = collect(
        open_stream(&server, request("m", "x", true, false))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.content, "abcdef");
    assert_eq!(got.chunks, 7, "6 one-char chunks + finish");
}

#[tokio::test]
async fn concurrent_requests_each_get_one_reply() {
    let server = ScriptedServer::start().await;
    for i in 0..8 {
        server.push(Reply::Text(format!("reply {i}")));
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let c = client(&server);
        let stream = i % 2 == 0;
        let req = request("m", &format!("q{i}"), stream, false);
        tasks.push(tokio::spawn(async move {
            if stream {
                let mut s = c.chat().create_stream(req).await.unwrap();
                let mut text = String::new();
                while let Some(chunk) = s.next().await {
                    for ch in chunk.unwrap().choices {
                        text.push_str(&ch.delta.content.unwrap_or_default());
                    }
                }
                text
            } else {
                let r = c.chat().create(req).await.unwrap();
                r.choices[0].message.content.clone().unwrap()
            }
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(timeout(LIMIT, t).await.unwrap().unwrap());
    }
    got.sort();
    let want: Vec<String> = (0..8).map(|i| format!("reply {i}")).collect();
    assert_eq!(got, want);
    assert_eq!(server.chat_requests().len(), 8);
    assert_eq!(server.remaining(), 0);
}
