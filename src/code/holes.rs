//! Holes for fill-in-the-middle: a `todo!()`/`unimplemented!()` body, a `// kiln: fill` marker,
//! or lines the user names. A hole is a byte range to replace with the model's middle.

use std::ops::Range;

use tree_sitter::Node;

use super::context::context_for;
use super::decl::is_comment;
use super::items::{list_fns, FnItem};
use super::parse::{indentation_at, indented_start, line_col, node_text};
use super::SourceFile;

/// The marker comment a user writes where kiln should fill in code.
pub const FILL_MARKER: &str = "// kiln: fill";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoleKind {
    /// A body that is only `todo!()` or `unimplemented!()`.
    Todo,
    /// A `// kiln: fill` comment.
    Marker,
    /// Lines named on the command line.
    Lines,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    pub kind: HoleKind,
    /// What the middle replaces (never includes the indentation of its first line).
    pub range: Range<usize>,
    /// 1-based line of the hole's start.
    pub line: usize,
    /// The indentation of the hole's first line: later lines of the middle get it too.
    pub indent: String,
    /// Put around the middle: a `{ todo!() }` body on one line becomes a body on its own lines.
    pub lead: String,
    pub trail: String,
}

/// The holes kiln finds by itself, in file order: `todo!()`/`unimplemented!()` bodies and
/// `// kiln: fill` markers.
pub fn find_holes(file: &SourceFile) -> Vec<Hole> {
    let src = file.text();
    let mut holes = Vec::new();
    let mut stack = vec![file.root()];
    let mut cursor = file.root().walk();
    while let Some(node) = stack.pop() {
        if node.kind() == "line_comment" && node_text(node, src).trim() == FILL_MARKER {
            let text = node_text(node, src);
            let end = node.start_byte() + text.trim_end().len();
            holes.push(hole(src, HoleKind::Marker, node.start_byte()..end));
            continue;
        }
        if node.kind() == "function_item" {
            if let Some(body) = node.child_by_field_name("body") {
                if let Some(range) = todo_body(body, src) {
                    holes.push(todo_hole(src, body, range));
                }
            }
        }
        let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    holes.sort_by_key(|h| h.range.start);
    holes
}

/// The hole for lines `first..=last` (1-based): their text from the first non-blank character
/// of the first line to the end of the last line.
pub fn line_hole(text: &str, first: usize, last: usize) -> Result<Hole, String> {
    let lines = text.lines().count();
    if first == 0 || last < first || last > lines {
        return Err(format!(
            "lines {first}..{last} are not inside the file, which has {lines} lines"
        ));
    }
    // (start, length without the line break) of every line.
    let spans: Vec<(usize, usize)> = text
        .split_inclusive('\n')
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some((start, line.trim_end_matches(['\n', '\r']).len()))
        })
        .collect();
    let (Some(&(first_start, _)), Some(&(last_start, last_len))) =
        (spans.get(first - 1), spans.get(last - 1))
    else {
        return Err(format!("lines {first}..{last} are not inside the file"));
    };
    let indent = indentation_at(text, first_start);
    let start = first_start + indent.len();
    let end = (last_start + last_len).max(start);
    Ok(hole(text, HoleKind::Lines, start..end))
}

fn hole(src: &str, kind: HoleKind, range: Range<usize>) -> Hole {
    Hole {
        kind,
        line: line_col(src, range.start).0,
        indent: indentation_at(src, range.start),
        range,
        lead: String::new(),
        trail: String::new(),
    }
}

/// A `todo!()` on the line of its body's `{` makes the whole inside of the braces the hole, so
/// the fill gets lines of its own like rustfmt would write them.
fn todo_hole(src: &str, body: Node<'_>, todo: Range<usize>) -> Hole {
    let open_line = body.start_position().row;
    let todo_line = line_col(src, todo.start).0 - 1;
    if open_line != todo_line {
        return hole(src, HoleKind::Todo, todo);
    }
    let outer = indentation_at(src, body.start_byte());
    let inner = (body.start_byte() + 1)..body.end_byte().saturating_sub(1);
    Hole {
        indent: format!("{outer}    "),
        lead: format!("\n{outer}    "),
        trail: format!("\n{outer}"),
        ..hole(src, HoleKind::Todo, inner)
    }
}

