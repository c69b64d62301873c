//! Building the conversation in async-openai's request types.

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestToolMessage, ChatCompletionRequestToolMessageContent,
    ChatCompletionRequestUserMessage, FunctionCall,
};

use super::reply::Reply;

pub type Message = ChatCompletionRequestMessage;

pub fn system(text: impl Into<String>) -> Message {
    ChatCompletionRequestSystemMessage::from(text.into()).into()
}

pub fn user(text: impl Into<String>) -> Message {
    ChatCompletionRequestUserMessage::from(text.into()).into()
}

/// Echoes the model's own reply back into the history, so its tool call and our tool result pair up.
pub fn assistant(reply: &Reply) -> Message {
    let tool_calls: Vec<ChatCompletionMessageToolCalls> = reply
        .tool_calls
        .iter()
        .map(|call| {
            ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                id: call.id.clone(),
                function: FunctionCall {
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                },
            })
        })
        .collect();
    // Always sent, even empty: OpenAI allows leaving it out next to tool calls, but
    // llama-cpp-python's chatml-function-calling template reads it strictly and answers HTTP 500.
    let content = ChatCompletionRequestAssistantMessageContent::Text(reply.content.clone());
    ChatCompletionRequestAssistantMessage {
        content: Some(content),
        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
        ..Default::default()
    }
    .into()
}

pub fn tool_result(tool_call_id: &str, text: impl Into<String>) -> Message {
    ChatCompletionRequestToolMessage {
        content: ChatCompletionRequestToolMessageContent::Text(text.into()),
        tool_call_id: tool_call_id.to_string(),
    }
    .into()
}
