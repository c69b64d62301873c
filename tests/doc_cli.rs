//! End to end for `kiln doc`: the real binary, a scripted server, real cargo (doctests) in a real
//! sandbox, on a temp copy of `assets/demo` with one undocumented function added.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{
    cargo_test, demo_with, kiln, kiln_gives_up, last_message, message_text, DemoCrate, Reply,
    ScriptedServer,
};

const UNDOCUMENTED: &str = "
pub fn sign_label(value: i64) -> &'static str {
    match value.signum() {
        -1 => \"negative\",
        0 => \"zero\",
        _ => \"positive\",
    }
}
";

const CHANGES_CODE: &str = "/// Names the sign of `value`.
pub fn sign_label(value: i64) -> &'static str {
    if value < 0 { \"negative\" } else { \"positive\" }
}
";

const FAILING_DOCTEST: &str =
    "/// Names the sign of `value`: \"negative\", \"zero\" or \"positive\".
///
/// ```
/// assert_eq!(kiln_demo::sign_label(0), \"positive\");
/// ```
pub fn sign_label(value: i64) -> &'static str {
    match value.signum() {
        -1 => \"negative\",
        0 => \"zero\",
        _ => \"positive\",
    }
}
";

const GOOD: &str =
    "/// Names the sign of `value`: \"negative\", \"zero\" or \"positive\". Never panics,
/// also not for `i64::MIN`.
///
/// ```
/// assert_eq!(kiln_demo::sign_label(0), \"zero\");
/// assert_eq!(kiln_demo::sign_label(i64::MIN), \"negative\");
/// ```
pub fn sign_label(value: i64) -> &'static str {
    match value.signum() {
        -1 => \"negative\",
        0 => \"zero\",
        _ => \"positive\",
    }
}
";

fn demo_with_undocumented_fn() -> (DemoCrate, String) {
    demo_with(("", ""), UNDOCUMENTED)
}

