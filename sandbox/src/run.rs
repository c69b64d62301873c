//! Spawning cargo with limits, streaming its output, and enforcing the
//! wall-clock timeout.
//!
//! Cargo runs in a session and process group of its own so that one `killpg` reaches cargo,
//! rustc, build scripts, the test binaries and anything they spawned. Code that calls `setsid`
//! escapes the group but not the run's pid namespace or pids cgroup, which end it too where the
//! machine has them (see [`crate::confine`]).

use std::ffi::{CString, OsStr};
use std::io;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::process::Command;
use tokio::time::Instant;

use crate::clean::{clean_progress, Redactor};
use crate::collect::{Collector, Termination};
use crate::confine::overlay::OverlayMount;
use crate::confine::view::Visible;
use crate::confine::{ChildSetup, Confinement};
use crate::direct::{self, TestBinary};
use crate::env::{child_env_from_process, ChildDirs};
use crate::limits::Limits;
use crate::lines::LineSplitter;
use crate::report::RunReport;
use crate::{Error, Progress, Result, TestArgs};

/// Read size for the stdout/stderr pipes.
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// After cargo exits, how long we keep reading pipes that a straggler (a
/// process that left the group) may still hold open before giving up.
const DRAIN_GRACE: Duration = Duration::from_millis(2_000);
/// After SIGKILL, how long we wait for cargo's exit to become observable.
/// Only exceeded if a process is stuck in uninterruptible sleep.
const REAP_GRACE: Duration = Duration::from_millis(5_000);

/// The niceness of work made ahead (see [`RunPlan::in_background`]): the lowest priority.
const BACKGROUND_NICENESS: libc::c_int = 19;

/// Everything a run needs from the [`crate::Sandbox`].
pub(crate) struct RunPlan<'a> {
    pub(crate) crate_dir: &'a Path,
    pub(crate) home_dir: &'a Path,
    pub(crate) tmp_dir: &'a Path,
    pub(crate) target_dir: &'a Path,
    /// What the run may see and write (see [`crate::confine::view`]).
    pub(crate) visible: &'a Visible,
    /// An empty directory the run's filesystem view is built on.
    pub(crate) view_root: &'a Path,
    /// The sandbox's overlay of the shared build cache, mounted at its first use.
    pub(crate) overlay_mount: &'a OverlayMount,
    pub(crate) timeout: Duration,
    pub(crate) output_cap_bytes: usize,
    pub(crate) limits: &'a Limits,
    /// Variables the caller adds on top of the scrubbed environment.
    pub(crate) extra_env: &'a [(String, String)],
    pub(crate) redactor: &'a Redactor,
    /// `cargo test --no-run`: build the test targets, run nothing.
    pub(crate) build_only: bool,
    /// Work made ahead of need, beside a run someone waits for: at the lowest CPU priority, so
    /// it takes only what that run leaves of the machine.
    pub(crate) in_background: bool,
    /// The caller's own cargo arguments (features).
    pub(crate) cargo_args: &'a [String],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// We sent SIGKILL at the deadline and are waiting for the exit.
    Killed,
}

/// SIGKILLs the process group on drop (e.g. when the caller drops the
/// `cargo_test` future mid-run), unless disarmed.
///
/// The group id stays valid while cargo is unreaped (it is the group leader),
/// so killing before reaping can never hit an unrelated group. After reaping
/// we kill once more for stragglers and disarm: the id cannot be recycled as a
/// *group* id while stragglers exist, and if none exist the kill is a no-op
/// barring a pid wrap-around within microseconds.
struct GroupKiller {
    pgid: libc::pid_t,
    armed: bool,
}

impl GroupKiller {
    fn kill(&self) {
        if self.armed {
            // SAFETY: killpg takes two integers and touches no memory of ours.
            // ESRCH (group already gone) is expected and harmless.
            unsafe {
                libc::killpg(self.pgid, libc::SIGKILL);
            }
        }
    }

