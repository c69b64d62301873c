//! Naming why a run ended badly: which limit or denial of the sandbox it hit.
//!
//! The limits leave recognisable traces: a signal in cargo's "process didn't
//! exit successfully" line, Rust's allocation-failure message, an `os error`
//! code in a panic. We scan every line of test and cargo output (not the
//! compiler's JSON, whose code snippets could quote anything), since the
//! kept output is capped and may have lost the line.

use serde::Serialize;

/// What stopped a run, when it was the sandbox rather than the code's own
/// logic. In order of precedence when several apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The wall-clock limit: the whole run was killed.
    Timeout,
    /// A process used up its CPU time (`SIGXCPU`).
    CpuTime,
    /// An allocation failed under the memory limit.
    Memory,
    /// A file grew past the file-size limit (`SIGXFSZ`).
    FileSize,
    /// Starting a process or thread failed under the process limit.
    Processes,
    /// The sandbox refused an operation: a write outside it, a network
    /// connection, a signal to an outside process.
    Denied,
    /// The output was longer than the cap and its middle was cut; the run
    /// itself may have been fine.
    OutputCap,
}

impl Cause {
    /// One line for people and models.
    pub fn describe(self) -> &'static str {
        match self {
            Cause::Timeout => "the wall-clock limit was hit and the run was killed",
            Cause::CpuTime => "a process used up its CPU time limit (SIGXCPU)",
            Cause::Memory => "an allocation failed under the sandbox's memory limit",
            Cause::FileSize => "a file grew past the sandbox's file-size limit (SIGXFSZ)",
            Cause::Processes => "starting a process or thread failed under the process limit",
            Cause::Denied => {
                "the sandbox denied an operation (writing outside the crate copy, or the network)"
            }
            Cause::OutputCap => "the output exceeded the cap and its middle was cut",
        }
    }
}

/// Traces in output lines, each mapped to the cause it proves.
///
/// Cargo names some signals ("signal: 24, SIGXCPU: ...") and only numbers
/// others ("signal: 25"), so both forms are listed (Linux numbers on x86 and arm).
const TRACES: &[(&str, Cause)] = &[
    ("SIGXCPU", Cause::CpuTime),
    ("(signal: 24", Cause::CpuTime),
    ("SIGXFSZ", Cause::FileSize),
    ("(signal: 25", Cause::FileSize),
    ("memory allocation of ", Cause::Memory),
    ("Cannot allocate memory (os error 12)", Cause::Memory),
    (
        "Resource temporarily unavailable (os error 11)",
        Cause::Processes,
    ),
    ("Permission denied (os error 13)", Cause::Denied),
    ("Operation not permitted (os error 1)", Cause::Denied),
    ("Read-only file system (os error 30)", Cause::Denied),
    ("Network is unreachable (os error 101)", Cause::Denied),
];

/// Collects traces line by line.
#[derive(Debug, Default)]
pub(crate) struct CauseScan {
    /// The highest-precedence cause seen so far.
    strongest: Option<Cause>,
}

impl CauseScan {
    pub(crate) fn line(&mut self, line: &str) {
        for (trace, cause) in TRACES {
            if line.contains(trace) {
                self.note(*cause);
            }
        }
    }

    fn note(&mut self, cause: Cause) {
        self.strongest = Some(self.strongest.map_or(cause, |seen| seen.min(cause)));
    }

    /// The cause of a run. A passing run can only have been cut; a failing
    /// one names the strongest trace (a timeout beats everything).
    pub(crate) fn finish(
        mut self,
        passed: bool,
        timed_out: bool,
        output_cut: bool,
    ) -> Option<Cause> {
        if passed {
            return output_cut.then_some(Cause::OutputCap);
        }
        if timed_out {
            self.note(Cause::Timeout);
        }
        if output_cut {
            self.note(Cause::OutputCap);
        }
        self.strongest
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn scan(lines: &[&str]) -> CauseScan {
        let mut scan = CauseScan::default();
        for line in lines {
            scan.line(line);
        }
        scan
    }

    #[test]
    fn strongest_trace_wins_and_timeout_beats_all() {
        let lines = [
            "thread 't' panicked at src/lib.rs:3:9: Permission denied (os error 13)",
            "memory allocation of 17179869184 bytes failed",
        ];
        assert_eq!(scan(&lines).finish(false, false, true), Some(Cause::Memory));
        assert_eq!(
            scan(&lines).finish(false, true, false),
            Some(Cause::Timeout)
        );
        assert_eq!(
            scan(&["  process didn't exit successfully: `x` (signal: 24, SIGXCPU: cpu time limit exceeded)"])
                .finish(false, false, false),
            Some(Cause::CpuTime)
        );
    }

    #[test]
    fn passing_runs_are_only_ever_cut() {
        let lines = ["Permission denied (os error 13)"];
        assert_eq!(scan(&lines).finish(true, false, false), None);
        assert_eq!(
            scan(&lines).finish(true, false, true),
            Some(Cause::OutputCap)
        );
        assert_eq!(
            scan(&["test a ... FAILED"]).finish(false, false, false),
            None
        );
    }

    #[test]
    fn cause_serializes_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&Cause::CpuTime).unwrap(),
            "\"cpu_time\""
        );
    }
}
