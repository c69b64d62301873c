//! What every bench target shares: the run mode, medians, and one line format per figure that
//! `benches/run.sh` collects into a table.
// Each bench target includes this file and uses a different part of it.
#![allow(dead_code)]

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `--smoke`: one iteration of everything, to check each figure is still produced. Times from a
/// smoke run mean nothing (debug build in CI, one sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Smoke,
    Full,
}

impl Mode {
    pub fn from_args() -> Mode {
        if std::env::args().any(|arg| arg == "--smoke") {
            Mode::Smoke
        } else {
            Mode::Full
        }
    }

    /// `full` samples in a full run, one in a smoke run.
    pub fn samples(self, full: usize) -> usize {
        match self {
            Mode::Smoke => 1,
            Mode::Full => full,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// The figure could not be measured in this build; the line says why.
    NotAvailable,
    /// The figure has no target: it is shown to explain another (a share of a measured time).
    Shown,
}

impl Verdict {
    pub fn of(met: bool) -> Verdict {
        if met {
            Verdict::Met
        } else {
            Verdict::Missed
        }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::NotAvailable => "n/a",
            Verdict::Shown => "shown",
        }
    }
}

/// One row of the table: the figure, its reference from the same run, how they compare, the
/// target, and whether it was met.
pub struct Figure<'a> {
    pub name: &'a str,
    pub measured: String,
    pub reference: String,
    pub comparison: String,
    pub target: &'a str,
    pub verdict: Verdict,
}

impl Figure<'_> {
    /// Prints the figure as a tab-separated `FIGURE` line (what run.sh tabulates).
    pub fn print(&self) {
        println!(
            "FIGURE\t{}\t{}\t{}\t{}\t{}\t{}",
            self.name,
            self.measured,
            self.reference,
            self.comparison,
            self.target,
            self.verdict.label()
        );
    }
}

pub fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

pub fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

/// Wall time of one run of `command` with no input and its output discarded, and how it ended.
pub fn time(command: &mut Command) -> Result<(Duration, ExitStatus)> {
    let started = Instant::now();
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    Ok((started.elapsed(), status))
}

/// A `kB` field of /proc/PID/status, e.g. `VmHWM:    41234 kB` (the peak resident set).
pub fn status_kib(status: &str, field: &str) -> Result<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc status:\n{status}").into())
}
