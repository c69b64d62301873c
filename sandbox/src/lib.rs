//! Runs `cargo test` on a throwaway copy of a crate, with limits, and turns
//! the result into a structured report.
//!
//! kiln asks a model for code (typically a `#[cfg(test)] mod tests`), writes
//! it into a [`Sandbox`], runs [`Sandbox::cargo_test`] and feeds the
//! [`RunReport`] back. The model's code is untrusted, so:
//!
//! * it only ever touches a copy in a tempdir, never the user's tree;
//! * cargo runs `--offline` with a scrubbed environment (no API keys), a
//!   private `HOME` and `TMPDIR`, rlimits on CPU time, memory and file size,
//!   in its own process group;
//! * where the kernel allows (see [`probe`], which says what is in force):
//!   no network (a network namespace); a filesystem view of its own that
//!   holds only the copy, the toolchain, cargo's registry and the system (a
//!   mount namespace, so nothing else of the user's can be read or connected
//!   to); no writes outside the copy, its target dir and its tmp (Landlock);
//!   a shared build cache that candidates' runs see through an overlay, so
//!   nothing they write there outlives the sandbox (see
//!   [`Sandbox::build_untouched`], the one run that fills the cache);
//!   a pid namespace whose init dies with kiln; a process cap and a kill of
//!   every process of the run (a pids cgroup);
//! * a tempdir left by a run that was killed before it could remove it is
//!   removed by the next run (see `leftovers`);
//! * no controlling terminal (a session of its own, stdin from `/dev/null`);
//! * a wall-clock timeout kills the whole run, and all captured output is
//!   capped, its control characters neutralised and secrets redacted.

pub mod cache;
mod capped;
mod cause;
pub mod clean;
mod collect;
mod confine;
mod copy;
mod diagnostics;
mod direct;
mod env;
mod fetch;
mod gitignore;
mod known_good;
mod leftovers;
mod libtest;
mod limits;
mod lines;
mod probe;
mod report;
mod run;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use cause::Cause;
pub use clean::{first_raw_control, neutralise_controls, Redactor};
pub use libtest::failures_in;
pub use limits::{
    Limits, DEFAULT_CPU_TIME_SECS, DEFAULT_FILE_SIZE_BYTES, DEFAULT_MAX_PROCESSES,
    DEFAULT_MEMORY_BYTES,
};
pub use probe::{probe, Protection, ProtectionStatus, NO_READS_OUTSIDE};
pub use report::{CompilerDiagnostic, PanicSite, RunOutcome, RunReport, TestFailure};

/// Default wall clock for one cargo run: a cold build of a small crate plus
/// its tests fits easily; an infinite loop is caught in reasonable time.
pub const DEFAULT_TIMEOUT_MS: u64 = 120_000;
/// Default cap on the captured output kept in a [`RunReport`].
pub const DEFAULT_OUTPUT_CAP_BYTES: usize = 64 * 1024;

