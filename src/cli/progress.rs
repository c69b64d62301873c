//! Renders agent events as short progress lines on stderr. On a terminal a single status line is
//! rewritten in place for fast-changing facts (tokens arriving, tests finishing); elsewhere only
//! whole lines are printed, so logs stay readable.

use std::io::Write;

use kiln_sandbox::Progress as SandboxProgress;

use crate::agent::AgentEvent;
use crate::frontend::timings::Timings;
use crate::frontend::wording::{
    counted, describe_attempt, describe_batch_plan, describe_combining, describe_copy_note,
    describe_escalation, describe_redactions, describe_rejection, describe_reply, describe_report,
    first_line, part_prefix,
};
use crate::llm::LlmEvent;

pub struct ProgressPrinter<W: Write> {
    out: W,
    live: Live,
    status_shown: bool,
    received_chars: usize,
    tests_total: usize,
    tests_done: usize,
    tests_passed: usize,
    /// "[2/4] " while printing an event of a batch's second part.
    part_prefix: String,
    redactions: usize,
    timings: Timings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// A terminal: keep one status line updated.
    StatusLine,
    /// A pipe or file: whole lines only.
    LinesOnly,
}

impl<W: Write> ProgressPrinter<W> {
    pub fn new(out: W, live: Live) -> Self {
        ProgressPrinter {
            out,
            live,
            status_shown: false,
            received_chars: 0,
            tests_total: 0,
            tests_done: 0,
            tests_passed: 0,
            part_prefix: String::new(),
            redactions: 0,
            timings: Timings::default(),
        }
    }

    /// Secrets redacted from sandbox output so far, for the `--json` summary.
    pub fn redactions(&self) -> usize {
        self.redactions
    }

    /// Where the time went so far, for the summary.
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    pub fn handle(&mut self, event: &AgentEvent) {
        self.timings.record(event);
        self.render(event);
    }

    fn render(&mut self, event: &AgentEvent) {
        match event {
            AgentEvent::Started {
                title,
                max_attempts,
            } => self.line(&format!(
                "kiln: {title} (up to {})",
                counted(*max_attempts as usize, "attempt", "attempts")
            )),
            AgentEvent::SandboxReady { notes, .. } => {
                for note in notes {
                    self.line(&describe_copy_note(note));
                }
            }
            AgentEvent::AttemptStarted {
                attempt,
                max_attempts,
                tier,
                model,
            } => {
                self.received_chars = 0;
                self.line(&describe_attempt(*attempt, *max_attempts, *tier, model));
                self.status("  waiting for the model…");
            }
            AgentEvent::Llm(event) => self.llm(event),
            AgentEvent::ReplyReceived { kind, .. } => self.line(&describe_reply(kind)),
            AgentEvent::CandidateRejected { reason } => self.line(&describe_rejection(reason)),
            AgentEvent::SandboxStarted { summary } => {
                self.tests_total = 0;
                self.tests_done = 0;
                self.tests_passed = 0;
                self.line(&format!("  running {summary}"));
                self.status("  compiling…");
            }
            AgentEvent::Sandbox(progress) => self.sandbox(progress),
            AgentEvent::ValidationStep { what } => {
                self.line(&format!("  {what}"));
                self.status("  compiling…");
            }
            AgentEvent::SandboxFinished {
                report,
                proposed_tests,
            } => self.line(&describe_report(report, *proposed_tests)),
            // Summed up in `timings`, printed once at the end.
            AgentEvent::SandboxRun { .. } => {}
            AgentEvent::SecretsRedacted { count } => {
                self.redactions += count;
                self.line(&describe_redactions(*count));
            }
            AgentEvent::Escalated {
                from,
                to,
                after_failures,
            } => self.line(&describe_escalation(*from, *to, *after_failures)),
            AgentEvent::BatchPlanned { parts, jobs } => self.line(&format!(
                "kiln: {}",
                describe_batch_plan(parts.len(), *jobs)
            )),
            AgentEvent::Part {
                index,
                total,
                event,
            } => {
                self.part_prefix = part_prefix(*index, *total);
                match event.as_ref() {
                    AgentEvent::Started { title, .. } => self.line(title),
                    inner => self.render(inner),
                }
                self.part_prefix.clear();
            }
            AgentEvent::Combining { proposed, total } => {
                self.line(&format!("kiln: {}", describe_combining(*proposed, *total)));
                self.status("  compiling…");
            }
        }
    }

    fn llm(&mut self, event: &LlmEvent) {
        match event {
            LlmEvent::TextDelta(text) | LlmEvent::ToolArgumentsDelta(text) => {
                self.received_chars += text.chars().count();
                let status = format!("  receiving… {} chars", self.received_chars);
                self.status(&status);
            }
            LlmEvent::Retrying {
                retry,
                of,
                delay,
                reason,
            } => self.line(&format!(
                "  {}; retry {retry}/{of} in {:.1}s",
                first_line(reason),
                delay.as_secs_f64()
            )),
            LlmEvent::StreamFallback => {
                self.line("  the server sent an empty stream; asking again without streaming")
            }
            LlmEvent::BadChunkSkipped(_) | LlmEvent::FirstToken { .. } => {}
        }
    }

    fn sandbox(&mut self, progress: &SandboxProgress) {
        match progress {
            SandboxProgress::Compiling { unit } => self.status(&format!("  compiling {unit}…")),
            SandboxProgress::TestsStarted { total } => {
                self.tests_total += total;
                self.status(&format!("  testing: 0/{} done", self.tests_total));
            }
            SandboxProgress::TestFinished { passed, .. } => {
                self.tests_done += 1;
                if *passed {
                    self.tests_passed += 1;
                }
                let status = format!(
                    "  testing: {}/{} done, {} passing",
                    self.tests_done, self.tests_total, self.tests_passed
                );
                self.status(&status);
            }
        }
    }

    fn status(&mut self, text: &str) {
        if self.live == Live::StatusLine {
            let _ = write!(self.out, "\r\x1b[2K{}{text}", self.part_prefix);
            let _ = self.out.flush();
            self.status_shown = true;
        }
    }

    pub fn line(&mut self, text: &str) {
        if self.status_shown {
            let _ = write!(self.out, "\r\x1b[2K");
            self.status_shown = false;
        }
        let _ = writeln!(self.out, "{}{text}", self.part_prefix);
    }
}
