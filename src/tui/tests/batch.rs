//! gen-tests on a whole file in batches: `T` hands the task pool the same batched work as
//! `kiln gen-tests`, and the task panel shows the plan, which part each step belongs to, and the
//! combining step.

use ratatui::crossterm::event::KeyCode;

use super::*;
use crate::agent::{ReplyKind, Work};
use crate::config::Tier;
use crate::llm::{LlmEvent, Usage};

/// Seven untested functions: more than one batch holds by default.
const SEVEN_FNS: &str = "pub fn one() -> u32 { 1 }
pub fn two() -> u32 { 2 }
pub fn three() -> u32 { 3 }
pub fn four() -> u32 { 4 }
pub fn five() -> u32 { 5 }
pub fn six() -> u32 { 6 }
pub fn seven() -> u32 { 7 }
";

/// The demo crate with [`SEVEN_FNS`] as src/lib.rs, open in the app.
fn seven_fns_open(demo: &Demo) -> App {
    std::fs::write(demo.lib_rs(), SEVEN_FNS).unwrap();
    let mut app = demo.app();
    press(&mut app, KeyCode::Enter);
    app
}

/// Presses `T`: the id of the task it started and the part titles of its batch.
fn start_whole_file(app: &mut App) -> (TaskId, Vec<String>) {
    let effects = press(app, KeyCode::Char('T'));
    let [Effect::Start { id, work }] = effects.as_slice() else {
        panic!("T started {} effects, expected one Start", effects.len());
    };
    let Work::Batch { batch, jobs } = work else {
        panic!("seven functions are one conversation: {}", work.title());
    };
    assert_eq!(*jobs, 4, "the CLI's default --jobs");
    let parts = batch.parts().iter().map(|p| p.title()).collect();
    (*id, parts)
}

#[test]
fn t_on_an_item_is_one_conversation_and_shift_t_batches_the_whole_file() {
    let demo = Demo::new();
    let mut app = seven_fns_open(&demo);
    let effects = press(&mut app, KeyCode::Char('t'));
    let [Effect::Start { work, .. }] = effects.as_slice() else {
        panic!("expected one Start");
    };
    assert!(matches!(work, Work::One(_)), "{}", work.title());
    assert_eq!(work.title(), "gen-tests for one in src/lib.rs");

    let (id, parts) = start_whole_file(&mut app);
    // The CLI's default --batch-size of 5 splits seven functions in two.
    assert_eq!(parts.len(), 2, "{parts:?}");
    let view = app.tasks.get(id).unwrap();
    assert_eq!(
        view.title,
        "gen-tests for 7 functions in src/lib.rs, in 2 batches"
    );
    // Both tasks are listed, each once: a batch is one task.
    assert_eq!(app.tasks.selected().map(|t| t.id), Some(id));
}

#[test]
fn shift_t_over_max_functions_shows_the_plan_and_starts_only_when_pressed_again() {
    let demo = Demo::new();
    let mut app = seven_fns_open(&demo).with_max_functions(5);
    assert!(
        press(&mut app, KeyCode::Char('T')).is_empty(),
        "nothing starts"
    );
    let said = app.status.message().unwrap();
    assert!(
        said.starts_with("plan: 7 functions in 2 batches, ~"),
        "{said}"
    );
    assert!(
        said.ends_with("press T again to spend it on all 7"),
        "{said}"
    );
    assert!(app.tasks.selected().is_none(), "no task is listed");
    // `t` on the selected item names what it spends: it starts at once, and the next `T`
    // shows the plan again rather than spend it on a press made before.
    assert_eq!(press(&mut app, KeyCode::Char('t')).len(), 1);
    assert!(press(&mut app, KeyCode::Char('T')).is_empty());
    let (_, parts) = start_whole_file(&mut app);
    assert_eq!(parts.len(), 2, "{parts:?}");
}

fn attempt(attempt: u32, tier: Tier) -> AgentEvent {
    AgentEvent::AttemptStarted {
        attempt,
        max_attempts: 4,
        tier,
        model: format!("test-{tier}"),
    }
}

fn reply() -> AgentEvent {
    AgentEvent::ReplyReceived {
        kind: ReplyKind::ToolCallWellFormed,
        usage: Some(Usage::reported(900, 200)),
        first_token_ms: Some(30),
    }
}

fn part(index: usize, event: AgentEvent) -> AgentEvent {
    AgentEvent::Part {
        index,
        total: 2,
        event: Box::new(event),
    }
}

