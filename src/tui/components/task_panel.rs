//! The task panel: one line per task (state, tier, attempt n/N, tokens), and below it the steps
//! and live model output of the selected task.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use crate::frontend::wording::describe_tokens_briefly;
use crate::tui::component::{move_selection, Action, Component, DrawContext, Focus, KeyResult};
use crate::tui::strings;
use crate::tui::task_view::{TaskId, TaskState, TaskView};
use crate::tui::theme::Theme;

/// Rows for the task list before the selected task's details get the rest.
const MAX_LIST_ROWS: u16 = 4;

#[derive(Default)]
pub struct TaskPanel {
    tasks: Vec<TaskView>,
    selected: usize,
}

impl TaskPanel {
    pub fn add(&mut self, task: TaskView) {
        self.tasks.push(task);
        self.selected = self.tasks.len() - 1;
    }

    pub fn get_mut(&mut self, id: TaskId) -> Option<&mut TaskView> {
        self.tasks.iter_mut().find(|t| t.id == id)
    }

    pub fn get(&self, id: TaskId) -> Option<&TaskView> {
        self.tasks.iter().find(|t| t.id == id)
    }

    pub fn selected(&self) -> Option<&TaskView> {
        self.tasks.get(self.selected)
    }

    pub fn select(&mut self, id: TaskId) {
        if let Some(index) = self.tasks.iter().position(|t| t.id == id) {
            self.selected = index;
        }
    }

    fn summary_line(task: &TaskView, theme: &Theme) -> Line<'static> {
        let (mark, style) = match &task.state {
            TaskState::Queued => ("… queued  ", theme.dim),
            TaskState::Running => ("▶ running ", Style::new()),
            TaskState::Proposed => ("✓ review  ", theme.good),
            TaskState::Applied => ("✓ applied ", theme.good),
            TaskState::Failed(_) => ("✗ failed  ", theme.bad),
            TaskState::Cancelled => ("- cancelled ", theme.dim),
        };
        let tier = task.tier.map(|t| t.name()).unwrap_or("-");
        // Facts first: a long title may be cut at the right edge, they must not be.
        let facts = format!(
            "{tier} {}/{} {}  ",
            task.attempt,
            task.max_attempts,
            describe_tokens_briefly(&task.tokens)
        );
        Line::from(vec![
            Span::styled(mark, style),
            Span::styled(facts, theme.dim),
            Span::raw(task.title.clone()),
        ])
    }

    /// The selected task's steps, wrapped to `width` (a failure's cause is often longer than
    /// the panel, and its end says what to do), then its live output, cut to `height` rows.
    fn details(task: &TaskView, width: usize, height: usize, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines: Vec<Line> = task
            .log
            .iter()
            .flat_map(|l| wrapped(l, width))
            .map(Line::raw)
            .collect();
        if task.state == TaskState::Running {
            let status = if task.activity.is_empty() {
                strings::WAITING_FOR_MODEL
            } else {
                &task.activity
            };
            lines.push(Line::styled(format!("  {status}"), theme.dim));
            // Tool arguments stream as JSON; unescaping newlines makes the code readable.
            let streamed = task.streamed.replace("\\n", "\n").replace("\\\"", "\"");
            let tail: Vec<&str> = streamed.lines().collect();
            let room = height.saturating_sub(lines.len()).max(height / 2);
            let start = tail.len().saturating_sub(room);
            lines.extend(
                tail[start..]
                    .iter()
                    .map(|l| Line::styled(format!("  │ {l}"), theme.dim)),
            );
        }
        // The newest steps matter most: keep the end in view.
        let skip = lines.len().saturating_sub(height);
        lines.split_off(skip)
    }
}

/// `text` as rows of at most `width` columns, broken after the last space that fits (inside a
/// word only when it is longer than a row). Later rows are indented two more than the line, so
/// a wrapped step still reads as one. Done here rather than by `Paragraph::wrap` because the
/// panel keeps the newest rows in view, and so must know how many rows each line takes.
fn wrapped(text: &str, width: usize) -> Vec<String> {
    let columns = |s: &str| Span::raw(s).width();
    if width == 0 || columns(text) <= width {
        return vec![text.to_string()];
    }
    let lead = text.len() - text.trim_start_matches(' ').len();
    let indent = " ".repeat((lead + 2).min(width / 2));
    let mut rows = Vec::new();
    let mut row = String::new();
    // Bytes of `row` that are indentation, never a place to break.
    let mut floor = lead;
    for ch in text.chars() {
        let mut buf = [0; 4];
        if columns(&row) + columns(ch.encode_utf8(&mut buf)) > width {
            let cut = row
                .get(floor..)
                .and_then(|rest| rest.rfind(' '))
                .map_or(row.len(), |i| floor + i + 1);
            let rest = row.split_off(cut);
            rows.push(row.trim_end().to_string());
            row = format!("{indent}{rest}");
            floor = indent.len();
        }
        row.push(ch);
    }
    if row.len() > floor {
        rows.push(row);
    }
    rows
}

impl Component for TaskPanel {
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        let border = match cx.focus {
            Focus::Focused => cx.theme.focused_border,
            Focus::Unfocused => cx.theme.border,
        };
        let block = Block::bordered()
            .title(strings::TASKS_TITLE)
            .border_style(border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let Some(selected) = self.selected() else {
            let hint = Paragraph::new(strings::NO_TASKS).wrap(Wrap { trim: true });
            frame.render_widget(hint.style(cx.theme.dim), inner);
            return;
        };
        let list_rows = (self.tasks.len() as u16).min(MAX_LIST_ROWS);
        let [list_area, detail_area] =
            Layout::vertical([Constraint::Length(list_rows), Constraint::Min(0)]).areas(inner);
        let rows: Vec<ListItem> = self
            .tasks
            .iter()
            .map(|t| ListItem::new(Self::summary_line(t, cx.theme)))
            .collect();
        let mut state = ListState::default().with_selected(Some(self.selected));
        let list = List::new(rows).highlight_style(cx.theme.selected);
        frame.render_stateful_widget(list, list_area, &mut state);
        let details = Self::details(
            selected,
            detail_area.width as usize,
            detail_area.height as usize,
            cx.theme,
        );
        frame.render_widget(Paragraph::new(details), detail_area);
    }

    fn handle_key(&mut self, key: KeyEvent) -> KeyResult {
        if let Some(selected) = move_selection(self.selected, self.tasks.len(), key) {
            self.selected = selected;
            return KeyResult::Handled;
        }
        let Some(task) = self.selected() else {
            return KeyResult::Ignored;
        };
        match key.code {
            KeyCode::Enter => KeyResult::Action(Action::Review(task.id)),
            _ => KeyResult::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_long_line_wraps_at_spaces_with_its_continuation_indented() {
        assert_eq!(
            wrapped("✗ gave up: fix the crate first", 12),
            vec!["✗ gave up:", "  fix the", "  crate", "  first"]
        );
        assert_eq!(wrapped("  short", 12), vec!["  short"]);
        assert_eq!(
            wrapped("  abcdefghijklmnop", 8),
            vec!["  abcdef", "    ghij", "    klmn", "    op"]
        );
    }
}
