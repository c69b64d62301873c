//! The layering of `src/`, checked by reading the sources: front ends (`cli`, `tui`, `hook`) use
//! the shared front-end layer (`frontend`) and the core, never each other; `frontend` uses the
//! core, never a front end; the core (every other top-level module) imports neither a front end
//! nor `frontend`; `main.rs` only dispatches to the front ends.
//!
//! Imports are found in code only (comments and string literals are blanked first) in every
//! form the compiler accepts: `use crate::x::...`, `use crate::{x, y}`, `crate::x::f()` paths in
//! code, `super::` chains that climb out of a top-level module (inline `mod` blocks counted),
//! and `kiln::x` in `main.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FRONT_ENDS: [&str; 3] = ["cli", "tui", "hook"];
const SHARED: &str = "frontend";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    FrontEnd,
    Shared,
    Core,
}

fn layer(top: &str) -> Layer {
    if FRONT_ENDS.contains(&top) {
        Layer::FrontEnd
    } else if top == SHARED {
        Layer::Shared
    } else {
        Layer::Core
    }
}

/// One module reference found in a file: which top-level module it names, where, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    top: String,
    text: String,
}

/// Why `from` must not name `to`, or `None` if the arrow points the right way.
fn forbidden(from: &str, to: &str) -> Option<&'static str> {
    if from == to {
        return None;
    }
    match (layer(from), layer(to)) {
        (Layer::FrontEnd, Layer::FrontEnd) => Some("a front end imports another front end"),
        (Layer::Shared, Layer::FrontEnd) => Some("the shared front-end layer imports a front end"),
        (Layer::Core, Layer::FrontEnd) => Some("the core imports a front end"),
        (Layer::Core, Layer::Shared) => Some("the core imports the shared front-end layer"),
        _ => None,
    }
}

/// `text` with comments, string and char literals replaced by spaces (newlines kept), so a
/// path mentioned in a doc comment or a message is not mistaken for an import.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && !prev_ident && matches!(next, Some('"') | Some('#')) {
            // A raw string r"..." or r#"..."#: it ends at a quote followed by as many hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (0..hashes).all(|h| chars.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.extend(chars[i..j.min(chars.len())].iter().map(|c| blank(*c)));
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(chars.len());
            out.extend(chars[i..end].iter().map(|c| blank(*c)));
            i = end;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}'); otherwise a lifetime, left as it is.
            let end = if next == Some('\\') {
                (i + 3..chars.len())
                    .find(|j| chars[*j] == '\'')
                    .map(|j| j + 1)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.extend(chars[i..end].iter().map(|c| blank(*c)));
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The word starting at `at` after any white space, and where it ends.
fn word_at(code: &[char], mut at: usize) -> (String, usize) {
    while at < code.len() && code[at].is_whitespace() {
        at += 1;
    }
    let start = at;
    while at < code.len() && is_ident(code[at]) {
        at += 1;
    }
    (code[start..at].iter().collect(), at)
}

/// After `::` at `at`: skips white space and the `::`. `None` if there is no `::`.
fn after_path_sep(code: &[char], mut at: usize) -> Option<usize> {
    while at < code.len() && code[at].is_whitespace() {
        at += 1;
    }
    (code.get(at) == Some(&':') && code.get(at + 1) == Some(&':')).then_some(at + 2)
}

/// The first segment of each item of a `{a::b, c, d::{e}}` group opening at `at`.
fn group_heads(code: &[char], at: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    let mut i = at;
    while i < code.len() {
        match code[i] {
            '{' => {
                depth += 1;
                expect_head = depth == 1;
                i += 1;
            }
            '}' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                expect_head = true;
                i += 1;
            }
            c if expect_head && depth == 1 && is_ident(c) => {
                let (word, end) = word_at(code, i);
                heads.push(word);
                expect_head = false;
                i = end;
            }
            _ => i += 1,
        }
    }
    heads
}

/// The top-level names a path beginning at `at` (just after `crate::` or `kiln::`) reaches.
fn heads_at(code: &[char], at: usize) -> Vec<String> {
    let mut i = at;
    while i < code.len() && code[i].is_whitespace() {
        i += 1;
    }
    if code.get(i) == Some(&'{') {
        return group_heads(code, i);
    }
    let (word, _) = word_at(code, i);
    if word.is_empty() {
        Vec::new()
    } else {
        vec![word]
    }
}

