//! The TUI from outside. Without a terminal it refuses clearly; `--help` and `--version` still work
//! with the subcommand optional.
//!
//! End to end in a real terminal: tmux runs the built `kiln tui` on a temp copy of the demo crate
//! against the scripted model server. Keys pick a function and start gen-tests; the test waits for
//! the diff review, accepts it, quits, and checks the file now holds passing tests (real cargo) and
//! that the terminal left raw mode. Ctrl-C instead of `q`, with a task running or a review open,
//! exits 130 and leaves the file as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{
    assert_terminal_restored, cargo_test, exit_and_stty, kiln, start_gen_tests_on_mean_floor,
    tmux_missing, tui_command, DemoCrate, Reply, ReplyOptions, ScriptedServer, Tmux,
    MEAN_FLOOR_TESTS,
};

/// Keeps a request unanswered for longer than any test waits: the task is still running when the
/// test presses Ctrl-C.
const HOLD_REPLY_MS: u64 = 600_000;

#[tokio::test(flavor = "multi_thread")]
async fn pick_a_function_generate_tests_review_apply_and_quit() {
    if tmux_missing() {
        return;
    }
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(MEAN_FLOOR_TESTS));
    let out = tempfile::tempdir().unwrap();
    let command = tui_command(&server.base_url(), demo.dir.path(), out.path(), &[]);
    let out_dir = out.path().to_path_buf();
    // The blocking waits run off the async runtime so the scripted server keeps answering.
    let screens = tokio::task::spawn_blocking(move || {
        let tmux = start_gen_tests_on_mean_floor(&command);
        let review = tmux.wait_for("Review: src/lib.rs");
        tmux.keys(&["a", "Enter"]);
        let applied = tmux.wait_for("applied 1 of 1 hunk(s) to src/lib.rs");
        tmux.keys(&["q"]);
        let (exit, stty) = exit_and_stty(&out_dir);
        (review, applied, exit, stty)
    })
    .await
    .unwrap();
    let (review, applied, exit, stty) = screens;
    assert!(review.contains("+    fn mean_of_one_two() {"), "{review}");
    // The header says what the mutants found before the tests' names.
    assert!(
        review.contains("Review: src/lib.rs · hunk 1/1 · 0 decided · mutants "),
        "{review}"
    );
    assert!(applied.contains("✓ applied"), "{applied}");
    assert_eq!(exit, "0");
    assert_terminal_restored(&stty);

    assert_eq!(server.chat_requests().len(), 1);
    let lib = demo.read_lib();
    assert!(lib.contains("fn mean_of_one_two()"), "{lib}");
    let check = cargo_test(demo.dir.path());
    assert_eq!(check.code, Some(0), "{}", check.describe());
    assert!(check.stdout.contains("1 passed"), "{}", check.describe());
}

/// Seven untested functions: `T` splits them into batches of five and two.
const SEVEN_FNS: &str = "pub fn triple(x: i32) -> i32 { x * 3 }
pub fn halve(x: i32) -> i32 { x / 2 }
pub fn is_zero(x: i32) -> bool { x == 0 }
pub fn min_of(a: i32, b: i32) -> i32 { a.min(b) }
pub fn subtract(a: i32, b: i32) -> i32 { a - b }
pub fn negate(x: i32) -> i32 { -x }
pub fn square(x: i32) -> i32 { x * x }
";

const FIRST_BATCH_TESTS: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples() {
        assert_eq!(triple(4), 12);
    }

    #[test]
    fn halves_rounding_down() {
        assert_eq!(halve(9), 4);
    }

    #[test]
    fn only_zero_is_zero() {
        assert!(is_zero(0));
        assert!(!is_zero(3));
    }

    #[test]
    fn picks_the_smaller() {
        assert_eq!(min_of(2, 9), 2);
        assert_eq!(min_of(9, 2), 2);
    }

    #[test]
    fn subtracts() {
        assert_eq!(subtract(9, 4), 5);
    }
}
";

/// The second batch's module is written apart from the first's; kiln merges the two.
const SECOND_BATCH_TESTS: &str = "#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negates() {
        assert_eq!(negate(5), -5);
    }

    #[test]
    fn squares() {
        assert_eq!(square(3), 9);
    }
}
";

