//! Reviewing a proposal hunk by hunk: accept (`y`) or reject (`n`) each, accept all (`a`), and
//! apply (Enter) only what was accepted. Only some of the hunks are checked in the sandbox first;
//! while that runs the review shows its progress and takes no choices.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::agent::Proposal;
use crate::diff::{self, Hunk, HunkChoice, LineKind};
use crate::tui::component::{move_selection, Action, Component, DrawContext, KeyResult};
use crate::tui::strings;
use crate::tui::task_view::TaskId;

/// Lines shown above the current hunk, so the previous one's end gives orientation.
const LINES_ABOVE_CURRENT: usize = 1;

pub struct DiffReview {
    pub task: TaskId,
    label: String,
    /// What validation found and what the sandbox validated, e.g. "mutants 6/8 caught (75%) ·
    /// 2 tests: a, b": the findings first, since the test names are in the diff too.
    summary: String,
    hunks: Vec<Hunk>,
    /// `None` until the user decides; undecided hunks are not applied.
    choices: Vec<Option<HunkChoice>>,
    current: usize,
    /// The accepted hunks being checked before they are written, and what the check is doing.
    checking: Option<Checking>,
}

/// A merge waiting for its check in the sandbox.
struct Checking {
    merge: Merge,
    /// "checking the 1 accepted hunk of 2 in the sandbox…"
    what: String,
    /// What the sandbox is doing now ("compiling demo…").
    step: Option<String>,
}

/// What applying a review writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    pub file: PathBuf,
    pub original: String,
    pub new_text: String,
    /// The choice for every hunk, an undecided one rejected: what a failed check is mapped to.
    pub choices: Vec<HunkChoice>,
    pub accepted: usize,
    pub total: usize,
}

impl Merge {
    /// Every hunk accepted: the text is the validated proposal itself, with nothing to check.
    pub fn is_whole(&self) -> bool {
        self.accepted == self.total
    }
}

impl DiffReview {
    pub fn new(task: TaskId, label: String, proposal: &Proposal) -> DiffReview {
        let hunks = diff::hunks(&proposal.original, &proposal.new_text);
        DiffReview {
            task,
            label,
            summary: match proposal.notes.as_ref().and_then(|n| n.headline.as_ref()) {
                Some(headline) => format!("{headline} · {}", proposal.summary),
                None => proposal.summary.clone(),
            },
            choices: vec![None; hunks.len()],
            hunks,
            current: 0,
            checking: None,
        }
    }

    /// Starts showing the check of `merge`, which stays here until [`DiffReview::end_check`].
    pub fn start_check(&mut self, merge: Merge, what: String) {
        self.checking = Some(Checking {
            merge,
            what,
            step: None,
        });
    }

    pub fn is_checking(&self) -> bool {
        self.checking.is_some()
    }

    /// What the sandbox is doing now, shown after what is being checked.
    pub fn check_step(&mut self, step: String) {
        if let Some(checking) = &mut self.checking {
            checking.step = Some(step);
        }
    }

    /// The check is over: its merge, to write or to explain, and the choices are the user's again.
    pub fn end_check(&mut self) -> Option<Merge> {
        self.checking.take().map(|checking| checking.merge)
    }

    #[cfg(test)]
    pub fn choices(&self) -> &[Option<HunkChoice>] {
        &self.choices
    }

    /// The file as it would be with the accepted hunks only, or `None` when nothing is accepted.
    pub fn merge(&self, proposal: &Proposal) -> Option<Merge> {
        let choices: Vec<HunkChoice> = self
            .choices
            .iter()
            .map(|c| c.unwrap_or(HunkChoice::Reject))
            .collect();
        let accepted = choices.iter().filter(|c| **c == HunkChoice::Accept).count();
        (accepted > 0).then(|| Merge {
            file: proposal.file.clone(),
            original: proposal.original.clone(),
            new_text: diff::merge_accepted(&proposal.original, &proposal.new_text, &choices),
            choices,
            accepted,
            total: self.hunks.len(),
        })
    }

    fn decide(&mut self, choice: HunkChoice) {
        if let Some(slot) = self.choices.get_mut(self.current) {
            *slot = Some(choice);
        }
        self.current = (self.current + 1).min(self.hunks.len().saturating_sub(1));
    }

    fn lines(&self, cx: &DrawContext) -> (Vec<Line<'static>>, usize) {
        let mut lines = Vec::new();
        let mut current_at = 0;
        for (index, hunk) in self.hunks.iter().enumerate() {
            let mark = match self.choices[index] {
                Some(HunkChoice::Accept) => "[y]",
                Some(HunkChoice::Reject) => "[n]",
                None => "[ ]",
            };
            let style = if index == self.current {
                current_at = lines.len();
                cx.theme.current_hunk
            } else {
                cx.theme.hunk_header
            };
            lines.push(Line::styled(format!("{mark} {}", hunk.header), style));
            lines.extend(hunk.lines.iter().map(|line| {
                let (sign, style) = match line.kind {
                    LineKind::Context => (" ", ratatui::style::Style::new()),
                    LineKind::Removed => ("-", cx.theme.removed),
                    LineKind::Added => ("+", cx.theme.added),
                };
                Line::from(Span::styled(format!("{sign}{}", line.text), style))
            }));
        }
        (lines, current_at)
    }
}

impl Component for DiffReview {
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        let decided = self.choices.iter().filter(|c| c.is_some()).count();
        // Where the review stands first: a narrow terminal cuts the end of the summary, not it.
        let title = match &self.checking {
            Some(checking) => format!(
                "{}: {} · {}{}",
                strings::REVIEW_TITLE,
                self.label,
                checking.what,
                checking
                    .step
                    .as_ref()
                    .map(|step| format!(" · {step}"))
                    .unwrap_or_default()
            ),
            None => format!(
                "{}: {} · hunk {}/{} · {decided} decided · {}",
                strings::REVIEW_TITLE,
                self.label,
                self.current + 1,
                self.hunks.len(),
                self.summary,
            ),
        };
        let keys = match self.checking {
            Some(_) => strings::REVIEW_CHECKING_KEYS,
            None => strings::REVIEW_KEYS,
        };
        let block = Block::bordered()
            .title(title)
            .border_style(cx.theme.focused_border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [body, keys_area] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
        let (lines, current_at) = self.lines(cx);
        let scroll = current_at.saturating_sub(LINES_ABOVE_CURRENT);
        let visible: Vec<Line> = lines.into_iter().skip(scroll).collect();
        frame.render_widget(Paragraph::new(visible), body);
        frame.render_widget(Paragraph::new(keys).style(cx.theme.dim), keys_area);
    }

    fn handle_key(&mut self, key: KeyEvent) -> KeyResult {
        // The choices being checked stay as they are until the check ends; Esc stops it.
        if self.checking.is_some() {
            return match key.code {
                KeyCode::Esc => KeyResult::Action(Action::Close),
                _ => KeyResult::Handled,
            };
        }
        if let Some(current) = move_selection(self.current, self.hunks.len(), key) {
            self.current = current;
            return KeyResult::Handled;
        }
        match key.code {
            KeyCode::Char('y') => self.decide(HunkChoice::Accept),
            KeyCode::Char('n') => self.decide(HunkChoice::Reject),
            KeyCode::Char('a') => self.choices.fill(Some(HunkChoice::Accept)),
            KeyCode::Enter => return KeyResult::Action(Action::ApplyReview),
            KeyCode::Esc => return KeyResult::Action(Action::Close),
            _ => return KeyResult::Ignored,
        }
        KeyResult::Handled
    }
}
