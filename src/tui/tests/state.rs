use pretty_assertions::assert_eq;
use ratatui::crossterm::event::KeyCode;

use super::*;
use crate::diff::HunkChoice;
use crate::frontend::signal::Stop;
use crate::tui::app::{Pane, Quit};
use crate::tui::components::files::ListMode;
use crate::tui::strings;
use crate::tui::task_view::TaskState;

#[test]
fn enter_opens_a_file_and_lists_its_items_esc_goes_back() {
    let demo = Demo::new();
    let mut app = demo.app();
    assert_eq!(app.files.mode(), ListMode::Files);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.files.mode(), ListMode::Items);
    assert_eq!(app.files.selected_item().unwrap().name, "parse_config");
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.files.selected_item().unwrap().name, "split_fields");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.files.mode(), ListMode::Files);
    assert!(app.files.selected_item().is_none());
}

#[test]
fn the_filter_is_fuzzy_and_typing_in_it_never_triggers_keys() {
    let demo = Demo::new();
    let mut app = demo.app();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('/'));
    // `q` and `t` are keys elsewhere; while filtering they are text.
    type_text(&mut app, "mfq");
    assert_eq!(app.quit(), None);
    assert!(app.files.selected_item().is_none());
    assert!(screen_text(&app, 100, 30).contains(strings::NO_MATCHES));
    press(&mut app, KeyCode::Backspace);
    assert_eq!(app.files.selected_item().unwrap().name, "mean_floor");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.files.selected_item().unwrap().name, "parse_config");
}

#[test]
fn selecting_an_item_scrolls_the_code_to_it() {
    let demo = Demo::new();
    let mut app = demo.app();
    // Draw once so the code view knows its height.
    render(&app, 100, 30);
    open_item(&mut app, "percent");
    render(&app, 100, 30);
    let item = app.files.selected_item().unwrap().lines.clone();
    assert!(app.code.scroll() <= item.start && item.start < app.code.scroll() + 20);
    assert!(screen_text(&app, 100, 30).contains("pub fn percent"));
}

#[test]
fn t_starts_gen_tests_for_the_selected_item() {
    let demo = Demo::new();
    let mut app = demo.app();
    assert!(press(&mut app, KeyCode::Char('t')).is_empty());
    assert_eq!(app.status.message(), Some(strings::NOTHING_SELECTED));

    open_item(&mut app, "mean_floor");
    let effects = press(&mut app, KeyCode::Char('t'));
    let [Effect::Start { id, work }] = effects.as_slice() else {
        panic!("expected one Start");
    };
    assert_eq!(work.title(), "gen-tests for mean_floor in src/lib.rs");
    let view = app.tasks.get(*id).unwrap();
    assert_eq!(view.state, TaskState::Queued);
}

#[test]
fn each_task_key_starts_its_task_or_says_why_not() {
    let demo = Demo::new();
    let mut app = demo.app();
    open_item(&mut app, "percent");
    let titles = |effects: &[Effect]| -> Vec<String> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Start { work, .. } => Some(work.title()),
                _ => None,
            })
            .collect()
    };
    let doc = titles(&press(&mut app, KeyCode::Char('d')));
    assert_eq!(doc.len(), 1, "d starts a docstring task");
    assert!(doc[0].contains("percent"), "{doc:?}");

    // The demo crate has no todo!() hole: a notice, not a task and not an error popup.
    assert!(press(&mut app, KeyCode::Char('f')).is_empty());
    assert!(
        app.status.message().unwrap().contains("hole"),
        "{:?}",
        app.status.message()
    );

    press(&mut app, KeyCode::Char('r'));
    assert!(app.input.is_some());
    type_text(&mut app, "use iterators, quickly");
    assert_eq!(app.quit(), None, "q typed into the input must not quit");
    let refactor = titles(&press(&mut app, KeyCode::Enter));
    assert!(app.input.is_none());
    assert_eq!(refactor.len(), 1, "Enter starts the refactor");
    assert!(refactor[0].contains("percent"), "{refactor:?}");
}

