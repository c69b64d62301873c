//! What every one-shot task command does once it has a task: load the config, build the model
//! client, run the agent with live progress, show the diff, ask (or obey `--yes`/`--dry-run`),
//! apply atomically, and print the `--json` result or the `--message-format json` event lines.
//! Each command only parses its own arguments and builds its task.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use tokio::sync::mpsc::UnboundedSender;

use super::events_json::EventLines;
use super::json::{JsonResult, ResultKind};
use super::patch;
use super::progress::{Live, ProgressPrinter};
use crate::agent::{
    self, cost_per_result, AgentEvent, Outcome, Produced, Proposal, RecheckError, RunSummary,
    TierStats, Work,
};
use crate::config::{Config, Tier};
use crate::diff::{self, Colour, HunkChoice};
use crate::frontend::partial::{describe_subset_check, describe_subset_failure};
use crate::frontend::session::{self, Planned, Session};
use crate::frontend::signal::{Stop, StopSignals};
use crate::frontend::timings::Timings;
use crate::frontend::wording::{
    describe_cost_per_result, describe_outcome, missing_protections_warning, over_max_functions,
    plan_line, usage_line, Form,
};
use crate::frontend::Exit;
use crate::llm::LlmClient;
use crate::project::{self, Features};
use crate::task::gen_tests::Plan;
use crate::task::{Task, TaskError};

/// The flags every task command shares.
#[derive(Debug, clap::Args)]
pub struct TaskFlags {
    /// Apply the validated change without asking (gen-tests: and spend a plan over
    /// max_functions without asking).
    #[arg(long, short = 'y', conflicts_with = "dry_run")]
    pub yes: bool,
    /// Only show the diff; never write. The model is still asked (gen-tests: within the same
    /// max_functions limit).
    #[arg(long)]
    pub dry_run: bool,
    /// Review the change hunk by hunk on the terminal, as `git add -p` does: [y,n,a,d,q,?] for
    /// each. Accepting only some hunks checks them in the sandbox as the whole was validated,
    /// and writes them only if that passes (else exit 1, nothing written).
    #[arg(long, short = 'p', conflicts_with_all = ["yes", "dry_run", "json"])]
    pub patch: bool,
    /// Print one JSON object (outcome, attempts, tokens per tier, cost per result, diff) on
    /// stdout at the end instead of text. Without --yes nothing is applied.
    #[arg(long, conflicts_with = "message_format")]
    pub json: bool,
    /// `json`: every event as one JSON object per line on stdout, as it happens (attempt, reply
    /// with its tool-call outcome, usage, sandbox start and finish, escalation, proposal with the
    /// diff), the last line being what --json prints, with "type": "summary"; also when
    /// interrupted. The progress lines stay on stderr. Without --yes nothing is applied. The
    /// line types are in the README and assets/events.schema.json.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
    /// How many model replies to try before giving up [default: 4, or max_attempts in kiln.toml];
    /// with gen-tests batches, per batch.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: Option<u32>,
    /// Pin one model tier. Default: start on mini and escalate to full after `escalate_after`
    /// failed attempts (2 unless kiln.toml says otherwise).
    #[arg(long, value_enum)]
    pub tier: Option<Tier>,
    /// Stop before the next request once this many US dollars are spent. Needs prices for the
    /// tiers in kiln.toml (`price_in_per_mtok`, `price_out_per_mtok` under [tiers.NAME]).
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// Build with these features of the crate (comma-separated), as `cargo test --features`.
    #[arg(long, short = 'F', value_name = "FEATURES", value_delimiter = ',')]
    pub features: Vec<String>,
    /// Build with every feature of the crate.
    #[arg(long)]
    pub all_features: bool,
    /// Build without the crate's default features.
    #[arg(long)]
    pub no_default_features: bool,
}

/// What a one-shot command writes on stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// The diff, for people (with --json: one JSON object at the end).
    #[default]
    Human,
    /// JSON lines: one object per event as it happens, the summary last.
    Json,
}

