//! Scripted replies and how they are rendered as OpenAI chat-completions
//! responses (plain JSON or server-sent events). The same script answers the
//! Responses API too, encoded by `responses.rs`.

use serde_json::{json, Value};

/// `created` timestamp used on every object (any integer that fits a u32).
pub(crate) const CREATED: u64 = 1_700_000_000;
/// Default number of characters per streamed delta piece.
const DEFAULT_CHUNK_CHARS: usize = 8;

/// One scripted answer to a `POST /v1/chat/completions` or `POST /v1/responses` request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An assistant message with this content (`finish_reason: "stop"`).
    Text(String),
    /// One tool call (`finish_reason: "tool_calls"`, content null).
    /// `arguments` is sent verbatim as the JSON string value, so it may be
    /// invalid JSON on purpose.
    ToolCall { name: String, arguments: String },
    /// Assistant text followed by one tool call (`finish_reason: "tool_calls"`).
    TextAndToolCall {
        text: String,
        name: String,
        arguments: String,
    },
    /// A non-2xx answer with this body verbatim (`Content-Type: application/json`).
    HttpError { status: u16, body: String },
    /// HTTP 200 with an empty body and (when streamed) no `[DONE]`:
    /// a real llama-cpp-python quirk for streamed tool requests.
    EmptyOk,
    /// A well-formed completion whose `choices` is empty (streamed: only
    /// the usage chunk, if asked for, and `[DONE]`).
    NoChoices,
}

impl Reply {
    /// `ToolCall { name: "run_code", arguments: {"code": code} }`.
    pub fn tool_code(code: &str) -> Reply {
        Reply::ToolCall {
            name: "run_code".to_string(),
            arguments: json!({ "code": code }).to_string(),
        }
    }

    /// `Text(text)`.
    pub fn text(text: &str) -> Reply {
        Reply::Text(text.to_string())
    }

    /// `ToolCall { name, arguments }`.
    pub fn tool_call(name: &str, arguments: &str) -> Reply {
        Reply::ToolCall {
            name: name.to_string(),
            arguments: arguments.to_string(),
        }
    }

    /// An `HttpError` whose body is an OpenAI-shaped error object:
    /// `{"error":{"message":message,"type":<derived from status>,"param":null,"code":null}}`.
    pub fn http_error(status: u16, message: &str) -> Reply {
        let kind = match status {
            400 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            500..=599 => "server_error",
            _ => "api_error",
        };
        Reply::HttpError {
            status,
            body: error_body(message, kind),
        }
    }

    /// 429 with `{"error":{"message":"Rate limit","type":"rate_limit_error",...}}`.
    pub fn rate_limit() -> Reply {
        Reply::http_error(429, "Rate limit")
    }
}

