//! Confining one cargo run: which kernel mechanisms this machine offers
//! ([`mechanisms`], found once by trying each), and applying them to the child
//! between fork and exec.
//!
//! Everything that allocates (rulesets, paths, maps) is prepared in the
//! parent; the forked child only makes syscalls, because after fork in a
//! multi-threaded process only async-signal-safe calls are allowed.

mod caps;
pub(crate) mod cgroup;
mod init;
mod landlock;
mod mechanisms;
mod namespaces;
pub(crate) mod overlay;
pub(crate) mod view;

pub(crate) use mechanisms::{mechanisms, Mechanisms, NetIsolation, ReadConfinement};

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd as _, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use self::cgroup::PidsCgroup;
use self::landlock::{DenyTcp, FsRules, RulesetSpec};
use self::mechanisms::landlock_readable;
use self::namespaces::Namespaces;
use self::overlay::{HeldOverlay, Overlay, OverlayMount};
use self::view::{View, Visible};
use crate::limits::{apply_rlimits, limit_processes, Limits};

/// Capabilities are dropped by root, and inside a user namespace too: there the run holds every
/// capability of the namespace, enough to remount its read-only view writable.
fn caps_to_drop(namespaces: &Namespaces) -> Option<u32> {
    (is_root() || namespaces.via_user_namespace())
        .then(|| caps::last_cap().ok())
        .flatten()
}

/// What the forked child does before exec. Cheap to clone; holds no
/// resources (the fds and cgroup it names are owned by a [`Confinement`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct ChildSetup {
    /// A session of its own: no controlling terminal, so no `/dev/tty` and no TIOCSTI into the
    /// user's shell; and a process group of its own, which kiln kills.
    new_session: bool,
    /// Die with this process (kiln), see [`init`].
    parent: Option<libc::pid_t>,
    /// In a pid namespace, init stays a reaper and a child of it execs (see [`init`]).
    reaper_init: bool,
    cgroup_procs: Option<CString>,
    limits: Option<Limits>,
    namespaces: Option<Namespaces>,
    view: Option<Arc<View>>,
    /// `RLIMIT_NPROC`, set after entering the user namespace (see
    /// [`Mechanisms::nproc_in_user_namespace`]).
    max_processes: Option<u64>,
    /// Drop every capability up to this number.
    drop_caps: Option<u32>,
    landlock_fd: Option<RawFd>,
}

impl ChildSetup {
    /// For a program that may rely on a signal's default action (a test binary that aborts),
    /// which the kernel withholds from a pid namespace's init.
    pub(crate) fn with_reaper_init(mut self) -> ChildSetup {
        self.reaper_init = true;
        self
    }

