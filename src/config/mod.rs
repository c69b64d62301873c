//! Settings: built-in defaults, then `kiln.toml` found upward from the crate being worked on, then
//! `~/.config/kiln/config.toml`, then environment variables. Later sources win.
//!
//! The key is only ever read from the environment (or a named variable), never from a config file,
//! so a committed `kiln.toml` cannot leak one.

mod file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use self::file::FileConfig;

/// The public OpenAI endpoint: the only one where a missing key is certainly an error.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
pub const DEFAULT_SANDBOX_TIMEOUT_SECS: u64 = 120;
/// A stream that says nothing for this long is treated as dead and retried.
pub const DEFAULT_STREAM_IDLE_SECS: u64 = 60;
pub const DEFAULT_MAX_RETRIES: u32 = 4;
pub const DEFAULT_RETRY_BASE_MS: u64 = 250;
/// Failed attempts on the working tier before the next attempt goes to the full model.
/// Functions per gen-tests request; more are split into batches (a small model stays on task
/// with a handful, and each batch's prompt stays small).
pub const DEFAULT_BATCH_SIZE: u32 = 5;
/// Batches talking to the model at once.
pub const DEFAULT_JOBS: u32 = 4;
/// gen-tests on more functions than this asks first (or, with no terminal, stops): a whole big
/// file is hundreds of requests.
pub const DEFAULT_MAX_FUNCTIONS: u32 = 50;
pub const DEFAULT_ESCALATE_AFTER: u32 = 2;
/// The git hook's total time for model work before the commit goes ahead unchecked.
pub const DEFAULT_HOOK_BUDGET_SECS: u64 = 60;
/// Files longer than this are sent to the model as extracted context, never whole.
pub const WHOLE_FILE_MAX_LINES: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: `{key} = {value}` is not valid: expected {expected}")]
    Value {
        path: PathBuf,
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("environment variable {name}={value:?} is not valid: expected {expected}")]
    Env {
        name: String,
        value: String,
        expected: &'static str,
    },
    #[error(
        "no API key: {key_env} is not set.\n  Set it with `export {key_env}=sk-...`,\n  or point kiln at a local OpenAI-compatible server, e.g. `export OPENAI_BASE_URL=http://127.0.0.1:8080/v1`"
    )]
    MissingKey { key_env: String },
}

pub type Result<T> = std::result::Result<T, ConfigError>;

/// Which model class does a step. Nano gates and classifies, mini does the work, full is an escalation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Nano,
    Mini,
    Full,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Nano, Tier::Mini, Tier::Full];

    pub fn name(self) -> &'static str {
        match self {
            Tier::Nano => "nano",
            Tier::Mini => "mini",
            Tier::Full => "full",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How fill-in-the-middle asks the model: through chat with a marked hole (any chat model), or
/// through a native completions endpoint that takes a `suffix` (code models on llama.cpp, vLLM).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FimMode {
    #[default]
    Chat,
    Completions,
}

impl std::str::FromStr for FimMode {
    type Err = ();

    fn from_str(text: &str) -> std::result::Result<FimMode, ()> {
        match text {
            "chat" => Ok(FimMode::Chat),
            "completions" => Ok(FimMode::Completions),
            _ => Err(()),
        }
    }
}

/// Which API a tier's requests speak. Chat completions is what every OpenAI-compatible server
/// (llama.cpp, Ollama, vLLM) serves; the Responses API is OpenAI's, where a reasoning model keeps
/// its reasoning from one turn to the next (`previous_response_id`), so a repair round resends
/// neither the conversation nor the thinking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WireApi {
    #[default]
    Chat,
    Responses,
}

impl WireApi {
    /// How kiln.toml spells it.
    pub fn name(self) -> &'static str {
        match self {
            WireApi::Chat => "chat",
            WireApi::Responses => "responses",
        }
    }

    /// The endpoint under the base URL, as `kiln doctor` shows it.
    pub fn path(self) -> &'static str {
        match self {
            WireApi::Chat => "/chat/completions",
            WireApi::Responses => "/responses",
        }
    }
}

impl std::str::FromStr for WireApi {
    type Err = ();

