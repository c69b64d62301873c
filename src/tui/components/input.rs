//! A one-line text input (the refactor instruction, the `/` filter): typing, cursor movement,
//! Enter submits, Esc closes.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::component::{Action, Component, DrawContext, KeyResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    prompt: &'static str,
    text: String,
    /// In characters, not bytes, so editing never splits a character.
    cursor: usize,
}

impl LineInput {
    pub fn new(prompt: &'static str) -> LineInput {
        LineInput {
            prompt,
            text: String::new(),
            cursor: 0,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }
}

impl Component for LineInput {
    fn draw(&self, frame: &mut Frame, area: Rect, _cx: &DrawContext) {
        let prompt_width = self.prompt.chars().count();
        // Keep the cursor on screen when the text is wider than the line.
        let room = (area.width as usize).saturating_sub(prompt_width + 1);
        let skip = self.cursor.saturating_sub(room);
        let shown: String = self.text.chars().skip(skip).collect();
        let line = Line::from(vec![Span::raw(self.prompt), Span::raw(shown)]);
        frame.render_widget(Paragraph::new(line), area);
        let x = area.x + (prompt_width + self.cursor - skip).min(area.width as usize) as u16;
        frame.set_cursor_position(Position::new(x, area.y));
    }

    fn handle_key(&mut self, key: KeyEvent) -> KeyResult {
        let chars = self.text.chars().count();
        match key.code {
            KeyCode::Enter => return KeyResult::Action(Action::Submit(self.text.clone())),
            KeyCode::Esc => return KeyResult::Action(Action::Close),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Delete if self.cursor < chars => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(chars),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = chars,
            _ => return KeyResult::Ignored,
        }
        KeyResult::Handled
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn press(input: &mut LineInput, code: KeyCode) -> KeyResult {
        input.handle_key(KeyEvent::from(code))
    }

    #[test]
    fn editing_works_on_characters_not_bytes() {
        let mut input = LineInput::new("> ");
        for c in "héllo".chars() {
            press(&mut input, KeyCode::Char(c));
        }
        press(&mut input, KeyCode::Left);
        press(&mut input, KeyCode::Left);
        press(&mut input, KeyCode::Backspace);
        press(&mut input, KeyCode::Char('L'));
        press(&mut input, KeyCode::Home);
        press(&mut input, KeyCode::Delete);
        assert_eq!(input.text(), "éLlo");
        assert_eq!(
            press(&mut input, KeyCode::Enter),
            KeyResult::Action(Action::Submit("éLlo".to_string()))
        );
        assert_eq!(
            press(&mut input, KeyCode::Esc),
            KeyResult::Action(Action::Close)
        );
    }
}
