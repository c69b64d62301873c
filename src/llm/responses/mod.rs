//! The Responses API wire (`POST /responses`): how a chat turn is encoded as input items, and how
//! the streamed events become a [`super::Reply`] (`events.rs`).
//!
//! Requests are built in async-openai's own types (`CreateResponse`), so their shape is the
//! one the API documents. Answers are read with the `byot` calls into the small, lenient types
//! of `events.rs` instead of async-openai's `ResponseStreamEvent`: that one requires every field of every
//! output item (a `response.completed` whose usage lacks `input_tokens_details`, or an output
//! item of a kind newer than the crate, fails to parse and would cost the whole reply), while
//! kiln needs only text, function calls, usage and the id. Either way the request goes through
//! the same async-openai client as chat completions, so the transport, its `Retry-After`
//! hints, HTTP error mapping and kiln's one retry loop are shared, not copied.

use super::ChatRequest;
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestMessage, ChatCompletionTools,
    CreateChatCompletionRequest, ResponseFormat,
};
use async_openai::types::responses::{
    CreateResponse, EasyInputContent, EasyInputMessage, FunctionCallOutput,
    FunctionCallOutputItemParam, FunctionTool, FunctionToolCall, InputItem, InputParam, Item,
    ResponseTextParam, Role, TextResponseFormatConfiguration, Tool, ToolChoiceFunction,
    ToolChoiceParam,
};

mod events;

pub(super) use events::{reply_of, ResponsesAssembler};

/// The request for `request` on the Responses wire. With a previous reply to continue, only
/// the messages after it are sent, with its id: the server holds the rest, the model's
/// reasoning included.
pub(super) fn encode(
    model: &str,
    request: &ChatRequest<'_>,
    max_output_tokens: Option<u32>,
    stream: bool,
) -> CreateResponse {
    let (previous_response_id, new_messages) = match request.previous {
        Some(previous) if previous.messages_held <= request.messages.len() => (
            Some(previous.response_id.to_string()),
            &request.messages[previous.messages_held..],
        ),
        _ => (None, request.messages),
    };
    let tools: Vec<Tool> = request.tools.iter().map(tool).collect();
    CreateResponse {
        model: Some(model.to_string()),
        input: InputParam::Items(new_messages.iter().flat_map(input_items).collect()),
        previous_response_id,
        tools: (!tools.is_empty()).then_some(tools),
        tool_choice: request.force_tool.map(|name| {
            ToolChoiceParam::Function(ToolChoiceFunction {
                name: name.to_string(),
            })
        }),
        max_output_tokens,
        stream: Some(stream),
        ..Default::default()
    }
}

/// A prebuilt request without tools (the nano gate's question) on the Responses wire, not
/// streamed: its messages as input items, its cap, and its structured-output schema, which
/// the Responses API takes as `text.format`.
pub(super) fn encode_plain(request: &CreateChatCompletionRequest) -> CreateResponse {
    // The gate sets the old field (see LlmClient::build); either one is the cap.
    #[allow(deprecated)]
    let cap = request.max_tokens.or(request.max_completion_tokens);
    let format = request.response_format.clone().map(|format| match format {
        ResponseFormat::Text => TextResponseFormatConfiguration::Text,
        ResponseFormat::JsonObject => TextResponseFormatConfiguration::JsonObject,
        ResponseFormat::JsonSchema { json_schema } => {
            TextResponseFormatConfiguration::JsonSchema(json_schema)
        }
    });
    CreateResponse {
        model: Some(request.model.clone()),
        input: InputParam::Items(request.messages.iter().flat_map(input_items).collect()),
        max_output_tokens: cap,
        text: format.map(|format| ResponseTextParam {
            format,
            verbosity: None,
        }),
        stream: Some(false),
        ..Default::default()
    }
}

/// The Responses shape of a chat tool: `{"type": "function", "name": .., "parameters": ..}`,
/// flat where chat nests it under `function`.
fn tool(tool: &ChatCompletionTools) -> Tool {
    match tool {
        ChatCompletionTools::Function(f) => Tool::Function(FunctionTool {
            name: f.function.name.clone(),
            description: f.function.description.clone(),
            parameters: f.function.parameters.clone(),
            strict: f.function.strict,
            ..Default::default()
        }),
        // kiln offers only function tools; a custom one would need its own Responses shape.
        ChatCompletionTools::Custom(c) => Tool::Function(FunctionTool {
            name: c.custom.name.clone(),
            description: c.custom.description.clone(),
            ..Default::default()
        }),
    }
}