    fn from_str(text: &str) -> std::result::Result<WireApi, ()> {
        match text {
            "chat" => Ok(WireApi::Chat),
            "responses" => Ok(WireApi::Responses),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Models {
    pub nano: String,
    pub mini: String,
    pub full: String,
}

impl Models {
    pub fn for_tier(&self, tier: Tier) -> &str {
        match tier {
            Tier::Nano => &self.nano,
            Tier::Mini => &self.mini,
            Tier::Full => &self.full,
        }
    }

    fn set(&mut self, tier: Tier, model: String) {
        match tier {
            Tier::Nano => self.nano = model,
            Tier::Mini => self.mini = model,
            Tier::Full => self.full = model,
        }
    }
}

/// Dollars per million tokens, for cost accounting and `--max-cost`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Price {
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_per_mtok
            + completion_tokens as f64 * self.output_per_mtok)
            / 1_000_000.0
    }
}

/// Per-tier overrides: a tier may use another server and key than the others (say, mini on a
/// local server, full on OpenAI).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TierSettings {
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub api_key: Option<String>,
    pub price: Option<Price>,
    /// `None`: chat completions.
    pub wire_api: Option<WireApi>,
}

/// Where one tier's requests go.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub base_url: String,
    pub api_key_env: String,
    pub api_key: Option<String>,
}