/// `T` on a file with more functions than one batch holds: the TUI runs the batches as
/// concurrent conversations, like `kiln gen-tests`, and reviews one diff with every batch's tests.
#[tokio::test(flavor = "multi_thread")]
async fn shift_t_writes_tests_for_a_whole_file_in_concurrent_batches_and_reviews_one_diff() {
    if tmux_missing() {
        return;
    }
    let demo = DemoCrate::new();
    demo.write("src/lib.rs", SEVEN_FNS);
    let server = ScriptedServer::start().await;
    // Each batch is answered by the functions its prompt lists; held long enough that both
    // requests are open at once.
    let held = || ReplyOptions {
        delay_ms_before_first_byte: 1_500,
        ..ReplyOptions::default()
    };
    server.push_for(
        "`triple` (line",
        Reply::tool_code(FIRST_BATCH_TESTS),
        held(),
    );
    server.push_for(
        "`negate` (line",
        Reply::tool_code(SECOND_BATCH_TESTS),
        held(),
    );
    let out = tempfile::tempdir().unwrap();
    let command = tui_command(&server.base_url(), demo.dir.path(), out.path(), &[]);
    let out_dir = out.path().to_path_buf();
    let screens = tokio::task::spawn_blocking(move || {
        let tmux = Tmux::start(&command);
        tmux.wait_for("src/lib.rs");
        tmux.keys(&["Enter"]);
        tmux.wait_for("square");
        tmux.keys(&["T"]);
        let review = tmux.wait_for("Review: src/lib.rs");
        tmux.keys(&["a", "Enter"]);
        let applied = tmux.wait_for("applied 1 of 1 hunk(s) to src/lib.rs");
        tmux.keys(&["q"]);
        let (exit, _) = exit_and_stty(&out_dir);
        (review, applied, exit)
    })
    .await
    .unwrap();
    let (review, applied, exit) = screens;
    assert_eq!(exit, "0", "{applied}");
    assert!(review.contains("+    fn triples() {"), "{review}");
    // The task panel marks each part's steps (both parts end on the one run they shared: all
    // 7 tests) and shows the combining step.
    assert!(
        applied.contains("[1/2]   ✓ 7 tests passed")
            && applied.contains("[2/2]   ✓ 7 tests passed")
            && applied.contains("running the kept tests of 2 of 2 batches together"),
        "{applied}"
    );

    assert_eq!(server.remaining(), 0);
    assert_eq!(server.chat_requests().len(), 2);
    assert_eq!(server.peak_concurrent_requests(), 2);
    // One module holding both batches' tests, applied as one hunk, and green.
    let lib = demo.read_lib();
    assert!(lib.starts_with(SEVEN_FNS), "{lib}");
    assert_eq!(lib.matches("mod tests").count(), 1, "{lib}");
    for test in [
        "fn triples()",
        "fn subtracts()",
        "fn negates()",
        "fn squares()",
    ] {
        assert!(lib.contains(test), "{test} is missing:\n{lib}");
    }
    let check = cargo_test(demo.dir.path());
    assert_eq!(check.code, Some(0), "{}", check.describe());
    assert!(check.stdout.contains("7 passed"), "{}", check.describe());
}

/// Runs `kiln tui` on `demo`, starts gen-tests on `mean_floor`, lets `until` bring the screen to
/// the moment under test, presses Ctrl-C there, and checks that kiln exited 130, restored the
/// terminal and left src/lib.rs as it was. Returns the screen `until` returned.
async fn interrupt_gen_tests(
    server: &ScriptedServer,
    demo: &DemoCrate,
    until: impl FnOnce(&Tmux) -> String + Send + 'static,
) -> String {
    let original = demo.read_lib();
    let out = tempfile::tempdir().unwrap();
    let command = tui_command(&server.base_url(), demo.dir.path(), out.path(), &[]);
    let out_dir = out.path().to_path_buf();
    let (screen, exit, stty) = tokio::task::spawn_blocking(move || {
        let tmux = start_gen_tests_on_mean_floor(&command);
        let screen = until(&tmux);
        tmux.keys(&["C-c"]);
        let (exit, stty) = exit_and_stty(&out_dir);
        (screen, exit, stty)
    })
    .await
    .unwrap();
    assert_eq!(exit, "130", "{screen}");
    assert_terminal_restored(&stty);
    assert_eq!(demo.read_lib(), original, "an interrupt must write nothing");
    screen
}

