//! `kiln hook run` on real git repositories: the fast path, each mode, staged versus unstaged
//! content, an unreachable model, the skip variables, and `kiln apply`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{
    double_documented, lib_with_documented_double, message_text, server_wanting_tests, GitRepo,
    Reply, ReplyOptions, ScriptedServer, DOUBLE_DOC, DOUBLE_TESTS, LIB_AT_HEAD, LIB_WITH_DOUBLE,
};

/// Nothing listens on port 1: a request there fails at once.
const NO_SERVER: &str = "http://127.0.0.1:1/v1";
const PATCH: &str = ".git/kiln/src__lib.rs.patch";
/// The working-tree version after staging LIB_WITH_DOUBLE: an unstaged edit the hook must
/// neither see nor lose.
const UNSTAGED_MARKER: &str = "// unstaged work in progress";

fn unstaged_version() -> String {
    format!("{LIB_WITH_DOUBLE}\n{UNSTAGED_MARKER}\npub fn half(x: i32) -> i32 {{\n    x / 2\n}}\n")
}

/// Every chat request kiln sent, as text, to check what the model was shown.
fn sent_text(server: &ScriptedServer) -> String {
    server
        .chat_requests()
        .iter()
        .map(message_text)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn nothing_rust_staged_or_nothing_needed_exits_at_once_without_a_request() {
    let repo = GitRepo::new();
    let server = ScriptedServer::start().await;
    let run = repo.kiln(&server.base_url(), &["hook", "run"], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());

    repo.write("README.md", "hello\n");
    repo.write(
        "src/lib.rs",
        &format!("{LIB_AT_HEAD}\nfn private_helper() -> i32 {{ 2 }}\n"),
    );
    repo.git(&["add", "README.md", "src/lib.rs"]);
    let run = repo
        .kiln(&server.base_url(), &["hook", "run", "--mode", "block"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(run.stderr, "", "a no-op run prints nothing");

    // A documented public function with a test in its file needs nothing either.
    repo.write(
        "src/lib.rs",
        &format!(
            "{LIB_AT_HEAD}\n/// Twice x.\npub fn double(x: i32) -> i32 {{\n    x * 2\n}}\n\n{DOUBLE_TESTS}"
        ),
    );
    repo.git(&["add", "src/lib.rs"]);
    let run = repo
        .kiln(&server.base_url(), &["hook", "run", "--mode", "block"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(
        server.requests().len(),
        0,
        "the fast path never calls a model"
    );
}

#[tokio::test]
async fn warn_validates_the_staged_version_saves_a_patch_and_keeps_unstaged_edits() {
    let repo = GitRepo::with_double_staged();
    let working = unstaged_version();
    repo.write("src/lib.rs", &working);
    let server = server_wanting_tests().await;

    let run = repo.kiln(&server.base_url(), &["hook", "run"], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stderr
            .contains("src/lib.rs:6 `double`: no tests, no docs"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr
            .contains(&format!("kiln apply {}", repo.path(PATCH).display())),
        "{}",
        run.describe()
    );
    assert_eq!(
        repo.read("src/lib.rs"),
        working,
        "the working tree is untouched"
    );
    assert_eq!(
        repo.staged("src/lib.rs"),
        LIB_WITH_DOUBLE,
        "nothing was staged"
    );

    let requests = server.chat_requests();
    assert_eq!(
        requests.len(),
        3,
        "one nano gate, one mini attempt for tests, one for docs"
    );
    assert_eq!(requests[0]["model"], "gpt-5.4-nano");
    assert_eq!(requests[1]["model"], "gpt-5.4-mini");
    assert_eq!(requests[2]["model"], "gpt-5.4-mini");
    let sent = sent_text(&server);
    assert!(sent.contains("x * 2"), "{sent}");
    assert!(
        !sent.contains(UNSTAGED_MARKER),
        "unstaged edits leaked into the check: {sent}"
    );

    let patch = repo.read(PATCH);
    assert!(patch.contains("+    fn doubles() {"), "{patch}");
    assert!(patch.contains(&format!("+{DOUBLE_DOC}")), "{patch}");
    assert!(!patch.contains(UNSTAGED_MARKER), "{patch}");
    // The patch says what the tests proved, as the CLI and the TUI do.
    assert!(
        patch.starts_with("# kiln proposal: 1 test: doubles · mutants 5/5 caught (100%) and "),
        "{patch}"
    );
    assert!(
        patch.contains(
            "\n# double: 1 kept (doubles), mutants 5/5 caught (100%; by doubles 5), attempts: mini 1\n"
        ),
        "{patch}"
    );
    // And what the model work took; this server reports usage, so nothing is estimated.
    for what in ["tests", "docs"] {
        let note = format!("\n# {what}: 1 attempt(s) · mini: 1 request(s), ");
        let line = patch
            .split(&note)
            .nth(1)
            .and_then(|rest| rest.lines().next());
        assert!(
            line.is_some_and(|l| l.contains(" in / ") && !l.contains("estimated")),
            "{patch}"
        );
    }
    assert!(
        !repo.path(".git/kiln/staged").exists(),
        "the staged checkout is removed"
    );

    // The patch was made from the staged text; the file on disk differs, so apply refuses.
    let run = repo.kiln(NO_SERVER, &["apply", PATCH], &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("changed since kiln read it"),
        "{}",
        run.describe()
    );
    assert_eq!(repo.read("src/lib.rs"), working);

    // Back to the staged text, the patch applies and the tests pass under real cargo.
    repo.write("src/lib.rs", LIB_WITH_DOUBLE);
    let run = repo.kiln(NO_SERVER, &["apply", PATCH], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(repo.read("src/lib.rs"), documented_and_tested());
    assert!(!repo.path(PATCH).exists(), "an applied patch is removed");
    let tested = support::cargo_test(repo.dir.path());
    assert_eq!(tested.code, Some(0), "{}", tested.describe());
}

#[tokio::test]
async fn fix_writes_tests_and_docs_into_the_working_tree_exits_1_and_stages_nothing() {
    let repo = GitRepo::with_double_staged();
    let server = server_wanting_tests().await;

    let run = repo
        .kiln(&server.base_url(), &["hook", "run", "--mode", "fix"], &[])
        .await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(run.stderr.contains("git add"), "{}", run.describe());
    // The docs were written on top of the tests: both are in the file, neither lost.
    assert_eq!(repo.read("src/lib.rs"), documented_and_tested());
    assert_eq!(
        repo.staged("src/lib.rs"),
        LIB_WITH_DOUBLE,
        "kiln never runs git add"
    );
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 3, "{}", run.describe());
    let doc_request = message_text(&requests[2]);
    assert!(
        doc_request.contains("fn doubles()"),
        "the doc request is made on the file with the tests in it: {doc_request}"
    );
    let tested = support::cargo_test(repo.dir.path());
    assert_eq!(tested.code, Some(0), "{}", tested.describe());
}

/// What the scripted server's tests and docs make of [`LIB_WITH_DOUBLE`].
fn documented_and_tested() -> String {
    format!("{}\n{DOUBLE_TESTS}", lib_with_documented_double())
}

#[tokio::test]
async fn a_tested_function_without_docs_gets_a_doc_patch_without_a_gate_and_never_blocks() {
    let repo = GitRepo::new();
    let staged = format!("{LIB_WITH_DOUBLE}\n{DOUBLE_TESTS}");
    repo.write("src/lib.rs", &staged);
    repo.git(&["add", "src/lib.rs"]);
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(&double_documented()));

    let run = repo.kiln(&server.base_url(), &["hook", "run"], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stderr.contains("src/lib.rs:6 `double`: no docs"),
        "{}",
        run.describe()
    );
    assert_eq!(
        repo.read("src/lib.rs"),
        staged,
        "the working tree is untouched"
    );
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 1, "no nano gate for docs");
    assert_eq!(requests[0]["model"], "gpt-5.4-mini");
    let sent = message_text(&requests[0]);
    assert!(
        sent.contains("Write `///` doc comments") && sent.contains("- `fn double` (line 6)"),
        "not the doc prompt: {sent}"
    );
    let patch = repo.read(PATCH);
    assert!(patch.contains(&format!("+{DOUBLE_DOC}")), "{patch}");

    let run = repo.kiln(NO_SERVER, &["apply", PATCH], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(repo.read("src/lib.rs"), documented_and_tested());

    // Block mode is about tests only: missing docs are proposed, the commit goes ahead.
    repo.write("src/lib.rs", &staged);
    server.push(Reply::tool_code(&double_documented()));
    let run = repo
        .kiln(&server.base_url(), &["hook", "run", "--mode", "block"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(repo.path(PATCH).is_file(), "{}", run.describe());
}

#[tokio::test]
async fn fix_with_unstaged_edits_saves_a_patch_instead_and_keeps_them_byte_for_byte() {
    let repo = GitRepo::with_double_staged();
    let working = unstaged_version();
    repo.write("src/lib.rs", &working);
    let server = server_wanting_tests().await;

    let run = repo
        .kiln(&server.base_url(), &["hook", "run", "--mode", "fix"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run.stderr.contains("unstaged edits"), "{}", run.describe());
    assert_eq!(repo.read("src/lib.rs"), working);
    assert!(repo.path(PATCH).is_file());
}

#[tokio::test]
async fn block_exits_1_while_a_public_function_is_untested() {
    let repo = GitRepo::with_double_staged();
    let server = server_wanting_tests().await;
    let run = repo
        .kiln(&server.base_url(), &["hook", "run", "--mode", "block"], &[])
        .await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        repo.path(PATCH).is_file(),
        "the proposal is kept for kiln apply"
    );
    assert_eq!(repo.read("src/lib.rs"), LIB_WITH_DOUBLE);
}

#[tokio::test]
async fn when_nano_says_no_tests_are_needed_the_commit_passes_without_mini() {
    let repo = GitRepo::with_double_staged();
    let server = ScriptedServer::start().await;
    server.push(Reply::text("{\"answer\": \"no\"}"));
    server.push(Reply::tool_code(&double_documented()));
    let run = repo
        .kiln(&server.base_url(), &["hook", "run", "--mode", "block"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let requests = server.chat_requests();
    assert_eq!(
        requests.len(),
        2,
        "the gate, then docs (which need no gate)"
    );
    assert_eq!(requests[1]["model"], "gpt-5.4-mini");
}

#[tokio::test]
async fn an_unreachable_model_or_missing_key_is_one_line_and_exit_0_unless_strict() {
    let repo = GitRepo::with_double_staged();

    let run = repo
        .kiln(NO_SERVER, &["hook", "run", "--mode", "block"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let notices: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("tests not checked"))
        .collect();
    assert_eq!(notices.len(), 1, "{}", run.describe());

    let run = repo
        .kiln(
            NO_SERVER,
            &["hook", "run", "--mode", "block", "--strict"],
            &[],
        )
        .await;
    assert_eq!(run.code, Some(1), "{}", run.describe());

    let run = repo
        .kiln(
            "https://api.openai.com/v1",
            &["hook", "run", "--mode", "fix"],
            &[("OPENAI_API_KEY", "")],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stderr.contains("tests not checked: no API key"),
        "{}",
        run.describe()
    );
    assert_eq!(repo.read("src/lib.rs"), LIB_WITH_DOUBLE);
}

#[tokio::test]
async fn kiln_skip_and_pre_commit_skip_make_no_request() {
    let repo = GitRepo::with_double_staged();
    let server = ScriptedServer::start().await;
    for env in [("KILN_SKIP", "1"), ("SKIP", "fmt,kiln")] {
        let run = repo
            .kiln(
                &server.base_url(),
                &["hook", "run", "--mode", "block"],
                &[env],
            )
            .await;
        assert_eq!(run.code, Some(0), "{env:?}: {}", run.describe());
    }
    assert_eq!(server.requests().len(), 0);
}

#[tokio::test]
async fn named_files_limit_the_check_to_them() {
    let repo = GitRepo::with_double_staged();
    let server = ScriptedServer::start().await;
    let run = repo
        .kiln(
            &server.base_url(),
            &["hook", "run", "--mode", "block", "src/other.rs"],
            &[],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(server.requests().len(), 0);
}

#[tokio::test]
async fn a_spent_time_budget_is_one_line_and_does_not_block_unless_strict() {
    let repo = GitRepo::with_double_staged();
    let server = ScriptedServer::start().await;
    // Far beyond the 1 s budget: kiln stops waiting, the test does not wait for it.
    let stalled = ReplyOptions {
        delay_ms_before_first_byte: 120_000,
        ..ReplyOptions::default()
    };
    for strict in [false, true] {
        server.push(Reply::text("{\"answer\": \"yes\"}"));
        server.push_with(Reply::tool_code(DOUBLE_TESTS), stalled.clone());
        let mut args = vec!["hook", "run", "--mode", "block", "--budget-secs", "1"];
        if strict {
            args.push("--strict");
        }
        let run = repo.kiln(&server.base_url(), &args, &[]).await;
        assert_eq!(
            run.code,
            Some(if strict { 1 } else { 0 }),
            "{}",
            run.describe()
        );
        assert!(
            run.stderr.contains("ran out of its 1 s budget"),
            "{}",
            run.describe()
        );
    }
    assert_eq!(repo.read("src/lib.rs"), LIB_WITH_DOUBLE);
}

/// Giving up is one line that says why, not only that nothing passed.
#[tokio::test]
async fn no_passing_docs_is_one_line_with_the_reason() {
    let repo = GitRepo::new();
    repo.write("src/lib.rs", &format!("{LIB_WITH_DOUBLE}\n{DOUBLE_TESTS}"));
    repo.git(&["add", "src/lib.rs"]);
    let server = ScriptedServer::start().await;
    server.push(Reply::text("It doubles x."));

    let run = repo
        .kiln(
            &server.base_url(),
            &["hook", "run"],
            &[("KILN_MAX_ATTEMPTS", "1")],
        )
        .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stderr.contains(
            "kiln: src/lib.rs: no passing docs after 1 attempt(s): the model sent no usable code \
             in 1 reply (the reply held no code).\n"
        ),
        "{}",
        run.describe()
    );
    assert!(!repo.path(PATCH).exists(), "{}", run.describe());
}
