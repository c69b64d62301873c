//! What can go wrong talking to a model server, sorted by what to do about it.

use async_openai::error::OpenAIError;
use std::time::Duration;

/// OpenAI's code for a failure on its side, in a failed response or an error event.
const SERVER_ERROR_CODE: &str = "server_error";

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("cannot reach the model server at {url}: {detail}\n  Is it running? Check OPENAI_BASE_URL (or `base_url` in kiln.toml).")]
    Connect { url: String, detail: String },
    #[error("the connection to the model server failed: {0}")]
    Transport(String),
    /// The stream ended without a finish_reason: the connection was cut, or the server failed
    /// mid-reply. Holds what arrived.
    #[error("the stream ended before the reply was complete")]
    CutShort(Box<super::Reply>),
    #[error("the model server sent nothing for {0:?}")]
    Idle(Duration),
    #[error("rate limited by the model server: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("the model server failed (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("the model server refused the API key (HTTP {status}): {message}\n  Check the key in OPENAI_API_KEY (or the variable named by `api_key_env`).")]
    Auth { status: u16, message: String },
    #[error("the model server rejected the request (HTTP {status}): {message}\n  Check the model name for this tier (KILN_MODEL_MINI or [tiers] in kiln.toml) and the base URL.")]
    Rejected { status: u16, message: String },
    #[error("the conversation no longer fits the model's context (HTTP {status}): {message}\n  Use fewer attempts (--max-attempts), cap replies (max_output_tokens), or a model with a larger context.")]
    ContextTooLong { status: u16, message: String },
    /// The server began a reply (HTTP 200) and then ended it as failed: the Responses API's
    /// `response.failed` and `error` events.
    #[error("the model server failed the reply ({code}): {message}")]
    ReplyFailed { code: String, message: String },
    #[error("the model server sent something kiln cannot read: {0}")]
    Protocol(String),
}

impl LlmError {
    /// Worth another try: the server may be busy or the network may blink, but a 400 stays a 400.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::Connect { .. }
                | LlmError::Transport(_)
                | LlmError::CutShort(_)
                | LlmError::Idle(_)
                | LlmError::RateLimited { .. }
                | LlmError::Server { .. }
        ) || matches!(self, LlmError::ReplyFailed { code, .. } if code == SERVER_ERROR_CODE)
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A reply the server ended as failed, by the error code it gave: a rate limit waits as a
    /// 429 would, the server's own failure (`server_error`, or no code at all) is worth another
    /// try, anything else (a refused prompt, say) would fail the same way again.
    pub fn from_failed_reply(code: Option<&str>, message: String) -> LlmError {
        match code.filter(|c| !c.is_empty()) {
            Some("rate_limit_exceeded") => LlmError::RateLimited {
                retry_after: parse_try_again_in(&message),
                message,
            },
            code => LlmError::ReplyFailed {
                code: code.unwrap_or(SERVER_ERROR_CODE).to_string(),
                message,
            },
        }
    }

    pub fn from_openai(error: OpenAIError, url: &str) -> LlmError {
        match error {
            OpenAIError::ApiError(response) => {
                let status = response.status_code.as_u16();
                let message = response.api_error.message;
                match status {
                    429 => LlmError::RateLimited {
                        retry_after: parse_try_again_in(&message),
                        message,
                    },
                    401 | 403 => LlmError::Auth { status, message },
                    500..=599 if is_request_validation_failure(&message) => {
                        LlmError::Rejected { status, message }
                    }
                    500..=599 => LlmError::Server { status, message },
                    _ if is_context_overflow(&message, response.api_error.code.as_deref()) => {
                        LlmError::ContextTooLong { status, message }
                    }
                    _ => LlmError::Rejected { status, message },
                }
            }
            OpenAIError::Reqwest(e) if e.is_connect() => LlmError::Connect {
                url: url.to_string(),
                detail: error_chain(&e),
            },
            OpenAIError::Reqwest(e) => LlmError::Transport(error_chain(&e)),
            OpenAIError::StreamError(e) => LlmError::Transport(e.to_string()),
            OpenAIError::Boxed(e) => match e.downcast::<reqwest::Error>() {
                Ok(e) => LlmError::from_openai(OpenAIError::Reqwest(*e), url),
                Err(e) => LlmError::Transport(e.to_string()),
            },
            other => LlmError::Protocol(other.to_string()),
        }
    }
}

/// reqwest's top-level message ("error sending request") hides the cause users need to see
/// ("Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// OpenAI says `context_length_exceeded`; llama.cpp and vLLM say it in words.
fn is_context_overflow(message: &str, code: Option<&str>) -> bool {
    let message = message.to_lowercase();
    code == Some("context_length_exceeded")
        || message.contains("context length")
        || message.contains("context window")
        || message.contains("maximum context")
        || message.contains("exceed_context_size")
}

/// llama-cpp-python answers a request its pydantic model refuses (e.g. `response_format` of
/// type `json_schema`) with a 500 carrying "validation error" and the body field at fault. That
/// is a rejection of the request, not a transient failure: retrying it only wastes time, and
/// callers with a fallback (the nano gate's prompt-only path) must see it as a rejection.
fn is_request_validation_failure(message: &str) -> bool {
    message.contains("validation error") && message.contains("'body'")
}

/// OpenAI's 429 messages say "Please try again in 1.5s" or "in 20ms".
fn parse_try_again_in(message: &str) -> Option<Duration> {
    let rest = &message[message.find("try again in ")? + "try again in ".len()..];
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let value: f64 = number.parse().ok()?;
    let unit = &rest[number.len()..];
    let seconds = if unit.starts_with("ms") {
        value / 1000.0
    } else if unit.starts_with('s') {
        value
    } else {
        return None;
    };
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_openai_retry_hints() {
        assert_eq!(
            parse_try_again_in("Rate limit reached. Please try again in 1.5s. Visit..."),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_try_again_in("try again in 20ms"),
            Some(Duration::from_millis(20))
        );
        assert_eq!(parse_try_again_in("try again later"), None);
    }

    #[test]
    fn context_overflow_is_told_apart_from_a_bad_request() {
        assert!(is_context_overflow(
            "This model's maximum context length is 8192 tokens",
            None
        ));
        assert!(is_context_overflow(
            "Requested tokens (9000) exceed context window of 8192",
            None
        ));
        assert!(is_context_overflow(
            "too long",
            Some("context_length_exceeded")
        ));
        assert!(!is_context_overflow("model `nope` does not exist", None));
    }

    #[test]
    fn a_500_refusing_the_request_body_is_a_rejection() {
        let pydantic = "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', \
                        'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\"}";
        assert!(is_request_validation_failure(pydantic));
        assert!(!is_request_validation_failure("CUDA out of memory"));
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        assert!(LlmError::Server {
            status: 500,
            message: String::new()
        }
        .is_retryable());
        assert!(!LlmError::Rejected {
            status: 400,
            message: String::new()
        }
        .is_retryable());
        assert!(!LlmError::Auth {
            status: 401,
            message: String::new()
        }
        .is_retryable());
    }
}
