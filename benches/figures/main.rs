//! kiln's own overhead and prompt size, each printed next to a reference measured in the same run
//! (issue 9): start-up, the TUI's first frame and peak memory on a large file, the client's share
//! of time-to-first-token, prompt tokens for gen-tests, and end-to-end gen-tests against a
//! scripted model's delays. Nothing is asserted about time; a missed target prints `MISSED`.
//!
//! Run: `cargo bench --bench figures [-- --smoke]`; `benches/run.sh` runs every bench.

#[path = "../common/mod.rs"]
mod common;
#[path = "../../tests/support/mod.rs"]
mod support;

mod end_to_end;
mod source;
mod startup;
mod tokens;
mod ttft;
mod tui;

use common::{Mode, Result};

fn main() -> Result<()> {
    let mode = Mode::from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    startup::figure(mode)?.print();
    tui::first_frame(mode)?.print();
    tui::peak_rss()?.print();
    runtime.block_on(ttft::figure(mode))?.print();
    tokens::figure()?.print();
    tokens::across_files_figure()?.print();
    runtime.block_on(end_to_end::figure(mode))?.print();
    Ok(())
}
