//! What a gen-tests run will ask before it asks anything: how many functions, in how many
//! batches, and about how many input tokens the first attempts send. Front ends show it, and
//! above `max_functions` they ask before spending it (issue 17: a 10,000-function file sent
//! 2,000 requests without asking).

use super::{Batching, GenTests, TOOL_DESCRIPTION};
use crate::prompt;

/// How a run's targets were chosen, which decides whether a big run needs consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// Every function of the file that no test calls yet: the run nobody counted.
    Untested,
    /// The functions the user named (`--fn`, or the TUI's selected item).
    Named,
    /// The first functions in file order (`--max-functions`), out of `of` untested ones.
    First { of: usize },
}

/// What a gen-tests run will send on its first attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub functions: usize,
    pub chosen: Chosen,
    /// The last target in file order: where `--max-functions` cut the file.
    pub last_function: String,
    pub batches: usize,
    /// Input tokens of every batch's first request, estimated by [`estimated_tokens`]. Repair
    /// attempts send more.
    pub input_tokens: u64,
}

impl Plan {
    /// Whether this run spends more than `max_functions` without the user having said how much.
    pub fn needs_consent(&self, max_functions: u32) -> bool {
        self.chosen == Chosen::Untested && self.functions > max_functions as usize
    }
}

impl Batching {
    pub fn plan(&self) -> Plan {
        let parts: Vec<&GenTests> = match self {
            Batching::Single(task) => vec![task],
            Batching::Batches(batch) => batch.parts().iter().collect(),
        };
        let functions = parts.iter().map(|p| p.targets().len()).sum();
        let last_function = parts
            .last()
            .and_then(|p| p.targets().last())
            .map(|f| f.qualified_name.clone())
            .unwrap_or_default();
        let input_tokens = parts.iter().map(|p| first_request_tokens(p)).sum();
        let chosen = match self {
            Batching::Single(task) => task.chosen.clone(),
            Batching::Batches(batch) => batch.chosen().clone(),
        };
        Plan {
            functions,
            chosen,
            last_function,
            batches: parts.len(),
            input_tokens,
        }
    }
}

/// The system prompt, the task prompt and the tool: what a part's first request sends.
fn first_request_tokens(part: &GenTests) -> u64 {
    let user = part.user_prompt().unwrap_or_default();
    estimated_tokens(prompt::SYSTEM) + estimated_tokens(&user) + estimated_tokens(TOOL_DESCRIPTION)
}

/// About four bytes a token, as BPE tokenizers give for English and code: an estimate for a
/// plan, not a count (no tokenizer is a dependency of kiln). The one place to swap in a real
/// count.
pub fn estimated_tokens(text: &str) -> u64 {
    text.len().div_ceil(4) as u64
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_an_uncounted_run_over_the_limit_needs_consent() {
        let plan = |functions, chosen| Plan {
            functions,
            chosen,
            last_function: "f".into(),
            batches: 1,
            input_tokens: 1,
        };
        assert!(plan(51, Chosen::Untested).needs_consent(50));
        assert!(!plan(50, Chosen::Untested).needs_consent(50));
        assert!(!plan(51, Chosen::Named).needs_consent(50));
        assert!(!plan(51, Chosen::First { of: 60 }).needs_consent(50));
    }

    #[test]
    fn tokens_are_estimated_at_four_bytes_each() {
        assert_eq!(estimated_tokens(""), 0);
        assert_eq!(estimated_tokens("abcde"), 2);
    }
}
