//! kiln's own count of a request's tokens, for a reply that carries no `usage`.
//! llama-cpp-python 0.3.36 ignores `stream_options.include_usage`, and so do several proxies;
//! trusting the missing field would count zero tokens and leave `--max-cost` inert.
//!
//! The tokenizer is o200k_base (tiktoken-rs, its table compiled in), not the model's own:
//! - it needs no request: servers that count tokens each do it their own way (llama.cpp's
//!   `/tokenize`, llama-cpp-python's `/extras/tokenize`, vLLM's `/tokenize`; OpenAI and most
//!   proxies offer none), and a local server that answers one request at a time would have a
//!   running reply cut by the extra call (llama-cpp-python does so by default);
//! - a tokenize endpoint counts raw text, not the chat template the server applies, so even the
//!   model's own tokenizer gives an estimate, and it would still have to be labelled one;
//! - it is exact for the default tiers (gpt-5.4 uses o200k) and within tens of percent for
//!   others, and the result is always labelled [`super::UsageSource::Estimated`].
//!
//! The prompt is what the request sent: every message's text, its tool calls' names and
//! arguments, a few tokens of framing per message as chat templates add them, and the tool
//! definitions as JSON (as templates render them). The completion is the reply's text and its
//! tool calls' arguments, as they streamed.
//!
//! The table (3.6 MB of text) is parsed on the first estimate only, not at start-up: a run
//! against a server that reports usage never pays for it.

use std::sync::LazyLock;

use async_openai::types::chat::ChatCompletionTools;
use serde_json::Value;
use tiktoken_rs::CoreBPE;

use super::reply::Reply;
use super::usage::Usage;
use super::Message;

/// What a chat template adds around each message (`<|im_start|>`, the role, `<|im_end|>`, a
/// newline): OpenAI documents 3 tokens a message plus the role for its own formats.
const FRAMING_TOKENS_PER_MESSAGE: u64 = 4;
/// The assistant's turn the template opens for the reply.
const REPLY_PRIMING_TOKENS: u64 = 3;

/// `None` only if the compiled-in table fails to parse: then tokens stay unknown, never zero.
static O200K: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::o200k_base().ok());

fn count(bpe: &CoreBPE, text: &str) -> u64 {
    bpe.encode_ordinary(text).len() as u64
}

/// A chat turn's tokens as kiln counts them.
pub(super) fn chat(
    messages: &[Message],
    tools: &[ChatCompletionTools],
    reply: &Reply,
) -> Option<Usage> {
    let bpe = O200K.as_ref()?;
    let mut prompt = REPLY_PRIMING_TOKENS;
    for message in messages {
        prompt += FRAMING_TOKENS_PER_MESSAGE + message_text_tokens(bpe, message);
    }
    if !tools.is_empty() {
        prompt += count(bpe, &serde_json::to_string(tools).unwrap_or_default());
    }
    Some(Usage::estimated(prompt, reply_tokens(bpe, reply)))
}

/// A fill-in-the-middle completion's tokens: the text around the hole, and the middle.
pub(super) fn completion(prompt: &str, suffix: &str, reply: &Reply) -> Option<Usage> {
    let bpe = O200K.as_ref()?;
    Some(Usage::estimated(
        count(bpe, prompt) + count(bpe, suffix),
        reply_tokens(bpe, reply),
    ))
}

/// The text of one message as the request carries it, whatever its role: read from its JSON
/// form, so every message type async-openai has is covered the same way.
fn message_text_tokens(bpe: &CoreBPE, message: &Message) -> u64 {
    let Ok(json) = serde_json::to_value(message) else {
        return 0;
    };
    let mut tokens = match &json["content"] {
        Value::String(text) => count(bpe, text),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part["text"].as_str())
            .map(|text| count(bpe, text))
            .sum(),
        _ => 0,
    };
    for call in json["tool_calls"].as_array().into_iter().flatten() {
        let function = &call["function"];
        for field in ["name", "arguments"] {
            tokens += count(bpe, function[field].as_str().unwrap_or_default());
        }
    }
    tokens
}

fn reply_tokens(bpe: &CoreBPE, reply: &Reply) -> u64 {
    count(bpe, &reply.content)
        + reply
            .tool_calls
            .iter()
            .map(|call| count(bpe, &call.arguments))
            .sum::<u64>()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::llm::{messages, tools, ToolCall, UsageSource};

    #[test]
    fn every_message_the_tools_and_the_reply_are_counted() {
        let bpe = O200K.as_ref().unwrap();
        let question = "Write tests for `mean_floor`.";
        let reply = Reply {
            content: "Here they are.".to_string(),
            tool_calls: vec![ToolCall {
                id: "call_1".to_string(),
                name: "run_code".to_string(),
                arguments: r#"{"code":"fn t() {}"}"#.to_string(),
            }],
            ..Reply::default()
        };
        let one = [
            messages::system("You write Rust tests."),
            messages::user(question),
        ];
        let alone = chat(&one, &[], &reply).unwrap();
        assert_eq!(alone.source, UsageSource::Estimated);
        assert_eq!(
            alone.prompt_tokens,
            REPLY_PRIMING_TOKENS
                + 2 * FRAMING_TOKENS_PER_MESSAGE
                + count(bpe, "You write Rust tests.")
                + count(bpe, question)
        );
        assert_eq!(
            alone.completion_tokens,
            count(bpe, "Here they are.") + count(bpe, r#"{"code":"fn t() {}"}"#)
        );

        let run_code = [tools::run_code_tool("Runs the code.")];
        let with_tools = chat(&one, &run_code, &reply).unwrap();
        assert!(
            with_tools.prompt_tokens > alone.prompt_tokens + 10,
            "{with_tools:?}"
        );
        let mut longer = one.to_vec();
        longer.push(messages::assistant(&reply));
        longer.push(messages::tool_result("call_1", "error[E0425]: not found"));
        let later = chat(&longer, &run_code, &reply).unwrap();
        assert_eq!(
            later.prompt_tokens,
            with_tools.prompt_tokens
                + 2 * FRAMING_TOKENS_PER_MESSAGE
                + alone.completion_tokens
                + count(bpe, "run_code")
                + count(bpe, "error[E0425]: not found")
        );
    }
}
