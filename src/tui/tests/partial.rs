//! A partial accept in the review: Enter with only some hunks accepted checks them in a real
//! sandbox (the runtime's own pool carries the check out) and writes only when that passes.

use pretty_assertions::assert_eq;
use ratatui::crossterm::event::KeyCode;

use super::*;
use crate::diff::{self, HunkChoice};
use crate::task::RecheckRule;
use crate::tui::strings;
use crate::tui::task_view::TaskState;

/// `mean_floor` made to call `wide_sum` (hunk 1), and `wide_sum` with a test at the end of the
/// file (hunk 2): the first hunk does not build without the second.
fn dependent_hunks(demo: &Demo) -> Proposal {
    let original = std::fs::read_to_string(demo.lib_rs()).unwrap();
    let sum = "    let sum: i64 = values.iter().map(|&v| i64::from(v)).sum();\n";
    assert!(original.contains(sum), "the demo changed");
    let new_text = format!(
        "{}\nfn wide_sum(values: &[i32]) -> i64 {{\n    values.iter().map(|&v| i64::from(v)).sum()\n}}\n\n\
         #[cfg(test)]\nmod tests {{\n    use super::*;\n\n    #[test]\n    fn mean_floor_rounds_down() {{\n        \
         assert_eq!(mean_floor(&[1, 2]), Some(1));\n    }}\n}}\n",
        original.replacen(sum, "    let sum = wide_sum(values);\n", 1)
    );
    Proposal {
        new_text,
        summary: "refactor of fn mean_floor".to_string(),
        recheck: recheck(demo, RecheckRule::Passes),
        ..proposal(demo)
    }
}

fn reviewing_proposal(demo: &Demo, proposal: Proposal) -> (App, TaskId) {
    let mut app = demo.app();
    open_item(&mut app, "mean_floor");
    let id = start_gen_tests(&mut app);
    finish(&mut app, id, Outcome::Proposed(Box::new(proposal)));
    assert!(app.review.is_some());
    (app, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_hunks_that_do_not_build_alone_are_refused_and_the_review_stays() {
    let demo = Demo::new();
    let before = std::fs::read_to_string(demo.lib_rs()).unwrap();
    let (mut app, id) = reviewing_proposal(&demo, dependent_hunks(&demo));
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Char('n'));
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(std::fs::read_to_string(demo.lib_rs()).unwrap(), before);
    // While it checks, the choices stay as they were checked.
    assert!(press(&mut app, KeyCode::Char('a')).is_empty());
    assert_eq!(
        app.review.as_ref().unwrap().choices(),
        &[Some(HunkChoice::Accept), Some(HunkChoice::Reject)]
    );
    let headers = carry_out_check(&mut app, effects).await;
    assert!(
        headers[0]
            .contains("Review: src/lib.rs · checking the 1 accepted hunk of 2 in the sandbox…"),
        "{headers:?}"
    );
    assert!(
        headers
            .iter()
            .any(|h| h.contains("· compiling kiln-demo v0.1.0…")),
        "{headers:?}"
    );

    assert_eq!(std::fs::read_to_string(demo.lib_rs()).unwrap(), before);
    let message = &app.error.as_ref().expect("no popup").message;
    assert!(
        message.starts_with(
            "Not applied, nothing was written: accepted hunk 1 of 2 uses `wide_sum`, which \
             rejected hunk 2 adds: does not compile: cannot find function `wide_sum` in this scope"
        ),
        "{message}"
    );
    assert_eq!(app.tasks.get(id).unwrap().state, TaskState::Proposed);
    press(&mut app, KeyCode::Esc);
    let review = app.review.as_ref().expect("the review closed");
    assert!(!review.is_checking());
    assert!(screen_text(&app, 140, 30).contains("hunk 2/2 · 2 decided"));
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_hunks_that_pass_their_check_are_written() {
    let demo = Demo::new();
    let proposal = dependent_hunks(&demo);
    let (mut app, id) = reviewing_proposal(&demo, proposal.clone());
    // The helper and its test without the call: builds, and the test passes.
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('y'));
    let effects = press(&mut app, KeyCode::Enter);
    carry_out_check(&mut app, effects).await;

    assert!(
        app.error.is_none(),
        "{:?}",
        app.error.as_ref().map(|e| &e.message)
    );
    assert!(app.review.is_none());
    assert_eq!(
        std::fs::read_to_string(demo.lib_rs()).unwrap(),
        diff::merge_accepted(
            &proposal.original,
            &proposal.new_text,
            &[HunkChoice::Reject, HunkChoice::Accept]
        )
    );
    assert_eq!(app.tasks.get(id).unwrap().state, TaskState::Applied);
    assert_eq!(
        app.status.message(),
        Some("applied 1 of 2 hunk(s) to src/lib.rs")
    );
}

#[test]
fn a_check_that_ends_after_the_review_closed_writes_nothing() {
    let demo = Demo::new();
    let before = std::fs::read_to_string(demo.lib_rs()).unwrap();
    let (mut app, id) = reviewing_proposal(&demo, dependent_hunks(&demo));
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('y'));
    assert!(matches!(
        press(&mut app, KeyCode::Enter).as_slice(),
        [Effect::Recheck { .. }]
    ));
    // Esc stops the check with the review.
    let effects = press(&mut app, KeyCode::Esc);
    assert!(matches!(effects.as_slice(), [Effect::Cancel(cancelled)] if *cancelled == id));
    assert!(app.review.is_none());
    assert!(app.update(Msg::Rechecked(id, Ok(()))).is_empty());
    assert_eq!(std::fs::read_to_string(demo.lib_rs()).unwrap(), before);
    assert_eq!(app.status.message(), None);
    assert!(strings::REVIEW_CHECKING_KEYS.contains("Esc"));
}
