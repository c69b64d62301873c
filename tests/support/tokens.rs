//! The scripted server's own count of tokens, o200k_base over what went over the wire: what a
//! server that reports usage would have said, to compare with kiln's estimate when it does not.
//!
//! Counted from the request body as JSON, independently of kiln's typed request: the text of
//! every message (content, tool-call names and arguments) plus the tool definitions as sent.
//! No per-message framing is added, so kiln's framing allowance must stay within the tolerance.

use serde_json::Value;

use super::Reply;

fn count(text: &str) -> u64 {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len() as u64
}

/// Tokens in one chat request's `messages` and `tools`.
pub fn prompt_tokens(body: &Value) -> u64 {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let mut total = 0;
    for message in &messages {
        match &message["content"] {
            Value::String(text) => total += count(text),
            Value::Array(parts) => {
                for part in parts {
                    total += count(part["text"].as_str().unwrap_or_default());
                }
            }
            _ => {}
        }
        for call in message["tool_calls"].as_array().into_iter().flatten() {
            total += count(call["function"]["name"].as_str().unwrap_or_default());
            total += count(call["function"]["arguments"].as_str().unwrap_or_default());
        }
    }
    if let Some(tools) = body.get("tools").filter(|t| !t.is_null()) {
        total += count(&tools.to_string());
    }
    total
}

/// Tokens in what a scripted reply streams: its text and its tool-call arguments.
pub fn completion_tokens(reply: &Reply) -> u64 {
    match reply {
        Reply::Text(text) => count(text),
        Reply::ToolCall { arguments, .. } => count(arguments),
        Reply::TextAndToolCall {
            text, arguments, ..
        } => count(text) + count(arguments),
        Reply::HttpError { .. } | Reply::EmptyOk | Reply::NoChoices => 0,
    }
}
