//! Talking to an OpenAI-compatible server through async-openai, over either wire a tier is
//! configured for: chat completions, or the Responses API (`responses/`).
//!
//! kiln owns retries (async-openai's built-in retry layer is replaced by a plain transport), so
//! every retry is visible as an event and bounded by kiln's own settings. Streaming is the
//! default for a low time to first token; a server that answers a streamed request with nothing
//! at all is asked again without streaming, and remembered. The two wires differ only in how a
//! turn is encoded and how its events are assembled ([`reply::Assemble`]): the retry loop, the
//! idle timeout, a cut stream and the fallback are one code path for both.

mod classify;
mod error;
mod estimate;
pub mod messages;
mod reply;
mod responses;
pub mod tools;
mod transport;
mod usage;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionNamedToolChoice, ChatCompletionStreamOptions, ChatCompletionToolChoiceOption,
    ChatCompletionTools, CreateChatCompletionRequest, Prompt,
};
use async_openai::types::completions::CreateCompletionRequest;
use async_openai::Client;
use futures::{Stream, StreamExt};

use crate::config::{Config, ConfigError, Price, Tier, WireApi};
pub use classify::{Classification, ClassifyPath};
pub use error::LlmError;
pub use messages::Message;
use reply::{Assemble, ChatAssembler};
pub use reply::{Reply, ToolCall};
use responses::ResponsesAssembler;
pub use usage::{Counted, TokenTotal, Usage, UsageSource};

/// A fill is at most a function body; a server left to run on would write the rest of the file.
const COMPLETION_MAX_TOKENS: u32 = 1_024;
/// A non-streamed reply may take this many `stream_idle` periods in all.
const WHOLE_REPLY_IDLE_PERIODS: u32 = 5;
/// Retry delays never grow past this, whatever the attempt count.
const MAX_BACKOFF_MS: u64 = 30_000;

/// What happens inside one chat call, for front ends to show.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    /// The first piece of a streamed answer arrived this long after the request was sent. Not
    /// sent for a reply that came whole (not streamed, or streamed all at its end): its time to
    /// first token is unknown.
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

#[derive(Clone, Copy)]
pub struct ChatRequest<'a> {
    pub tier: Tier,
    pub messages: &'a [Message],
    pub tools: &'a [ChatCompletionTools],
    /// Forces this tool: small models answer in prose otherwise.
    pub force_tool: Option<&'a str>,
    /// The reply these messages continue, on a wire whose server keeps replies (the Responses
    /// API): only the messages after it are sent. Chat completions send every message anyway.
    pub previous: Option<Previous<'a>>,
}

/// A reply the server keeps, and how much of the conversation it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Previous<'a> {
    pub response_id: &'a str,
    /// The leading messages that reply already holds: its input and its own answer.
    pub messages_held: usize,
}

/// A native fill-in-the-middle request: the model writes what goes between `prompt` and `suffix`.
pub struct CompletionRequest<'a> {
    pub tier: Tier,
    pub prompt: &'a str,
    pub suffix: &'a str,
}

/// One tier's server and model.
struct TierClient {
    client: Client<OpenAIConfig>,
    base_url: String,
    model: String,
    price: Option<Price>,
    wire: WireApi,
}

struct TierClients {
    nano: TierClient,
    mini: TierClient,
    full: TierClient,
}

pub struct LlmClient {
    tiers: TierClients,
    max_retries: u32,
    retry_base: Duration,
    stream_idle: Duration,
    max_output_tokens: Option<u32>,
    /// Servers seen to answer a streamed request with nothing: asked without streaming from then on.
    streaming_broken: AtomicBool,
    /// Servers seen to reject `response_format`: classified with prompt-only answers from then on.
    structured_output_broken: AtomicBool,
}

impl LlmClient {
    /// Fails when a tier needs a key that is not set, before any request is made.
    pub fn new(config: &Config) -> Result<LlmClient, ConfigError> {
        let http = transport::http_client();
        let tier_client = |tier: Tier| -> Result<TierClient, ConfigError> {
            let endpoint = config.endpoint(tier);
            let key = endpoint.require_key()?;
            Ok(TierClient {
                client: transport::client(&http, &endpoint.base_url, &key),
                base_url: endpoint.base_url,
                model: config.models.for_tier(tier).to_string(),
                price: config.price(tier),
                wire: config.wire_api(tier),
            })
        };
        Ok(LlmClient {
            tiers: TierClients {
                nano: tier_client(Tier::Nano)?,
                mini: tier_client(Tier::Mini)?,
                full: tier_client(Tier::Full)?,
            },
            max_retries: config.max_retries,
            retry_base: config.retry_base,
            stream_idle: config.stream_idle,
            max_output_tokens: config.max_output_tokens,
            streaming_broken: AtomicBool::new(false),
            structured_output_broken: AtomicBool::new(false),
        })
    }

    fn tier(&self, tier: Tier) -> &TierClient {
        match tier {
            Tier::Nano => &self.tiers.nano,
            Tier::Mini => &self.tiers.mini,
            Tier::Full => &self.tiers.full,
        }
    }

