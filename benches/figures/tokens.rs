//! Prompt tokens for gen-tests of one function in a 2,000-line file, vs a whole-file prompt as
//! aider-style tools send, counted with the o200k_base tokenizer (tiktoken-rs, BPE table compiled
//! in: no download at run time).
//!
//! kiln's count is everything it sends before the model answers: every message of the task's
//! conversation plus the run_code tool's description. The whole-file prompt is kiln's own system
//! message plus the file, with no instructions at all: a floor for any whole-file prompt, so the
//! ratio errs against kiln.
//!
//! A second figure takes a function whose three parameter types live in three other files of the
//! crate, each among 600 lines of other code: kiln's prompt carries the three definitions from
//! the crate-wide index; a whole-file tool would need all four files to show them.

use kiln::task::gen_tests::GenTests;
use kiln::task::Task;
use serde_json::Value;

use crate::common::{Figure, Result, Verdict};
use crate::source;

const FILE_LINES: usize = 2_000;
/// A block in the middle of the file.
const TARGET_BLOCK: usize = 40;
const TARGET_RATIO: f64 = 0.2;

pub fn figure() -> Result<Figure<'static>> {
    let text = source::rust_file(FILE_LINES);
    let (_dir, lib) = source::crate_with(&text)?;
    let lines = source::line_count(&lib)?;
    let target = source::function_name(TARGET_BLOCK);
    let task = GenTests::new(&lib, std::slice::from_ref(&target))?;
    let prompt = Prompt::of(&task)?;
    let kiln = prompt.tokens;
    let whole_file = prompt.whole(&text);
    let (ratio, comparison) = ratio_of(kiln, whole_file);
    Ok(Figure {
        name: "gen-tests prompt tokens, 1 fn in a 2,000-line file",
        measured: format!("{kiln} tokens"),
        reference: format!("whole-file prompt {whole_file} tokens ({lines} lines)"),
        comparison,
        target: "<= 1/5",
        verdict: Verdict::of(ratio <= TARGET_RATIO),
    })
}

/// The three files a target's types come from, each a type among [`OTHER_FILE_LINES`] of
/// unrelated code.
const OTHER_FILES: [(&str, &str); 3] = [
    ("shape", "pub struct Shape {\n    pub sides: u32,\n    pub length: f64,\n}\n"),
    (
        "color",
        "#[derive(Debug, Clone, Copy, PartialEq)]\npub enum Color {\n    Red,\n    Green,\n    Blue,\n}\n",
    ),
    ("scale", "pub struct Scale(pub f64);\n\nimpl Scale {\n    pub fn new(factor: f64) -> Self {\n        Scale(factor)\n    }\n}\n"),
];
const OTHER_FILE_LINES: usize = 600;
const ACROSS_FILES_TARGET: &str = "pub fn paint(shape: &shape::Shape, color: color::Color, scale: &scale::Scale) -> String {\n    format!(\"{:?} {}\", color, shape.length * f64::from(shape.sides) * scale.0)\n}\n";

pub fn across_files_figure() -> Result<Figure<'static>> {
    let mut lib = String::new();
    let mut whole = String::new();
    for (name, _) in OTHER_FILES {
        lib.push_str(&format!("pub mod {name};\n"));
    }
    lib.push_str("pub mod paint;\n");
    let (dir, lib_path) = source::crate_with(&lib)?;
    whole.push_str(&lib);
    for (name, definition) in OTHER_FILES {
        let text = format!("{definition}\n{}", source::rust_file(OTHER_FILE_LINES));
        std::fs::write(dir.path().join(format!("src/{name}.rs")), &text)?;
        whole.push_str(&text);
    }
    let paint = format!("use crate::{{color, scale, shape}};\n\n{ACROSS_FILES_TARGET}");
    let paint_path = lib_path.with_file_name("paint.rs");
    std::fs::write(&paint_path, &paint)?;
    whole.push_str(&paint);
    let task = GenTests::new(&paint_path, &["paint".to_string()])?;
    let prompt = Prompt::of(&task)?;
    let carried = [
        "pub struct Shape",
        "pub enum Color",
        "pub fn new(factor: f64) -> Self",
    ]
    .iter()
    .filter(|shape| prompt.texts.iter().any(|t| t.contains(*shape)))
    .count();
    let kiln = prompt.tokens;
    let whole_files = prompt.whole(&whole);
    let (ratio, comparison) = ratio_of(kiln, whole_files);
    Ok(Figure {
        name: "gen-tests prompt tokens, 1 fn whose types live in 3 other files",
        measured: format!("{kiln} tokens, {carried} of 3 definitions carried"),
        reference: format!("the 4 files whole {whole_files} tokens"),
        comparison,
        target: "<= 1/5, all 3 carried",
        verdict: Verdict::of(ratio <= TARGET_RATIO && carried == OTHER_FILES.len()),
    })
}

/// kiln's prompt as a share of the whole-file one, and that share as the table shows it.
fn ratio_of(kiln: usize, whole: usize) -> (f64, String) {
    let ratio = kiln as f64 / whole as f64;
    (ratio, format!("{ratio:.3} (1/{:.0})", 1.0 / ratio))
}

/// What gen-tests sends before the model answers, counted with o200k_base.
struct Prompt {
    texts: Vec<String>,
    /// Every message plus the run_code tool's description.
    tokens: usize,
    encoding: tiktoken_rs::CoreBPE,
}

impl Prompt {
    fn of(task: &GenTests) -> Result<Prompt> {
        let texts = message_texts(&serde_json::to_value(task.messages())?);
        let encoding = tiktoken_rs::o200k_base()?;
        let count = |text: &str| encoding.encode_with_special_tokens(text).len();
        let tokens = texts.iter().map(|t| count(t)).sum::<usize>() + count(task.tool_description());
        Ok(Prompt {
            texts,
            tokens,
            encoding,
        })
    }

    /// A whole-file prompt of `code`: kiln's own system message and the code, nothing else.
    fn whole(&self, code: &str) -> usize {
        let count = |text: &str| self.encoding.encode_with_special_tokens(text).len();
        self.texts.first().map_or(0, |system| count(system)) + count(code)
    }
}

/// The text of every message, whether its content is a string or a list of text parts.
fn message_texts(conversation: &Value) -> Vec<String> {
    let Some(messages) = conversation.as_array() else {
        return Vec::new();
    };
    messages
        .iter()
        .map(|message| match &message["content"] {
            Value::String(text) => text.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|part| part["text"].as_str())
                .collect(),
            _ => String::new(),
        })
        .collect()
}