fn feed(app: &mut App, id: TaskId, events: Vec<AgentEvent>) {
    for event in events {
        assert!(app.update(Msg::Agent(id, event)).is_empty());
    }
}

fn sandbox_started(summary: &str) -> AgentEvent {
    AgentEvent::SandboxStarted {
        summary: summary.to_string(),
    }
}

fn streamed(text: &str) -> AgentEvent {
    AgentEvent::Llm(LlmEvent::ToolArgumentsDelta(text.to_string()))
}

/// A batch's events as `agent::Work::run` sends them: the plan, then two parts talking at once;
/// the second needs a second attempt and is streaming it.
fn parts_talking(app: &mut App, id: TaskId, parts: Vec<String>) {
    let failed = RunReport {
        failed: 1,
        failures: vec![kiln_sandbox::TestFailure {
            name: "tests::sixes".to_string(),
            message: "assertion failed".to_string(),
            panicked_at: None,
        }],
        ..report(RunOutcome::TestsFailed, 1)
    };
    let started = |title: &str| AgentEvent::Started {
        title: title.to_string(),
        max_attempts: 4,
    };
    let passed = |tests| AgentEvent::SandboxFinished {
        report: Box::new(report(RunOutcome::Passed, tests)),
        proposed_tests: None,
    };
    let events = vec![
        started("gen-tests for 7 functions"),
        AgentEvent::BatchPlanned { parts, jobs: 4 },
        part(0, started("part 1")),
        part(1, started("part 2")),
        part(0, attempt(1, Tier::Mini)),
        part(1, attempt(1, Tier::Mini)),
        part(0, reply()),
        part(1, reply()),
        part(
            0,
            sandbox_started("5 tests: ones, twos, threes, fours, fives"),
        ),
        part(1, sandbox_started("2 tests: sixes, sevens")),
        part(0, passed(5)),
        part(
            1,
            AgentEvent::SandboxFinished {
                report: Box::new(failed),
                proposed_tests: None,
            },
        ),
        part(1, attempt(2, Tier::Mini)),
        // The panel follows the stream of the part whose attempt started last, and only it.
        part(1, streamed("{\"code\":\"#[cfg(test)]\\nmod tests {")),
        part(0, streamed("late words from the first part")),
    ];
    feed(app, id, events);
}

/// After [`parts_talking`]: the second part goes green and the batch combines what both kept.
fn combining(app: &mut App, id: TaskId) {
    let events = vec![
        part(1, reply()),
        part(1, sandbox_started("2 tests: sixes, sevens")),
        part(
            1,
            AgentEvent::SandboxFinished {
                report: Box::new(report(RunOutcome::Passed, 2)),
                proposed_tests: None,
            },
        ),
        AgentEvent::Combining {
            proposed: 2,
            total: 2,
        },
        AgentEvent::ValidationStep {
            what: "re-running the kept tests 3 times to find flaky ones".to_string(),
        },
    ];
    feed(app, id, events);
}

#[test]
fn a_batched_run_sums_its_parts_attempts_and_marks_each_step_with_its_part() {
    let demo = Demo::new();
    let mut app = seven_fns_open(&demo);
    let (id, parts) = start_whole_file(&mut app);
    parts_talking(&mut app, id, parts);
    let task = app.tasks.get(id).unwrap();
    // 1 attempt of the first part and 2 of the second, of the 2 x 4 the batch may use.
    assert_eq!((task.attempt, task.max_attempts), (3, 8));
    assert!(
        task.log
            .iter()
            .any(|l| l == "[2/2] attempt 2/4 · mini (test-mini)"),
        "{:#?}",
        task.log
    );
    assert!(task.streamed.contains("mod tests {"), "{}", task.streamed);
    assert!(!task.streamed.contains("late words"), "{}", task.streamed);

    combining(&mut app, id);
    let task = app.tasks.get(id).unwrap();
    assert_eq!((task.attempt, task.max_attempts), (3, 8));
    assert_eq!(task.activity, "compiling…");
    assert_eq!(
        app.status.task_usage.as_deref(),
        Some("3 attempt(s) · mini: 3 request(s), 2,700 in / 600 out tokens, first token 30 ms")
    );
}

#[test]
fn task_panel_during_a_batched_run() {
    let demo = Demo::new();
    let mut app = seven_fns_open(&demo);
    let (id, parts) = start_whole_file(&mut app);
    parts_talking(&mut app, id, parts);
    combining(&mut app, id);
    press(&mut app, KeyCode::Tab);
    // Tall enough for the whole log, from the plan to the combining step.
    insta::assert_snapshot!(render(&app, 100, 56));
}