/// One chat message as Responses input items: a message per role, and for the model's own
/// turns a `function_call` item per tool call, answered by `function_call_output` items that
/// carry the same `call_id`.
fn input_items(message: &ChatCompletionRequestMessage) -> Vec<InputItem> {
    let said = |role: Role, text: String| {
        InputItem::EasyMessage(EasyInputMessage {
            role,
            content: EasyInputContent::Text(text),
            ..Default::default()
        })
    };
    match message {
        ChatCompletionRequestMessage::System(m) => vec![said(Role::System, text_of(&m.content))],
        ChatCompletionRequestMessage::Developer(m) => {
            vec![said(Role::Developer, text_of(&m.content))]
        }
        ChatCompletionRequestMessage::User(m) => vec![said(Role::User, text_of(&m.content))],
        ChatCompletionRequestMessage::Assistant(m) => {
            let text = m.content.as_ref().map(text_of).unwrap_or_default();
            let calls = m.tool_calls.iter().flatten().filter_map(|call| match call {
                ChatCompletionMessageToolCalls::Function(f) => {
                    Some(InputItem::Item(Item::FunctionCall(FunctionToolCall {
                        call_id: f.id.clone(),
                        name: f.function.name.clone(),
                        arguments: f.function.arguments.clone(),
                        ..Default::default()
                    })))
                }
                ChatCompletionMessageToolCalls::Custom(_) => None,
            });
            (!text.is_empty())
                .then(|| said(Role::Assistant, text))
                .into_iter()
                .chain(calls)
                .collect()
        }
        ChatCompletionRequestMessage::Tool(m) => {
            vec![InputItem::Item(Item::FunctionCallOutput(
                FunctionCallOutputItemParam {
                    call_id: Some(m.tool_call_id.clone()),
                    output: FunctionCallOutput::Text(text_of(&m.content)),
                    id: None,
                    status: None,
                    name: None,
                    namespace: None,
                    caller: None,
                },
            ))]
        }
        ChatCompletionRequestMessage::Function(m) => {
            vec![said(Role::User, m.content.clone().unwrap_or_default())]
        }
    }
}

/// The text of a message's content, a plain string or parts: read from its JSON form, so every
/// content type async-openai has reads the same way.
fn text_of(content: &impl serde::Serialize) -> String {
    match serde_json::to_value(content).unwrap_or_default() {
        serde_json::Value::String(text) => text,
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(|t| t.as_str()))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::config::Tier;
    use crate::llm::{messages, tools, Previous, Reply, ToolCall};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn a_continued_turn_sends_only_the_new_items_and_the_previous_id() {
        let first = Reply {
            tool_calls: vec![ToolCall {
                id: "call_1".to_string(),
                name: "run_code".to_string(),
                arguments: "{}".to_string(),
            }],
            ..Reply::default()
        };
        let conversation = vec![
            messages::system("sys"),
            messages::user("write a test"),
            messages::assistant(&first),
            messages::tool_result("call_1", "error[E0425]"),
        ];
        let tools = vec![tools::run_code_tool("runs code")];
        let mut request = ChatRequest {
            tier: Tier::Mini,
            messages: &conversation,
            tools: &tools,
            force_tool: Some("run_code"),
            previous: None,
        };
        let whole = serde_json::to_value(encode("m", &request, None, true)).unwrap();
        assert_eq!(whole["input"].as_array().unwrap().len(), 4);
        assert_eq!(whole["input"][2]["type"], "function_call");
        assert_eq!(whole["input"][2]["call_id"], "call_1");
        assert_eq!(whole["tools"][0]["type"], "function");
        assert_eq!(whole["tools"][0]["name"], "run_code");
        assert_eq!(
            whole["tool_choice"],
            json!({"type": "function", "name": "run_code"})
        );
        assert!(whole.get("previous_response_id").is_none());

        request.previous = Some(Previous {
            response_id: "resp_1",
            messages_held: 3,
        });
        let chained = serde_json::to_value(encode("m", &request, Some(64), true)).unwrap();
        assert_eq!(chained["previous_response_id"], "resp_1");
        assert_eq!(
            chained["input"],
            json!([{"type": "function_call_output", "call_id": "call_1", "output": "error[E0425]"}])
        );
        assert_eq!(chained["max_output_tokens"], 64);
    }
}
