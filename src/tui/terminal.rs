//! Entering and leaving the full-screen terminal. The terminal is restored on every way out: a
//! normal return, an error (the guard's drop), and a panic (ratatui's hook, installed by init).

use std::io::IsTerminal;

use ratatui::DefaultTerminal;

use super::strings;

#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error("{}", strings::NOT_A_TTY)]
    NotATty,
    #[error("cannot set up the terminal: {0}")]
    Setup(#[from] std::io::Error),
}

pub struct TerminalGuard {
    pub terminal: DefaultTerminal,
}

impl TerminalGuard {
    pub fn enter() -> Result<TerminalGuard, TerminalError> {
        if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
            return Err(TerminalError::NotATty);
        }
        let terminal = ratatui::try_init().inspect_err(|_| ratatui::restore())?;
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}
