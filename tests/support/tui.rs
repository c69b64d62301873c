//! Driving `kiln tui` in a tmux pane: the pane's command, what it leaves behind (exit status,
//! terminal modes), and the keys that start gen-tests on the demo's `mean_floor`.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Tmux, POLL_MS, WAIT_LIMIT_SECS};

pub fn wait_for_file(path: &Path) -> String {
    let started = Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < Duration::from_secs(WAIT_LIMIT_SECS));
        std::thread::sleep(Duration::from_millis(POLL_MS));
    }
    std::thread::sleep(Duration::from_millis(POLL_MS));
    std::fs::read_to_string(path).unwrap()
}

/// .ci/run installs tmux; elsewhere a test says why it did nothing.
pub fn tmux_missing() -> bool {
    if Tmux::available() {
        return false;
    }
    assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
    eprintln!("skipped: tmux is not installed");
    true
}

/// The shell command for the tmux pane: `kiln tui` on `dir` with `env` on top of the model's,
/// then the exit status and the terminal's modes written to `out`/exit and `out`/stty (read them
/// with [`exit_and_stty`]).
pub fn tui_command(base_url: &str, dir: &Path, out: &Path, env: &[(&str, &str)]) -> String {
    let extra: String = env
        .iter()
        .map(|(name, value)| format!("{name}={value} "))
        .collect();
    format!(
        "env OPENAI_BASE_URL={base_url} OPENAI_API_KEY=test-key XDG_CONFIG_HOME={config} \
         KILN_MAX_RETRIES=0 {extra}{kiln} tui {dir}; echo $? > {exit}; stty -a > {stty}; \
         sleep 600",
        config = out.display(),
        kiln = env!("CARGO_BIN_EXE_kiln"),
        dir = dir.display(),
        exit = out.join("exit").display(),
        stty = out.join("stty").display(),
    )
}

/// Waits for kiln to end; its exit status, trimmed, and `stty -a` after it.
pub fn exit_and_stty(out: &Path) -> (String, String) {
    let exit = wait_for_file(&out.join("exit"));
    let stty = wait_for_file(&out.join("stty"));
    (exit.trim().to_string(), stty)
}

/// Runs `command` in tmux, opens src/lib.rs, selects `mean_floor` and presses `t`.
pub fn start_gen_tests_on_mean_floor(command: &str) -> Tmux {
    let tmux = Tmux::start(command);
    tmux.wait_for("src/lib.rs");
    tmux.keys(&["Enter"]);
    tmux.wait_for("mean_floor");
    tmux.keys(&["/", "mean_floor", "Enter", "t"]);
    tmux
}

/// Raw mode turns these off; a restored terminal has them back.
pub fn assert_terminal_restored(stty: &str) {
    assert!(
        stty.contains(" icanon") && stty.contains(" echo "),
        "{stty}"
    );
}
