//! The TUI from outside. Without a terminal it refuses clearly; `--help` and `--version` still work
//! with the subcommand optional.
//!
//! End to end in a real terminal: tmux runs the built `kiln tui` on a temp copy of the demo crate
//! against the scripted model server. Keys pick a function and start gen-tests; the test waits for
//! the diff review, accepts it, quits, and checks the file now holds passing tests (real cargo) and
//! that the terminal left raw mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{
    cargo_test, kiln, DemoCrate, Reply, ScriptedServer, Tmux, MEAN_FLOOR_TESTS, POLL_MS,
    WAIT_LIMIT_SECS,
};

fn wait_for_file(path: &Path) -> String {
    let started = Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < Duration::from_secs(WAIT_LIMIT_SECS));
        std::thread::sleep(Duration::from_millis(POLL_MS));
    }
    std::thread::sleep(Duration::from_millis(POLL_MS));
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn pick_a_function_generate_tests_review_apply_and_quit() {
    if !Tmux::available() {
        // .ci/run installs tmux; elsewhere the test says why it did nothing.
        assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(MEAN_FLOOR_TESTS));
    let out = tempfile::tempdir().unwrap();
    let exit_file = out.path().join("exit");
    let stty_file = out.path().join("stty");
    let command = format!(
        "env OPENAI_BASE_URL={base} OPENAI_API_KEY=test-key XDG_CONFIG_HOME={config} \
         KILN_MAX_RETRIES=0 {kiln} tui {dir}; echo $? > {exit}; stty -a > {stty}; sleep 600",
        base = server.base_url(),
        config = out.path().display(),
        kiln = env!("CARGO_BIN_EXE_kiln"),
        dir = demo.dir.path().display(),
        exit = exit_file.display(),
        stty = stty_file.display(),
    );
    // The blocking waits run off the async runtime so the scripted server keeps answering.
    let screens = tokio::task::spawn_blocking(move || {
        let tmux = Tmux::start(&command);
        tmux.wait_for("src/lib.rs");
        tmux.keys(&["Enter"]);
        tmux.wait_for("mean_floor");
        tmux.keys(&["/", "mean_floor", "Enter", "t"]);
        let review = tmux.wait_for("Review: src/lib.rs");
        tmux.keys(&["a", "Enter"]);
        let applied = tmux.wait_for("applied 1 of 1 hunk(s) to src/lib.rs");
        tmux.keys(&["q"]);
        let exit = wait_for_file(&exit_file);
        let stty = wait_for_file(&stty_file);
        (review, applied, exit, stty)
    })
    .await
    .unwrap();
    let (review, applied, exit, stty) = screens;
    assert!(review.contains("+    fn mean_of_one_two() {"), "{review}");
    assert!(applied.contains("✓ applied"), "{applied}");
    assert_eq!(exit.trim(), "0");
    // Raw mode turns these off; a restored terminal has them back.
    assert!(
        stty.contains(" icanon") && stty.contains(" echo "),
        "{stty}"
    );

    assert_eq!(server.chat_requests().len(), 1);
    let lib = demo.read_lib();
    assert!(lib.contains("fn mean_of_one_two()"), "{lib}");
    let check = cargo_test(demo.dir.path());
    assert_eq!(check.code, Some(0), "{}", check.describe());
    assert!(check.stdout.contains("1 passed"), "{}", check.describe());
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
