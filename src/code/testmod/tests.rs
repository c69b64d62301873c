#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use pretty_assertions::assert_eq;

#[test]
fn bare_fns_are_wrapped_and_indented() {
    let candidate = "\
use std::collections::HashMap;

// Checks the happy path.
#[test]
fn adds() {
    assert_eq!(add(1, 2), 3);
}

fn helper() -> HashMap<u8, u8> {
    HashMap::new()
}
#[test]
fn empty() { assert!(helper().is_empty()); }
";
    let module = normalize_test_module(candidate, "kiln_tests").unwrap();
    let expected = "\
#[cfg(test)]
mod kiln_tests {
    use super::*;

    use std::collections::HashMap;

    // Checks the happy path.
    #[test]
    fn adds() {
        assert_eq!(add(1, 2), 3);
    }

    fn helper() -> HashMap<u8, u8> {
        HashMap::new()
    }
    #[test]
    fn empty() { assert!(helper().is_empty()); }
}
";
    assert_eq!(
        module,
        TestModule {
            text: expected.to_owned(),
            test_names: vec!["adds".to_owned(), "empty".to_owned()],
        }
    );
}

#[test]
fn existing_super_import_is_not_duplicated_and_inner_attrs_lead() {
    let candidate = "#![allow(unused)]\nuse super::add;\n\n#[test]\nfn t() { add(1, 1); }\n";
    let module = normalize_test_module(candidate, "t2").unwrap();
    assert_eq!(
        module.text,
        "#[cfg(test)]\nmod t2 {\n    #![allow(unused)]\n\n    use super::add;\n\n    #[test]\n    fn t() { add(1, 1); }\n}\n"
    );
}

#[test]
fn multiline_raw_strings_are_not_reindented() {
    let candidate = "#[test]\nfn text() {\n    let s = r#\"line one\nline two\n\"#;\n    assert_eq!(s.lines().count(), 2);\n}\n";
    let module = normalize_test_module(candidate, "kiln_tests").unwrap();
    assert!(
        module
            .text
            .contains("        let s = r#\"line one\nline two\n\"#;\n        assert_eq!"),
        "{}",
        module.text
    );
}

#[test]
fn single_module_is_renamed_and_gets_cfg_test() {
    let candidate = "mod tests {\n    use super::*;\n\n    #[test]\n    fn works() {\n        assert!(ready());\n    }\n}\n";
    let module = normalize_test_module(candidate, "kiln_tests").unwrap();
    assert_eq!(
        module,
        TestModule {
            text: "#[cfg(test)]\nmod kiln_tests {\n    use super::*;\n\n    #[test]\n    fn works() {\n        assert!(ready());\n    }\n}\n".to_owned(),
            test_names: vec!["works".to_owned()],
        }
    );
}

#[test]
fn cfg_test_module_keeps_its_attributes_and_gains_super_import() {
    let candidate = "/// Tests.\n#[cfg(test)]\n#[allow(dead_code)]\nmod my_tests {\n    #![allow(unused)]\n    #[tokio::test]\n    async fn works() {}\n    mod nested {\n        #[test]\n        fn deep() {}\n    }\n}";
    let module = normalize_test_module(candidate, "kiln_tests").unwrap();
    assert_eq!(
        module,
        TestModule {
            text: "/// Tests.\n#[cfg(test)]\n#[allow(dead_code)]\nmod kiln_tests {\n    #![allow(unused)]\n    use super::*;\n    #[tokio::test]\n    async fn works() {}\n    mod nested {\n        #[test]\n        fn deep() {}\n    }\n}\n".to_owned(),
            test_names: vec!["works".to_owned(), "nested::deep".to_owned()],
        }
    );
}

#[test]
fn items_outside_a_single_module_are_moved_inside() {
    let candidate = "use std::fmt::Write;\n\nstruct Probe;\n\nmod tests {\n    use super::*;\n    #[test]\n    fn t() { let _ = Probe; }\n}\n";
    let module = normalize_test_module(candidate, "kiln_tests").unwrap();
    assert_eq!(
        module.text,
        "#[cfg(test)]\nmod kiln_tests {\n    use std::fmt::Write;\n    struct Probe;\n    use super::*;\n    #[test]\n    fn t() { let _ = Probe; }\n}\n"
    );
}

#[test]
fn two_modules_are_wrapped_together() {
    let candidate = "mod a { #[test] fn x() {} }\nmod b { #[test] fn y() {} }\n";
    let module = normalize_test_module(candidate, "kiln_tests").unwrap();
    assert_eq!(module.test_names, vec!["a::x", "b::y"]);
    assert!(module
        .text
        .starts_with("#[cfg(test)]\nmod kiln_tests {\n    use super::*;\n\n    mod a"));
}

#[test]
fn garbage_is_a_syntax_error() {
    let err = normalize_test_module("fn oops( {\n  assert!(\n", "kiln_tests").unwrap_err();
    assert!(matches!(err, CodeError::Syntax { line: 1, .. }), "{err:?}");
    let err = normalize_test_module("Here are the tests you asked for!", "kiln_tests").unwrap_err();
    assert!(matches!(err, CodeError::Syntax { .. }), "{err:?}");
}

#[test]
fn no_test_fns_is_no_tests() {
    assert_eq!(
        normalize_test_module("fn helper() {}\n", "kiln_tests"),
        Err(CodeError::NoTests)
    );
    assert_eq!(
        normalize_test_module("", "kiln_tests"),
        Err(CodeError::NoTests)
    );
    assert_eq!(
        normalize_test_module("mod tests { fn not_a_test() {} }", "kiln_tests"),
        Err(CodeError::NoTests)
    );
}

#[test]
fn invalid_module_name_is_a_syntax_error() {
    let err = normalize_test_module("#[test] fn t() {}", "not a name").unwrap_err();
    assert!(matches!(err, CodeError::Syntax { .. }), "{err:?}");
}

#[test]
fn shadowing_of_original_items_is_reported() {
    let original =
        SourceFile::parse("pub fn add(a: u8, b: u8) -> u8 { a + b }\nstruct Keep;\n#[cfg(test)]\nmod tests { fn local() {} }\n").unwrap();
    let module = normalize_test_module(
        "fn add(a: u8, b: u8) -> u8 { a + b }\nfn local() {}\n#[test]\nfn t() { assert_eq!(add(1, 1), 2); }\n",
        "kiln_tests",
    )
    .unwrap();
    assert_eq!(shadowed_items(&original, &module), vec!["add"]);
}
