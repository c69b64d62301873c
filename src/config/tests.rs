#![allow(clippy::unwrap_used, clippy::expect_used)]

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
fn max_functions_defaults_to_50_and_the_file_and_env_change_it() {
    let repo = tempfile::tempdir().unwrap();
    let config = Config::load(repo.path(), &env_of(&[])).unwrap();
    assert_eq!(config.max_functions, 50);
    std::fs::write(repo.path().join("kiln.toml"), "max_functions = 7\n").unwrap();
    let config = Config::load(repo.path(), &env_of(&[])).unwrap();
    assert_eq!(config.max_functions, 7);
    let env = env_of(&[("KILN_MAX_FUNCTIONS", "9")]);
    assert_eq!(Config::load(repo.path(), &env).unwrap().max_functions, 9);
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
    let readme = include_str!("../../README.md");
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
    assert_eq!(config.wire_api(Tier::Full), WireApi::Responses);
    assert_eq!(config.wire_api(Tier::Mini), WireApi::Chat);
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

#[test]
fn wire_api_is_chat_unless_a_tier_asks_for_responses() {
    let repo = tempfile::tempdir().unwrap();
    let config = Config::load(repo.path(), &env_of(&[])).unwrap();
    assert_eq!(config.wire_api(Tier::Mini), WireApi::Chat);
    std::fs::write(
        repo.path().join("kiln.toml"),
        "[tiers.mini]\nmodel = \"m\"\nwire_api = \"responses\"\n\
         [tiers.full]\nwire_api = \"chat\"\n",
    )
    .unwrap();
    let config = Config::load(repo.path(), &env_of(&[])).unwrap();
    let wires = Tier::ALL.map(|tier| config.wire_api(tier));
    assert_eq!(wires, [WireApi::Chat, WireApi::Responses, WireApi::Chat]);
}

#[test]
fn an_unknown_wire_api_names_the_file_the_key_and_the_choices() {
    for value in ["\"respones\"", "3"] {
        let repo = tempfile::tempdir().unwrap();
        std::fs::write(
            repo.path().join("kiln.toml"),
            format!("[tiers.full]\nmodel = \"big\"\nwire_api = {value}\n"),
        )
        .unwrap();
        let message = Config::load(repo.path(), &env_of(&[]))
            .unwrap_err()
            .to_string();
        for part in ["kiln.toml", "tiers.full.wire_api", value, "\"responses\""] {
            assert!(message.contains(part), "{part} missing: {message}");
        }
    }
}
