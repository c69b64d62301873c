//! Building kiln's real LLM client against a scripted server, for library-level tests.

use std::collections::HashMap;
use std::path::Path;

use kiln::config::Config;
use kiln::llm::LlmClient;

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
    LlmClient::new(&config(base_url, overrides)).unwrap()
}
