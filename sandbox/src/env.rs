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
    let parent_home = lookup("HOME").map(PathBuf::from);
    for (name, default_subdir) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
        let value = lookup(name).or_else(|| {
            parent_home
                .as_ref()
                .map(|home| home.join(default_subdir).into_os_string())
        });
        if let Some(value) = value {
            env.push((name.into(), value));
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

/// [`child_env`] over the real process environment.
pub(crate) fn child_env_from_process(dirs: &ChildDirs<'_>) -> Vec<(OsString, OsString)> {
    child_env(|name| std::env::var_os(name), dirs)
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
