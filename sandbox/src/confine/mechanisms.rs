//! Which confinement mechanisms this machine offers, found once per process by trying each on
//! a real child (`true`, or a shell that checks what it can read and write), so that a
//! protection is reported, and used, only when it worked here.

use std::os::fd::AsRawFd as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use super::cgroup::PidsCgroup;
use super::landlock::{self, DenyTcp, FsRules, RulesetSpec};
use super::namespaces::Namespaces;
use super::overlay::{HeldOverlay, Overlay};
use super::view::{View, Visible};
use super::{caps, caps_to_drop, current_pid, is_root, ChildSetup};
use crate::limits::Limits;

/// How the run is kept off the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetIsolation {
    /// An empty network namespace (abstract Unix sockets are per namespace too).
    Namespace,
    /// Landlock denies TCP connect and bind; UDP is not covered.
    LandlockTcp,
}

/// How the run's reads are confined to the crate, the toolchain and the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadConfinement {
    /// Its own filesystem view (a mount namespace): nothing else exists, sockets included.
    View,
    /// Landlock read rules: the rest exists but cannot be read; pathname sockets stay reachable.
    Landlock,
}

/// The mechanisms that worked when tried on this machine.
#[derive(Debug)]
pub(crate) struct Mechanisms {
    pub(crate) rlimits: Result<(), String>,
    pub(crate) net: Result<NetIsolation, String>,
    /// The Landlock ABI used for filesystem writes.
    pub(crate) landlock_abi: Result<i32, String>,
    /// A pid namespace per run, whose init dies with kiln.
    pub(crate) pid_namespace: Result<(), String>,
    pub(crate) reads: Result<ReadConfinement, String>,
    /// The shared build cache shown through an overlay, inside the filesystem view.
    pub(crate) cache_overlay: Result<(), String>,
    /// A session of its own, without a controlling terminal.
    pub(crate) no_terminal: Result<(), String>,
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
    let scratch = Scratch::create();
    let rlimits = try_in_child(ChildSetup {
        limits: Some(Limits::default()),
        ..ChildSetup::default()
    });
    let in_namespaces = |net, mount, pid| {
        let namespaces = Namespaces::for_current_user(net, mount, pid);
        ChildSetup {
            drop_caps: caps_to_drop(&namespaces),
            namespaces: Some(namespaces),
            ..ChildSetup::default()
        }
    };
    let namespace = try_in_child(in_namespaces(true, false, false));
    let pid_namespace = try_in_child(ChildSetup {
        parent: Some(current_pid()),
        ..in_namespaces(false, false, true)
    });
    let landlock_abi = landlock::kernel_abi().and_then(|abi| {
        let scratch = scratch.as_ref().map_err(Clone::clone)?;
        try_ruleset(abi, scratch, DenyTcp::No, None).map(|()| abi)
    });
    let net = match namespace {
        Ok(()) => Ok(NetIsolation::Namespace),
        Err(namespace_error) => match &landlock_abi {
            Ok(abi) if *abi >= landlock::NET_ABI => scratch
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|scratch| try_ruleset(*abi, scratch, DenyTcp::Yes, None))
                .map(|()| NetIsolation::LandlockTcp)
                .map_err(|e| format!("no network namespace ({namespace_error}); Landlock TCP rules failed: {e}")),
            _ => Err(format!(
                "no network namespace ({namespace_error}) and no Landlock network rules (kernel ABI < {})",
                landlock::NET_ABI
            )),
        },
    };
    let (reads, cache_overlay) =
        try_reads(&scratch, &landlock_abi, &in_namespaces(false, true, true));
    let no_terminal = run_confined(
        &["sh", "-c", "! true </dev/tty 2>/dev/null"],
        ChildSetup {
            new_session: true,
            ..ChildSetup::default()
        },
    )
    .and_then(|opened| match opened {
        true => Ok(()),
        false => Err("a process in a new session still opened /dev/tty".to_string()),
    });
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
        Err(_) => try_nproc_in_user_namespace(),
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
        pid_namespace,
        reads,
        cache_overlay,
        no_terminal,
        pids_cgroup,
        nproc_in_user_namespace,
        privileges,
    }
}

