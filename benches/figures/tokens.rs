//! Prompt tokens for gen-tests of one function in a 2,000-line file, vs a whole-file prompt as
//! aider-style tools send, counted with the o200k_base tokenizer (tiktoken-rs, BPE table compiled
//! in: no download at run time).
//!
//! kiln's count is everything it sends before the model answers: every message of the task's
//! conversation plus the run_code tool's description. The whole-file prompt is kiln's own system
//! message plus the file, with no instructions at all: a floor for any whole-file prompt, so the
//! ratio errs against kiln.

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
    let conversation = serde_json::to_value(task.messages())?;
    let texts = message_texts(&conversation);
    let system = texts.first().ok_or("gen-tests sent no messages")?;

    let encoding = tiktoken_rs::o200k_base()?;
    let count = |text: &str| encoding.encode_with_special_tokens(text).len();
    let kiln: usize =
        texts.iter().map(|t| count(t)).sum::<usize>() + count(task.tool_description());
    let whole_file = count(system) + count(&text);
    let ratio = kiln as f64 / whole_file as f64;
    Ok(Figure {
        name: "gen-tests prompt tokens, 1 fn in a 2,000-line file",
        measured: format!("{kiln} tokens"),
        reference: format!("whole-file prompt {whole_file} tokens ({lines} lines)"),
        comparison: format!("{ratio:.3} (1/{:.0})", 1.0 / ratio),
        target: "<= 1/5",
        verdict: Verdict::of(ratio <= TARGET_RATIO),
    })
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
