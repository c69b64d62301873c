//! A model's reply, and how streamed chunks become one.

use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, CompletionUsage, CreateChatCompletionResponse,
    CreateChatCompletionStreamResponse,
};
use async_openai::types::completions::CreateCompletionResponse;

use super::usage::Usage;
use super::LlmError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// The usage a chat or completions server reported, with the cache and reasoning details that
/// OpenAI adds (most local servers send none).
fn reported(usage: CompletionUsage) -> Usage {
    Usage {
        cached_tokens: usage
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0)
            .into(),
        reasoning_tokens: usage
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0)
            .into(),
        ..Usage::reported(usage.prompt_tokens.into(), usage.completion_tokens.into())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    /// What the server reported, or kiln's estimate when it reported nothing (see
    /// [`super::estimate`]); `None` only while a reply is being assembled.
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
    /// The id the server keeps this reply under, for the next turn to continue from
    /// (`previous_response_id`): only the Responses API has one.
    pub response_id: Option<String>,
}

impl Reply {
    pub fn from_response(response: CreateChatCompletionResponse) -> Reply {
        let usage = response.usage.map(reported);
        let Some(choice) = response.choices.into_iter().next() else {
            return Reply {
                usage,
                ..Reply::default()
            };
        };
        let tool_calls = choice
            .message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .filter_map(|call| match call {
                ChatCompletionMessageToolCalls::Function(f) => Some(ToolCall {
                    id: f.id,
                    name: f.function.name,
                    arguments: f.function.arguments,
                }),
                ChatCompletionMessageToolCalls::Custom(_) => None,
            })
            .collect();
        Reply {
            content: choice.message.content.unwrap_or_default(),
            tool_calls,
            usage,
            finish_reason: choice.finish_reason.map(finish_reason_name),
            response_id: None,
        }
    }

    /// A native completion: its text is the reply's content.
    pub fn from_completion(response: CreateCompletionResponse) -> Reply {
        let usage = response.usage.map(reported);
        let choice = response.choices.into_iter().next();
        Reply {
            finish_reason: choice
                .as_ref()
                .and_then(|c| c.finish_reason)
                .map(finish_reason_name),
            content: choice.map(|c| c.text).unwrap_or_default(),
            tool_calls: Vec::new(),
            usage,
            response_id: None,
        }
    }
}

/// The wire name (`tool_calls`, `length`), as users see it in API docs.
fn finish_reason_name(reason: impl serde::Serialize) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What reading a streamed reply takes, whichever wire it came over: each event says what it
/// added (for live display), and at the end the stream tells an empty answer (the server's
/// quirk, answered by asking without streaming) from a cut one (retried). The loop that reads,
/// times out an idle stream and skips an unreadable event is the same for both wires
/// (`LlmClient::read_stream`).
pub(super) trait Assemble {
    type Chunk;

    /// Takes one event. `Err`: the server ended the reply as failed (the Responses API says so
    /// in the stream, after a 200).
    fn push(&mut self, chunk: Self::Chunk) -> Result<ChunkDelta, LlmError>;

    /// True when the server sent nothing at all: llama-cpp-python answers some streamed tool
    /// requests with an empty 200.
    fn is_empty(&self) -> bool;

    /// The reply started but never said it was complete: the connection was cut and its end
    /// may be missing.
    fn cut_short(&self) -> bool;

    fn finish(self) -> Reply;
}

/// Builds a [`Reply`] from chat completion chunks.
///
/// Tool calls are keyed by their index. Some servers (llama-cpp-python) repeat the id and the
/// name in every chunk, so a name is set once and never appended to; only arguments accumulate.
#[derive(Debug, Default)]
pub(super) struct ChatAssembler {
    reply: Reply,
    chunks_seen: usize,
    choices_seen: usize,
}

