//! Reading the Responses API's answers: the events of a stream, or a whole response, into a
//! [`Reply`]. The types are kiln's own and lenient (see the parent module for why).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::llm::reply::{name_unnamed_calls, Assemble, ChunkDelta};
use crate::llm::{LlmError, Reply, ToolCall, Usage};

/// The events kiln reads; every other kind (`response.in_progress`, content parts, reasoning
/// summaries, kinds newer than this code) is passed over.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub(in crate::llm) enum Event {
    #[serde(rename = "response.created")]
    Created { response: Response },
    #[serde(rename = "response.output_text.delta")]
    TextDelta { delta: String },
    #[serde(rename = "response.function_call_arguments.delta")]
    ArgumentsDelta {
        #[serde(default)]
        output_index: u64,
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    ArgumentsDone {
        #[serde(default)]
        output_index: u64,
        arguments: String,
    },
    #[serde(rename = "response.output_item.added")]
    ItemAdded {
        #[serde(default)]
        output_index: u64,
        item: OutputItem,
    },
    #[serde(rename = "response.output_item.done")]
    ItemDone {
        #[serde(default)]
        output_index: u64,
        item: OutputItem,
    },
    #[serde(rename = "response.completed")]
    Completed { response: Response },
    /// Ended early, e.g. at `max_output_tokens`: complete as far as it goes, like chat's
    /// `length`.
    #[serde(rename = "response.incomplete")]
    Incomplete { response: Response },
    #[serde(rename = "response.failed")]
    Failed { response: Response },
    #[serde(rename = "error")]
    Error {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: String,
    },
    #[serde(other)]
    Other,
}

/// A response object, as a whole reply (not streamed) or inside the events that frame a stream.
#[derive(Debug, Default, Deserialize)]
pub(in crate::llm) struct Response {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    output: Vec<OutputItem>,
    #[serde(default)]
    usage: Option<ResponseUsage>,
    #[serde(default)]
    error: Option<ResponseError>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub(in crate::llm) enum OutputItem {
    #[serde(rename = "message")]
    Message {
        #[serde(default)]
        content: Vec<OutputContent>,
    },
    #[serde(rename = "function_call")]
    FunctionCall {
        #[serde(default)]
        call_id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        arguments: String,
    },
    /// Reasoning items and the like: the server keeps them for the next turn; kiln needs none.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub(in crate::llm) enum OutputContent {
    #[serde(rename = "output_text")]
    Text { text: String },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct ResponseUsage {
    input_tokens: u64,
    output_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputTokensDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputTokensDetails>,
}

#[derive(Debug, Deserialize)]
struct InputTokensDetails {
    #[serde(default)]
    cached_tokens: u64,
}

#[derive(Debug, Deserialize)]
struct OutputTokensDetails {
    #[serde(default)]
    reasoning_tokens: u64,
}

#[derive(Debug, Default, Deserialize)]
struct ResponseError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: String,
}

impl From<ResponseUsage> for Usage {
    fn from(usage: ResponseUsage) -> Usage {
        Usage {
            cached_tokens: usage.input_tokens_details.map_or(0, |d| d.cached_tokens),
            reasoning_tokens: usage
                .output_tokens_details
                .map_or(0, |d| d.reasoning_tokens),
            ..Usage::reported(usage.input_tokens, usage.output_tokens)
        }
    }
}

/// A whole response as a [`Reply`]: `Err` when the server says it failed. `finish_reason`
/// takes chat's names (`stop`, `tool_calls`, `length`) so the loop reads both wires' replies
/// alike.
pub(in crate::llm) fn reply_of(response: Response) -> Result<Reply, LlmError> {
    if response.status.as_deref() == Some("failed") {
        return Err(failure(response.error));
    }
    let mut reply = Reply {
        response_id: (!response.id.is_empty()).then_some(response.id),
        usage: response.usage.map(Usage::from),
        ..Reply::default()
    };
    for item in response.output {
        match item {
            OutputItem::Message { content } => {
                for part in content {
                    if let OutputContent::Text { text } = part {
                        reply.content.push_str(&text);
                    }
                }
            }
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
            } => reply.tool_calls.push(ToolCall {
                id: call_id,
                name,
                arguments,
            }),
            OutputItem::Other => {}
        }
    }
    reply.finish_reason = Some(
        match response.status.as_deref() {
            Some("incomplete") => "length",
            _ if !reply.tool_calls.is_empty() => "tool_calls",
            _ => "stop",
        }
        .to_string(),
    );
    Ok(reply)
}

