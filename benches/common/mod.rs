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

/// A `BREAKDOWN` line (listed by `benches/run.sh` under the table): where one kiln run's `wall`
/// time went, from the `timings` of its `--json` summary, with the scripted `model`'s waits where
/// there were any. `rest` is the wall time none of the parts covers.
pub fn breakdown(
    label: &str,
    wall: Duration,
    model: Option<Duration>,
    timings: &serde_json::Value,
) -> String {
    let ms = |value: &serde_json::Value| value.as_u64().unwrap_or(0);
    let secs = |ms: u64| format!("{:.2} s", ms as f64 / 1_000.0);
    let mut parts = Vec::new();
    let mut timed = 0;
    if let Some(model) = model {
        let model = model.as_millis() as u64;
        timed += model;
        parts.push(format!("model {}", secs(model)));
    }
    timed += ms(&timings["copy_ms"]);
    parts.push(format!("copy {}", secs(ms(&timings["copy_ms"]))));
    // In the order a validation makes them (the JSON object's keys are sorted by name).
    for purpose in [
        "untouched",
        "candidate",
        "rerun",
        "mutant_build_ahead",
        "mutant_build",
        "mutant_round",
        "confirm",
    ] {
        let times = &timings["runs"][purpose];
        if times.is_object() {
            // The build ahead overlaps the candidate's runs: shown, not counted twice.
            if purpose != "mutant_build_ahead" {
                timed += ms(&times["ms"]);
            }
            parts.push(format!(
                "{purpose} {}x {} (build {})",
                ms(&times["runs"]),
                secs(ms(&times["ms"])),
                secs(ms(&times["build_ms"]))
            ));
        }
    }
    let wall = wall.as_millis() as u64;
    parts.push(format!("kiln CPU {}", secs(ms(&timings["kiln_cpu_ms"]))));
    parts.push(format!("rest {}", secs(wall.saturating_sub(timed))));
    format!(
        "BREAKDOWN\t{label}, {} wall: {}",
        secs(wall),
        parts.join(" · ")
    )
}