impl Endpoint {
    /// The key to send. Local servers usually need none, so only the public endpoint insists.
    pub fn require_key(&self) -> Result<String> {
        match &self.api_key {
            Some(key) => Ok(key.clone()),
            None if self.base_url.contains("api.openai.com") => Err(ConfigError::MissingKey {
                key_env: self.api_key_env.clone(),
            }),
            None => Ok(String::new()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub base_url: String,
    /// Name of the variable holding the key, so users with several keys can pick one.
    pub api_key_env: String,
    pub api_key: Option<String>,
    pub models: Models,
    pub tiers: BTreeMap<Tier, TierSettings>,
    pub max_attempts: u32,
    pub escalate_after: u32,
    pub sandbox_timeout: Duration,
    pub stream_idle: Duration,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub fim: FimMode,
    /// Caps each reply. Small local models can run on until the context is full, and the next
    /// turn then no longer fits; `None` sends no cap.
    pub max_output_tokens: Option<u32>,
    pub hook_budget: Duration,
    /// gen-tests: functions per request, and batches asked at once (`1` for a local server
    /// that answers one request at a time).
    pub batch_size: u32,
    pub jobs: u32,
    /// gen-tests on more functions than this needs consent (see [`DEFAULT_MAX_FUNCTIONS`]).
    pub max_functions: u32,
    /// The config files that were read, for `--verbose` and error messages.
    pub sources: Vec<PathBuf>,
}

impl Config {
    /// Every API key the config holds, from the environment or a config file: the sandbox
    /// redacts them from what a run prints, also a key that no environment variable names.
    pub fn api_keys(&self) -> Vec<String> {
        let tier_keys = self.tiers.values().filter_map(|tier| tier.api_key.clone());
        self.api_key.clone().into_iter().chain(tier_keys).collect()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: OPENAI_BASE_URL.to_string(),
            api_key_env: "OPENAI_API_KEY".to_string(),
            api_key: None,
            models: Models {
                nano: "gpt-5.4-nano".to_string(),
                mini: "gpt-5.4-mini".to_string(),
                full: "gpt-5.4".to_string(),
            },
            tiers: BTreeMap::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            escalate_after: DEFAULT_ESCALATE_AFTER,
            sandbox_timeout: Duration::from_secs(DEFAULT_SANDBOX_TIMEOUT_SECS),
            stream_idle: Duration::from_secs(DEFAULT_STREAM_IDLE_SECS),
            max_retries: DEFAULT_MAX_RETRIES,
            retry_base: Duration::from_millis(DEFAULT_RETRY_BASE_MS),
            fim: FimMode::default(),
            max_output_tokens: None,
            hook_budget: Duration::from_secs(DEFAULT_HOOK_BUDGET_SECS),
            batch_size: DEFAULT_BATCH_SIZE,
            jobs: DEFAULT_JOBS,
            max_functions: DEFAULT_MAX_FUNCTIONS,
            sources: Vec::new(),
        }
    }
}

impl Config {
    /// Loads the layered configuration for work on the crate at `start_dir`. `env` is a lookup
    /// function rather than `std::env::var` so tests can run in parallel without touching the
    /// process environment.
    pub fn load(start_dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let mut config = Config::default();
        let mut files = Vec::new();
        if let Some(explicit) = env("KILN_CONFIG") {
            files.push(PathBuf::from(explicit));
        } else {
            if let Some(user) = user_config_path(env) {
                files.push(user);
            }
            if let Some(repo) = find_upward(start_dir, "kiln.toml") {
                files.push(repo);
            }
        }
        // User config first so the repo's file, read second, wins.
        for path in files.into_iter().filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
            config.apply_file(file).map_err(|bad| ConfigError::Value {
                path: path.clone(),
                key: bad.key,
                value: bad.value,
                expected: bad.expected,
            })?;
            config.sources.push(path);
        }
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        set(&mut self.base_url, env("OPENAI_BASE_URL"));
        set(&mut self.models.nano, env("KILN_MODEL_NANO"));
        set(&mut self.models.mini, env("KILN_MODEL_MINI"));
        set(&mut self.models.full, env("KILN_MODEL_FULL"));
        set(&mut self.max_attempts, parse_env(env, "KILN_MAX_ATTEMPTS")?);
        set(
            &mut self.escalate_after,
            parse_env(env, "KILN_ESCALATE_AFTER")?,
        );
        set(
            &mut self.sandbox_timeout,
            parse_env(env, "KILN_SANDBOX_TIMEOUT_SECS")?.map(Duration::from_secs),
        );
        set(
            &mut self.stream_idle,
            parse_env(env, "KILN_STREAM_IDLE_SECS")?.map(Duration::from_secs),
        );
        set(&mut self.max_retries, parse_env(env, "KILN_MAX_RETRIES")?);
        set(
            &mut self.batch_size,
            parse_env(env, "KILN_BATCH_SIZE")?.map(at_least_one),
        );
        set(
            &mut self.jobs,
            parse_env(env, "KILN_JOBS")?.map(at_least_one),
        );
        set(
            &mut self.max_functions,
            parse_env(env, "KILN_MAX_FUNCTIONS")?,
        );
        set(
            &mut self.retry_base,
            parse_env(env, "KILN_RETRY_BASE_MS")?.map(Duration::from_millis),
        );
        if let Some(value) = env("KILN_FIM") {
            self.fim = value.trim().parse().map_err(|()| ConfigError::Env {
                name: "KILN_FIM".to_string(),
                value,
                expected: "`chat` or `completions`",
            })?;
        }
        set(
            &mut self.max_output_tokens,
            parse_env(env, "KILN_MAX_OUTPUT_TOKENS")?.map(Some),
        );
        let read_key = |name: &str| env(name).filter(|k| !k.trim().is_empty());
        self.api_key = read_key(&self.api_key_env);
        self.base_url = self.base_url.trim_end_matches('/').to_string();
        for settings in self.tiers.values_mut() {
            if let Some(name) = &settings.api_key_env {
                settings.api_key = read_key(name);
            }
        }
        Ok(())
    }

    /// The server, key variable and key for `tier`: its own where it has them, else the shared ones.
    pub fn endpoint(&self, tier: Tier) -> Endpoint {
        let own = self.tiers.get(&tier);
        let base_url = own
            .and_then(|t| t.base_url.as_deref())
            .unwrap_or(&self.base_url)
            .trim_end_matches('/')
            .to_string();
        match own.and_then(|t| t.api_key_env.clone()) {
            Some(api_key_env) => Endpoint {
                base_url,
                api_key: own.and_then(|t| t.api_key.clone()),
                api_key_env,
            },
            None => Endpoint {
                base_url,
                api_key_env: self.api_key_env.clone(),
                api_key: self.api_key.clone(),
            },
        }
    }

    pub fn price(&self, tier: Tier) -> Option<Price> {
        self.tiers.get(&tier).and_then(|t| t.price)
    }

    pub fn wire_api(&self, tier: Tier) -> WireApi {
        self.tiers
            .get(&tier)
            .and_then(|t| t.wire_api)
            .unwrap_or_default()
    }
}

/// A count of zero would mean no work at all; it is taken as one.
fn at_least_one(n: u32) -> u32 {
    n.max(1)
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn parse_env<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<T>> {
    match env(name) {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ConfigError::Env {
                name: name.to_string(),
                value,
                expected: "a whole number",
            }),
    }
}

fn user_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("kiln").join("config.toml"))
}

fn find_upward(start: &Path, name: &str) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests;
