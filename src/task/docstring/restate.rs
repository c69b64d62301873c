//! A cheap check for docs that say nothing the signature does not: "Returns the sum of a and b."
//! on `fn sum(a: i32, b: i32) -> i32`. Such docs pass every other check, so they get their own.

use std::collections::HashSet;

/// Words that carry no information in a doc comment on their own.
const FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "this",
    "that",
    "these",
    "of",
    "to",
    "and",
    "or",
    "for",
    "with",
    "from",
    "by",
    "in",
    "on",
    "as",
    "is",
    "it",
    "its",
    "be",
    "given",
    "function",
    "method",
    "fn",
    "returns",
    "return",
    "returned",
    "result",
    "results",
    "value",
    "values",
    "gets",
    "get",
    "sets",
    "set",
    "creates",
    "create",
    "new",
    "instance",
    "takes",
    "take",
    "struct",
    "enum",
    "type",
    "computes",
    "compute",
    "calculates",
    "calculate",
    "specified",
    "provided",
    "parameter",
    "parameters",
    "argument",
    "arguments",
    "input",
    "inputs",
    "output",
    "some",
    "option",
    "none",
    "ok",
    "err",
    "self",
    "pub",
    "mut",
    "ref",
    "str",
    "string",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "f32",
    "f64",
    "bool",
    "vec",
    "slice",
    "item",
    "object",
    "data",
    "does",
    "do",
];

/// True when every word of `doc` (code blocks aside) is a word of the item's header (its name,
/// parameters and types, split at `_` and case changes) or filler.
pub fn restates_signature(doc: &str, item_tokens: &[String]) -> bool {
    let mut known: HashSet<String> = FILLER.iter().map(|w| (*w).to_string()).collect();
    for token in item_tokens.iter().take_while(|t| *t != "{" && *t != ";") {
        known.extend(words(token));
    }
    let mut in_code = false;
    let mut said: Vec<String> = Vec::new();
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            said.extend(words(line));
        }
    }
    said.iter().all(|w| known.contains(w))
}

/// Lower-case words, split at non-letters, `_` and lower-to-upper case changes.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            push_word(&mut out, &mut current);
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            push_word(&mut out, &mut current);
        }
        prev_lower = c.is_lowercase();
        current.extend(c.to_lowercase());
    }
    push_word(&mut out, &mut current);
    out
}

fn push_word(out: &mut Vec<String>, current: &mut String) {
    if !current.is_empty() {
        out.push(std::mem::take(current));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn tokens(header: &str) -> Vec<String> {
        header.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn docs_made_of_signature_words_restate_it() {
        let sig = tokens("pub fn mean_floor ( values : & [ i32 ] ) -> Option < i32 > {");
        assert!(restates_signature("Returns the result.", &sig));
        assert!(restates_signature(
            "Computes the mean floor of the values.",
            &sig
        ));
        assert!(restates_signature("", &sig));
        assert!(restates_signature(
            "Mean floor.\n\n```\nassert_eq!(mean_floor(&[1, 2]), Some(1));\n```",
            &sig
        ));
    }

    #[test]
    fn docs_that_add_facts_pass() {
        let sig = tokens("pub fn mean_floor ( values : & [ i32 ] ) -> Option < i32 > {");
        assert!(!restates_signature(
            "Integer average rounded toward negative infinity; `None` when empty.",
            &sig
        ));
        let parser = tokens("pub struct ConfigParser {");
        assert!(restates_signature("A config parser.", &parser));
        assert!(!restates_signature("Reads `key = value` lines.", &parser));
    }
}
