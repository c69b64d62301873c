//! Soak: 500 scripted tasks with faults mixed at random (fixed seed). Every task must end with a
//! clear outcome, nothing may panic or hang, and the counters must add up against what the
//! scripted server actually received. The same soak runs on both wires (chat completions and the
//! Responses API).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use kiln::agent::{self, AgentEvent, AgentSettings, BuildCache, Escalation, Outcome};
use kiln::config::{FimMode, Tier, WireApi};
use kiln::llm::{messages, LlmEvent, Message};
use kiln::project::SourceLocation;
use kiln::task::{Placement, Task, TaskFile, Verdict};
use kiln_sandbox::{RunOutcome, RunReport, SandboxConfig, TestArgs};
use support::{llm_client_on, DemoCrate, Reply, ReplyOptions, ScriptedServer};

const TASKS: usize = 500;
const GOOD: &str = "KILN_SOAK_GOOD";

/// A task that needs no cargo run unless the candidate carries the GOOD marker, so 500 tasks
/// take seconds; the few good ones still run real cargo in a real sandbox.
struct SoakTask {
    file: TaskFile,
}

impl Task for SoakTask {
    fn title(&self) -> String {
        "soak".to_string()
    }
    fn file(&self) -> &TaskFile {
        &self.file
    }
    fn messages(&self) -> Vec<Message> {
        vec![messages::user("soak")]
    }
    fn tool_description(&self) -> &str {
        "soak"
    }
    fn place(&self, candidate: &str) -> Result<Placement, String> {
        if !candidate.contains(GOOD) {
            return Err("scripted rejection".to_string());
        }
        Ok(Placement {
            new_text: format!(
                "{}\n#[cfg(test)]\nmod soak {{\n    #[test]\n    fn good() {{ assert_eq!(super::percent(1, 2), Some(50)); }}\n}}\n",
                self.file.original
            ),
            summary: "1 test: good".to_string(),
            test_args: TestArgs {
                target_flags: self.file.location.cargo_flags(),
                filter: Some("soak::".to_string()),
            },
        })
    }
    fn judge(&self, _placement: &Placement, report: &RunReport) -> Verdict {
        match report.outcome {
            RunOutcome::Passed => Verdict::Green,
            _ => Verdict::Red(report.summary_for_model(2_000)),
        }
    }
}

/// xorshift64*: a fixed seed makes the fault mix the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_reply(rng: &mut Rng, good_allowed: bool) -> (Reply, ReplyOptions) {
    let plain = ReplyOptions::default();
    match rng.below(15) {
        0 if good_allowed => (Reply::tool_code(&format!("// {GOOD}")), plain),
        0 | 1 => (Reply::tool_code("#[test] fn t() {}"), plain),
        2 => (Reply::http_error(500, "boom"), plain),
        3 => (Reply::rate_limit(), plain),
        4 => (Reply::EmptyOk, plain),
        5 => (
            Reply::tool_code("#[test] fn t() {}"),
            ReplyOptions {
                garbage_event_before: Some(2),
                ..plain
            },
        ),
        6 => (
            Reply::tool_code("#[test] fn t() {}"),
            ReplyOptions {
                truncate_after_events: Some(2),
                ..plain
            },
        ),
        7 => (Reply::tool_call("run_code", "{\"code\": \"fn a("), plain),
        8 => (Reply::tool_call("python", "{}"), plain),
        9 => (Reply::text("```rust\n#[test]\nfn t() {}\n```"), plain),
        10 => (Reply::text("I cannot do that."), plain),
        11 => (Reply::NoChoices, plain),
        12 => (Reply::http_error(400, "bad request"), plain),
        13 => (
            Reply::tool_code("#[test] fn t() {}"),
            ReplyOptions {
                fail_with_code: Some("server_error".to_string()),
                ..plain
            },
        ),
        _ => (
            Reply::tool_code("#[test] fn t() {}"),
            ReplyOptions {
                repeat_tool_name_in_every_chunk: true,
                ..plain
            },
        ),
    }
}

