//! The HTTP layer under async-openai: a plain reqwest transport (async-openai's own retry layer is
//! left out so that retrying is kiln's decision, visible and bounded) that also notes a
//! `Retry-After` header, which async-openai's error type drops.

use std::cell::Cell;
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::Client;

/// Long enough for a slow local server to accept, short enough that a wrong port fails fast.
const CONNECT_TIMEOUT_MS: u64 = 10_000;

tokio::task_local! {
    /// Set by the transport when a response carries a retry hint; read by the retry loop of the
    /// same task. Task-local, so concurrent requests never see each other's hints.
    static RETRY_HINT: Cell<Option<Duration>>;
}

/// One HTTP client for all tiers: one connection pool, and TLS roots loaded once (that load is
/// the costly part of building a client).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
        .build()
        .unwrap_or_default()
}

pub fn client(http: &reqwest::Client, base_url: &str, api_key: &str) -> Client<OpenAIConfig> {
    let http = http.clone();
    let service = tower::service_fn(move |factory: HttpRequestFactory| {
        let http = http.clone();
        async move {
            let request = factory.build().await?;
            let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
            if let Some(delay) = retry_hint(response.headers()) {
                let _ = RETRY_HINT.try_with(|hint| hint.set(Some(delay)));
            }
            Ok::<_, OpenAIError>(response)
        }
    });
    let config = OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(api_key);
    Client::with_config(config).with_http_service(service)
}

/// Runs `future` with a fresh hint slot and returns its output with any hint the server gave.
pub async fn with_retry_hint<T>(
    future: impl std::future::Future<Output = T>,
) -> (T, Option<Duration>) {
    RETRY_HINT
        .scope(Cell::new(None), async {
            let output = future.await;
            (output, RETRY_HINT.with(Cell::get))
        })
        .await
}

/// `retry-after-ms` (OpenAI and Azure send it) or `Retry-After` in seconds.
fn retry_hint(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let read = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    if let Some(ms) = read("retry-after-ms").filter(|ms| ms.is_finite() && *ms >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    read("retry-after")
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn reads_both_retry_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_hint(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_hint(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_hint(&headers), Some(Duration::from_millis(150)));
        let mut dated = HeaderMap::new();
        dated.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_hint(&dated), None);
    }
}
