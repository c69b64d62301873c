//! Whether a file declares a module as a file of its own (`mod NAME;`), and under which feature:
//! what decides if the build compiles a module file at all.

use std::path::{Path, PathBuf};

use super::decl::{attr_path, decls};
use super::parse::{node_text, parse_tree};

/// How a file declares the module `NAME` whose source is a file of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleDecl {
    /// `mod NAME;`, possibly under a cfg kiln does not evaluate (`#[cfg(unix)]`).
    Declared,
    /// `#[cfg(feature = "F")] mod NAME;`: compiled only with feature `F`.
    OnlyWithFeature(String),
    /// No such declaration.
    Missing,
    /// The file could say so in a way kiln does not follow (`#[path]`, an inline `mod NAME {}`,
    /// `include!`, a syntax error): assume it is compiled.
    Unknown,
}

/// How `src` declares the module file `name`.
pub fn module_decl(src: &str, name: &str) -> ModuleDecl {
    let Ok(tree) = parse_tree(src) else {
        return ModuleDecl::Unknown;
    };
    let root = tree.root_node();
    if root.has_error() {
        return ModuleDecl::Unknown;
    }
    for decl in decls(root) {
        if decl.kind() != "mod_item" || decl.name(src) != Some(name) {
            continue;
        }
        if decl.node.child_by_field_name("body").is_some() {
            return ModuleDecl::Unknown;
        }
        if decl
            .attrs
            .iter()
            .any(|attr| attr_path(*attr, src) == "path")
        {
            return ModuleDecl::Unknown;
        }
        let feature = decl
            .attrs
            .iter()
            .find_map(|attr| single_feature_cfg(node_text(*attr, src)));
        return match feature {
            Some(feature) => ModuleDecl::OnlyWithFeature(feature),
            None => ModuleDecl::Declared,
        };
    }
    if src.contains("#[path") || src.contains("include!") {
        ModuleDecl::Unknown
    } else {
        ModuleDecl::Missing
    }
}

/// `F` of exactly `#[cfg(feature = "F")]`; anything more involved is not evaluated.
fn single_feature_cfg(attr: &str) -> Option<String> {
    let compact: String = attr.chars().filter(|c| !c.is_whitespace()).collect();
    let feature = compact
        .strip_prefix("#[cfg(feature=\"")?
        .strip_suffix("\")]")?;
    (!feature.contains('"')).then(|| feature.to_string())
}

/// Where module `name`, declared in `parent`, has its source: `name.rs` or `name/mod.rs` in the
/// directory `parent`'s own modules live in.
pub fn module_file(parent: &Path, name: &str) -> Option<PathBuf> {
    let dir = parent.parent()?;
    let stem = parent.file_stem()?.to_str()?;
    let children = match stem {
        "lib" | "main" | "mod" => dir.to_path_buf(),
        _ => dir.join(stem),
    };
    [
        children.join(format!("{name}.rs")),
        children.join(name).join("mod.rs"),
    ]
    .into_iter()
    .find(|path| path.is_file())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn each_way_of_declaring_a_module_file_is_told_apart() {
        let src = "mod plain;\n#[cfg(feature = \"serde\")]\nmod serde_impl;\n\
                   #[cfg(unix)]\nmod unix;\nmod inline { fn f() {} }\n\
                   #[cfg(any(feature = \"a\", feature = \"b\"))]\nmod either;\n";
        assert_eq!(module_decl(src, "plain"), ModuleDecl::Declared);
        assert_eq!(
            module_decl(src, "serde_impl"),
            ModuleDecl::OnlyWithFeature("serde".to_string())
        );
        assert_eq!(module_decl(src, "unix"), ModuleDecl::Declared);
        assert_eq!(module_decl(src, "inline"), ModuleDecl::Unknown);
        assert_eq!(module_decl(src, "either"), ModuleDecl::Declared);
        assert_eq!(module_decl(src, "wip"), ModuleDecl::Missing);
    }

    #[test]
    fn what_kiln_cannot_follow_is_unknown_not_missing() {
        assert_eq!(
            module_decl("#[path = \"other.rs\"]\nmod wip;\n", "wip"),
            ModuleDecl::Unknown
        );
        assert_eq!(
            module_decl("include!(\"mods.rs\");\n", "wip"),
            ModuleDecl::Unknown
        );
        assert_eq!(module_decl("mod wip", "wip"), ModuleDecl::Unknown);
    }
}