async fn five_hundred_faulty_tasks_all_end_cleanly_and_counters_add_up(wire: WireApi) {
    let demo = DemoCrate::new();
    let location = SourceLocation::find(&demo.lib_rs()).unwrap();
    let task = SoakTask {
        file: TaskFile {
            original: demo.read_lib().into(),
            location,
        },
    };
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut outcomes = [0usize; 4];
    let mut chained = 0;
    let soak = async {
        for index in 0..TASKS {
            let server = ScriptedServer::start().await;
            // Enough replies for every attempt and retry; a good candidate at most once in 25 tasks.
            let good_allowed = index % 25 == 0;
            for _ in 0..12 {
                let (reply, options) = random_reply(&mut rng, good_allowed);
                server.push_with(reply, options);
            }
            let llm = llm_client_on(
                wire,
                &server.base_url(),
                &[("KILN_MAX_RETRIES", "2"), ("KILN_RETRY_BASE_MS", "1")],
            );
            let settings = AgentSettings {
                max_attempts: 3,
                tier: Tier::Mini,
                escalation: Escalation::After {
                    failures: 2,
                    to: Tier::Full,
                },
                max_cost_usd: None,
                sandbox: SandboxConfig::default(),
                build_cache: BuildCache::AsConfigured,
                // The loop under stress, not the crate: one build per task would make 500
                // tasks take minutes instead of seconds.
                build_first: false,
                fim: FimMode::Chat,
            };
            let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
            let summary = agent::perform_task(&task, &llm, &settings, &sender).await;
            drop(sender);
            let mut retries = 0;
            let mut fallbacks = 0;
            while let Some(event) = receiver.recv().await {
                match event {
                    AgentEvent::Llm(LlmEvent::Retrying { .. }) => retries += 1,
                    AgentEvent::Llm(LlmEvent::StreamFallback) => fallbacks += 1,
                    _ => {}
                }
            }
            let requests: u32 = summary.stats.values().map(|s| s.requests).sum();
            let classified: u32 = summary
                .stats
                .values()
                .map(|s| {
                    s.tool_calls_well_formed
                        + s.tool_calls_repaired
                        + s.tool_calls_rejected
                        + s.no_tool_call
                })
                .sum();
            for stats in summary.stats.values() {
                assert_eq!(
                    stats.per_request.len() as u32,
                    stats.requests,
                    "task {index}: one record per reply, retries or not"
                );
                assert!(
                    stats.per_request.iter().all(|r| r.usage.is_some()),
                    "task {index}: every reply's tokens are counted, by the server or by kiln"
                );
            }
            assert_eq!(
                classified, requests,
                "task {index}: every reply is classified once"
            );
            let failed_request = match &summary.outcome {
                Outcome::Proposed(_) => {
                    outcomes[0] += 1;
                    0
                }
                Outcome::Exhausted { .. } => {
                    outcomes[1] += 1;
                    assert_eq!(requests, summary.attempts, "task {index}");
                    0
                }
                Outcome::ModelFailed(_) => {
                    outcomes[2] += 1;
                    assert_eq!(requests + 1, summary.attempts, "task {index}");
                    1
                }
                other => {
                    outcomes[3] += 1;
                    panic!("task {index}: unexpected outcome {other:?}");
                }
            };
            let sent = server.model_requests();
            for (i, request) in sent.iter().enumerate() {
                // A continued round names a reply the server gave earlier in this task and does
                // not send the task's opening message again.
                if let Some(previous) = request["previous_response_id"].as_str() {
                    let earlier: Vec<String> = (1..=i).map(support::response_id).collect();
                    assert!(
                        earlier.iter().any(|id| id == previous),
                        "task {index}: {request}"
                    );
                    assert_ne!(
                        request["input"][0]["content"], "soak",
                        "task {index}: {request}"
                    );
                    chained += 1;
                }
            }
            assert_eq!(
                sent.len() as u32,
                requests + retries + fallbacks + failed_request,
                "task {index}: every request the server saw is accounted for"
            );
        }
    };
    tokio::time::timeout(Duration::from_secs(600), soak)
        .await
        .expect("the soak must not hang");
    eprintln!(
        "soak outcomes on {wire:?}: proposed {}, exhausted {}, model failed {}; {chained} chained request(s)",
        outcomes[0], outcomes[1], outcomes[2]
    );
    match wire {
        WireApi::Chat => assert_eq!(chained, 0, "chat completions keep no replies"),
        WireApi::Responses => assert!(chained > 0, "repair rounds continue the kept reply"),
    }
    assert_eq!(outcomes.iter().sum::<usize>(), TASKS);
    assert!(
        outcomes[0] > 0 && outcomes[1] > 0 && outcomes[2] > 0,
        "the mix reaches every outcome: {outcomes:?}"
    );
}
on_both_wires!(
    #[tokio::test(flavor = "multi_thread")]
    five_hundred_faulty_tasks_all_end_cleanly_and_counters_add_up
);
