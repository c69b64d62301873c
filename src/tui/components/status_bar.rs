//! The bottom two rows: the selected task's requests, tokens and cost, the session tokens, the
//! endpoint, tiers and sandbox protections (or the latest message), then the main keys.

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::frontend::wording::describe_tokens;
use crate::llm::TokenTotal;
use crate::tui::component::{Component, DrawContext, KeyResult};
use crate::tui::strings;

pub struct StatusBar {
    /// "http://127.0.0.1:8080/v1 · mini=gpt-5.4-mini · sandbox: all 12 protections"
    pub endpoint: String,
    pub session: TokenTotal,
    /// The selected task's usage line, as the CLI prints it at the end of a run.
    pub task_usage: Option<String>,
    message: Option<String>,
}

impl StatusBar {
    pub fn new(endpoint: String) -> StatusBar {
        StatusBar {
            endpoint,
            session: TokenTotal::default(),
            task_usage: None,
            message: None,
        }
    }

    pub fn say(&mut self, message: impl Into<String>) {
        self.message = Some(message.into());
    }

    #[cfg(test)]
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// A message is read once; the next key brings the facts back.
    pub fn clear_message(&mut self) {
        self.message = None;
    }
}

impl Component for StatusBar {
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        let [top, footer] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
        let text = match &self.message {
            Some(message) => message.clone(),
            None => {
                let session = format!(
                    "session {} · {}",
                    describe_tokens(&self.session),
                    self.endpoint
                );
                match &self.task_usage {
                    Some(usage) => strings::task_usage(usage, &session),
                    None => session,
                }
            }
        };
        frame.render_widget(Paragraph::new(text).style(cx.theme.status), top);
        frame.render_widget(Paragraph::new(strings::FOOTER).style(cx.theme.dim), footer);
    }

    fn handle_key(&mut self, _key: KeyEvent) -> KeyResult {
        KeyResult::Ignored
    }
}