/// A failed response's error, sorted like an HTTP error would be.
fn failure(error: Option<ResponseError>) -> LlmError {
    let error = error.unwrap_or_default();
    LlmError::from_failed_reply(error.code.as_deref(), error.message)
}

/// Builds a [`Reply`] from Responses stream events. Function calls are keyed by their output
/// index, which every argument piece names; a call's `.done` events carry its whole arguments,
/// which replace the pieces.
#[derive(Debug, Default)]
pub(in crate::llm) struct ResponsesAssembler {
    reply: Reply,
    calls: BTreeMap<u64, ToolCall>,
    events_seen: usize,
    ended: bool,
}

impl ResponsesAssembler {
    fn call(&mut self, output_index: u64) -> &mut ToolCall {
        self.calls.entry(output_index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        })
    }

    /// Takes an item's id and name once (never appended to), and with `done` its whole
    /// arguments.
    fn note_item(&mut self, output_index: u64, item: OutputItem, done: bool) {
        let OutputItem::FunctionCall {
            call_id,
            name,
            arguments,
        } = item
        else {
            return;
        };
        let call = self.call(output_index);
        if !call_id.is_empty() {
            call.id = call_id;
        }
        if !name.is_empty() {
            call.name = name;
        }
        if done && !arguments.is_empty() {
            call.arguments = arguments;
        }
    }

    /// The final response: its usage, id and status; and its output where the stream carried
    /// no pieces of it (a server may send the items whole, only at the end).
    fn end(&mut self, response: Response) -> Result<(), LlmError> {
        self.ended = true;
        let whole = reply_of(response)?;
        if self.reply.content.is_empty() && self.calls.is_empty() {
            self.reply.content = whole.content;
            for (index, call) in (0u64..).zip(whole.tool_calls) {
                self.calls.insert(index, call);
            }
        }
        self.reply.usage = whole.usage;
        self.reply.response_id = whole.response_id.or(self.reply.response_id.take());
        self.reply.finish_reason = match whole.finish_reason.as_deref() {
            Some("length") => Some("length".to_string()),
            _ if !self.calls.is_empty() => Some("tool_calls".to_string()),
            _ => Some("stop".to_string()),
        };
        Ok(())
    }
}

impl Assemble for ResponsesAssembler {
    type Chunk = Event;

    fn push(&mut self, event: Event) -> Result<ChunkDelta, LlmError> {
        self.events_seen += 1;
        let mut delta = ChunkDelta::default();
        match event {
            Event::Created { response } => {
                self.reply.response_id = (!response.id.is_empty()).then_some(response.id);
            }
            Event::TextDelta { delta: text } => {
                self.reply.content.push_str(&text);
                delta.content = text;
                delta.before_end = true;
            }
            Event::ArgumentsDelta {
                output_index,
                delta: piece,
            } => {
                self.call(output_index).arguments.push_str(&piece);
                delta.arguments = piece;
                delta.before_end = true;
            }
            Event::ArgumentsDone {
                output_index,
                arguments,
            } => self.call(output_index).arguments = arguments,
            Event::ItemAdded { output_index, item } => {
                self.note_item(output_index, item, false);
                delta.before_end = true;
            }
            Event::ItemDone { output_index, item } => self.note_item(output_index, item, true),
            Event::Completed { response } | Event::Incomplete { response } => self.end(response)?,
            Event::Failed { response } => return Err(failure(response.error)),
            Event::Error { code, message } => {
                return Err(LlmError::from_failed_reply(code.as_deref(), message))
            }
            Event::Other => {}
        }
        Ok(delta)
    }

    fn is_empty(&self) -> bool {
        self.events_seen == 0
    }

