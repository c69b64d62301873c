//! The signals kiln can catch end its work cleanly: SIGINT (Ctrl-C), SIGTERM (a `kill`, a
//! pre-commit framework's time-out) and SIGHUP (the terminal closed). A front end listens from
//! the moment it has something to clean up and, when one arrives, drops the work: that cancels
//! the model request in flight and drops the sandbox, which kills its processes and removes its
//! tempdir. The front end then restores what it changed (the TUI's terminal) and exits with the
//! signal's code ([`Exit::from`]).
//!
//! Once listened for, a signal no longer ends the process by itself (tokio keeps its handler for
//! the life of the process), so a front end listens until it exits. A signal that arrives while
//! nobody awaits [`StopSignals::recv`] is kept and returned by the next call.
//!
//! SIGKILL cannot be caught: the sandbox then dies with kiln (its pid namespace, see
//! `kiln doctor`) and the next run removes its tempdir.

use tokio::signal::unix::{signal, Signal, SignalKind};

use super::Exit;

/// Which signal asked kiln to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupt,
    Terminate,
    HangUp,
}

impl Stop {
    /// How kiln says it stopped, e.g. "interrupted; nothing was written".
    pub fn describe(self) -> &'static str {
        match self {
            Stop::Interrupt => "interrupted",
            Stop::Terminate => "terminated (SIGTERM)",
            Stop::HangUp => "the terminal hung up (SIGHUP)",
        }
    }
}

/// Listens for SIGINT, SIGTERM and SIGHUP.
pub struct StopSignals {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
    hang_up: Option<Signal>,
}

impl StopSignals {
    /// Starts listening. Must be called inside the tokio runtime. A signal that cannot be
    /// listened for keeps its default action and ends kiln at once: the sandbox still dies with
    /// kiln, only its tempdir waits for the next run.
    pub fn listen() -> StopSignals {
        StopSignals {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
            hang_up: signal(SignalKind::hangup()).ok(),
        }
    }

    /// The next stop signal. Cancel-safe: dropping the future loses no signal.
    pub async fn recv(&mut self) -> Stop {
        tokio::select! {
            () = next(&mut self.interrupt) => Stop::Interrupt,
            () = next(&mut self.terminate) => Stop::Terminate,
            () = next(&mut self.hang_up) => Stop::HangUp,
        }
    }
}

/// Resolves when `signal` arrives; never when it is not listened for.
async fn next(signal: &mut Option<Signal>) {
    let arrived = match signal {
        Some(signal) => signal.recv().await.is_some(),
        None => false,
    };
    if !arrived {
        std::future::pending::<()>().await;
    }
}

impl From<Stop> for Exit {
    fn from(stop: Stop) -> Exit {
        match stop {
            Stop::Interrupt => Exit::Interrupted,
            Stop::Terminate => Exit::Terminated,
            Stop::HangUp => Exit::HungUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell reports a command a signal ended as 128 plus the signal's number; kiln's own exit
    /// after a clean stop reads the same.
    #[test]
    fn each_stop_exits_with_128_plus_its_signal_number() {
        for (stop, number) in [
            (Stop::Interrupt, 2),
            (Stop::Terminate, 15),
            (Stop::HangUp, 1),
        ] {
            assert_eq!(Exit::from(stop) as i32, 128 + number, "{stop:?}");
        }
    }
}
