//! Landlock rulesets: the run may write only below the paths it owns; may read either
//! everything it can see (inside its own filesystem view, which already holds only what a build
//! needs) or, where there is no view, only the crate, the toolchain and the system; and, where no
//! network namespace is possible, may neither connect nor bind TCP.
//!
//! The ruleset is built in the parent (which may allocate) and only enforced
//! in the forked child with two raw syscalls (see [`restrict_self`]).

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible as _, Ruleset,
    RulesetAttr as _, RulesetCreatedAttr as _, Scope, ABI,
};

/// First ABI with TCP bind/connect rules.
pub(crate) const NET_ABI: i32 = 4;
/// First ABI with scopes (signals and abstract unix sockets stay inside).
const SCOPE_ABI: i32 = 6;
/// The newest ABI this code knows the rights of; newer kernels are asked for
/// this one (they support every older ABI).
const NEWEST_KNOWN_ABI: i32 = 7;
/// Device files every build and test legitimately writes to. Not `/dev/tty`: nothing a build
/// does needs the user's terminal.
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

/// The kernel's Landlock ABI version, or why there is none.
pub(crate) fn kernel_abi() -> Result<i32, String> {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a null attr and size 0
    // only returns the ABI version; it touches no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    if abi < 1 {
        let error = io::Error::last_os_error();
        return Err(format!("the kernel has no Landlock ({error})"));
    }
    i32::try_from(abi).map_err(|_| format!("unexpected Landlock ABI {abi}"))
}

/// What a ruleset restricts.
pub(crate) struct RulesetSpec<'a> {
    pub(crate) abi: i32,
    /// Filesystem rules; `None` inside a filesystem view, whose read-only mounts already confine
    /// writes (and whose bind mounts Landlock's path rules, made on the host's tree before the
    /// view existed, would not recognise).
    pub(crate) fs: Option<FsRules<'a>>,
    /// Deny TCP connect and bind (the fallback when there is no network
    /// namespace). Requires `abi >= NET_ABI`.
    pub(crate) deny_tcp: DenyTcp,
}

pub(crate) struct FsRules<'a> {
    /// Directories (and their contents) the run may write.
    pub(crate) writable: &'a [&'a Path],
    /// Where the run may read: `None` for everywhere, or these paths and their contents (plus
    /// `writable`).
    pub(crate) readable: Option<&'a [PathBuf]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DenyTcp {
    Yes,
    No,
}

/// Builds the ruleset and returns its fd, to be enforced with [`restrict_self`]; `None` when
/// there is nothing for it to restrict. Every requested right is a hard requirement: if the
/// kernel cannot enforce one, this fails rather than half-protect.
pub(crate) fn build(spec: &RulesetSpec<'_>) -> Result<Option<OwnedFd>, String> {
    let abi = ABI::from(spec.abi.min(NEWEST_KNOWN_ABI));
    let scoped = spec.abi >= SCOPE_ABI;
    if spec.fs.is_none() && spec.deny_tcp == DenyTcp::No && !scoped {
        return Ok(None);
    }
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
    if spec.fs.is_some() {
        ruleset = ruleset
            .handle_access(AccessFs::from_all(abi))
            .map_err(|e| e.to_string())?;
    }
    if spec.deny_tcp == DenyTcp::Yes {
        ruleset = ruleset
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .map_err(|e| e.to_string())?;
    }
    if scoped {
        ruleset = ruleset
            .scope(Scope::from_all(abi))
            .map_err(|e| e.to_string())?;
    }
    let mut created = ruleset.create().map_err(|e| e.to_string())?;
    if let Some(fs) = &spec.fs {
        let readable = fs
            .readable
            .map_or_else(|| vec![PathBuf::from("/")], <[PathBuf]>::to_vec);
        created = created
            // Missing paths are skipped by `path_beneath_rules`, which is right:
            // what does not exist cannot be reached through a rule.
            .add_rules(path_beneath_rules(readable, AccessFs::from_read(abi)))
            .map_err(|e| e.to_string())?
            .add_rules(path_beneath_rules(fs.writable, AccessFs::from_all(abi)))
            .map_err(|e| e.to_string())?
            .add_rules(path_beneath_rules(
                WRITABLE_DEVICES,
                AccessFs::from_all(abi),
            ))
            .map_err(|e| e.to_string())?;
    }
    Option::<OwnedFd>::from(created)
        .map(Some)
        .ok_or_else(|| "the kernel did not create a Landlock ruleset".to_string())
}

/// Enforces the ruleset `fd` on the calling process and its descendants.
///
/// Runs in the forked child before exec: prctl and one syscall, no
/// allocation. `no_new_privs` is required by Landlock for unprivileged
/// callers and is right anyway: nothing in a build needs setuid binaries.
pub(crate) fn restrict_self(fd: RawFd) -> io::Result<()> {
    // SAFETY: prctl and the Landlock syscall take integers only.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::syscall(libc::SYS_landlock_restrict_self, fd, 0u32) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
