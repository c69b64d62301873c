//! What a run sees of the filesystem: a fresh root that holds only what a build needs.
//!
//! Why a mount namespace, not Landlock alone: Landlock (up to ABI 8) confines reads, but not
//! `connect()` to a pathname Unix socket, so `/var/run/docker.sock`, the ssh agent and the D-Bus
//! session bus would stay reachable. A root built from bind mounts, as bubblewrap builds one,
//! answers reads, sockets and `/proc` at once: what is not mounted does not exist for the run.
//! It works as root and, through a user namespace, for any user.
//!
//! The new root is an empty tmpfs. Into it go, at their own absolute paths (so compiler paths,
//! cargo's fingerprints and `CARGO_HOME` stay what the parent computed):
//! - read-only: the system directories (`/usr`, `/lib*`, `/bin`, `/sbin`), the few `/etc` files a
//!   loader, a resolver for `localhost` and a C compiler need, the Rust toolchain and cargo's
//!   registry and git checkouts (not the rest of `CARGO_HOME`: `credentials.toml` is there);
//! - read-write: the sandbox's own tempdir (crate copy, private home and tmp) and the target dir;
//!   a shared build cache through an overlay whose writes stay with the sandbox ([`Overlay`]),
//!   bound from the mount namespace that holds it mounted;
//! - `/tmp` is a fresh tmpfs (`TMPDIR` points at the sandbox's private tmp), `/dev` holds only null, zero, full, random and urandom (no
//!   tty), `/dev/shm` is a fresh tmpfs, `/proc` is a fresh procfs of the run's own pid namespace.
//!
//! Everything is resolved and turned into C strings here, in the parent; the forked child only
//! walks the prepared steps with raw syscalls (see [`View::enter`]).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use super::overlay::Overlay;

/// System trees every build reads. Missing ones are skipped; symlinked ones (`/bin -> usr/bin` on
/// merged-/usr systems) are recreated as the same symlink.
const SYSTEM_TREES: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];
/// The parts of `/etc` a build and its tests need: the dynamic loader's cache, `cc` through
/// Debian's alternatives, name lookup of `localhost`, user and group names, the time zone.
/// Not `/etc/shadow`, not ssh or cloud configuration.
const ETC_ENTRIES: &[&str] = &[
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "gai.conf",
    "protocols",
    "services",
    "passwd",
    "group",
    "localtime",
    "os-release",
];
/// Device nodes bound from the host's `/dev`: the harmless ones. `/dev/tty` is left out on
/// purpose: with it a test could push keystrokes into the user's shell (TIOCSTI).
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];
/// `/dev` links that programs expect, into the run's own `/proc`.
const DEV_LINKS: &[(&str, &str)] = &[
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];
/// tmpfs options: the new root only holds mount points; `/dev/shm` gets room for tests that use
/// shared memory, no more than the memory limit would allow anyway.
const ROOT_TMPFS_OPTIONS: &std::ffi::CStr = c"mode=0755,size=1m";
const SHM_TMPFS_OPTIONS: &std::ffi::CStr = c"mode=1777,size=64m";
/// `/tmp`: as bubblewrap's `--tmpfs /tmp`. Mounted first, so that a sandbox dir below the host's
/// `/tmp` is bound on top of it.
const TMP_TMPFS_OPTIONS: &std::ffi::CStr = c"mode=1777,size=256m";

/// What the run may see, as paths: built from the sandbox and the toolchain, turned into mount
/// steps by [`View::prepare`], and into Landlock read rules where there is no mount namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Visible {
    /// Shown read-only, at the same path.
    pub(crate) read_only: Vec<PathBuf>,
    /// Shown read-write, at the same path.
    pub(crate) writable: Vec<PathBuf>,
    /// The working directory inside the view.
    pub(crate) cwd: Option<PathBuf>,
    /// A directory shown writable whose writes never reach it (see [`Overlay`]).
    pub(crate) overlay: Option<Overlay>,
    /// A writable directory also shown at a second path, which becomes the working directory
    /// when it was `cwd` (see [`Relocated`]).
    pub(crate) relocated: Option<Relocated>,
}

