//! Confining one cargo run: which kernel mechanisms this machine offers
//! (found once by trying each on `true`), and applying them to the child
//! between fork and exec.
//!
//! Everything that allocates (rulesets, paths, maps) is prepared in the
//! parent; the forked child only makes syscalls, because after fork in a
//! multi-threaded process only async-signal-safe calls are allowed.

mod caps;
pub(crate) mod cgroup;
mod landlock;
mod netns;

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd as _, OwnedFd, RawFd};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::sync::OnceLock;

use self::cgroup::PidsCgroup;
use self::landlock::{DenyTcp, RulesetSpec};
use self::netns::NetNamespace;
use crate::limits::{apply_rlimits, limit_processes, Limits};

/// How the run is kept off the network.
#[derive(Debug, Clone)]
pub(crate) enum NetIsolation {
    Namespace(NetNamespace),
    /// Landlock denies TCP connect and bind; UDP is not covered.
    LandlockTcp,
}

/// The mechanisms that worked when tried on this machine.
#[derive(Debug)]
pub(crate) struct Mechanisms {
    pub(crate) rlimits: Result<(), String>,
    pub(crate) net: Result<NetIsolation, String>,
    /// The Landlock ABI used for filesystem writes.
    pub(crate) landlock_abi: Result<i32, String>,
    pub(crate) pids_cgroup: Result<(), String>,
    /// `RLIMIT_NPROC` set inside the run's own user namespace, where it
    /// counts only the run's processes (the fallback without a cgroup).
    pub(crate) nproc_in_user_namespace: Result<(), String>,
    /// How the run is kept from root privileges: kiln is not root, or the
    /// child drops every capability (`Some(last_cap)`).
    pub(crate) privileges: Result<Option<u32>, String>,
}

/// Tries each mechanism once per process, on `true`, and remembers.
pub(crate) fn mechanisms() -> &'static Mechanisms {
    static MECHANISMS: OnceLock<Mechanisms> = OnceLock::new();
    MECHANISMS.get_or_init(try_mechanisms)
}

fn try_mechanisms() -> Mechanisms {
    let scratch = tempfile::tempdir().map_err(|e| format!("no temp dir to try Landlock in: {e}"));
    let rlimits = try_in_child(ChildSetup {
        limits: Some(Limits::default()),
        ..ChildSetup::default()
    });
    let netns = NetNamespace::for_current_user();
    let namespace = try_in_child(ChildSetup {
        netns: Some(netns.clone()),
        ..ChildSetup::default()
    });
    let landlock_abi = landlock::kernel_abi().and_then(|abi| {
        let scratch = scratch.as_ref().map_err(Clone::clone)?;
        try_ruleset(abi, scratch.path(), DenyTcp::No).map(|()| abi)
    });
    let net = match namespace {
        Ok(()) => Ok(NetIsolation::Namespace(netns.clone())),
        Err(namespace_error) => match &landlock_abi {
            Ok(abi) if *abi >= landlock::NET_ABI => scratch
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|dir| try_ruleset(*abi, dir.path(), DenyTcp::Yes))
                .map(|()| NetIsolation::LandlockTcp)
                .map_err(|e| format!("no network namespace ({namespace_error}); Landlock TCP rules failed: {e}")),
            _ => Err(format!(
                "no network namespace ({namespace_error}) and no Landlock network rules (kernel ABI < {})",
                landlock::NET_ABI
            )),
        },
    };
    let pids_cgroup = PidsCgroup::create(Limits::default().max_processes)
        .map_err(|e| format!("cannot create a pids cgroup: {e}"))
        .and_then(|group| {
            try_in_child(ChildSetup {
                cgroup_procs: Some(group.procs_path().clone()),
                ..ChildSetup::default()
            })
        });
    let nproc_in_user_namespace = match &pids_cgroup {
        Ok(()) => Err("not needed: the pids cgroup caps processes".to_string()),
        Err(_) => try_nproc_in_user_namespace(&netns),
    };
    let privileges = if is_root() {
        caps::last_cap()
            .map_err(|e| format!("cannot read the last capability: {e}"))
            .and_then(|last_cap| {
                try_in_child(ChildSetup {
                    drop_caps: Some(last_cap),
                    ..ChildSetup::default()
                })
                .map(|()| Some(last_cap))
            })
    } else {
        Ok(None)
    };
    Mechanisms {
        rlimits,
        net,
        landlock_abi,
        pids_cgroup,
        nproc_in_user_namespace,
        privileges,
    }
}

fn try_ruleset(abi: i32, writable: &Path, deny_tcp: DenyTcp) -> Result<(), String> {
    let fd = landlock::build(&RulesetSpec {
        abi,
        writable: &[writable],
        deny_tcp,
    })?;
    try_in_child(ChildSetup {
        landlock_fd: Some(fd.as_raw_fd()),
        ..ChildSetup::default()
    })
}

