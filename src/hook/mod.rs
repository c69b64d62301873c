//! `kiln hook install/uninstall/run` and `kiln apply`: the git pre-commit hook.
//!
//! The hook looks only at what is staged. With no new or changed public function lacking tests
//! or docs it exits at once without a model call; otherwise the nano tier gates each function
//! lacking tests, and mini writes tests and docs within a time budget. It never loses work, never `git add`s, and never blocks
//! a commit because the model could not be reached.

mod check;
mod findings;
mod git;
mod install;
mod patch;
mod slow_path;
mod staged;

use std::path::PathBuf;

use crate::frontend::Exit;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("`git {command}` failed: {message}")]
    Git { command: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is another tool's hook; kiln left it alone. Re-run with --force to set it aside (kiln keeps a backup and `kiln hook uninstall` restores it)")]
    ForeignHook(PathBuf),
    #[error("{0} already holds a backed-up hook; move it away first so it is not lost")]
    BackupExists(PathBuf),
    #[error("{0} is not kiln's hook; kiln left it alone")]
    NotOurs(PathBuf),
    #[error("{0}: no kiln hook is installed")]
    NotInstalled(PathBuf),
    #[error("{0}: not a kiln patch: {1}")]
    BadPatch(PathBuf, String),
    #[error(transparent)]
    Apply(#[from] crate::diff::ApplyError),
}

pub type Result<T> = std::result::Result<T, HookError>;

/// What the hook does when public functions are left untested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Print what is missing, save proposed tests and docs under .git/kiln/ for `kiln apply`,
    /// exit 0.
    #[default]
    Warn,
    /// As warn, but exit 1 (the commit stops) while public functions are left untested.
    /// Missing docs are proposed but never stop a commit.
    Block,
    /// Write validated tests and docs into the working tree and exit 1, so you review and
    /// re-stage.
    Fix,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Warn => "warn",
            Mode::Block => "block",
            Mode::Fix => "fix",
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub command: HookCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum HookCommand {
    /// Install kiln as this repository's git pre-commit hook.
    Install(InstallArgs),
    /// Remove kiln's pre-commit hook and restore the one it replaced.
    Uninstall,
    /// Check the staged Rust changes (what the installed hook runs).
    ///
    /// Exit codes: 0 nothing needed, warned, skipped, or the model was unavailable; 1 block mode
    /// found untested public functions (missing docs never block), or fix mode wrote tests or
    /// docs to review and stage; 2 not a
    /// git repository or a local error; 130, 143, 129 stopped by SIGINT, SIGTERM or SIGHUP, no
    /// patch saved.
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    #[arg(long, value_enum, default_value_t = Mode::Warn)]
    pub mode: Mode,
    /// Set an existing hook that is not kiln's aside (kept as pre-commit.kiln-backup).
    #[arg(long)]
    pub force: bool,
    /// With --mode block: also stop commits when the model is unavailable (see `hook run`).
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Only these staged files (the pre-commit framework passes them). Default: every staged
    /// .rs file.
    pub files: Vec<String>,
    #[arg(long, value_enum, default_value_t = Mode::Warn)]
    pub mode: Mode,
    /// Total seconds for the model work [default: 60, or hook_budget_secs in kiln.toml].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub budget_secs: Option<u64>,
    /// With --mode block: also stop the commit when the model is unavailable, failed, or ran
    /// out of time.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A patch the hook saved, e.g. .git/kiln/src__lib.rs.patch.
    pub patch: PathBuf,
}

pub async fn run(args: HookArgs) -> Exit {
    match args.command {
        HookCommand::Install(args) => match install::install(&args) {
            Ok(install::Installed::Fresh(path) | install::Installed::Updated(path)) => {
                println!("kiln: installed {} (mode {})", path.display(), args.mode);
                Exit::Ok
            }
            Ok(install::Installed::ReplacedForeign(path, backup)) => {
                println!(
                    "kiln: installed {} (mode {}); the previous hook is kept at {}",
                    path.display(),
                    args.mode,
                    backup.display()
                );
                Exit::Ok
            }
            Err(e) => fail(&e),
        },
        HookCommand::Uninstall => match install::uninstall() {
            Ok(Some(restored)) => {
                println!("kiln: removed the hook and restored {}", restored.display());
                Exit::Ok
            }
            Ok(None) => {
                println!("kiln: removed the hook");
                Exit::Ok
            }
            Err(e) => fail(&e),
        },
        HookCommand::Run(args) => check::staged_changes(&args).await,
    }
}

/// `kiln apply PATCH`.
pub fn apply(args: ApplyArgs) -> Exit {
    match patch::apply(&args.patch) {
        Ok(target) => {
            println!("kiln: applied to {}", target.display());
            Exit::Ok
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &HookError) -> Exit {
    eprintln!("kiln: {e}");
    Exit::Usage
}
