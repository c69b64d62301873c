//! One-shot commands: run a task, show progress on stderr, the diff on stdout, ask, apply.

pub mod doc;
pub mod doctor;
pub mod fim;
pub mod gen_tests;
pub(crate) mod progress;
pub mod refactor;
pub(crate) mod report;
mod runner;

/// Exit codes scripts can rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Applied, shown, declined, or nothing to do.
    Ok = 0,
    /// No passing candidate within the attempt budget.
    NoPassingResult = 1,
    /// Bad arguments, a bad input file, or a local problem (config, sandbox, changed file).
    Usage = 2,
    /// The model server failed for good.
    Model = 3,
    /// Interrupted with Ctrl-C; nothing was written.
    Interrupted = 130,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}
