//! Running git. The hook spawns as few processes as it can: a hook runs on every commit.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{HookError, Result};

/// Runs `git ARGS` in the current directory and returns its stdout. git's own environment
/// (`GIT_DIR`, `GIT_INDEX_FILE` for `git commit -a`) is inherited on purpose: inside a hook it
/// names the index being committed.
pub fn output(args: &[&str]) -> Result<Vec<u8>> {
    output_with_input(args, None)
}

/// Like [`output`], with `input` written to git's stdin.
pub fn output_with_input(args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>> {
    let failed = |message: String| HookError::Git {
        command: args.join(" "),
        message,
    };
    let mut child = Command::new("git")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run git: {e}")))?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        // A writer thread, so a large answer cannot fill git's stdout while we still write.
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(format!("cannot read git's output: {e}")))?;
    if !out.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(out.stdout)
}

/// One line of git output as a path (e.g. `rev-parse --show-toplevel`).
pub fn path(args: &[&str]) -> Result<PathBuf> {
    let out = output(args)?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out).trim_end()))
}

/// The top level of the working tree.
pub fn top_level() -> Result<PathBuf> {
    path(&["rev-parse", "--show-toplevel"])
}

/// `<git-dir>/kiln`: where proposals and the staged checkout live, never in the working tree.
pub fn kiln_dir() -> Result<PathBuf> {
    path(&["rev-parse", "--git-path", "kiln"]).map(absolute)
}

pub fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(&path))
        .unwrap_or(path)
}
