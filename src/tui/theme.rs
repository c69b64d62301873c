//! Styles, with a colourless variant for `NO_COLOR` (https://no-color.org) that relies on bold
//! and reverse video only, so every state stays distinguishable without colour.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    Colour,
    NoColour,
}

#[derive(Debug, Clone)]
pub struct Theme {
    pub border: Style,
    pub focused_border: Style,
    pub selected: Style,
    pub dim: Style,
    pub keyword: Style,
    pub string: Style,
    pub comment: Style,
    pub number: Style,
    pub item_lines: Style,
    pub hole: Style,
    pub added: Style,
    pub removed: Style,
    pub hunk_header: Style,
    pub current_hunk: Style,
    pub good: Style,
    pub bad: Style,
    pub status: Style,
}

impl Theme {
    pub fn from_env() -> Theme {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme::new(if no_colour {
            Palette::NoColour
        } else {
            Palette::Colour
        })
    }

    pub fn new(palette: Palette) -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let reversed = Style::new().add_modifier(Modifier::REVERSED);
        match palette {
            Palette::NoColour => Theme {
                border: Style::new(),
                focused_border: bold,
                selected: reversed,
                dim: Style::new(),
                keyword: bold,
                string: Style::new(),
                comment: Style::new().add_modifier(Modifier::ITALIC),
                number: Style::new(),
                item_lines: bold,
                hole: reversed,
                added: bold,
                removed: Style::new(),
                hunk_header: bold,
                current_hunk: reversed,
                good: bold,
                bad: bold,
                status: reversed,
            },
            Palette::Colour => Theme {
                border: Style::new().fg(Color::DarkGray),
                focused_border: Style::new().fg(Color::Cyan),
                selected: Style::new().bg(Color::Blue).fg(Color::White),
                dim: Style::new().fg(Color::DarkGray),
                keyword: Style::new().fg(Color::Magenta),
                string: Style::new().fg(Color::Green),
                comment: Style::new().fg(Color::DarkGray),
                number: Style::new().fg(Color::Yellow),
                item_lines: Style::new().bg(Color::Rgb(40, 40, 60)),
                hole: Style::new().fg(Color::Black).bg(Color::Yellow),
                added: Style::new().fg(Color::Green),
                removed: Style::new().fg(Color::Red),
                hunk_header: Style::new().fg(Color::Cyan),
                current_hunk: Style::new().fg(Color::Black).bg(Color::Cyan),
                good: Style::new().fg(Color::Green),
                bad: Style::new().fg(Color::Red),
                status: Style::new().bg(Color::DarkGray).fg(Color::White),
            },
        }
    }
}
