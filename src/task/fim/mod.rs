//! fim: fill a hole in a function (a `todo!()` body, a `// kiln: fill` marker, or lines the user
//! names) with code that compiles and keeps the crate's whole test suite green.

use std::path::Path;

use kiln_sandbox::{RunOutcome, RunReport};

use super::{source, FimPrompt, Placement, Task, TaskError, TaskFile, Verdict};
use crate::code::{self, FimContext, Hole, HoleKind};
use crate::llm::Message;
use crate::prompt;

/// Feedback beyond this is noise to a small model and cost to the user.
const FEEDBACK_MAX_BYTES: usize = 6_000;
/// How much of the prompt the hole's tests and callers may take (about 750 tokens).
const USAGE_BUDGET_CHARS: usize = 3_000;

/// How much feedback goes into a completion prompt, as comment lines above the code: enough
/// for the first compiler error or failing assertion.
const COMPLETION_FEEDBACK_MAX_LINES: usize = 20;

/// Where the hole is in the code the model sees.
pub const MARKER: &str = "<FILL_ME>";

const TOOL_DESCRIPTION: &str = "Send the code that replaces the hole. kiln puts it in place, \
builds the crate and runs its tests. Returns compiler errors or failing tests, or success.";

/// Which hole to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoleChoice {
    /// The first `todo!()`/`unimplemented!()` body or `// kiln: fill` marker.
    Found,
    /// Lines `first..=last` (1-based), replaced by the fill.
    Lines { first: usize, last: usize },
}

pub struct Fim {
    file: TaskFile,
    hole: Hole,
    context: FimContext,
    /// The enclosing function's tests and callers in the file.
    usage: String,
    /// Further holes found in the file, filled by later runs.
    more_holes: usize,
}

impl Fim {
    pub fn new(file: &Path, choice: HoleChoice) -> Result<Fim, TaskError> {
        let source::Loaded {
            location,
            original,
            source,
        } = source::load(file)?;
        let (hole, more_holes) = match choice {
            HoleChoice::Found => {
                let mut holes = code::find_holes(&source).into_iter();
                let first = holes.next().ok_or_else(|| {
                    TaskError::NoTargets(format!(
                        "{}: no hole found; write `todo!()` as a function body or a `{}` line where \
                         code should go, or pass --line N / --range A:B",
                        file.display(),
                        code::FILL_MARKER
                    ))
                })?;
                (first, holes.count())
            }
            HoleChoice::Lines { first, last } => {
                let hole = code::line_hole(&original, first, last)
                    .map_err(|e| TaskError::NoTargets(format!("{}: {e}", file.display())))?;
                (hole, 0)
            }
        };
        let mut context = code::fim_context(&source, &hole, MARKER)
            .map_err(|e| TaskError::NoTargets(format!("{}:{e}", file.display())))?;
        context.context = source::with_definitions(
            std::mem::take(&mut context.context),
            &source::crate_index(&location),
            &location,
            &source,
            std::slice::from_ref(&context.enclosing),
        );
        let usage = code::callers_and_tests(&source, &context.enclosing, USAGE_BUDGET_CHARS);
        Ok(Fim {
            file: TaskFile {
                location,
                original: original.into(),
            },
            hole,
            context,
            usage,
            more_holes,
        })
    }

    pub fn hole(&self) -> &Hole {
        &self.hole
    }

    fn name(&self) -> String {
        format!("fn {}", self.context.enclosing.qualified_name)
    }

    fn user_prompt(&self) -> Result<String, TaskError> {
        let hole_note = match self.hole.kind {
            HoleKind::Lines => format!(
                " The hole replaces these lines, which you may keep, fix or rewrite:\n```rust\n{}\n```",
                self.file.original.get(self.hole.range.clone()).unwrap_or("")
            ),
            HoleKind::Todo | HoleKind::Marker => String::new(),
        };
        let file = self.file.location.relative_path.display().to_string();
        let usage = match self.usage.is_empty() {
            true => String::new(),
            false => format!(
                "\nHow the file uses it (its tests first, then its callers):\n```rust\n{}\n```\n",
                self.usage
            ),
        };
        Ok(prompt::render(
            prompt::FIM,
            &[
                ("marker", MARKER),
                ("name", &self.name()),
                ("file", &file),
                ("line", &self.hole.line.to_string()),
                ("hole_note", &hole_note),
                ("context", self.context.context.trim_end()),
                ("usage", &usage),
            ],
        )?)
    }

