//! End to end for `kiln refactor`: the real binary, a scripted server, and the crate's whole test
//! suite run by real cargo in a sandbox, on a temp copy of `assets/demo` with existing tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{
    cargo_test, demo_with, kiln, last_message, message_text, DemoCrate, Reply, Run, ScriptedServer,
    EXISTING_TESTS,
};

const CHANGES_SIGNATURE: &str = "pub fn split_fields(line: &str) -> Vec<String> {
    line.split(',').map(str::trim).filter(|f| !f.is_empty()).map(String::from).collect()
}
";

const BREAKS_A_TEST: &str = "pub fn split_fields(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}
";

const GOOD: &str = "pub fn split_fields(line: &str) -> Vec<&str> {
    line.split(',').filter_map(non_empty).collect()
}

fn non_empty(field: &str) -> Option<&str> {
    let field = field.trim();
    (!field.is_empty()).then_some(field)
}
";

fn demo_with_tests() -> (DemoCrate, String) {
    demo_with(("", ""), EXISTING_TESTS)
}

/// `kiln refactor LIB --item ITEM -m INSTRUCTION EXTRA...` against `server`.
async fn refactor(
    server: &ScriptedServer,
    demo: &DemoCrate,
    item: &str,
    instruction: &str,
    extra: &[&str],
) -> Run {
    let lib = demo.lib_rs();
    let mut args = vec![
        "refactor",
        lib.to_str().unwrap(),
        "--item",
        item,
        "-m",
        instruction,
    ];
    args.extend_from_slice(extra);
    kiln(&server.base_url(), &args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn signature_changes_and_broken_tests_are_fed_back_then_the_refactor_is_applied() {
    let (demo, before) = demo_with_tests();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(CHANGES_SIGNATURE));
    server.push(Reply::tool_code(BREAKS_A_TEST));
    server.push(Reply::tool_code(GOOD));

    let run = refactor(
        &server,
        &demo,
        "split_fields",
        "use filter_map with a helper",
        &["--yes"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());

    let requests = server.chat_requests();
    assert_eq!(requests.len(), 3, "{}", run.describe());
    let first = message_text(&requests[0]);
    assert!(
        first.contains("Refactor `fn split_fields` in `src/lib.rs`: use filter_map with a helper"),
        "{first}"
    );
    let second = last_message(&requests[1]);
    assert!(
        second.contains("Public signatures must stay")
            && second.contains("`split_fields` changed from"),
        "request 2 lacks the signature violation:\n{second}"
    );
    let third = last_message(&requests[2]);
    assert!(
        third.contains("split_fields_drops_empty_fields"),
        "request 3 lacks the failing test:\n{third}"
    );

    let applied = demo.read_lib();
    let old_fn = "pub fn split_fields(line: &str) -> Vec<&str> {\n    line.split(',')\n        .map(str::trim)\n        .filter(|field| !field.is_empty())\n        .collect()\n}\n";
    assert!(before.contains(old_fn), "the demo changed");
    assert_eq!(applied, before.replacen(old_fn, GOOD, 1));
    assert!(
        applied.contains("/// Splits a comma-separated field list"),
        "the docs the candidate left out stay"
    );
    let check = cargo_test(demo.dir.path());
    assert_eq!(check.code, Some(0), "{}", check.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn exhausted_budget_leaves_the_file_byte_for_byte_unchanged() {
    let (demo, before) = demo_with_tests();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(BREAKS_A_TEST));
    server.push(Reply::tool_code(CHANGES_SIGNATURE));
    let run = refactor(
        &server,
        &demo,
        "split_fields",
        "simplify",
        &["--max-attempts", "2", "--json", "--yes"],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "no_passing_result");
    assert_eq!(result["attempts"], 2);
    assert!(
        run.stderr
            .contains("no passing refactor after 2 attempt(s)"),
        "{}",
        run.describe()
    );
    assert_eq!(demo.read_lib(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_item_lists_the_ones_that_exist() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    let run = refactor(&server, &demo, "split", "simplify", &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("no item named `split`")
            && run.stderr.contains("split_fields")
            && run.stderr.contains("ParseError"),
        "{}",
        run.describe()
    );
    assert!(server.requests().is_empty(), "no model call for bad input");
}
