//! The shape of kiln.toml and the user's config.toml, and how a file's settings land in a
//! [`Config`]: every field is optional, so a file says only what it changes.

use serde::Deserialize;

use std::time::Duration;

use super::{at_least_one, set, Config, FimMode, Price, Tier, WireApi};

/// The shape of a config file; every field is optional so a file only says what it changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
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
    max_functions: Option<u32>,
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
    /// Read as any value and checked by hand: inside the untagged [`FileTier`], a value serde
    /// refuses would only say that the table matches no variant, naming neither key nor value.
    wire_api: Option<toml::Value>,
}

/// A value of the right type that means nothing: the key, what it said, and what it may say.
#[derive(Debug)]
pub(super) struct BadValue {
    pub key: String,
    pub value: String,
    pub expected: &'static str,
}

impl Config {
    pub(super) fn apply_file(&mut self, file: FileConfig) -> Result<(), BadValue> {
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
            max_functions,
            tiers,
        } = file;
        set(&mut self.batch_size, batch_size.map(at_least_one));
        set(&mut self.jobs, jobs.map(at_least_one));
        set(&mut self.max_functions, max_functions);
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
                Some(FileTier::Table(table)) => self.apply_tier_table(tier, table)?,
            }
        }
        Ok(())
    }

    fn apply_tier_table(&mut self, tier: Tier, table: FileTierTable) -> Result<(), BadValue> {
        let wire_api = table
            .wire_api
            .map(|value| {
                value
                    .as_str()
                    .and_then(|text| text.parse::<WireApi>().ok())
                    .ok_or_else(|| BadValue {
                        key: format!("tiers.{tier}.wire_api"),
                        value: value.to_string(),
                        expected:
                            "\"chat\" (chat completions) or \"responses\" (the Responses API)",
                    })
            })
            .transpose()?;
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
        set(&mut settings.wire_api, wire_api.map(Some));
        Ok(())
    }
}