/// How reads are confined (a filesystem view, else Landlock read rules), and whether the shared
/// build cache can be shown through an overlay inside that view.
fn try_reads(
    scratch: &Result<Scratch, String>,
    landlock_abi: &Result<i32, String>,
    namespaces: &ChildSetup,
) -> (Result<ReadConfinement, String>, Result<(), String>) {
    let reads = scratch.as_ref().map_err(Clone::clone).and_then(|scratch| {
        try_view(scratch, namespaces)
            .map(|()| ReadConfinement::View)
            .or_else(|view_error| match landlock_abi {
                Ok(abi) => try_ruleset(*abi, scratch, DenyTcp::No, Some(&scratch.readable()))
                    .map(|()| ReadConfinement::Landlock)
                    .map_err(|e| {
                        format!(
                            "no filesystem view ({view_error}); Landlock read rules failed: {e}"
                        )
                    }),
                Err(landlock_error) => Err(format!(
                    "no filesystem view ({view_error}) and no Landlock ({landlock_error})"
                )),
            })
    });
    let cache_overlay = match (&reads, scratch) {
        (Ok(ReadConfinement::View), Ok(scratch)) => try_overlay(scratch, namespaces),
        (Ok(ReadConfinement::View), Err(e)) => Err(e.clone()),
        _ => Err("no filesystem view to mount an overlay in".to_string()),
    };
    (reads, cache_overlay)
}

/// A place to try confinement on: a directory the try may write, and a secret beside it that
/// the try must not be able to read.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn create() -> Result<Scratch, String> {
        let dir =
            tempfile::tempdir().map_err(|e| format!("no temp dir to try confinement in: {e}"))?;
        for (path, result) in [
            (
                dir.path().join("work"),
                std::fs::create_dir(dir.path().join("work")),
            ),
            (
                dir.path().join("root"),
                std::fs::create_dir(dir.path().join("root")),
            ),
            (
                dir.path().join("shown"),
                std::fs::create_dir(dir.path().join("shown")),
            ),
            (
                dir.path().join("secret"),
                std::fs::write(dir.path().join("secret"), "kiln probe"),
            ),
            (
                dir.path().join("cache"),
                std::fs::create_dir(dir.path().join("cache"))
                    .and_then(|()| std::fs::write(dir.path().join("cache/kept"), "cargo's")),
            ),
            (
                dir.path().join("upper"),
                std::fs::create_dir(dir.path().join("upper")),
            ),
            (
                dir.path().join("layer-work"),
                std::fs::create_dir(dir.path().join("layer-work")),
            ),
        ] {
            result.map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(Scratch { dir })
    }

    fn writable(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// What a try may see: the system, a read-only dir, and its writable dir.
    fn visible(&self) -> Visible {
        let work = self.writable();
        Visible::for_run(&[self.dir.path().join("shown")], &[&work], &work)
    }

    /// Where a try confined by Landlock alone may read.
    fn readable(&self) -> Vec<PathBuf> {
        landlock_readable(&self.visible())
    }

    /// A shell line that succeeds only if the system is readable and the secret is not, and
    /// only the writable dir can be written.
    fn check(&self) -> Result<[String; 3], String> {
        let dir = self
            .dir
            .path()
            .to_str()
            .ok_or("the temp dir's path is not UTF-8")?;
        Ok([
            "sh".to_string(),
            "-c".to_string(),
            format!(
                "cat /etc/passwd >/dev/null && ! cat '{dir}/secret' 2>/dev/null \
                 && ! touch '{dir}/shown/planted' 2>/dev/null && touch '{dir}/work/made'"
            ),
        ])
    }
}

/// Landlock's read rules for a run without a filesystem view: what the view would show, its
/// devices, and `/proc` (Landlock keeps the processes outside the run out of it).
pub(super) fn landlock_readable(visible: &Visible) -> Vec<PathBuf> {
    let mut readable = visible.read_only.clone();
    readable.extend(visible.writable.iter().cloned());
    readable.extend(Visible::devices());
    readable.push(PathBuf::from("/proc"));
    readable
}

