//! How the gen-tests filter's sandbox time grows with the number of functions in one file.
//!
//! A crate with 20 untested functions; a scripted model answers with one good test per function.
//! The same filter (build, 3 re-runs, mutants) runs for 1 function and for all 20, and the bench
//! prints the sandbox wall time of each (from `SandboxStarted` to `SandboxFinished`) and their
//! ratio. The target is a ratio under 3: candidates are built together and mutant round n
//! mutates every function at once, so the number of cargo runs does not grow with the functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use kiln::agent::{self, AgentEvent, AgentSettings, BuildCache, Escalation, Outcome};
use kiln::config::{FimMode, Tier};
use kiln::task::gen_tests::GenTests;
use kiln_sandbox::SandboxConfig;
use support::{Reply, ScriptedServer};

const FUNCTIONS: usize = 20;
/// Runs per size; the median is printed, since the machine is shared and noisy.
const SAMPLES: usize = 3;

fn lib() -> String {
    (0..FUNCTIONS)
        .map(|i| {
            format!(
                "/// Whether `x` reaches {limit}.\npub fn reaches_{i}(x: u32) -> bool {{\n    x >= {limit}\n}}\n\n",
                limit = i + 10
            )
        })
        .collect()
}

fn tests_for(count: usize) -> String {
    let tests: String = (0..count)
        .map(|i| {
            format!(
                "    #[test]\n    fn reaches_{i}_at_its_limit() {{\n        assert!(reaches_{i}({limit}));\n        assert!(!reaches_{i}({below}));\n    }}\n\n",
                limit = i + 10,
                below = i + 9
            )
        })
        .collect();
    format!("#[cfg(test)]\nmod tests {{\n    use super::*;\n\n{tests}}}\n")
}

/// One gen-tests run on the first `count` functions; returns the sandbox wall time.
async fn sandbox_time(dir: &std::path::Path, target: &std::path::Path, count: usize) -> Duration {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(&tests_for(count)));
    let llm = support::llm_client(&server.base_url(), &[]);
    let names: Vec<String> = (0..count).map(|i| format!("reaches_{i}")).collect();
    let task = GenTests::new(&dir.join("src/lib.rs"), &names).unwrap();
    let settings = AgentSettings {
        max_attempts: 1,
        tier: Tier::Mini,
        escalation: Escalation::Pinned,
        max_cost_usd: None,
        sandbox: SandboxConfig {
            target_dir: Some(target.to_path_buf()),
            ..SandboxConfig::default()
        },
        build_cache: BuildCache::AsConfigured,
        fim: FimMode::Chat,
    };
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let timer = tokio::spawn(async move {
        let mut started = None;
        let mut took = Duration::ZERO;
        while let Some(event) = receiver.recv().await {
            match event {
                AgentEvent::SandboxStarted { .. } => started = Some(Instant::now()),
                AgentEvent::SandboxFinished(_) => {
                    took += started.take().map_or(Duration::ZERO, |s| s.elapsed())
                }
                _ => {}
            }
        }
        took
    });
    let summary = agent::run(&task, &llm, &settings, &sender).await;
    drop(sender);
    match summary.outcome {
        Outcome::Proposed(proposal) => assert_eq!(
            proposal.summary.split(", ").count(),
            count,
            "every test must be kept: {}",
            proposal.summary
        ),
        other => panic!("no proposal: {other:?}"),
    }
    timer.await.unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"scale\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), lib()).unwrap();
    let target = tempfile::tempdir().unwrap();
    // Warm-up: the first build of the crate and the test harness is paid once, not measured.
    sandbox_time(dir.path(), target.path(), 1).await;
    let mut one = Vec::new();
    let mut all = Vec::new();
    for _ in 0..SAMPLES {
        one.push(sandbox_time(dir.path(), target.path(), 1).await);
        all.push(sandbox_time(dir.path(), target.path(), FUNCTIONS).await);
    }
    let (one, all) = (median(one), median(all));
    println!("gen-tests filter, sandbox wall time (median of {SAMPLES}):");
    println!("  1 function:   {:>6.2} s", one.as_secs_f64());
    println!("  {FUNCTIONS} functions: {:>6.2} s", all.as_secs_f64());
    println!(
        "  ratio {FUNCTIONS}/1: {:.2}x (target < 3x)",
        all.as_secs_f64() / one.as_secs_f64()
    );
}
