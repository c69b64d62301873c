//! The centre pane: the open file with line numbers, syntax colour, the selected item marked in
//! the gutter and `todo!()` holes flagged. Only the visible lines are laid out and coloured.

use std::cell::Cell;
use std::ops::Range;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use crate::tui::component::{Component, DrawContext, KeyResult};
use crate::tui::{highlight, strings};

/// Lines kept above a newly selected item, so its doc comment and surroundings stay in view.
const ITEM_MARGIN_LINES: usize = 2;

#[derive(Default)]
pub struct CodeView {
    title: String,
    lines: Vec<String>,
    scroll: usize,
    item: Option<Range<usize>>,
    /// The height of the last draw, for paging; the view is told its size only when drawn.
    page_lines: Cell<usize>,
}

impl CodeView {
    pub fn open(&mut self, title: String, text: &str) {
        self.title = title;
        self.lines = text.lines().map(str::to_string).collect();
        self.scroll = 0;
        self.item = None;
    }

    pub fn close(&mut self) {
        *self = CodeView::default();
    }

    /// Marks `lines` (0-based) as the selected item and scrolls it into view.
    pub fn show_item(&mut self, lines: Option<Range<usize>>) {
        if let Some(range) = &lines {
            let page = self.page_lines.get().max(1);
            let visible = self.scroll..self.scroll + page;
            if !visible.contains(&range.start)
                || !visible.contains(&(range.end - 1).max(range.start))
            {
                self.scroll = range.start.saturating_sub(ITEM_MARGIN_LINES);
            }
        }
        self.item = lines;
    }

    #[cfg(test)]
    pub fn scroll(&self) -> usize {
        self.scroll
    }

    fn scroll_by(&mut self, delta: isize) {
        let last = self.lines.len().saturating_sub(1);
        self.scroll = self.scroll.saturating_add_signed(delta).min(last);
    }
}

impl Component for CodeView {
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        let title = if self.title.is_empty() {
            strings::CODE_TITLE_EMPTY
        } else {
            &self.title
        };
        let block = Block::bordered().title(title).border_style(cx.theme.border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let height = inner.height as usize;
        self.page_lines.set(height);
        if self.lines.is_empty() {
            frame.render_widget(
                Paragraph::new(strings::OPEN_A_FILE).style(cx.theme.dim),
                inner,
            );
            return;
        }
        let number_width = self.lines.len().to_string().len();
        let rows: Vec<Line> = self
            .lines
            .iter()
            .enumerate()
            .skip(self.scroll)
            .take(height)
            .map(|(index, text)| {
                let in_item = self.item.as_ref().is_some_and(|r| r.contains(&index));
                let hole = text.contains("todo!(");
                let gutter = match (hole, in_item) {
                    (true, _) => "!",
                    (false, true) => "▌",
                    (false, false) => " ",
                };
                let gutter_style = if hole {
                    cx.theme.hole
                } else {
                    cx.theme.item_lines
                };
                let mut spans = vec![
                    Span::styled(format!("{:>number_width$} ", index + 1), cx.theme.dim),
                    Span::styled(gutter, gutter_style),
                    Span::raw(" "),
                ];
                spans.extend(highlight::line(text, cx.theme));
                let line = Line::from(spans);
                if in_item {
                    line.patch_style(cx.theme.item_lines)
                } else {
                    line
                }
            })
            .collect();
        frame.render_widget(Paragraph::new(rows), inner);
    }

    fn handle_key(&mut self, key: KeyEvent) -> KeyResult {
        let page = self.page_lines.get().max(1) as isize;
        match key.code {
            KeyCode::PageDown => self.scroll_by(page),
            KeyCode::PageUp => self.scroll_by(-page),
            _ => return KeyResult::Ignored,
        }
        KeyResult::Handled
    }
}
