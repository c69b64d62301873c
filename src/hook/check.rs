//! `kiln hook run`: skip checks, the fast path, then the model work and what each mode does
//! with its result.

use std::path::Path;
use std::time::Duration;

use super::slow_path::{self, Report};
use super::{findings, git, patch, staged, Mode, RunArgs};
use crate::diff;
use crate::frontend::session::{self, Session};
use crate::frontend::signal::StopSignals;
use crate::frontend::wording::first_line;
use crate::frontend::Exit;

/// Exit 1 is what stops a commit in git's and pre-commit's convention.
const STOP_COMMIT: Exit = Exit::NoPassingResult;

/// `KILN_SKIP=1`, or pre-commit's `SKIP=id,id` naming kiln.
fn skip_reason(env: &dyn Fn(&str) -> Option<String>) -> Option<&'static str> {
    if env("KILN_SKIP").is_some_and(|v| !v.is_empty() && v != "0") {
        return Some("KILN_SKIP");
    }
    if env("SKIP").is_some_and(|v| v.split(',').any(|id| id.trim() == "kiln")) {
        return Some("SKIP=kiln");
    }
    None
}

pub async fn staged_changes(args: &RunArgs) -> Exit {
    if let Some(reason) = skip_reason(&|name| std::env::var(name).ok()) {
        eprintln!("kiln: skipped ({reason})");
        return Exit::Ok;
    }
    match inspect(args).await {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("kiln: {e}");
            Exit::Usage
        }
    }
}

async fn inspect(args: &RunArgs) -> super::Result<Exit> {
    // The fast path: one git process when no .rs file is staged, two otherwise.
    let paths = staged::changed_rust_files(&args.files)?;
    if paths.is_empty() {
        return Ok(Exit::Ok);
    }
    let files = staged::read(&paths)?;
    let findings: Vec<_> = files.iter().flat_map(findings::in_file).collect();
    if findings.is_empty() {
        return Ok(Exit::Ok);
    }
    for f in &findings {
        eprintln!("kiln: {}", f.describe());
    }
    let any_untested = findings.iter().any(|f| f.needs_tests);

    let top = git::top_level()?;
    let kiln_dir = git::kiln_dir()?;
    let config = match session::config_at(&top) {
        Ok(config) => config,
        Err(e) => return Ok(unavailable(args, &e.to_string())),
    };
    let session = match Session::new(&config, None) {
        Ok(session) => session,
        Err(e) => return Ok(unavailable(args, &e.to_string())),
    };
    let budget = args
        .budget_secs
        .map(Duration::from_secs)
        .unwrap_or(config.hook_budget);
    let checkout = kiln_dir.join("staged");
    // Only the slow path listens: until here a signal's default action ends kiln with nothing
    // to clean up, and the fast path stays as cheap as it is.
    let mut stops = StopSignals::listen();
    let work = tokio::select! {
        work = slow_path::write_tests_and_docs(findings, &config, &session, &checkout, budget) => {
            Ok(work)
        }
        stop = stops.recv() => Err(stop),
    };
    // A run killed before this line leaves the checkout; the next run empties it first.
    if checkout.exists() {
        let _ = std::fs::remove_dir_all(&checkout);
    }
    match work {
        Ok(Ok(report)) => finish(args, &report, any_untested, &top, &kiln_dir),
        Ok(Err(why)) => Ok(unavailable(args, &why)),
        Err(stop) => {
            // Nothing was saved yet: patches are written only after the model work is done.
            eprintln!("kiln: {}; nothing was written", stop.describe());
            Ok(stop.into())
        }
    }
}

/// The model could not do its part: one line, and the commit goes ahead unless block mode was
/// asked to be strict.
fn unavailable(args: &RunArgs, why: &str) -> Exit {
    let why = first_line(why);
    if args.mode == Mode::Block && args.strict {
        eprintln!("kiln: tests not checked: {why} (commit stopped: --strict)");
        return STOP_COMMIT;
    }
    eprintln!("kiln: tests not checked: {why}");
    Exit::Ok
}

fn finish(
    args: &RunArgs,
    report: &Report,
    any_untested: bool,
    top: &Path,
    kiln_dir: &Path,
) -> super::Result<Exit> {
    let mode = args.mode;
    for failure in &report.failures {
        eprintln!("kiln: {failure}");
    }
    if any_untested && report.needed.is_empty() {
        eprintln!("kiln: the nano model says none of them needs tests");
    }
    let mut written = Vec::new();
    for p in &report.proposals {
        if mode == Mode::Fix {
            // Only over exactly the staged text: unstaged edits in the file are never lost.
            match diff::apply(&top.join(&p.file), &p.original, &p.new_text) {
                Ok(()) => {
                    eprintln!("kiln: wrote {} to {}", p.summary, p.file);
                    written.push(p.file.as_str());
                    continue;
                }
                Err(diff::ApplyError::ChangedSinceRead(_)) => {
                    eprintln!("kiln: {} has unstaged edits; not written", p.file);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let saved = patch::save(kiln_dir, p)?;
        eprintln!(
            "kiln: proposed {} for {}: kiln apply {}",
            p.summary,
            p.file,
            saved.display()
        );
    }
    if mode == Mode::Fix && !written.is_empty() {
        eprintln!(
            "kiln: review and `git add` {}, then commit again",
            written.join(", ")
        );
        return Ok(STOP_COMMIT);
    }
    if let Some(why) = &report.interrupted {
        return Ok(unavailable(args, why));
    }
    // Block is about tests only: missing docs are proposed, never a reason to stop a commit.
    Ok(match mode {
        Mode::Warn | Mode::Fix => Exit::Ok,
        Mode::Block if report.needed.is_empty() => Exit::Ok,
        Mode::Block => {
            eprintln!(
                "kiln: commit stopped: {} public function(s) without tests (git commit --no-verify skips this check)",
                report.needed.len()
            );
            STOP_COMMIT
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn skip_variables_are_honoured_and_other_ids_are_not_kiln() {
        assert_eq!(skip_reason(&env(&[("KILN_SKIP", "1")])), Some("KILN_SKIP"));
        assert_eq!(skip_reason(&env(&[("KILN_SKIP", "0")])), None);
        assert_eq!(
            skip_reason(&env(&[("SKIP", "fmt, kiln")])),
            Some("SKIP=kiln")
        );
        assert_eq!(skip_reason(&env(&[("SKIP", "kilnx,fmt")])), None);
        assert_eq!(skip_reason(&env(&[])), None);
    }
}
