//! What the user is told when the loop gives up. A reply without usable code says nothing about
//! the code, so it must not replace the failure of the last candidate; and when no candidate came
//! at all, the user needs to know why the replies were unusable and what to change.

use super::ReplyKind;

#[derive(Debug, Default)]
pub(super) struct LastFailure {
    /// Why the last candidate failed: rejected before it ran, or red in the sandbox.
    candidate: Option<String>,
    /// The replies since that candidate that held no usable code: how many, and why the last one.
    unusable: Option<(u32, String)>,
}

impl LastFailure {
    pub(super) fn candidate_failed(&mut self, failure: String) {
        self.candidate = Some(failure);
        self.unusable = None;
    }

    pub(super) fn reply_unusable(&mut self, kind: &ReplyKind) {
        let replies = self.unusable.as_ref().map_or(0, |(n, _)| *n) + 1;
        self.unusable = Some((replies, why_unusable(kind)));
    }

    /// For people: never empty, and the first line says what went wrong (the TUI shows only it).
    pub(super) fn text(&self) -> String {
        let candidate = self.candidate.as_deref().map(|text| {
            if text.trim().is_empty() {
                // Every check explains itself; if one ever does not, say so rather than nothing.
                "the candidate failed its check, which gave no reason (a kiln bug: please report it)"
            } else {
                text
            }
        });
        match (&self.unusable, candidate) {
            (None, Some(candidate)) => candidate.to_string(),
            (Some((replies, why)), Some(candidate)) => {
                let last = match replies {
                    1 => "reply".to_string(),
                    n => count_replies(*n),
                };
                format!(
                    "the model's last {last} held no usable code ({why}); the candidate before \
                     failed:\n{candidate}"
                )
            }
            (Some((replies, why)), None) => format!(
                "the model sent no usable code in {} ({why}).\nkiln takes the code from a `run_code` \
                 tool call or a ```rust block: use a model that follows tool calls for this tier \
                 (KILN_MODEL_MINI / KILN_MODEL_FULL, or [tiers] in kiln.toml).",
                count_replies(*replies)
            ),
            (None, None) => "the model has not sent a candidate yet".to_string(),
        }
    }
}

fn why_unusable(kind: &ReplyKind) -> String {
    match kind {
        ReplyKind::ToolCallRejected(why) => format!("unusable tool call: {why}"),
        _ => "the reply held no code".to_string(),
    }
}

fn count_replies(replies: u32) -> String {
    match replies {
        1 => "1 reply".to_string(),
        n => format!("{n} replies"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rejected() -> ReplyKind {
        ReplyKind::ToolCallRejected("unknown tool `execute`".to_string())
    }

    #[test]
    fn unusable_replies_without_a_candidate_say_why_and_what_to_change() {
        let mut failure = LastFailure::default();
        failure.reply_unusable(&ReplyKind::NoCandidate);
        failure.reply_unusable(&rejected());
        assert_eq!(
            failure.text(),
            "the model sent no usable code in 2 replies (unusable tool call: unknown tool `execute`).\n\
             kiln takes the code from a `run_code` tool call or a ```rust block: use a model that \
             follows tool calls for this tier (KILN_MODEL_MINI / KILN_MODEL_FULL, or [tiers] in kiln.toml)."
        );
    }

    #[test]
    fn an_unusable_reply_keeps_the_failure_of_the_candidate_before_it() {
        let mut failure = LastFailure::default();
        failure.candidate_failed("BUILD FAILED: 1 compiler error(s)\n\nerror[E0308]".to_string());
        failure.reply_unusable(&ReplyKind::NoCandidate);
        assert_eq!(
            failure.text(),
            "the model's last reply held no usable code (the reply held no code); the candidate \
             before failed:\nBUILD FAILED: 1 compiler error(s)\n\nerror[E0308]"
        );
        failure.reply_unusable(&rejected());
        assert!(
            failure
                .text()
                .starts_with("the model's last 2 replies held no usable code"),
            "{}",
            failure.text()
        );
        failure.candidate_failed("TESTS FAILED".to_string());
        assert_eq!(failure.text(), "TESTS FAILED");
        failure.reply_unusable(&ReplyKind::NoCandidate);
        failure.candidate_failed("TESTS FAILED again".to_string());
        assert_eq!(failure.text(), "TESTS FAILED again");
    }

    #[test]
    fn one_unusable_reply_is_counted_as_one() {
        let mut failure = LastFailure::default();
        failure.reply_unusable(&ReplyKind::NoCandidate);
        assert!(
            failure
                .text()
                .starts_with("the model sent no usable code in 1 reply (the reply held no code)."),
            "{}",
            failure.text()
        );
    }

    #[test]
    fn the_text_is_never_blank() {
        let mut failure = LastFailure::default();
        assert!(!failure.text().trim().is_empty());
        failure.candidate_failed(" \n".to_string());
        assert!(
            failure.text().contains("gave no reason"),
            "{}",
            failure.text()
        );
    }
}
