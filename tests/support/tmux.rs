//! Driving a real terminal: a private tmux server running one command in a 120x40 pane.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A safety net for a hung run, not a speed check: the sandbox may compile a crate from cold.
pub const WAIT_LIMIT_SECS: u64 = 300;
pub const POLL_MS: u64 = 200;

/// Numbers the servers of one test binary, whose tests run at the same time.
static NEXT_SERVER: AtomicUsize = AtomicUsize::new(0);

/// A tmux server of its own (`-L`), so a test never touches the user's sessions or another test's.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(command: &str) -> Tmux {
        let socket = format!(
            "kiln-test-{}-{}",
            std::process::id(),
            NEXT_SERVER.fetch_add(1, Ordering::Relaxed)
        );
        let tmux = Tmux { socket };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "kiln",
            "-x",
            "120",
            "-y",
            "40",
            command,
        ]);
        tmux
    }

    pub fn available() -> bool {
        Command::new("tmux").arg("-V").output().is_ok()
    }

    pub fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", "kiln", key]);
        }
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "kiln"])
    }

    /// The pane's process: the command itself when it was started with `exec`.
    pub fn pane_pid(&self) -> u32 {
        let pid = self.run(&["display-message", "-p", "-t", "kiln", "#{pane_pid}"]);
        pid.trim().parse().unwrap()
    }

    pub fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < Duration::from_secs(WAIT_LIMIT_SECS),
                "no {text:?} on screen within {WAIT_LIMIT_SECS} s:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(POLL_MS));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
