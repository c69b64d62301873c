//! Token counts, and who counted them: the server, or kiln itself when the server sent none
//! (see [`super::estimate`]). A sum says whether its parts were reported, estimated, or both, so
//! no front end can show an estimate as if a server had measured it.

use serde::Serialize;

/// Who counted one request's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageSource {
    /// The reply's own `usage`.
    Server,
    /// kiln's count of what it sent and received: the server reported nothing.
    Estimated,
}

/// The tokens of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Of `prompt_tokens`, those the server read from its prompt cache (billed cheaper); 0 when
    /// it says nothing of a cache.
    pub cached_tokens: u64,
    /// Of `completion_tokens`, those a reasoning model spent thinking, never shown.
    pub reasoning_tokens: u64,
    #[serde(rename = "usage_source")]
    pub source: UsageSource,
}

impl Usage {
    /// What a server reported; the details are 0 where it gave none.
    pub fn reported(prompt_tokens: u64, completion_tokens: u64) -> Usage {
        Usage {
            prompt_tokens,
            completion_tokens,
            cached_tokens: 0,
            reasoning_tokens: 0,
            source: UsageSource::Server,
        }
    }

    /// kiln's own count; it cannot know a server's cache or a model's hidden reasoning.
    pub fn estimated(prompt_tokens: u64, completion_tokens: u64) -> Usage {
        Usage {
            source: UsageSource::Estimated,
            ..Usage::reported(prompt_tokens, completion_tokens)
        }
    }
}

/// Who counted the requests behind a sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    Server,
    Estimated,
    /// Some requests reported by the server, some estimated.
    Mixed,
}

impl From<UsageSource> for Counted {
    fn from(source: UsageSource) -> Counted {
        match source {
            UsageSource::Server => Counted::Server,
            UsageSource::Estimated => Counted::Estimated,
        }
    }
}

impl Counted {
    /// What a sum of parts counted by `self` and by `other` is counted by.
    pub fn and(self, other: Counted) -> Counted {
        if self == other {
            self
        } else {
            Counted::Mixed
        }
    }

    /// `sofar` after adding something counted by `next`; `None` while nothing was counted.
    pub fn combine(sofar: Option<Counted>, next: Option<Counted>) -> Option<Counted> {
        match (sofar, next) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Tokens summed over requests. `source` is `None` until some request's tokens were counted:
/// then the sum is unknown, not zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenTotal {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    #[serde(rename = "usage_source")]
    pub source: Option<Counted>,
}

impl TokenTotal {
    pub fn add(&mut self, usage: Usage) {
        self.prompt_tokens += usage.prompt_tokens;
        self.completion_tokens += usage.completion_tokens;
        self.cached_tokens += usage.cached_tokens;
        self.reasoning_tokens += usage.reasoning_tokens;
        self.source = Counted::combine(self.source, Some(usage.source.into()));
    }

    pub fn absorb(&mut self, other: TokenTotal) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cached_tokens += other.cached_tokens;
        self.reasoning_tokens += other.reasoning_tokens;
        self.source = Counted::combine(self.source, other.source);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn usage(prompt_tokens: u64, source: UsageSource) -> Usage {
        Usage {
            source,
            ..Usage::reported(prompt_tokens, 1)
        }
    }

    #[test]
    fn a_sum_says_whether_its_parts_were_reported_estimated_or_both() {
        let mut server = TokenTotal::default();
        assert_eq!(server.source, None);
        server.add(Usage {
            cached_tokens: 8,
            reasoning_tokens: 1,
            ..usage(10, UsageSource::Server)
        });
        server.add(usage(5, UsageSource::Server));
        assert_eq!(
            server,
            TokenTotal {
                prompt_tokens: 15,
                completion_tokens: 2,
                cached_tokens: 8,
                reasoning_tokens: 1,
                source: Some(Counted::Server)
            }
        );
        let mut estimated = TokenTotal::default();
        estimated.add(usage(7, UsageSource::Estimated));
        assert_eq!(estimated.source, Some(Counted::Estimated));
        let mut both = server;
        both.absorb(estimated);
        assert_eq!(
            (both.prompt_tokens, both.source),
            (22, Some(Counted::Mixed))
        );
        let mut nothing_yet = TokenTotal::default();
        nothing_yet.absorb(estimated);
        assert_eq!(nothing_yet.source, Some(Counted::Estimated));
    }
}
