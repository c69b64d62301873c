//! The TUI without a terminal: state-machine tests drive [`App`] with key events and scripted
//! agent events; snapshot tests draw it on ratatui's `TestBackend`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batch;
mod partial;
mod snapshots;
mod state;

use std::path::{Path, PathBuf};

use kiln_sandbox::{RunOutcome, RunReport};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::app::{App, Effect, Msg};
use super::task_pool::TaskPool;
use super::task_view::TaskId;
use super::theme::{Palette, Theme};
use super::workspace;
use crate::agent::{AgentEvent, Outcome, Proposal, RunSummary};
use crate::task::test_crate::run_report as report;

/// A private copy of `assets/demo`, so tests can apply diffs to it.
struct Demo {
    dir: tempfile::TempDir,
}

impl Demo {
    fn new() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::copy(demo.join("Cargo.toml"), dir.path().join("Cargo.toml")).unwrap();
        std::fs::copy(demo.join("src/lib.rs"), dir.path().join("src/lib.rs")).unwrap();
        Demo { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    fn lib_rs(&self) -> PathBuf {
        self.root().join("src/lib.rs")
    }

    fn app(&self) -> App {
        let files = workspace::list_rs_files(&self.root()).unwrap();
        App::new(
            self.root(),
            files,
            "http://127.0.0.1:1/v1 · mini=test-mini · sandbox: 11 of 12 protections (off: process limit)".to_string(),
            Default::default(),
            Theme::new(Palette::NoColour),
        )
    }
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::from(code))
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(key(code))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(press(app, KeyCode::Char(c)).is_empty());
    }
}

fn ctrl_c() -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

/// Opens src/lib.rs and selects the item named `item` through the `/` filter.
fn open_item(app: &mut App, item: &str) {
    press(app, KeyCode::Enter);
    press(app, KeyCode::Char('/'));
    type_text(app, item);
    press(app, KeyCode::Enter);
}

/// Presses `t` and returns the id of the task it started.
fn start_gen_tests(app: &mut App) -> TaskId {
    let effects = press(app, KeyCode::Char('t'));
    match effects.as_slice() {
        [Effect::Start { id, .. }] => *id,
        _ => panic!("t started {} effects, expected one Start", effects.len()),
    }
}

/// The events of one attempt that streams a little code, runs the sandbox and goes green.
fn scripted_attempt(app: &mut App, id: TaskId) {
    use crate::llm::UsageSource;
    scripted_attempt_counted_by(app, id, UsageSource::Server, Some(60));
}

/// [`scripted_attempt`] with its 1200 in / 340 out tokens counted by `source`, and its first
/// token after `first_token_ms`.
fn scripted_attempt_counted_by(
    app: &mut App,
    id: TaskId,
    source: crate::llm::UsageSource,
    first_token_ms: Option<u64>,
) {
    use crate::config::Tier;
    use crate::llm::{LlmEvent, Usage};
    let events = [
        AgentEvent::Started {
            title: "gen-tests".to_string(),
            max_attempts: 4,
        },
        AgentEvent::AttemptStarted {
            attempt: 1,
            max_attempts: 4,
            tier: Tier::Mini,
            model: "test-mini".to_string(),
        },
        AgentEvent::Llm(LlmEvent::ToolArgumentsDelta(
            "{\"code\":\"#[cfg(test)]\\nmod tests {".to_string(),
        )),
        AgentEvent::ReplyReceived {
            kind: crate::agent::ReplyKind::ToolCallWellFormed,
            usage: Some(Usage {
                source,
                ..Usage::reported(1_200, 340)
            }),
            first_token_ms,
        },
        AgentEvent::SandboxStarted {
            summary: "2 tests: mean_floor_rounds_down, mean_floor_empty".to_string(),
        },
        AgentEvent::Sandbox(kiln_sandbox::Progress::Compiling {
            unit: "demo".to_string(),
        }),
    ];
    for event in events {
        assert!(app.update(Msg::Agent(id, event)).is_empty());
    }
}

/// The demo file with a test module appended: the proposal of a green gen-tests run.
fn proposal(demo: &Demo) -> Proposal {
    let original = std::fs::read_to_string(demo.lib_rs()).unwrap();
    let new_text = format!(
        "{}\n#[cfg(test)]\nmod tests {{\n    use super::*;\n\n    #[test]\n    fn mean_floor_rounds_down() {{\n        assert_eq!(mean_floor(&[1, 2]), Some(1));\n    }}\n}}\n",
        original.replacen("//! A tiny", "//! A small", 1)
    );
    Proposal {
        file: demo.lib_rs(),
        original,
        new_text,
        summary: "1 test: mean_floor_rounds_down".to_string(),
        report: report(RunOutcome::Passed, 1),
        notes: Some(crate::task::ValidationNotes {
            lines: vec!["mean_floor: 1 kept (mean_floor_rounds_down), mutants 3/4 caught (75%; by mean_floor_rounds_down 3), 1 survived; survivors: `/` -> `*` at 5:20".to_string()],
            json: serde_json::json!({}),
            headline: Some("mutants 3/4 caught (75%), 1 survived".to_string()),
            tests: Some(crate::task::KeptTests {
                kept: 1,
                mutants_caught: Some(3),
            }),
        }),
        recheck: recheck(demo, crate::task::RecheckRule::TestsPass),
    }
}

