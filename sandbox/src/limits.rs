//! Per-process resource limits (rlimits) for cargo and everything it starts.
//!
//! rlimits are inherited across fork and exec, so setting them once in the
//! child before `exec("cargo")` covers rustc, build scripts and the tests.
//! They are per *process*: the process count is bounded separately (a pids
//! cgroup, see `confine::cgroup`), because `RLIMIT_NPROC` counts all of the
//! user's processes and is not enforced at all for root.

use std::io;
use std::time::Duration;

/// Default CPU seconds per process. A backstop for spinning code that
/// outlives the wall-clock kill; far above what one rustc of a small crate
/// needs, and the wall-clock timeout normally fires first.
pub const DEFAULT_CPU_TIME_SECS: u64 = 600;
/// Extra CPU seconds between the soft limit (SIGXCPU, which names the cause
/// in cargo's report) and the hard limit (SIGKILL, for code that catches
/// SIGXCPU). Equal limits would deliver SIGKILL first and hide the cause.
const CPU_HARD_GRACE_SECS: u64 = 1;
/// Default cap on each process's data segment (heap and private writable
/// mappings, `RLIMIT_DATA`). We cap data rather than address space
/// (`RLIMIT_AS`) because address space also counts reservations that use no
/// memory: glibc's per-thread malloc arenas (64 MiB each), stack guard
/// areas, mapped files. Measured here on a crate with 26 packages: rustc
/// peaked at 1.1 GiB of address space (VmPeak) for 0.4 GiB of data (VmData)
/// and 0.4 GiB resident. 8 GiB of data per process stops a test that
/// allocates without bound (these machines have 24 GiB) and leaves rustc and the
/// linker ample room on large crates.
pub const DEFAULT_MEMORY_BYTES: u64 = 8 << 30;
/// Largest file the child may write. Stops a runaway test from filling the
/// disk; a debug rlib or test binary of a large crate stays far below it.
pub const DEFAULT_FILE_SIZE_BYTES: u64 = 1 << 30;
/// Default cap on live processes and threads in the sandbox's pids cgroup.
/// cargo runs one rustc per core, each with a few dozen threads, and libtest
/// one thread per test; 512 leaves room for that and stops a fork bomb.
pub const DEFAULT_MAX_PROCESSES: u64 = 512;

/// Resource limits for every process of one cargo run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `RLIMIT_CPU`: CPU time per process; exceeding it sends `SIGXCPU`.
    pub cpu_time: Duration,
    /// `RLIMIT_DATA`: per process; allocations beyond it fail.
    pub memory_bytes: u64,
    /// `RLIMIT_FSIZE`: per file; writing beyond it sends `SIGXFSZ`.
    pub file_size_bytes: u64,
    /// `pids.max` of the run's cgroup (processes and threads together), where
    /// a pids cgroup is available.
    pub max_processes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu_time: Duration::from_secs(DEFAULT_CPU_TIME_SECS),
            memory_bytes: DEFAULT_MEMORY_BYTES,
            file_size_bytes: DEFAULT_FILE_SIZE_BYTES,
            max_processes: DEFAULT_MAX_PROCESSES,
        }
    }
}

/// Applies the rlimits (and disables core dumps) in the calling process.
///
/// Runs in the forked child before exec: only getrlimit/setrlimit (thin
/// syscall wrappers: no locks, no allocation) on stack-local structs.
pub(crate) fn apply_rlimits(limits: &Limits) -> io::Result<()> {
    let cpu_secs = limits.cpu_time.as_secs().max(1);
    // No core dumps: they are large and may contain whatever the crashing
    // process had in memory.
    for (resource, soft, hard) in [
        (libc::RLIMIT_CPU, cpu_secs, cpu_secs + CPU_HARD_GRACE_SECS),
        (libc::RLIMIT_DATA, limits.memory_bytes, limits.memory_bytes),
        (
            libc::RLIMIT_FSIZE,
            limits.file_size_bytes,
            limits.file_size_bytes,
        ),
        (libc::RLIMIT_CORE, 0, 0),
    ] {
        lower_limit(resource, soft, hard)?;
    }
    Ok(())
}

/// Caps the processes (and threads) of the calling user with `RLIMIT_NPROC`.
/// Only meaningful inside a fresh user namespace, where the kernel counts
/// them per namespace; see `confine::Mechanisms::nproc_in_user_namespace`.
/// Runs in the forked child before exec, like [`apply_rlimits`].
pub(crate) fn limit_processes(max_processes: u64) -> io::Result<()> {
    lower_limit(libc::RLIMIT_NPROC, max_processes, max_processes)
}

/// Sets the soft and the hard limit of `resource`, each capped at the
/// current hard limit if that is already lower: raising a hard limit someone
/// else lowered fails with EPERM.
fn lower_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(resource, &mut current) != 0 {
            return Err(io::Error::last_os_error());
        }
        let new = libc::rlimit {
            rlim_cur: soft.min(current.rlim_max),
            rlim_max: hard.min(current.rlim_max),
        };
        if libc::setrlimit(resource, &new) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
