//! Building kiln's real LLM client against a scripted server, for library-level tests.

use std::collections::HashMap;
use std::path::Path;

use kiln::config::{Config, Tier, WireApi};
use kiln::llm::{ClassifyPath, LlmClient};

use super::{Reply, ScriptedServer};

/// A config that talks only to `base_url`, reads no user or repo config, and retries quickly.
pub fn config(base_url: &str, overrides: &[(&str, &str)]) -> Config {
    let empty = tempfile::tempdir().unwrap();
    let mut env: HashMap<String, String> = [
        ("OPENAI_BASE_URL", base_url),
        ("OPENAI_API_KEY", "test-key"),
        ("XDG_CONFIG_HOME", empty.path().to_str().unwrap()),
        ("KILN_RETRY_BASE_MS", "5"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    Config::load(Path::new("/"), &|name| env.get(name).cloned()).unwrap()
}

pub fn client(base_url: &str, overrides: &[(&str, &str)]) -> LlmClient {
    client_on(WireApi::Chat, base_url, overrides)
}

/// [`client`] with every tier speaking `wire`.
pub fn client_on(wire: WireApi, base_url: &str, overrides: &[(&str, &str)]) -> LlmClient {
    let mut config = config(base_url, overrides);
    for tier in Tier::ALL {
        config.tiers.entry(tier).or_default().wire_api = Some(wire);
    }
    LlmClient::new(&config).unwrap()
}

/// The nano gate meets `rejection` on its structured-output request: it must answer q1 on the
/// prompt-only path with no retry of the rejection (even with `max_retries` allowed), and
/// remember it, sending q2 straight to the prompt-only path. Returns the requests sent.
pub async fn classify_falls_back_to_prompt_only_after(
    wire: WireApi,
    rejection: Reply,
    max_retries: &str,
) -> Vec<serde_json::Value> {
    let server = ScriptedServer::start().await;
    server.push(rejection);
    server.push(Reply::text("Yes."));
    server.push(Reply::text("no"));
    let llm = client_on(
        wire,
        &server.base_url(),
        &[("KILN_MAX_RETRIES", max_retries)],
    );
    let first = llm
        .classify("q1", &["yes", "no"], &mut |_| {})
        .await
        .unwrap();
    let second = llm
        .classify("q2", &["yes", "no"], &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (first.answer.as_str(), first.path),
        ("yes", ClassifyPath::PromptOnly)
    );
    assert_eq!(
        (second.answer.as_str(), second.path),
        ("no", ClassifyPath::PromptOnly)
    );
    let sent = server.model_requests();
    assert_eq!(
        sent.len(),
        3,
        "no retry of the rejection, and q2 goes straight to the prompt-only path"
    );
    for prompt_only in &sent[1..] {
        for format in ["response_format", "text"] {
            assert!(prompt_only.get(format).is_none(), "{prompt_only}");
        }
    }
    sent
}