/// What one chunk added, for live display.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ChunkDelta {
    pub content: String,
    pub arguments: String,
    /// The chunk is part of the answer and not its end: the first such chunk is the first
    /// token. A chunk that ends the reply, or carries only usage, says nothing of when the
    /// answer began.
    pub before_end: bool,
}

impl Assemble for ChatAssembler {
    type Chunk = CreateChatCompletionStreamResponse;

    fn push(&mut self, chunk: CreateChatCompletionStreamResponse) -> Result<ChunkDelta, LlmError> {
        self.chunks_seen += 1;
        let mut delta_out = ChunkDelta::default();
        if let Some(u) = chunk.usage {
            self.reply.usage = Some(reported(u));
        }
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            self.choices_seen += 1;
            match choice.finish_reason {
                Some(reason) => self.reply.finish_reason = Some(finish_reason_name(reason)),
                None => delta_out.before_end = true,
            }
            let delta = choice.delta;
            if let Some(text) = delta.content {
                self.reply.content.push_str(&text);
                delta_out.content.push_str(&text);
            }
            for piece in delta.tool_calls.unwrap_or_default() {
                let index = piece.index as usize;
                while self.reply.tool_calls.len() <= index {
                    self.reply.tool_calls.push(ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                }
                let call = &mut self.reply.tool_calls[index];
                if let Some(id) = piece.id.filter(|id| !id.is_empty()) {
                    call.id = id;
                }
                if let Some(function) = piece.function {
                    if let Some(name) = function.name.filter(|n| !n.is_empty()) {
                        call.name = name;
                    }
                    if let Some(arguments) = function.arguments {
                        call.arguments.push_str(&arguments);
                        delta_out.arguments.push_str(&arguments);
                    }
                }
            }
        }
        Ok(delta_out)
    }

    fn is_empty(&self) -> bool {
        self.chunks_seen == 0
    }

    /// No finish_reason after some choice arrived. A stream with no choices at all is merely
    /// empty.
    fn cut_short(&self) -> bool {
        self.choices_seen > 0 && self.reply.finish_reason.is_none()
    }

    fn finish(mut self) -> Reply {
        name_unnamed_calls(&mut self.reply.tool_calls);
        self.reply
    }
}

/// Gives a call the server sent without an id one of its own: the tool's answer must name it.
pub(super) fn name_unnamed_calls(calls: &mut [ToolCall]) {
    for (i, call) in calls.iter_mut().enumerate() {
        if call.id.is_empty() {
            call.id = format!("call_{i}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn chunk(delta: serde_json::Value, finish: Option<&str>) -> CreateChatCompletionStreamResponse {
        serde_json::from_value(json!({
            "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        }))
        .unwrap()
    }

    #[test]
    fn repeated_names_are_not_concatenated() {
        let mut assembler = ChatAssembler::default();
        for piece in ["{\"co", "de\": \"x\"}"] {
            assembler
                .push(chunk(
                    json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                    "function": {"name": "run_code", "arguments": piece}}],
                    "function_call": {"name": "run_code", "arguments": piece}}),
                    None,
                ))
                .unwrap();
        }
        assembler
            .push(chunk(json!({}), Some("tool_calls")))
            .unwrap();
        let reply = assembler.finish();
        assert_eq!(
            reply.tool_calls,
            vec![ToolCall {
                id: "call_1".to_string(),
                name: "run_code".to_string(),
                arguments: "{\"code\": \"x\"}".to_string()
            }]
        );
        assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn text_accumulates_and_reports_each_delta() {
        let mut assembler = ChatAssembler::default();
        assert!(assembler.is_empty());
        let first = assembler
            .push(chunk(json!({"role": "assistant", "content": "Hel"}), None))
            .unwrap();
        let last = assembler
            .push(chunk(json!({"content": "lo"}), Some("stop")))
            .unwrap();
        assert_eq!(first.content, "Hel");
        assert!(first.before_end && !last.before_end);
        assert!(!assembler.is_empty());
        assert_eq!(assembler.finish().content, "Hello");
    }
}
