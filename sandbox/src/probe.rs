//! Which protections this machine actually gives a sandboxed run.
//!
//! Each kernel mechanism was tried on a real child process (see
//! `confine::mechanisms`); a protection is reported active only if that try
//! worked, and the same mechanisms are what every run then uses.

use serde::Serialize;

use crate::confine::{mechanisms, Mechanisms, NetIsolation, ReadConfinement};

/// The name of the read confinement, which front ends word differently when it is missing.
pub const NO_READS_OUTSIDE: &str = "no reads outside the crate, toolchain and system";

/// One protection and whether it is in force here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protection {
    /// What is protected against, e.g. "no network".
    pub name: &'static str,
    pub status: ProtectionStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionStatus {
    /// In force, and how.
    Active { via: String },
    /// Not in force on this machine, and why.
    Unavailable { reason: String },
}

impl Protection {
    pub fn is_active(&self) -> bool {
        matches!(self.status, ProtectionStatus::Active { .. })
    }
}

/// The protections of every [`crate::Sandbox::cargo_test`] run on this
/// machine. The first call tries the kernel mechanisms (a few short-lived
/// processes); later calls reuse the result.
pub fn probe() -> Vec<Protection> {
    let found = mechanisms();
    let mut protections = always_on();
    protections.extend(isolation(found));
    protections.extend(limits(found));
    protections
}

fn always(name: &'static str, via: &str) -> Protection {
    Protection {
        name,
        status: ProtectionStatus::Active { via: via.into() },
    }
}

/// Active when the mechanism behind it worked when tried.
fn from(name: &'static str, result: Result<String, String>) -> Protection {
    Protection {
        name,
        status: match result {
            Ok(via) => ProtectionStatus::Active { via },
            Err(reason) => ProtectionStatus::Unavailable { reason },
        },
    }
}

/// What kiln itself does to every run, whatever the kernel offers.
fn always_on() -> Vec<Protection> {
    vec![
        always(
            "wall-clock timeout",
            "SIGKILL to the process group at the deadline",
        ),
        always("output cap", "head and tail kept, the middle cut"),
        always(
            "scrubbed environment",
            "only PATH, LANG, toolchain and cargo variables pass; HOME and TMPDIR are private",
        ),
        always(
            "output shown safely",
            "control characters escaped (but newline and tab); secrets of the environment and \
             credential shapes redacted before anything is shown or sent to the model",
        ),
    ]
}

/// What a run can reach: the network, the filesystem, sockets, the terminal, privileges.
fn isolation(found: &Mechanisms) -> Vec<Protection> {
    let view = || match found.reads {
        Ok(ReadConfinement::View) => Ok(()),
        Ok(ReadConfinement::Landlock) => Err("no filesystem view: Landlock confines reads only"),
        Err(_) => Err("no filesystem view"),
    };
    vec![
        from(
            "no network",
            found.net.clone().map(|net| match net {
                NetIsolation::Namespace => "an empty network namespace".to_string(),
                NetIsolation::LandlockTcp => {
                    "Landlock denies TCP connect and bind (UDP is not blocked)".to_string()
                }
            }),
        ),
        from(
            NO_READS_OUTSIDE,
            found.reads.clone().map(|reads| match reads {
                ReadConfinement::View => "a filesystem view of its own (mount namespace): only \
                    the crate copy, the toolchain, cargo's registry and system directories exist"
                    .to_string(),
                ReadConfinement::Landlock => "Landlock read rules: only the crate copy, the \
                    toolchain, cargo's registry and system directories are readable"
                    .to_string(),
            }).map_err(|e| format!("reads unconfined: {e}")),
        ),
        from(
            "no host sockets",
            view()
                .map(|()| {
                    "no pathname socket of the host exists in the run's view; abstract ones stay \
                     in the network namespace"
                        .to_string()
                })
                .map_err(|e| format!("{e}; pathname Unix sockets (docker, ssh-agent, D-Bus) are reachable")),
        ),
        from(
            "no terminal",
            found.no_terminal.clone().map(|()| {
                "a session of its own without a controlling terminal; stdin is /dev/null".to_string()
            }),
        ),
        from(
            "no writes outside the sandbox",
            match found.reads {
                Ok(ReadConfinement::View) => Ok("its own filesystem view is read-only but for the \
                    copy, its target dir and a private tmp".to_string()),
                _ => found.landlock_abi.clone().map(|abi| {
                    format!("Landlock ABI {abi}: writes only below the copy, its target dir and a private tmp")
                }),
            },
        ),
        from(
            "no planting in the shared build cache",
            found.cache_overlay.clone().map(|()| {
                "a candidate's writes to the cache land in an overlay of its own sandbox and go \
                 with it; only the build of the untouched crate fills the cache"
                    .to_string()
            }).map_err(|e| format!("{e}: the build cache is writable by candidates, so what one leaves there a later run may execute")),
        ),
        from(
            "no root privileges",
            found.privileges.clone().map(|dropped| match dropped {
                Some(_) => "kiln runs as root: every capability is dropped, the bounding set too".to_string(),
                None => "kiln does not run as root".to_string(),
            }),
        ),
        from(
            "no reading kiln's memory or environment",
            // Landlock refuses ptrace-class access (/proc/PID/environ, mem) to
            // processes outside the sandbox, but not to a holder of
            // CAP_SYS_PTRACE: both are needed. A pid namespace with its own /proc hides kiln
            // altogether.
            found
                .landlock_abi
                .clone()
                .and_then(|_| found.privileges.clone().map(|_| ()))
                .map(|()| match view() {
                    Ok(()) => "kiln is not in the run's pid namespace or its /proc; Landlock denies ptrace of processes outside; no CAP_SYS_PTRACE".to_string(),
                    Err(_) => "Landlock denies /proc/PID/environ, mem and ptrace of processes outside the sandbox; no CAP_SYS_PTRACE".to_string(),
                }),
        ),
    ]
}

/// How much a run may use, and how long it and its processes may live.
fn limits(found: &Mechanisms) -> Vec<Protection> {
    let rlimit = |what: &str| found.rlimits.clone().map(|()| format!("setrlimit({what})"));
    let cgroup = |what: &str| found.pids_cgroup.clone().map(|()| what.to_string());
    vec![
        from("cpu time limit", rlimit("RLIMIT_CPU")),
        from("memory limit", rlimit("RLIMIT_DATA")),
        from("file size limit", rlimit("RLIMIT_FSIZE")),
        from(
            "process limit",
            cgroup("pids.max of a pids cgroup per run").or_else(|cgroup_error| {
                found
                    .nproc_in_user_namespace
                    .clone()
                    .map(|()| "RLIMIT_NPROC, counted in the run's own user namespace".to_string())
                    .map_err(|nproc_error| format!("{cgroup_error}; {nproc_error}"))
            }),
        ),
        from(
            "no process outlives its run",
            found
                .pid_namespace
                .clone()
                .map(|()| {
                    "a pid namespace per run: when its first process ends, the kernel kills every \
                     other, also after setsid"
                        .to_string()
                })
                .or_else(|pid_error| {
                    cgroup("every process in the run's cgroup is killed, also after setsid")
                        .map_err(|e| format!("no pid namespace ({pid_error}); {e}; only the process group is killed, which setsid escapes"))
                }),
        ),
        from(
            "the run dies with kiln",
            found.pid_namespace.clone().map(|()| {
                "its first process has a death signal tied to kiln, and takes its pid namespace \
                 with it"
                    .to_string()
            }).map_err(|e| format!("no pid namespace ({e}): a run outlives a kill -9 of kiln")),
        ),
    ]
}