    /// Events came, but no `response.completed` (or `.incomplete`): the stream was cut.
    fn cut_short(&self) -> bool {
        self.events_seen > 0 && !self.ended
    }

    fn finish(mut self) -> Reply {
        // A cut reply never completed on the server either: continuing it would build on a
        // response the server may not have kept.
        if !self.ended {
            self.reply.response_id = None;
        }
        self.reply.tool_calls = self.calls.into_values().collect();
        name_unnamed_calls(&mut self.reply.tool_calls);
        self.reply
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn event(value: serde_json::Value) -> Event {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_streamed_function_call_is_assembled_with_usage_and_id() {
        let mut assembler = ResponsesAssembler::default();
        assert!(assembler.is_empty());
        let events = [
            json!({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}}),
            json!({"type": "response.in_progress", "sequence_number": 1}),
            json!({"type": "response.output_item.added", "output_index": 1,
                   "item": {"type": "function_call", "call_id": "call_9", "name": "run_code", "arguments": ""}}),
            json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{\"co"}),
            json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "de\": 1}"}),
        ];
        let deltas: Vec<ChunkDelta> = events
            .into_iter()
            .map(|e| assembler.push(event(e)).unwrap())
            .collect();
        assert_eq!(deltas[3].arguments, "{\"co");
        assert!(!deltas[0].before_end && deltas[2].before_end);
        assert!(assembler.cut_short(), "no response.completed yet");
        assembler
            .push(event(json!({"type": "response.completed", "response": {
                "id": "resp_1", "status": "completed", "output": [],
                "usage": {"input_tokens": 100, "output_tokens": 20,
                          "input_tokens_details": {"cached_tokens": 64},
                          "output_tokens_details": {"reasoning_tokens": 12}}}})))
            .unwrap();
        assert!(!assembler.cut_short());
        let reply = assembler.finish();
        assert_eq!(
            reply.tool_calls,
            vec![ToolCall {
                id: "call_9".to_string(),
                name: "run_code".to_string(),
                arguments: "{\"code\": 1}".to_string()
            }]
        );
        assert_eq!(reply.response_id.as_deref(), Some("resp_1"));
        assert_eq!(reply.finish_reason.as_deref(), Some("tool_calls"));
        let usage = reply.usage.unwrap();
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.cached_tokens,
                usage.reasoning_tokens
            ),
            (100, 64, 12)
        );
    }

    #[test]
    fn a_failed_response_and_an_error_event_are_errors_sorted_by_code() {
        let mut assembler = ResponsesAssembler::default();
        let failed = assembler.push(event(json!({"type": "response.failed", "response": {
            "id": "resp_2", "status": "failed",
            "error": {"code": "server_error", "message": "the model crashed"}}})));
        let failed = failed.unwrap_err();
        assert!(failed.is_retryable(), "{failed}");
        assert!(failed.to_string().contains("the model crashed"), "{failed}");
        let limited = assembler
            .push(event(
                json!({"type": "error", "code": "rate_limit_exceeded",
                "message": "Please try again in 20ms."}),
            ))
            .unwrap_err();
        assert!(
            matches!(limited, LlmError::RateLimited { retry_after: Some(d), .. } if d.as_millis() == 20),
            "{limited:?}"
        );
        let refused = assembler
            .push(event(
                json!({"type": "error", "code": "invalid_prompt", "message": "no"}),
            ))
            .unwrap_err();
        assert!(!refused.is_retryable(), "{refused}");
    }

    #[test]
    fn items_sent_whole_at_the_end_are_the_reply() {
        let mut assembler = ResponsesAssembler::default();
        assembler
            .push(event(
                json!({"type": "response.completed", "response": {"id": "r",
                "status": "completed", "output": [
                    {"type": "reasoning", "summary": []},
                    {"type": "message", "role": "assistant",
                     "content": [{"type": "output_text", "text": "no tool today"}]}]}}),
            ))
            .unwrap();
        let reply = assembler.finish();
        assert_eq!(reply.content, "no tool today");
        assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
        assert_eq!(reply.usage, None, "no usage reported: kiln estimates it");
    }
}