/// The crate copy shown at one fixed path in every sandbox. rustc's incremental-compilation
/// state records the absolute paths of the sources; the copy's own path is new in every sandbox,
/// so the state the untouched build left in the shared cache never matched the next candidate's
/// build, which then recompiled the crate almost from scratch: clap_builder, edit + `cargo test`
/// in place 1.6 s, the same from a copy at another path 6.0 s. Shown at one path, every sandbox of
/// the crate builds from the same paths, and the first candidate's build is as incremental as the
/// in-place one. Only a run in a view can be shown this; elsewhere the copy is at its own path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relocated {
    pub(crate) from: PathBuf,
    pub(crate) to: PathBuf,
}

impl Visible {
    /// The system part every run sees, plus `toolchain` (read-only) and `writable`.
    pub(crate) fn for_run(toolchain: &[PathBuf], writable: &[&Path], cwd: &Path) -> Visible {
        let mut read_only: Vec<PathBuf> = SYSTEM_TREES.iter().map(PathBuf::from).collect();
        read_only.extend(ETC_ENTRIES.iter().map(|name| Path::new("/etc").join(name)));
        read_only.extend(toolchain.iter().cloned());
        Visible {
            read_only,
            writable: writable.iter().map(|path| path.to_path_buf()).collect(),
            cwd: Some(cwd.to_path_buf()),
            overlay: None,
            relocated: None,
        }
    }

    /// The same, with the overlaid directory shown writable as it is: for a run kiln trusts, or
    /// where no overlay can be mounted.
    pub(crate) fn without_overlay(&self) -> Visible {
        let mut plain = self.clone();
        if let Some(overlay) = plain.overlay.take() {
            plain.writable.push(overlay.shown);
        }
        plain
    }

    /// The device nodes the view binds, as host paths (Landlock's fallback must allow them).
    pub(crate) fn devices() -> impl Iterator<Item = PathBuf> {
        DEVICES.iter().map(|name| Path::new("/dev").join(name))
    }
}

/// One prepared step of building the new root, in order.
#[derive(Debug)]
enum Step {
    /// mkdir; an existing directory is fine (it may lie inside an earlier bind).
    Dir(CString),
    /// An empty file to bind a device or file onto.
    File(CString),
    Bind {
        source: CString,
        target: CString,
        /// `Some(flags)`: remount read-only, keeping these per-mount flags of the source
        /// (nosuid, nodev, noexec, atime), which a user namespace may not clear.
        read_only: Option<libc::c_ulong>,
    },
    Symlink {
        target: CString,
        link: CString,
    },
    Tmpfs {
        target: CString,
        options: &'static std::ffi::CStr,
    },
    Proc(CString),
}

/// The prepared new root of a run.
#[derive(Debug)]
pub(crate) struct View {
    /// An empty host directory the new root's tmpfs is mounted on (then pivoted into).
    mount_point: CString,
    steps: Vec<Step>,
    cwd: CString,
}

impl View {
    /// Resolves `visible` into mount steps. `mount_point` must be an existing empty directory.
    pub(crate) fn prepare(visible: &Visible, mount_point: &Path) -> io::Result<View> {
        let mut builder = Builder {
            root: mount_point.to_path_buf(),
            steps: Vec::new(),
            made: Vec::new(),
        };
        builder.dir(Path::new("/tmp"))?;
        builder.steps.push(Step::Tmpfs {
            target: builder.inside(Path::new("/tmp"))?,
            options: TMP_TMPFS_OPTIONS,
        });
        let mut entries: Vec<(&Path, Access)> = Vec::new();
        entries.extend(
            visible
                .read_only
                .iter()
                .map(|p| (p.as_path(), Access::ReadOnly)),
        );
        entries.extend(
            visible
                .writable
                .iter()
                .map(|p| (p.as_path(), Access::Writable)),
        );
        // Parents before children, so a bind inside another (a target dir under a bound home)
        // lands on top of it, not under it.
        entries.sort_by_key(|(path, _)| path.components().count());
        for (path, access) in entries {
            builder.show(path, access)?;
        }
        let mut cwd = visible.cwd.clone().unwrap_or_else(|| PathBuf::from("/"));
        if let Some(relocated) = &visible.relocated {
            builder.dir(&relocated.to)?;
            builder.bind(&relocated.from, &relocated.to, Access::Writable)?;
            if let Ok(below) = cwd.strip_prefix(&relocated.from) {
                cwd = relocated.to.join(below);
            }
        }
        if let Some(overlay) = &visible.overlay {
            // Bound from the namespace the run joined, where `shown` is the mounted overlay.
            builder.dir(&overlay.shown)?;
            builder.bind(&overlay.shown, &overlay.shown, Access::Writable)?;
        }
        builder.dir(Path::new("/dev"))?;
        for name in DEVICES {
            let device = Path::new("/dev").join(name);
            if device.exists() {
                builder.file(&device)?;
                builder.bind(&device, &device, Access::Writable)?;
            }
        }
        for (name, target) in DEV_LINKS {
            builder.symlink(Path::new(target), &Path::new("/dev").join(name))?;
        }
        builder.dir(Path::new("/dev/shm"))?;
        builder.steps.push(Step::Tmpfs {
            target: builder.inside(Path::new("/dev/shm"))?,
            options: SHM_TMPFS_OPTIONS,
        });
        builder.dir(Path::new("/proc"))?;
        builder
            .steps
            .push(Step::Proc(builder.inside(Path::new("/proc"))?));
        Ok(View {
            mount_point: c_path(mount_point)?,
            steps: builder.steps,
            cwd: c_path(&cwd)?,
        })
    }

