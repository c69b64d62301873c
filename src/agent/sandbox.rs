//! The one sandbox copy a run works in, and how it is lent to a task's validation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use kiln_sandbox::{RunOutcome, RunReport, Sandbox, SandboxConfig, TestArgs};
use tokio::sync::mpsc::UnboundedSender;

use super::{AgentEvent, AgentSettings, BuildCache};
use crate::project::SourceLocation;
use crate::task::{first_line, whole_suite, RunPurpose, SandboxRuns};

/// Rust source at or above which a crate's mutants are built ahead, beside the candidate's build
/// (see [`MutantCopy`]). Two points measured on this machine frame it: the demo (3 KB) builds
/// in about 0.2 s, nearly all of it cargo's and rustc's start-up, and a second build beside it
/// slowed the candidates' builds of every round about as much as it saved in the passing one;
/// clap_builder (1.3 MB) builds in 0.7 s, mostly one rustc thread, and the mutant build beside
/// it took the validated proposal from 2.8x to 1.9x the in-place edit and test.
const BUILD_AHEAD_FROM_BYTES: u64 = 256 * 1024;

/// A sandbox copy shared by every conversation of a run. Runs take turns: they write the same
/// file, and cargo would serialise them on the build cache's lock anyway.
pub(super) struct SharedSandbox {
    sandbox: Arc<Sandbox>,
    turn: Arc<tokio::sync::Mutex<()>>,
    /// The untouched build running beside the first request (see [`SharedSandbox::create`]),
    /// stopped with the sandbox.
    overlapped: Option<tokio::task::JoinHandle<()>>,
    /// Why the overlapped build refused the crate: every run then fails with it.
    refused: Arc<std::sync::OnceLock<String>>,
    /// Held for writing while the untouched build fills the shared cache beside the first
    /// request: the mutants' copy layers over that cache, so its first run waits for it.
    filling: Arc<tokio::sync::RwLock<()>>,
    /// Where the mutants are built and run, when the build cache is shared.
    mutants: Option<MutantCopy>,
}

/// A second copy of the crate over the same shared build cache, made at its first use, in which
/// the mutant build and rounds run. With a copy and a build state of its own, the mutant build
/// runs beside the candidate's build and re-runs (on the machine's other core) instead of after
/// them, and the two builds stop undoing each other: the candidate's copy keeps the plain build
/// its re-runs, the confirmation and the next round start from.
///
/// What is proven stays the same: the candidate's verdict and re-runs come from the plain build
/// of exactly the proposed text in the first copy, and the mutant verdicts from the build of
/// exactly that text plus the dispatcher in this one. Both copies are of one tree (checked
/// when this one is made), and each run writes its whole file into the copy it runs in.
struct MutantCopy {
    root: PathBuf,
    config: SandboxConfig,
    sandbox: tokio::sync::OnceCell<Option<Arc<Sandbox>>>,
    turn: tokio::sync::Mutex<()>,
}

impl MutantCopy {
    /// The copy, made at the first call. `None` when it cannot be made, or when the crate changed
    /// since the candidates' copy was made (the user saved a file meanwhile): the mutants then
    /// run in the candidates' copy, so that both verdicts are about one tree.
    async fn sandbox(&self, candidates: &Sandbox) -> Option<&Arc<Sandbox>> {
        self.sandbox
            .get_or_init(|| async {
                let (root, config) = (self.root.clone(), self.config.clone());
                let made = tokio::task::spawn_blocking(move || Sandbox::create(&root, config));
                match made.await {
                    Ok(Ok(sandbox)) if sandbox.same_copy_as(candidates) => Some(Arc::new(sandbox)),
                    _ => None,
                }
            })
            .await
            .as_ref()
    }
}

impl Drop for SharedSandbox {
    fn drop(&mut self) {
        if let Some(build) = &self.overlapped {
            build.abort();
        }
    }
}