    /// Runs in the forked child before exec; see the module doc. The order
    /// matters: leave the terminal's session and tie the child to kiln first; join the cgroup
    /// and enter namespaces while /proc and /sys are still writable and the capabilities for it
    /// are still held; build the filesystem view; then drop the capabilities, and enforce
    /// Landlock last.
    pub(crate) fn apply(&self) -> io::Result<()> {
        if self.new_session {
            // SAFETY: setsid takes nothing.
            if unsafe { libc::setsid() } < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some(parent) = self.parent {
            init::die_with_parent(parent)?;
        }
        if let Some(procs) = &self.cgroup_procs {
            write_in_child(procs, b"0")?;
        }
        if let Some(limits) = &self.limits {
            apply_rlimits(limits)?;
        }
        if let Some(namespaces) = &self.namespaces {
            namespaces.unshare()?;
            if namespaces.pid {
                init::split(self.reaper_init)?;
            }
        }
        if let Some(view) = &self.view {
            view.enter()?;
        }
        if let Some(namespaces) = &self.namespaces {
            namespaces.finish();
        }
        if let Some(max_processes) = self.max_processes {
            limit_processes(max_processes)?;
        }
        if let Some(last_cap) = self.drop_caps {
            caps::drop_all(last_cap)?;
        }
        if let Some(fd) = self.landlock_fd {
            landlock::restrict_self(fd)?;
        }
        Ok(())
    }
}

/// The confinement of one run: owns its cgroup and Landlock ruleset.
#[derive(Debug)]
pub(crate) struct Confinement {
    cgroup: Option<PidsCgroup>,
    /// Kept open until the child has exec'd (the child uses its number).
    _ruleset: Option<OwnedFd>,
    /// The mounted overlay whose namespace the child joins, kept the same way.
    _overlay: Option<Arc<HeldOverlay>>,
    /// The layers of that overlay.
    overlaid: Option<Overlay>,
    setup: ChildSetup,
    /// Where the run sees the crate copy, when a view shows it elsewhere than its own path.
    relocated_to: Option<PathBuf>,
}

impl Confinement {
    /// Prepares every mechanism [`mechanisms`] found working, for a run that may see `visible`
    /// (and write below its writable part). `view_root` is an empty directory the run's
    /// filesystem view is built on; `overlay_mount` holds the sandbox's overlay of `visible`.
    pub(crate) fn prepare(
        visible: &Visible,
        view_root: &Path,
        limits: &Limits,
        overlay_mount: &OverlayMount,
    ) -> io::Result<Confinement> {
        let available = mechanisms();
        let cgroup = match available.pids_cgroup {
            Ok(()) => Some(PidsCgroup::create(limits.max_processes)?),
            Err(_) => None,
        };
        let deny_tcp = match available.net {
            Ok(NetIsolation::LandlockTcp) => DenyTcp::Yes,
            _ => DenyTcp::No,
        };
        let reads = available.reads.as_ref().ok().copied();
        let namespaces = Namespaces::for_current_user(
            available.net == Ok(NetIsolation::Namespace),
            reads == Some(ReadConfinement::View),
            available.pid_namespace.is_ok(),
        );
        // Without an overlay the cache is shown as it is, writable (doctor says so).
        let visible = match (reads, &available.cache_overlay) {
            (Some(ReadConfinement::View), Ok(())) => visible.clone(),
            _ => visible.without_overlay(),
        };
        let visible = &visible;
        let overlay = match &visible.overlay {
            Some(overlay) => Some(overlay_mount.get(overlay)?),
            None => None,
        };
        let namespaces = match &overlay {
            Some(held) => namespaces.joining(held.joined()),
            None => namespaces,
        };
        let view = match reads {
            Some(ReadConfinement::View) => Some(Arc::new(View::prepare(visible, view_root)?)),
            _ => None,
        };
        let landlock_reads = match reads {
            Some(ReadConfinement::Landlock) => Some(landlock_readable(visible)),
            _ => None,
        };
        let writable: Vec<&Path> = visible.writable.iter().map(PathBuf::as_path).collect();
        let ruleset = match available.landlock_abi {
            Ok(abi) => landlock::build(&RulesetSpec {
                abi,
                fs: view.is_none().then_some(FsRules {
                    writable: &writable,
                    readable: landlock_reads.as_deref(),
                }),
                deny_tcp,
            })
            .map_err(io::Error::other)?,
            Err(_) => None,
        };
        let relocated_to = view
            .is_some()
            .then(|| visible.relocated.as_ref().map(|r| r.to.clone()))
            .flatten();
        let enters_any = namespaces.net || namespaces.mount || namespaces.pid;
        let setup = ChildSetup {
            new_session: true,
            parent: Some(current_pid()),
            reaper_init: false,
            cgroup_procs: cgroup.as_ref().map(|group| group.procs_path().clone()),
            limits: Some(*limits),
            drop_caps: caps_to_drop(&namespaces),
            namespaces: enters_any.then_some(namespaces),
            view,
            max_processes: match (&cgroup, &available.nproc_in_user_namespace) {
                (None, Ok(())) => Some(limits.max_processes),
                _ => None,
            },
            landlock_fd: ruleset.as_ref().map(|fd| fd.as_raw_fd()),
        };
        Ok(Confinement {
            cgroup,
            _ruleset: ruleset,
            overlaid: overlay.is_some().then(|| visible.overlay.clone()).flatten(),
            _overlay: overlay,
            setup,
            relocated_to,
        })
    }