/// [`TaskFlags`]' stdout as one choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stdout {
    Diff,
    /// `--json`.
    Summary,
    /// `--message-format json`.
    EventLines,
}

impl TaskFlags {
    fn stdout(&self) -> Stdout {
        match (self.json, self.message_format) {
            (_, MessageFormat::Json) => Stdout::EventLines,
            (true, MessageFormat::Human) => Stdout::Summary,
            (false, MessageFormat::Human) => Stdout::Diff,
        }
    }

    /// A program reads stdout: nothing is asked on the terminal, and nothing is applied
    /// without --yes.
    fn for_a_program(&self) -> bool {
        self.stdout() != Stdout::Diff
    }

    fn features(&self) -> Features {
        Features {
            enabled: self.features.clone(),
            all: self.all_features,
            no_default: self.no_default_features,
        }
    }
}

/// Runs the task `build` makes for `file`. `result_noun` names what the task produces in the
/// give-up message: "no passing {result_noun} after 4 attempt(s)".
pub async fn execute<T, F>(file: &Path, args: &TaskFlags, result_noun: &str, build: F) -> Exit
where
    T: Task + 'static,
    F: FnOnce() -> Result<T, TaskError>,
{
    execute_work(file, args, result_noun, |_| {
        build().map(|task| Planned::unplanned(Work::One(Box::new(task))))
    })
    .await
}

/// [`execute`] for a command that may split its work into a batch, as the config says.
pub async fn execute_work<F>(file: &Path, args: &TaskFlags, result_noun: &str, build: F) -> Exit
where
    F: FnOnce(&Config) -> Result<Planned, TaskError>,
{
    let mut command = TaskCommand {
        args,
        // From the start, so a signal during setup is kept and stops the work before it begins.
        stops: StopSignals::listen(),
        result: JsonResult {
            outcome: ResultKind::InputError,
            file: Some(file.display().to_string()),
            attempts: 0,
            summary: None,
            message: None,
            tiers: Default::default(),
            diff: None,
            validation: None,
            per_result: None,
            secrets_redacted: 0,
            timings: Timings::default(),
        },
        produced: Produced::default(),
        protections_warning: None,
    };
    let exit = command.execute(file, result_noun, build).await;
    match args.stdout() {
        Stdout::Diff => {}
        Stdout::Summary => match serde_json::to_string_pretty(&command.result) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("kiln: cannot encode the JSON result: {e}"),
        },
        Stdout::EventLines => event_lines().summary(&command.result),
    }
    exit
}

/// Lines for what is known only after the events: the proposal and the summary.
fn event_lines() -> EventLines<std::io::Stdout> {
    EventLines::new(std::io::stdout(), BTreeMap::new())
}

struct TaskCommand<'a> {
    args: &'a TaskFlags,
    stops: StopSignals,
    result: JsonResult,
    /// What the run produced, counted as the proposal is shown and applied.
    produced: Produced,
    /// The sandbox probe, started with the command and shown by the first progress printer
    /// when it ends (see [`TaskCommand::prepare`]).
    protections_warning: Option<tokio::task::JoinHandle<Option<String>>>,
}

