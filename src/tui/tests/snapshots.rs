//! One snapshot per screen. Review changes with `cargo insta review` (or compare the `.snap.new`
//! files) like any other code change.

use ratatui::crossterm::event::KeyCode;

use super::*;

const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;

#[test]
fn file_list() {
    let demo = Demo::new();
    let app = demo.app();
    insta::assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn item_list_with_the_selected_item_in_the_code() {
    let demo = Demo::new();
    let mut app = demo.app();
    render(&app, WIDTH, HEIGHT);
    press(&mut app, KeyCode::Enter);
    for _ in 0..3 {
        press(&mut app, KeyCode::Down);
    }
    insta::assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn task_running() {
    let demo = Demo::new();
    let (mut app, _) = running(&demo);
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

/// With prices in the config the status row leads with the task's cost; `task_running` shows the
/// same row without prices: tokens, and nothing about cost.
#[test]
fn task_running_with_prices() {
    let demo = Demo::new();
    let (mut app, _) = running_on(priced(demo.app()));
    press(&mut app, KeyCode::Tab);
    insta::assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn diff_review() {
    let demo = Demo::new();
    let (mut app, _, _) = reviewing(&demo);
    press(&mut app, KeyCode::Char('n'));
    insta::assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn help() {
    let demo = Demo::new();
    let mut app = demo.app();
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn error() {
    let demo = Demo::new();
    let (mut app, _, _) = reviewing(&demo);
    std::fs::write(demo.lib_rs(), "// edited meanwhile\n").unwrap();
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Enter);
    let screen = render(&app, WIDTH, HEIGHT).to_string();
    // The temp dir's name differs on every run.
    let screen = screen.replace(&demo.root().display().to_string(), "[demo]");
    insta::assert_snapshot!(screen);
}

#[test]
fn refactor_input() {
    let demo = Demo::new();
    let mut app = demo.app();
    open_item(&mut app, "percent");
    press(&mut app, KeyCode::Char('r'));
    type_text(&mut app, "avoid the float");
    insta::assert_snapshot!(render(&app, WIDTH, HEIGHT));
}

#[test]
fn too_small() {
    let demo = Demo::new();
    let app = demo.app();
    insta::assert_snapshot!(render(&app, 40, 10));
}

#[test]
fn no_colour_means_no_colour_on_any_screen() {
    use ratatui::style::Color;
    let demo = Demo::new();
    let (mut app, _) = running(&demo);
    let mut screens = vec![render(&app, WIDTH, HEIGHT)];
    press(&mut app, KeyCode::Char('?'));
    screens.push(render(&app, WIDTH, HEIGHT));
    let (app, _, _) = reviewing(&demo);
    screens.push(render(&app, WIDTH, HEIGHT));
    for screen in screens {
        let coloured = screen
            .buffer()
            .content()
            .iter()
            .filter(|cell| cell.fg != Color::Reset || cell.bg != Color::Reset)
            .count();
        assert_eq!(coloured, 0, "{screen}");
    }
    // And the colour theme does use colour, so the check above can fail.
    let mut app = demo.app();
    app.theme = Theme::new(Palette::Colour);
    let screen = render(&app, WIDTH, HEIGHT);
    assert!(screen
        .buffer()
        .content()
        .iter()
        .any(|cell| cell.fg != Color::Reset));
}

/// A failure's cause longer than the panel is wrapped, so its end (often what to do) is on
/// screen rather than cut at the edge.
#[test]
fn a_long_failure_cause_wraps_in_the_task_panel() {
    let demo = Demo::new();
    let (mut app, id) = running(&demo);
    let cause = "the crate does not build as it is: src/wip.rs:3:5: mismatched types, expected \
                 `u32`, found `&str`; fix the crate first";
    finish(
        &mut app,
        id,
        Outcome::Exhausted {
            last_failure: cause.to_string(),
        },
    );
    press(&mut app, KeyCode::Tab);
    let screen = render(&app, WIDTH, HEIGHT).to_string();
    assert!(screen.contains("fix the crate first"), "{screen}");
}
