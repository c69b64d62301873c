//! No network: the run gets a fresh network namespace whose only interface is
//! its own loopback. Every connect beyond it fails with ENETUNREACH; 127.0.0.1
//! reaches only the run's own processes (a server crate's tests that bind a
//! local port still work), never the user's machine.
//!
//! Root may unshare the network namespace directly. Anyone else first needs
//! a user namespace, in which the process maps its own uid and gid to
//! themselves (so files it creates keep the user's ownership).

use std::io;

use super::write_in_child;

/// How to enter a network namespace, prepared in the parent.
#[derive(Debug, Clone)]
pub(crate) enum NetNamespace {
    /// We are root (CAP_SYS_ADMIN): a plain `unshare(CLONE_NEWNET)`.
    Privileged,
    /// Through a user namespace, writing these maps.
    ViaUserNamespace { uid_map: Vec<u8>, gid_map: Vec<u8> },
}

impl NetNamespace {
    /// The way that fits the current process's privileges.
    pub(crate) fn for_current_user() -> NetNamespace {
        if super::is_root() {
            NetNamespace::Privileged
        } else {
            // SAFETY: geteuid/getegid cannot fail and touch no memory.
            let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            NetNamespace::ViaUserNamespace {
                uid_map: format!("{uid} {uid} 1").into_bytes(),
                gid_map: format!("{gid} {gid} 1").into_bytes(),
            }
        }
    }

    /// Moves the calling process into a new network namespace.
    ///
    /// Runs in the forked child before exec: unshare, open/write/close on
    /// static paths and prepared buffers, no allocation.
    pub(crate) fn enter(&self) -> io::Result<()> {
        match self {
            NetNamespace::Privileged => unshare(libc::CLONE_NEWNET)?,
            NetNamespace::ViaUserNamespace { uid_map, gid_map } => {
                unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET)?;
                // An unprivileged gid_map write requires setgroups denied.
                write_in_child(c"/proc/self/setgroups", b"deny")?;
                write_in_child(c"/proc/self/uid_map", uid_map)?;
                write_in_child(c"/proc/self/gid_map", gid_map)?;
            }
        }
        // Without it the run is still isolated, only its tests cannot use 127.0.0.1: not a
        // reason to refuse the run.
        let _ = loopback_up();
        Ok(())
    }
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

fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes an integer.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
