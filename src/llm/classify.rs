//! The nano gate: a cheap one-of-N answer for front ends ("does this change need tests?").
//!
//! Structured output (`response_format` json_schema, strict) pins the answer to the options where
//! the server supports it; a server that rejects it is remembered and asked in plain words instead,
//! with the answer read leniently.

use std::sync::atomic::Ordering;

use async_openai::types::chat::{
    CreateChatCompletionRequest, ResponseFormat, ResponseFormatJsonSchema,
};
use serde_json::json;

use super::{messages, Call, LlmClient, LlmError, LlmEvent, Usage};
use crate::config::Tier;
use crate::prompt::{self, CLASSIFY};

/// `{"answer": "<option>"}` is under a dozen tokens. Without a cap a small model asked a yes/no
/// question on the prompt-only path wrote paragraphs for ~20 s each (SmolLM2-135M), eating the
/// hook's time budget; a truncated ramble ends as the same honest "none of the options" error.
const CLASSIFY_MAX_OUTPUT_TOKENS: u32 = 32;

/// Which way the answer was obtained, so callers and tests can say which path a server takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifyPath {
    StructuredOutput,
    PromptOnly,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub answer: String,
    pub path: ClassifyPath,
    pub usage: Option<Usage>,
}

impl LlmClient {
    /// Asks the nano tier which of `options` answers `question`.
    pub async fn classify(
        &self,
        question: &str,
        options: &[&str],
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Classification, LlmError> {
        if options.is_empty() {
            return Err(LlmError::Protocol(
                "classify needs at least one option".to_string(),
            ));
        }
        if !self.structured_output_broken.load(Ordering::Relaxed) {
            match self
                .classify_once(question, options, ClassifyPath::StructuredOutput, on_event)
                .await
            {
                Err(LlmError::Rejected { .. }) => {
                    self.structured_output_broken.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        self.classify_once(question, options, ClassifyPath::PromptOnly, on_event)
            .await
    }

    async fn classify_once(
        &self,
        question: &str,
        options: &[&str],
        path: ClassifyPath,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Classification, LlmError> {
        let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
        let text = prompt::render(
            CLASSIFY,
            &[("options", &quoted.join(", ")), ("question", question)],
        )
        .map_err(|e| LlmError::Protocol(e.to_string()))?;
        let tier = self.tier(Tier::Nano);
        let response_format = match path {
            ClassifyPath::StructuredOutput => Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: None,
                    name: "answer".to_string(),
                    schema: json!({
                        "type": "object",
                        "properties": {"answer": {"type": "string", "enum": options}},
                        "required": ["answer"],
                        "additionalProperties": false
                    }),
                    strict: Some(true),
                },
            }),
            ClassifyPath::PromptOnly => None,
        };
        let request = CreateChatCompletionRequest {
            model: tier.model.clone(),
            messages: vec![messages::user(text)],
            response_format,
            // The old field, read by llama-cpp-python, Ollama and vLLM (see LlmClient::build).
            #[allow(deprecated)]
            max_tokens: Some(CLASSIFY_MAX_OUTPUT_TOKENS),
            stream: Some(false),
            ..Default::default()
        };
        let reply = self
            .with_retries(
                Call::Plain {
                    tier: Tier::Nano,
                    request: &request,
                },
                on_event,
            )
            .await?;
        let answer = pick_option(&reply.content, options).ok_or_else(|| {
            LlmError::Protocol(format!(
                "the nano model answered {:?}, which is none of {}",
                reply.content.trim(),
                quoted.join(", ")
            ))
        })?;
        Ok(Classification {
            answer,
            path,
            usage: reply.usage,
        })
    }
}

/// The option an answer names: `{"answer": ..}`, the bare option, or the one option it mentions.
fn pick_option(reply: &str, options: &[&str]) -> Option<String> {
    let trimmed = reply.trim();
    let from_json = serde_json::from_str::<serde_json::Value>(trimmed)
        .ok()
        .and_then(|v| v.get("answer").and_then(|a| a.as_str()).map(str::to_string));
    let candidate = from_json.unwrap_or_else(|| {
        trimmed
            .trim_matches(|c: char| matches!(c, '"' | '\'' | '.' | '`'))
            .to_string()
    });
    if let Some(exact) = options.iter().find(|o| o.eq_ignore_ascii_case(&candidate)) {
        return Some((*exact).to_string());
    }
    let lower = trimmed.to_lowercase();
    let mentioned: Vec<&&str> = options
        .iter()
        .filter(|o| {
            lower
                .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
                .any(|word| word == o.to_lowercase())
        })
        .collect();
    match mentioned.as_slice() {
        [only] => Some((**only).to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_answers_in_the_shapes_small_models_use() {
        let options = ["yes", "no"];
        assert_eq!(
            pick_option("{\"answer\": \"no\"}", &options).as_deref(),
            Some("no")
        );
        assert_eq!(pick_option("  Yes.\n", &options).as_deref(), Some("yes"));
        assert_eq!(
            pick_option("I think the answer is no", &options).as_deref(),
            Some("no")
        );
        assert_eq!(pick_option("yes or no, hard to say", &options), None);
        assert_eq!(pick_option("maybe", &options), None);
    }

    #[test]
    fn the_prompt_renders_with_options_and_question() {
        let text =
            prompt::render(CLASSIFY, &[("options", "\"a\", \"b\""), ("question", "Q?")]).unwrap();
        assert!(text.contains("\"a\", \"b\"") && text.contains("Question: Q?"));
    }
}