    pub(crate) fn child_setup(&self) -> ChildSetup {
        self.setup.clone()
    }

    /// Where the run sees the crate copy when that is not its own path (see
    /// [`view::Relocated`]): the prefix rustc's absolute paths then carry.
    pub(crate) fn relocated_to(&self) -> Option<&Path> {
        self.relocated_to.as_deref()
    }

    /// Whether the run has a filesystem view of its own (see [`view`]).
    pub(crate) fn has_view(&self) -> bool {
        self.setup.view.is_some()
    }

    /// Where the host finds the file the run sees at `seen`: in the sandbox's layer of the
    /// overlaid cache when the run wrote it there, else at the same path.
    pub(crate) fn host_path(&self, seen: &Path) -> PathBuf {
        let upper = self.overlaid.as_ref().and_then(|overlay| {
            let below = seen.strip_prefix(&overlay.shown).ok()?;
            let upper = overlay.upper.join(below);
            std::fs::symlink_metadata(&upper).is_ok().then_some(upper)
        });
        upper.unwrap_or_else(|| seen.to_path_buf())
    }

    /// Kills every process of the run, including those that left cargo's
    /// process group, where a cgroup tracks them.
    pub(crate) fn kill_all(&self) {
        if let Some(group) = &self.cgroup {
            group.kill_all();
        }
    }
}

fn current_pid() -> libc::pid_t {
    // SAFETY: getpid cannot fail and touches no memory.
    unsafe { libc::getpid() }
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// Writes `contents` to the file at `path` with raw syscalls.
///
/// Runs in the forked child before exec: open/write/close on a prepared path
/// and buffer, no allocation.
fn write_in_child(path: &CStr, contents: &[u8]) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated and `contents` outlives the call.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let written = libc::write(fd, contents.as_ptr().cast(), contents.len());
        let error = io::Error::last_os_error();
        libc::close(fd);
        if usize::try_from(written).ok() != Some(contents.len()) {
            return Err(error);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::os::unix::process::CommandExt as _;

    use super::*;

    /// Whether bash, confined by `setup`, got a TCP connection through to `listener`.
    fn bash_connects(listener: &std::net::TcpListener, setup: ChildSetup) -> bool {
        let port = listener.local_addr().unwrap().port();
        let mut command = std::process::Command::new("bash");
        command
            .args(["-c", &format!("echo hi > /dev/tcp/127.0.0.1/{port}")])
            .stderr(std::process::Stdio::null());
        // SAFETY: `ChildSetup::apply` only makes async-signal-safe syscalls.
        unsafe {
            command.pre_exec(move || setup.apply());
        }
        let _ = command.status().unwrap();
        listener.accept().is_ok()
    }

    /// The fallback for machines without network namespaces, tried here even though this machine
    /// has them: a Landlock ruleset that denies TCP must stop a connection to a local listener.
    #[test]
    fn landlock_tcp_rules_stop_a_local_connection() {
        let abi = match landlock::kernel_abi() {
            Ok(abi) if abi >= landlock::NET_ABI => abi,
            other => {
                eprintln!("skipped: no Landlock network rules here ({other:?})");
                return;
            }
        };
        if std::process::Command::new("bash")
            .arg("-c")
            .arg("true")
            .status()
            .is_err()
        {
            eprintln!("skipped: no bash to open a TCP connection with");
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        // Control: unconfined, the same command does connect, so the check below can fail.
        assert!(bash_connects(&listener, ChildSetup::default()));

        let scratch = tempfile::tempdir().unwrap();
        let fd = landlock::build(&RulesetSpec {
            abi,
            fs: Some(FsRules {
                writable: &[scratch.path()],
                readable: None,
            }),
            deny_tcp: DenyTcp::Yes,
        })
        .unwrap()
        .unwrap();
        let confined = ChildSetup {
            landlock_fd: Some(fd.as_raw_fd()),
            ..ChildSetup::default()
        };
        assert!(
            !bash_connects(&listener, confined),
            "connected through Landlock"
        );
    }
}