#[test]
fn agent_events_drive_the_task_and_a_proposal_opens_the_review() {
    let demo = Demo::new();
    let (mut app, id) = running(&demo);
    let task = app.tasks.get(id).unwrap();
    assert_eq!(task.state, TaskState::Running);
    assert_eq!((task.attempt, task.max_attempts), (1, 4));
    assert!(task.streamed.contains("mod tests {"));
    assert_eq!(task.activity, "compiling demo…");
    assert_eq!(app.status.session.prompt_tokens, 1_200);
    assert_eq!(app.status.session.completion_tokens, 340);

    // Two tests ran and one was dropped: the line says what is proposed, not "2 tests passed".
    let green = AgentEvent::SandboxFinished {
        report: Box::new(report(kiln_sandbox::RunOutcome::Passed, 2)),
        proposed_tests: Some(crate::task::ProposedTests {
            written: 2,
            kept: 1,
        }),
    };
    app.update(Msg::Agent(id, green));
    assert_eq!(
        app.tasks.get(id).unwrap().log.last().unwrap(),
        "  ✓ 1 test proposed (2 written, 1 dropped, 1.5s)"
    );
    assert!(app.review.is_none());
    finish(&mut app, id, Outcome::Proposed(Box::new(proposal(&demo))));
    assert_eq!(app.tasks.get(id).unwrap().state, TaskState::Proposed);
    assert_eq!(app.review.as_ref().unwrap().choices(), &[None, None]);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_accepted_hunks_are_applied() {
    let demo = Demo::new();
    let (mut app, id, _) = reviewing(&demo);

    // Nothing decided: Enter applies nothing and says so.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.status.message(), Some(strings::REVIEW_NOTHING_ACCEPTED));
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(
        app.review.as_ref().unwrap().choices(),
        &[Some(HunkChoice::Reject), Some(HunkChoice::Accept)]
    );
    let effects = press(&mut app, KeyCode::Enter);
    carry_out_check(&mut app, effects).await;
    assert!(app.review.is_none());
    assert_eq!(app.tasks.get(id).unwrap().state, TaskState::Applied);
    let on_disk = std::fs::read_to_string(demo.lib_rs()).unwrap();
    assert!(
        on_disk.starts_with("//! A tiny"),
        "the rejected hunk was applied"
    );
    assert!(on_disk.contains("fn mean_floor_rounds_down()"));
    assert_eq!(
        app.status.message(),
        Some("applied 1 of 2 hunk(s) to src/lib.rs")
    );
    // The list shows the file as written, still on the item the task was for, now tested.
    let item = app.files.selected_item().unwrap();
    assert_eq!((item.name.as_str(), item.no_tests), ("mean_floor", false));
}

#[test]
fn accept_all_applies_the_whole_proposal() {
    let demo = Demo::new();
    let (mut app, _, proposal) = reviewing(&demo);
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(
        std::fs::read_to_string(demo.lib_rs()).unwrap(),
        proposal.new_text
    );
}

#[test]
fn a_file_changed_since_read_is_not_overwritten_and_the_review_stays() {
    let demo = Demo::new();
    let (mut app, id, _) = reviewing(&demo);
    std::fs::write(demo.lib_rs(), "// edited by the user\n").unwrap();
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Enter);
    assert!(app
        .error
        .as_ref()
        .unwrap()
        .message
        .contains("changed since kiln read it"));
    assert_eq!(
        std::fs::read_to_string(demo.lib_rs()).unwrap(),
        "// edited by the user\n"
    );
    assert_eq!(app.tasks.get(id).unwrap().state, TaskState::Proposed);
    press(&mut app, KeyCode::Esc);
    assert!(app.error.is_none());
    assert!(app.review.is_some(), "the proposal is not lost");
    press(&mut app, KeyCode::Esc);
    assert!(app.review.is_none());
    // Back in the task panel, Enter opens the review again.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Tasks);
    press(&mut app, KeyCode::Enter);
    assert!(app.review.is_some());
}

#[test]
fn failures_are_shown_on_the_task_without_a_review() {
    let demo = Demo::new();
    let (mut app, id) = running(&demo);
    finish(
        &mut app,
        id,
        Outcome::Exhausted {
            last_failure: "test mean_floor_rounds_down failed\nmore".to_string(),
        },
    );
    assert!(app.review.is_none());
    assert_eq!(
        app.tasks.get(id).unwrap().state,
        TaskState::Failed(
            "no passing result after 1 attempt(s): test mean_floor_rounds_down failed".to_string()
        )
    );
}

#[test]
fn x_cancels_the_selected_task_and_its_late_events_are_ignored() {
    let demo = Demo::new();
    let (mut app, id) = running(&demo);
    let effects = press(&mut app, KeyCode::Char('x'));
    assert!(matches!(effects.as_slice(), [Effect::Cancel(cancelled)] if *cancelled == id));
    assert_eq!(app.tasks.get(id).unwrap().state, TaskState::Cancelled);
    finish(&mut app, id, Outcome::Proposed(Box::new(proposal(&demo))));
    assert_eq!(app.tasks.get(id).unwrap().state, TaskState::Cancelled);
    assert!(app.review.is_none());
    assert!(press(&mut app, KeyCode::Char('x')).is_empty());
    assert_eq!(app.status.message(), Some(strings::NOTHING_TO_CANCEL));
}

