//! `kiln gen-tests FILE`: write unit tests for the functions in FILE that have none.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use kiln_sandbox::SandboxConfig;

use super::progress::{Live, ProgressPrinter};
use super::report::{usage_line, JsonResult, ResultKind};
use super::Exit;
use crate::agent::{self, AgentEvent, AgentSettings, Outcome};
use crate::config::{Config, Tier};
use crate::diff::{self, Colour};
use crate::llm::LlmClient;
use crate::task::gen_tests::GenTests;
use crate::task::{Task, TaskError};

#[derive(Debug, clap::Args)]
pub struct GenTestsArgs {
    /// The Rust source file whose functions need tests, e.g. src/parser.rs.
    pub file: PathBuf,
    /// Only these functions (repeatable). `Type::method` picks one method. Default: every
    /// function that no test in the file calls yet.
    #[arg(long = "fn", value_name = "NAME")]
    pub functions: Vec<String>,
    /// Apply the validated tests without asking.
    #[arg(long, short = 'y', conflicts_with = "dry_run")]
    pub yes: bool,
    /// Only show the diff; never write.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object (outcome, attempts, tokens per tier, diff) on stdout instead of text.
    /// Without --yes nothing is applied.
    #[arg(long)]
    pub json: bool,
    /// How many model replies to try before giving up [default: 4, or max_attempts in kiln.toml].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: Option<u32>,
    /// The model tier to use.
    #[arg(long, value_enum, default_value = "mini")]
    pub tier: Tier,
}

pub async fn run(args: GenTestsArgs) -> Exit {
    let mut run = GenTestsRun {
        json: args.json,
        result: JsonResult {
            outcome: ResultKind::InputError,
            file: Some(args.file.display().to_string()),
            attempts: 0,
            summary: None,
            message: None,
            tiers: Default::default(),
            diff: None,
        },
    };
    let exit = run.execute(&args).await;
    if run.json {
        match serde_json::to_string_pretty(&run.result) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("kiln: cannot encode the JSON result: {e}"),
        }
    }
    exit
}

struct GenTestsRun {
    json: bool,
    result: JsonResult,
}

impl GenTestsRun {
    fn finish(&mut self, outcome: ResultKind, exit: Exit, message: &str) -> Exit {
        self.result.outcome = outcome;
        if !message.is_empty() {
            self.result.message = Some(message.to_string());
            eprintln!("kiln: {message}");
        }
        exit
    }

    async fn execute(&mut self, args: &GenTestsArgs) -> Exit {
        let task = match GenTests::new(&args.file, &args.functions) {
            Ok(task) => task,
            Err(TaskError::NothingToDo(message)) => {
                return self.finish(ResultKind::NothingToDo, Exit::Ok, &message)
            }
            Err(e) => return self.finish(ResultKind::InputError, Exit::Usage, &e.to_string()),
        };
        let env = |name: &str| std::env::var(name).ok();
        let config = match Config::load(&task.location().crate_root, &env) {
            Ok(config) => config,
            Err(e) => return self.finish(ResultKind::InputError, Exit::Usage, &e.to_string()),
        };
        let llm = match LlmClient::new(&config) {
            Ok(llm) => llm,
            Err(e) => return self.finish(ResultKind::InputError, Exit::Usage, &e.to_string()),
        };
        let settings = AgentSettings {
            max_attempts: args.max_attempts.unwrap_or(config.max_attempts),
            tier: args.tier,
            sandbox: SandboxConfig {
                timeout: config.sandbox_timeout,
                target_dir: kiln_sandbox::cache::target_dir_from_process(
                    &task.location().workspace_root,
                ),
                ..SandboxConfig::default()
            },
        };

        // Probing spawns a few short-lived processes: keep it off the async threads.
        if let Ok(Some(warning)) = tokio::task::spawn_blocking(|| {
            super::doctor::missing_protections_warning(&kiln_sandbox::probe())
        })
        .await
        {
            eprintln!("kiln: {warning}");
        }

        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<AgentEvent>();
        let live = if std::io::stderr().is_terminal() {
            Live::StatusLine
        } else {
            Live::LinesOnly
        };
        let printer = tokio::spawn(async move {
            let mut printer = ProgressPrinter::new(std::io::stderr(), live);
            while let Some(event) = receiver.recv().await {
                printer.handle(&event);
            }
        });
        let summary = tokio::select! {
            summary = agent::run(&task, &llm, &settings, &sender) => summary,
            _ = tokio::signal::ctrl_c() => {
                drop(sender);
                let _ = printer.await;
                return self.finish(ResultKind::Interrupted, Exit::Interrupted, "interrupted; nothing was written");
            }
        };
        drop(sender);
        let _ = printer.await;
        self.result.attempts = summary.attempts;
        self.result.tiers = summary.stats.clone();
        eprintln!("kiln: {}", usage_line(summary.attempts, &summary.stats));

        match summary.outcome {
            Outcome::Proposed(proposal) => {
                self.result.summary = Some(proposal.summary.clone());
                let label = task.location().relative_path.display().to_string();
                self.result.diff = Some(diff::unified(
                    &label,
                    &proposal.original,
                    &proposal.new_text,
                    Colour::Never,
                ));
                if !self.json {
                    let mut stdout = std::io::stdout();
                    let coloured = diff::unified(
                        &label,
                        &proposal.original,
                        &proposal.new_text,
                        Colour::for_stream(&stdout),
                    );
                    let _ = stdout.write_all(coloured.as_bytes());
                    let _ = stdout.flush();
                }
                eprintln!("kiln: validated {}", proposal.summary);
                match self.approval(args, &label) {
                    Approval::Apply => {
                        match diff::apply(&proposal.file, &proposal.original, &proposal.new_text) {
                            Ok(()) => self.finish(
                                ResultKind::Applied,
                                Exit::Ok,
                                &format!("applied to {label}"),
                            ),
                            Err(e) => {
                                self.finish(ResultKind::InputError, Exit::Usage, &e.to_string())
                            }
                        }
                    }
                    Approval::Skip(why) => self.finish(ResultKind::Proposed, Exit::Ok, &why),
                }
            }
            Outcome::Exhausted { last_failure } => {
                let message = format!(
                    "no passing tests after {} attempt(s); {label} is unchanged. Last failure:\n{}",
                    summary.attempts,
                    indent(&last_failure),
                    label = task.location().relative_path.display()
                );
                self.finish(ResultKind::NoPassingResult, Exit::NoPassingResult, &message)
            }
            Outcome::ModelFailed(e) => {
                self.finish(ResultKind::ModelError, Exit::Model, &e.to_string())
            }
            Outcome::SandboxFailed(message) => {
                self.finish(ResultKind::InputError, Exit::Usage, &message)
            }
        }
    }

    fn approval(&self, args: &GenTestsArgs, label: &str) -> Approval {
        if args.dry_run {
            return Approval::Skip("dry run: nothing was written".to_string());
        }
        if args.yes {
            return Approval::Apply;
        }
        if self.json {
            return Approval::Skip("not applied (pass --yes with --json to apply)".to_string());
        }
        if !std::io::stdin().is_terminal() {
            return Approval::Skip(
                "not applied: stdin is not a terminal to ask on (pass --yes to apply)".to_string(),
            );
        }
        eprint!("Apply to {label}? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer).is_err() {
            return Approval::Skip("not applied".to_string());
        }
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => Approval::Apply,
            _ => Approval::Skip("not applied".to_string()),
        }
    }
}

enum Approval {
    Apply,
    Skip(String),
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
