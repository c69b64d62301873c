//! Which protections this machine actually gives a sandboxed run.
//!
//! Each kernel mechanism was tried on a real child process (see
//! `confine::mechanisms`); a protection is reported active only if that try
//! worked, and the same mechanisms are what every run then uses.

use serde::Serialize;

use crate::confine::{mechanisms, NetIsolation};

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
    let always = |name, via: &str| Protection {
        name,
        status: ProtectionStatus::Active { via: via.into() },
    };
    let from = |name, result: Result<String, String>| Protection {
        name,
        status: match result {
            Ok(via) => ProtectionStatus::Active { via },
            Err(reason) => ProtectionStatus::Unavailable { reason },
        },
    };
    let rlimit = |what: &str| found.rlimits.clone().map(|()| format!("setrlimit({what})"));
    let cgroup = |what: &str| found.pids_cgroup.clone().map(|()| what.to_string());
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
        from(
            "no network",
            found.net.clone().map(|net| match net {
                NetIsolation::Namespace(_) => "an empty network namespace".to_string(),
                NetIsolation::LandlockTcp => {
                    "Landlock denies TCP connect and bind (UDP is not blocked)".to_string()
                }
            }),
        ),
        from(
            "no writes outside the sandbox",
            found.landlock_abi.clone().map(|abi| {
                format!("Landlock ABI {abi}: writes only below the copy, its target dir and a private tmp")
            }),
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
            // CAP_SYS_PTRACE: both are needed.
            found
                .landlock_abi
                .clone()
                .and_then(|_| found.privileges.clone().map(|_| ()))
                .map(|()| "Landlock denies /proc/PID/environ, mem and ptrace of processes outside the sandbox; no CAP_SYS_PTRACE".to_string()),
        ),
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
            cgroup("every process in the run's cgroup is killed, also after setsid")
                .map_err(|e| format!("{e}; only the process group is killed, which setsid escapes")),
        ),
    ]
}
