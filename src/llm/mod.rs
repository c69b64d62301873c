//! Talking to an OpenAI-compatible chat completions server through async-openai.
//!
//! kiln owns retries (async-openai's built-in retry layer is replaced by a plain transport), so
//! every retry is visible as an event and bounded by kiln's own settings. Streaming is the
//! default for a low time to first token; a server that answers a streamed request with nothing
//! at all is asked again without streaming, and remembered.

mod error;
pub mod messages;
mod reply;
pub mod tools;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_openai::config::OpenAIConfig;
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::{
    ChatCompletionNamedToolChoice, ChatCompletionStreamOptions, ChatCompletionToolChoiceOption,
    ChatCompletionTools, CreateChatCompletionRequest,
};
use async_openai::Client;
use futures::StreamExt;

use crate::config::{Config, ConfigError, Models, Tier};
pub use error::LlmError;
pub use messages::Message;
pub use reply::{Reply, StreamAssembler, ToolCall, Usage};

/// Long enough for a slow local server to accept, short enough that a wrong port fails fast.
const CONNECT_TIMEOUT_MS: u64 = 10_000;
/// Retry delays never grow past this, whatever the attempt count.
const MAX_BACKOFF_MS: u64 = 30_000;

/// What happens inside one chat call, for front ends to show.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    /// The first byte of the answer arrived this long after the request was sent.
    FirstToken {
        after: Duration,
    },
    TextDelta(String),
    ToolArgumentsDelta(String),
    Retrying {
        retry: u32,
        of: u32,
        delay: Duration,
        reason: String,
    },
    /// The server sent an empty streamed reply; kiln asks again without streaming.
    StreamFallback,
    /// A chunk could not be parsed and was skipped rather than failing the whole reply.
    BadChunkSkipped(String),
}

pub struct ChatRequest<'a> {
    pub tier: Tier,
    pub messages: &'a [Message],
    pub tools: &'a [ChatCompletionTools],
    /// Forces this tool: small models answer in prose otherwise.
    pub force_tool: Option<&'a str>,
}

pub struct LlmClient {
    client: Client<OpenAIConfig>,
    base_url: String,
    models: Models,
    max_retries: u32,
    retry_base: Duration,
    stream_idle: Duration,
    max_output_tokens: Option<u32>,
    streaming_broken: AtomicBool,
}

impl LlmClient {
    pub fn new(config: &Config) -> Result<LlmClient, ConfigError> {
        let key = config.require_key()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
            .build()
            .unwrap_or_default();
        let openai_config = OpenAIConfig::new()
            .with_api_base(config.base_url.clone())
            .with_api_key(key);
        let client =
            Client::with_config(openai_config).with_http_service(ReqwestService::new(http));
        Ok(LlmClient {
            client,
            base_url: config.base_url.clone(),
            models: config.models.clone(),
            max_retries: config.max_retries,
            retry_base: config.retry_base,
            stream_idle: config.stream_idle,
            max_output_tokens: config.max_output_tokens,
            streaming_broken: AtomicBool::new(false),
        })
    }

