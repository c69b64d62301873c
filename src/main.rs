//! The `kiln` command line: clap definitions and dispatch, nothing else.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kiln::cli::{doc, doctor, fim, gen_tests, refactor};
use kiln::frontend::Exit;
use kiln::{hook, tui};

/// kiln: small, cheap models writing code that passes its own tests.
///
/// kiln asks a model for code, builds and tests it in a sandbox copy of your crate, feeds
/// compiler errors and test failures back until it is green, and shows you the diff before
/// anything in your tree changes.
///
/// Endpoint: OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL for any OpenAI-compatible server
/// (Ollama, llama.cpp, vLLM). Models per tier: KILN_MODEL_NANO, KILN_MODEL_MINI, KILN_MODEL_FULL,
/// or [tiers] in kiln.toml. Each tier speaks chat completions, or OpenAI's Responses API with
/// `wire_api = "responses"` in its [tiers.NAME] table (repairs then continue the model's kept
/// reply instead of resending the conversation); `kiln doctor` shows which wire each tier uses.
///
/// Without a command, kiln opens the interactive TUI in the current directory (`kiln tui .`).
#[derive(Debug, Parser)]
#[command(name = "kiln", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write unit tests for the functions in a file that have none, validated in a sandbox.
    ///
    /// Exit codes: 0 applied, shown or nothing to do; 1 no passing tests within the attempt
    /// budget; 2 usage, input or local error; 3 the model server failed; 130, 143, 129 stopped by
    /// SIGINT (Ctrl-C), SIGTERM or SIGHUP, nothing written.
    #[command(
        after_help = "Examples:\n  kiln gen-tests src/parser.rs\n  kiln gen-tests src/parser.rs --fn parse_header --fn split_fields\n  kiln gen-tests src/lib.rs --dry-run --json\n  kiln gen-tests src/lib.rs --message-format json --yes  (one JSON event per line, for editors and CI)\n  kiln gen-tests src/big.rs --batch-size 4 --jobs 2   (many functions: concurrent batches, one diff)\n  kiln gen-tests src/big.rs --max-functions 20          (the first 20 functions; the plan is printed first)"
    )]
    GenTests(gen_tests::GenTestsArgs),
    /// Write `///` docs for the items in a file that have none; doctests run in a sandbox.
    ///
    /// Only comments change: a candidate that touches code is rejected. Exit codes as for
    /// gen-tests.
    #[command(
        after_help = "Examples:\n  kiln doc src/lib.rs\n  kiln doc src/parser.rs --item Parser::parse\n  kiln doc src/lib.rs --all --dry-run"
    )]
    Doc(doc::DocArgs),
    /// Rewrite an item by an instruction; the crate's whole test suite must still pass.
    ///
    /// Public signatures stay unchanged unless the instruction asks; only FILE changes.
    /// Exit codes as for gen-tests.
    #[command(
        after_help = "Examples:\n  kiln refactor src/parser.rs --item parse -m \"extract the parsing loop into a helper\"\n  kiln refactor src/lib.rs --item Config::load -m \"use ? instead of match\" --dry-run"
    )]
    Refactor(refactor::RefactorArgs),
    /// Fill a hole: a `todo!()` body, a `// kiln: fill` line, or the lines you name.
    ///
    /// The fill must compile and the crate's tests must pass. Exit codes as for gen-tests.
    #[command(
        after_help = "Examples:\n  kiln fim src/lib.rs\n  kiln fim src/parser.rs --line 42\n  kiln fim src/parser.rs --range 40:48 --dry-run"
    )]
    Fim(fim::FimArgs),
    /// Browse a crate, run tasks on its functions, watch them, and review each diff hunk by hunk.
    ///
    /// Exit codes: 0 quit with q; 130 quit with Ctrl-C, 143 SIGTERM, 129 SIGHUP (at any time:
    /// running tasks stop, diffs not yet applied are dropped, nothing is written); 2 not a
    /// terminal, or a usage, config or local error.
    Tui(tui::TuiArgs),
    /// Show which sandbox protections this machine provides, found by trying each.
    ///
    /// Among them: no reads outside the crate, toolchain and system; no host sockets; no
    /// terminal; no network; no writes outside the sandbox; no planting in the shared build
    /// cache; limits; no process outliving its run or kiln. An UNAVAILABLE line says why and
    /// what is exposed instead; gen-tests and the other tasks warn in one line when any is off.
    /// Then each model tier: its model, its endpoint and the wire it speaks (`wire_api`: chat
    /// completions or the Responses API), as the config here resolves them.
    Doctor,
    /// The git pre-commit hook: install, uninstall, or run it on the staged changes.
    #[command(
        after_help = "Examples:\n  kiln hook install\n  kiln hook install --mode block --force\n  kiln hook run --mode fix"
    )]
    Hook(hook::HookArgs),
    /// Apply a proposal the hook saved under .git/kiln/, if the file has not changed since.
    Apply(hook::ApplyArgs),
}

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
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
            Some(Command::GenTests(args)) => gen_tests::run(args).await,
            Some(Command::Doc(args)) => doc::run(args).await,
            Some(Command::Refactor(args)) => refactor::run(args).await,
            Some(Command::Fim(args)) => fim::run(args).await,
            Some(Command::Tui(args)) => tui::run(args).await,
            None => tui::run(tui::TuiArgs::default()).await,
            Some(Command::Doctor) => doctor::run(),
            Some(Command::Hook(args)) => hook::run(args).await,
            Some(Command::Apply(args)) => hook::apply(args),
        }
    });
    exit.into()
}

/// `kiln doctor | head -1`: once the reader is gone, end as `cat` does, killed quietly by
/// SIGPIPE. Rust starts programs with SIGPIPE ignored, so every later print would panic with
/// "failed printing to stdout: Broken pipe" (exit 101) instead. Sockets are unaffected (std and
/// tokio send with MSG_NOSIGNAL), and kiln writes into no child's pipe.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: setting a signal's disposition to its default touches no memory of ours; this
    // runs before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
