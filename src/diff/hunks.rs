//! Hunk-by-hunk review: split a change into the hunks a unified diff shows, and rebuild the file
//! from only the hunks the user accepted. Front ends show [`hunks`] and call [`merge_accepted`]
//! with the user's choices, then [`super::apply`] as usual.

use similar::{ChangeTag, DiffOp, TextDiff};

use super::render::CONTEXT_LINES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Context,
    Removed,
    Added,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkLine {
    pub kind: LineKind,
    /// The line without its line ending.
    pub text: String,
}

/// One hunk as `diff -u` would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// `@@ -a,b +c,d @@`
    pub header: String,
    pub lines: Vec<HunkLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HunkChoice {
    Accept,
    Reject,
}

/// The hunks of the change from `old` to `new`, in file order.
pub fn hunks(old: &str, new: &str) -> Vec<Hunk> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(CONTEXT_LINES)
        .iter()
        .map(|group| Hunk {
            header: similar::udiff::UnifiedHunkHeader::new(group).to_string(),
            lines: group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| HunkLine {
                    kind: match change.tag() {
                        ChangeTag::Equal => LineKind::Context,
                        ChangeTag::Delete => LineKind::Removed,
                        ChangeTag::Insert => LineKind::Added,
                    },
                    text: change.value().trim_end_matches(['\n', '\r']).to_string(),
                })
                .collect(),
        })
        .collect()
}

/// `old` with only the accepted hunks of the change to `new` applied. `choices[i]` is the choice
/// for `hunks(old, new)[i]`; a hunk without a choice is rejected, so a short list never applies
/// more than the user saw.
pub fn merge_accepted(old: &str, new: &str, choices: &[HunkChoice]) -> String {
    let diff = TextDiff::from_lines(old, new);
    // Grouping only trims the equal ops at the edges, so each changing op appears unchanged in
    // exactly one group: its position in the old text identifies its hunk.
    let hunk_of = |target: &DiffOp| {
        diff.grouped_ops(CONTEXT_LINES)
            .iter()
            .position(|group| group.contains(target))
    };
    let old_lines = diff.old_slices();
    let new_lines = diff.new_slices();
    let mut out = String::with_capacity(new.len().max(old.len()));
    for op in diff.ops() {
        let accepted = match op {
            DiffOp::Equal { .. } => false,
            _ => hunk_of(op)
                .and_then(|i| choices.get(i))
                .is_some_and(|c| *c == HunkChoice::Accept),
        };
        let lines = if accepted {
            &new_lines[op.new_range()]
        } else {
            &old_lines[op.old_range()]
        };
        lines.iter().for_each(|line| out.push_str(line));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use HunkChoice::{Accept, Reject};

    /// Twenty numbered lines; changes at lines 2 and 18 are far enough apart to be two hunks.
    fn texts() -> (String, String) {
        let old: String = (1..=20).map(|n| format!("line {n}\n")).collect();
        let new = old
            .replace("line 2\n", "line 2 changed\n")
            .replace("line 18\n", "line 18\nline 18b\n");
        (old, new)
    }

    #[test]
    fn hunks_match_the_unified_diff() {
        let (old, new) = texts();
        let hunks = hunks(&old, &new);
        assert_eq!(hunks.len(), 2);
        assert_eq!(hunks[0].header, "@@ -1,5 +1,5 @@");
        assert_eq!(hunks[1].header, "@@ -16,5 +16,6 @@");
        let rendered = crate::diff::unified("f", &old, &new, crate::diff::Colour::Never);
        for hunk in &hunks {
            assert!(rendered.contains(&hunk.header), "{rendered}");
        }
        assert_eq!(
            hunks[1].lines.iter().find(|l| l.kind == LineKind::Added),
            Some(&HunkLine {
                kind: LineKind::Added,
                text: "line 18b".to_string()
            })
        );
    }

    #[test]
    fn accepting_everything_gives_the_new_text_and_nothing_the_old() {
        let (old, new) = texts();
        assert_eq!(merge_accepted(&old, &new, &[Accept, Accept]), new);
        assert_eq!(merge_accepted(&old, &new, &[Reject, Reject]), old);
        assert_eq!(merge_accepted(&old, &new, &[]), old);
    }

    #[test]
    fn each_hunk_can_be_taken_alone() {
        let (old, new) = texts();
        let first_only = merge_accepted(&old, &new, &[Accept, Reject]);
        assert_eq!(first_only, old.replace("line 2\n", "line 2 changed\n"));
        let second_only = merge_accepted(&old, &new, &[Reject, Accept]);
        assert_eq!(second_only, old.replace("line 18\n", "line 18\nline 18b\n"));
    }

    #[test]
    fn a_hunk_holding_several_changes_moves_as_one() {
        let old = "a\nb\nc\nd\n";
        let new = "A\nb\nC\nd\ne\n";
        assert_eq!(hunks(old, new).len(), 1);
        assert_eq!(merge_accepted(old, new, &[Accept]), new);
        assert_eq!(merge_accepted(old, new, &[Reject]), old);
    }

    #[test]
    fn missing_final_newlines_survive() {
        let old = "a\nb";
        let new = "a\nb\nc";
        assert_eq!(merge_accepted(old, new, &[Accept]), new);
        assert_eq!(merge_accepted(old, new, &[Reject]), old);
    }
}