    /// Builds the new root and makes it the process's `/`. Call inside a fresh mount namespace
    /// (and pid namespace, for `/proc`), with the capabilities to mount.
    ///
    /// Runs in the forked child before exec: mount, mkdir, symlink, open, pivot_root and chdir
    /// on prepared strings, no allocation.
    pub(crate) fn enter(&self) -> io::Result<()> {
        // Nothing we mount may propagate back to the host's mount table.
        mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;
        mount(
            Some(c"kiln"),
            &self.mount_point,
            Some(c"tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(ROOT_TMPFS_OPTIONS),
        )?;
        for step in &self.steps {
            step.apply()?;
        }
        // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the
        // new root (the trick runc uses; no directory for the old root is needed).
        check(unsafe { libc::chdir(self.mount_point.as_ptr()) })?;
        // SAFETY: pivot_root takes two NUL-terminated strings.
        check(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) } as i32)?;
        // SAFETY: umount2 takes a NUL-terminated string and flags.
        check(unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) })?;
        // The root itself holds only mount points: read-only, so nothing can be planted beside
        // them.
        mount(
            None,
            c"/",
            None,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            None,
        )?;
        // SAFETY: chdir takes a NUL-terminated string.
        check(unsafe { libc::chdir(self.cwd.as_ptr()) })
    }
}

impl Step {
    fn apply(&self) -> io::Result<()> {
        match self {
            Step::Dir(path) => {
                // SAFETY: mkdir takes a NUL-terminated string and a mode.
                if unsafe { libc::mkdir(path.as_ptr(), 0o755) } != 0 {
                    let error = io::Error::last_os_error();
                    if error.raw_os_error() != Some(libc::EEXIST) {
                        return Err(error);
                    }
                }
                Ok(())
            }
            Step::File(path) => {
                // SAFETY: open/close on a NUL-terminated string; the fd is closed at once.
                let fd = unsafe {
                    libc::open(
                        path.as_ptr(),
                        libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                        0o644,
                    )
                };
                if fd < 0 {
                    let error = io::Error::last_os_error();
                    // Inside an earlier read-only bind the file is already there.
                    return match error.raw_os_error() {
                        Some(libc::EROFS | libc::EEXIST) => Ok(()),
                        _ => Err(error),
                    };
                }
                // SAFETY: closing the fd we just opened.
                unsafe { libc::close(fd) };
                Ok(())
            }
            Step::Bind {
                source,
                target,
                read_only,
            } => {
                // Not recursive: exactly the mount named, never a mount below it that the host
                // added later (or the new root itself, when the sandbox dir is shown).
                mount(Some(source), target, None, libc::MS_BIND, None)?;
                if let Some(kept) = read_only {
                    mount(
                        None,
                        target,
                        None,
                        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | kept,
                        None,
                    )?;
                }
                Ok(())
            }
            Step::Symlink { target, link } => {
                // SAFETY: symlink takes two NUL-terminated strings.
                if unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) } != 0 {
                    let error = io::Error::last_os_error();
                    if error.raw_os_error() != Some(libc::EEXIST) {
                        return Err(error);
                    }
                }
                Ok(())
            }
            Step::Tmpfs { target, options } => mount(
                Some(c"tmpfs"),
                target,
                Some(c"tmpfs"),
                libc::MS_NOSUID | libc::MS_NODEV,
                Some(options),
            ),
            // Read-only: nothing a build needs writes /proc, and uid 0 without capabilities could
            // still write some of /proc/sys.
            Step::Proc(target) => mount(
                Some(c"proc"),
                target,
                Some(c"proc"),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY,
                None,
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    ReadOnly,
    Writable,
}

/// Turns host paths into steps below the new root.
struct Builder {
    root: PathBuf,
    steps: Vec<Step>,
    /// Directories already created, so each is made once.
    made: Vec<PathBuf>,
}

impl Builder {
    /// `path` inside the new root.
    fn inside(&self, path: &Path) -> io::Result<CString> {
        let relative = path.strip_prefix("/").unwrap_or(path);
        c_path(&self.root.join(relative))
    }

