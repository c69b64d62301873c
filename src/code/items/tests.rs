#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use pretty_assertions::assert_eq;

/// Real-world shaped source: generics, where-clauses, trait impls, attributes, both doc
/// styles, nested modules, macros, a test module and non-ASCII text before the items.
const FIXTURE: &str = r#"//! Parser for the ✓ format — «unicode» up front shifts every byte offset.
use std::fmt::{self, Display};

const GREETING: &str = "héllo wörld ✓";

macro_rules! twice {
    ($e:expr) => {{ fn hidden() {} $e; $e }};
}

/// Adds two numbers.
///
/// Used everywhere.
#[inline]
#[must_use]
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

/** Subtracts `b` from `a`. */
pub(crate) fn sub(a: i32, b: i32) -> i32 {
    a - b
}

#[cfg(feature = "x")]
fn feature_only() {}

pub struct Parser<T> {
    items: Vec<T>,
}

impl<T: Clone> Parser<T>
where
    T: Display,
{
    /// Makes an empty parser.
    pub fn new() -> Self {
        Parser { items: Vec::new() }
    }

    pub fn parse_header(&mut self, input: &str) -> Option<T> {
        let _ = input;
        self.items.first().cloned()
    }

    pub async fn fetch(&self) {}

    pub const unsafe fn raw(self: &Self) -> usize {
        0
    }
}

pub trait Describe {
    fn name(&self) -> String;

    fn describe(&self) -> String {
        format!("<{}>", self.name())
    }
}

impl<T: Display> Describe for Parser<T> {
    fn name(&self) -> String {
        String::from("parser")
    }
}

mod inner {
    pub fn helper() -> u8 {
        7
    }

    pub mod deeper {
        pub fn deepest() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Parser<String> {
        Parser::new()
    }

    #[test]
    fn adds() {
        assert_eq!(add(2, 2), 4);
        assert_eq!(inner::helper(), 7);
    }

    #[test]
    fn describes() {
        let p = fixture();
        assert!(p.describe().starts_with('<'));
    }
}
"#;

fn by_name<'a>(fns: &'a [FnItem], qualified: &str) -> &'a FnItem {
    fns.iter()
        .find(|f| f.qualified_name == qualified)
        .unwrap_or_else(|| panic!("no fn {qualified}"))
}

fn fixture_fns() -> Vec<FnItem> {
    list_fns(&SourceFile::parse(FIXTURE).unwrap())
}

#[test]
fn lists_every_fn_with_a_body_in_file_order() {
    let names: Vec<String> = fixture_fns()
        .into_iter()
        .map(|f| f.qualified_name)
        .collect();
    assert_eq!(
        names,
        vec![
            "add",
            "sub",
            "feature_only",
            "Parser::new",
            "Parser::parse_header",
            "Parser::fetch",
            "Parser::raw",
            "Describe::describe",
            "Parser::name",
            "inner::helper",
            "inner::deeper::deepest",
            "tests::fixture",
            "tests::adds",
            "tests::describes",
        ]
    );
}

#[test]
fn free_fn_with_line_docs_and_attributes() {
    let fns = fixture_fns();
    let add = by_name(&fns, "add");
    let start = FIXTURE.find("/// Adds two").unwrap();
    let end = FIXTURE.find("a + b\n}").unwrap() + "a + b\n}".len();
    assert_eq!(
        add,
        &FnItem {
            name: "add".to_owned(),
            impl_type: None,
            qualified_name: "add".to_owned(),
            signature: "pub fn add(a: i32, b: i32) -> i32".to_owned(),
            doc: Some("Adds two numbers.\n\nUsed everywhere.".to_owned()),
            visibility: Visibility::Public,
            byte_range: start..end,
            start_line: 15,
            kind: FnKind::Free,
            is_test_code: false,
            has_tests: true,
            is_unsafe: false,
            is_async: false,
            is_const: false,
        }
    );
    // Byte offsets must slice cleanly despite the multi-byte characters above.
    assert!(FIXTURE[add.byte_range.clone()].starts_with("/// Adds two numbers."));
    assert!(FIXTURE[add.byte_range.clone()].ends_with("a + b\n}"));
}

#[test]
fn block_doc_and_restricted_visibility() {
    let fns = fixture_fns();
    let sub = by_name(&fns, "sub");
    assert_eq!(sub.doc.as_deref(), Some("Subtracts `b` from `a`."));
    assert_eq!(sub.visibility, Visibility::Restricted);
    assert_eq!(sub.signature, "pub(crate) fn sub(a: i32, b: i32) -> i32");
    assert!(!sub.has_tests);
    assert!(FIXTURE[sub.byte_range.clone()].starts_with("/** Subtracts"));
}

#[test]
fn cfg_attribute_is_part_of_the_item() {
    let fns = fixture_fns();
    let f = by_name(&fns, "feature_only");
    assert_eq!(
        &FIXTURE[f.byte_range.clone()],
        "#[cfg(feature = \"x\")]\nfn feature_only() {}"
    );
    assert_eq!(f.visibility, Visibility::Private);
    assert_eq!(f.doc, None);
}

