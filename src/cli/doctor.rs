//! `kiln doctor`: which sandbox protections this machine actually provides, and where each model
//! tier's requests go (server, model, wire).

use kiln_sandbox::{Protection, ProtectionStatus};

use crate::config::{Config, Tier, WireApi};
use crate::frontend::{session, Exit};

/// Prints one line per protection, then one per tier; exit 0 whatever is missing (a missing
/// protection is information, not an error of this command), 2 when the config cannot be read.
pub fn run() -> Exit {
    println!("kiln sandbox protections on this machine:");
    for protection in kiln_sandbox::probe() {
        println!("{}", describe(&protection));
    }
    let here = std::env::current_dir().unwrap_or_else(|_| ".".into());
    match session::config_at(&here) {
        Ok(config) => {
            println!("kiln model tiers (from {}):", sources(&config));
            for tier in Tier::ALL {
                println!("{}", describe_tier(&config, tier));
            }
            Exit::Ok
        }
        Err(e) => {
            eprintln!("kiln: {e}");
            Exit::Usage
        }
    }
}

fn sources(config: &Config) -> String {
    if config.sources.is_empty() {
        return "defaults and environment".to_string();
    }
    let files: Vec<String> = config
        .sources
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    format!("{}, then environment", files.join(", "))
}

/// `  mini  gpt-5.4-mini at https://api.openai.com/v1/responses (wire_api = "responses": the
/// Responses API)`.
fn describe_tier(config: &Config, tier: Tier) -> String {
    let wire = config.wire_api(tier);
    let meaning = match wire {
        WireApi::Chat => "chat completions",
        WireApi::Responses => "the Responses API, replies continued by previous_response_id",
    };
    format!(
        "  {:<5} {} at {}{} (wire_api = \"{}\": {meaning})",
        tier.name(),
        config.models.for_tier(tier),
        config.endpoint(tier).base_url,
        wire.path(),
        wire.name()
    )
}

fn describe(protection: &Protection) -> String {
    match &protection.status {
        ProtectionStatus::Active { via } => format!("  active       {}: {via}", protection.name),
        ProtectionStatus::Unavailable { reason } => {
            format!("  UNAVAILABLE  {}: {reason}", protection.name)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn protection(name: &'static str, status: ProtectionStatus) -> Protection {
        Protection { name, status }
    }

    #[test]
    fn each_tier_says_which_wire_it_speaks() {
        let mut config = Config::default();
        config.tiers.entry(Tier::Full).or_default().wire_api = Some(WireApi::Responses);
        assert_eq!(
            describe_tier(&config, Tier::Mini),
            "  mini  gpt-5.4-mini at https://api.openai.com/v1/chat/completions \
             (wire_api = \"chat\": chat completions)"
        );
        assert_eq!(
            describe_tier(&config, Tier::Full),
            "  full  gpt-5.4 at https://api.openai.com/v1/responses (wire_api = \"responses\": \
             the Responses API, replies continued by previous_response_id)"
        );
    }

    #[test]
    fn an_unavailable_protection_says_why() {
        let off = ProtectionStatus::Unavailable {
            reason: "no kernel support".into(),
        };
        assert_eq!(
            describe(&protection("no network", off)),
            "  UNAVAILABLE  no network: no kernel support"
        );
    }
}
