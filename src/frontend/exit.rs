//! The exit codes every `kiln` command ends with, so scripts can rely on them whichever front
//! end ran.

/// Exit codes scripts can rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Applied, shown, declined, or nothing to do.
    Ok = 0,
    /// No passing candidate within the attempt budget, or (`--patch`) the hunks the user
    /// accepted fail the check the whole proposal passed: either way no result that passes
    /// was written.
    NoPassingResult = 1,
    /// Bad arguments, a bad input file, or a local problem (config, sandbox, changed file).
    Usage = 2,
    /// The model server failed for good.
    Model = 3,
    /// Stopped by SIGINT (Ctrl-C); nothing was written. Like the codes below, 128 plus the
    /// signal's number, as a shell reports a command a signal ended. Which signal gives which
    /// code is decided in one place, [`crate::frontend::signal`].
    Interrupted = 130,
    /// Stopped by SIGTERM; nothing was written.
    Terminated = 143,
    /// Stopped by SIGHUP (the terminal closed); nothing was written.
    HungUp = 129,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}
