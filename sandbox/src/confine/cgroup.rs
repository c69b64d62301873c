//! A pids cgroup per run: bounds the number of processes (a fork bomb hits
//! `pids.max` and its forks fail with EAGAIN) and lists every process of the
//! run, including ones that left the process group with `setsid`, so all of
//! them can be killed.
//!
//! Only cgroup v1's `pids` hierarchy is used: that is what this project's
//! machines mount, and creating a child group there needs no delegation
//! beyond write access (root). Elsewhere the limit is reported unavailable.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How often we sweep the group when killing: a fork bomb can create new
/// processes between reading `cgroup.procs` and the kills.
const KILL_SWEEPS: usize = 50;
/// Pause between sweeps, so killed processes can exit and leave the list.
const KILL_SWEEP_PAUSE: Duration = Duration::from_millis(10);

static NEXT_GROUP: AtomicU64 = AtomicU64::new(0);
/// Names past this many are not tried: something other than leftovers is taking them.
const MAX_NAME_TRIES: u32 = 10_000;

/// One run's cgroup; removed on drop after its processes are killed.
#[derive(Debug)]
pub(crate) struct PidsCgroup {
    dir: PathBuf,
    /// `cgroup.procs` as a C string, for joining from the forked child
    /// without allocating.
    procs: CString,
}

impl PidsCgroup {
    /// Creates a fresh group under the pids hierarchy with `pids.max` set.
    pub(crate) fn create(max_processes: u64) -> io::Result<PidsCgroup> {
        let root = pids_mount()?;
        let dir = create_unused(&root)?;
        let group = PidsCgroup {
            procs: CString::new(dir.join("cgroup.procs").as_os_str().as_bytes())
                .map_err(io::Error::other)?,
            dir,
        };
        std::fs::write(group.dir.join("pids.max"), max_processes.to_string())?;
        Ok(group)
    }

    /// The group's `cgroup.procs`: writing "0" to it from the forked child
    /// (see [`super::write_in_child`]) moves that process into the group.
    pub(crate) fn procs_path(&self) -> &CString {
        &self.procs
    }

    /// Live processes in the group.
    pub(crate) fn pids(&self) -> Vec<libc::pid_t> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }

    /// SIGKILLs every process in the group until it is empty (or we give up
    /// after a bounded number of sweeps).
    pub(crate) fn kill_all(&self) {
        for _ in 0..KILL_SWEEPS {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                // SAFETY: kill takes two integers. A pid listed in our group
                // belongs to our run (the kernel removes exited ones).
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            std::thread::sleep(KILL_SWEEP_PAUSE);
        }
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        self.kill_all();
        // Fails (EBUSY) only if a process is still exiting; the empty group
        // is then left behind, which costs nothing.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Makes a group dir no one else uses. A kiln killed with SIGKILL leaves its (empty) group
/// behind, and pids recycle fast (`pid_max` is 32768 on many machines): a later kiln with the
/// same pid would find its first name taken. So a taken name is skipped, never joined.
fn create_unused(root: &Path) -> io::Result<PathBuf> {
    let pid = std::process::id();
    let mut tries = 0;
    loop {
        tries += 1;
        let id = NEXT_GROUP.fetch_add(1, Ordering::Relaxed);
        let dir = root.join(format!("kiln-{pid}-{id}"));
        match std::fs::create_dir(&dir) {
            Err(error)
                if error.kind() == io::ErrorKind::AlreadyExists && tries < MAX_NAME_TRIES => {}
            created => return created.map(|()| dir),
        }
    }
}

/// Where the v1 pids hierarchy is mounted, from `/proc/self/mounts`.
fn pids_mount() -> io::Result<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts")?;
    mounts
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [_, dir, "cgroup", options, ..]
                    if options.split(',').any(|option| option == "pids") =>
                {
                    Some(Path::new(dir).to_path_buf())
                }
                _ => None,
            }
        })
        .next()
        .ok_or_else(|| io::Error::other("no cgroup v1 pids hierarchy is mounted"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A dead kiln that had this pid left groups behind under the names this process would
    /// try first.
    #[test]
    fn names_left_by_a_dead_kiln_with_the_same_pid_are_skipped() {
        let Ok(root) = pids_mount() else {
            eprintln!("skipped: no cgroup v1 pids hierarchy here");
            return;
        };
        let next = NEXT_GROUP.load(Ordering::Relaxed);
        let leftovers: Vec<PathBuf> = (next..next + 3)
            .map(|id| root.join(format!("kiln-{}-{id}", std::process::id())))
            .collect();
        for dir in &leftovers {
            if let Err(error) = std::fs::create_dir(dir) {
                eprintln!("skipped: cannot create a pids cgroup here: {error}");
                return;
            }
        }
        let group = PidsCgroup::create(16);
        for dir in &leftovers {
            let _ = std::fs::remove_dir(dir);
        }
        let group = group.expect("a group is made beside the leftovers");
        assert!(!leftovers.contains(&group.dir), "{:?}", group.dir);
        assert_eq!(
            std::fs::read_to_string(group.dir.join("pids.max"))
                .unwrap()
                .trim(),
            "16"
        );
    }
}
