//! Bad input and bad servers: each ends with a clear message and the documented exit code, and the
//! user's files are never touched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{kiln, kiln_with_env, DemoCrate, Reply, ScriptedServer};

#[tokio::test(flavor = "multi_thread")]
async fn missing_file_is_a_usage_error() {
    let server = ScriptedServer::start().await;
    let demo = DemoCrate::new();
    let missing = demo.dir.path().join("src/nope.rs");
    let run = kiln(
        &server.base_url(),
        &["gen-tests", missing.to_str().unwrap()],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("nope.rs: no such file"),
        "{}",
        run.describe()
    );
    assert!(server.requests().is_empty(), "no model call for bad input");
}

#[tokio::test(flavor = "multi_thread")]
async fn non_rust_file_and_file_outside_a_crate_are_usage_errors() {
    let server = ScriptedServer::start().await;
    let demo = DemoCrate::new();
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.dir.path().join("Cargo.toml").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("not a Rust source file"),
        "{}",
        run.describe()
    );

    let loose = tempfile::tempdir().unwrap();
    let file = loose.path().join("loose.rs");
    std::fs::write(&file, "pub fn f() -> u8 { 1 }\n").unwrap();
    let run = kiln(&server.base_url(), &["gen-tests", file.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("not inside a cargo crate"),
        "{}",
        run.describe()
    );
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn file_that_does_not_parse_names_the_line() {
    let server = ScriptedServer::start().await;
    let demo = DemoCrate::new();
    let broken = "pub fn ok() -> u8 { 1 }\n\npub fn broken( -> u8 { 2 }\n";
    let file = demo.write("src/broken.rs", broken);
    let run = kiln(&server.base_url(), &["gen-tests", file.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(run.stderr.contains("broken.rs:3:"), "{}", run.describe());
    assert!(run.stderr.contains("does not parse"), "{}", run.describe());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
}

#[tokio::test(flavor = "multi_thread")]
async fn file_without_functions_says_so() {
    let server = ScriptedServer::start().await;
    let demo = DemoCrate::new();
    let file = demo.write("src/types.rs", "pub struct Point { pub x: i32 }\n");
    let run = kiln(&server.base_url(), &["gen-tests", file.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("no functions found"),
        "{}",
        run.describe()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn model_that_never_produces_a_candidate_ends_with_exit_1() {
    let server = ScriptedServer::start().await;
    let demo = DemoCrate::new();
    let before = demo.read_lib();
    for _ in 0..2 {
        server.push(Reply::text("I am not able to write tests right now."));
    }
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--yes",
            "--max-attempts",
            "2",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stderr.contains("no passing tests after 2 attempt(s)"),
        "{}",
        run.describe()
    );
    assert_eq!(server.chat_requests().len(), 2);
    let nudge = server.chat_requests()[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(nudge["role"], "user");
    assert!(nudge["content"]
        .as_str()
        .unwrap()
        .contains("Call the `run_code` tool"));
    assert_eq!(demo.read_lib(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_connection_is_a_model_error_with_a_hint() {
    // Bind and drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let demo = DemoCrate::new();
    let before = demo.read_lib();
    let run = kiln(
        &format!("http://127.0.0.1:{port}/v1"),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(run.code, Some(3), "{}", run.describe());
    assert!(
        run.stderr.contains("cannot reach the model server"),
        "{}",
        run.describe()
    );
    assert!(run.stderr.contains("OPENAI_BASE_URL"), "{}", run.describe());
    assert_eq!(demo.read_lib(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_and_client_errors_are_not() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::http_error(500, "overloaded"));
    server.push(Reply::rate_limit());
    server.push(Reply::http_error(400, "model `nope` does not exist"));
    let run = kiln_with_env(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--yes"],
        &[("KILN_MAX_RETRIES", "3")],
    )
    .await;
    assert_eq!(run.code, Some(3), "{}", run.describe());
    assert_eq!(
        server.chat_requests().len(),
        3,
        "500 and 429 retried once each, 400 not at all"
    );
    assert!(run.stderr.contains("retry 1/3"), "{}", run.describe());
    assert!(
        run.stderr.contains("model `nope` does not exist"),
        "{}",
        run.describe()
    );
    assert!(run.stderr.contains("KILN_MODEL_MINI"), "{}", run.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_key_for_openai_is_explained_without_a_request() {
    let demo = DemoCrate::new();
    let run = kiln_with_env(
        "https://api.openai.com/v1",
        &["gen-tests", demo.lib_rs().to_str().unwrap()],
        &[("OPENAI_API_KEY", "")],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("export OPENAI_API_KEY="),
        "{}",
        run.describe()
    );
    assert!(run.stderr.contains("OPENAI_BASE_URL"), "{}", run.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_streamed_reply_falls_back_to_a_plain_request() {
    let demo = DemoCrate::new();
    let server = ScriptedServer::start().await;
    server.push(Reply::EmptyOk);
    server.push(Reply::tool_code(
        "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn splits() { assert_eq!(split_fields(\"a, ,b\"), vec![\"a\", \"b\"]); }\n}\n",
    ));
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            demo.lib_rs().to_str().unwrap(),
            "--fn",
            "split_fields",
            "--yes",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let requests = server.chat_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["stream"], true);
    assert_eq!(requests[1]["stream"], false);
    assert!(run.stderr.contains("empty stream"), "{}", run.describe());
    assert!(demo.read_lib().contains("fn splits()"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crate_that_does_not_build_is_refused_before_any_request() {
    let server = ScriptedServer::start().await;
    server.push(Reply::tool_code("unused: the run must stop before asking"));
    let demo = DemoCrate::new();
    demo.write(
        "src/wip.rs",
        "pub fn broken() -> u8 {\n    \"not a number\"\n}\n",
    );
    let lib = demo.read_lib();
    demo.write("src/lib.rs", &format!("{lib}\nmod wip;\n"));
    let run = kiln(
        &server.base_url(),
        &["gen-tests", demo.lib_rs().to_str().unwrap(), "--json"],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("does not build as it is")
            && run.stderr.contains("src/wip.rs:2: mismatched types")
            && run.stderr.contains("Fix the crate first"),
        "{}",
        run.describe()
    );
    assert!(server.chat_requests().is_empty(), "a request was spent");
    assert_eq!(demo.read_lib(), format!("{lib}\nmod wip;\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_file_is_refused_before_any_request() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = ScriptedServer::start().await;
    let demo = DemoCrate::new();
    let lib = demo.lib_rs();
    let before = demo.read_lib();
    std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o444)).unwrap();
    let run = kiln(
        &server.base_url(),
        &["gen-tests", lib.to_str().unwrap(), "--yes"],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("lib.rs is read-only"),
        "{}",
        run.describe()
    );
    assert!(server.chat_requests().is_empty(), "a request was spent");
    assert_eq!(demo.read_lib(), before);
    let mode = std::fs::metadata(&lib).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444, "the file's mode changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_the_build_never_compiles_is_refused_before_any_request() {
    let server = ScriptedServer::start().await;
    let demo = DemoCrate::new();
    let orphan = demo.write("src/orphan.rs", "pub fn one() -> u8 {\n    1\n}\n");
    let run = kiln(&server.base_url(), &["gen-tests", orphan.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("the build never compiles this file")
            && run.stderr.contains("declares no `mod orphan;`"),
        "{}",
        run.describe()
    );
    assert!(server.chat_requests().is_empty(), "a request was spent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_module_behind_a_feature_needs_the_feature_which_reaches_the_sandbox() {
    let server = ScriptedServer::start().await;
    let demo = DemoCrate::new();
    let manifest = std::fs::read_to_string(demo.dir.path().join("Cargo.toml")).unwrap();
    demo.write(
        "Cargo.toml",
        &format!("{manifest}\n[features]\nextra = []\n"),
    );
    let lib = demo.read_lib();
    demo.write(
        "src/lib.rs",
        &format!("{lib}\n#[cfg(feature = \"extra\")]\nmod extra;\n"),
    );
    let extra = demo.write("src/extra.rs", "pub fn one() -> u8 {\n    1\n}\n");
    let run = kiln(&server.base_url(), &["gen-tests", extra.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr
            .contains("compiled only with feature `extra`, which is off: pass --features extra"),
        "{}",
        run.describe()
    );
    assert!(server.chat_requests().is_empty(), "a request was spent");

    // With the feature, the sandbox builds the module: the test runs and is kept.
    server.push(Reply::tool_code(
        "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn one_is_one() {\n        assert_eq!(one(), 1);\n    }\n}\n",
    ));
    let run = kiln(
        &server.base_url(),
        &[
            "gen-tests",
            extra.to_str().unwrap(),
            "--features",
            "extra",
            "--dry-run",
            "--max-attempts",
            "1",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run.stderr.contains("1 test passed"), "{}", run.describe());
}
