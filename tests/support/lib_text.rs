//! Shared by the task tests: the demo crate with an existing test module, and reading what kiln
//! sent to the model.

use serde_json::Value;

use super::DemoCrate;

/// Existing tests for `split_fields` and `percent`, appended to the demo's lib.rs: the suite a
/// refactor or a fill must keep green.
pub const EXISTING_TESTS: &str = "
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_fields_drops_empty_fields() {
        assert_eq!(split_fields(\"a, ,b,\"), vec![\"a\", \"b\"]);
    }

    #[test]
    fn percent_of_zero_whole_is_none() {
        assert_eq!(percent(1, 0), None);
    }
}
";

/// A passing test module for the demo's `mean_floor`: a model's good answer.
pub const MEAN_FLOOR_TESTS: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_one_two() {
        assert_eq!(mean_floor(&[1, 2]), Some(1));
        assert_eq!(mean_floor(&[]), None);
    }
}
";

/// A demo copy whose lib.rs is the demo's text with `replace` applied and `append` added; returns
/// the crate and the text written.
pub fn demo_with(replace: (&str, &str), append: &str) -> (DemoCrate, String) {
    let demo = DemoCrate::new();
    let original = demo.read_lib();
    assert!(
        original.contains(replace.0),
        "the demo changed: {}",
        replace.0
    );
    let lib = format!("{}{append}", original.replacen(replace.0, replace.1, 1));
    demo.write("src/lib.rs", &lib);
    (demo, lib)
}

/// Every text the model was sent in one request, joined, for "does it carry X" checks.
pub fn message_text(request: &Value) -> String {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last message of a request: the feedback on the previous candidate.
pub fn last_message(request: &Value) -> String {
    request["messages"]
        .as_array()
        .unwrap()
        .last()
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}
