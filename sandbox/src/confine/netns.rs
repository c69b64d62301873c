//! No network: the run gets a fresh network namespace with no interface but
//! a loopback that is down, so every connect fails with ENETUNREACH, even to
//! 127.0.0.1.
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
            NetNamespace::Privileged => unshare(libc::CLONE_NEWNET),
            NetNamespace::ViaUserNamespace { uid_map, gid_map } => {
                unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET)?;
                // An unprivileged gid_map write requires setgroups denied.
                write_in_child(c"/proc/self/setgroups", b"deny")?;
                write_in_child(c"/proc/self/uid_map", uid_map)?;
                write_in_child(c"/proc/self/gid_map", gid_map)
            }
        }
    }
}

fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare takes an integer.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