/// Also the cost, end to end and live: the first reply's price from kiln.toml shows in the status
/// row while the second request is still out.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_a_task_runs_exits_130_and_writes_nothing() {
    if tmux_missing() {
        return;
    }
    let demo = DemoCrate::new();
    demo.write(
        "kiln.toml",
        "[tiers.mini]\nprice_in_per_mtok = 0.75\nprice_out_per_mtok = 4.5\n",
    );
    let server = ScriptedServer::start().await;
    server.push_with(
        Reply::text("No code this time."),
        ReplyOptions {
            usage: Some((1_200, 340)),
            ..ReplyOptions::default()
        },
    );
    server.push_with(
        Reply::tool_code(MEAN_FLOOR_TESTS),
        ReplyOptions {
            delay_ms_before_first_byte: HOLD_REPLY_MS,
            ..ReplyOptions::default()
        },
    );
    let running = interrupt_gen_tests(&server, &demo, |tmux| {
        tmux.wait_for("attempt 2/");
        // Any key clears the "queued" message, so the status row shows the task's usage.
        tmux.keys(&["Tab"]);
        tmux.wait_for("$0.0024")
    })
    .await;
    assert!(running.contains("▶ running"), "{running}");
    let usage = "task: 2 attempt(s) · mini: 1 request(s), 1,200 in / 340 out tokens, first token ";
    let line = running.split(usage).nth(1).unwrap_or_default();
    assert!(
        line.split(" · ")
            .next()
            .is_some_and(|rest| rest.ends_with(" ms, $0.0024")),
        "{running}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_with_an_accepted_review_open_exits_130_and_writes_nothing() {
    if tmux_missing() {
        return;
    }
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(MEAN_FLOOR_TESTS));
    let accepted = interrupt_gen_tests(&server, &demo, |tmux| {
        tmux.wait_for("Review: src/lib.rs");
        tmux.keys(&["a"]);
        tmux.wait_for("[y] @@")
    })
    .await;
    assert!(
        accepted.contains("+    fn mean_of_one_two() {"),
        "{accepted}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_the_tui_refuses_with_exit_2() {
    let demo = DemoCrate::new();
    let dir = demo.dir.path().to_str().unwrap();
    // The helper runs kiln with stdin from /dev/null and stdout into a pipe.
    let run = kiln("http://127.0.0.1:9/v1", &["tui", dir]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("needs an interactive terminal")
            && run.stderr.contains("kiln gen-tests"),
        "{}",
        run.describe()
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "no escape codes may leak into a pipe"
    );

    let bare = kiln("http://127.0.0.1:9/v1", &[]).await;
    assert_eq!(bare.code, Some(2), "{}", bare.describe());
    assert!(
        bare.stderr.contains("needs an interactive terminal"),
        "{}",
        bare.describe()
    );

    let missing = kiln("http://127.0.0.1:9/v1", &["tui", "/no/such/dir"]).await;
    assert_eq!(missing.code, Some(2), "{}", missing.describe());
    assert!(
        missing.stderr.contains("not a directory"),
        "{}",
        missing.describe()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn help_and_version_still_work_with_the_command_optional() {
    let help = kiln("http://127.0.0.1:9/v1", &["--help"]).await;
    assert_eq!(help.code, Some(0), "{}", help.describe());
    assert!(
        help.stdout.contains("tui") && help.stdout.contains("gen-tests"),
        "{}",
        help.describe()
    );
    let version = kiln("http://127.0.0.1:9/v1", &["--version"]).await;
    assert_eq!(version.code, Some(0), "{}", version.describe());
    assert!(
        version.stdout.starts_with("kiln "),
        "{}",
        version.describe()
    );
}
