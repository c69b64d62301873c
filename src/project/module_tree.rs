//! Whether the build compiles a file at all: a module file that no `mod` declares, or one behind
//! a feature that is off, gets no test run however good the model's tests are. Asking anyway
//! spends every attempt on "no tests ran", so kiln refuses up front and says why.
//!
//! The walk follows cargo's conventional layout and the `mod NAME;` chain from the target's root
//! file. Where it cannot follow (a `#[path]`, a manifest that sets its own target paths, a cfg
//! other than one feature) it assumes the file is compiled: refusing is only for the sure case.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{read_manifest, ProjectError, Result, SourceLocation};
use crate::code::{module_decl, module_file, ModuleDecl};

/// The features a run builds with, as cargo's flags say them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    pub enabled: Vec<String>,
    pub all: bool,
    pub no_default: bool,
}

impl Features {
    /// The same choice as cargo arguments, for every cargo run in the sandbox.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.enabled.is_empty() {
            args.push("--features".to_string());
            args.push(self.enabled.join(","));
        }
        if self.all {
            args.push("--all-features".to_string());
        }
        if self.no_default {
            args.push("--no-default-features".to_string());
        }
        args
    }

    /// Whether `feature` is on, given the crate's `[features]` table: `default` (unless
    /// switched off) and what was asked for, and what those enable in turn.
    fn includes(&self, feature: &str, table: Option<&toml::Table>) -> bool {
        if self.all {
            return true;
        }
        let mut on: BTreeSet<String> = self.enabled.iter().cloned().collect();
        if !self.no_default {
            on.insert("default".to_string());
        }
        let mut pending: Vec<String> = on.iter().cloned().collect();
        while let Some(next) = pending.pop() {
            let implied = table
                .and_then(|table| table.get(&next))
                .and_then(|value| value.as_array())
                .into_iter()
                .flatten()
                .filter_map(|value| value.as_str())
                // `dep:x` and `x/y` name dependencies, not features of this crate.
                .filter(|name| !name.contains(':') && !name.contains('/'));
            for name in implied {
                if on.insert(name.to_string()) {
                    pending.push(name.to_string());
                }
            }
        }
        on.contains(feature)
    }
}

/// `Err` when the build of `location`'s target never compiles its file with `features`.
pub fn check_compiled(location: &SourceLocation, features: &Features) -> Result<()> {
    let manifest = read_manifest(&location.crate_root.join("Cargo.toml"))?;
    // crates.io normalises every published manifest to name `path = "src/lib.rs"`.
    let lib_path = manifest
        .get("lib")
        .and_then(|lib| lib.get("path"))
        .and_then(|path| path.as_str())
        .unwrap_or("src/lib.rs");
    let Some(root) = target_root(location, lib_path) else {
        return Ok(());
    };
    if location.module_path.is_empty() {
        return Ok(());
    }
    let table = manifest.get("features").and_then(|f| f.as_table());
    let mut parent = root;
    for name in location.module_path.split("::") {
        let Ok(src) = std::fs::read_to_string(&parent) else {
            return Ok(());
        };
        match module_decl(&src, name) {
            ModuleDecl::Declared => {}
            ModuleDecl::OnlyWithFeature(feature) if features.includes(&feature, table) => {}
            ModuleDecl::OnlyWithFeature(feature) => {
                return Err(ProjectError::BehindFeature {
                    file: location.file.clone(),
                    feature,
                })
            }
            ModuleDecl::Missing => {
                return Err(ProjectError::NotDeclared {
                    file: location.file.clone(),
                    parent,
                    name: name.to_string(),
                })
            }
            ModuleDecl::Unknown => return Ok(()),
        }
        match module_file(&parent, name) {
            Some(file) => parent = file,
            None => return Ok(()),
        }
    }
    Ok(())
}

/// The root file of the target that holds `location`'s file: the manifest's lib path, else
/// cargo's conventional layout.
fn target_root(location: &SourceLocation, lib_path: &str) -> Option<PathBuf> {
    let src = location.crate_root.join("src");
    match location.target_flags.as_slice() {
        [flag] if flag == "--lib" => Some(location.crate_root.join(lib_path)),
        [flag] if flag == "--bins" => Some(src.join("main.rs")),
        [flag, bin] if flag == "--bin" => [
            src.join("bin").join(format!("{bin}.rs")),
            src.join("bin").join(bin).join("main.rs"),
        ]
        .into_iter()
        .find(|path| path.is_file()),
        _ => None,
    }
    .filter(|root| {
        root.is_file()
            && root
                .parent()
                .is_some_and(|dir| location.file.starts_with(dir))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::Path;

    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn check(root: &Path, file: &str, features: &Features) -> Result<()> {
        check_compiled(&SourceLocation::find(&root.join(file)).unwrap(), features)
    }

    #[test]
    fn the_mod_chain_is_followed_through_files_and_mod_rs_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "Cargo.toml",
            "[package]\nname = \"t\"\nversion = \"0.1.0\"\n\n[features]\ndefault = [\"std\"]\n\
             std = [\"fmt\", \"dep:serde\"]\nfmt = []\nextra = []\n",
        );
        write(
            root,
            "src/lib.rs",
            "pub mod a;\n#[cfg(feature = \"fmt\")]\nmod f;\n#[cfg(feature = \"extra\")]\nmod x;\n",
        );
        write(root, "src/a.rs", "mod b;\n");
        write(root, "src/a/b/mod.rs", "pub fn g() {}\n");
        write(root, "src/a/c.rs", "pub fn h() {}\n");
        write(root, "src/f.rs", "pub fn i() {}\n");
        write(root, "src/x.rs", "pub fn j() {}\n");
        let default = Features::default();
        check(root, "src/a/b/mod.rs", &default).unwrap();
        // `a` is declared, `c` is not: the walk reaches a.rs and stops there.
        let err = check(root, "src/a/c.rs", &default).unwrap_err().to_string();
        assert!(err.contains("a.rs declares no `mod c;`"), "{err}");
        // fmt comes with std, which default enables; without defaults it is off.
        check(root, "src/f.rs", &default).unwrap();
        let no_default = Features {
            no_default: true,
            ..Features::default()
        };
        assert!(check(root, "src/f.rs", &no_default).is_err());
        assert!(check(root, "src/x.rs", &default).is_err());
        let extra = Features {
            enabled: vec!["extra".to_string()],
            ..Features::default()
        };
        check(root, "src/x.rs", &extra).unwrap();
        assert_eq!(extra.cargo_args(), ["--features", "extra"]);
    }
}
