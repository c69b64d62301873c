//! Lays the components out on the screen; every pixel of text comes from a component.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Pane};
use super::component::{Component, DrawContext, Focus};
use super::strings;

/// Below this the three panes and the status bar cannot show anything useful.
pub const MIN_WIDTH_COLS: u16 = 60;
pub const MIN_HEIGHT_ROWS: u16 = 15;
const STATUS_ROWS: u16 = 2;
const FILE_LIST_MAX_COLS: u16 = 40;

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let theme = &app.theme;
    if area.width < MIN_WIDTH_COLS || area.height < MIN_HEIGHT_ROWS {
        too_small(frame, area);
        return;
    }
    let cx = |pane: Option<Pane>| DrawContext {
        theme,
        focus: if pane == Some(app.focus) {
            Focus::Focused
        } else {
            Focus::Unfocused
        },
    };
    let [main, status] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(STATUS_ROWS)]).areas(area);
    if let Some(review) = &app.review {
        review.draw(frame, main, &cx(None));
    } else {
        let left_cols = (main.width * 3 / 10).min(FILE_LIST_MAX_COLS);
        let [left, right] =
            Layout::horizontal([Constraint::Length(left_cols), Constraint::Min(0)]).areas(main);
        app.files.draw(frame, left, &cx(Some(Pane::List)));
        let [code, tasks] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(right);
        app.code.draw(frame, code, &cx(None));
        app.tasks.draw(frame, tasks, &cx(Some(Pane::Tasks)));
    }
    app.status.draw(frame, status, &cx(None));
    if let Some(input) = &app.input {
        let row = Rect {
            height: 1,
            ..status
        };
        frame.render_widget(Clear, row);
        input.draw(frame, row, &cx(None));
    }
    if let Some(help) = &app.help {
        help.draw(frame, area, &cx(None));
    }
    if let Some(error) = &app.error {
        error.draw(frame, area, &cx(None));
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = format!(
        "{}\n{}",
        strings::TOO_SMALL,
        strings::too_small_detail(MIN_WIDTH_COLS, MIN_HEIGHT_ROWS, area.width, area.height)
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}
