//! Test support: a scripted OpenAI-compatible HTTP server on 127.0.0.1.
//!
//! Integration tests point kiln (or a bare async-openai client) at
//! [`ScriptedServer::base_url`] instead of a real API, queue the model's
//! answers with [`ScriptedServer::push`], then inspect what was sent with
//! [`ScriptedServer::requests`] / [`ScriptedServer::chat_requests`].
//!
//! ```ignore
//! mod support;
//! use support::{Reply, ScriptedServer};
//!
//! let server = ScriptedServer::start().await;
//! server.push(Reply::tool_code("print(1)"));
//! server.push(Reply::Text("done".into()));
//! // ... run kiln against server.base_url() ...
//! assert_eq!(server.chat_requests().len(), 2);
//! ```
//!
//! Only tokio, serde_json (and std) are used: no HTTP framework.
#![allow(dead_code)]
#![allow(unused_imports)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Runs `async fn $name(wire: WireApi)` as two tests, `$name::chat` and `$name::responses`:
/// one body for both wires, so a fault suite cannot drift between them. The attribute
/// (default `#[tokio::test]`) is the test harness for both.
#[macro_export]
macro_rules! on_both_wires {
    (#[$test:meta] $name:ident) => {
        mod $name {
            #[$test]
            async fn chat() {
                super::$name(kiln::config::WireApi::Chat).await
            }

            #[$test]
            async fn responses() {
                super::$name(kiln::config::WireApi::Responses).await
            }
        }
    };
    ($name:ident) => {
        $crate::on_both_wires!(
            #[tokio::test]
            $name
        );
    };
}

mod cli;
mod git_repo;
mod lib_text;
mod llm;
mod real;
mod reply;
mod responses;
mod server;
mod tmux;
mod tokens;
mod tui;

pub use cli::{
    cargo_test, kiln, kiln_gives_up, kiln_json, kiln_with_env, DemoCrate, KilnHomes, Run,
};
pub use git_repo::{
    double_documented, lib_with_documented_double, server_wanting_tests, GitRepo, DOUBLE_DOC,
    DOUBLE_TESTS, LIB_AT_HEAD, LIB_WITH_DOUBLE,
};
pub use lib_text::{demo_with, last_message, message_text, EXISTING_TESTS, MEAN_FLOOR_TESTS};
pub use llm::{
    classify_falls_back_to_prompt_only_after, client as llm_client, client_on as llm_client_on,
    config as test_config,
};
pub use real::{cli_dry_run_ends_clearly, cli_env, RealModel, SERVER_TURN};
pub use reply::{Reply, ReplyOptions};
pub use responses::response_id;
pub use server::{RecordedRequest, ScriptedServer};
pub use tmux::{Tmux, POLL_MS, WAIT_LIMIT_SECS};
pub use tokens::{
    completion_tokens as o200k_completion_tokens, prompt_tokens as o200k_prompt_tokens,
};
pub use tui::{
    assert_terminal_restored, exit_and_stty, start_gen_tests_on_mean_floor, tmux_missing,
    tui_command, wait_for_file,
};
