//! End to end for `kiln fim`: the real binary, a scripted server, and the crate's tests run by
//! real cargo in a sandbox, on a temp copy of `assets/demo` with a `todo!()` hole and tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{
    cargo_test, demo_with, kiln, kiln_gives_up, kiln_with_env, last_message, message_text,
    DemoCrate, Reply, ScriptedServer, EXISTING_TESTS,
};

const SPLIT_BODY: &str = "    line.split(',')\n        .map(str::trim)\n        .filter(|field| !field.is_empty())\n        .collect()\n";

const DOES_NOT_COMPILE: &str =
    "line.split(',').map(str::trim).filter(|f| !f.is_empty()).collect::<Vec<String>>()";
const FAILS_A_TEST: &str = "line.split(',').map(str::trim).collect()";
const GOOD: &str =
    "line.split(',')\n    .map(str::trim)\n    .filter(|field| !field.is_empty())\n    .collect()";

fn demo_with_hole() -> (DemoCrate, String) {
    demo_with((SPLIT_BODY, "    todo!()\n"), EXISTING_TESTS)
}

#[tokio::test(flavor = "multi_thread")]
async fn compile_errors_and_failing_tests_are_fed_back_then_the_fill_is_applied() {
    let (demo, before) = demo_with_hole();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(DOES_NOT_COMPILE));
    server.push(Reply::tool_code(FAILS_A_TEST));
    server.push(Reply::tool_code(GOOD));

    let run = kiln(
        &server.base_url(),
        &["fim", demo.lib_rs().to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());

    let requests = server.chat_requests();
    assert_eq!(requests.len(), 3, "{}", run.describe());
    let first = message_text(&requests[0]);
    assert!(
        first.contains("pub fn split_fields(line: &str) -> Vec<&str> {\n    <FILL_ME>\n}"),
        "the prompt marks the hole:\n{first}"
    );
    assert!(
        !first.contains("fn mean_floor"),
        "only what the function needs:\n{first}"
    );
    // The hole's own tests say what it must do: they come with the prompt.
    assert!(
        first.contains("How the file uses it")
            && first.contains("fn split_fields_drops_empty_fields"),
        "the prompt shows the tests that call the function:\n{first}"
    );
    let second = last_message(&requests[1]);
    assert!(
        second.contains("BUILD FAILED")
            && second.contains("expected `Vec<&str>`, found `Vec<String>`"),
        "request 2 lacks the compiler error:\n{second}"
    );
    let third = last_message(&requests[2]);
    assert!(
        third.contains("split_fields_drops_empty_fields"),
        "request 3 lacks the failing test:\n{third}"
    );

    let applied = demo.read_lib();
    assert_eq!(applied, before.replacen("    todo!()\n", SPLIT_BODY, 1));
    let check = cargo_test(demo.dir.path());
    assert_eq!(check.code, Some(0), "{}", check.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_completions_server_gets_prefix_and_suffix_and_the_failure_as_comments() {
    let (demo, before) = demo_with_hole();
    let server = ScriptedServer::start().await;
    server.push(Reply::text(FAILS_A_TEST));
    server.push(Reply::text(GOOD));

    let run = kiln_with_env(
        &server.base_url(),
        &["fim", demo.lib_rs().to_str().unwrap(), "--yes"],
        &[("KILN_FIM", "completions")],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        server.chat_requests().is_empty(),
        "no chat in completions mode"
    );
    let requests = server.completion_requests();
    assert_eq!(requests.len(), 2, "{}", run.describe());
    let prompt = requests[0]["prompt"].as_str().unwrap();
    assert!(
        prompt.ends_with("pub fn split_fields(line: &str) -> Vec<&str> {\n    "),
        "the prompt is the prefix up to the hole:\n{prompt}"
    );
    assert_eq!(requests[0]["suffix"], "\n}\n\n// ...\n");
    assert_eq!(requests[0]["model"], "gpt-5.4-mini");
    let retry = requests[1]["prompt"].as_str().unwrap();
    assert!(
        retry.starts_with("// kiln: the previous fill for the hole below failed:")
            && retry.contains("split_fields_drops_empty_fields"),
        "request 2 carries the failing test as comments:\n{retry}"
    );
    assert_eq!(
        demo.read_lib(),
        before.replacen("    todo!()\n", SPLIT_BODY, 1)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_line_is_rewritten_and_dry_run_writes_nothing() {
    let demo = DemoCrate::new();
    let before = demo.read_lib();
    let line = before
        .lines()
        .position(|l| l.contains("Some(value.max(low).min(high))"))
        .unwrap()
        + 1;
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code("Some(value.clamp(low, high))"));
    let run = kiln(
        &server.base_url(),
        &[
            "fim",
            demo.lib_rs().to_str().unwrap(),
            "--line",
            &line.to_string(),
            "--dry-run",
            "--json",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let prompt = message_text(&server.chat_requests()[0]);
    assert!(
        prompt.contains("```rust\nSome(value.max(low).min(high))\n```"),
        "the prompt shows the line it replaces:\n{prompt}"
    );
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "proposed");
    assert!(result["diff"]
        .as_str()
        .unwrap()
        .contains("+    Some(value.clamp(low, high))"));
    assert_eq!(demo.read_lib(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_hole_a_line_outside_the_file_and_an_unparsable_file_are_usage_errors() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    let lib = demo.lib_rs();
    let run = kiln(&server.base_url(), &["fim", lib.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("no hole found"), "{}", run.describe());

    let run = kiln(
        &server.base_url(),
        &["fim", lib.to_str().unwrap(), "--line", "999"],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("not inside the file"),
        "{}",
        run.describe()
    );

    let broken = "pub fn f() -> u8 {\n    todo!()\n}\n\npub fn g( -> u8 { 1 }\n";
    let file = demo.write("src/broken.rs", broken);
    let run = kiln(&server.base_url(), &["fim", file.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("broken.rs:5:") && run.stderr.contains("does not parse"),
        "{}",
        run.describe()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
    assert!(server.requests().is_empty(), "no model call for bad input");
}

/// A last reply without usable code says nothing about the code: the give-up message keeps the
/// compiler error of the candidate before it and says what the last reply lacked (it used to be
/// only "the model did not produce usable code").
#[tokio::test(flavor = "multi_thread")]
async fn giving_up_after_an_unusable_reply_still_shows_the_last_candidates_failure() {
    let (demo, before) = demo_with_hole();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(DOES_NOT_COMPILE));
    server.push(Reply::tool_call("run_code", "{\"cod\": 1}"));

    let lib = demo.lib_rs();
    let args = ["fim", lib.to_str().unwrap(), "--max-attempts", "2"];
    let (run, failure) = kiln_gives_up(&server.base_url(), &args).await;
    assert_eq!(server.chat_requests().len(), 2, "{}", run.describe());
    assert!(
        failure.starts_with("  the model's last reply held no usable code (unusable tool call: ")
            && failure.contains("BUILD FAILED")
            && failure.contains("expected `Vec<&str>`, found `Vec<String>`"),
        "{}",
        run.describe()
    );
    assert_eq!(demo.read_lib(), before);
}

/// The common reply shape: the first line bare (the prompt's prefix ended at the hole's column),
/// the later lines indented as they will stand in the file. Written as it is, they would gain
/// the hole's indentation twice and `cargo fmt --check` would fail.
#[tokio::test(flavor = "multi_thread")]
async fn a_reply_indented_as_in_the_file_is_written_at_the_holes_indentation() {
    let (demo, before) = demo_with_hole();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(
        "line.split(',')\n        .map(str::trim)\n        .filter(|field| !field.is_empty())\n        .collect()",
    ));
    let run = kiln(
        &server.base_url(),
        &["fim", demo.lib_rs().to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(
        demo.read_lib(),
        before.replacen("    todo!()\n", SPLIT_BODY, 1)
    );
}