/// A server that sends no usage: the task row, the task's usage and the session's all say the
/// tokens are kiln's estimate, and the first token of a reply that came whole is unknown.
#[test]
fn estimated_tokens_are_labelled_in_the_status_line_and_the_task_row() {
    use crate::llm::UsageSource;

    let demo = Demo::new();
    let mut app = demo.app();
    open_item(&mut app, "mean_floor");
    let id = start_gen_tests(&mut app);
    scripted_attempt_counted_by(&mut app, id, UsageSource::Estimated, None);
    let screen = screen_text(&app, 220, 30);
    assert!(
        screen.contains(
            "task: 1 attempt(s) · mini: 1 request(s), ~1,200 in / ~340 out tokens (estimated), \
             first token - · session ~1,200 in / ~340 out tokens (estimated) · "
        ),
        "{screen}"
    );
    assert!(screen.contains("mini 1/4 ~1,200+340 tok"), "{screen}");
}

#[test]
fn the_selected_tasks_usage_counts_live_and_the_agents_totals_replace_it() {
    use crate::agent::{ReplyKind, RequestStats, TierStats};
    use crate::config::Tier;
    use crate::llm::Usage;

    let demo = Demo::new();
    let (app, _) = running(&demo);
    // No prices: tokens, and nothing about cost.
    assert_eq!(
        app.status.task_usage.as_deref(),
        Some("1 attempt(s) · mini: 1 request(s), 1,200 in / 340 out tokens, first token 60 ms")
    );
    assert!(!screen_text(&app, 200, 30).contains('$'));

    let (mut app, id) = running_on(priced(demo.app()));
    assert_eq!(
        app.status.task_usage.as_deref(),
        Some("1 attempt(s) · mini: 1 request(s), 1,200 in / 340 out tokens, first token 60 ms, $0.0024")
    );
    // The agent's totals are the truth once the run ends (here with a first-token time).
    let mut mini = TierStats::default();
    let request = RequestStats {
        usage: Some(Usage::reported(1_200, 340)),
        first_token_ms: Some(80),
    };
    mini.count_reply(
        &ReplyKind::ToolCallWellFormed,
        request,
        app.prices.get(&Tier::Mini).copied(),
    );
    let stats = [(Tier::Mini, mini)].into();
    let failed = Outcome::Exhausted {
        last_failure: "test mean_floor_rounds_down failed".to_string(),
    };
    finish_with_stats(&mut app, id, failed, stats);
    assert_eq!(
        app.status.task_usage.as_deref(),
        Some(
            "1 attempt(s) · mini: 1 request(s), 1,200 in / 340 out tokens, first token 80 ms, \
              $0.0024 · cost per result: no hunk applied"
        )
    );
    // A new task is selected and has used nothing yet.
    start_gen_tests(&mut app);
    assert_eq!(app.status.task_usage, None);
}

/// Once a task has proposed, the status bar divides its cost over the proposal's kept tests and
/// caught mutants, and over the hunks once the user applied them.
#[test]
fn the_selected_tasks_usage_says_what_its_cost_bought() {
    let demo = Demo::new();
    let (mut app, id) = running_on(priced(demo.app()));
    let stats = app.tasks.get(id).unwrap().stats.clone();
    finish_with_stats(
        &mut app,
        id,
        Outcome::Proposed(Box::new(proposal(&demo))),
        stats,
    );
    let per_result = |app: &App| {
        let usage = app.status.task_usage.clone().unwrap_or_default();
        usage
            .split_once(" · cost per result: ")
            .map(|(_, per)| per.to_string())
    };
    assert_eq!(
        per_result(&app).as_deref(),
        Some("$0.0024 per kept test (1 kept) · $0.0008 per caught mutant (3 caught) · no hunk applied")
    );
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.tasks.get(id).unwrap().state, TaskState::Applied);
    assert_eq!(
        per_result(&app).as_deref(),
        Some("$0.0024 per kept test (1 kept) · $0.0008 per caught mutant (3 caught) · $0.0012 per applied hunk (2 applied)")
    );
}

#[test]
fn q_quits_normally_ctrl_c_and_sigint_as_interrupted_but_help_and_popups_close_first() {
    let demo = Demo::new();
    let mut app = demo.app();
    press(&mut app, KeyCode::Char('?'));
    assert!(app.help.is_some());
    press(&mut app, KeyCode::Char('q'));
    assert!(app.help.is_none());
    assert_eq!(app.quit(), None);
    press(&mut app, KeyCode::Char('q'));
    assert_eq!(app.quit(), Some(Quit::Normal));

    // Ctrl-C needs no task to be running, and wins over an open popup.
    let mut app = demo.app();
    press(&mut app, KeyCode::Char('?'));
    app.update(ctrl_c());
    assert_eq!(app.quit(), Some(Quit::Stopped(Stop::Interrupt)));
    let (mut app, _) = running(&demo);
    app.update(Msg::Stop(Stop::HangUp));
    assert_eq!(app.quit(), Some(Quit::Stopped(Stop::HangUp)));
}

