//! The contract every screen part follows (as in gitui): it draws itself from its own state and
//! turns keys into state changes or [`Action`]s for the app. Components never touch the
//! filesystem, the network or each other; the app does that in response to actions.

use std::path::PathBuf;

use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;

use super::task_view::TaskId;
use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Focused,
    Unfocused,
}

pub struct DrawContext<'a> {
    pub theme: &'a Theme,
    pub focus: Focus,
}

/// Something only the app can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    OpenFile(PathBuf),
    /// Back from a file's items to the file list.
    CloseFile,
    Review(TaskId),
    ApplyReview,
    Close,
    Submit(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyResult {
    /// Not for this component; the app may use it.
    Ignored,
    Handled,
    Action(Action),
}

pub trait Component {
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext);
    fn handle_key(&mut self, key: KeyEvent) -> KeyResult;
}

/// Every list in the TUI moves the same way.
pub fn move_selection(selected: usize, len: usize, key: KeyEvent) -> Option<usize> {
    use ratatui::crossterm::event::KeyCode;
    let last = len.saturating_sub(1);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => Some(selected.saturating_sub(1)),
        KeyCode::Down | KeyCode::Char('j') => Some((selected + 1).min(last)),
        KeyCode::Home | KeyCode::Char('g') => Some(0),
        KeyCode::End | KeyCode::Char('G') => Some(last),
        _ => None,
    }
}
