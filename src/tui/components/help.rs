//! `?`: every key and what it does, over the current screen. Any key closes it.

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::centered;
use crate::tui::component::{Action, Component, DrawContext, KeyResult};
use crate::tui::strings;

pub struct Help;

impl Component for Help {
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        let key_width = strings::HELP
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let lines: Vec<Line> = strings::HELP
            .iter()
            .map(|(key, what)| {
                Line::from(vec![
                    Span::styled(format!("{key:>key_width$}  "), cx.theme.keyword),
                    Span::raw(*what),
                ])
            })
            .collect();
        let width = Constraint::Length(60);
        let height = Constraint::Length(lines.len() as u16 + 2);
        let popup = centered(area, width, height);
        frame.render_widget(Clear, popup);
        let block = Block::bordered()
            .title(strings::HELP_TITLE)
            .border_style(cx.theme.focused_border);
        frame.render_widget(Paragraph::new(lines).block(block), popup);
    }

    fn handle_key(&mut self, _key: KeyEvent) -> KeyResult {
        KeyResult::Action(Action::Close)
    }
}