    pub fn model(&self, tier: Tier) -> &str {
        self.models.for_tier(tier)
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// One model turn, retried on transient failures.
    pub async fn chat(
        &self,
        request: &ChatRequest<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Reply, LlmError> {
        let mut retry = 0;
        loop {
            match self.chat_once(request, on_event).await {
                Ok(reply) => return Ok(reply),
                Err(error) if error.is_retryable() && retry < self.max_retries => {
                    retry += 1;
                    let delay = error
                        .retry_after()
                        .unwrap_or_else(|| backoff(self.retry_base, retry));
                    on_event(LlmEvent::Retrying {
                        retry,
                        of: self.max_retries,
                        delay,
                        reason: error.to_string(),
                    });
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn chat_once(
        &self,
        request: &ChatRequest<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Reply, LlmError> {
        if !self.streaming_broken.load(Ordering::Relaxed) {
            let assembler = self.stream(request, on_event).await?;
            if !assembler.is_empty() {
                return Ok(assembler.finish());
            }
            self.streaming_broken.store(true, Ordering::Relaxed);
            on_event(LlmEvent::StreamFallback);
        }
        let started = Instant::now();
        let response = self
            .client
            .chat()
            .create(self.build(request, Streaming::No))
            .await
            .map_err(|e| LlmError::from_openai(e, &self.base_url))?;
        on_event(LlmEvent::FirstToken {
            after: started.elapsed(),
        });
        let reply = Reply::from_response(response);
        if !reply.content.is_empty() {
            on_event(LlmEvent::TextDelta(reply.content.clone()));
        }
        Ok(reply)
    }

    async fn stream(
        &self,
        request: &ChatRequest<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<StreamAssembler, LlmError> {
        let started = Instant::now();
        let mut stream = self
            .client
            .chat()
            .create_stream(self.build(request, Streaming::Yes))
            .await
            .map_err(|e| LlmError::from_openai(e, &self.base_url))?;
        let mut assembler = StreamAssembler::default();
        loop {
            let next = tokio::time::timeout(self.stream_idle, stream.next())
                .await
                .map_err(|_| LlmError::Idle(self.stream_idle))?;
            let chunk = match next {
                None => break,
                Some(Ok(chunk)) => chunk,
                // A chunk async-openai cannot parse arrives as an error while the stream goes
                // on; one odd chunk must not cost the whole reply.
                Some(Err(async_openai::error::OpenAIError::JSONDeserialize(e, content))) => {
                    on_event(LlmEvent::BadChunkSkipped(format!("{e}: {content}")));
                    continue;
                }
                Some(Err(e)) => return Err(LlmError::from_openai(e, &self.base_url)),
            };
            if assembler.is_empty() {
                on_event(LlmEvent::FirstToken {
                    after: started.elapsed(),
                });
            }
            let delta = assembler.push(chunk);
            if !delta.content.is_empty() {
                on_event(LlmEvent::TextDelta(delta.content));
            }
            if !delta.arguments.is_empty() {
                on_event(LlmEvent::ToolArgumentsDelta(delta.arguments));
            }
        }
        Ok(assembler)
    }

    fn build(
        &self,
        request: &ChatRequest<'_>,
        streaming: Streaming,
    ) -> CreateChatCompletionRequest {
        let tools = (!request.tools.is_empty()).then(|| request.tools.to_vec());
        let tool_choice = request.force_tool.map(|name| {
            ChatCompletionToolChoiceOption::Function(ChatCompletionNamedToolChoice::from(name))
        });
        let stream = matches!(streaming, Streaming::Yes);
        CreateChatCompletionRequest {
            model: self.model(request.tier).to_string(),
            messages: request.messages.to_vec(),
            tools,
            tool_choice,
            // The old field on purpose: llama-cpp-python, Ollama and vLLM read `max_tokens`;
            // OpenAI's reasoning models refuse it, and there no cap is set by default.
            #[allow(deprecated)]
            max_tokens: self.max_output_tokens,
            stream: Some(stream),
            stream_options: stream.then_some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            }),
            ..Default::default()
        }
    }
}

enum Streaming {
    Yes,
    No,
}

/// Exponential backoff with jitter, so many kiln processes hit by one outage do not retry in step.
fn backoff(base: Duration, retry: u32) -> Duration {
    let exponential = base.as_millis() as u64 * 2u64.saturating_pow(retry.saturating_sub(1));
    let capped = exponential.min(MAX_BACKOFF_MS);
    let jitter_range = capped / 4 + 1;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    Duration::from_millis(capped + nanos % jitter_range)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let first = backoff(base, 1);
        let third = backoff(base, 3);
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(126));
        assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(501));
        assert!(backoff(base, 40) <= Duration::from_millis(MAX_BACKOFF_MS * 5 / 4 + 1));
    }
}
