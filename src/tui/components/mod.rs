//! One file per part of the screen.

pub mod code_view;
pub mod diff_review;
pub mod error_popup;
pub mod files;
pub mod help;
pub mod input;
pub mod status_bar;
pub mod task_panel;

use ratatui::layout::{Constraint, Flex, Layout, Rect};

/// A box of the given size in the middle of `area`, for popups.
fn centered(area: Rect, width: Constraint, height: Constraint) -> Rect {
    let [row] = Layout::vertical([height]).flex(Flex::Center).areas(area);
    let [cell] = Layout::horizontal([width]).flex(Flex::Center).areas(row);
    cell
}
