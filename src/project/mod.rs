//! Where a source file sits in its cargo project: which crate owns it, which workspace the sandbox
//! must copy, which cargo target builds it, and its module path (for test filters).

mod module_tree;
mod runtime;
mod sources;

use std::path::{Component, Path, PathBuf};

pub use module_tree::{check_compiled, Features};
pub use runtime::{async_runtime, AsyncRuntime};
pub use sources::crate_sources;

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{0}: no such file")]
    Missing(PathBuf),
    #[error("{0}: not a Rust source file (expected a .rs file)")]
    NotRust(PathBuf),
    #[error("{0}: not inside a cargo crate (no Cargo.toml in any parent directory)")]
    NoCrate(PathBuf),
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid Cargo.toml: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error(
        "{file}: the build never compiles this file: {parent} declares no `mod {name};`. \
         Declare the module first, or pick a file the crate uses."
    )]
    NotDeclared {
        file: PathBuf,
        parent: PathBuf,
        name: String,
    },
    #[error(
        "{file}: compiled only with feature `{feature}`, which is off: pass --features {feature} \
         (or --all-features)"
    )]
    BehindFeature { file: PathBuf, feature: String },
}

pub type Result<T> = std::result::Result<T, ProjectError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file, absolute.
    pub file: PathBuf,
    /// The directory the sandbox copies: the workspace root, so `edition.workspace = true` and
    /// path dependencies keep working in the copy.
    pub workspace_root: PathBuf,
    /// The crate that owns the file (directory of its Cargo.toml).
    pub crate_root: PathBuf,
    pub package_name: String,
    /// What `cargo -p` takes for the package: `name@version` where the manifest says the
    /// version, since a bare name is ambiguous once the lockfile holds the same crate from the
    /// registry too (tokio-stream's own dev-dependencies pull in a second tokio-stream).
    pub package_spec: String,
    /// `file` relative to `workspace_root`: where the sandbox copy of the file lives.
    pub relative_path: PathBuf,
    /// cargo flags that build the tests of the target containing the file (`--lib`, `--bin x`).
    pub target_flags: Vec<String>,
    /// The file's module path within its target: "" for a crate root, `parser`, `a::b`.
    pub module_path: String,
}

