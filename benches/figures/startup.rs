//! `kiln --version` vs `true`: what starting the binary costs beyond starting any process.

use std::process::Command;
use std::time::Duration;

use crate::common::{median, ms, time, Figure, Mode, Result, Verdict};

const FULL_SAMPLES: usize = 50;
const TARGET_MS: f64 = 5.0;

pub fn figure(mode: Mode) -> Result<Figure<'static>> {
    let samples = mode.samples(FULL_SAMPLES);
    let mut kiln_times = Vec::new();
    let mut true_times = Vec::new();
    // Alternating the two spreads the machine's noise over both alike.
    for _ in 0..samples {
        kiln_times.push(time_ok(
            Command::new(env!("CARGO_BIN_EXE_kiln")).arg("--version"),
        )?);
        true_times.push(time_ok(&mut Command::new("true"))?);
    }
    let kiln = median(&mut kiln_times);
    let reference = median(&mut true_times);
    Ok(Figure {
        name: "kiln --version start-up",
        measured: ms(kiln),
        reference: format!("true {}", ms(reference)),
        comparison: format!("+{} over true", ms(kiln.saturating_sub(reference))),
        target: "< 5 ms",
        verdict: Verdict::of(kiln.as_secs_f64() * 1e3 < TARGET_MS),
    })
}

fn time_ok(command: &mut Command) -> Result<Duration> {
    let (elapsed, status) = time(command)?;
    if !status.success() {
        return Err(format!("{command:?} failed: {status}").into());
    }
    Ok(elapsed)
}