    /// Shows the host's `path` at the same place: a symlink is recreated as the same link (its
    /// target must be shown on its own to be reachable), a directory or file is bound.
    fn show(&mut self, path: &Path, access: Access) -> io::Result<()> {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return Ok(());
        };
        if let Some(parent) = path.parent() {
            self.dir(parent)?;
        }
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(path)?;
            return self.symlink(&target, path);
        }
        if meta.is_dir() {
            self.dir(path)?;
        } else {
            self.file(path)?;
        }
        self.bind(path, path, access)
    }

    fn dir(&mut self, path: &Path) -> io::Result<()> {
        let mut current = PathBuf::from("/");
        for component in path.components().skip(1) {
            current.push(component);
            if !self.made.contains(&current) {
                self.made.push(current.clone());
                let step = Step::Dir(self.inside(&current)?);
                self.steps.push(step);
            }
        }
        Ok(())
    }

    fn file(&mut self, path: &Path) -> io::Result<()> {
        if let Some(parent) = path.parent() {
            self.dir(parent)?;
        }
        let step = Step::File(self.inside(path)?);
        self.steps.push(step);
        Ok(())
    }

    fn bind(&mut self, source: &Path, target: &Path, access: Access) -> io::Result<()> {
        let read_only = match access {
            Access::ReadOnly => Some(kept_mount_flags(source)?),
            Access::Writable => None,
        };
        let step = Step::Bind {
            source: c_path(source)?,
            target: self.inside(target)?,
            read_only,
        };
        self.steps.push(step);
        Ok(())
    }

    fn symlink(&mut self, target: &Path, link: &Path) -> io::Result<()> {
        let step = Step::Symlink {
            target: c_path(target)?,
            link: self.inside(link)?,
        };
        self.steps.push(step);
        Ok(())
    }
}

/// The per-mount flags of the mount holding `path` that a read-only remount must repeat: inside a
/// user namespace the kernel refuses a remount that would clear a locked flag.
fn kept_mount_flags(path: &Path) -> io::Result<libc::c_ulong> {
    let c = c_path(path)?;
    // SAFETY: statvfs writes into the zeroed struct we own and reads a NUL-terminated string.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let pairs = [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    Ok(pairs
        .iter()
        .filter(|(st, _)| stat.f_flag & st != 0)
        .fold(0, |flags, (_, ms)| flags | ms))
}

pub(crate) fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::other(format!("{} contains a NUL byte", path.display())))
}

/// Runs in the forked child before exec: one syscall on prepared strings.
pub(super) fn mount(
    source: Option<&std::ffi::CStr>,
    target: &std::ffi::CStr,
    fstype: Option<&std::ffi::CStr>,
    flags: libc::c_ulong,
    data: Option<&std::ffi::CStr>,
) -> io::Result<()> {
    let ptr = |s: Option<&std::ffi::CStr>| s.map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is null or a NUL-terminated string that outlives the call.
    check(unsafe {
        libc::mount(
            ptr(source),
            target.as_ptr(),
            ptr(fstype),
            flags,
            ptr(data).cast(),
        )
    })
}

fn check(result: libc::c_int) -> io::Result<()> {
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
