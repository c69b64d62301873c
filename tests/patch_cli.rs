//! `--patch` end to end: the real binary on a real terminal (tmux), a scripted server, and the
//! check of the accepted hunks run by real cargo in a sandbox. The refactor below is two hunks:
//! `parse_config` calling a new helper (hunk 1) and the helper itself (hunk 2). The call alone
//! does not build, and is refused with nothing written; the helper alone builds and is written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::{
    cargo_test, demo_with, kiln, tmux_missing, wait_for_file, DemoCrate, Reply, ScriptedServer,
    Tmux, EXISTING_TESTS,
};

const SKIP_LINE: &str = "        if trimmed.is_empty() || trimmed.starts_with('#') {\n";
const CALL_LINE: &str = "        if is_skipped(trimmed) {\n";
const HELPER: &str = "fn is_skipped(line: &str) -> bool {
    line.is_empty() || line.starts_with('#')
}
";

/// The model's refactor: `parse_config` as the demo has it, with the skip test moved into
/// `is_skipped`, and the helper after it.
fn refactor_with_helper(demo: &DemoCrate) -> String {
    let lib = demo.read_lib();
    let start = lib.find("pub fn parse_config").unwrap();
    let end = start + lib[start..].find("\n}\n").unwrap() + 3;
    let parse_config = lib[start..end].replacen(SKIP_LINE, CALL_LINE, 1);
    assert_ne!(parse_config, lib[start..end], "the demo changed");
    format!("{parse_config}\n{HELPER}")
}

/// A shell command for the pane: `kiln ARGS` with a private config and build cache, then its
/// exit status into `out`/exit; the pane stays so the screen can be read.
fn pane_command(base_url: &str, out: &Path, args: &[&str]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    format!(
        "env OPENAI_BASE_URL={base_url} OPENAI_API_KEY=test-key XDG_CONFIG_HOME={out} \
         KILN_CACHE_DIR={out}/cache KILN_MAX_RETRIES=0 {kiln} {args}; echo $? > {exit}; \
         sleep 600",
        out = out.display(),
        kiln = env!("CARGO_BIN_EXE_kiln"),
        args = quoted.join(" "),
        exit = out.join("exit").display(),
    )
}

/// Runs `kiln refactor --patch` on `demo` in tmux, gives `answers` to the hunk questions in
/// turn, and returns the screen at the end and the exit status.
async fn refactor_with_answers(demo: &DemoCrate, answers: &[&'static str]) -> (String, String) {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(&refactor_with_helper(demo)));
    let out = tempfile::tempdir().unwrap();
    let lib = demo.lib_rs();
    let command = pane_command(
        &server.base_url(),
        out.path(),
        &[
            "refactor",
            lib.to_str().unwrap(),
            "--item",
            "parse_config",
            "-m",
            "move the skip test into a helper",
            "-p",
        ],
    );
    let answers = answers.to_vec();
    let out_dir = out.path().to_path_buf();
    // The blocking waits run off the async runtime so the scripted server keeps answering.
    let ended = tokio::task::spawn_blocking(move || {
        let tmux = Tmux::start(&command);
        for (index, answer) in answers.iter().enumerate() {
            // `?` decides nothing: the same hunk is asked about again.
            let hunk = answers[..index].iter().filter(|a| **a != "?").count() + 1;
            tmux.wait_for(&format!(
                "({hunk}/2) Apply this hunk to src/lib.rs [y,n,a,d,q,?]?"
            ));
            tmux.keys(&[answer, "Enter"]);
        }
        let exit = wait_for_file(&out_dir.join("exit"));
        (tmux.screen(), exit.trim().to_string())
    })
    .await
    .unwrap();
    assert_eq!(server.chat_requests().len(), 1);
    ended
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_hunks_that_do_not_build_alone_are_refused_and_nothing_is_written() {
    if tmux_missing() {
        return;
    }
    let (demo, before) = demo_with(("", ""), EXISTING_TESTS);
    let (screen, exit) = refactor_with_answers(&demo, &["y", "n"]).await;
    assert!(
        screen.contains("+        if is_skipped(trimmed) {") && screen.contains("+fn is_skipped"),
        "each hunk is shown before its question:\n{screen}"
    );
    assert!(
        screen.contains("kiln: checking the 1 accepted hunk of 2 in the sandbox…"),
        "{screen}"
    );
    // The screen wraps at 120 columns: compare it joined.
    let joined = screen.replace('\n', "");
    assert!(
        joined.contains(
            "kiln: not applied, nothing was written: accepted hunk 1 of 2 uses `is_skipped`, \
             which rejected hunk 2 adds: does not compile: cannot find function `is_skipped` in \
             this scope (line 24)"
        ),
        "{screen}"
    );
    assert_eq!(exit, "1", "{screen}");
    assert_eq!(demo.read_lib(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn accepted_hunks_that_pass_their_check_are_written() {
    if tmux_missing() {
        return;
    }
    let (demo, before) = demo_with(("", ""), EXISTING_TESTS);
    let (screen, exit) = refactor_with_answers(&demo, &["?", "n", "y"]).await;
    assert!(
        screen.contains("d - do not apply this hunk or any of the later hunks"),
        "? prints the help:\n{screen}"
    );
    assert_eq!(exit, "0", "{screen}");
    assert!(screen.contains("kiln: applied to src/lib.rs"), "{screen}");
    // Only the helper was written; the call stays as it was.
    let written = demo.read_lib();
    assert!(
        written.contains(SKIP_LINE) && written.contains(HELPER),
        "{written}"
    );
    assert_eq!(written.replacen(&format!("\n{HELPER}"), "", 1), before);
    let check = cargo_test(demo.dir.path());
    assert_eq!(check.code, Some(0), "{}", check.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_patch_is_a_usage_error_before_any_request() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    let lib = demo.lib_rs();
    let args = [
        "refactor",
        lib.to_str().unwrap(),
        "--item",
        "parse_config",
        "-m",
        "simplify",
        "--patch",
    ];
    let run = kiln(&server.base_url(), &args).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr
            .contains("--patch asks about each hunk, and stdin is not a terminal to ask on"),
        "{}",
        run.describe()
    );
    assert!(server.requests().is_empty(), "no model call");
    // With --yes it is refused by the argument parser, which exits 2 too.
    let both = kiln(&server.base_url(), &[&args[..], &["--yes"]].concat()).await;
    assert_eq!(both.code, Some(2), "{}", both.describe());
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.describe()
    );
}
