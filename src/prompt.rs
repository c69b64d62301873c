//! The one loader of `prompts/`: every template kiln sends is a text file there with `{{name}}`
//! placeholders, compiled in here so no other module reads prompt files itself. Double braces
//! because single ones are everywhere in Rust code samples. It sits below `llm` and `task`, which
//! both render prompts, so neither has to import the other for it.

pub const SYSTEM: &str = include_str!("../prompts/system.md");
pub const GEN_TESTS: &str = include_str!("../prompts/gen_tests.md");
pub const GEN_TESTS_FILTER: &str = include_str!("../prompts/gen_tests_filter.md");
pub const DOC: &str = include_str!("../prompts/doc.md");
pub const FIM: &str = include_str!("../prompts/fim.md");
/// What drives an async test, by the runtime the crate has (`project::AsyncRuntime`).
pub const ASYNC_TOKIO: &str = include_str!("../prompts/async_tokio.md");
pub const ASYNC_ASYNC_STD: &str = include_str!("../prompts/async_async_std.md");
pub const ASYNC_FUTURES: &str = include_str!("../prompts/async_futures.md");
pub const ASYNC_NONE: &str = include_str!("../prompts/async_none.md");
pub const REFACTOR: &str = include_str!("../prompts/refactor.md");
pub const FEEDBACK: &str = include_str!("../prompts/feedback.md");
pub const NO_TOOL_CALL: &str = include_str!("../prompts/no_tool_call.md");
pub const ESCALATION: &str = include_str!("../prompts/escalation.md");
/// The nano gate's one-of-N question (`llm::classify`).
pub const CLASSIFY: &str = include_str!("../prompts/classify.md");
/// The hook's question to the nano gate: does this staged function need tests?
pub const HOOK_GATE: &str = include_str!("../prompts/hook_gate.md");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromptError {
    #[error("prompt placeholder {{{{{0}}}}} was not filled")]
    Unfilled(String),
    #[error("prompt has no placeholder {{{{{0}}}}} for the value given")]
    Unused(String),
}

/// Fills every placeholder. Both a placeholder left open and a value with no placeholder are
/// errors, so a renamed placeholder fails loudly in tests instead of sending `{{file}}` to a model.
pub fn render(template: &str, values: &[(&str, &str)]) -> Result<String, PromptError> {
    for name in placeholders(template) {
        if !values.iter().any(|(n, _)| *n == name) {
            return Err(PromptError::Unfilled(name.to_string()));
        }
    }
    let mut text = template.to_string();
    for (name, value) in values {
        let placeholder = format!("{{{{{name}}}}}");
        if !template.contains(&placeholder) {
            return Err(PromptError::Unused((*name).to_string()));
        }
        text = text.replace(&placeholder, value);
    }
    Ok(text)
}

fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.split("{{").skip(1).filter_map(|rest| {
        let name = &rest[..rest.find("}}")?];
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            .then_some(name)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_and_leaves_rust_braces_alone() {
        let text = render(
            "fn {{name}}() { {{body}} }",
            &[("name", "f"), ("body", "1")],
        )
        .unwrap();
        assert_eq!(text, "fn f() { 1 }");
    }

    #[test]
    fn missing_and_unknown_values_are_errors() {
        assert_eq!(
            render("{{a}} {{b}}", &[("a", "1")]),
            Err(PromptError::Unfilled("b".to_string()))
        );
        assert_eq!(
            render("{{a}}", &[("a", "1"), ("c", "2")]),
            Err(PromptError::Unused("c".to_string()))
        );
    }

    #[test]
    fn feedback_and_nudge_prompts_render() {
        assert!(render(FEEDBACK, &[("report", "E0308")])
            .unwrap()
            .contains("E0308"));
        assert!(render(NO_TOOL_CALL, &[]).unwrap().contains("run_code"));
        let escalation = render(
            ESCALATION,
            &[("history", "attempt 1"), ("last_failure", "E0425")],
        )
        .unwrap();
        assert!(escalation.contains("attempt 1") && escalation.contains("E0425"));
        assert!(!SYSTEM.contains("{{"));
        let filter = render(
            GEN_TESTS_FILTER,
            &[("kept", "Kept: a."), ("dropped", "- `b`")],
        )
        .unwrap();
        assert!(filter.contains("Kept: a.") && filter.contains("- `b`"));
    }
}