#[test]
fn inherent_method_in_generic_impl_with_where_clause() {
    let fns = fixture_fns();
    let m = by_name(&fns, "Parser::parse_header");
    let start = FIXTURE.find("    pub fn parse_header").unwrap() + 4;
    let end = FIXTURE.find("cloned()\n    }").unwrap() + "cloned()\n    }".len();
    assert_eq!(
        m,
        &FnItem {
            name: "parse_header".to_owned(),
            impl_type: Some("Parser".to_owned()),
            qualified_name: "Parser::parse_header".to_owned(),
            signature: "pub fn parse_header(&mut self, input: &str) -> Option<T>".to_owned(),
            doc: None,
            visibility: Visibility::Public,
            byte_range: start..end,
            start_line: 40,
            kind: FnKind::Method,
            is_test_code: false,
            has_tests: false,
            is_unsafe: false,
            is_async: false,
            is_const: false,
        }
    );
}

#[test]
fn associated_fn_and_modifiers() {
    let fns = fixture_fns();
    let new = by_name(&fns, "Parser::new");
    assert_eq!(new.kind, FnKind::AssociatedFn);
    assert_eq!(new.doc.as_deref(), Some("Makes an empty parser."));
    assert!(
        new.has_tests,
        "called as Parser::new() from the test helper"
    );

    let fetch = by_name(&fns, "Parser::fetch");
    assert_eq!(
        (fetch.is_async, fetch.is_const, fetch.is_unsafe),
        (true, false, false)
    );
    assert_eq!(fetch.kind, FnKind::Method);

    let raw = by_name(&fns, "Parser::raw");
    assert_eq!(
        (raw.is_async, raw.is_const, raw.is_unsafe),
        (false, true, true)
    );
    assert_eq!(raw.kind, FnKind::Method, "`self: &Self` is a receiver");
    assert_eq!(
        raw.signature,
        "pub const unsafe fn raw(self: &Self) -> usize"
    );
}

#[test]
fn trait_default_and_trait_impl_methods() {
    let fns = fixture_fns();
    let describe = by_name(&fns, "Describe::describe");
    assert_eq!(describe.impl_type.as_deref(), Some("Describe"));
    assert_eq!(describe.kind, FnKind::Method);
    assert!(describe.has_tests, "called as p.describe()");
    assert!(
        !fns.iter().any(|f| f.qualified_name == "Describe::name"),
        "bodiless trait fns are skipped"
    );
    let name = by_name(&fns, "Parser::name");
    assert_eq!(name.impl_type.as_deref(), Some("Parser"));
    assert_eq!(name.signature, "fn name(&self) -> String");
    assert!(!name.has_tests);
}

#[test]
fn nested_modules_and_test_code() {
    let fns = fixture_fns();
    assert!(by_name(&fns, "inner::helper").has_tests);
    assert!(!by_name(&fns, "inner::deeper::deepest").has_tests);
    assert!(!by_name(&fns, "inner::helper").is_test_code);
    let helper = by_name(&fns, "tests::fixture");
    assert!(helper.is_test_code);
    assert!(helper.has_tests, "test helpers called by tests count too");
    assert!(by_name(&fns, "tests::adds").is_test_code);
    assert!(
        !fns.iter().any(|f| f.name == "hidden"),
        "macro bodies are ignored"
    );
}

#[test]
fn multiline_signature_is_normalised() {
    let src = "pub fn long<T, U>(\n    first: T,\n    second: U, // why\n) -> Result<T, U>\nwhere\n    T: Clone,\n    U: std::fmt::Debug,\n{\n    Ok(first)\n}\n";
    let fns = list_fns(&SourceFile::parse(src).unwrap());
    assert_eq!(
        fns[0].signature,
        "pub fn long<T, U>(first: T, second: U) -> Result<T, U> where T: Clone, U: std::fmt::Debug"
    );
}

#[test]
fn standalone_test_fn_outside_test_module() {
    let src = "fn double(x: u8) -> u8 { x * 2 }\nfn triple(x: u8) -> u8 { x * 3 }\n\n#[test]\nfn doubles() { assert_eq!(double(2), 4); }\n";
    let fns = list_fns(&SourceFile::parse(src).unwrap());
    let flags: Vec<(&str, bool, bool)> = fns
        .iter()
        .map(|f| (f.name.as_str(), f.is_test_code, f.has_tests))
        .collect();
    assert_eq!(
        flags,
        vec![
            ("double", false, true),
            ("triple", false, false),
            ("doubles", true, false)
        ]
    );
}

#[test]
fn empty_and_fnless_files() {
    assert_eq!(list_fns(&SourceFile::parse("").unwrap()), vec![]);
    let src = "use std::io;\nstruct S { a: u8 }\nconst X: u8 = 1;\n";
    assert_eq!(list_fns(&SourceFile::parse(src).unwrap()), vec![]);
}

#[test]
fn top_level_modules_include_out_of_line_ones() {
    let file =
        SourceFile::parse("mod a;\nfn f() {}\nmod tests { mod nested {} }\npub mod inner {}\n")
            .unwrap();
    assert_eq!(top_level_module_names(&file), vec!["a", "tests", "inner"]);
    assert_eq!(
        top_level_module_names(&SourceFile::parse("").unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn a_blanket_impls_methods_are_named_by_their_trait() {
    let src = "pub trait ToHex {\n    fn encode_hex(&self) -> String;\n}\n\n\
               impl<T: AsRef<[u8]>> ToHex for T {\n    fn encode_hex(&self) -> String {\n        String::new()\n    }\n}\n\n\
               pub struct W<T>(T);\n\nimpl<T> W<T> {\n    pub fn get(&self) -> &T {\n        &self.0\n    }\n}\n";
    let file = SourceFile::parse(src).unwrap();
    let names: Vec<String> = list_fns(&file)
        .into_iter()
        .map(|f| f.qualified_name)
        .collect();
    assert_eq!(names, ["ToHex::encode_hex", "W::get"]);
}