#[test]
fn a_ten_thousand_line_file_opens_and_pages() {
    let demo = Demo::new();
    let long: String = (0..10_000)
        .map(|n| format!("pub fn f{n}() -> u32 {{ {n} }}\n"))
        .collect();
    std::fs::write(demo.root().join("src/long.rs"), long).unwrap();
    let mut app = demo.app();
    press(&mut app, KeyCode::Char('j'));
    let effects = press(&mut app, KeyCode::Enter);
    crate::tui::outline_now(&mut app, effects);
    render(&app, 100, 30);
    press(&mut app, KeyCode::PageDown);
    assert!(app.code.scroll() > 0);
    press(&mut app, KeyCode::End);
    assert_eq!(app.files.selected_item().unwrap().name, "f9999");
    let screen = screen_text(&app, 100, 30);
    assert!(
        screen.contains("10000 ▌ pub fn f9999() -> u32 { 9999 }"),
        "{screen}"
    );
}

#[test]
fn any_terminal_size_draws_without_panicking() {
    let demo = Demo::new();
    let (mut app, id) = running(&demo);
    for (width, height) in [
        (0, 0),
        (1, 1),
        (40, 10),
        (59, 40),
        (60, 15),
        (200, 3),
        (300, 100),
    ] {
        render(&app, width, height);
    }
    finish(&mut app, id, Outcome::Proposed(Box::new(proposal(&demo))));
    press(&mut app, KeyCode::Char('?'));
    for (width, height) in [(1, 1), (60, 15), (61, 16)] {
        render(&app, width, height);
    }
}

#[test]
fn first_frame_shows_the_first_file_open_on_its_first_item() {
    let demo = Demo::new();
    let screen = crate::tui::first_frame(&demo.root(), 120, 40).unwrap();
    assert!(screen.contains("src/lib.rs"), "{screen}");
    assert!(screen.contains("parse_config"), "{screen}");
    assert!(
        screen.contains("pub fn parse_config(text: &str)"),
        "{screen}"
    );
}

#[test]
fn the_queued_notice_goes_once_its_task_runs_and_stays_gone_when_it_ends() {
    let demo = Demo::new();
    let mut app = demo.app();
    open_item(&mut app, "mean_floor");
    let id = start_gen_tests(&mut app);
    assert!(
        app.status
            .message()
            .is_some_and(|m| m.starts_with("queued: ")),
        "{:?}",
        app.status.message()
    );
    scripted_attempt(&mut app, id);
    assert_eq!(
        app.status.message(),
        None,
        "the task is running, not queued"
    );
    finish(
        &mut app,
        id,
        Outcome::Exhausted {
            last_failure: "test t failed".to_string(),
        },
    );
    assert_eq!(app.status.message(), None);
}

#[test]
fn enter_in_the_file_filter_opens_the_match() {
    let demo = Demo::new();
    let mut app = demo.app();
    assert_eq!(app.files.mode(), ListMode::Files);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "lib");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.files.mode(), ListMode::Items, "Enter opened src/lib.rs");
    assert!(app.files.selected_item().is_some());
}

/// A file too big to parse before the first frame is shown at once and its items come after,
/// from the outline effect; an outline of a file that is no longer open is dropped.
#[test]
fn a_big_file_is_shown_first_and_outlined_beside() {
    let demo = Demo::new();
    let big: String = (0..1_200)
        .map(|i| format!("pub fn f_{i}() -> u32 {{\n    {i}\n}}\n"))
        .collect();
    std::fs::write(demo.root().join("src/big.rs"), &big).unwrap();
    let mut app = demo.app();
    // The file list is sorted: src/big.rs comes before src/lib.rs.
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::Outline {
        opened,
        relative,
        text,
    }] = effects.as_slice()
    else {
        panic!("opening a 3,600-line file gave {} effects", effects.len());
    };
    assert_eq!(text, &big);
    assert!(screen_text(&app, 120, 40).contains("pub fn f_0() -> u32 {"));
    assert_eq!(app.status.message(), Some(strings::LISTING_ITEMS));
    assert!(
        app.files.selected_item().is_none(),
        "no items before the outline"
    );

    let (items, problem) = workspace::outline(relative, text);
    assert_eq!(items.len(), 1_200);
    app.update(Msg::Outline {
        opened: opened + 1,
        items: items.clone(),
        problem: problem.clone(),
    });
    assert!(
        app.files.selected_item().is_none(),
        "an outline for another opening"
    );
    app.update(Msg::Outline {
        opened: *opened,
        items,
        problem,
    });
    assert_eq!(app.files.selected_item().unwrap().name, "f_0");
    assert_eq!(app.status.message(), None);

    // The demo's own file is small: outlined before its first frame, no effect.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Down);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.files.selected_item().is_some());
}
