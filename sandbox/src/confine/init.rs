//! Tying a run's lifetime to kiln's: the run dies with kiln, whatever kills kiln.
//!
//! The process kiln spawns asks for `SIGKILL` when its parent dies (`PR_SET_PDEATHSIG`). With a
//! pid namespace, it then forks once more: the child becomes init of the new namespace and goes
//! on to exec cargo; the parent stays behind as a *keeper* that only waits for it and passes its
//! exit status on. The keeper is what kiln sees as its child, so kiln's wait, kill and process
//! group work unchanged. When kiln dies the keeper gets `SIGKILL`; init has its own death signal
//! tied to the keeper; and when init dies the kernel kills every other process of the namespace,
//! those that called `setsid` or double-forked included.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked exits, not the process. kiln spawns
//! from tokio worker threads, which live as long as the runtime, and a run never outlives the
//! runtime that awaits it; so the signal fires exactly when kiln goes away.
//!
//! init is cargo itself, which never relies on a signal's default action. A test binary started
//! without cargo does (`abort()` raises `SIGABRT`), but the kernel drops signals to a namespace's
//! init that it has no handler for: there, init forks once more and stays a *reaper* that waits
//! for the test and hands its wait status to the keeper through a pipe, since init cannot die of
//! that signal itself.
//!
//! Everything here runs in the forked child before exec: prctl, pipe, fork, poll, waitpid, close
//! and `_exit`, no allocation.

use std::io;

/// Asks for `SIGKILL` when the parent dies, then checks that the parent is still `parent`: if it
/// died before the request took effect, the signal will never come, so leave now.
pub(crate) fn die_with_parent(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: prctl and getppid take and return integers.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
    Ok(())
}

/// Forks after `unshare(CLONE_NEWPID)`. Returns in the child, now pid 1 of the new namespace
/// (or, with `reaper`, in a child of that pid 1); the parent becomes the keeper and never
/// returns.
pub(crate) fn split(reaper: bool) -> io::Result<()> {
    // Init's report of the status of the process it reaps for: written by init, read by the
    // keeper.
    let mut reaped = [-1 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    if reaper && unsafe { libc::pipe2(reaped.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The keeper holds the write end; init polls the read end to learn whether the keeper
    // died before init's own death signal was set (getppid() says 0 across the namespace).
    let mut alive = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    if unsafe { libc::pipe2(alive.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let [read_end, write_end] = alive;
    // SAFETY: fork in a single-threaded child (the one std forked); both sides only make
    // async-signal-safe calls afterwards.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        keep(pid, [write_end, reaped[0]]);
    }
    // SAFETY: prctl, close and poll on fds we own.
    unsafe {
        libc::close(write_end);
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut watch = libc::pollfd {
            fd: read_end,
            events: libc::POLLIN,
            revents: 0,
        };
        if libc::poll(&mut watch, 1, 0) != 0 {
            // Hung up (or readable, which the keeper never makes it): the keeper is gone.
            libc::_exit(1);
        }
        // The read end is close-on-exec: it goes away when init execs cargo.
    }
    if reaper {
        reap_for_child(reaped[1])?;
    }
    Ok(())
}

/// Forks the process that goes on to exec; stays behind as init, reaping every process of the
/// namespace until that one ends, and writes its wait status to `report`.
fn reap_for_child(report: libc::c_int) -> io::Result<()> {
    // SAFETY: fork in the single-threaded init; both sides only make async-signal-safe calls.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(io::Error::last_os_error());
    }
    if child == 0 {
        return Ok(());
    }
    // SAFETY: close_range, waitpid, write and _exit on integers and our stack-local status.
    unsafe {
        close_all_but([report, -1]);
        let mut status = 0;
        loop {
            let waited = libc::waitpid(-1, &mut status, 0);
            if waited == child {
                break;
            }
            if waited < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(127);
            }
        }
        let bytes = status.to_ne_bytes();
        libc::write(report, bytes.as_ptr().cast(), bytes.len());
        libc::_exit(0);
    }
}

/// Closes every fd but those in `keep` (`-1` for none).
///
/// # Safety
/// Only for a process that owns no fd it still needs besides `keep`.
unsafe fn close_all_but(keep: [libc::c_int; 2]) {
    let [low, high] = if keep[0] <= keep[1] {
        keep
    } else {
        [keep[1], keep[0]]
    };
    let mut from: libc::c_int = 0;
    for fd in [low, high] {
        if fd >= from {
            if fd > from {
                libc::syscall(libc::SYS_close_range, from as u32, (fd - 1) as u32, 0u32);
            }
            from = fd + 1;
        }
    }
    libc::syscall(libc::SYS_close_range, from as u32, u32::MAX, 0u32);
}

/// The keeper: closes every fd but `keep`, its end of the liveness pipe and the read end of
/// init's report (among them std's pipe that reports whether exec worked, which kiln's spawn
/// waits on, and the output pipes), waits for init and exits as it, or the process it reaped
/// for, did.
fn keep(init: libc::pid_t, keep: [libc::c_int; 2]) -> ! {
    // SAFETY: close_range, waitpid, read, signal, kill and _exit take integers and pointers to
    // our stack-local status.
    unsafe {
        close_all_but(keep);
        let mut status = 0;
        loop {
            let waited = libc::waitpid(init, &mut status, 0);
            if waited == init {
                break;
            }
            if waited < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(127);
            }
        }
        let mut reaped = [0u8; 4];
        if keep[1] >= 0
            && libc::read(keep[1], reaped.as_mut_ptr().cast(), reaped.len())
                == reaped.len() as isize
        {
            status = libc::c_int::from_ne_bytes(reaped);
        }
        if libc::WIFSIGNALED(status) {
            // Die of the same signal, so kiln reads the same status as if it had waited for
            // cargo itself (a SIGXCPU, a SIGKILL of the memory limit).
            let signal = libc::WTERMSIG(status);
            libc::signal(signal, libc::SIG_DFL);
            libc::kill(libc::getpid(), signal);
            libc::_exit(128 + signal);
        }
        libc::_exit(libc::WEXITSTATUS(status));
    }
}