/// Checks that `RLIMIT_NPROC` binds inside a fresh user namespace and counts
/// only that namespace's processes: a shell there can fork with a limit of 2
/// (itself and the child) but not with 1. Were the user's processes counted
/// everywhere, 2 would already be exceeded (this process, the shell and its
/// child). Root is exempt from `RLIMIT_NPROC` in its own namespace, and kiln
/// as root enters no user namespace, so this is for unprivileged users.
fn try_nproc_in_user_namespace(netns: &NetNamespace) -> Result<(), String> {
    if matches!(netns, NetNamespace::Privileged) {
        return Err("RLIMIT_NPROC does not bind root".to_string());
    }
    let forks = |max_processes| {
        run_confined(
            &["sh", "-c", "true & wait"],
            ChildSetup {
                netns: Some(netns.clone()),
                max_processes,
                ..ChildSetup::default()
            },
        )
    };
    match (forks(Some(2))?, forks(Some(1))?) {
        (true, false) => Ok(()),
        (true, true) => Err("RLIMIT_NPROC did not stop a fork in a user namespace".to_string()),
        (false, _) => Err(
            "RLIMIT_NPROC in a user namespace counts processes outside it (or a shell there \
             cannot fork)"
                .to_string(),
        ),
    }
}

/// Runs `true` with `setup` applied; Ok if it started and exited 0.
fn try_in_child(setup: ChildSetup) -> Result<(), String> {
    match run_confined(&["true"], setup)? {
        true => Ok(()),
        false => Err("a confined `true` failed".to_string()),
    }
}

/// Runs `program` with `setup` applied; whether it exited 0, or why it could
/// not start.
fn run_confined(program: &[&str], setup: ChildSetup) -> Result<bool, String> {
    let (name, args) = program.split_first().ok_or("no program to run")?;
    let mut command = std::process::Command::new(name);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: `ChildSetup::apply` only makes async-signal-safe syscalls.
    unsafe {
        command.pre_exec(move || setup.apply());
    }
    command
        .status()
        .map(|status| status.success())
        .map_err(|e| e.to_string())
}

/// What the forked child does before exec. Cheap to clone; holds no
/// resources (the fds and cgroup it names are owned by a [`Confinement`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct ChildSetup {
    cgroup_procs: Option<CString>,
    limits: Option<Limits>,
    netns: Option<NetNamespace>,
    /// `RLIMIT_NPROC`, set after entering the user namespace (see
    /// [`Mechanisms::nproc_in_user_namespace`]).
    max_processes: Option<u64>,
    /// Drop every capability up to this number (when kiln runs as root).
    drop_caps: Option<u32>,
    landlock_fd: Option<RawFd>,
}

impl ChildSetup {
    /// Runs in the forked child before exec; see the module doc. The order
    /// matters: join the cgroup and enter namespaces while /proc and /sys
    /// are still writable and the capabilities for it are still held, then
    /// drop the capabilities, and enforce Landlock last.
    pub(crate) fn apply(&self) -> io::Result<()> {
        if let Some(procs) = &self.cgroup_procs {
            write_in_child(procs, b"0")?;
        }
        if let Some(limits) = &self.limits {
            apply_rlimits(limits)?;
        }
        if let Some(netns) = &self.netns {
            netns.enter()?;
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
    setup: ChildSetup,
}

impl Confinement {
    /// Prepares every mechanism [`mechanisms`] found working. `writable` are
    /// the directories the run may write below.
    pub(crate) fn prepare(writable: &[&Path], limits: &Limits) -> io::Result<Confinement> {
        let available = mechanisms();
        let cgroup = match available.pids_cgroup {
            Ok(()) => Some(PidsCgroup::create(limits.max_processes)?),
            Err(_) => None,
        };
        let (netns, deny_tcp) = match &available.net {
            Ok(NetIsolation::Namespace(netns)) => (Some(netns.clone()), DenyTcp::No),
            Ok(NetIsolation::LandlockTcp) => (None, DenyTcp::Yes),
            Err(_) => (None, DenyTcp::No),
        };
        let ruleset = match available.landlock_abi {
            Ok(abi) => Some(
                landlock::build(&RulesetSpec {
                    abi,
                    writable,
                    deny_tcp,
                })
                .map_err(io::Error::other)?,
            ),
            Err(_) => None,
        };
        let setup = ChildSetup {
            cgroup_procs: cgroup.as_ref().map(|group| group.procs_path().clone()),
            limits: Some(*limits),
            netns,
            max_processes: match (&cgroup, &available.nproc_in_user_namespace) {
                (None, Ok(())) => Some(limits.max_processes),
                _ => None,
            },
            drop_caps: available.privileges.clone().ok().flatten(),
            landlock_fd: ruleset.as_ref().map(|fd| fd.as_raw_fd()),
        };
        Ok(Confinement {
            cgroup,
            _ruleset: ruleset,
            setup,
        })
    }

    pub(crate) fn child_setup(&self) -> ChildSetup {
        self.setup.clone()
    }

    /// Kills every process of the run, including those that left cargo's
    /// process group, where a cgroup tracks them.
    pub(crate) fn kill_all(&self) {
        if let Some(group) = &self.cgroup {
            group.kill_all();
        }
    }
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
            writable: &[scratch.path()],
            deny_tcp: DenyTcp::Yes,
        })
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
