//! The environment handed to cargo (and therefore to build scripts and tests).
//!
//! Generated code is untrusted, and the parent process holds secrets such as
//! `OPENAI_API_KEY`. So we start from an empty environment and add back only
//! what cargo and rustup need to find the toolchain and the registry cache.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Variables copied from the parent verbatim when set.
const PASSTHROUGH_VARS: &[&str] = &["PATH", "RUSTUP_TOOLCHAIN", "LANG"];

/// The sandbox's own directories, as the child sees them.
pub(crate) struct ChildDirs<'a> {
    pub(crate) home: &'a Path,
    pub(crate) tmp: &'a Path,
    pub(crate) target: &'a Path,
}

/// Builds the child's environment.
///
/// `lookup` reads the parent's environment (injected so tests need not mutate
/// the real one). `CARGO_HOME` and `RUSTUP_HOME` are resolved against the
/// parent's `HOME` *before* `HOME` is redirected into the sandbox; otherwise
/// rustup would find no toolchains and cargo no registry cache.
pub(crate) fn child_env(
    lookup: impl Fn(&str) -> Option<OsString>,
    dirs: &ChildDirs<'_>,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    for name in PASSTHROUGH_VARS {
        if let Some(value) = lookup(name) {
            env.push(((*name).into(), value));
        }
    }
    let homes = ToolHomes::from_env(&lookup);
    for (name, value) in [("CARGO_HOME", homes.cargo), ("RUSTUP_HOME", homes.rustup)] {
        if let Some(value) = value {
            env.push((name.into(), value.into_os_string()));
        }
    }
    env.push(("HOME".into(), dirs.home.as_os_str().to_owned()));
    // A private tmp: the shared /tmp is outside what the run may write.
    env.push(("TMPDIR".into(), dirs.tmp.as_os_str().to_owned()));
    env.push((
        "CARGO_TARGET_DIR".into(),
        dirs.target.as_os_str().to_owned(),
    ));
    env.push(("CARGO_TERM_COLOR".into(), "never".into()));
    env
}

/// Where cargo and rustup keep their state, resolved against the parent's `HOME`.
struct ToolHomes {
    cargo: Option<PathBuf>,
    rustup: Option<PathBuf>,
}

impl ToolHomes {
    fn from_env(lookup: &impl Fn(&str) -> Option<OsString>) -> ToolHomes {
        let parent_home = lookup("HOME").map(PathBuf::from);
        let resolve = |name: &str, default_subdir: &str| {
            lookup(name)
                .map(PathBuf::from)
                .or_else(|| parent_home.as_ref().map(|home| home.join(default_subdir)))
        };
        ToolHomes {
            cargo: resolve("CARGO_HOME", ".cargo"),
            rustup: resolve("RUSTUP_HOME", ".rustup"),
        }
    }
}

/// What of the toolchain a run must read: rustup's home (toolchains and settings), and of
/// `CARGO_HOME` only the installed binaries and the registry and git checkouts that `cargo
/// fetch` filled (not `credentials.toml` or `config.toml`, which may hold tokens). A cargo that
/// rustup did not install (`/opt/rust/bin/cargo`) brings its whole install prefix.
pub(crate) fn toolchain_paths(lookup: impl Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    let homes = ToolHomes::from_env(&lookup);
    let mut paths = Vec::new();
    if let Some(cargo_home) = &homes.cargo {
        paths.extend(["bin", "registry", "git"].map(|dir| cargo_home.join(dir)));
    }
    paths.extend(homes.rustup.clone());
    let cargo = lookup("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("cargo"))
            .find(|candidate| candidate.is_file())
    });
    if let Some(cargo) = cargo.and_then(|cargo| std::fs::canonicalize(cargo).ok()) {
        let managed = [&homes.cargo, &homes.rustup]
            .into_iter()
            .flatten()
            .any(|home| cargo.starts_with(home));
        let prefix = cargo.parent().and_then(Path::parent);
        if let Some(prefix) = prefix.filter(|prefix| !managed && prefix.parent().is_some()) {
            paths.push(prefix.to_path_buf());
        }
    }
    paths
}