/// Subdirectory of the sandbox tempdir holding the crate copy.
const CRATE_SUBDIR: &str = "crate";
/// Subdirectory used as `HOME` for cargo, so nothing reads or writes the
/// user's real dotfiles through `~`.
const HOME_SUBDIR: &str = "home";
/// Subdirectory used as `TMPDIR`: the run may not write the shared /tmp.
const TMP_SUBDIR: &str = "tmp";
/// Default target dir, next to (not inside) the copy so it is never copied
/// or globbed as source, and persists across repair rounds.
const TARGET_SUBDIR: &str = "target";
/// Empty directory the run's filesystem view is mounted on.
const VIEW_SUBDIR: &str = "view";
/// The sandbox's layer over a shared build cache, and overlayfs's work dir beside it.
const CACHE_UPPER_SUBDIR: &str = "cache-upper";
const CACHE_WORK_SUBDIR: &str = "cache-work";
/// Where every run in a view sees the crate copy (see [`confine::view::Relocated`]).
const CRATE_SHOWN_AT: &str = "/kiln/crate";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} is not a crate root: it has no Cargo.toml")]
    NotACrate(PathBuf),
    #[error("refusing path {0}: it must be relative and stay inside the sandbox")]
    PathEscapes(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not start cargo: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("lost track of the cargo process: {0}")]
    Wait(#[source] std::io::Error),
    #[error(
        "the copy was already changed: only the untouched crate may fill the shared build cache"
    )]
    Touched,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Limits and locations for the runs of one [`Sandbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Wall clock for one cargo run (build and tests together).
    pub timeout: Duration,
    /// Cap on captured output kept in the report; the head and tail are kept
    /// and the middle replaced with a `[... N bytes cut ...]` marker.
    pub output_cap_bytes: usize,
    /// `CARGO_TARGET_DIR`. `None` means a `target/` inside the sandbox
    /// tempdir, which lives as long as the [`Sandbox`] so repair rounds
    /// rebuild incrementally. Front ends pass [`cache::target_dir_from_process`]
    /// so dependencies also survive across sandboxes and sessions.
    pub target_dir: Option<PathBuf>,
    /// Per-process resource limits for cargo and everything it starts.
    pub limits: Limits,
    /// Secrets to redact from every report besides those of the environment, e.g. an API key
    /// read from a config file.
    pub redact: Vec<String>,
    /// Added to every cargo command, e.g. `--features serde`: the user's choice of features
    /// holds for the untouched build, the candidates and the mutants alike.
    pub cargo_args: Vec<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            output_cap_bytes: DEFAULT_OUTPUT_CAP_BYTES,
            target_dir: None,
            limits: Limits::default(),
            redact: Vec::new(),
            cargo_args: Vec::new(),
        }
    }
}

/// Which tests to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestArgs {
    /// Cargo's target selection, e.g. `["--lib"]` or `["--lib", "--bins"]`.
    pub target_flags: Vec<String>,
    /// libtest name filter passed after `--`, e.g. `"parser::tests::"`.
    pub filter: Option<String>,
}

/// Live progress of a run, reported while cargo's output streams in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Cargo started compiling a package (from its `Compiling` status line,
    /// which arrives when the work starts, unlike JSON `compiler-artifact`
    /// messages which arrive when it ends). `unit` is e.g. `"foo v0.1.0"`.
    Compiling { unit: String },
    /// A test binary started (`running N tests`); one per binary.
    TestsStarted { total: usize },
    /// A test finished. Ignored tests produce no event.
    TestFinished { name: String, passed: bool },
}

/// A private copy of a crate in a tempdir; dropping it deletes everything
/// (copy, private `HOME` and the default target dir).
#[derive(Debug)]
pub struct Sandbox {
    /// Held for its Drop, which removes the tree.
    _dir: tempfile::TempDir,
    crate_dir: PathBuf,
    home_dir: PathBuf,
    tmp_dir: PathBuf,
    target_dir: PathBuf,
    view_root: PathBuf,
    /// What the runs may see: the toolchain, the system, this tempdir and the target dir (a
    /// shared one through an overlay).
    visible: confine::view::Visible,
    overlay_mount: confine::overlay::OverlayMount,
    /// The untouched copy's fingerprint, where a shared cache can record that it built (see
    /// [`known_good`]).
    untouched_fingerprint: Option<String>,
    /// Whether the dependencies were fetched for this copy (skipped when they were before).
    fetched: std::sync::atomic::AtomicBool,
    /// Set by the first [`Sandbox::write_file`]: from then on the copy holds generated code.
    touched: std::sync::atomic::AtomicBool,
    /// Bumped by every change to the copy (see [`direct::Recorded`]).
    generation: std::sync::atomic::AtomicU64,
    /// The test binaries of the last successful build, which a re-run of the same copy starts
    /// without cargo.
    recorded: std::sync::Mutex<Option<direct::Recorded>>,
    copy_notes: Vec<String>,
    redactor: Redactor,
    config: SandboxConfig,
}

impl Sandbox {
    /// Copies the crate at `crate_root` (the directory containing
    /// `Cargo.toml`) into a fresh tempdir.
    ///
    /// Skips `target/`, `.git`, dotenv files and whatever the crate's `.gitignore` files
    /// exclude, and hard-linked files that are not sources (see [`Sandbox::copy_notes`]); copies
    /// symlinks as symlinks; copies `Cargo.lock` even if ignored; preserves mtimes so
    /// cargo fingerprints stay valid against a shared target dir. Errors if
    /// `crate_root` has no `Cargo.toml`. This does blocking file I/O; from
    /// async code call it via `spawn_blocking` for big crates.
    pub fn create(crate_root: &Path, config: SandboxConfig) -> Result<Sandbox> {
        if !crate_root.join("Cargo.toml").is_file() {
            return Err(Error::NotACrate(crate_root.to_path_buf()));
        }
        // Private: the copy is the user's code, and a later run removes only private leftovers.
        let dir = tempfile::Builder::new()
            .prefix(leftovers::DIR_PREFIX)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        claim_and_sweep(dir.path())?;
        // Canonical, so the absolute paths rustc reports can be made
        // relative to it even if the temp dir is reached through a symlink.
        let root = std::fs::canonicalize(dir.path()).map_err(|source| Error::Io {
            path: dir.path().to_path_buf(),
            source,
        })?;
        let crate_dir = root.join(CRATE_SUBDIR);
        let home_dir = root.join(HOME_SUBDIR);
        let tmp_dir = root.join(TMP_SUBDIR);
        let view_root = root.join(VIEW_SUBDIR);
        for path in [&crate_dir, &home_dir, &tmp_dir, &view_root] {
            std::fs::create_dir(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        }
        let mut copy_notes = copy::copy_crate(crate_root, &crate_dir)?;
        let shared_cache = config.target_dir.clone().filter(|cache| {
            let layerable = confine::overlay::Overlay::layerable(cache);
            if !layerable {
                copy_notes.push(format!(
                    "the build cache {} cannot be layered (its path holds ',', ':' or '\\'): \
                     this sandbox builds everything in a target dir of its own",
                    cache.display()
                ));
            }
            layerable
        });
        let target_dir = shared_cache
            .clone()
            .unwrap_or_else(|| root.join(TARGET_SUBDIR));
        // Landlock rules need the directory to exist when the run starts.
        std::fs::create_dir_all(&target_dir).map_err(|source| Error::Io {
            path: target_dir.clone(),
            source,
        })?;
        // Before the fetch, which may write a lockfile into the copy: the fingerprints are of the
        // copy as the user's tree made it.
        let fingerprints = shared_cache
            .as_ref()
            .and_then(|_| known_good::fingerprints(&crate_dir, &config.cargo_args));
        let fetched = fetch_unless_fetched_before(&crate_dir, &target_dir, fingerprints.as_ref());
        let mut visible = confine::view::Visible::for_run(
            &env::toolchain_paths_from_process(),
            &[&root],
            &crate_dir,
        );
        if shared_cache.is_some() {
            visible.overlay = Some(shared_cache_overlay(&root, &target_dir)?);
            // Only a shared cache outlives the sandbox, so only then do the paths its
            // incremental state records need to stay the same from one sandbox to the next.
            visible.relocated = Some(confine::view::Relocated {
                from: crate_dir.clone(),
                to: PathBuf::from(CRATE_SHOWN_AT),
            });
        }
        Ok(Sandbox {
            _dir: dir,
            crate_dir,
            home_dir,
            tmp_dir,
            target_dir,
            view_root,
            visible,
            overlay_mount: confine::overlay::OverlayMount::default(),
            untouched_fingerprint: fingerprints.map(|fingerprints| fingerprints.all_files),
            fetched: std::sync::atomic::AtomicBool::new(fetched),
            touched: std::sync::atomic::AtomicBool::new(false),
            generation: std::sync::atomic::AtomicU64::new(0),
            recorded: std::sync::Mutex::new(None),
            copy_notes,
            redactor: Redactor::from_process(&config.redact),
            config,
        })
    }

    /// The copy's root (contains its `Cargo.toml`).
    pub fn crate_dir(&self) -> &Path {
        &self.crate_dir
    }

    /// What the copy left out or left pointing outside the crate, one line each, for the user:
    /// a build that fails for want of it is then explained.
    pub fn copy_notes(&self) -> &[String] {
        &self.copy_notes
    }

    /// The run's private `TMPDIR` (inside the sandbox tempdir).
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp_dir
    }

    /// Writes `contents` to `relative` inside the copy atomically (temp file
    /// and rename), creating parent directories. Errors if `relative` is
    /// absolute, contains `..`, or passes through a symlink. The same bytes as the file already
    /// holds leave it alone (mtime included), so the next run builds nothing.
    pub fn write_file(&self, relative: &Path, contents: &str) -> Result<()> {
        self.touched
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let written = copy::write_atomic(&self.crate_dir, relative, contents);
        // A failed write may have left new directories behind: a change too.
        if !matches!(written, Ok(false)) {
            self.copy_changed();
        }
        written.map(|_| ())
    }

    /// To be called by everything that changes the copy: what an earlier build recorded is
    /// then no longer a build of it (see [`direct::Recorded`]).
    fn copy_changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Builds the tests of the untouched copy (`cargo test --no-run`), writing a shared build
    /// cache directly: the one run whose artefacts later sandboxes reuse, because only the
    /// user's own code ran in it. Every other run sees the cache through an overlay of this
    /// sandbox. Refused ([`Error::Touched`]) once [`Sandbox::write_file`] has changed the copy.
    /// A crate that does not build comes back as a `BuildFailed` report.
    pub async fn build_untouched(
        &self,
        args: &TestArgs,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<RunReport> {
        if self.touched.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Touched);
        }
        let trusted = self.visible.without_overlay();
        let plan = run::RunPlan {
            build_only: true,
            ..self.plan(&trusted, &[])
        };
        let (mut report, _) = run::cargo_test(&plan, args, on_progress).await?;
        let fetched = self.fetched.swap(true, std::sync::atomic::Ordering::SeqCst);
        // An error in the crate's own code (one with a file) is not for want of a dependency.
        let points_at_no_code = report.compiler_errors.iter().all(|e| e.file.is_none());
        if report.outcome == RunOutcome::BuildFailed && !fetched && points_at_no_code {
            // The fetch was skipped, as the dependencies were there before, and the build failed
            // without pointing at code: perhaps a dependency left the registry since. Fetched,
            // the crate may build after all.
            let crate_dir = self.crate_dir.clone();
            let fetch = tokio::task::spawn_blocking(move || fetch::fetch_dependencies(&crate_dir));
            if fetch.await.is_ok() {
                report = run::cargo_test(&plan, args, on_progress).await?.0;
            }
        }
        if let Some(fingerprint) = &self.untouched_fingerprint {
            let passed = !matches!(
                report.outcome,
                RunOutcome::BuildFailed | RunOutcome::TimedOut
            );
            known_good::Record::untouched_builds(&self.target_dir).set(fingerprint, passed);
        }
        Ok(report)
    }

    /// Whether [`Sandbox::build_untouched`] passed before on a copy exactly like this one, into the
    /// same shared cache: then it will pass again, and a caller may start other work beside it
    /// instead of waiting (it must still look at the report; see [`known_good`]).
    pub fn untouched_build_known_good(&self) -> bool {
        self.untouched_fingerprint
            .as_ref()
            .is_some_and(|fingerprint| {
                known_good::Record::untouched_builds(&self.target_dir).holds(fingerprint)
            })
    }

    /// Builds the tests of the copy as it is now (`cargo test --no-run`), confined like every
    /// other run of generated code: work done ahead, so that a later run of the same text only
    /// runs. It runs at the lowest CPU priority, beside the runs someone waits for rather than
    /// in their way. A failing build is a `BuildFailed` report.
    pub async fn build_tests(
        &self,
        args: &TestArgs,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<RunReport> {
        let plan = run::RunPlan {
            build_only: true,
            in_background: true,
            ..self.plan(&self.visible, &[])
        };
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let (report, binaries) = run::cargo_test(&plan, args, on_progress).await?;
        self.record(generation, args, binaries);
        Ok(report)
    }

    /// Whether `other` is a copy of the same tree as this one, every file's size and mtime alike
    /// (what [`known_good`] fingerprints): a second copy made later is only worth using beside
    /// this one if nothing changed in between. `false` where there is no fingerprint (no shared
    /// cache, or a copy that could not be read whole).
    pub fn same_copy_as(&self, other: &Sandbox) -> bool {
        self.untouched_fingerprint.is_some()
            && self.untouched_fingerprint == other.untouched_fingerprint
    }

    /// Whether the runs build in the shared cache given as [`SandboxConfig::target_dir`] (through
    /// this sandbox's overlay), rather than in a target dir of their own that starts empty.
    pub fn builds_in_shared_cache(&self) -> bool {
        self.visible.overlay.is_some()
    }

    /// Runs `cargo test <target_flags> --message-format=json [-- <filter>]`
    /// in the copy, within the configured limits, and returns a report.
    ///
    /// A failing build or failing tests are *results*, not errors: `Err` only
    /// means cargo could not be started or watched. `on_progress` is called
    /// from this future as output is parsed.
    ///
    /// Outcome precedence: any compiler error → `BuildFailed`; killed at the
    /// deadline → `TimedOut`; cargo failed before any test binary ran →
    /// `BuildFailed`; a failed test or a crashed test binary →
    /// `TestsFailed`; nothing passed or failed → `NoTestsRan`; else `Passed`.
    pub async fn cargo_test(
        &self,
        args: &TestArgs,
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<RunReport> {
        self.cargo_test_with_env(args, &[], on_progress).await
    }

    /// [`Sandbox::cargo_test`] with `extra_env` added to the scrubbed environment, e.g. a
    /// switch the code under test reads at run time. The caller must not pass secrets.
    ///
    /// A run of a copy unchanged since a successful build with the same target flags starts
    /// that build's test binaries itself instead of cargo, in the same confinement and as cargo
    /// would (see [`direct`]): the report reads the same, with a [`RunReport::build_time`] of
    /// zero. Where that cannot be done, cargo runs as usual.
    pub async fn cargo_test_with_env(
        &self,
        args: &TestArgs,
        extra_env: &[(String, String)],
        on_progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<RunReport> {
        let plan = self.plan(&self.visible, extra_env);
        // Read before the run: a change made while cargo builds makes the record stale.
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let recorded = self
            .recorded_lock()
            .as_ref()
            .filter(|recorded| recorded.stands_for(generation, args, &self.config.cargo_args))
            .map(|recorded| recorded.binaries.clone());
        if let Some(binaries) = recorded {
            if let Some(report) = direct::run(&plan, &binaries, args, on_progress).await? {
                return Ok(report);
            }
        }
        let (report, binaries) = run::cargo_test(&plan, args, on_progress).await?;
        self.record(generation, args, binaries);
        Ok(report)
    }

    /// Keeps what a run built of the copy at `generation` for the next runs (see
    /// [`direct::Recorded`]); a run that built nothing to run forgets the last record.
    fn record(&self, generation: u64, args: &TestArgs, binaries: Option<Vec<direct::TestBinary>>) {
        *self.recorded_lock() = binaries.map(|binaries| direct::Recorded {
            generation,
            target_flags: args.target_flags.clone(),
            cargo_args: self.config.cargo_args.clone(),
            binaries,
        });
    }

    fn recorded_lock(&self) -> std::sync::MutexGuard<'_, Option<direct::Recorded>> {
        // The record is replaced whole, so one left by a panicking holder is still consistent.
        self.recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn plan<'a>(
        &'a self,
        visible: &'a confine::view::Visible,
        extra_env: &'a [(String, String)],
    ) -> run::RunPlan<'a> {
        run::RunPlan {
            crate_dir: &self.crate_dir,
            home_dir: &self.home_dir,
            tmp_dir: &self.tmp_dir,
            target_dir: &self.target_dir,
            visible,
            view_root: &self.view_root,
            overlay_mount: &self.overlay_mount,
            timeout: self.config.timeout,
            output_cap_bytes: self.config.output_cap_bytes,
            limits: &self.config.limits,
            extra_env,
            redactor: &self.redactor,
            cargo_args: &self.config.cargo_args,
            build_only: false,
            in_background: false,
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Before the tempdir's own drop removes the tree: unmounted, the overlay's work dir can
        // be made removable.
        self.overlay_mount.release();
        leftovers::make_removable(self._dir.path());
    }
}

/// Names this process as the owner of the new sandbox tempdir `dir`, so a later run can tell
/// whether it is a leftover; then, once per process, removes the leftovers of dead runs beside it
/// (see [`leftovers`]). Without `/proc` there is neither: a sandbox still works.
fn claim_and_sweep(dir: &Path) -> Result<()> {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let Some(owner) = leftovers::Owner::current() else {
        return Ok(());
    };
    let record = dir.join(leftovers::OWNER_FILE);
    std::fs::write(&record, owner.to_text()).map_err(|source| Error::Io {
        path: record,
        source,
    })?;
    if let Some(temp_dir) = dir.parent() {
        SWEPT.call_once(|| leftovers::remove_dead(temp_dir, &owner));
    }
    Ok(())
}

/// Fetches the copy's dependencies unless they were fetched before. A copy whose untouched
/// build passed before, or whose manifests, lockfile and cargo configs are those of a fetch that
/// succeeded, has its dependencies in the registry already: the fetch (a cargo start-up on the
/// way to the first run) is skipped. Should one be gone after all, `build_untouched` fetches and
/// builds again. Returns whether it fetched.
fn fetch_unless_fetched_before(
    crate_dir: &Path,
    target_dir: &Path,
    fingerprints: Option<&known_good::Fingerprints>,
) -> bool {
    let fetched_before = fingerprints.is_some_and(|fingerprints| {
        known_good::Record::untouched_builds(target_dir).holds(&fingerprints.all_files)
            || known_good::Record::fetched_dependencies(target_dir)
                .holds(&fingerprints.dependencies)
    });
    if fetched_before {
        return false;
    }
    let fetched = fetch::fetch_dependencies(crate_dir);
    if let Some(fingerprints) = fingerprints {
        known_good::Record::fetched_dependencies(target_dir)
            .set(&fingerprints.dependencies, fetched);
    }
    true
}

/// The sandbox's own layer over the shared cache at `target_dir`, in its tempdir at `root`.
fn shared_cache_overlay(root: &Path, target_dir: &Path) -> Result<confine::overlay::Overlay> {
    let overlay = confine::overlay::Overlay {
        shown: target_dir.to_path_buf(),
        upper: root.join(CACHE_UPPER_SUBDIR),
        work: root.join(CACHE_WORK_SUBDIR),
    };
    for path in [&overlay.upper, &overlay.work] {
        std::fs::create_dir(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(overlay)
}
