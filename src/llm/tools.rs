//! The tools kiln offers the model, and lenient reading of what small models send back.
//!
//! Small models break JSON in a few predictable ways (raw newlines inside strings, code fences
//! around the object, trailing commas, or the bare code instead of an object). Where the intent is
//! unambiguous kiln repairs it and counts the repair; otherwise the model gets an error that shows
//! the schema, never a crash.

use async_openai::types::chat::{ChatCompletionTool, ChatCompletionTools, FunctionObject};
use serde_json::{json, Value};

pub const RUN_CODE: &str = "run_code";

/// The `run_code` tool: the model's candidate goes in `code`; kiln compiles and tests it in a
/// sandbox copy of the crate and answers with the result.
pub fn run_code_tool(description: &str) -> ChatCompletionTools {
    ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: RUN_CODE.to_string(),
            description: Some(description.to_string()),
            parameters: Some(run_code_schema()),
            strict: Some(true),
        },
    })
}

pub fn run_code_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "description": "The complete Rust code of the candidate."
            }
        },
        "required": ["code"],
        "additionalProperties": false
    })
}

/// How the arguments of a tool call were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsQuality {
    /// Valid JSON of the right shape on the first try.
    WellFormed,
    /// Needed a repair kiln is sure of; the string says which.
    Repaired(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCodeArgs {
    pub code: String,
    pub quality: ArgsQuality,
}

/// Reads `run_code` arguments, repairing what can be repaired. The error text is meant for the
/// model: it says what was wrong and what shape is expected.
pub fn parse_run_code_args(raw: &str) -> Result<RunCodeArgs, String> {
    if let Some(code) = code_field(raw) {
        return Ok(RunCodeArgs {
            code,
            quality: ArgsQuality::WellFormed,
        });
    }
    let unfenced = strip_fences(raw);
    let repairs: [(&'static str, String); 3] = [
        ("stripped code fences", unfenced.to_string()),
        (
            "escaped raw control characters",
            escape_controls_in_strings(unfenced),
        ),
        (
            "removed trailing commas",
            remove_trailing_commas(&escape_controls_in_strings(unfenced)),
        ),
    ];
    for (what, candidate) in repairs {
        if let Some(code) = code_field(&candidate) {
            return Ok(RunCodeArgs {
                code,
                quality: ArgsQuality::Repaired(what),
            });
        }
    }
    // Some models put the code itself where the JSON object belongs.
    let trimmed = unfenced.trim();
    if !trimmed.starts_with('{') && looks_like_rust(trimmed) {
        return Ok(RunCodeArgs {
            code: trimmed.to_string(),
            quality: ArgsQuality::Repaired("took bare code as the `code` argument"),
        });
    }
    Err(format!(
        "The arguments of `{RUN_CODE}` were unusable: not JSON, or `code` missing or empty. Call \
         `{RUN_CODE}` again with the complete code, in arguments that match this JSON schema exactly \
         (escape newlines in the string as \\n):\n{}",
        run_code_schema()
    ))
}

fn code_field(text: &str) -> Option<String> {
    match serde_json::from_str::<Value>(text.trim()).ok()? {
        Value::Object(map) => match map.get("code")? {
            Value::String(code) if !code.trim().is_empty() => Some(code.clone()),
            _ => None,
        },
        Value::String(code) if looks_like_rust(&code) => Some(code),
        _ => None,
    }
}

fn looks_like_rust(text: &str) -> bool {
    text.contains("fn ") || text.contains("#[test]") || text.contains("mod ")
}

fn strip_fences(text: &str) -> &str {
    let trimmed = text.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let body = rest.split_once('\n').map_or("", |(_, body)| body);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// Escapes newlines, tabs and carriage returns that appear raw inside JSON strings.
fn escape_controls_in_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for ch in text.chars() {
        match (in_string, escaped, ch) {
            (true, true, _) => {
                escaped = false;
                out.push(ch);
            }
            (true, false, '\\') => {
                escaped = true;
                out.push(ch);
            }
            (_, false, '"') => {
                in_string = !in_string;
                out.push(ch);
            }
            (true, false, '\n') => out.push_str("\\n"),
            (true, false, '\r') => out.push_str("\\r"),
            (true, false, '\t') => out.push_str("\\t"),
            _ => out.push(ch),
        }
    }
    out
}

/// Drops a comma that stands directly before `}` or `]` outside strings.
fn remove_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        if in_string {
            escaped = !escaped && ch == '\\';
            if ch == '"' && !escaped {
                in_string = false;
            }
            out.push(ch);
            continue;
        }
        if ch == '"' {
            in_string = true;
        }
        if ch == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn valid_json_is_well_formed() {
        let args = parse_run_code_args(r#"{"code": "fn a() {}\n"}"#).unwrap();
        assert_eq!(
            args,
            RunCodeArgs {
                code: "fn a() {}\n".to_string(),
                quality: ArgsQuality::WellFormed
            }
        );
    }

    #[test]
    fn raw_newlines_inside_the_string_are_repaired() {
        let args =
            parse_run_code_args("{\"code\": \"#[test]\nfn t() {\n\tassert!(x);\n}\"}").unwrap();
        assert_eq!(args.code, "#[test]\nfn t() {\n\tassert!(x);\n}");
        assert_eq!(
            args.quality,
            ArgsQuality::Repaired("escaped raw control characters")
        );
    }

    #[test]
    fn fences_and_trailing_commas_are_repaired() {
        let raw = "```json\n{\"code\": \"fn a() {}\",}\n```";
        let args = parse_run_code_args(raw).unwrap();
        assert_eq!(args.code, "fn a() {}");
        assert_eq!(
            args.quality,
            ArgsQuality::Repaired("removed trailing commas")
        );
    }

    #[test]
    fn bare_code_is_accepted_and_counted_as_repaired() {
        let args = parse_run_code_args("#[test]\nfn t() { assert_eq!(1 + 1, 2); }").unwrap();
        assert!(args.code.starts_with("#[test]"));
        assert!(matches!(args.quality, ArgsQuality::Repaired(_)));
    }

    #[test]
    fn hopeless_arguments_explain_the_schema() {
        for raw in ["", "{\"code\": \"\"}", "{\"cod\": 1}", "{\"code\": \"fn a("] {
            let err = parse_run_code_args(raw).unwrap_err();
            assert!(err.contains("\"required\":[\"code\"]"), "{raw:?}: {err}");
        }
    }

    #[test]
    fn tool_definition_is_strict() {
        let value = serde_json::to_value(run_code_tool("runs code")).unwrap();
        assert_eq!(value["type"], "function");
        assert_eq!(value["function"]["name"], RUN_CODE);
        assert_eq!(value["function"]["strict"], true);
        assert_eq!(value["function"]["parameters"]["required"][0], "code");
    }
}
