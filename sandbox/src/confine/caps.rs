//! Dropping every capability, for when kiln runs as root.
//!
//! A root candidate could otherwise undo the rest: read any process's
//! `/proc/PID/environ` (kiln's, with the API key: Landlock's ptrace rule does
//! not stop CAP_SYS_PTRACE there), remount, or load modules. uid 0 regains
//! all capabilities at exec unless the bounding set is empty, so we clear the
//! bounding set, the ambient set, then the current sets.

use std::io;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit capability sets in two 32-bit words.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The highest capability number this kernel knows.
pub(crate) fn last_cap() -> io::Result<u32> {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")?
        .trim()
        .parse()
        .map_err(io::Error::other)
}

/// Drops all capabilities of the calling process and of what it execs.
///
/// Runs in the forked child before exec: prctl and capset on stack data.
pub(crate) fn drop_all(last_cap: u32) -> io::Result<()> {
    // SAFETY: prctl and capset take integers and pointers to the stack-local
    // structs below, which outlive the calls.
    unsafe {
        for cap in 0..=last_cap {
            if libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        let mut header = CapHeader {
            version: CAPABILITY_VERSION_3,
            pid: 0,
        };
        let data = [CapData {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