/// [`child_env`] over the real process environment.
pub(crate) fn child_env_from_process(dirs: &ChildDirs<'_>) -> Vec<(OsString, OsString)> {
    child_env(|name| std::env::var_os(name), dirs)
}

/// The `CARGO_HOME` a run's cargo uses (resolved as [`child_env`] resolves it).
pub(crate) fn cargo_home_from_process() -> Option<PathBuf> {
    ToolHomes::from_env(&|name: &str| std::env::var_os(name)).cargo
}

/// [`toolchain_paths`] of the real process environment.
pub(crate) fn toolchain_paths_from_process() -> Vec<PathBuf> {
    toolchain_paths(|name| std::env::var_os(name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn build(parent: &[(&str, &str)]) -> HashMap<String, String> {
        let parent: HashMap<String, String> = parent
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        child_env(
            |name| parent.get(name).map(OsString::from),
            &ChildDirs {
                home: Path::new("/sb/home"),
                tmp: Path::new("/sb/tmp"),
                target: Path::new("/sb/target"),
            },
        )
        .into_iter()
        .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
        .collect()
    }

    #[test]
    fn secrets_are_dropped_and_needed_vars_kept() {
        let env = build(&[
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("OPENAI_API_KEY", "sk-secret"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("LANG", "C.UTF-8"),
            ("RUSTUP_TOOLCHAIN", "stable"),
        ]);
        assert!(!env.values().any(|v| v.contains("sk-secret")));
        assert!(!env.contains_key("AWS_SECRET_ACCESS_KEY"));
        assert_eq!(env["PATH"], "/usr/bin");
        assert_eq!(env["LANG"], "C.UTF-8");
        assert_eq!(env["RUSTUP_TOOLCHAIN"], "stable");
        assert_eq!(env["HOME"], "/sb/home");
        assert_eq!(env["TMPDIR"], "/sb/tmp");
        assert_eq!(env["CARGO_TARGET_DIR"], "/sb/target");
        assert_eq!(env["CARGO_TERM_COLOR"], "never");
    }

    #[test]
    fn tool_homes_default_to_the_parents_home() {
        let env = build(&[("HOME", "/home/u")]);
        assert_eq!(env["CARGO_HOME"], "/home/u/.cargo");
        assert_eq!(env["RUSTUP_HOME"], "/home/u/.rustup");
    }

    #[test]
    fn the_toolchain_is_rustup_and_cargos_caches_not_the_rest_of_cargo_home() {
        let paths = toolchain_paths(|name| match name {
            "HOME" => Some("/home/u".into()),
            "PATH" => Some("/nonexistent/bin".into()),
            _ => None,
        });
        let shown: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(
            shown,
            [
                "/home/u/.cargo/bin",
                "/home/u/.cargo/registry",
                "/home/u/.cargo/git",
                "/home/u/.rustup"
            ]
        );
    }

    #[test]
    fn a_cargo_outside_rustup_brings_its_install_prefix() {
        let prefix = tempfile::tempdir().unwrap();
        let bin = prefix.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("cargo"), "").unwrap();
        let paths = toolchain_paths(|name| match name {
            "HOME" => Some("/home/u".into()),
            "PATH" => Some(bin.clone().into_os_string()),
            _ => None,
        });
        let canonical = std::fs::canonicalize(prefix.path()).unwrap();
        assert_eq!(paths.last(), Some(&canonical));
    }

    #[test]
    fn explicit_tool_homes_win() {
        let env = build(&[
            ("HOME", "/home/u"),
            ("CARGO_HOME", "/opt/cargo"),
            ("RUSTUP_HOME", "/opt/rustup"),
        ]);
        assert_eq!(env["CARGO_HOME"], "/opt/cargo");
        assert_eq!(env["RUSTUP_HOME"], "/opt/rustup");
    }
}
