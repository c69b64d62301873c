//! The namespaces a run lives in, entered in the forked child before exec.
//!
//! - **network**: a fresh namespace whose only interface is its own loopback. Every connect
//!   beyond it fails with ENETUNREACH; 127.0.0.1 reaches only the run's own processes (a server
//!   crate's tests that bind a local port still work), never the user's machine.
//! - **mount**: the run's own filesystem view (see [`super::view`]).
//! - **pid**: the run's first process is init of a pid namespace of its own, so when it dies the
//!   kernel kills every process of the run: `setsid`, double forks and re-parenting included.
//!
//! Root may unshare them directly. Anyone else first needs a user namespace, in which the process
//! maps its own uid and gid to themselves (so files it creates keep the user's ownership).
//!
//! A run that sees the shared build cache through the sandbox's overlay first joins the mount
//! namespace that holds it (and, for a user who is not root, that namespace's user namespace
//! instead of a new one), then unshares from there: see [`super::overlay::HeldOverlay`].

use std::io;
use std::os::fd::RawFd;

use super::write_in_child;

/// Which namespaces to enter, prepared in the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Namespaces {
    /// `None` for root, who needs no user namespace.
    user: Option<UserMaps>,
    pub(crate) net: bool,
    pub(crate) mount: bool,
    pub(crate) pid: bool,
    /// Namespaces to join before unsharing the others.
    join: Option<Joined>,
}

/// Namespace files to `setns` into, as fds kept open by their owner until the child has exec'd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Joined {
    /// Joined instead of creating a user namespace, for a user who is not root.
    pub(crate) user: Option<RawFd>,
    pub(crate) mount: RawFd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct UserMaps {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl Namespaces {
    /// These namespaces, entered the way the current process's privileges allow.
    pub(crate) fn for_current_user(net: bool, mount: bool, pid: bool) -> Namespaces {
        let user = (!super::is_root()).then(|| {
            // SAFETY: geteuid/getegid cannot fail and touch no memory.
            let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            UserMaps {
                uid_map: format!("{uid} {uid} 1").into_bytes(),
                gid_map: format!("{gid} {gid} 1").into_bytes(),
            }
        });
        Namespaces {
            user,
            net,
            mount,
            pid,
            join: None,
        }
    }

    /// The same, entered from the namespaces `joined` names; the run still gets a mount
    /// namespace of its own, copied from the joined one.
    pub(crate) fn joining(self, joined: Joined) -> Namespaces {
        Namespaces {
            mount: true,
            join: Some(joined),
            ..self
        }
    }

    /// Whether entering these makes a user namespace (kiln is not root).
    pub(crate) fn via_user_namespace(&self) -> bool {
        self.user.is_some()
    }

    /// Moves the calling process into the new namespaces. With a pid namespace only the
    /// process's next child is inside it: [`super::init::split`] makes that child.
    ///
    /// Runs in the forked child before exec: unshare, open/write/close on static paths and
    /// prepared buffers, no allocation.
    pub(crate) fn unshare(&self) -> io::Result<()> {
        if let Some(joined) = &self.join {
            if let Some(user) = joined.user {
                setns(user, libc::CLONE_NEWUSER)?;
            }
            setns(joined.mount, libc::CLONE_NEWNS)?;
        }
        let creates_user = self.user.is_some() && self.join.is_none_or(|j| j.user.is_none());
        let mut flags = 0;
        if creates_user {
            flags |= libc::CLONE_NEWUSER;
        }
        if self.net {
            flags |= libc::CLONE_NEWNET;
        }
        if self.mount {
            flags |= libc::CLONE_NEWNS;
        }
        if self.pid {
            flags |= libc::CLONE_NEWPID;
        }
        // SAFETY: unshare takes an integer.
        if unsafe { libc::unshare(flags) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if let Some(maps) = self.user.as_ref().filter(|_| creates_user) {
            // An unprivileged gid_map write requires setgroups denied.
            write_in_child(c"/proc/self/setgroups", b"deny")?;
            write_in_child(c"/proc/self/uid_map", &maps.uid_map)?;
            write_in_child(c"/proc/self/gid_map", &maps.gid_map)?;
        }
        Ok(())
    }

    /// What is left to do once inside: bring up the network namespace's loopback.
    pub(crate) fn finish(&self) {
        if self.net {
            // Without it the run is still isolated, only its tests cannot use 127.0.0.1: not a
            // reason to refuse the run.
            let _ = loopback_up();
        }
    }
}

/// Runs in the forked child before exec: one syscall on an fd its owner keeps open.
fn setns(fd: RawFd, kind: libc::c_int) -> io::Result<()> {
    // SAFETY: setns takes two integers.
    if unsafe { libc::setns(fd, kind) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Brings up the namespace's own `lo` (a new namespace starts with it down).
///
/// Runs in the forked child before exec: a socket and an `ifreq` on the stack,
/// no allocation.
fn loopback_up() -> io::Result<()> {
    // SAFETY: plain syscalls on a socket we own; `ifreq` is zeroed plain data
    // whose name is set within its bounds, and the socket is closed on every path.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo") {
            *slot = *byte as libc::c_char;
        }
        let mut result = Ok(());
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut request) < 0 {
            result = Err(io::Error::last_os_error());
        } else {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS, &request) < 0 {
                result = Err(io::Error::last_os_error());
            }
        }
        libc::close(fd);
        result
    }
}