/// Optional knobs for one reply (see [`super::ScriptedServer::push_with`]).
/// `ReplyOptions::default()` is what [`super::ScriptedServer::push`] uses.
#[derive(Debug, Clone, Default)]
pub struct ReplyOptions {
    /// Sleep this long before writing the status line.
    pub delay_ms_before_first_byte: u64,
    /// Streamed only: sleep this long between SSE events (after the first).
    pub delay_ms_between_chunks: u64,
    /// Streamed only: characters per text / argument delta piece (0 = 8).
    pub chunk_chars: usize,
    /// llama-cpp-python quirk: every streamed tool-call chunk repeats the
    /// call's `id`, `type` and `function.name`, and the delta also carries an
    /// old-style `"function_call": {"name": .., "arguments": piece}`.
    pub repeat_tool_name_in_every_chunk: bool,
    /// `(prompt_tokens, completion_tokens)` to report; `None` makes them up
    /// from text lengths (about 4 characters a token, at least 1).
    pub usage: Option<(u32, u32)>,
    /// `(cached_tokens, reasoning_tokens)` inside the usage: chat's
    /// `prompt_tokens_details` / `completion_tokens_details`, the Responses API's
    /// `input_tokens_details` / `output_tokens_details`. `None` sends no details.
    pub usage_details: Option<(u32, u32)>,
    /// Sends no usage at all, even when the request asks with `stream_options.include_usage`:
    /// llama-cpp-python 0.3.36 and several proxies answer so.
    pub omit_usage: bool,
    /// `HttpError` only: adds a `Retry-After: N` header.
    pub retry_after_secs: Option<u64>,
    /// Streamed only: send just the first N events, then close the
    /// connection (no final chunk, no `[DONE]`): a connection dropped mid-stream.
    pub truncate_after_events: Option<usize>,
    /// Streamed only: an SSE event whose data is not JSON, sent before event N.
    pub garbage_event_before: Option<usize>,
    /// Overrides `finish_reason` ("stop" / "tool_calls" by default). Must be
    /// one of stop, length, tool_calls, content_filter, function_call or
    /// async-openai fails to parse the answer. On the Responses API only
    /// `length` means something: the response ends `incomplete`.
    pub finish_reason: Option<String>,
    /// The reply ends as failed with this error code instead of completing:
    /// the Responses API sends `response.failed` (status `failed` when not
    /// streamed); chat, which has no such event, an `{"error": ..}` chunk in
    /// place of its end, as OpenAI does.
    pub fail_with_code: Option<String>,
}

/// What the server writes for one chat request.
pub(crate) enum Rendered {
    /// A complete JSON body with this status.
    Json {
        status: u16,
        body: String,
        extra_headers: Vec<(String, String)>,
    },
    /// 200 `text/event-stream`; each item is one full SSE event (`data: ..\n\n`).
    Sse(Vec<String>),
    /// 200 with an empty body of this content type.
    Empty { content_type: &'static str },
}

/// Facts about the request needed to render an answer.
pub(crate) struct RequestInfo {
    /// 1-based number of this chat request.
    pub seq: usize,
    pub model: String,
    pub stream: bool,
    pub include_usage: bool,
    /// Characters in the request's `messages`, `prompt` or `input` (serialized),
    /// for fake usage.
    pub prompt_chars: usize,
}

impl RequestInfo {
    pub(crate) fn from_body(seq: usize, body: &Value) -> RequestInfo {
        RequestInfo {
            seq,
            model: body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("scripted")
                .to_string(),
            stream: body.get("stream").and_then(Value::as_bool).unwrap_or(false),
            include_usage: body
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            prompt_chars: body
                .get("messages")
                .or_else(|| body.get("prompt"))
                .or_else(|| body.get("input"))
                .map_or(0, |m| m.to_string().len()),
        }
    }
}

pub(crate) fn error_body(message: &str, kind: &str) -> String {
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}}).to_string()
}

fn tokens(chars: usize) -> u32 {
    u32::try_from(chars / 4).unwrap_or(u32::MAX).max(1)
}

/// `(prompt, completion)` tokens to report for a reply with this text and call:
/// the scripted ones, or made up from lengths.
pub(crate) fn token_counts(
    text: Option<&str>,
    call: Option<(&str, &str)>,
    opts: &ReplyOptions,
    req: &RequestInfo,
) -> (u32, u32) {
    let out_chars = text.map_or(0, str::len) + call.map_or(0, |(n, a)| n.len() + a.len());
    opts.usage
        .unwrap_or((tokens(req.prompt_chars), tokens(out_chars)))
}

/// A streamed text or argument string in pieces of `chunk_chars`.
pub(crate) fn pieces(s: &str, opts: &ReplyOptions) -> Vec<String> {
    let n = if opts.chunk_chars == 0 {
        DEFAULT_CHUNK_CHARS
    } else {
        opts.chunk_chars
    };
    split_chars(s, n)
}

fn split_chars(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}