fn try_ruleset(
    abi: i32,
    scratch: &Scratch,
    deny_tcp: DenyTcp,
    readable: Option<&[PathBuf]>,
) -> Result<(), String> {
    let writable = scratch.writable();
    let fd = landlock::build(&RulesetSpec {
        abi,
        fs: Some(FsRules {
            writable: &[&writable],
            readable,
        }),
        deny_tcp,
    })?
    .ok_or("the ruleset restricts nothing")?;
    let setup = ChildSetup {
        landlock_fd: Some(fd.as_raw_fd()),
        ..ChildSetup::default()
    };
    match readable {
        None => try_in_child(setup),
        Some(_) => try_check(&scratch.check()?, setup),
    }
}

/// Tries the build cache's overlay as runs use it: mounted once and held (see [`HeldOverlay`]),
/// then joined by a shell that reads the cache and writes into it inside its view. On the host
/// the cache must be as it was, the write in the upper layer.
fn try_overlay(scratch: &Scratch, namespaces: &ChildSetup) -> Result<(), String> {
    let dir = scratch.dir.path();
    let cache = dir.join("cache");
    let mut visible = scratch.visible();
    let overlay = Overlay {
        shown: cache.clone(),
        upper: dir.join("upper"),
        work: dir.join("layer-work"),
    };
    let held =
        HeldOverlay::hold(&overlay).map_err(|e| format!("cannot mount the cache overlay: {e}"))?;
    visible.overlay = Some(overlay);
    let view = View::prepare(&visible, &dir.join("root"))
        .map_err(|e| format!("cannot prepare the cache overlay's view: {e}"))?;
    let cache_text = cache.to_str().ok_or("the temp dir's path is not UTF-8")?;
    let wrote = run_confined(
        &[
            "sh",
            "-c",
            &format!(
                "cat '{cache_text}/kept' >/dev/null && echo planted > '{cache_text}/kept' \
                 && touch '{cache_text}/planted'"
            ),
        ],
        ChildSetup {
            view: Some(Arc::new(view)),
            namespaces: namespaces
                .namespaces
                .clone()
                .map(|entered| entered.joining(held.joined())),
            ..namespaces.clone()
        },
    )?;
    drop(held);
    let kept = std::fs::read_to_string(cache.join("kept")).unwrap_or_default();
    match (wrote, kept.as_str(), cache.join("planted").exists()) {
        (true, "cargo's", false) => Ok(()),
        (false, _, _) => {
            Err("a shell could not read and write the cache through an overlay".to_string())
        }
        _ => Err("a write through the overlay reached the cache itself".to_string()),
    }
}

/// Tries the filesystem view: the system must be readable inside it and the secret absent.
fn try_view(scratch: &Scratch, namespaces: &ChildSetup) -> Result<(), String> {
    let view = View::prepare(&scratch.visible(), &scratch.dir.path().join("root"))
        .map_err(|e| format!("cannot prepare a filesystem view: {e}"))?;
    try_check(
        &scratch.check()?,
        ChildSetup {
            view: Some(Arc::new(view)),
            ..namespaces.clone()
        },
    )
}

fn try_check(check: &[String; 3], setup: ChildSetup) -> Result<(), String> {
    let program: Vec<&str> = check.iter().map(String::as_str).collect();
    match run_confined(&program, setup)? {
        true => Ok(()),
        false => {
            Err("a confined shell could still read a file outside, or not the system".to_string())
        }
    }
}

/// Checks that `RLIMIT_NPROC` binds inside a fresh user namespace and counts
/// only that namespace's processes: a shell there can fork with a limit of 2
/// (itself and the child) but not with 1. Were the user's processes counted
/// everywhere, 2 would already be exceeded (this process, the shell and its
/// child). Root is exempt from `RLIMIT_NPROC` in its own namespace, and kiln
/// as root enters no user namespace, so this is for unprivileged users.
fn try_nproc_in_user_namespace() -> Result<(), String> {
    if is_root() {
        return Err("RLIMIT_NPROC does not bind root".to_string());
    }
    let forks = |max_processes| {
        run_confined(
            &["sh", "-c", "true & wait"],
            ChildSetup {
                namespaces: Some(Namespaces::for_current_user(true, false, false)),
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
