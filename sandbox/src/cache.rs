//! Where a crate's persistent kiln target dir lives.
//!
//! Every sandbox of the same workspace shares one `CARGO_TARGET_DIR`, so the
//! dependencies build once ever and later runs only rebuild the crate itself.
//! It lives under the user cache dir, keyed by a hash of the workspace root,
//! never inside the user's tree (the sandboxed build must not write there).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Overrides the cache base (tests point it at a tempdir so they never write
/// into the real `~/.cache`).
pub const CACHE_DIR_ENV: &str = "KILN_CACHE_DIR";

/// Builds `<base>/target/<hash of workspace_root>` where `base` is
/// `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `$HOME/.cache/kiln`.
///
/// `lookup` reads the environment (injected so tests need not mutate the real
/// one). `None` when no base can be found (no `HOME`): callers then keep the
/// per-sandbox target dir, which is correct, only slower.
pub fn target_dir_for(
    workspace_root: &Path,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Option<PathBuf> {
    let non_empty = |name: &str| lookup(name).filter(|value| !value.is_empty());
    let base = non_empty(CACHE_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| non_empty("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("kiln")))
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".cache/kiln")))?;
    // Canonical where possible, so `./x` and `/abs/x` share one target dir.
    let root = std::fs::canonicalize(workspace_root).unwrap_or_else(|_| workspace_root.into());
    let name = root
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The readable name helps a user who looks into the cache; the hash makes
    // two crates with the same directory name distinct.
    Some(base.join("target").join(format!(
        "{name}-{:016x}",
        fnv1a_64(root.as_os_str().as_encoded_bytes())
    )))
}

/// [`target_dir_for`] over the real process environment.
pub fn target_dir_from_process(workspace_root: &Path) -> Option<PathBuf> {
    target_dir_for(workspace_root, |name| std::env::var_os(name))
}

/// FNV-1a: tiny and, unlike `DefaultHasher`, guaranteed stable across Rust
/// releases, so a toolchain update does not orphan the cache.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn base_precedence_is_kiln_then_xdg_then_home() {
        let root = Path::new("/nonexistent/work/demo");
        let all = [
            ("KILN_CACHE_DIR", "/k"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert!(target_dir_for(root, env(&all))
            .unwrap()
            .starts_with("/k/target"));
        assert!(target_dir_for(root, env(&all[1..]))
            .unwrap()
            .starts_with("/x/kiln/target"));
        assert!(target_dir_for(root, env(&all[2..]))
            .unwrap()
            .starts_with("/h/.cache/kiln/target"));
        assert_eq!(target_dir_for(root, env(&[("KILN_CACHE_DIR", "")])), None);
    }

    #[test]
    fn same_root_same_dir_and_different_roots_differ() {
        let vars = [("HOME", "/h")];
        let a = target_dir_for(Path::new("/nonexistent/a/demo"), env(&vars)).unwrap();
        let again = target_dir_for(Path::new("/nonexistent/a/demo"), env(&vars)).unwrap();
        let b = target_dir_for(Path::new("/nonexistent/b/demo"), env(&vars)).unwrap();
        assert_eq!(a, again);
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("demo-"), "{name}");
    }

    #[test]
    fn fnv_matches_the_reference_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