impl SharedSandbox {
    /// Copies the crate of `workspace_root` and fetches its dependencies, off the async threads
    /// since both block. `Err` is the message for the user.
    ///
    /// Then, unless the settings skip it, builds the untouched crate once: a crate that does not
    /// build as it is would have every candidate fail and the model blamed, so that ends here,
    /// before any request. The same build is the one that fills the shared build cache (see
    /// [`Sandbox::build_untouched`]).
    pub async fn create(
        location: &SourceLocation,
        settings: &AgentSettings,
        events: &UnboundedSender<AgentEvent>,
    ) -> Result<SharedSandbox, String> {
        let started = Instant::now();
        let workspace_root = &location.workspace_root;
        let mut config = settings.sandbox.clone();
        if settings.build_cache == BuildCache::PerCrate {
            config.target_dir = kiln_sandbox::cache::target_dir_from_process(workspace_root);
        }
        let root = workspace_root.to_path_buf();
        let mutants = (settings.build_cache == BuildCache::PerCrate).then(|| MutantCopy {
            root: root.clone(),
            config: config.clone(),
            sandbox: tokio::sync::OnceCell::new(),
            turn: tokio::sync::Mutex::new(()),
        });
        // With the copy, off the async threads too: the size of its Rust sources.
        let made = tokio::task::spawn_blocking(move || {
            Sandbox::create(&root, config).map(|sandbox| {
                let bytes = rust_source_bytes(sandbox.crate_dir());
                (sandbox, bytes)
            })
        });
        let (sandbox, source_bytes) = match made.await {
            Ok(Ok(made)) => made,
            Ok(Err(e)) => return Err(format!("cannot create the sandbox copy: {e}")),
            Err(e) => return Err(format!("sandbox setup stopped: {e}")),
        };
        let _ = events.send(AgentEvent::SandboxReady {
            path: sandbox.crate_dir().to_path_buf(),
            took: started.elapsed(),
            notes: sandbox.copy_notes().to_vec(),
        });
        // A copy of its own is worth making only where it starts from the warm shared cache, and
        // only for a crate whose build takes long enough to be worth a second one beside it.
        let mutants = mutants
            .filter(|_| sandbox.builds_in_shared_cache() && source_bytes >= BUILD_AHEAD_FROM_BYTES);
        let sandbox = Arc::new(sandbox);
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        let refused = Arc::new(std::sync::OnceLock::new());
        let filling = Arc::new(tokio::sync::RwLock::new(()));
        let mut overlapped = None;
        if settings.build_first && sandbox.untouched_build_known_good() {
            // This exact copy built before, so the build will pass and is mostly a fingerprint
            // check: it runs beside the first request instead of before it, holding the turn so
            // the first candidate waits for it. Should it fail after all (a toolchain update),
            // every run reports why.
            let held = Arc::clone(&turn).lock_owned().await;
            let filled = Arc::clone(&filling).write_owned().await;
            let (sandbox, refused, location, events) = (
                Arc::clone(&sandbox),
                Arc::clone(&refused),
                location.clone(),
                events.clone(),
            );
            overlapped = Some(tokio::spawn(async move {
                let _held = (held, filled);
                if let Err(message) = check_untouched_build(&sandbox, &location, &events).await {
                    let _ = refused.set(message);
                }
            }));
        } else if settings.build_first {
            check_untouched_build(&sandbox, location, events).await?;
        }
        Ok(SharedSandbox {
            sandbox,
            turn,
            overlapped,
            refused,
            filling,
            mutants,
        })
    }

    /// The sandbox as one conversation's validation sees it: its file, its event stream.
    pub fn lend<'a>(
        &'a self,
        relative_path: &'a Path,
        events: &'a UnboundedSender<AgentEvent>,
    ) -> AgentSandbox<'a> {
        AgentSandbox {
            shared: self,
            relative_path,
            events,
        }
    }
}

/// `Err`: the untouched crate does not build, or cannot be built; the message says where.
async fn check_untouched_build(
    sandbox: &Sandbox,
    location: &SourceLocation,
    events: &UnboundedSender<AgentEvent>,
) -> Result<(), String> {
    let _ = events.send(AgentEvent::ValidationStep {
        what: "building the crate as it is, before any change".to_string(),
    });
    let mut on_progress = |progress| {
        let _ = events.send(AgentEvent::Sandbox(progress));
    };
    let report = sandbox
        .build_untouched(&whole_suite(location), &mut on_progress)
        .await
        .map_err(|e| format!("cannot build the crate in the sandbox: {e}"))?;
    send_run(events, RunPurpose::Untouched, &report);
    if report.outcome != RunOutcome::BuildFailed {
        return Ok(());
    }
    let first_error = report.compiler_errors.first().map_or_else(
        || first_line(&report.output).to_string(),
        |error| match (&error.file, error.line) {
            (Some(file), Some(line)) => format!("{}:{line}: {}", file.display(), error.message),
            _ => error.message.clone(),
        },
    );
    Err(format!(
        "the crate does not build as it is, before any change by kiln: {first_error}\n  \
         Fix the crate first (`cargo test --no-run` shows the same), then run kiln again."
    ))
}

