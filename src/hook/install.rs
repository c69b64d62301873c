//! `kiln hook install` / `uninstall`: kiln's pre-commit hook, and a foreign hook kept safe.

use std::path::{Path, PathBuf};

use super::{git, HookError, InstallArgs, Result};

/// The line that marks a hook as kiln's own, so install may replace it and uninstall remove it.
const MARKER: &str = "# kiln pre-commit hook";
const BACKUP_SUFFIX: &str = ".kiln-backup";

/// What happened, for one line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    Fresh(PathBuf),
    Updated(PathBuf),
    /// The foreign hook now lives at the second path.
    ReplacedForeign(PathBuf, PathBuf),
}

/// The hook file git runs (honours `core.hooksPath`).
fn hook_path() -> Result<PathBuf> {
    git::path(&["rev-parse", "--git-path", "hooks/pre-commit"]).map(git::absolute)
}

fn backup_path(hook: &Path) -> PathBuf {
    let mut name = hook.as_os_str().to_os_string();
    name.push(BACKUP_SUFFIX);
    PathBuf::from(name)
}

fn is_kiln_hook(hook: &Path) -> bool {
    std::fs::read_to_string(hook).is_ok_and(|text| text.contains(MARKER))
}

/// The script: the absolute path of this kiln binary, so the hook works without kiln on PATH
/// (git GUIs often run hooks with a minimal PATH).
fn script(kiln: &Path, args: &InstallArgs) -> String {
    let quoted = kiln.display().to_string().replace('\'', r"'\''");
    let mode = args.mode;
    let strict = if args.strict { " --strict" } else { "" };
    format!(
        "#!/bin/sh\n{MARKER} (mode {mode}); `kiln hook uninstall` removes it.\n\
         # Skip once with KILN_SKIP=1 or `git commit --no-verify`.\n\
         exec '{quoted}' hook run --mode {mode}{strict}\n"
    )
}

pub fn install(args: &InstallArgs) -> Result<Installed> {
    let hook = hook_path()?;
    let io = |source| HookError::Io {
        path: hook.clone(),
        source,
    };
    let kiln = std::env::current_exe().map_err(io)?;
    let exists = hook.exists();
    let ours = is_kiln_hook(&hook);
    let outcome = match (exists, ours) {
        (false, _) => Installed::Fresh(hook.clone()),
        (true, true) => Installed::Updated(hook.clone()),
        (true, false) => Installed::ReplacedForeign(hook.clone(), backup_path(&hook)),
    };
    if let Installed::ReplacedForeign(_, backup) = &outcome {
        if !args.force {
            return Err(HookError::ForeignHook(hook));
        }
        if backup.exists() {
            // An older backup is the user's original; never overwrite it with a second hook.
            return Err(HookError::BackupExists(backup.clone()));
        }
        std::fs::rename(&hook, backup).map_err(io)?;
    }
    if let Some(dir) = hook.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(&hook, script(&kiln, args)).map_err(io)?;
    make_executable(&hook).map_err(io)?;
    Ok(outcome)
}

/// Removes kiln's hook and puts back the one it replaced, if any. Returns the restored path.
pub fn uninstall() -> Result<Option<PathBuf>> {
    let hook = hook_path()?;
    let io = |source| HookError::Io {
        path: hook.clone(),
        source,
    };
    if hook.exists() && !is_kiln_hook(&hook) {
        return Err(HookError::NotOurs(hook));
    }
    if !hook.exists() {
        return Err(HookError::NotInstalled(hook));
    }
    std::fs::remove_file(&hook).map_err(io)?;
    let backup = backup_path(&hook);
    if backup.exists() {
        std::fs::rename(&backup, &hook).map_err(io)?;
        return Ok(Some(hook));
    }
    Ok(None)
}

fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_mode(permissions.mode() | 0o755);
    std::fs::set_permissions(path, permissions)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_script_runs_this_binary_in_the_chosen_mode_and_quotes_its_path() {
        let args = InstallArgs {
            mode: super::super::Mode::Block,
            force: false,
            strict: true,
        };
        let text = script(Path::new("/opt/it's/kiln"), &args);
        assert!(text.starts_with("#!/bin/sh\n"));
        assert!(text.contains(MARKER));
        assert!(
            text.ends_with("exec '/opt/it'\\''s/kiln' hook run --mode block --strict\n"),
            "{text}"
        );
    }
}
