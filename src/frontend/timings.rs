//! Where a run's time went, gathered from the agent's events: the sandbox copy, each kind of
//! sandbox run (with how much of it was building), and kiln's own CPU. The events already carry
//! every duration, so this only adds them up; what is printed is what the sandbox measured.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::agent::AgentEvent;
use crate::task::RunPurpose;

/// A run's time, by part. Milliseconds, for `--json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Copying the crate into the sandbox.
    pub copy_ms: Option<u64>,
    /// Per kind of sandbox run, in the order a validation makes them.
    pub runs: BTreeMap<RunPurpose, RunTimes>,
    /// kiln's own CPU time (user + system), its children (cargo, the tests) left out; `None`
    /// where the kernel does not say.
    pub kiln_cpu_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunTimes {
    pub runs: u32,
    /// Wall time of these runs, build included.
    pub ms: u64,
    /// Of `ms`, the time until cargo said the build was done (runs where it did not say count
    /// as all build).
    pub build_ms: u64,
}

impl Timings {
    pub fn record(&mut self, event: &AgentEvent) {
        match event {
            AgentEvent::SandboxReady { took, .. } => {
                *self.copy_ms.get_or_insert(0) += millis(*took);
            }
            AgentEvent::SandboxRun {
                purpose,
                took,
                build,
            } => {
                let times = self.runs.entry(*purpose).or_default();
                times.runs += 1;
                times.ms += millis(*took);
                times.build_ms += millis(build.unwrap_or(*took).min(*took));
            }
            AgentEvent::Part { event, .. } => self.record(event),
            _ => {}
        }
    }

    /// Reads kiln's CPU time so far; call at the end of the run.
    pub fn finish(&mut self) {
        self.kiln_cpu_ms = own_cpu().map(millis);
    }

    /// One line: "sandbox 2.41 s: copy 0.03 s, candidate 2 runs 1.20 s (build 0.90 s), ...;
    /// kiln CPU 0.12 s". `None` before any sandbox work.
    pub fn describe(&self) -> Option<String> {
        if self.runs.is_empty() {
            return None;
        }
        // A build made ahead ran beside other runs, so its time is not added a second time.
        let total: u64 = self.copy_ms.unwrap_or(0)
            + self
                .runs
                .iter()
                .filter(|(purpose, _)| **purpose != RunPurpose::MutantBuildAhead)
                .map(|(_, t)| t.ms)
                .sum::<u64>();
        let mut parts = Vec::new();
        if let Some(copy) = self.copy_ms {
            parts.push(format!("copy {}", seconds(copy)));
        }
        for (purpose, times) in &self.runs {
            let runs = match times.runs {
                1 => "1 run".to_string(),
                n => format!("{n} runs"),
            };
            let beside = match purpose {
                RunPurpose::MutantBuildAhead => ", beside the candidate's runs",
                _ => "",
            };
            parts.push(format!(
                "{} {runs} {} (build {}{beside})",
                purpose_words(*purpose),
                seconds(times.ms),
                seconds(times.build_ms)
            ));
        }
        let cpu = self
            .kiln_cpu_ms
            .map_or_else(|| "unknown".to_string(), seconds);
        Some(format!(
            "time in the sandbox {}: {}; kiln's own CPU {cpu}",
            seconds(total),
            parts.join(", ")
        ))
    }
}

fn purpose_words(purpose: RunPurpose) -> &'static str {
    match purpose {
        RunPurpose::Untouched => "untouched crate",
        RunPurpose::Candidate => "candidate",
        RunPurpose::Rerun => "re-runs",
        RunPurpose::MutantBuild => "mutant build",
        RunPurpose::MutantBuildAhead => "mutant build ahead",
        RunPurpose::MutantRound => "mutant rounds",
        RunPurpose::Confirm => "confirmation",
        RunPurpose::Subset => "accepted hunks",
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn seconds(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1_000.0)
}

/// User plus system CPU of this process (all its threads), not of its children.
fn own_cpu() -> Option<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes one rusage into the pointer we pass and reads nothing else.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return None;
        }
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        let micros = u64::try_from(t.tv_sec).ok()? * 1_000_000 + u64::try_from(t.tv_usec).ok()?;
        Some(Duration::from_micros(micros))
    };
    Some(time(usage.ru_utime)? + time(usage.ru_stime)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(purpose: RunPurpose, took_ms: u64, build_ms: Option<u64>) -> AgentEvent {
        AgentEvent::SandboxRun {
            purpose,
            took: Duration::from_millis(took_ms),
            build: build_ms.map(Duration::from_millis),
        }
    }

    #[test]
    fn runs_add_up_per_purpose_including_those_of_batch_parts() {
        let mut timings = Timings::default();
        timings.record(&run(RunPurpose::Candidate, 1_200, Some(900)));
        timings.record(&AgentEvent::Part {
            index: 1,
            total: 2,
            event: Box::new(run(RunPurpose::Candidate, 800, None)),
        });
        timings.record(&run(RunPurpose::Rerun, 150, Some(20)));
        assert_eq!(
            timings.runs[&RunPurpose::Candidate],
            RunTimes {
                runs: 2,
                ms: 2_000,
                build_ms: 1_700
            }
        );
        let line = timings.describe().unwrap();
        assert!(
            line.contains("candidate 2 runs 2.00 s (build 1.70 s)")
                && line.contains("re-runs 1 run 0.15 s (build 0.02 s)")
                && line.contains("time in the sandbox 2.15 s"),
            "{line}"
        );
    }

    #[test]
    fn a_build_made_ahead_is_shown_but_not_added_to_the_sandbox_time() {
        let mut timings = Timings::default();
        timings.record(&run(RunPurpose::Candidate, 700, Some(650)));
        timings.record(&run(RunPurpose::MutantBuildAhead, 600, Some(600)));
        timings.record(&run(RunPurpose::MutantRound, 100, Some(0)));
        let line = timings.describe().unwrap();
        assert!(
            line.contains("time in the sandbox 0.80 s")
                && line.contains(
                    "mutant build ahead 1 run 0.60 s (build 0.60 s, beside the candidate's runs)"
                ),
            "{line}"
        );
    }

    #[test]
    fn kiln_cpu_is_measured_and_grows_with_work() {
        let before = own_cpu().unwrap();
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        std::hint::black_box(x);
        assert!(own_cpu().unwrap() > before);
    }
}