impl SourceLocation {
    pub fn find(file: &Path) -> Result<SourceLocation> {
        if !file.exists() {
            return Err(ProjectError::Missing(file.to_path_buf()));
        }
        let file = file.canonicalize().map_err(|source| ProjectError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        if file.extension().and_then(|e| e.to_str()) != Some("rs") || !file.is_file() {
            return Err(ProjectError::NotRust(file));
        }
        let crate_root = file
            .ancestors()
            .skip(1)
            .find(|dir| dir.join("Cargo.toml").is_file())
            .map(Path::to_path_buf)
            .ok_or_else(|| ProjectError::NoCrate(file.clone()))?;
        let manifest = read_manifest(&crate_root.join("Cargo.toml"))?;
        let package_name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .ok_or_else(|| ProjectError::Manifest {
                path: crate_root.join("Cargo.toml"),
                message: "no [package] name (is this a virtual workspace manifest?)".to_string(),
            })?
            .to_string();
        let package_spec = match manifest
            .get("package")
            .and_then(|p| p.get("version"))
            .and_then(|v| v.as_str())
        {
            Some(version) => format!("{package_name}@{version}"),
            None => package_name.clone(),
        };
        let workspace_root = find_workspace_root(&crate_root)?;
        let relative_path = file
            .strip_prefix(&workspace_root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| file.clone());
        let in_crate = file
            .strip_prefix(&crate_root)
            .unwrap_or(&file)
            .to_path_buf();
        let (target_flags, module_path) = target_of(&crate_root, &in_crate);
        Ok(SourceLocation {
            file,
            workspace_root,
            crate_root,
            package_name,
            package_spec,
            relative_path,
            target_flags,
            module_path,
        })
    }

    /// The libtest filter that selects tests in module `module` of this file.
    pub fn test_filter(&self, module: &str) -> String {
        if self.module_path.is_empty() {
            format!("{module}::")
        } else {
            format!("{}::{module}::", self.module_path)
        }
    }

    /// The crate's edition, as rustfmt takes it: its manifest's, or the workspace's for
    /// `edition.workspace = true`, or cargo's default, 2015, when the manifest names none.
    pub fn edition(&self) -> String {
        let edition = |path: &Path, keys: &[&str]| {
            let manifest = read_manifest(&path.join("Cargo.toml")).ok()?;
            let mut value = manifest.get(keys[0])?;
            for key in &keys[1..] {
                value = value.get(key)?;
            }
            value.as_str().map(str::to_string)
        };
        edition(&self.crate_root, &["package", "edition"])
            .or_else(|| edition(&self.workspace_root, &["workspace", "package", "edition"]))
            .unwrap_or_else(|| "2015".to_string())
    }

    /// The full cargo flags: the package (so a workspace builds only this crate) and its target.
    pub fn cargo_flags(&self) -> Vec<String> {
        let mut flags = vec!["-p".to_string(), self.package_spec.clone()];
        flags.extend(self.target_flags.iter().cloned());
        flags
    }
}

fn read_manifest(path: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path).map_err(|source| ProjectError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|e| ProjectError::Manifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// The nearest ancestor whose manifest has a `[workspace]` that does not exclude the crate;
/// the crate itself when there is none. This mirrors cargo's own search without spawning it.
fn find_workspace_root(crate_root: &Path) -> Result<PathBuf> {
    if read_manifest(&crate_root.join("Cargo.toml"))?.contains_key("workspace") {
        return Ok(crate_root.to_path_buf());
    }
    for dir in crate_root.ancestors().skip(1) {
        let manifest_path = dir.join("Cargo.toml");
        if !manifest_path.is_file() {
            continue;
        }
        let manifest = read_manifest(&manifest_path)?;
        let Some(workspace) = manifest.get("workspace") else {
            continue;
        };
        let relative = crate_root.strip_prefix(dir).unwrap_or(crate_root);
        let excluded = workspace
            .get("exclude")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str())
            .any(|e| relative.starts_with(e));
        return Ok(if excluded {
            crate_root.to_path_buf()
        } else {
            dir.to_path_buf()
        });
    }
    Ok(crate_root.to_path_buf())
}

/// Cargo's conventional layout: `src/lib.rs` and its modules form the lib target, `src/main.rs`
/// and `src/bin/*.rs` the binaries. A module file belongs to the lib when there is one.
fn target_of(crate_root: &Path, in_crate: &Path) -> (Vec<String>, String) {
    let parts: Vec<String> = in_crate
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["src", "bin", file] => (
            vec![
                "--bin".to_string(),
                file.trim_end_matches(".rs").to_string(),
            ],
            String::new(),
        ),
        ["src", "bin", bin, rest @ ..] => (
            vec!["--bin".to_string(), bin.to_string()],
            module_path(&rest.join("/")),
        ),
        ["src", "main.rs"] => (vec!["--bins".to_string()], String::new()),
        ["src", rest @ ..] => {
            let flag = if crate_root.join("src/lib.rs").is_file() {
                "--lib"
            } else {
                "--bins"
            };
            (vec![flag.to_string()], module_path(&rest.join("/")))
        }
        _ => (vec!["--lib".to_string()], String::new()),
    }
}

fn module_path(relative_to_src: &str) -> String {
    let without_ext = relative_to_src.trim_end_matches(".rs");
    let segments: Vec<&str> = without_ext.split('/').filter(|s| !s.is_empty()).collect();
    let segments = match segments.as_slice() {
        [.., "mod"] | ["lib"] | ["main"] => &segments[..segments.len() - 1],
        _ => &segments[..],
    };
    segments.join("::")
}

#[cfg(test)]
mod tests;
