//! Fetching dependencies before the sandboxed runs, which have no network.
//!
//! This runs outside the confinement but before any generated code has run
//! in the copy, so only the user's own manifest and cargo config are in play,
//! as when they build themselves. `cargo fetch` downloads and unpacks into
//! the user's registry cache; the confined runs then build `--offline`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest we wait for an online `cargo fetch` before giving up; the run
/// then reports cargo's own "unable to get packages" error.
const ONLINE_FETCH_TIMEOUT: Duration = Duration::from_secs(120);
/// How often we look whether the fetch has finished: often, since an offline fetch takes only
/// tens of milliseconds and every one waited past its end delays the first run.
const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// Makes the copy's dependencies available offline: a quick offline fetch
/// first (everything already cached: the usual case, no network touched),
/// an online one only if that fails. Failures are not errors here: the
/// sandboxed build reports what is missing. `true`: one of them succeeded.
pub(crate) fn fetch_dependencies(crate_dir: &Path) -> bool {
    cargo_fetch(crate_dir, &["--offline"]) || cargo_fetch(crate_dir, &[])
}

fn cargo_fetch(crate_dir: &Path, extra: &[&str]) -> bool {
    let child = Command::new("cargo")
        .arg("fetch")
        .args(extra)
        .current_dir(crate_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    let deadline = Instant::now() + ONLINE_FETCH_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}