/// The agent's sandbox lent to a task's validation: every run writes the task's file and streams
/// progress as the agent's own runs do.
pub(super) struct AgentSandbox<'a> {
    shared: &'a SharedSandbox,
    relative_path: &'a Path,
    events: &'a UnboundedSender<AgentEvent>,
}

impl SandboxRuns for AgentSandbox<'_> {
    fn step(&self, what: &str) {
        let _ = self.events.send(AgentEvent::ValidationStep {
            what: what.to_string(),
        });
    }

    fn run<'a>(
        &'a self,
        purpose: RunPurpose,
        text: &'a str,
        args: &'a TestArgs,
        env: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<RunReport, String>> {
        Box::pin(async move {
            let mutants = match purpose {
                RunPurpose::MutantBuild | RunPurpose::MutantRound => self.mutants_sandbox().await,
                _ => None,
            };
            let (sandbox, _turn) = match mutants {
                Some((sandbox, copy)) => (sandbox, copy.turn.lock().await),
                None => (&self.shared.sandbox, self.shared.turn.lock().await),
            };
            if let Some(message) = self.shared.refused.get() {
                return Err(message.clone());
            }
            sandbox
                .write_file(self.relative_path, text)
                .map_err(|e| format!("cannot write into the sandbox: {e}"))?;
            let events = self.events;
            let mut on_progress = |progress| {
                let _ = events.send(AgentEvent::Sandbox(progress));
            };
            let report = sandbox
                .cargo_test_with_env(args, env, &mut on_progress)
                .await
                .map_err(|e| format!("cannot run cargo in the sandbox: {e}"))?;
            send_run(events, purpose, &report);
            if report.redactions > 0 {
                let _ = events.send(AgentEvent::SecretsRedacted {
                    count: report.redactions,
                });
            }
            Ok(report)
        })
    }

    fn build_mutants_ahead<'a>(&'a self, text: &'a str, args: &'a TestArgs) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some((sandbox, copy)) = self.mutants_sandbox().await else {
                return;
            };
            let _turn = copy.turn.lock().await;
            if self.shared.refused.get().is_some()
                || sandbox.write_file(self.relative_path, text).is_err()
            {
                return;
            }
            // No progress events: the candidate's build, beside it, is what the user follows.
            if let Ok(report) = sandbox.build_tests(args, &mut |_| {}).await {
                send_run(self.events, RunPurpose::MutantBuildAhead, &report);
            }
        })
    }
}

impl AgentSandbox<'_> {
    /// The mutants' copy, once the shared cache it layers over is filled; `None`: the mutants
    /// run in the candidates' copy (see [`MutantCopy::sandbox`]).
    async fn mutants_sandbox(&self) -> Option<(&Arc<Sandbox>, &MutantCopy)> {
        let copy = self.shared.mutants.as_ref()?;
        drop(self.shared.filling.read().await);
        Some((copy.sandbox(&self.shared.sandbox).await?, copy))
    }
}

/// The size of the `.rs` files under `dir`: what rustc's work on a crate grows with.
fn rust_source_bytes(dir: &Path) -> u64 {
    let mut bytes = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(path),
                Ok(kind) if kind.is_file() && path.extension().is_some_and(|e| e == "rs") => {
                    bytes += entry.metadata().map_or(0, |m| m.len());
                }
                _ => {}
            }
        }
    }
    bytes
}

fn send_run(events: &UnboundedSender<AgentEvent>, purpose: RunPurpose, report: &RunReport) {
    let _ = events.send(AgentEvent::SandboxRun {
        purpose,
        took: report.duration,
        build: report.build_time,
    });
}
