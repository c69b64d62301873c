//! The left pane: the crate's Rust files, or the open file's items with what they lack, and the
//! `/` fuzzy filter over whichever is shown.

use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use super::input::LineInput;
use crate::tui::component::{move_selection, Action, Component, DrawContext, Focus, KeyResult};
use crate::tui::fuzzy;
use crate::tui::strings;
use crate::tui::workspace::ItemRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMode {
    Files,
    Items,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filtering {
    Off,
    Typing,
    Applied,
}

pub struct FileList {
    files: Vec<PathBuf>,
    items: Vec<ItemRow>,
    /// Shown instead of items when the open file could not be analysed.
    problem: Option<String>,
    mode: ListMode,
    filter: LineInput,
    filtering: Filtering,
    /// Indices into the shown list that pass the filter, best match first.
    visible: Vec<usize>,
    selected: usize,
}

impl FileList {
    pub fn new(files: Vec<PathBuf>) -> FileList {
        let mut list = FileList {
            files,
            items: Vec::new(),
            problem: None,
            mode: ListMode::Files,
            filter: LineInput::new(strings::FILTER_PROMPT),
            filtering: Filtering::Off,
            visible: Vec::new(),
            selected: 0,
        };
        list.refilter();
        list
    }

    #[cfg(test)]
    pub fn mode(&self) -> ListMode {
        self.mode
    }

    /// Switches to the items of a freshly opened file.
    pub fn show_items(&mut self, items: Vec<ItemRow>, problem: Option<String>) {
        self.items = items;
        self.problem = problem;
        self.mode = ListMode::Items;
        self.clear_filter();
    }

    /// Selects the item called `name`, if the list shows it.
    pub fn select_item(&mut self, name: &str) {
        if let Some(at) = self
            .visible
            .iter()
            .position(|&i| self.mode == ListMode::Items && self.items[i].name == name)
        {
            self.selected = at;
        }
    }

    pub fn selected_item(&self) -> Option<&ItemRow> {
        match self.mode {
            ListMode::Items => self.visible.get(self.selected).map(|&i| &self.items[i]),
            ListMode::Files => None,
        }
    }

    fn selected_file(&self) -> Option<&PathBuf> {
        self.visible.get(self.selected).map(|&i| &self.files[i])
    }

    fn labels(&self) -> Vec<String> {
        match self.mode {
            ListMode::Files => self.files.iter().map(|f| f.display().to_string()).collect(),
            ListMode::Items => self.items.iter().map(|i| i.name.clone()).collect(),
        }
    }

    fn refilter(&mut self) {
        let labels = self.labels();
        self.visible = fuzzy::filter(self.filter.text(), labels.iter().map(String::as_str));
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    fn clear_filter(&mut self) {
        self.filter = LineInput::new(strings::FILTER_PROMPT);
        self.filtering = Filtering::Off;
        self.selected = 0;
        self.refilter();
    }

    fn filter_key(&mut self, key: KeyEvent) -> KeyResult {
        match self.filter.handle_key(key) {
            KeyResult::Action(Action::Submit(_)) => {
                self.filtering = Filtering::Applied;
                // Enter on a file list opens the match, as Enter on the list does.
                if self.mode == ListMode::Files {
                    if let Some(file) = self.selected_file() {
                        return KeyResult::Action(Action::OpenFile(file.clone()));
                    }
                }
            }
            KeyResult::Action(_) => self.clear_filter(),
            KeyResult::Handled => {
                self.selected = 0;
                self.refilter();
            }
            KeyResult::Ignored => {
                if let Some(selected) = move_selection(self.selected, self.visible.len(), key) {
                    self.selected = selected;
                }
            }
        }
        KeyResult::Handled
    }

    fn row(&self, index: usize, cx: &DrawContext) -> ListItem<'static> {
        match self.mode {
            ListMode::Files => ListItem::new(self.files[index].display().to_string()),
            ListMode::Items => {
                let item = &self.items[index];
                let mark = |on: bool, letter: &'static str| if on { letter } else { " " };
                let marks = format!(
                    "{}{}{} ",
                    mark(item.no_tests, "T"),
                    mark(item.no_docs, "D"),
                    mark(item.hole, "H")
                );
                ListItem::new(Line::from(vec![
                    Span::styled(marks, cx.theme.bad),
                    Span::raw(item.name.clone()),
                ]))
            }
        }
    }
}

impl Component for FileList {
    fn draw(&self, frame: &mut Frame, area: Rect, cx: &DrawContext) {
        let title = match self.mode {
            ListMode::Files => strings::FILES_TITLE,
            ListMode::Items => strings::ITEMS_TITLE,
        };
        let border = match cx.focus {
            Focus::Focused => cx.theme.focused_border,
            Focus::Unfocused => cx.theme.border,
        };
        let block = Block::bordered().title(title).border_style(border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [list_area, filter_area] = match self.filtering {
            Filtering::Off => [inner, Rect::default()],
            Filtering::Typing | Filtering::Applied => {
                Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner)
            }
        };
        match self.filtering {
            Filtering::Off => {}
            Filtering::Typing => self.filter.draw(frame, filter_area, cx),
            // Shown without a cursor: nothing is being typed into.
            Filtering::Applied => {
                let text = format!("{}{}", strings::FILTER_PROMPT, self.filter.text());
                frame.render_widget(Paragraph::new(text), filter_area);
            }
        }
        let empty = match (&self.problem, self.mode) {
            (Some(problem), ListMode::Items) => Some(problem.as_str()),
            _ if !self.visible.is_empty() => None,
            _ if self.filtering != Filtering::Off => Some(strings::NO_MATCHES),
            (_, ListMode::Items) => Some(strings::NO_ITEMS),
            (_, ListMode::Files) => Some(strings::NO_FILES),
        };
        if let Some(text) = empty {
            let text = Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true });
            frame.render_widget(text.style(cx.theme.dim), list_area);
            return;
        }
        let rows: Vec<ListItem> = self.visible.iter().map(|&i| self.row(i, cx)).collect();
        let list = List::new(rows).highlight_style(cx.theme.selected);
        let mut state = ListState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(list, list_area, &mut state);
    }

    fn handle_key(&mut self, key: KeyEvent) -> KeyResult {
        if self.filtering == Filtering::Typing {
            return self.filter_key(key);
        }
        if let Some(selected) = move_selection(self.selected, self.visible.len(), key) {
            self.selected = selected;
            return KeyResult::Handled;
        }
        match key.code {
            KeyCode::Char('/') => {
                self.filtering = Filtering::Typing;
                KeyResult::Handled
            }
            KeyCode::Esc if self.filtering == Filtering::Applied => {
                self.clear_filter();
                KeyResult::Handled
            }
            KeyCode::Esc if self.mode == ListMode::Items => {
                self.mode = ListMode::Files;
                self.clear_filter();
                KeyResult::Action(Action::CloseFile)
            }
            KeyCode::Enter if self.mode == ListMode::Files => match self.selected_file() {
                Some(file) => KeyResult::Action(Action::OpenFile(file.clone())),
                None => KeyResult::Handled,
            },
            _ => KeyResult::Ignored,
        }
    }
}