impl TaskCommand<'_> {
    fn finish(&mut self, outcome: ResultKind, exit: Exit, message: &str) -> Exit {
        self.result.outcome = outcome;
        if !message.is_empty() {
            self.result.message = Some(message.to_string());
            eprintln!("kiln: {message}");
        }
        exit
    }

    fn input_error(&mut self, message: &str) -> Exit {
        self.finish(ResultKind::InputError, Exit::Usage, message)
    }

    fn stopped(&mut self, stop: Stop) -> Exit {
        let message = format!("{}; nothing was written", stop.describe());
        self.finish(ResultKind::Interrupted, stop.into(), &message)
    }

    /// Sets up, runs the agent with live progress, and ends as the outcome says.
    async fn execute<F>(&mut self, file: &Path, result_noun: &str, build: F) -> Exit
    where
        F: FnOnce(&Config) -> Result<Planned, TaskError>,
    {
        let (work, session) = match self.prepare(file, build).await {
            Ok(prepared) => prepared,
            Err(exit) => return exit,
        };
        let summary = match self.watch(&work, &session).await {
            Ok(summary) => summary,
            Err(stop) => return self.stopped(stop),
        };
        self.result.attempts = summary.attempts;
        self.result.tiers = summary.stats.clone();
        eprintln!("kiln: {}", usage_line(summary.attempts, &summary.stats));
        if let Some(time) = self.result.timings.describe() {
            eprintln!("kiln: {time}");
        }
        let exit = self
            .conclude(summary.outcome, &work, result_noun, &session)
            .await;
        self.report_cost_per_result(&summary.stats);
        exit
    }

    /// Shows and applies a proposal, or says why there is none.
    async fn conclude(
        &mut self,
        outcome: Outcome,
        work: &Work,
        result_noun: &str,
        session: &Session,
    ) -> Exit {
        let label = work.location().relative_path.display().to_string();
        let words = describe_outcome(
            &outcome,
            self.result.attempts,
            result_noun,
            Form::Full { label: &label },
        );
        match outcome {
            Outcome::Proposed(proposal) => self.propose(&proposal, &label, &words, session).await,
            Outcome::Exhausted { .. } | Outcome::BudgetSpent { .. } => {
                self.finish(ResultKind::NoPassingResult, Exit::NoPassingResult, &words)
            }
            Outcome::ModelFailed(_) => self.finish(ResultKind::ModelError, Exit::Model, &words),
            Outcome::SandboxFailed(_) => self.input_error(&words),
        }
    }

    /// What the spend bought, once the proposal was applied or not: on stderr and in the result.
    fn report_cost_per_result(&mut self, stats: &BTreeMap<Tier, TierStats>) {
        if stats.is_empty() {
            return;
        }
        let per_result = cost_per_result(stats, self.produced);
        eprintln!("kiln: {}", describe_cost_per_result(&per_result));
        self.result.per_result = Some(per_result);
    }

    /// The config, the work `build` makes, the model client and the agent settings as the flags
    /// say, and a warning for missing sandbox protections. `Err`: the command ends here.
    async fn prepare<F>(&mut self, file: &Path, build: F) -> Result<(Work, Session), Exit>
    where
        F: FnOnce(&Config) -> Result<Planned, TaskError>,
    {
        self.check_patch()
            .map_err(|message| self.input_error(&message))?;
        // The probe tries each protection on a child process (about 0.1 s). Nothing waits for
        // it: what it finds is only a warning, shown as soon as it is known, which is before
        // the first model reply and so before any generated code runs.
        self.protections_warning = Some(tokio::spawn(async {
            let protections = session::probe_sandbox().await.ok()?;
            missing_protections_warning(&protections)
        }));
        let config =
            session::config_for_file(file).map_err(|e| self.input_error(&e.to_string()))?;
        let Planned { work, plan } = match build(&config) {
            Ok(planned) => planned,
            Err(TaskError::NothingToDo(message)) => {
                return Err(self.finish(ResultKind::NothingToDo, Exit::Ok, &message))
            }
            Err(e) => return Err(self.input_error(&e.to_string())),
        };
        // Before any model work: a file the build never compiles, or one kiln could never
        // write, would waste every token.
        let features = self.args.features();
        project::check_compiled(work.location(), &features)
            .map_err(|e| self.input_error(&e.to_string()))?;
        if !self.args.dry_run {
            crate::diff::check_writable(&work.location().file)
                .map_err(|e| self.input_error(&e.to_string()))?;
        }
        let mut session =
            Session::new(&config, self.args.tier).map_err(|e| self.input_error(&e.to_string()))?;
        self.check_prices(&config)
            .map_err(|message| self.input_error(&message))?;
        session.settings.max_attempts = self.args.max_attempts.unwrap_or(config.max_attempts);
        session.settings.max_cost_usd = self.args.max_cost;
        session.settings.sandbox.cargo_args = features.cargo_args();
        if let Some(plan) = &plan {
            self.consent(plan, &config).await?;
        }
        Ok((work, session))
    }

    /// `--patch` asks on a terminal, so it needs one, and stdout for people.
    fn check_patch(&self) -> Result<(), String> {
        if !self.args.patch {
            return Ok(());
        }
        if self.args.for_a_program() {
            return Err(
                "--patch asks about each hunk on the terminal; --message-format json is for \
                 programs, which apply with --yes"
                    .to_string(),
            );
        }
        if !std::io::stdin().is_terminal() {
            return Err(
                "--patch asks about each hunk, and stdin is not a terminal to ask on; run it in \
                 a terminal, or use --yes or --dry-run"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// `--max-cost` needs prices for every tier the run may use.
    fn check_prices(&self, config: &Config) -> Result<(), String> {
        let Some(limit) = self.args.max_cost else {
            return Ok(());
        };
        let tiers = [self.args.tier.unwrap_or(Tier::Mini), Tier::Full];
        match tiers.iter().find(|t| config.price(**t).is_none()) {
            Some(unpriced) => Err(format!(
                "--max-cost {limit} needs prices for the {unpriced} tier: set price_in_per_mtok and \
                 price_out_per_mtok under [tiers.{unpriced}] in kiln.toml"
            )),
            None => Ok(()),
        }
    }

    /// Performs `work`, printing its events as progress on stderr, and with
    /// `--message-format json` as lines on stdout. `Err`: a signal stopped it (the work is
    /// dropped, which cancels its request and kills and removes its sandbox).
    async fn watch(&mut self, work: &Work, session: &Session) -> Result<RunSummary, Stop> {
        let (summary, redactions, mut timings) = self
            .with_progress(&session.llm, |sender| async move {
                work.perform(&session.llm, &session.settings, &sender).await
            })
            .await;
        timings.finish();
        self.result.secrets_redacted = redactions;
        self.result.timings = timings;
        summary
    }

    /// Runs what `run` makes of an event sender, printing its events as progress on stderr
    /// (and as lines on stdout with `--message-format json`). Also returns the secrets the
    /// printer redacted and where the time went. `Err`: a signal came first, and the work was
    /// dropped.
    async fn with_progress<T, F>(
        &mut self,
        llm: &LlmClient,
        run: impl FnOnce(UnboundedSender<AgentEvent>) -> F,
    ) -> (Result<T, Stop>, usize, Timings)
    where
        F: std::future::Future<Output = T>,
    {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<AgentEvent>();
        let live = if std::io::stderr().is_terminal() {
            Live::StatusLine
        } else {
            Live::LinesOnly
        };
        let mut lines = (self.args.stdout() == Stdout::EventLines).then(|| {
            let prices = Tier::ALL
                .into_iter()
                .filter_map(|tier| Some((tier, llm.price(tier)?)))
                .collect();
            EventLines::new(std::io::stdout(), prices)
        });
        let mut warning = self.protections_warning.take();
        let printer = tokio::spawn(async move {
            let mut printer = ProgressPrinter::new(std::io::stderr(), live);
            let warn = |printer: &mut ProgressPrinter<_>, text: Option<String>| {
                if let Some(text) = text {
                    printer.line(&format!("kiln: {text}"));
                }
            };
            loop {
                tokio::select! {
                    text = async { warning.as_mut()?.await.ok().flatten() }, if warning.is_some() => {
                        warning = None;
                        warn(&mut printer, text);
                    }
                    event = receiver.recv() => {
                        let Some(event) = event else { break };
                        printer.handle(&event);
                        if let Some(lines) = &mut lines {
                            lines.event(&event);
                        }
                    }
                }
            }
            // A run that ended first (an early error) still shows the warning.
            if let Some(probe) = warning {
                warn(&mut printer, probe.await.ok().flatten());
            }
            (printer.redactions(), printer.timings().clone())
        });
        let work = run(sender);
        let done = tokio::select! {
            done = work => Ok(done),
            stop = self.stops.recv() => Err(stop),
        };
        let (redactions, timings) = printer.await.unwrap_or_default();
        (done, redactions, timings)
    }

    /// A validated proposal: its findings and diff shown, then applied if approved.
    async fn propose(
        &mut self,
        proposal: &Proposal,
        label: &str,
        words: &str,
        session: &Session,
    ) -> Exit {
        self.produced = Produced::of(Some(proposal), 0);
        self.result.summary = Some(proposal.summary.clone());
        if let Some(notes) = &proposal.notes {
            for line in &notes.lines {
                eprintln!("kiln: {line}");
            }
            self.result.validation = Some(notes.json.clone());
        }
        let plain = diff::unified(label, &proposal.original, &proposal.new_text, Colour::Never);
        if self.args.stdout() == Stdout::EventLines {
            event_lines().proposal(label, proposal, &plain);
        }
        self.result.diff = Some(plain);
        if self.args.patch {
            eprintln!("kiln: {words}");
            return self.patch(proposal, label, session).await;
        }
        if !self.args.for_a_program() {
            let mut stdout = std::io::stdout();
            let coloured = diff::unified(
                label,
                &proposal.original,
                &proposal.new_text,
                Colour::for_stream(&stdout),
            );
            let _ = stdout.write_all(coloured.as_bytes());
            let _ = stdout.flush();
        }
        eprintln!("kiln: {words}");
        match self.approval(label).await {
            Approval::Apply => {
                let hunks = diff::hunks(&proposal.original, &proposal.new_text).len();
                self.write(proposal, &proposal.new_text, hunks, label)
            }
            Approval::Skip(why) => self.finish(ResultKind::Proposed, Exit::Ok, &why),
            Approval::Stopped(stop) => self.stopped(stop),
        }
    }

    /// Writes `text`, the proposal with `hunks` of its hunks, atomically, refusing if the file
    /// changed since it was read.
    fn write(&mut self, proposal: &Proposal, text: &str, hunks: usize, label: &str) -> Exit {
        match diff::apply(&proposal.file, &proposal.original, text) {
            Ok(()) => {
                self.produced.applied_hunks = hunks;
                self.finish(
                    ResultKind::Applied,
                    Exit::Ok,
                    &format!("applied to {label}"),
                )
            }
            Err(e) => self.input_error(&e.to_string()),
        }
    }

    /// `--patch`: asks about each hunk; only some accepted are checked in the sandbox as the
    /// task validated the whole, and written only when that passes.
    async fn patch(&mut self, proposal: &Proposal, label: &str, session: &Session) -> Exit {
        let hunks = diff::hunks(&proposal.original, &proposal.new_text);
        let colour = Colour::for_stream(&std::io::stderr());
        let choices = match patch::choose(&hunks, label, colour, &mut self.stops).await {
            Ok(choices) => choices,
            Err(stop) => return self.stopped(stop),
        };
        let accepted = choices.iter().filter(|c| **c == HunkChoice::Accept).count();
        if accepted == 0 {
            return self.finish(
                ResultKind::Proposed,
                Exit::Ok,
                "not applied: no hunk accepted",
            );
        }
        let text = diff::merge_accepted(&proposal.original, &proposal.new_text, &choices);
        if accepted < hunks.len() {
            eprintln!("kiln: {}", describe_subset_check(accepted, hunks.len()));
            let subset = text.as_str();
            let (checked, redactions, _) = self
                .with_progress(&session.llm, |sender| async move {
                    agent::recheck(proposal, subset, &session.settings, &sender).await
                })
                .await;
            self.result.secrets_redacted += redactions;
            match checked {
                Ok(Ok(_)) => {}
                Ok(Err(RecheckError::Failed(failure))) => {
                    let why = describe_subset_failure(proposal, &choices, &failure);
                    return self.finish(
                        ResultKind::NoPassingResult,
                        Exit::NoPassingResult,
                        &format!("not applied, nothing was written: {why}"),
                    );
                }
                Ok(Err(RecheckError::Sandbox(message))) => return self.input_error(&message),
                Err(stop) => return self.stopped(stop),
            }
        }
        self.write(proposal, &text, accepted, label)
    }

    /// Prints the plan; over max_functions without `--yes`, asks on a terminal, or stops (exit
    /// 2) where there is none to ask on. `Err`: the command ends here, before any request.
    async fn consent(&mut self, plan: &Plan, config: &Config) -> Result<(), Exit> {
        let tier = self.args.tier.unwrap_or(Tier::Mini);
        eprintln!("kiln: {}", plan_line(plan, tier, config.price(tier)));
        if self.args.yes || !plan.needs_consent(config.max_functions) {
            return Ok(());
        }
        let refusal = over_max_functions(plan, config.max_functions);
        if self.args.for_a_program() || !std::io::stdin().is_terminal() {
            return Err(self.input_error(&refusal));
        }
        eprintln!("kiln: {refusal}");
        match self.ask("Spend it? [y/N] ").await {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.finish(
                ResultKind::NothingToDo,
                Exit::Ok,
                "not started; nothing was asked of the model",
            )),
            Err(stop) => Err(self.stopped(stop)),
        }
    }

    async fn approval(&mut self, label: &str) -> Approval {
        if self.args.dry_run {
            return Approval::Skip("dry run: nothing was written".to_string());
        }
        if self.args.yes {
            return Approval::Apply;
        }
        if self.args.for_a_program() {
            return Approval::Skip("not applied (pass --yes to apply)".to_string());
        }
        if !std::io::stdin().is_terminal() {
            return Approval::Skip(
                "not applied: stdin is not a terminal to ask on (pass --yes to apply)".to_string(),
            );
        }
        match self.ask(&format!("Apply to {label}? [y/N] ")).await {
            Ok(true) => Approval::Apply,
            Ok(false) => Approval::Skip("not applied".to_string()),
            Err(stop) => Approval::Stopped(stop),
        }
    }

    /// Asks `question` on stderr and reads the answer; `Ok(true)` only for `y` or `yes`.
    /// `Err`: a signal came first.
    async fn ask(&mut self, question: &str) -> Result<bool, Stop> {
        let answer = ask_line(question, &mut self.stops).await?;
        Ok(matches!(
            answer
                .as_deref()
                .map(|a| a.trim().to_ascii_lowercase())
                .as_deref(),
            Some("y" | "yes")
        ))
    }
}

/// Asks `question` on stderr and reads the line answered; `None` when stdin failed or ended.
/// `Err`: a signal came first.
pub(super) async fn ask_line(
    question: &str,
    stops: &mut StopSignals,
) -> Result<Option<String>, Stop> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    tokio::select! {
        answer = read_answer() => Ok(answer),
        stop = stops.recv() => Err(stop),
    }
}

/// One line from stdin, read while a signal can still stop kiln. `None`: stdin failed.
async fn read_answer() -> Option<String> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    // A thread of its own, not `spawn_blocking`: when a signal ends kiln during the question,
    // the runtime's shutdown waits for its blocking tasks, and this one waits for a line.
    std::thread::spawn(move || {
        let mut answer = String::new();
        let read = std::io::stdin().lock().read_line(&mut answer);
        // Zero bytes read: stdin ended, which answers nothing.
        let _ = sender.send(read.ok().filter(|read| *read > 0).map(|_| answer));
    });
    receiver.await.ok().flatten()
}

enum Approval {
    Apply,
    Skip(String),
    Stopped(Stop),
}
