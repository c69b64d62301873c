//! The shared build cache seen through an overlay of the sandbox's own (see [`Overlay`]),
//! mounted once per sandbox and held in a mount namespace of its own (see [`HeldOverlay`]).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use super::namespaces::{Joined, Namespaces};
use super::view::{c_path, mount};
use super::{current_pid, init};

/// The shared build cache as a candidate's run sees it: an overlay whose lower layer is the
/// cache and whose upper layer is the sandbox's own. cargo reads every artefact the cache has and
/// writes new ones, but what a candidate writes (a planted build script, a doctored rlib) lands
/// in the upper layer and goes with the sandbox: a later run never executes it. A per-run copy
/// of the cache would cost seconds; checking the cache after each run cannot tell a planted file
/// from one of cargo's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overlay {
    /// The cache, shown at its own path.
    pub(crate) shown: PathBuf,
    /// Empty directories of the sandbox, on the same filesystem as each other.
    pub(crate) upper: PathBuf,
    pub(crate) work: PathBuf,
}

impl Overlay {
    /// Whether `path` can be named in overlayfs's mount options: its parser splits on `,` and
    /// takes `:` as a layer separator, and a backslash is its escape.
    pub(crate) fn layerable(path: &Path) -> bool {
        path.to_str()
            .is_some_and(|text| !text.contains([',', ':', '\\']))
    }

    /// The mount options; `volatile` adds overlayfs's option of that name (see [`HeldOverlay`]).
    fn options(&self, volatile: bool) -> io::Result<CString> {
        for path in [&self.shown, &self.upper, &self.work] {
            if !Overlay::layerable(path) {
                return Err(io::Error::other(format!(
                    "{} cannot be an overlay layer: its path holds ',', ':' or '\\' (or is not UTF-8)",
                    path.display()
                )));
            }
        }
        CString::new(format!(
            "lowerdir={},upperdir={},workdir={}{}",
            self.shown.display(),
            self.upper.display(),
            self.work.display(),
            if volatile { ",volatile" } else { "" }
        ))
        .map_err(|_| io::Error::other("an overlay path contains a NUL byte"))
    }
}

/// An [`Overlay`] mounted once, in a mount namespace that only kiln holds (by an open
/// `/proc/PID/ns/mnt`, with the user namespace it belongs to for a user who is not root). Each run
/// joins that namespace, makes its own copy of it and binds the mounted overlay into its view.
///
/// Why not mount it for every run: a fresh overlay starts with nothing in its dentry and inode
/// caches, so each cargo run paid ~60 ms for its fingerprint checks to look every artefact up
/// through both layers again (the repair-round bench read 1.27-1.29x the in-place `cargo test`
/// with an overlay per run, 1.11-1.18x with this one per sandbox). Runs of one sandbox share its upper layer anyway; what stays per run is the
/// view, the pid, network and mount namespaces, and the copy of the mount that the run can unmount
/// without touching the held one.
///
/// Mounted `volatile` where the kernel has it (5.10 on): overlayfs then skips its fsyncs, which
/// made copying a file up to the upper layer ~6x slower (498 incremental-compilation files of
/// clap_builder, 95 MB: 1.6 s synced, 0.28 s volatile). rustc hard-links its whole previous
/// incremental session into a new one on every build, so the first build of each sandbox copies
/// all of it up. The price of volatile is that the upper layer is lost in a crash, and the upper
/// layer is thrown away with the sandbox anyway.
///
/// The namespace is made by a short-lived `cat` that unshares and mounts between fork and exec;
/// kiln opens its namespace files and kills it at once. Nothing is left running, nothing shows in
/// the host's mount table, and closing the files (dropping this) unmounts the overlay.
#[derive(Debug)]
pub(crate) struct HeldOverlay {
    user: Option<OwnedFd>,
    mount: OwnedFd,
}

impl HeldOverlay {
    pub(crate) fn hold(overlay: &Overlay) -> io::Result<HeldOverlay> {
        let volatile = overlay.options(true)?;
        let synced = overlay.options(false)?;
        let target = c_path(&overlay.shown)?;
        let namespaces = Namespaces::for_current_user(false, true, false);
        let creates_user = namespaces.via_user_namespace();
        let parent = current_pid();
        let mut holder = Command::new("cat");
        holder
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: the closure makes only async-signal-safe syscalls on prepared strings.
        unsafe {
            holder.pre_exec(move || {
                if libc::setsid() < 0 {
                    return Err(io::Error::last_os_error());
                }
                init::die_with_parent(parent)?;
                namespaces.unshare()?;
                mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;
                let mount_with = |options: &CString| {
                    mount(
                        Some(c"kiln-cache"),
                        &target,
                        Some(c"overlay"),
                        libc::MS_NOSUID | libc::MS_NODEV,
                        Some(options),
                    )
                };
                // EINVAL: a kernel before 5.10, which does not know `volatile`.
                match mount_with(&volatile) {
                    Err(error) if error.raw_os_error() == Some(libc::EINVAL) => mount_with(&synced),
                    mounted => mounted,
                }
            });
        }
        // spawn returns once the child has exec'd, so the namespace is ready, or with the error
        // of the step that failed.
        let mut child = holder.spawn()?;
        let opened = (|| {
            let ns = |name: &str| {
                std::fs::File::open(format!("/proc/{}/ns/{name}", child.id())).map(OwnedFd::from)
            };
            Ok::<_, io::Error>(HeldOverlay {
                user: creates_user.then(|| ns("user")).transpose()?,
                mount: ns("mnt")?,
            })
        })();
        let _ = child.kill();
        let _ = child.wait();
        opened
    }

    pub(crate) fn joined(&self) -> Joined {
        Joined {
            user: self.user.as_ref().map(|fd| fd.as_raw_fd()),
            mount: self.mount.as_raw_fd(),
        }
    }
}

/// A sandbox's [`HeldOverlay`]: mounted by the first run that needs it, after the untouched build
/// has filled the cache, and released before the sandbox's tree is removed.
#[derive(Debug, Default)]
pub(crate) struct OverlayMount {
    held: Mutex<Option<Arc<HeldOverlay>>>,
}

impl OverlayMount {
    pub(crate) fn get(&self, overlay: &Overlay) -> io::Result<Arc<HeldOverlay>> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(held) = held.as_ref() {
            return Ok(Arc::clone(held));
        }
        let mounted = Arc::new(HeldOverlay::hold(overlay)?);
        *held = Some(Arc::clone(&mounted));
        Ok(mounted)
    }

    /// Unmounts the overlay (once no run holds it).
    pub(crate) fn release(&self) {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }
}
