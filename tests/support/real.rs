//! The real-model tier's shared pieces (tests/real_model*.rs): the server named by
//! `KILN_REAL_MODEL_URL`, the environment kiln gets for it, and the CLI checks every task shares.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use kiln::config::Config;
use kiln::llm::LlmClient;
use serde_json::Value;

use super::cli::{kiln_with_env, Run};

pub const URL_ENV: &str = "KILN_REAL_MODEL_URL";
pub const MAX_OUTPUT_TOKENS: u32 = 1024;
const MODELS_TIMEOUT_SECS: u64 = 10;

/// One request at a time: the server computes one reply at a time anyway, and the printed
/// speeds would mix two runs otherwise.
pub static SERVER_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The running server and the model id it reports.
pub struct RealModel {
    pub url: String,
    pub model: String,
}

impl RealModel {
    /// `None` (and a printed reason) when the tier is not configured. A configured server that
    /// does not answer fails the test: CI set the variable on purpose.
    pub async fn from_env(test: &str) -> Option<RealModel> {
        let Some(url) = std::env::var(URL_ENV).ok().filter(|u| !u.trim().is_empty()) else {
            eprintln!(
                "skipped {test}: {URL_ENV} is not set (see README, \"Testing against a real model\": \
                 `scripts/real-model.sh provision`, then `eval \"export $(scripts/real-model.sh start)\"`)"
            );
            return None;
        };
        let url = url.trim_end_matches('/').to_string();
        // In turn: while another test's request runs, the server can take longer than any
        // sensible timeout to answer even /models (CI saw a 10 s timeout expire that way).
        let _turn = SERVER_TURN.lock().await;
        let body = reqwest::Client::new()
            .get(format!("{url}/models"))
            .timeout(Duration::from_secs(MODELS_TIMEOUT_SECS))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{URL_ENV}={url}: GET /models failed: {e}"))
            .text()
            .await
            .unwrap();
        let models: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {url}/models is not JSON ({e}): {body}"));
        let model = models["data"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("GET {url}/models lists no model: {body}"))
            .to_string();
        eprintln!("{test}: real model `{model}` at {url}");
        Some(RealModel { url, model })
    }

    /// The environment kiln sees: this server for every tier, no key, no user config.
    pub fn env(&self, config_home: &Path) -> HashMap<String, String> {
        let mut env = HashMap::new();
        env.insert("OPENAI_BASE_URL".to_string(), self.url.clone());
        for tier in ["NANO", "MINI", "FULL"] {
            env.insert(format!("KILN_MODEL_{tier}"), self.model.clone());
        }
        // Without a cap this model can run on until the 8192-token context is full, and the
        // next turn then overflows it. A test module for the demo fits well within this.
        env.insert(
            "KILN_MAX_OUTPUT_TOKENS".to_string(),
            MAX_OUTPUT_TOKENS.to_string(),
        );
        // One request at a time, as the README advises for llama-cpp-python: two at once can
        // crash it (see real_model.rs, the batches test).
        env.insert("KILN_JOBS".to_string(), "1".to_string());
        env.insert(
            "XDG_CONFIG_HOME".to_string(),
            config_home.display().to_string(),
        );
        env
    }
}

impl RealModel {
    /// A config and client for this server, as kiln would load them in `crate_root`.
    pub fn client(&self, crate_root: &Path) -> (Config, LlmClient) {
        let config_home = tempfile::tempdir().unwrap();
        let env = self.env(config_home.path());
        let lookup = |name: &str| env.get(name).cloned();
        let config = Config::load(crate_root, &lookup).unwrap();
        let llm = LlmClient::new(&config).unwrap();
        (config, llm)
    }
}

/// Runs the real binary against the real model, under the same bound.
pub async fn run_cli(real: &RealModel, args: &[&str], extra_env: &[(&str, &str)]) -> (Run, Value) {
    let config_home = tempfile::tempdir().unwrap();
    let env = real.env(config_home.path());
    let pairs = cli_env(&env, extra_env);
    let _turn = SERVER_TURN.lock().await;
    let run = kiln_with_env(&real.url, args, &pairs).await;
    let json: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("--json output is not JSON ({e}):\n{}", run.describe()));
    (run, json)
}

/// `env` as the pairs the support runners take, then `extra_env`, last so it overrides.
pub fn cli_env<'a>(
    env: &'a HashMap<String, String>,
    extra_env: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // The support default (no retries) suits scripted servers; a real one may blink.
    pairs.push(("KILN_MAX_RETRIES", "2"));
    pairs.extend_from_slice(extra_env);
    pairs
}

/// `args` plus `--dry-run --json`: exit 0 (proposed) or 1 (no passing result), no panic,
/// counters that add up, and `file` byte-for-byte unchanged.
pub async fn cli_dry_run_ends_clearly(
    real: &RealModel,
    test: &str,
    args: &[&str],
    file: &Path,
    max_attempts: u32,
    extra_env: &[(&str, &str)],
) -> (Run, Value) {
    let before = std::fs::read(file).unwrap();
    let mut all = args.to_vec();
    all.extend(["--dry-run", "--json"]);
    let started = Instant::now();
    let (run, json) = run_cli(real, &all, extra_env).await;
    eprintln!(
        "{test}: exit {:?} in {:.1} s: outcome {} after {} attempt(s); tiers {}",
        run.code,
        started.elapsed().as_secs_f64(),
        json["outcome"],
        json["attempts"],
        json["tiers"]
    );

    eprintln!("{test}: kiln's progress:\n{}", run.stderr.trim_end());

    let expected_outcome = match run.code {
        Some(0) => "proposed",
        Some(1) => "no_passing_result",
        _ => panic!("expected exit 0 or 1:\n{}", run.describe()),
    };
    assert_eq!(json["outcome"], expected_outcome, "{}", run.describe());
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    let attempts = json["attempts"].as_u64().unwrap();
    assert!((1..=u64::from(max_attempts)).contains(&attempts));
    // The CLI escalates from mini to full, so the counters add up over the tiers together.
    let tiers = json["tiers"].as_object().unwrap();
    let count = |field: &str| -> u64 { tiers.values().map(|t| t[field].as_u64().unwrap()).sum() };
    assert_eq!(count("requests"), attempts, "{tiers:?}");
    assert_eq!(
        count("tool_calls_well_formed")
            + count("tool_calls_repaired")
            + count("tool_calls_rejected")
            + count("no_tool_call"),
        count("requests"),
        "{tiers:?}"
    );
    // Tokens are counted even where the server reports none (llama-cpp-python): never zero,
    // and labelled by who counted them, per tier, per request and on the usage line.
    for (tier, stats) in tiers {
        assert!(
            stats["prompt_tokens"].as_u64().unwrap() > 0,
            "{tier}: {stats}"
        );
        let source = stats["usage_source"].as_str().unwrap_or_default();
        assert!(
            ["server", "estimated", "mixed"].contains(&source),
            "{tier}: {stats}"
        );
        let per_request = stats["per_request"].as_array().unwrap();
        assert!(
            per_request.iter().all(|r| r["usage_source"].is_string()),
            "{tier}: {stats}"
        );
        if source != "server" {
            assert!(run.stderr.contains("estimated)"), "{}", run.describe());
        }
    }
    assert_eq!(
        std::fs::read(file).unwrap(),
        before,
        "{test} wrote the file"
    );
    (run, json)
}
