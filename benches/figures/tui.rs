//! The TUI on a 10,000-line file: the first frame after opening it, timed in-process, and the
//! binary's peak memory in a real terminal (tmux).
//!
//! The first frame is timed in-process (file listing, opening the file as Enter does, one draw on
//! ratatui's `TestBackend`; the file's items, listed off the draw path for a file this big, are
//! timed apart) because from outside, tmux's own redraw and the polling of its screen
//! would be measured too: those are milliseconds of noise on a figure whose target is 50 ms. Peak
//! memory needs the real binary: it is the `VmHWM` of the `kiln tui` process once the file is on
//! screen.

use std::time::{Duration, Instant};

use crate::common::{median, ms, status_kib, Figure, Mode, Result, Verdict};
use crate::source;
use crate::support::Tmux;

const FILE_LINES: usize = 10_000;
const FULL_SAMPLES: usize = 10;
const TARGET_FRAME_MS: f64 = 50.0;
/// Decimal megabytes, as the target is written.
const TARGET_RSS_BYTES: u64 = 60_000_000;
/// The size of the terminal in tmux (support::Tmux), for the in-process frame too.
const WIDTH_COLS: u16 = 120;
const HEIGHT_ROWS: u16 = 40;
/// On screen once the large file is open: the top of its code, not just its name in the list.
const OPENED_MARK: &str = "impl Stage0 {";

pub fn first_frame(mode: Mode) -> Result<Figure<'static>> {
    let (dir, lib) = source::crate_with(&source::rust_file(FILE_LINES))?;
    let lines = source::line_count(&lib)?;
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..mode.samples(FULL_SAMPLES) {
        let started = Instant::now();
        let screen = kiln::tui::first_frame(dir.path(), WIDTH_COLS, HEIGHT_ROWS)?;
        times.push(started.elapsed());
        if !screen.contains(OPENED_MARK) {
            return Err(format!("the first frame does not show the file:\n{screen}").into());
        }
    }
    let frame = median(&mut times);
    // The file's items are listed after the first frame, off the draw path: timed apart, so the
    // figure says when the list is there too.
    let mut outlines: Vec<Duration> = Vec::new();
    for _ in 0..mode.samples(FULL_SAMPLES) {
        let started = Instant::now();
        let items = kiln::tui::outline_after_first_frame(dir.path())?;
        outlines.push(started.elapsed());
        if items == 0 {
            return Err("the 10,000-line file was not outlined".into());
        }
    }
    let outline = median(&mut outlines);
    Ok(Figure {
        name: "TUI first frame, 10,000-line file (in-process)",
        measured: ms(frame),
        reference: format!(
            "n/a (absolute; {lines} lines; its items listed {} after opening)",
            ms(outline)
        ),
        comparison: "-".into(),
        target: "< 50 ms",
        verdict: Verdict::of(frame.as_secs_f64() * 1e3 < TARGET_FRAME_MS),
    })
}

pub fn peak_rss() -> Result<Figure<'static>> {
    let name = "TUI peak RSS, 10,000-line file open";
    let target = "< 60 MB";
    if !Tmux::available() {
        return Ok(Figure {
            name,
            measured: "n/a: tmux is not installed".into(),
            reference: "-".into(),
            comparison: "-".into(),
            target,
            verdict: Verdict::NotAvailable,
        });
    }
    let (dir, _lib) = source::crate_with(&source::rust_file(FILE_LINES))?;
    let config_home = tempfile::tempdir()?;
    // `exec` makes kiln the pane's own process, so its pid is the pane's.
    let command = format!(
        "exec env OPENAI_BASE_URL=http://127.0.0.1:9/v1 OPENAI_API_KEY=bench-key \
         XDG_CONFIG_HOME={config} {kiln} tui {dir}",
        config = config_home.path().display(),
        kiln = env!("CARGO_BIN_EXE_kiln"),
        dir = dir.path().display(),
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("src/lib.rs");
    tmux.keys(&["Enter"]);
    tmux.wait_for(OPENED_MARK);
    let pid = tmux.pane_pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    if !status.lines().any(|l| l == "Name:\tkiln") {
        return Err(format!("the pane's process is not kiln:\n{status}").into());
    }
    let peak_bytes = status_kib(&status, "VmHWM:")? * 1024;
    tmux.keys(&["q"]);
    Ok(Figure {
        name,
        measured: format!("{:.1} MB", peak_bytes as f64 / 1e6),
        reference: "n/a (absolute)".into(),
        comparison: "-".into(),
        target,
        verdict: Verdict::of(peak_bytes < TARGET_RSS_BYTES),
    })
}
