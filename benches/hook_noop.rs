//! `kiln hook run` on a commit that changes no Rust function vs `git diff --cached --quiet`, the
//! cheapest thing a pre-commit hook can do, both timed in the same temp git repo (median).
//!
//! The staged change is a comment at the top of `src/lib.rs` of a copy of `assets/demo`, so the
//! hook has a staged `.rs` file to look at and nothing to do.
//!
//! Run: `cargo bench --bench hook_noop [-- --smoke]`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{median, ms, time, Figure, Mode, Result, Verdict};

const FULL_SAMPLES: usize = 30;
const TARGET_MS: f64 = 30.0;
const FIGURE_NAME: &str = "kiln hook run, no Rust function changed";

fn main() -> Result<()> {
    let samples = Mode::from_args().samples(FULL_SAMPLES);
    let repo = tempfile::tempdir()?;
    let config_home = tempfile::tempdir()?;
    stage_comment_only_change(repo.path())?;
    let kiln = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
        command
            .args(["hook", "run"])
            .current_dir(repo.path())
            // A no-op hook makes no model call; a server that is not there makes sure of it.
            .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
            .env("OPENAI_API_KEY", "bench-key")
            .env("XDG_CONFIG_HOME", config_home.path())
            .env("KILN_CACHE_DIR", config_home.path());
        command
    };
    let git = || {
        let mut command = Command::new("git");
        command
            .args(["diff", "--cached", "--quiet"])
            .current_dir(repo.path());
        command
    };

    let first = run(kiln())?;
    if !first.status.success() {
        return Err(format!("kiln hook run failed on a no-op commit: {first:?}").into());
    }

    let mut hook_times = Vec::new();
    let mut git_times = Vec::new();
    for _ in 0..samples {
        hook_times.push(time_exited(kiln())?);
        git_times.push(time_exited(git())?);
    }
    let hook = median(&mut hook_times);
    let reference = median(&mut git_times);
    Figure {
        name: FIGURE_NAME,
        measured: ms(hook),
        reference: format!("git diff --cached --quiet {}", ms(reference)),
        comparison: format!("{:.1}x", hook.as_secs_f64() / reference.as_secs_f64()),
        target: "< 30 ms median",
        verdict: Verdict::of(hook.as_secs_f64() * 1e3 < TARGET_MS),
    }
    .print();
    Ok(())
}

/// A git repo holding `assets/demo`, committed, with a comment added to `src/lib.rs` and staged.
fn stage_comment_only_change(repo: &Path) -> Result<()> {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    std::fs::create_dir_all(repo.join("src"))?;
    std::fs::copy(demo.join("Cargo.toml"), repo.join("Cargo.toml"))?;
    let lib = std::fs::read_to_string(demo.join("src/lib.rs"))?;
    std::fs::write(repo.join("src/lib.rs"), &lib)?;
    git_ok(repo, &["init", "--quiet"])?;
    git_ok(repo, &["add", "."])?;
    git_ok(
        repo,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@localhost",
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            "demo",
        ],
    )?;
    std::fs::write(
        repo.join("src/lib.rs"),
        format!("// A comment changes no function.\n{lib}"),
    )?;
    git_ok(repo, &["add", "src/lib.rs"])
}

fn git_ok(repo: &Path, args: &[&str]) -> Result<()> {
    let output = run({
        let mut command = Command::new("git");
        command.args(args).current_dir(repo);
        command
    })?;
    if !output.status.success() {
        return Err(format!("git {args:?} failed: {output:?}").into());
    }
    Ok(())
}

fn run(mut command: Command) -> Result<Output> {
    Ok(command.stdin(Stdio::null()).output()?)
}

/// Wall time of one run that ended with an exit code, as a hook's caller sees it: `git diff
/// --cached --quiet` exits 1 when something is staged, as it is here.
fn time_exited(mut command: Command) -> Result<Duration> {
    let (elapsed, status) = time(&mut command)?;
    if status.code().is_none() {
        return Err(format!("{command:?} was killed: {status}").into());
    }
    Ok(elapsed)
}
