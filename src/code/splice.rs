//! Verified text edits: every edit is re-parsed so a bad model reply never reaches disk.

use std::ops::Range;

use super::decl::decls;
use super::items::module_names;
use super::parse::parse_tree;
use super::{CodeError, Result, SourceFile};

/// Appends `module_text` to `original`, separated by one blank line, ending with exactly
/// one newline.
///
/// Errors with [`CodeError::ModuleExists`] if `original` already declares a top-level module
/// (inline or `mod x;`) named like one in `module_text`, since rustc would reject the
/// duplicate; with [`CodeError::Syntax`] if the result does not parse.
pub fn append_module(original: &str, module_text: &str) -> Result<String> {
    let existing = module_names(parse_tree(original)?.root_node(), original);
    let tree = parse_tree(module_text)?;
    for d in decls(tree.root_node()) {
        if d.kind() != "mod_item" {
            continue;
        }
        if let Some(name) = d.name(module_text) {
            if existing.iter().any(|e| e == name) {
                return Err(CodeError::ModuleExists(name.to_owned()));
            }
        }
    }
    let head = original.trim_end();
    let module = module_text.trim_start_matches(['\n', '\r']).trim_end();
    let result = if head.is_empty() {
        format!("{module}\n")
    } else {
        format!("{head}\n\n{module}\n")
    };
    SourceFile::parse(&result)?;
    Ok(result)
}

/// Replaces `range` (bytes) of `original` with `replacement` and checks the result parses.
///
/// Errors with [`CodeError::InvalidRange`] if the range is out of bounds, reversed or splits
/// a character, and with [`CodeError::Syntax`] if the edited text does not parse.
pub fn splice(original: &str, range: Range<usize>, replacement: &str) -> Result<String> {
    let invalid = || CodeError::InvalidRange {
        start: range.start,
        end: range.end,
        len: original.len(),
    };
    let before = original.get(..range.start).ok_or_else(invalid)?;
    let after = original.get(range.end..).ok_or_else(invalid)?;
    if range.start > range.end {
        return Err(invalid());
    }
    let result = format!("{before}{replacement}{after}");
    SourceFile::parse(&result)?;
    Ok(result)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const MODULE: &str = "#[cfg(test)]\nmod kiln_tests {\n    #[test]\n    fn t() {}\n}\n";

    #[test]
    fn appends_with_one_blank_line_and_one_final_newline() {
        let out = append_module("fn a() {}\n\n\n", MODULE).unwrap();
        assert_eq!(
            out,
            "fn a() {}\n\n#[cfg(test)]\nmod kiln_tests {\n    #[test]\n    fn t() {}\n}\n"
        );
        let out = append_module("fn a() {}", &format!("\n\n{MODULE}\n\n")).unwrap();
        assert!(out.starts_with("fn a() {}\n\n#[cfg(test)]"));
        assert!(out.ends_with("}\n") && !out.ends_with("}\n\n"));
    }

    #[test]
    fn appends_to_empty_file_without_leading_blank_lines() {
        assert_eq!(append_module("", MODULE).unwrap(), MODULE);
    }

    #[test]
    fn module_name_collision_is_rejected() {
        let original = "fn a() {}\n#[cfg(test)]\nmod kiln_tests {}\n";
        assert_eq!(
            append_module(original, MODULE),
            Err(CodeError::ModuleExists("kiln_tests".to_owned()))
        );
        assert_eq!(
            append_module("mod kiln_tests;\n", MODULE),
            Err(CodeError::ModuleExists("kiln_tests".to_owned()))
        );
        // Same name nested deeper is no collision.
        assert!(append_module("mod outer { mod kiln_tests {} }\n", MODULE).is_ok());
    }

    #[test]
    fn unparsable_result_is_rejected() {
        let err = append_module("fn a() {}\n", "mod broken {\n").unwrap_err();
        assert!(matches!(err, CodeError::Syntax { line: 3, .. }), "{err:?}");
    }

    #[test]
    fn splice_replaces_bytes_after_unicode() {
        let original = "const S: &str = \"✓✓\";\nfn f() -> u8 { 1 }\n";
        let at = original.find("1 }").unwrap();
        assert_eq!(
            splice(original, at..at + 1, "2").unwrap(),
            "const S: &str = \"✓✓\";\nfn f() -> u8 { 2 }\n"
        );
    }

    #[test]
    fn splice_rejects_bad_ranges() {
        let original = "const S: &str = \"✓\";\n";
        let inside_check = original.find('✓').unwrap() + 1;
        assert_eq!(
            splice(original, inside_check..inside_check, ""),
            Err(CodeError::InvalidRange {
                start: inside_check,
                end: inside_check,
                len: original.len()
            })
        );
        assert!(matches!(
            splice(original, 0..100, ""),
            Err(CodeError::InvalidRange { .. })
        ));
        assert!(matches!(
            splice(original, std::ops::Range { start: 5, end: 2 }, ""),
            Err(CodeError::InvalidRange { .. })
        ));
    }

    #[test]
    fn splice_rejects_broken_result() {
        let original = "fn f() -> u8 { 1 }\n";
        let err = splice(original, 0..2, "f").unwrap_err();
        assert!(matches!(err, CodeError::Syntax { line: 1, .. }), "{err:?}");
    }
}