    pub fn model(&self, tier: Tier) -> &str {
        &self.tier(tier).model
    }

    pub fn base_url(&self, tier: Tier) -> &str {
        &self.tier(tier).base_url
    }

    pub fn price(&self, tier: Tier) -> Option<Price> {
        self.tier(tier).price
    }

    pub fn wire_api(&self, tier: Tier) -> WireApi {
        self.tier(tier).wire
    }

    /// One model turn, retried on transient failures.
    pub async fn chat(
        &self,
        request: &ChatRequest<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Reply, LlmError> {
        match self.with_retries(Call::Chat(request), on_event).await {
            // A server that keeps no replies (`store` off, a zero-retention organisation, or a
            // reply it has dropped) refuses to continue one; the whole conversation still works.
            Err(LlmError::Rejected { message, .. })
                if request.previous.is_some() && message.contains("revious response") =>
            {
                let whole = ChatRequest {
                    previous: None,
                    ..*request
                };
                self.with_retries(Call::Chat(&whole), on_event).await
            }
            other => other,
        }
    }

    /// One fill-in-the-middle completion (`POST /completions` with `suffix`), retried like a
    /// chat turn. The reply's `content` is the middle.
    pub async fn complete(
        &self,
        request: &CompletionRequest<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Reply, LlmError> {
        self.with_retries(Call::Completion(request), on_event).await
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are spent. The delay is
    /// the server's hint (`Retry-After`, "try again in 2s") when it gave one, else backoff. A
    /// reply without usage gets kiln's estimate of it.
    async fn with_retries(
        &self,
        call: Call<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Reply, LlmError> {
        let mut retry = 0;
        let mut cut_before = false;
        loop {
            let (result, header_hint) =
                transport::with_retry_hint(self.attempt(&call, on_event)).await;
            match result {
                Ok(reply) => return Ok(call.with_usage(reply)),
                // A stream cut twice is most likely the server failing on this very request
                // (seen with llama-cpp-python): asking a third time would fail the same way, so
                // the partial reply goes on to the loop, which tells the model what was wrong.
                Err(LlmError::CutShort(partial)) if cut_before => {
                    return Ok(call.with_usage(*partial))
                }
                Err(error) if error.is_retryable() && retry < self.max_retries => {
                    cut_before |= matches!(error, LlmError::CutShort(_));
                    retry += 1;
                    let delay = header_hint
                        .or_else(|| error.retry_after())
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

    async fn attempt(
        &self,
        call: &Call<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Reply, LlmError> {
        match call {
            Call::Chat(request) => self.chat_once(request, on_event).await,
            Call::Completion(request) => self.complete_once(request, on_event).await,
            Call::Plain { tier, request } => {
                let tier = self.tier(*tier);
                match tier.wire {
                    WireApi::Chat => Ok(Reply::from_response(
                        self.whole_reply(tier, tier.client.chat().create((*request).clone()))
                            .await?,
                    )),
                    WireApi::Responses => responses::reply_of(
                        self.whole_reply(
                            tier,
                            tier.client
                                .responses()
                                .create_byot(responses::encode_plain(request)),
                        )
                        .await?,
                    ),
                }
            }
        }
    }

    /// A reply that is not streamed shows no progress to judge idleness by, so it gets a bound on
    /// the whole: several idle periods, enough for a long answer from a slow local model.
    async fn whole_reply<T>(
        &self,
        tier: &TierClient,
        request: impl std::future::Future<Output = Result<T, async_openai::error::OpenAIError>>,
    ) -> Result<T, LlmError> {
        let limit = self.stream_idle * WHOLE_REPLY_IDLE_PERIODS;
        tokio::time::timeout(limit, request)
            .await
            .map_err(|_| LlmError::Idle(limit))?
            .map_err(|e| LlmError::from_openai(e, &tier.base_url))
    }

    async fn complete_once(
        &self,
        request: &CompletionRequest<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Reply, LlmError> {
        let tier = self.tier(request.tier);
        let response = self
            .whole_reply(
                tier,
                tier.client.completions().create(CreateCompletionRequest {
                    model: tier.model.clone(),
                    prompt: Prompt::String(request.prompt.to_string()),
                    suffix: Some(request.suffix.to_string()),
                    max_tokens: Some(COMPLETION_MAX_TOKENS),
                    stream: Some(false),
                    ..Default::default()
                }),
            )
            .await?;
        Ok(unstreamed(Reply::from_completion(response), on_event))
    }

    async fn chat_once(
        &self,
        request: &ChatRequest<'_>,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Reply, LlmError> {
        let tier = self.tier(request.tier);
        if !self.streaming_broken.load(Ordering::Relaxed) {
            // The chat() and responses() handles borrow the client only as long as the
            // statement that opens and reads the stream.
            let streamed = match tier.wire {
                WireApi::Chat => {
                    self.read_stream(
                        tier.client
                            .chat()
                            .create_stream(self.build(request, Streaming::Yes)),
                        ChatAssembler::default(),
                        tier,
                        on_event,
                    )
                    .await?
                }
                WireApi::Responses => {
                    self.read_stream(
                        tier.client
                            .responses()
                            .create_stream_byot(self.encode_responses(request, Streaming::Yes)),
                        ResponsesAssembler::default(),
                        tier,
                        on_event,
                    )
                    .await?
                }
            };
            if let Some(reply) = streamed {
                return Ok(reply);
            }
            self.streaming_broken.store(true, Ordering::Relaxed);
            on_event(LlmEvent::StreamFallback);
        }
        let reply = match tier.wire {
            WireApi::Chat => Reply::from_response(
                self.whole_reply(
                    tier,
                    tier.client
                        .chat()
                        .create(self.build(request, Streaming::No)),
                )
                .await?,
            ),
            WireApi::Responses => responses::reply_of(
                self.whole_reply(
                    tier,
                    tier.client
                        .responses()
                        .create_byot(self.encode_responses(request, Streaming::No)),
                )
                .await?,
            )?,
        };
        Ok(unstreamed(reply, on_event))
    }

    /// Opens a streamed reply, either wire's, and reads it event by event; the time to first
    /// token counts from the request. `None`: the server sent nothing
    /// at all. A stream silent for `stream_idle` is abandoned; an event that cannot be read is
    /// skipped (async-openai passes it on as an error while the stream goes on, and one odd
    /// event must not cost the whole reply); a stream that began and never ended is
    /// [`LlmError::CutShort`], holding what arrived.
    async fn read_stream<A: Assemble, S>(
        &self,
        opening: impl std::future::Future<Output = Result<S, async_openai::error::OpenAIError>>,
        mut assembler: A,
        tier: &TierClient,
        on_event: &mut (dyn FnMut(LlmEvent) + Send),
    ) -> Result<Option<Reply>, LlmError>
    where
        S: Stream<Item = Result<A::Chunk, async_openai::error::OpenAIError>> + Unpin,
    {
        let started = Instant::now();
        let mut stream = opening
            .await
            .map_err(|e| LlmError::from_openai(e, &tier.base_url))?;
        let mut first_token_seen = false;
        loop {
            let next = tokio::time::timeout(self.stream_idle, stream.next())
                .await
                .map_err(|_| LlmError::Idle(self.stream_idle))?;
            let chunk = match next {
                None => break,
                Some(Ok(chunk)) => chunk,
                Some(Err(async_openai::error::OpenAIError::JSONDeserialize(e, content))) => {
                    on_event(LlmEvent::BadChunkSkipped(format!("{e}: {content}")));
                    continue;
                }
                Some(Err(e)) => return Err(LlmError::from_openai(e, &tier.base_url)),
            };
            let delta = assembler.push(chunk)?;
            if delta.before_end && !first_token_seen {
                first_token_seen = true;
                on_event(LlmEvent::FirstToken {
                    after: started.elapsed(),
                });
            }
            if !delta.content.is_empty() {
                on_event(LlmEvent::TextDelta(delta.content));
            }
            if !delta.arguments.is_empty() {
                on_event(LlmEvent::ToolArgumentsDelta(delta.arguments));
            }
        }
        if assembler.is_empty() {
            return Ok(None);
        }
        if assembler.cut_short() {
            return Err(LlmError::CutShort(Box::new(assembler.finish())));
        }
        Ok(Some(assembler.finish()))
    }

    fn encode_responses(
        &self,
        request: &ChatRequest<'_>,
        streaming: Streaming,
    ) -> async_openai::types::responses::CreateResponse {
        responses::encode(
            self.model(request.tier),
            request,
            self.max_output_tokens,
            matches!(streaming, Streaming::Yes),
        )
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

/// Reports the text of a reply that arrived whole as if it had streamed. No first token: the
/// time to the whole reply is not the time to its first token, and kiln cannot know the latter.
fn unstreamed(reply: Reply, on_event: &mut (dyn FnMut(LlmEvent) + Send)) -> Reply {
    if !reply.content.is_empty() {
        on_event(LlmEvent::TextDelta(reply.content.clone()));
    }
    reply
}

/// One kind of request the retry loop can repeat.
enum Call<'a> {
    /// A tool-using turn, streamed where the server allows.
    Chat(&'a ChatRequest<'a>),
    /// A native fill-in-the-middle completion.
    Completion(&'a CompletionRequest<'a>),
    /// A prebuilt, non-streamed request (the nano gate).
    Plain {
        tier: Tier,
        request: &'a CreateChatCompletionRequest,
    },
}

impl Call<'_> {
    /// `reply` with kiln's estimate of its tokens when the server reported none.
    fn with_usage(&self, mut reply: Reply) -> Reply {
        if reply.usage.is_none() {
            reply.usage = match self {
                Call::Chat(request) => estimate::chat(request.messages, request.tools, &reply),
                Call::Completion(request) => {
                    estimate::completion(request.prompt, request.suffix, &reply)
                }
                Call::Plain { request, .. } => estimate::chat(
                    &request.messages,
                    request.tools.as_deref().unwrap_or_default(),
                    &reply,
                ),
            };
        }
        reply
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
