//! Times a re-run of unchanged text on a copy of `assets/demo`: through cargo (the copy just
//! changed in a file cargo does not build from, so cargo builds nothing but still starts and
//! checks its fingerprints) and from the recorded test binaries. Prints the median of each.
//!
//! `cargo run -p kiln-sandbox --example rerun_timing [-- CRATE_DIR]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kiln_sandbox::{Sandbox, SandboxConfig, TestArgs};

const RUNS: usize = 8;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let source = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/demo"),
        PathBuf::from,
    );
    let sandbox = Sandbox::create(&source, SandboxConfig::default()).unwrap();
    let args = TestArgs {
        target_flags: vec!["--lib".into()],
        filter: None,
    };
    let first = sandbox.cargo_test(&args, &mut |_| {}).await.unwrap();
    println!(
        "first run (build): {:?}, {:?}",
        first.duration, first.outcome
    );
    let mut through_cargo = Vec::new();
    let mut direct = Vec::new();
    for round in 0..RUNS {
        sandbox
            .write_file(Path::new("kiln-timing-note.txt"), &round.to_string())
            .unwrap();
        through_cargo.push(timed(&sandbox, &args).await);
        direct.push(timed(&sandbox, &args).await);
    }
    println!("re-run through cargo: median {:?}", median(through_cargo));
    println!(
        "re-run of the recorded binaries: median {:?}",
        median(direct)
    );
}

async fn timed(sandbox: &Sandbox, args: &TestArgs) -> (Duration, Option<Duration>) {
    let started = Instant::now();
    let report = sandbox.cargo_test(args, &mut |_| {}).await.unwrap();
    (started.elapsed(), report.build_time)
}

fn median(mut runs: Vec<(Duration, Option<Duration>)>) -> String {
    runs.sort();
    let (took, build) = runs[runs.len() / 2];
    format!("{took:?} (build_time {build:?})")
}
