//! The `kiln` command line: clap definitions and dispatch, nothing else.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kiln::cli::{doctor, gen_tests, Exit};

/// kiln: small, cheap models writing code that passes its own tests.
///
/// kiln asks a model for code, builds and tests it in a sandbox copy of your crate, feeds
/// compiler errors and test failures back until it is green, and shows you the diff before
/// anything in your tree changes.
///
/// Endpoint: OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL for any OpenAI-compatible server
/// (Ollama, llama.cpp, vLLM). Models per tier: KILN_MODEL_NANO, KILN_MODEL_MINI, KILN_MODEL_FULL,
/// or [tiers] in kiln.toml.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write unit tests for the functions in a file that have none, validated in a sandbox.
    ///
    /// Exit codes: 0 applied, shown or nothing to do; 1 no passing tests within the attempt
    /// budget; 2 usage, input or local error; 3 the model server failed.
    #[command(
        after_help = "Examples:\n  kiln gen-tests src/parser.rs\n  kiln gen-tests src/parser.rs --fn parse_header --fn split_fields\n  kiln gen-tests src/lib.rs --dry-run --json"
    )]
    GenTests(gen_tests::GenTestsArgs),
    /// Show which sandbox protections (no network, no writes outside, limits) this machine
    /// provides, found by trying each.
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kiln: cannot start the async runtime: {e}");
            return Exit::Usage.into();
        }
    };
    let exit = runtime.block_on(async {
        match cli.command {
            Command::GenTests(args) => gen_tests::run(args).await,
            Command::Doctor => doctor::run(),
        }
    });
    exit.into()
}
