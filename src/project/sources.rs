//! Where the sources of a crate and of its dependencies are, for the crate-wide index of
//! definitions ([`crate::code::CrateIndex`]): path dependencies and workspace members from the
//! manifests, registry crates from `Cargo.lock` and cargo's unpacked registry sources. Nothing
//! is fetched or built: a dependency whose sources are not on disk yet is simply not indexed.

use std::path::{Path, PathBuf};

use super::{read_manifest, SourceLocation};
use crate::code::CrateSources;

/// The crate's own sources (every target root), and its dependencies' (`pub` items only), each
/// under the name its manifest gives it.
pub fn crate_sources(location: &SourceLocation) -> (CrateSources, Vec<(String, CrateSources)>) {
    let own = CrateSources {
        roots: ["src/lib.rs", "src/main.rs"]
            .iter()
            .map(|root| location.crate_root.join(root))
            .filter(|root| root.is_file())
            .chain(
                (!location.file.starts_with(location.crate_root.join("src")))
                    .then(|| location.file.clone()),
            )
            .collect(),
        shown_from: location.workspace_root.clone(),
        public_only: false,
    };
    let Ok(manifest) = read_manifest(&location.crate_root.join("Cargo.toml")) else {
        return (own, Vec::new());
    };
    let workspace = read_manifest(&location.workspace_root.join("Cargo.toml")).ok();
    let lock = std::fs::read_to_string(location.workspace_root.join("Cargo.lock"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok());
    let mut dependencies = Vec::new();
    for table in ["dependencies", "dev-dependencies"] {
        let Some(entries) = manifest.get(table).and_then(|t| t.as_table()) else {
            continue;
        };
        for (name, spec) in entries {
            let spec = match spec.get("workspace").and_then(|w| w.as_bool()) {
                Some(true) => workspace
                    .as_ref()
                    .and_then(|w| w.get("workspace")?.get("dependencies")?.get(name))
                    .unwrap_or(spec),
                _ => spec,
            };
            let base = match spec.get("workspace").and_then(|w| w.as_bool()) {
                Some(true) => &location.workspace_root,
                _ => &location.crate_root,
            };
            let package = spec.get("package").and_then(|p| p.as_str()).unwrap_or(name);
            let root = match spec.get("path").and_then(|p| p.as_str()) {
                Some(path) => Some(base.join(path)),
                None => lock.as_ref().and_then(|lock| registry_dir(lock, package)),
            };
            if let Some(sources) =
                root.and_then(|root| dependency_sources(&root, &location.workspace_root))
            {
                if !dependencies.iter().any(|(known, _)| known == name) {
                    dependencies.push((name.clone(), sources));
                }
            }
        }
    }
    (own, dependencies)
}

fn dependency_sources(root: &Path, workspace_root: &Path) -> Option<CrateSources> {
    let manifest = read_manifest(&root.join("Cargo.toml")).ok()?;
    let lib = manifest
        .get("lib")
        .and_then(|lib| lib.get("path"))
        .and_then(|path| path.as_str())
        .unwrap_or("src/lib.rs");
    let lib = root.join(lib);
    lib.is_file().then(|| CrateSources {
        roots: vec![lib],
        shown_from: if root.starts_with(workspace_root) {
            workspace_root.to_path_buf()
        } else {
            root.parent().unwrap_or(root).to_path_buf()
        },
        public_only: true,
    })
}

/// cargo's unpacked sources of `package` at the version the lockfile holds (the newest, when it
/// holds several): `$CARGO_HOME/registry/src/<index>/<package>-<version>`.
fn registry_dir(lock: &toml::Table, package: &str) -> Option<PathBuf> {
    let version = lock
        .get("package")?
        .as_array()?
        .iter()
        .filter(|entry| entry.get("name").and_then(|n| n.as_str()) == Some(package))
        .filter(|entry| entry.get("source").is_some())
        .filter_map(|entry| entry.get("version").and_then(|v| v.as_str()))
        .max_by_key(|version| {
            version
                .split(['.', '-', '+'])
                .map(|part| part.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        })?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))?;
    let wanted = format!("{package}-{version}");
    std::fs::read_dir(cargo_home.join("registry/src"))
        .ok()?
        .flatten()
        .map(|index| index.path().join(&wanted))
        .find(|dir| dir.join("Cargo.toml").is_file())
}
