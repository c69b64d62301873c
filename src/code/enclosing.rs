//! An item shown inside the impls, traits and modules that enclose it, for a prompt that carries
//! the item without the rest of its file: `type Err;` alone does not say which trait it is of.

use std::ops::Range;

use super::parse::{indentation_at, node_text};
use super::SourceFile;

/// `file[range]` (one item, from the start of its first line) inside the headers of the impls,
/// traits and inline modules around it, innermost first; `// ...` stands for the other members.
pub fn with_enclosing(file: &SourceFile, range: Range<usize>) -> String {
    let src = file.text();
    let mut out = src.get(range.clone()).unwrap_or("").trim_end().to_string();
    // The node spanning the whole range: the item, or the container its docs share; never a
    // node inside the item, whose own body must not count as enclosing it.
    let last = range.end.saturating_sub(1);
    let mut node = file.root().descendant_for_byte_range(range.start, last);
    while let Some(current) = node {
        let container = current
            .parent()
            .filter(|_| current.kind() == "declaration_list");
        if let Some(container) = container {
            let indent = indentation_at(src, container.start_byte());
            let header = src
                .get(container.start_byte()..current.start_byte() + 1)
                .unwrap_or_else(|| node_text(container, src));
            out = format!(
                "{indent}{header}\n{indent}    // ...\n{out}\n{indent}    // ...\n{indent}}}"
            );
        }
        node = current.parent();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn an_associated_item_comes_with_its_trait_and_module_headers() {
        let text = "mod outer {\n    pub trait Parse: Sized {\n        fn parse(s: &str) -> Self;\n\n        /// Old.\n        type Err;\n    }\n}\npub fn free() {}\n";
        let file = SourceFile::parse(text).unwrap();
        let start = text.find("        /// Old.").unwrap();
        let end = text.find("type Err;").unwrap() + "type Err;\n".len();
        assert_eq!(
            with_enclosing(&file, start..end),
            "mod outer {\n    // ...\n    pub trait Parse: Sized {\n        // ...\n        /// Old.\n        type Err;\n        // ...\n    }\n    // ...\n}"
        );
        let free = text.find("pub fn free").unwrap();
        assert_eq!(with_enclosing(&file, free..text.len()), "pub fn free() {}");
        let module = text.find("    pub trait").unwrap()..text.find("\n}\npub").unwrap() + 1;
        assert!(with_enclosing(&file, module).starts_with("mod outer {\n    // ...\n    pub trait"));
    }
}