#[tokio::test(flavor = "multi_thread")]
async fn code_changes_and_failing_doctests_are_fed_back_then_docs_are_applied() {
    let (demo, before) = demo_with_undocumented_fn();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(CHANGES_CODE));
    server.push(Reply::tool_code(FAILING_DOCTEST));
    server.push(Reply::tool_code(GOOD));

    let run = kiln(
        &server.base_url(),
        &["doc", demo.lib_rs().to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());

    let requests = server.chat_requests();
    assert_eq!(requests.len(), 3, "{}", run.describe());
    let first = message_text(&requests[0]);
    assert!(first.contains("`fn sign_label`"), "{first}");
    assert!(
        !first.contains("`fn mean_floor`"),
        "documented items are no targets:\n{first}"
    );
    assert!(first.contains("use kiln_demo::"), "{first}");
    let second = message_text(&requests[1]);
    assert!(
        second.contains("You changed the code of `fn sign_label`"),
        "request 2 lacks the reason:\n{second}"
    );
    let feedback = last_message(&requests[2]);
    assert!(
        feedback.contains("src/lib.rs - sign_label (line"),
        "request 3 lacks the failing doctest's name:\n{feedback}"
    );
    assert!(
        feedback.contains("\"zero\"") && feedback.contains("\"positive\""),
        "request 3 lacks the doctest's assertion:\n{feedback}"
    );

    let applied = demo.read_lib();
    assert_eq!(
        applied,
        before.replace(
            "\npub fn sign_label",
            &format!(
                "\n{}",
                GOOD.split("pub fn sign_label").next().unwrap().to_owned() + "pub fn sign_label"
            )
        )
    );
    let check = cargo_test(demo.dir.path());
    assert_eq!(check.code, Some(0), "{}", check.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_json_reports_the_diff_and_writes_nothing() {
    let (demo, before) = demo_with_undocumented_fn();
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code(GOOD));
    let run = kiln(
        &server.base_url(),
        &[
            "doc",
            demo.lib_rs().to_str().unwrap(),
            "--dry-run",
            "--json",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let result: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["outcome"], "proposed");
    assert_eq!(result["summary"], "docs for fn sign_label");
    assert!(result["diff"]
        .as_str()
        .unwrap()
        .contains("+/// Names the sign"));
    assert_eq!(demo.read_lib(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_usage_error_and_a_documented_file_is_nothing_to_do() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    let lib = demo.lib_rs();
    let run = kiln(&server.base_url(), &["doc", lib.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stderr.contains("already has docs"),
        "{}",
        run.describe()
    );

    let run = kiln(
        &server.base_url(),
        &["doc", lib.to_str().unwrap(), "--item", "nope"],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("no item named `nope`") && run.stderr.contains("mean_floor"),
        "{}",
        run.describe()
    );
    assert!(server.requests().is_empty(), "no model call for bad input");
}

/// Replies with no code at all: the give-up message says so and what to change, instead of only
/// "the model did not produce usable code".
#[tokio::test(flavor = "multi_thread")]
async fn giving_up_on_replies_without_code_says_why_and_what_to_change() {
    let (demo, before) = demo_with_undocumented_fn();
    let server = ScriptedServer::start().await;
    server.push(Reply::text("I would document it as returning the sign."));
    server.push(Reply::tool_call("run_code", "{\"code\": \"\"}"));

    let lib = demo.lib_rs();
    let args = ["doc", lib.to_str().unwrap(), "--max-attempts", "2"];
    let (run, failure) = kiln_gives_up(&server.base_url(), &args).await;
    assert_eq!(server.chat_requests().len(), 2, "{}", run.describe());
    assert!(
        failure.starts_with(
            "  the model sent no usable code in 2 replies (unusable tool call: arguments unusable"
        ) && failure.contains("use a model that follows tool calls")
            && failure.contains("KILN_MODEL_MINI"),
        "{}",
        run.describe()
    );
    assert_eq!(demo.read_lib(), before);
}

/// `doc --item Parse::Err --yes` on `lib`, the model sending `type Err;` back bare (without
/// its trait) with a doc, as small models do when the prompt names it `type Parse::Err`; the
/// doc must land inside the trait. Returns the server, for what kiln sent.
async fn document_parse_err(demo: &DemoCrate, lib: &str) -> ScriptedServer {
    demo.write("src/lib.rs", lib);
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code("/// Why parsing failed.\ntype Err;\n"));
    let run = kiln(
        &server.base_url(),
        &[
            "doc",
            demo.lib_rs().to_str().unwrap(),
            "--item",
            "Parse::Err",
            "--yes",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(
        demo.read_lib(),
        lib.replace(
            "    type Err;",
            "    /// Why parsing failed.\n    type Err;"
        )
    );
    server
}

/// An associated type sent back bare is put inside its trait.
#[tokio::test(flavor = "multi_thread")]
async fn an_associated_type_documented_bare_is_put_inside_its_trait() {
    let demo = DemoCrate::new();
    let lib = demo.read_lib();
    let with_trait = format!(
        "{lib}\n/// Parses text into a value.\npub trait Parse: Sized {{\n    type Err;\n\n    \
         /// Parses `s`.\n    fn parse(s: &str) -> Result<Self, Self::Err>;\n}}\n"
    );
    document_parse_err(&demo, &with_trait).await;
}

/// In a file too big to send whole, an associated item is shown inside its trait's header, so
/// the model knows whose `type Err` it documents.
#[tokio::test(flavor = "multi_thread")]
async fn in_a_big_file_an_associated_item_is_shown_in_its_trait() {
    let demo = DemoCrate::new();
    let lib = demo.read_lib();
    let filler: String = (0..120)
        .map(|i| format!("/// Returns {i}.\npub fn filler_{i}() -> u32 {{\n    {i}\n}}\n"))
        .collect();
    let big = format!(
        "{lib}\n{filler}\n/// Parses text into a value.\npub trait Parse: Sized {{\n    /// Parses `s`.\n    \
         fn parse(s: &str) -> Result<Self, Self::Err>;\n\n    type Err;\n}}\n"
    );
    assert!(big.lines().count() > 200);
    let server = document_parse_err(&demo, &big).await;
    let prompt = last_message(&server.chat_requests()[0]);
    assert!(
        prompt.contains("pub trait Parse: Sized {\n    // ...\n    type Err;\n    // ...\n}"),
        "{prompt}"
    );
    assert!(!prompt.contains("filler_7"), "{prompt}");
}
