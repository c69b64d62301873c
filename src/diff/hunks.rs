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
    let mut out = String::with_capacity(new.len().max(old.len()));
    for piece in merged_pieces(old, new, choices) {
        piece.lines.iter().for_each(|line| out.push_str(line));
    }
    out
}

/// Where a line of the text [`merge_accepted`] makes lies among the hunks the user saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinePlace {
    /// In the changed lines of hunk `i` (from 0), which the user accepted.
    Accepted(usize),
    /// In lines as they were read (unchanged, or left so by a rejected hunk), nearest hunk `i`.
    Near(usize),
}

/// Where `line` (from 1) of `merge_accepted(old, new, choices)` lies: what a compiler error or a
/// failed test in the merged text points at. `None` for a line past the end or a change with
/// no hunks.
pub fn place_of_line(
    old: &str,
    new: &str,
    choices: &[HunkChoice],
    line: usize,
) -> Option<LinePlace> {
    let index = line.checked_sub(1)?;
    let pieces = merged_pieces(old, new, choices);
    // Each hunk's lines in the merged text: those of its changed ops, accepted or not.
    let mut spans: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    let mut at = 0;
    let mut found = None;
    for piece in &pieces {
        let range = at..at + piece.lines.len();
        at = range.end;
        if range.contains(&index) {
            found = Some(piece);
        }
        if let Some(hunk) = piece.hunk {
            match spans.last_mut() {
                Some((last, span)) if *last == hunk => span.end = range.end,
                _ => spans.push((hunk, range)),
            }
        }
    }
    let found = found?;
    if let (Some(hunk), true) = (found.hunk, found.accepted) {
        return Some(LinePlace::Accepted(hunk));
    }
    let distance = |span: &std::ops::Range<usize>| {
        if index < span.start {
            span.start - index
        } else {
            (index + 1).saturating_sub(span.end)
        }
    };
    spans
        .iter()
        .min_by_key(|(_, span)| distance(span))
        .map(|(hunk, _)| LinePlace::Near(*hunk))
}

/// The first rejected hunk (from 0) whose added lines hold `name` as a word: where a name the
/// merged text lacks would have come from.
pub fn rejected_hunk_adding(
    old: &str,
    new: &str,
    choices: &[HunkChoice],
    name: &str,
) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let holds_word = |text: &str| {
        text.match_indices(name).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    };
    hunks(old, new).iter().enumerate().position(|(i, hunk)| {
        choices.get(i) != Some(&HunkChoice::Accept)
            && hunk
                .lines
                .iter()
                .any(|l| l.kind == LineKind::Added && holds_word(&l.text))
    })
}

/// A run of lines of the merged text: taken from `new` for an accepted change, from `old`
/// otherwise; `hunk` is the hunk of a change, `None` for lines the change keeps.
struct Piece<'a> {
    hunk: Option<usize>,
    accepted: bool,
    lines: Vec<&'a str>,
}

fn merged_pieces<'a>(old: &'a str, new: &'a str, choices: &[HunkChoice]) -> Vec<Piece<'a>> {
    let diff = TextDiff::from_lines(old, new);
    // Grouping only trims the equal ops at the edges, so each changing op appears unchanged in
    // exactly one group: its position in the old text identifies its hunk.
    let groups = diff.grouped_ops(CONTEXT_LINES);
    let hunk_of = |target: &DiffOp| groups.iter().position(|group| group.contains(target));
    let old_lines = diff.old_slices();
    let new_lines = diff.new_slices();
    diff.ops()
        .iter()
        .map(|op| {
            let hunk = match op {
                DiffOp::Equal { .. } => None,
                _ => hunk_of(op),
            };
            let accepted = hunk
                .and_then(|i| choices.get(i))
                .is_some_and(|c| *c == HunkChoice::Accept);
            Piece {
                hunk,
                accepted,
                lines: if accepted {
                    new_lines[op.new_range()].to_vec()
                } else {
                    old_lines[op.old_range()].to_vec()
                },
            }
        })
        .collect()
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
    fn a_line_of_the_merge_is_placed_in_its_accepted_hunk_or_near_the_closest() {
        let (old, new) = texts();
        // Hunk 1 changes line 2; hunk 2 (rejected) would add a line after line 18.
        let choices = [Accept, Reject];
        let place = |line| place_of_line(&old, &new, &choices, line);
        assert_eq!(place(2), Some(LinePlace::Accepted(0)));
        assert_eq!(place(1), Some(LinePlace::Near(0)));
        assert_eq!(place(9), Some(LinePlace::Near(0)));
        assert_eq!(place(17), Some(LinePlace::Near(1)));
        assert_eq!(place(18), Some(LinePlace::Near(1)));
        assert_eq!(place(21), None);
        assert_eq!(place(0), None);
        // With hunk 2 accepted, its added line 19 is in it and the lines after move down.
        let both = [Reject, Accept];
        assert_eq!(
            place_of_line(&old, &new, &both, 19),
            Some(LinePlace::Accepted(1))
        );
        assert_eq!(
            place_of_line(&old, &new, &both, 2),
            Some(LinePlace::Near(0))
        );
        assert_eq!(
            place_of_line(&old, &new, &both, 21),
            Some(LinePlace::Near(1))
        );
    }

    #[test]
    fn a_name_is_found_in_the_rejected_hunks_that_add_it_as_a_word() {
        let (old, new) = texts();
        assert_eq!(
            rejected_hunk_adding(&old, &new, &[Accept, Reject], "18b"),
            Some(1)
        );
        // Accepted, or only part of a longer word: not a rejected hunk's addition.
        assert_eq!(
            rejected_hunk_adding(&old, &new, &[Accept, Accept], "18b"),
            None
        );
        assert_eq!(
            rejected_hunk_adding(&old, &new, &[Accept, Reject], "8b"),
            None
        );
        assert_eq!(
            rejected_hunk_adding(&old, &new, &[Reject, Reject], "changed"),
            Some(0)
        );
    }

    #[test]
    fn missing_final_newlines_survive() {
        let old = "a\nb";
        let new = "a\nb\nc";
        assert_eq!(merge_accepted(old, new, &[Accept]), new);
        assert_eq!(merge_accepted(old, new, &[Reject]), old);
    }
}