/// How a proposal on the demo is judged again: its whole suite, under `rule`.
fn recheck(demo: &Demo, rule: crate::task::RecheckRule) -> crate::task::Recheck {
    let location = crate::project::SourceLocation::find(&demo.lib_rs()).unwrap();
    crate::task::Recheck {
        test_args: crate::task::whole_suite(&location),
        location,
        rule,
    }
}

fn finish(app: &mut App, id: TaskId, outcome: Outcome) {
    finish_with_stats(app, id, outcome, Default::default());
}

fn finish_with_stats(
    app: &mut App,
    id: TaskId,
    outcome: Outcome,
    stats: std::collections::BTreeMap<crate::config::Tier, crate::agent::TierStats>,
) {
    let summary = RunSummary {
        outcome,
        attempts: 1,
        stats,
    };
    assert!(app.update(Msg::Finished(id, summary)).is_empty());
}

fn render(app: &App, width: u16, height: u16) -> TestBackend {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| super::draw::draw(frame, app))
        .unwrap();
    terminal.backend().clone()
}

fn screen_text(app: &App, width: u16, height: u16) -> String {
    render(app, width, height).to_string()
}

/// `app` with a price for the mini tier, as `[tiers.mini]` in kiln.toml gives it: the scripted
/// attempt's 1200 in / 340 out tokens cost $0.0024.
fn priced(mut app: App) -> App {
    app.prices.insert(
        crate::config::Tier::Mini,
        crate::config::Price {
            input_per_mtok: 0.75,
            output_per_mtok: 4.5,
        },
    );
    app
}

/// The app with src/lib.rs open on `mean_floor` and a gen-tests task in its first attempt.
fn running(demo: &Demo) -> (App, TaskId) {
    running_on(demo.app())
}

/// [`running`] on a given app, e.g. a [`priced`] one.
fn running_on(mut app: App) -> (App, TaskId) {
    open_item(&mut app, "mean_floor");
    let id = start_gen_tests(&mut app);
    scripted_attempt(&mut app, id);
    (app, id)
}

/// The app with src/lib.rs open on `mean_floor` and a gen-tests task that proposed
/// [`proposal`]: the diff review is open.
fn reviewing(demo: &Demo) -> (App, TaskId, Proposal) {
    let mut app = demo.app();
    open_item(&mut app, "mean_floor");
    let id = start_gen_tests(&mut app);
    let proposal = proposal(demo);
    finish(&mut app, id, Outcome::Proposed(Box::new(proposal.clone())));
    (app, id, proposal)
}

/// The pool the TUI runs, on a model server that refuses connections: a check asks no model.
fn pool() -> (TaskPool, tokio::sync::mpsc::UnboundedReceiver<Msg>) {
    use crate::agent::{AgentSettings, BuildCache};
    use crate::config::{Config, Tier};
    let config = Config {
        base_url: "http://127.0.0.1:9/v1".to_string(),
        max_retries: 0,
        ..Config::default()
    };
    let settings = AgentSettings {
        build_cache: BuildCache::AsConfigured,
        ..AgentSettings::from_config(&config, Some(Tier::Mini))
    };
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let llm = crate::llm::LlmClient::new(&config).unwrap();
    (TaskPool::new(llm, settings, sender), receiver)
}

/// Carries `effects` out as the runtime does and feeds every message back to `app` until the
/// check of the accepted hunks has ended. Returns what the review's header said meanwhile.
async fn carry_out_check(app: &mut App, effects: Vec<Effect>) -> Vec<String> {
    let (mut pool, mut messages) = pool();
    assert!(
        matches!(effects.as_slice(), [Effect::Recheck { .. }]),
        "Enter did not start a check"
    );
    effects.into_iter().for_each(|e| pool.carry_out(e));
    let mut headers = Vec::new();
    loop {
        let msg = messages.recv().await.unwrap();
        let ended = matches!(msg, Msg::Rechecked(..));
        for effect in app.update(msg) {
            pool.carry_out(effect);
        }
        if ended {
            return headers;
        }
        headers.push(
            screen_text(app, 140, 30)
                .lines()
                .next()
                .unwrap()
                .to_string(),
        );
    }
}
