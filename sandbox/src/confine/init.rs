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

/// Forks after `unshare(CLONE_NEWPID)`. Returns in the child, now pid 1 of the new namespace;
/// the parent becomes the keeper and never returns.
pub(crate) fn split() -> io::Result<()> {
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
        keep(pid, write_end);
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
    Ok(())
}

/// The keeper: closes every fd but its end of the liveness pipe (among them std's pipe that
/// reports whether exec worked, which kiln's spawn waits on, and the output pipes), waits for
/// init and exits as it did.
fn keep(init: libc::pid_t, write_end: libc::c_int) -> ! {
    // SAFETY: close_range, waitpid, signal, kill and _exit take integers and a pointer to our
    // stack-local status.
    unsafe {
        for fd in 0..3 {
            libc::close(fd);
        }
        if write_end > 3 {
            libc::syscall(libc::SYS_close_range, 3u32, (write_end - 1) as u32, 0u32);
        }
        libc::syscall(
            libc::SYS_close_range,
            (write_end + 1) as u32,
            u32::MAX,
            0u32,
        );
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
