//! A warm repair round in the sandbox vs `cargo test` in place after the same edit.
//!
//! For `assets/demo` and for a generated crate with ~25 dependencies (resolved offline from the
//! local registry cache), this makes a "user checkout" in a tempdir, warms both sides once (the
//! in-place target dir, and kiln's per-crate cache target dir through the untouched build and a
//! first sandbox round; later rounds see that cache through the sandbox's overlay),
//! then for each round writes a changed test module and times:
//!
//! * sandbox: `Sandbox::write_file` + `Sandbox::cargo_test` (what one `run_code` costs);
//! * in place: the same edit in the checkout + `cargo test --offline --lib -- tests::`.
//!
//! It prints the medians and their ratio (the target is at most 1.2). Not a test: nothing is
//! asserted about time.
//!
//! Run: `cargo bench -p kiln-sandbox --bench sandbox_round` (5 rounds), or with `-- --smoke` for
//! one round, as a check that the benchmark itself still works.

#[path = "../../benches/common/mod.rs"]
mod common;

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{median, Figure, Mode, Result, Verdict};
use kiln_sandbox::{RunOutcome, Sandbox, SandboxConfig, TestArgs};

/// Rounds per crate in a full run; the median is robust to one noisy round.
const FULL_ROUNDS: usize = 5;
/// The ratio the sandbox must stay under (issue 3).
const TARGET_RATIO: f64 = 1.2;

/// A crate with real dependencies, all of which the registry cache already holds here.
const DEPS_MANIFEST: &str = r#"[package]
name = "bench-deps"
version = "0.1.0"
edition = "2021"

[dependencies]
regex = "1"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
toml = "0.8"
itertools = "0.14"

[workspace]
"#;

const DEPS_LIB: &str = r#"use itertools::Itertools as _;

#[derive(serde::Deserialize, serde::Serialize)]
pub struct Config {
    pub name: String,
    pub tags: Vec<String>,
}

pub fn parse(text: &str) -> Option<Config> {
    toml::from_str(text).ok()
}

pub fn to_json(config: &Config) -> String {
    serde_json::to_string(config).unwrap_or_default()
}

pub fn words(text: &str) -> Vec<String> {
    let word = regex::Regex::new(r"[a-z]+").ok();
    word.map(|re| re.find_iter(text).map(|m| m.as_str().to_string()).unique().collect())
        .unwrap_or_default()
}
"#;

fn main() -> Result<()> {
    let rounds = Mode::from_args().samples(FULL_ROUNDS);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo");
    let demo_lib = std::fs::read_to_string(demo.join("src/lib.rs"))?;
    let demo_manifest = std::fs::read_to_string(demo.join("Cargo.toml"))?;
    let cases = [
        ("assets/demo", demo_manifest.as_str(), demo_lib.as_str()),
        ("~25 deps", DEPS_MANIFEST, DEPS_LIB),
    ];
    for (label, manifest, lib) in cases {
        let result = runtime.block_on(bench_crate(manifest, lib, rounds))?;
        let ratio = result.sandbox.as_secs_f64() / result.in_place.as_secs_f64();
        println!(
            "{label}: warm sandbox round {:.2} s, in-place cargo test {:.2} s (median of {rounds}), \
             ratio {ratio:.2} (target <= {TARGET_RATIO}); cold: sandbox {:.1} s, in place {:.1} s",
            result.sandbox.as_secs_f64(),
            result.in_place.as_secs_f64(),
            result.cold_sandbox.as_secs_f64(),
            result.cold_in_place.as_secs_f64(),
        );
        Figure {
            name: &format!("warm repair round, {label}"),
            measured: format!("{:.2} s", result.sandbox.as_secs_f64()),
            reference: format!("in-place cargo test {:.2} s", result.in_place.as_secs_f64()),
            comparison: format!("{ratio:.2}x"),
            target: "<= 1.2x",
            verdict: Verdict::of(ratio <= TARGET_RATIO),
        }
        .print();
    }
    Ok(())
}

struct Timings {
    sandbox: Duration,
    in_place: Duration,
    cold_sandbox: Duration,
    cold_in_place: Duration,
}

async fn bench_crate(manifest: &str, lib: &str, rounds: usize) -> Result<Timings> {
    let checkout = tempfile::tempdir()?;
    let cache = tempfile::tempdir()?;
    std::fs::create_dir_all(checkout.path().join("src"))?;
    std::fs::write(checkout.path().join("Cargo.toml"), manifest)?;
    std::fs::write(checkout.path().join("src/lib.rs"), lib)?;
    run_cargo(checkout.path(), &["generate-lockfile", "--offline"])?;

    let started = Instant::now();
    in_place_test(checkout.path())?;
    let cold_in_place = started.elapsed();

    let cache_base = OsString::from(cache.path());
    let target_dir = kiln_sandbox::cache::target_dir_for(checkout.path(), |name| {
        (name == kiln_sandbox::cache::CACHE_DIR_ENV).then(|| cache_base.clone())
    });
    let config = SandboxConfig {
        target_dir,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::create(checkout.path(), config)?;
    let args = TestArgs {
        target_flags: vec!["--lib".into()],
        filter: Some("tests::".into()),
    };
    // As the agent does: the untouched crate's build fills the shared cache, and every round
    // after it sees the cache through the sandbox's overlay.
    let started = Instant::now();
    sandbox.build_untouched(&args, &mut |_| {}).await?;
    sandbox_round(&sandbox, &args, &with_tests(lib, 0)).await?;
    let cold_sandbox = started.elapsed();

    let mut sandbox_times = Vec::new();
    let mut in_place_times = Vec::new();
    for round in 1..=rounds {
        let edited = with_tests(lib, round);
        let started = Instant::now();
        sandbox_round(&sandbox, &args, &edited).await?;
        sandbox_times.push(started.elapsed());

        std::fs::write(checkout.path().join("src/lib.rs"), &edited)?;
        let started = Instant::now();
        in_place_test(checkout.path())?;
        in_place_times.push(started.elapsed());
    }
    Ok(Timings {
        sandbox: median(&mut sandbox_times),
        in_place: median(&mut in_place_times),
        cold_sandbox,
        cold_in_place,
    })
}

/// `lib` plus a test module that differs per round, as a model's repair would.
fn with_tests(lib: &str, round: usize) -> String {
    format!(
        "{lib}\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn round_{round}() {{\n        assert_eq!({round} + 1, {});\n    }}\n}}\n",
        round + 1
    )
}

async fn sandbox_round(sandbox: &Sandbox, args: &TestArgs, lib: &str) -> Result<()> {
    sandbox.write_file(Path::new("src/lib.rs"), lib)?;
    let report = sandbox.cargo_test(args, &mut |_| {}).await?;
    if report.outcome != RunOutcome::Passed {
        return Err(format!("sandbox round failed: {}", report.summary_for_model(4_000)).into());
    }
    Ok(())
}

fn in_place_test(dir: &Path) -> Result<()> {
    run_cargo(dir, &["test", "--offline", "--lib", "--", "tests::"])
}

fn run_cargo(dir: &Path, args: &[&str]) -> Result<()> {
    let output = Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .stdin(Stdio::null())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "cargo {args:?} failed in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}