/// The stream faults of `opts` applied to a stream's SSE events, on either wire:
/// a garbage event, and a connection cut after some events.
pub(crate) fn with_stream_faults(mut out: Vec<String>, opts: &ReplyOptions) -> Vec<String> {
    if let Some(index) = opts.garbage_event_before {
        out.insert(
            index.min(out.len()),
            "data: {this is not json\n\n".to_string(),
        );
    }
    if let Some(keep) = opts.truncate_after_events {
        out.truncate(keep);
    }
    out
}

/// The pieces of a reply that produces a message: (text, tool call).
pub(crate) fn parts(reply: &Reply) -> (Option<&str>, Option<(&str, &str)>) {
    match reply {
        Reply::Text(t) => (Some(t), None),
        Reply::ToolCall { name, arguments } => (None, Some((name, arguments))),
        Reply::TextAndToolCall {
            text,
            name,
            arguments,
        } => (Some(text), Some((name, arguments))),
        Reply::HttpError { .. } | Reply::EmptyOk | Reply::NoChoices => (None, None),
    }
}

/// The answer to a `POST /v1/completions` request (not streamed): a `Text` reply becomes the
/// completion's text; errors render as for chat; other replies make no sense there.
pub(crate) fn render_text_completion(
    reply: &Reply,
    opts: &ReplyOptions,
    req: &RequestInfo,
) -> Rendered {
    let Reply::Text(text) = reply else {
        return match reply {
            Reply::HttpError { .. } | Reply::EmptyOk => render(reply, opts, req),
            _ => Rendered::Json {
                status: 500,
                body: error_body(
                    "scripted server: only Reply::Text or errors answer /v1/completions",
                    "script_error",
                ),
                extra_headers: Vec::new(),
            },
        };
    };
    let (prompt_tokens, completion_tokens) = opts
        .usage
        .unwrap_or((tokens(req.prompt_chars), tokens(text.len())));
    let mut body = json!({
        "id": format!("cmpl-{}", req.seq),
        "object": "text_completion",
        "created": CREATED,
        "model": req.model,
        "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    });
    if opts.omit_usage {
        body["usage"] = Value::Null;
    }
    Rendered::Json {
        status: 200,
        body: body.to_string(),
        extra_headers: Vec::new(),
    }
}

pub(crate) fn render(reply: &Reply, opts: &ReplyOptions, req: &RequestInfo) -> Rendered {
    match reply {
        Reply::HttpError { status, body } => {
            let mut extra_headers = Vec::new();
            if let Some(secs) = opts.retry_after_secs {
                extra_headers.push(("Retry-After".to_string(), secs.to_string()));
            }
            Rendered::Json {
                status: *status,
                body: body.clone(),
                extra_headers,
            }
        }
        Reply::EmptyOk => Rendered::Empty {
            content_type: if req.stream {
                "text/event-stream"
            } else {
                "application/json"
            },
        },
        Reply::NoChoices => {
            let base = json!({
                "id": format!("chatcmpl-scripted-{}", req.seq),
                "created": CREATED,
                "model": req.model,
                "choices": [],
            });
            if req.stream {
                let mut events = Vec::new();
                if req.include_usage {
                    let mut usage_chunk = base.clone();
                    usage_chunk["object"] = json!("chat.completion.chunk");
                    usage_chunk["usage"] =
                        json!({"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1});
                    events.push(format!("data: {usage_chunk}\n\n"));
                }
                events.push("data: [DONE]\n\n".to_string());
                Rendered::Sse(events)
            } else {
                let mut body = base;
                body["object"] = json!("chat.completion");
                Rendered::Json {
                    status: 200,
                    body: body.to_string(),
                    extra_headers: Vec::new(),
                }
            }
        }
        _ => {
            let (text, call) = parts(reply);
            let finish = opts
                .finish_reason
                .clone()
                .unwrap_or_else(|| if call.is_some() { "tool_calls" } else { "stop" }.to_string());
            let (prompt_tokens, completion_tokens) = token_counts(text, call, opts, req);
            let usage = (!opts.omit_usage).then(|| {
                let mut usage = json!({
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                });
                if let Some((cached, reasoning)) = opts.usage_details {
                    usage["prompt_tokens_details"] = json!({"cached_tokens": cached});
                    usage["completion_tokens_details"] = json!({"reasoning_tokens": reasoning});
                }
                usage
            });
            if req.stream {
                Rendered::Sse(stream_events(text, call, &finish, usage, opts, req))
            } else {
                Rendered::Json {
                    status: 200,
                    body: completion(text, call, &finish, usage, req).to_string(),
                    extra_headers: Vec::new(),
                }
            }
        }
    }
}

pub(crate) fn call_id(req: &RequestInfo) -> String {
    format!("call_{}", req.seq)
}

fn completion(
    text: Option<&str>,
    call: Option<(&str, &str)>,
    finish: &str,
    usage: Option<Value>,
    req: &RequestInfo,
) -> Value {
    let mut message = json!({"role": "assistant", "content": text});
    if let Some((name, arguments)) = call {
        message["tool_calls"] = json!([{
            "id": call_id(req),
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }]);
    }
    json!({
        "id": format!("chatcmpl-scripted-{}", req.seq),
        "object": "chat.completion",
        "created": CREATED,
        "model": req.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish,
        }],
        "usage": usage.unwrap_or(Value::Null),
    })
}

fn stream_events(
    text: Option<&str>,
    call: Option<(&str, &str)>,
    finish: &str,
    usage: Option<Value>,
    opts: &ReplyOptions,
    req: &RequestInfo,
) -> Vec<String> {
    let chunk = |choices: Value| {
        let mut c = json!({
            "id": format!("chatcmpl-scripted-{}", req.seq),
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": req.model,
            "choices": choices,
        });
        if req.include_usage && !opts.omit_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let choice = |delta: Value, finish: Option<&str>| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);

    let mut deltas: Vec<Value> = Vec::new();
    if let Some(text) = text {
        let text_pieces = pieces(text, opts);
        if text_pieces.is_empty() {
            deltas.push(json!({"content": ""}));
        }
        for p in text_pieces {
            deltas.push(json!({ "content": p }));
        }
    }
    if let Some((name, arguments)) = call {
        let id = call_id(req);
        let quirk = opts.repeat_tool_name_in_every_chunk;
        let mut first = json!({"tool_calls": [{
            "index": 0,
            "id": id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }]});
        if quirk {
            first["function_call"] = json!({"name": name, "arguments": ""});
        }
        deltas.push(first);
        for p in pieces(arguments, opts) {
            let mut d = if quirk {
                json!({"tool_calls": [{
                    "index": 0,
                    "id": id,
                    "type": "function",
                    "function": {"name": name, "arguments": p},
                }]})
            } else {
                json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]})
            };
            if quirk {
                d["function_call"] = json!({"name": name, "arguments": p});
            }
            deltas.push(d);
        }
    }
    // The first delta announces the role.
    if let Some(first) = deltas.first_mut() {
        first["role"] = json!("assistant");
        if text.is_none() {
            first["content"] = Value::Null;
        }
    }

    let mut events: Vec<Value> = deltas.into_iter().map(|d| chunk(choice(d, None))).collect();
    if let Some(code) = &opts.fail_with_code {
        events.push(json!({"error": {"message": "scripted failure", "type": code, "code": code}}));
        let out = events
            .into_iter()
            .map(|e| format!("data: {e}\n\n"))
            .collect();
        return with_stream_faults(out, opts);
    }
    events.push(chunk(choice(json!({}), Some(finish))));
    if let Some(usage) = usage.filter(|_| req.include_usage) {
        let mut last = chunk(json!([]));
        last["usage"] = usage;
        events.push(last);
    }
    let mut out: Vec<String> = events
        .into_iter()
        .map(|e| format!("data: {e}\n\n"))
        .collect();
    out.push("data: [DONE]\n\n".to_string());
    with_stream_faults(out, opts)
}
