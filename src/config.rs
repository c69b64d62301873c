//! Settings: built-in defaults, then `kiln.toml` found upward from the crate being worked on, then
//! `~/.config/kiln/config.toml`, then environment variables. Later sources win.
//!
//! The key is only ever read from the environment (or a named variable), never from a config file,
//! so a committed `kiln.toml` cannot leak one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

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
            sources: Vec::new(),
        }
    }
}

/// The shape of a config file; every field is optional so a file only says what it changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    base_url: Option<String>,
    api_key_env: Option<String>,
    max_attempts: Option<u32>,
    escalate_after: Option<u32>,
    sandbox_timeout_secs: Option<u64>,
    stream_idle_secs: Option<u64>,
    max_retries: Option<u32>,
    retry_base_ms: Option<u64>,
    fim: Option<FimMode>,
    max_output_tokens: Option<u32>,
    hook_budget_secs: Option<u64>,
    batch_size: Option<u32>,
    jobs: Option<u32>,
    #[serde(default)]
    tiers: FileTiers,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTiers {
    nano: Option<FileTier>,
    mini: Option<FileTier>,
    full: Option<FileTier>,
}

/// `mini = "name"` for just a model, or a table for a tier with its own server, key or price.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileTier {
    Model(String),
    Table(FileTierTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTierTable {
    model: Option<String>,
    base_url: Option<String>,
    api_key_env: Option<String>,
    price_in_per_mtok: Option<f64>,
    price_out_per_mtok: Option<f64>,
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
            config.apply_file(file);
            config.sources.push(path);
        }
        config.apply_env(env)?;
        Ok(config)
    }

    fn apply_file(&mut self, file: FileConfig) {
        let FileConfig {
            base_url,
            api_key_env,
            max_attempts,
            escalate_after,
            sandbox_timeout_secs,
            stream_idle_secs,
            max_retries,
            retry_base_ms,
            fim,
            max_output_tokens,
            hook_budget_secs,
            batch_size,
            jobs,
            tiers,
        } = file;
        set(&mut self.batch_size, batch_size.map(at_least_one));
        set(&mut self.jobs, jobs.map(at_least_one));
        set(
            &mut self.hook_budget,
            hook_budget_secs.map(Duration::from_secs),
        );
        set(&mut self.escalate_after, escalate_after);
        set(&mut self.fim, fim);
        set(&mut self.base_url, base_url);
        set(&mut self.api_key_env, api_key_env);
        set(&mut self.max_attempts, max_attempts);
        set(
            &mut self.sandbox_timeout,
            sandbox_timeout_secs.map(Duration::from_secs),
        );
        set(
            &mut self.stream_idle,
            stream_idle_secs.map(Duration::from_secs),
        );
        set(&mut self.max_retries, max_retries);
        set(
            &mut self.retry_base,
            retry_base_ms.map(Duration::from_millis),
        );
        set(&mut self.max_output_tokens, max_output_tokens.map(Some));
        for (tier, file_tier) in [
            (Tier::Nano, tiers.nano),
            (Tier::Mini, tiers.mini),
            (Tier::Full, tiers.full),
        ] {
            match file_tier {
                None => {}
                Some(FileTier::Model(model)) => self.models.set(tier, model),
                Some(FileTier::Table(table)) => self.apply_tier_table(tier, table),
            }
        }
    }

    fn apply_tier_table(&mut self, tier: Tier, table: FileTierTable) {
        if let Some(model) = table.model {
            self.models.set(tier, model);
        }
        let settings = self.tiers.entry(tier).or_default();
        set(&mut settings.base_url, table.base_url.map(Some));
        set(&mut settings.api_key_env, table.api_key_env.map(Some));
        if let (Some(input), Some(output)) = (table.price_in_per_mtok, table.price_out_per_mtok) {
            settings.price = Some(Price {
                input_per_mtok: input,
                output_per_mtok: output,
            });
        }
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
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_apply_without_files_or_env() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().display().to_string();
        let config = Config::load(dir.path(), &env_of(&[("HOME", &home)])).unwrap();
        assert_eq!(config.models.mini, "gpt-5.4-mini");
        assert_eq!(config.max_attempts, DEFAULT_MAX_ATTEMPTS);
        assert!(config.sources.is_empty());
    }

    #[test]
    fn repo_file_overrides_user_file_and_env_overrides_both() {
        let home = tempfile::tempdir().unwrap();
        let user_dir = home.path().join(".config/kiln");
        std::fs::create_dir_all(&user_dir).unwrap();
        std::fs::write(
            user_dir.join("config.toml"),
            "max_attempts = 9\n[tiers]\nmini = \"user-mini\"\nfull = \"user-full\"\n",
        )
        .unwrap();
        let repo = tempfile::tempdir().unwrap();
        let nested = repo.path().join("src");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(
            repo.path().join("kiln.toml"),
            "max_output_tokens = 700\n[tiers]\nmini = \"repo-mini\"\n",
        )
        .unwrap();
        let home_str = home.path().display().to_string();
        let env = env_of(&[("HOME", &home_str), ("KILN_MODEL_FULL", "env-full")]);
        let config = Config::load(&nested, &env).unwrap();
        assert_eq!(config.models.mini, "repo-mini");
        assert_eq!(config.models.full, "env-full");
        assert_eq!(config.max_attempts, 9);
        assert_eq!(config.max_output_tokens, Some(700));
        assert_eq!(config.sources.len(), 2);
    }

    #[test]
    fn unknown_keys_in_a_file_are_an_error_naming_the_file() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::write(repo.path().join("kiln.toml"), "max_atempts = 3\n").unwrap();
        let err = Config::load(repo.path(), &env_of(&[])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("kiln.toml"), "{message}");
        assert!(message.contains("max_atempts"), "{message}");
    }

    #[test]
    fn fim_mode_comes_from_the_file_or_the_environment() {
        let repo = tempfile::tempdir().unwrap();
        assert_eq!(
            Config::load(repo.path(), &env_of(&[])).unwrap().fim,
            FimMode::Chat
        );
        std::fs::write(repo.path().join("kiln.toml"), "fim = \"completions\"\n").unwrap();
        let config = Config::load(repo.path(), &env_of(&[])).unwrap();
        assert_eq!(config.fim, FimMode::Completions);
        let env = env_of(&[("KILN_FIM", "chat")]);
        assert_eq!(Config::load(repo.path(), &env).unwrap().fim, FimMode::Chat);
        let bad = Config::load(repo.path(), &env_of(&[("KILN_FIM", "fim")])).unwrap_err();
        assert!(bad.to_string().contains("`chat` or `completions`"), "{bad}");
    }

    #[test]
    fn the_hook_budget_defaults_to_a_minute_and_the_file_can_change_it() {
        let repo = tempfile::tempdir().unwrap();
        let config = Config::load(repo.path(), &env_of(&[])).unwrap();
        assert_eq!(config.hook_budget, Duration::from_secs(60));
        std::fs::write(repo.path().join("kiln.toml"), "hook_budget_secs = 5\n").unwrap();
        let config = Config::load(repo.path(), &env_of(&[])).unwrap();
        assert_eq!(config.hook_budget, Duration::from_secs(5));
    }

    #[test]
    fn bad_numbers_in_env_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load(dir.path(), &env_of(&[("KILN_MAX_ATTEMPTS", "four")])).unwrap_err();
        assert!(err.to_string().contains("KILN_MAX_ATTEMPTS"));
    }

    #[test]
    fn missing_key_is_an_error_only_for_the_public_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let public = Config::load(dir.path(), &env_of(&[])).unwrap();
        let err = public
            .endpoint(Tier::Mini)
            .require_key()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("OPENAI_API_KEY") && err.contains("OPENAI_BASE_URL"),
            "{err}"
        );

        let local = Config::load(
            dir.path(),
            &env_of(&[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")]),
        )
        .unwrap();
        assert_eq!(local.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(local.endpoint(Tier::Mini).require_key().unwrap(), "");
    }

    /// The README's example is what users copy; it must load and mean what it says.
    #[test]
    fn the_readme_example_config_loads() {
        let readme = include_str!("../README.md");
        let start = readme.find("```toml\n# kiln.toml").unwrap() + "```toml\n".len();
        let example = &readme[start..start + readme[start..].find("```").unwrap()];
        let repo = tempfile::tempdir().unwrap();
        std::fs::write(repo.path().join("kiln.toml"), example).unwrap();
        let config = Config::load(repo.path(), &env_of(&[])).unwrap();
        assert_eq!(config.base_url, "http://127.0.0.1:8080/v1");
        assert_eq!(config.escalate_after, 2);
        assert_eq!((config.batch_size, config.jobs), (5, 1));
        assert_eq!(config.models.full, "gpt-5.4");
        assert_eq!(
            config.endpoint(Tier::Full).base_url,
            "https://api.openai.com/v1"
        );
        assert!(config.price(Tier::Full).is_some());
    }

    #[test]
    fn a_tier_can_have_its_own_server_key_and_price() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::write(
            repo.path().join("kiln.toml"),
            "base_url = \"http://127.0.0.1:8080/v1\"\n\
             [tiers]\nmini = \"local-coder\"\n\
             [tiers.full]\nmodel = \"big\"\nbase_url = \"https://api.openai.com/v1/\"\n\
             api_key_env = \"FULL_KEY\"\nprice_in_per_mtok = 2.0\nprice_out_per_mtok = 8.0\n",
        )
        .unwrap();
        let config = Config::load(repo.path(), &env_of(&[("FULL_KEY", "sk-full")])).unwrap();
        assert_eq!(config.models.mini, "local-coder");
        assert_eq!(config.models.full, "big");
        assert_eq!(
            config.endpoint(Tier::Mini),
            Endpoint {
                base_url: "http://127.0.0.1:8080/v1".to_string(),
                api_key_env: "OPENAI_API_KEY".to_string(),
                api_key: None,
            }
        );
        let full = config.endpoint(Tier::Full);
        assert_eq!(full.base_url, "https://api.openai.com/v1");
        assert_eq!(full.require_key().unwrap(), "sk-full");
        let price = config.price(Tier::Full).unwrap();
        assert!((price.cost(1_000_000, 500_000) - 6.0).abs() < 1e-9);
        assert_eq!(config.price(Tier::Mini), None);
    }

    #[test]
    fn every_key_the_config_holds_is_listed_for_redaction() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::write(
            repo.path().join("kiln.toml"),
            "[tiers.full]\nmodel = \"big\"\napi_key_env = \"MY_OPENAI\"\n",
        )
        .unwrap();
        let env = env_of(&[("OPENAI_API_KEY", "sk-default"), ("MY_OPENAI", "sk-full-x")]);
        let config = Config::load(repo.path(), &env).unwrap();
        let mut keys = config.api_keys();
        keys.sort();
        assert_eq!(keys, ["sk-default", "sk-full-x"]);
    }
}
