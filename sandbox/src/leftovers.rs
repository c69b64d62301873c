//! Sandboxes of runs that died without cleaning up (kill -9, an OOM kill, a crash), found and
//! removed by a later run.
//!
//! Every sandbox tempdir holds an [`OWNER_FILE`] naming the process that made it: its pid, its
//! start time (clock ticks since boot, from `/proc/PID/stat`) and the boot it ran in. A pid alone
//! could be reused by an unrelated process; a pid with the same start time in the same boot
//! cannot. A later run removes a `kiln-sandbox-*` dir only when its owner is no longer alive and
//! started before the run that looks (so a run never takes a younger run's dir, whatever the
//! clocks say), and only when the dir is ours (owner uid) and private (no group or other
//! permissions): `/tmp` is shared, and nothing another user placed there is touched.
//!
//! A dir without a readable owner file is left alone: it may belong to a run that has created
//! its dir but not yet written the file.
//!
//! Cargo's own locks (the target dir's `.cargo-lock`, the package cache's) are `flock`s: the
//! kernel drops them with the process that held them, so they never outlive a killed run.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

/// Prefix of every sandbox tempdir.
pub(crate) const DIR_PREFIX: &str = "kiln-sandbox-";
/// The owner record in a sandbox tempdir.
pub(crate) const OWNER_FILE: &str = "owner";

/// A process, named so that pid reuse cannot pass for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    boot_id: String,
    pid: u32,
    /// Field 22 of `/proc/PID/stat`: clock ticks after boot when the process started.
    start_ticks: u64,
}

impl Owner {
    /// This process, or `None` where `/proc` does not say (then no record is written and no
    /// leftover is judged).
    pub(crate) fn current() -> Option<Owner> {
        let pid = std::process::id();
        Some(Owner {
            boot_id: boot_id()?,
            pid,
            start_ticks: start_ticks(pid)?,
        })
    }

    pub(crate) fn to_text(&self) -> String {
        format!("{} {} {}\n", self.boot_id, self.pid, self.start_ticks)
    }

    pub(crate) fn parse(text: &str) -> Option<Owner> {
        let mut fields = text.split_ascii_whitespace();
        let owner = Owner {
            boot_id: fields.next()?.to_string(),
            pid: fields.next()?.parse().ok()?,
            start_ticks: fields.next()?.parse().ok()?,
        };
        fields.next().is_none().then_some(owner)
    }

    /// Whether this very process still runs (in this boot, with the same start time).
    fn alive(&self, now: &Owner) -> bool {
        self.boot_id == now.boot_id && start_ticks(self.pid) == Some(self.start_ticks)
    }

    /// Whether it started before `now`: any earlier boot did.
    fn started_before(&self, now: &Owner) -> bool {
        self.boot_id != now.boot_id || self.start_ticks < now.start_ticks
    }
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| id.to_string())
}

fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_ticks_from_stat(&stat)
}

/// Field 22 of a `/proc/PID/stat` line. The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so fields are counted from the last `)`.
fn start_ticks_from_stat(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name come field 3 (state) onwards: field 22 is the 20th of them.
    after_name.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// Removes the sandboxes in `temp_dir` left by dead runs that started before `now`. Errors only
/// make a dir stay: another run may be removing it at the same time.
pub(crate) fn remove_dead(temp_dir: &Path, now: &Owner) {
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return;
    };
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with(DIR_PREFIX)
            && std::fs::symlink_metadata(&path)
                .is_ok_and(|meta| meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0);
        if !ours {
            continue;
        }
        let owner = std::fs::read_to_string(path.join(OWNER_FILE))
            .ok()
            .and_then(|text| Owner::parse(&text));
        let dead_and_older = owner.is_some_and(|o| o.started_before(now) && !o.alive(now));
        if dead_and_older {
            make_removable(&path);
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// overlayfs leaves `cache-work/work` with mode 000 (and, for a `volatile` mount, the
/// `incompat/volatile/dirty` chain below it too), which a removal cannot enter as a user other
/// than root. Only real directories are changed, from the top down: never a symlink's target.
pub(crate) fn make_removable(sandbox_root: &Path) {
    let real_dir =
        |path: &Path| std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_dir());
    let mut dir = sandbox_root.join(crate::CACHE_WORK_SUBDIR);
    if !real_dir(&dir) {
        return;
    }
    for name in ["work", "incompat", "volatile", "dirty"] {
        dir.push(name);
        if !real_dir(&dir) {
            return;
        }
        let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::PathBuf;

    fn sandbox_dir(temp: &Path, name: &str, owner: Option<&Owner>) -> PathBuf {
        let dir = temp.join(format!("{DIR_PREFIX}{name}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        if let Some(owner) = owner {
            std::fs::write(dir.join(OWNER_FILE), owner.to_text()).unwrap();
        }
        dir
    }

    #[test]
    fn the_start_time_is_read_past_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 \
                    1000 200 18446744073709551615";
        assert_eq!(start_ticks_from_stat(stat), Some(987_654));
        assert_eq!(start_ticks_from_stat("4242 (short) S 1"), None);
        assert_eq!(start_ticks_from_stat(""), None);
        assert!(Owner::current().is_some(), "this test needs /proc");
    }

    #[test]
    fn owner_records_round_trip_and_bad_ones_are_refused() {
        let owner = Owner::current().unwrap();
        assert_eq!(Owner::parse(&owner.to_text()), Some(owner));
        for bad in ["", "boot", "boot 12", "boot x 3", "boot 1 2 3", "boot -1 2"] {
            assert_eq!(Owner::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_dead_older_owners_lose_their_dirs() {
        let now = Owner::current().unwrap();
        let temp = tempfile::tempdir().unwrap();
        // This process is alive; a pid reused by another process has a different start time.
        let live = sandbox_dir(temp.path(), "live", Some(&now));
        let reused = Owner {
            start_ticks: now.start_ticks.saturating_sub(1),
            ..now.clone()
        };
        let dead = sandbox_dir(temp.path(), "dead", Some(&reused));
        let younger = Owner {
            pid: u32::MAX,
            start_ticks: now.start_ticks + 1,
            ..now.clone()
        };
        let young = sandbox_dir(temp.path(), "young", Some(&younger));
        let earlier_boot = Owner {
            boot_id: "an-earlier-boot".to_string(),
            start_ticks: u64::MAX,
            ..now.clone()
        };
        let rebooted = sandbox_dir(temp.path(), "rebooted", Some(&earlier_boot));
        let unknown = sandbox_dir(temp.path(), "unknown", None);
        let shared = sandbox_dir(temp.path(), "shared", Some(&reused));
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let other = temp.path().join("not-kiln");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(OWNER_FILE), reused.to_text()).unwrap();
        // What overlayfs leaves behind must not stop the removal.
        let work = dead.join(crate::CACHE_WORK_SUBDIR).join("work");
        std::fs::create_dir_all(work.join("inside")).unwrap();
        std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o000)).unwrap();

        remove_dead(temp.path(), &now);
        for kept in [&live, &young, &unknown, &shared, &other] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
        assert!(!dead.exists() && !rebooted.exists());
    }
}
