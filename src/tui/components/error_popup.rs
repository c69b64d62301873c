//! A problem the user must see (a failed apply, a task that could not start), over the current
//! screen until dismissed, so it is never lost in the status line.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::centered;
use crate::tui::component::{Action, Component, DrawContext, KeyResult};
use crate::tui::strings;

pub struct ErrorPopup {
    pub message: String,
}

impl Component for ErrorPopup {
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        let popup = centered(area, Constraint::Percentage(70), Constraint::Percentage(50));
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(strings::ERROR_TITLE)
            .border_style(cx.theme.bad);
        let mut lines: Vec<Line> = self.message.lines().map(Line::raw).collect();
        lines.push(Line::raw(""));
        lines.push(Line::styled(strings::ERROR_DISMISS, cx.theme.dim));
        let text = Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false });
        frame.render_widget(text, popup);
    }

    fn handle_key(&mut self, key: KeyEvent) -> KeyResult {
        match key.code {
            KeyCode::Enter | KeyCode::Esc => KeyResult::Action(Action::Close),
            _ => KeyResult::Handled,
        }
    }
}