    fn kill_and_disarm(&mut self) {
        self.kill();
        self.armed = false;
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Prepares the confinement of one run of `plan` (see [`Confinement::prepare`]).
pub(crate) fn prepare_confinement(plan: &RunPlan<'_>) -> Result<Confinement> {
    Confinement::prepare(
        plan.visible,
        plan.view_root,
        plan.limits,
        plan.overlay_mount,
    )
    .map_err(Error::Spawn)
}

/// Runs `cargo test` as described in [`crate::Sandbox::cargo_test`]; with the report come the
/// test binaries it built, when they can stand in for a later run (see [`direct::record`]).
pub(crate) async fn cargo_test(
    plan: &RunPlan<'_>,
    args: &TestArgs,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(RunReport, Option<Vec<TestBinary>>)> {
    let started = Instant::now();
    let confinement = prepare_confinement(plan)?;
    let seen_at = confinement.relocated_to().unwrap_or(plan.crate_dir);
    let mut collector = Collector::new(seen_at.to_path_buf(), plan.output_cap_bytes);
    let command = cargo_command(plan, args, confinement.child_setup());
    let termination = run_confined(
        command,
        &confinement,
        &mut collector,
        started + plan.timeout,
        plan.redactor,
        on_progress,
    )
    .await?;
    let binaries = collector
        .take_built()
        .and_then(|built| direct::record(built, plan, args, &confinement));
    let report = collector.finish(termination, started.into_std(), plan.redactor);
    Ok((report, binaries))
}

/// Starts `command` (made by [`confined_command`] with `confinement`'s setup), feeds its output
/// to `collector` and waits for it, killing it and everything it started at `deadline`.
pub(crate) async fn run_confined(
    mut command: Command,
    confinement: &Confinement,
    collector: &mut Collector,
    deadline: Instant,
    redactor: &Redactor,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Termination> {
    let mut child = command.spawn().map_err(Error::Spawn)?;
    let pgid = child
        .id()
        .and_then(|pid| libc::pid_t::try_from(pid).ok())
        .ok_or_else(|| Error::Spawn(io::Error::other("the child's pid is unavailable")))?;
    let mut group = GroupKiller { pgid, armed: true };
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(Error::Spawn(io::Error::other(
            "the child's output pipes are missing",
        )));
    };

    let mut on_progress = |progress: Progress| on_progress(clean_progress(progress, redactor));
    let (mut out_lines, mut err_lines) = (LineSplitter::new(), LineSplitter::new());
    let (mut out_buf, mut err_buf) = (vec![0u8; READ_CHUNK_BYTES], vec![0u8; READ_CHUNK_BYTES]);
    let (mut out_open, mut err_open) = (true, true);
    let mut phase = Phase::Running;
    let mut termination: Option<Termination> = None;
    let deadline = tokio::time::sleep_until(deadline);
    tokio::pin!(deadline);

    while out_open || err_open || termination.is_none() {
        tokio::select! {
            read = stdout.read(&mut out_buf), if out_open => {
                let mut on_line = |line: &str| collector.stdout_line(line, &mut on_progress);
                match read {
                    Ok(n) if n > 0 => out_lines.push(&out_buf[..n], &mut on_line),
                    _ => {
                        out_open = false;
                        out_lines.finish(&mut on_line);
                    }
                }
            }
            read = stderr.read(&mut err_buf), if err_open => {
                let mut on_line = |line: &str| collector.stderr_line(line, &mut on_progress);
                match read {
                    Ok(n) if n > 0 => err_lines.push(&err_buf[..n], &mut on_line),
                    _ => {
                        err_open = false;
                        err_lines.finish(&mut on_line);
                    }
                }
            }
            status = child.wait(), if termination.is_none() => {
                let status = status.map_err(Error::Wait)?;
                // The child is done; anything left in its group or cgroup is
                // a straggler.
                group.kill_and_disarm();
                confinement.kill_all();
                termination = Some(match phase {
                    Phase::Running => Termination::Exited(status),
                    Phase::Killed => Termination::TimedOut,
                });
                deadline.as_mut().reset(Instant::now() + DRAIN_GRACE);
            }
            () = &mut deadline => {
                if termination.is_some() {
                    // Something outside the group still holds our pipes.
                    break;
                }
                match phase {
                    Phase::Running => {
                        group.kill();
                        confinement.kill_all();
                        phase = Phase::Killed;
                        deadline.as_mut().reset(Instant::now() + REAP_GRACE);
                    }
                    Phase::Killed => {
                        // Still not reaped after SIGKILL (stuck in the
                        // kernel); the guard kills again on drop and tokio
                        // reaps it in the background.
                        termination = Some(Termination::TimedOut);
                        break;
                    }
                }
            }
        }
    }

    // The loop only ends with `termination` set; TimedOut is the safe reading.
    Ok(termination.unwrap_or(Termination::TimedOut))
}

fn cargo_command(plan: &RunPlan<'_>, args: &TestArgs, setup: ChildSetup) -> Command {
    let mut command = confined_command(OsStr::new("cargo"), plan, setup, None);
    // --offline: the run has no network anyway; dependencies were fetched
    // outside the sandbox when it was created.
    command
        .arg("test")
        .arg("--offline")
        .args(&args.target_flags)
        .args(plan.cargo_args)
        .args(plan.build_only.then_some("--no-run"))
        .arg("--message-format=json");
    if let Some(filter) = &args.filter {
        command.arg("--").arg(filter);
    }
    command
}

/// `program` set up as every process kiln starts for a run: in the copy, with the scrubbed
/// environment and `plan`'s extra variables, no stdin, piped output, and `setup` applied between
/// fork and exec; then, when `cwd` is given, in that directory as the run sees it (inside its
/// filesystem view, where the copy may be shown elsewhere than on the host).
pub(crate) fn confined_command(
    program: &OsStr,
    plan: &RunPlan<'_>,
    setup: ChildSetup,
    cwd: Option<CString>,
) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(plan.crate_dir)
        .env_clear()
        .envs(child_env_from_process(&ChildDirs {
            home: plan.home_dir,
            tmp: plan.tmp_dir,
            target: plan.target_dir,
        }))
        .envs(plan.extra_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The session (and process group) of its own is made in `ChildSetup::apply`.
        .kill_on_drop(true);
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe operations are allowed; `ChildSetup::apply` only
    // makes raw syscalls on data prepared in the parent, and chdir takes the
    // string prepared here.
    let background = plan.in_background;
    unsafe {
        command.pre_exec(move || {
            // Inherited by everything the run starts. Lowering one's own priority needs no
            // privilege, and a failure only leaves the work at the normal priority.
            if background {
                libc::setpriority(libc::PRIO_PROCESS as _, 0, BACKGROUND_NICENESS);
            }
            setup.apply()?;
            if let Some(cwd) = &cwd {
                if libc::chdir(cwd.as_ptr()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command
}