/// Inline `mod name { ... }` blocks: each one's name and the span of its body.
fn inline_modules(code: &[char]) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 3 < code.len() {
        let starts_word = i == 0 || !is_ident(code[i - 1]);
        if starts_word && code[i..i + 3] == ['m', 'o', 'd'] && !is_ident(code[i + 3]) {
            let (name, mut j) = word_at(code, i + 3);
            while j < code.len() && code[j].is_whitespace() {
                j += 1;
            }
            if !name.is_empty() && code.get(j) == Some(&'{') {
                let mut depth = 0;
                let mut k = j;
                while k < code.len() {
                    match code[k] {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
                found.push((name, j, k));
            }
        }
        i += 1;
    }
    found
}

/// Every reference in `text` to a top-level module of the crate, for a file whose module path
/// is `module` (`["tui", "components", "files"]`; empty for the crate root). `root_name` is
/// how the file names the library's root: `crate` inside it, `kiln` in `main.rs`.
fn references(
    text: &str,
    module: &[String],
    root_name: &str,
    tops: &BTreeSet<String>,
) -> Vec<Reference> {
    let code: Vec<char> = code_only(text).chars().collect();
    let line_of = |at: usize| code[..at].iter().filter(|c| **c == '\n').count() + 1;
    let snippet = |from: usize| {
        let end = (from..code.len())
            .find(|j| matches!(code[*j], ';' | '\n'))
            .unwrap_or(code.len());
        code[from..end]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    };
    let mods = inline_modules(&code);
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if i > 0 && (is_ident(code[i - 1]) || code[i - 1] == '$') {
            i += 1;
            continue;
        }
        let (word, end) = word_at(&code, i);
        if word.is_empty() || end == i {
            i += 1;
            continue;
        }
        let start = end - word.chars().count();
        let mut heads = Vec::new();
        if word == root_name {
            if let Some(path) = after_path_sep(&code, end) {
                heads = heads_at(&code, path);
            }
        } else if word == "super" {
            // Climb from the module this `super` is written in, inline modules included.
            let mut here: Vec<String> = module.to_vec();
            here.extend(
                mods.iter()
                    .filter(|(_, open, close)| *open < start && start < *close)
                    .map(|(name, _, _)| name.clone()),
            );
            let mut at = end;
            let mut climbs = 1;
            let mut rest = None;
            while let Some(path) = after_path_sep(&code, at) {
                let (next, next_end) = word_at(&code, path);
                if next == "super" {
                    climbs += 1;
                    at = next_end;
                } else {
                    rest = Some(path);
                    break;
                }
            }
            // The whole chain is read; its inner `super`s are not chains of their own.
            i = at;
            if climbs <= here.len() {
                let above = &here[..here.len() - climbs];
                heads = match (above.first(), rest) {
                    (Some(top), _) => vec![top.clone()],
                    (None, Some(path)) => heads_at(&code, path),
                    (None, None) => Vec::new(),
                };
            }
        }
        for top in heads.into_iter().filter(|h| tops.contains(h)) {
            found.push(Reference {
                line: line_of(start),
                top,
                text: snippet(start),
            });
        }
        i = i.max(end);
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `tui/components/files.rs` -> `[tui, components,
/// files]`, `tui/mod.rs` -> `[tui]`, `lib.rs` -> `[]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod") | Some("lib")) {
        parts.pop();
    }
    parts
}

/// Every arrow in `src/` that points the wrong way, one line each.
fn violations(src: &Path) -> Vec<String> {
    let tops: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", src.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_string_lossy().to_string();
            let name = name.strip_suffix(".rs").map(str::to_string).unwrap_or(name);
            (path.is_dir() || path.extension().is_some_and(|e| e == "rs"))
                .then_some(name)
                .filter(|n| n != "lib" && n != "main")
        })
        .collect();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file).to_path_buf();
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let shown = Path::new("src").join(&relative).display().to_string();
        if relative == Path::new("main.rs") {
            // The binary: clap definitions and dispatch to the front ends, nothing else.
            for r in references(&text, &[], "kiln", &tops) {
                if layer(&r.top) == Layer::Core {
                    wrong.push(format!(
                        "{shown}:{}: main.rs imports the core module `{}`; it only dispatches to the front ends (`{}`)",
                        r.line, r.top, r.text
                    ));
                }
            }
            continue;
        }
        let module = module_path(&relative);
        let Some(from) = module.first() else {
            continue;
        };
        for r in references(&text, &module, "crate", &tops) {
            if let Some(why) = forbidden(from, &r.top) {
                wrong.push(format!(
                    "{shown}:{}: {why}: `{from}` uses `{}` (`{}`)",
                    r.line, r.top, r.text
                ));
            }
        }
    }
    wrong
}

#[test]
fn arrows_in_src_point_one_way_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // The scanner must see the arrows that are allowed, or an empty result would prove nothing.
    let tui = std::fs::read_to_string(src.join("tui/mod.rs")).unwrap_or_default();
    let tops: BTreeSet<String> = ["frontend".to_string()].into();
    assert!(
        !references(&tui, &["tui".to_string()], "crate", &tops).is_empty(),
        "the scanner no longer sees src/tui/mod.rs use `crate::frontend`"
    );
    let wrong = violations(&src);
    assert!(
        wrong.is_empty(),
        "{} import(s) break the layering (front ends -> frontend -> core; see DESIGN.md):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The scanner itself: each form of import is seen, and what only looks like one is not.
#[test]
fn every_form_of_import_is_seen() {
    let tops: BTreeSet<String> = ["agent", "cli", "frontend", "hook", "task", "tui"]
        .map(String::from)
        .into();
    let module = |path: &str| path.split('/').map(String::from).collect::<Vec<_>>();
    let tops_of = |text: &str, at: &str, root: &str| {
        references(text, &module(at), root, &tops)
            .into_iter()
            .map(|r| (r.line, r.top))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        tops_of(
            "use crate::cli::Exit;\nuse crate::{agent, frontend::Exit};\n",
            "tui/app",
            "crate"
        ),
        vec![
            (1, "cli".into()),
            (2, "agent".into()),
            (2, "frontend".into())
        ]
    );
    assert_eq!(
        tops_of("fn f() { crate::hook::run(); }", "task/fim", "crate"),
        vec![(1, "hook".into())]
    );
    // `super` climbs: from tui/components/files, `super::super` is `tui`; a third climb reaches
    // the root, so `cli` is next.
    assert_eq!(
        tops_of(
            "use super::super::super::cli::Exit;\nuse super::super::app::Msg;",
            "tui/components/files",
            "crate"
        ),
        vec![(1, "cli".into()), (2, "tui".into())]
    );
    // Inside an inline `mod tests`, one more `super` is needed to climb as far.
    assert_eq!(
        tops_of(
            "mod tests {\n    use super::super::x;\n}\nuse super::super::tui::X;",
            "hook/check",
            "crate"
        ),
        vec![(2, "hook".into()), (4, "tui".into())]
    );
    // Comments, doc comments, strings, raw strings and char literals are not code.
    assert_eq!(
        tops_of(
            "/// see crate::cli\n// crate::tui\n/* crate::hook */ let s = \"crate::cli\";\nlet r = r#\"crate::tui\"#; let c = '\"'; let l: &'static str = \"\";",
            "agent",
            "crate"
        ),
        Vec::<(usize, String)>::new()
    );
    assert_eq!(
        tops_of(
            "use kiln::cli::{doc, gen_tests};\nuse kiln::{hook, task};",
            "",
            "kiln"
        ),
        vec![(1, "cli".into()), (2, "hook".into()), (2, "task".into())]
    );
    assert_eq!(
        forbidden("tui", "cli"),
        Some("a front end imports another front end")
    );
    assert_eq!(
        forbidden("agent", "frontend"),
        Some("the core imports the shared front-end layer")
    );
    assert_eq!(
        forbidden("frontend", "hook"),
        Some("the shared front-end layer imports a front end")
    );
    assert_eq!(forbidden("tui", "frontend"), None);
    assert_eq!(forbidden("frontend", "task"), None);
}
