//! The words for a partial accept, the same in the TUI's review and the CLI's `--patch`: what
//! the check of the accepted hunks is doing, and which hunk its failure points at.

use crate::agent::{Proposal, SubsetFailure};
use crate::diff::{self, HunkChoice, LinePlace};

use super::wording::counted;

/// "checking the 2 accepted hunks of 3 in the sandbox…"
pub fn describe_subset_check(accepted: usize, total: usize) -> String {
    format!(
        "checking the {} of {total} in the sandbox…",
        counted(accepted, "accepted hunk", "accepted hunks")
    )
}

/// Why the accepted hunks were refused, with the hunk it points at (numbered from 1, as the
/// review shows them), e.g. "accepted hunk 1 of 2 uses `is_blank`, which rejected hunk 2
/// adds: does not compile: cannot find function `is_blank` in this scope (line 24)".
pub fn describe_subset_failure(
    proposal: &Proposal,
    choices: &[HunkChoice],
    failure: &SubsetFailure,
) -> String {
    let (old, new) = (proposal.original.as_str(), proposal.new_text.as_str());
    let total = diff::hunks(old, new).len();
    let place = failure
        .line
        .and_then(|line| diff::place_of_line(old, new, choices, line));
    // A name the compiler cannot find, that a rejected hunk adds, is the likeliest cause of all.
    let cause = quoted_names(&failure.message).find_map(|name| {
        diff::rejected_hunk_adding(old, new, choices, name).map(|hunk| (name, hunk + 1))
    });
    let at = match (place, cause) {
        (Some(LinePlace::Accepted(hunk)), Some((name, rejected))) => format!(
            "accepted hunk {} of {total} uses `{name}`, which rejected hunk {rejected} adds",
            hunk + 1
        ),
        (Some(LinePlace::Near(hunk)), Some((name, rejected))) => format!(
            "unchanged code near hunk {} of {total} uses `{name}`, which rejected hunk \
             {rejected} adds",
            hunk + 1
        ),
        (None, Some((name, rejected))) => {
            format!("rejected hunk {rejected} of {total} adds `{name}`, which the rest needs")
        }
        (Some(LinePlace::Accepted(hunk)), None) => {
            format!("in accepted hunk {} of {total}", hunk + 1)
        }
        (Some(LinePlace::Near(hunk)), None) => {
            format!("in unchanged code near hunk {} of {total}", hunk + 1)
        }
        (None, None) => "the accepted hunks fail the check".to_string(),
    };
    let line = failure
        .line
        .map(|line| format!(" (line {line})"))
        .unwrap_or_default();
    format!("{at}: {}{line}", failure.message)
}

/// The identifiers a message quotes in backticks, as rustc names what it cannot find; of a path
/// (`crate::a::b`), its last segment, which is what a definition names.
fn quoted_names(message: &str) -> impl Iterator<Item = &str> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|quoted| quoted.rsplit("::").next().unwrap_or(quoted))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use HunkChoice::{Accept, Reject};

    /// A body that calls a helper (hunk 1) and the helper, far below (hunk 2).
    fn proposal() -> Proposal {
        let filler: String = (1..=10).map(|n| format!("// {n}\n")).collect();
        let original = format!("fn a() -> bool {{\n    true\n}}\n{filler}");
        let new_text = format!(
            "fn a() -> bool {{\n    helper()\n}}\n{filler}fn helper() -> bool {{\n    true\n}}\n"
        );
        let location = crate::project::SourceLocation {
            file: "/c/src/lib.rs".into(),
            workspace_root: "/c".into(),
            crate_root: "/c".into(),
            package_name: "c".to_string(),
            package_spec: "c".to_string(),
            relative_path: "src/lib.rs".into(),
            target_flags: vec!["--lib".to_string()],
            module_path: String::new(),
        };
        Proposal {
            file: location.file.clone(),
            original,
            new_text,
            summary: "refactor of fn a".to_string(),
            report: crate::task::test_crate::run_report(kiln_sandbox::RunOutcome::Passed, 0),
            notes: None,
            recheck: crate::task::Recheck {
                test_args: crate::task::whole_suite(&location),
                location,
                rule: crate::task::RecheckRule::Passes,
            },
        }
    }

    fn failure(message: &str, line: Option<usize>) -> SubsetFailure {
        SubsetFailure {
            message: message.to_string(),
            line,
        }
    }

    #[test]
    fn a_missing_name_points_at_the_accepted_hunk_and_the_rejected_one_that_adds_it() {
        let proposal = proposal();
        assert_eq!(diff::hunks(&proposal.original, &proposal.new_text).len(), 2);
        let missing = failure(
            "does not compile: cannot find function `helper` in this scope",
            Some(2),
        );
        assert_eq!(
            describe_subset_failure(&proposal, &[Accept, Reject], &missing),
            "accepted hunk 1 of 2 uses `helper`, which rejected hunk 2 adds: does not compile: \
             cannot find function `helper` in this scope (line 2)"
        );
    }

    #[test]
    fn without_a_name_to_blame_the_line_says_where() {
        let proposal = proposal();
        let in_hunk = failure("does not compile: mismatched types", Some(2));
        assert_eq!(
            describe_subset_failure(&proposal, &[Accept, Reject], &in_hunk),
            "in accepted hunk 1 of 2: does not compile: mismatched types (line 2)"
        );
        // Line 12 is the ninth filler comment, which no hunk changes, two lines above hunk 2.
        let below = failure("test t fails: boom", Some(12));
        assert_eq!(
            describe_subset_failure(&proposal, &[Accept, Reject], &below),
            "in unchanged code near hunk 2 of 2: test t fails: boom (line 12)"
        );
        let nowhere = failure("the check timed out", None);
        assert_eq!(
            describe_subset_failure(&proposal, &[Reject, Accept], &nowhere),
            "the accepted hunks fail the check: the check timed out"
        );
    }

    #[test]
    fn quoted_paths_give_their_last_segment_and_non_names_are_skipped() {
        let names: Vec<&str> =
            quoted_names("unresolved import `crate::util::helper`; `left == right` failed; ``")
                .collect();
        assert_eq!(names, vec!["helper"]);
    }

    #[test]
    fn the_check_says_how_many_hunks_it_checks() {
        assert_eq!(
            describe_subset_check(1, 2),
            "checking the 1 accepted hunk of 2 in the sandbox…"
        );
    }
}