    /// The middle in a candidate: models sometimes send the whole function back, so a
    /// candidate that starts with the prefix and ends with the suffix is cut down to the middle.
    /// Docs and attributes may be left out of the echo.
    fn middle<'c>(&self, candidate: &'c str) -> &'c str {
        let trimmed = candidate.trim();
        let prefix = self.context.prefix.trim();
        let signature_on = prefix
            .lines()
            .position(|l| !(l.trim_start().starts_with("///") || l.trim_start().starts_with("#[")))
            .map_or(prefix.to_string(), |i| {
                prefix.lines().skip(i).collect::<Vec<_>>().join("\n")
            });
        let suffix = self.context.suffix.trim();
        let found = [prefix, signature_on.trim()].into_iter().find_map(|p| {
            trimmed
                .strip_prefix(p)
                .and_then(|rest| rest.strip_suffix(suffix))
        });
        found.unwrap_or(candidate)
    }
}

impl Task for Fim {
    fn title(&self) -> String {
        let more = match self.more_holes {
            0 => String::new(),
            n => format!(" ({n} more hole(s) after this one)"),
        };
        format!(
            "fill the hole in {} at {}:{}{more}",
            self.name(),
            self.file.location.relative_path.display(),
            self.hole.line
        )
    }

    fn file(&self) -> &TaskFile {
        &self.file
    }

    fn messages(&self) -> Vec<Message> {
        super::conversation(prompt::FIM, self.user_prompt())
    }

    fn tool_description(&self) -> &str {
        TOOL_DESCRIPTION
    }

    fn place(&self, candidate: &str) -> Result<Placement, String> {
        let middle = self.middle(candidate);
        if middle.trim().is_empty() {
            return Err(format!(
                "The code is empty. Send the code that replaces `{MARKER}`."
            ));
        }
        if middle.contains(MARKER) {
            return Err(format!(
                "Your code still contains `{MARKER}`. Send only the code that replaces it."
            ));
        }
        if middle.contains("todo!") || middle.contains("unimplemented!") {
            return Err(
                "Your code still contains `todo!()`/`unimplemented!()`. Write the real code."
                    .to_string(),
            );
        }
        let new_text = code::fill(&self.file.original, &self.hole, middle);
        code::SourceFile::parse(&new_text).map_err(|e| {
            format!(
                "The file with your code in place does not parse ({e}). Send only the code that \
                 replaces `{MARKER}`; the code before and after it stays as it is."
            )
        })?;
        let tested = if self.context.enclosing.has_tests {
            "; its tests must pass"
        } else {
            ""
        };
        Ok(Placement {
            new_text,
            summary: format!("fill for {} (line {}){tested}", self.name(), self.hole.line),
            test_args: super::whole_suite(&self.file.location),
        })
    }

    fn fim_prompt(&self, feedback: Option<&str>) -> Option<FimPrompt> {
        let (before, after) = self.context.context.split_once(MARKER)?;
        let note: String = match feedback {
            None => String::new(),
            Some(text) => {
                let lines: String = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .take(COMPLETION_FEEDBACK_MAX_LINES)
                    .map(|l| format!("// {l}\n"))
                    .collect();
                format!("// kiln: the previous fill for the hole below failed:\n{lines}\n")
            }
        };
        Some(FimPrompt {
            prompt: format!("{note}{before}"),
            suffix: after.to_string(),
        })
    }

    fn judge(&self, _placement: &Placement, report: &RunReport) -> Verdict {
        match report.outcome {
            // No tests at all: compiling cleanly is what can be checked.
            RunOutcome::Passed | RunOutcome::NoTestsRan => Verdict::Green,
            _ => Verdict::Red(report.summary_for_model(FEEDBACK_MAX_BYTES)),
        }
    }
}

#[cfg(test)]
mod tests;