/// The range of `todo!()` in a body that holds nothing else (comments aside).
fn todo_body(body: Node<'_>, src: &str) -> Option<Range<usize>> {
    let mut cursor = body.walk();
    let items: Vec<Node<'_>> = body
        .named_children(&mut cursor)
        .filter(|n| !is_comment(*n))
        .collect();
    let [only] = items.as_slice() else {
        return None;
    };
    let call = if only.kind() == "expression_statement" {
        only.named_child(0)?
    } else {
        *only
    };
    let name = call
        .child_by_field_name("macro")
        .map(|m| node_text(m, src))?;
    let bare = name.rsplit("::").next().unwrap_or(name);
    (call.kind() == "macro_invocation" && matches!(bare, "todo" | "unimplemented"))
        .then(|| only.byte_range())
}

/// What the model sees of a hole: the enclosing function with `marker` in place of the hole,
/// plus the signatures and types it needs (never the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FimContext {
    pub enclosing: FnItem,
    pub context: String,
    /// The text before and after the hole, trimmed to the enclosing function.
    pub prefix: String,
    pub suffix: String,
}

/// Builds the prompt context for `hole`, or says why the hole cannot be filled.
pub fn fim_context(file: &SourceFile, hole: &Hole, marker: &str) -> Result<FimContext, String> {
    let src = file.text();
    let enclosing = list_fns(file)
        .into_iter()
        .filter(|f| f.byte_range.start <= hole.range.start && hole.range.end <= f.byte_range.end)
        .min_by_key(|f| f.byte_range.len())
        .ok_or_else(|| {
            format!(
                "line {}: the hole is not inside a function; kiln fills function bodies",
                hole.line
            )
        })?;
    let item_start = indented_start(src, enclosing.byte_range.start);
    let prefix = src
        .get(item_start..hole.range.start)
        .unwrap_or("")
        .to_owned();
    let suffix = src
        .get(hole.range.end..enclosing.byte_range.end)
        .unwrap_or("")
        .to_owned();
    let whole = src.get(item_start..enclosing.byte_range.end).unwrap_or("");
    // Whole-file context would repeat what prefix and suffix already say, so always trim.
    let context = context_for(file, std::slice::from_ref(&enclosing), 0).replacen(
        whole,
        &format!("{prefix}{marker}{suffix}"),
        1,
    );
    Ok(FimContext {
        enclosing,
        context,
        prefix,
        suffix,
    })
}

/// Places a middle into the hole, so a multi-line fill lines up with its surroundings whichever
/// shape the model chose: dedented (every line from column 0), hole-relative (later lines
/// indented relative to the hole), or absolute (every line as it will stand in the file, or the
/// common shape of a continuation: the first line bare because the prefix ended at the hole's
/// column, the later ones already carrying the hole's indentation). The model's own indentation
/// is taken off, and lines after the first get the hole's.
pub fn fill(text: &str, hole: &Hole, middle: &str) -> String {
    let middle = middle.trim_matches('\n').trim_end();
    let indent_of = |line: &str| line.len() - line.trim_start().len();
    let indents = |lines: &mut dyn Iterator<Item = &str>| {
        lines.filter(|l| !l.trim().is_empty()).map(indent_of).min()
    };
    let common = indents(&mut middle.lines()).unwrap_or(0);
    let later = indents(&mut middle.lines().skip(1));
    let first = middle.lines().next().map_or(0, indent_of);
    // A bare first line over later lines that all sit at or beyond the hole's column: those
    // are absolute; a hole-relative reply has a later line (a closing brace, a next statement)
    // further left. One shape reads both ways: later lines exactly one hole-width in. A method
    // chain (`.map(..)`) there is hole-relative, since an absolute chain would sit deeper than
    // its statement; a next statement or a closing brace there is absolute.
    let chained_at = |column: usize| {
        middle
            .lines()
            .skip(1)
            .any(|line| indent_of(line) == column && line.trim_start().starts_with(['.', '?']))
    };
    let continuation = first == 0
        && !hole.indent.is_empty()
        && later.is_some_and(|later| {
            later > hole.indent.len() || (later == hole.indent.len() && !chained_at(later))
        });
    let later_strip = if continuation {
        hole.indent.len()
    } else {
        common
    };
    let body = middle
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let strip = if i == 0 { common } else { later_strip };
            let own = line.get(strip..).unwrap_or(line.trim_start());
            match (i, own.trim().is_empty()) {
                (0, _) => own.to_owned(),
                (_, true) => String::new(),
                _ => format!("{}{own}", hole.indent),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "{}{}{body}{}{}",
        text.get(..hole.range.start).unwrap_or(""),
        hole.lead,
        hole.trail,
        text.get(hole.range.end..).unwrap_or("")
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const SRC: &str = "pub fn a() -> u8 {\n    todo!()\n}\n\nimpl S {\n    fn b(&self) -> u8 { unimplemented!(\"later\"); }\n}\n\nfn c(x: u8) -> u8 {\n    let y = x + 1;\n    // kiln: fill\n    y\n}\n\nfn d() -> u8 { todo!(); 1 }\n";

    #[test]
    fn finds_todo_bodies_and_markers_in_order() {
        let file = SourceFile::parse(SRC).unwrap();
        let holes = find_holes(&file);
        let found: Vec<(HoleKind, usize, &str, &str)> = holes
            .iter()
            .map(|h| (h.kind, h.line, &SRC[h.range.clone()], h.indent.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (HoleKind::Todo, 2, "todo!()", "    "),
                (
                    HoleKind::Todo,
                    6,
                    " unimplemented!(\"later\"); ",
                    "        "
                ),
                (HoleKind::Marker, 11, "// kiln: fill", "    "),
            ]
        );
    }

    #[test]
    fn a_one_line_todo_body_is_filled_on_lines_of_its_own() {
        let src = "impl S {\n    fn b(&self) -> u8 { todo!() }\n}\n";
        let file = SourceFile::parse(src).unwrap();
        let holes = find_holes(&file);
        let filled = fill(src, &holes[0], "let n = 1;\nn + 1");
        assert_eq!(
            filled,
            "impl S {\n    fn b(&self) -> u8 {\n        let n = 1;\n        n + 1\n    }\n}\n"
        );
    }

    #[test]
    fn line_holes_cover_whole_lines_and_reject_lines_outside_the_file() {
        let one = line_hole(SRC, 10, 10).unwrap();
        assert_eq!(&SRC[one.range.clone()], "let y = x + 1;");
        let two = line_hole(SRC, 10, 12).unwrap();
        assert_eq!(
            &SRC[two.range.clone()],
            "let y = x + 1;\n    // kiln: fill\n    y"
        );
        assert!(line_hole(SRC, 99, 99).unwrap_err().contains("has 15 lines"));
        assert!(line_hole(SRC, 0, 1).is_err());
        assert!(line_hole(SRC, 3, 2).is_err());
    }

    #[test]
    fn fill_indents_later_lines_like_the_hole() {
        let file = SourceFile::parse(SRC).unwrap();
        let hole = &find_holes(&file)[0];
        let filled = fill(SRC, hole, "  let n = 1;\n  n + 1\n");
        assert!(
            filled.starts_with("pub fn a() -> u8 {\n    let n = 1;\n    n + 1\n}\n"),
            "{filled}"
        );
        assert!(SourceFile::parse(&filled).is_ok());
    }

    #[test]
    fn every_reply_shape_lands_at_the_holes_indentation() {
        let file = SourceFile::parse(SRC).unwrap();
        let hole = &find_holes(&file)[0];
        let want =
            "pub fn a() -> u8 {\n    if true {\n        1\n    } else {\n        2\n    }\n}\n";
        for (shape, middle) in [
            ("dedented", "if true {\n    1\n} else {\n    2\n}"),
            (
                "absolute",
                "    if true {\n        1\n    } else {\n        2\n    }",
            ),
            (
                "continuation",
                "if true {\n        1\n    } else {\n        2\n    }",
            ),
        ] {
            let filled = fill(SRC, hole, middle);
            assert!(filled.starts_with(want), "{shape}:\n{filled}");
        }
        // A chain one hole-width in is relative to the hole: it ends up one level deeper.
        let filled = fill(SRC, hole, "xs.iter()\n    .count()");
        assert!(
            filled.starts_with("pub fn a() -> u8 {\n    xs.iter()\n        .count()\n}\n"),
            "{filled}"
        );
        let filled = fill(SRC, hole, "let n = 1;\n    n + 1");
        assert!(
            filled.starts_with("pub fn a() -> u8 {\n    let n = 1;\n    n + 1\n}\n"),
            "{filled}"
        );
    }

    #[test]
    fn context_marks_the_hole_inside_the_trimmed_enclosing_function() {
        let file = SourceFile::parse(SRC).unwrap();
        let hole = &find_holes(&file)[2];
        let context = fim_context(&file, hole, "<FILL>").unwrap();
        assert_eq!(context.enclosing.name, "c");
        assert_eq!(
            context.prefix,
            "fn c(x: u8) -> u8 {\n    let y = x + 1;\n    "
        );
        assert_eq!(context.suffix, "\n    y\n}");
        assert!(
            context
                .context
                .contains("let y = x + 1;\n    <FILL>\n    y"),
            "{}",
            context.context
        );
        assert!(
            !context.context.contains("pub fn a()"),
            "{}",
            context.context
        );
        let outside = line_hole(SRC, 4, 4).unwrap();
        assert!(fim_context(&file, &outside, "<FILL>")
            .unwrap_err()
            .contains("not inside a function"));
    }
}
