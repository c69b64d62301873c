//! refactor: rewrite an item by an instruction. The model sends the changed items; kiln puts
//! them into the file, checks the public signatures, and runs the crate's whole test suite.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use kiln_sandbox::{RunOutcome, RunReport};

use super::{source, Placement, Task, TaskError, TaskFile, Verdict};
use crate::code::{self, ItemMatch, SourceFile};
use crate::config::WHOLE_FILE_MAX_LINES;
use crate::llm::Message;
use crate::prompt;

/// Feedback beyond this is noise to a small model and cost to the user.
const FEEDBACK_MAX_BYTES: usize = 6_000;

const TOOL_DESCRIPTION: &str = "Send the items you changed or added. kiln puts them into the \
file, checks that public signatures are unchanged, and runs the crate's whole test suite. \
Returns what was rejected or failed, or success.";

/// Words in an instruction that ask for a change of the public surface.
const API_CHANGE_WORDS: &[&str] = &[
    "signature",
    "rename",
    "parameter",
    "argument",
    "return type",
    "public api",
    "make it pub",
    "make it public",
];

pub struct Refactor {
    file: TaskFile,
    source: SourceFile,
    target: ItemMatch,
    instruction: String,
    api: BTreeMap<String, String>,
    api_change: ApiChange,
}

/// Whether the instruction asks to change public signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApiChange {
    Allowed,
    Forbidden,
}

impl Refactor {
    pub fn new(file: &Path, item: &str, instruction: &str) -> Result<Refactor, TaskError> {
        if instruction.trim().is_empty() {
            return Err(TaskError::NoTargets(
                "the instruction is empty; say what to change with -m \"...\"".to_string(),
            ));
        }
        let source::Loaded {
            location,
            original,
            source,
        } = source::load(file)?;
        let items: Vec<ItemMatch> = code::match_items(&source, &source)
            .into_iter()
            .filter(|m| !m.test_code && !m.keyword.is_empty())
            .collect();
        let target = items
            .iter()
            .find(|m| m.label == item)
            .or_else(|| {
                items
                    .iter()
                    .find(|m| m.label.rsplit("::").next() == Some(item))
            })
            .cloned()
            .ok_or_else(|| {
                let known: Vec<String> = items.iter().map(|m| m.label.clone()).collect();
                source::unknown_name(file, "item", item, &known)
            })?;
        let lowered = instruction.to_lowercase();
        let api_change = if API_CHANGE_WORDS.iter().any(|w| lowered.contains(w)) {
            ApiChange::Allowed
        } else {
            ApiChange::Forbidden
        };
        let api = code::public_api(&source);
        Ok(Refactor {
            file: TaskFile {
                location,
                original: original.into(),
            },
            source,
            target,
            instruction: instruction.trim().to_string(),
            api,
            api_change,
        })
    }

    fn target_name(&self) -> String {
        format!("{} {}", self.target.keyword, self.target.label)
    }

    fn user_prompt(&self) -> Result<String, TaskError> {
        let whole = self.file.original.lines().count() <= WHOLE_FILE_MAX_LINES;
        let (context_kind, context) = if whole {
            ("the whole file", self.file.original.to_string())
        } else {
            let fns: Vec<code::FnItem> = code::list_fns(&self.source)
                .into_iter()
                .filter(|f| f.byte_range.start <= self.target.candidate.item_start)
                .filter(|f| self.target.candidate.range.end <= f.byte_range.end)
                .collect();
            let context = if fns.is_empty() {
                self.file
                    .original
                    .get(self.target.candidate.range.clone())
                    .unwrap_or("")
                    .to_string()
            } else {
                code::context_for(&self.source, &fns, WHOLE_FILE_MAX_LINES)
            };
            (
                "the parts of the file it needs; `// ...` marks code left out",
                context,
            )
        };
        let api: String = if self.api.is_empty() {
            "(none)".to_string()
        } else {
            self.api
                .values()
                .map(|signature| format!("- `{signature}`\n"))
                .collect()
        };
        let file = self.file.location.relative_path.display().to_string();
        Ok(prompt::render(
            prompt::REFACTOR,
            &[
                ("target", &self.target_name()),
                ("file", &file),
                ("instruction", &self.instruction),
                ("context_kind", context_kind),
                ("context", context.trim_end()),
                ("api", api.trim_end()),
            ],
        )?)
    }
}

impl Task for Refactor {
    fn title(&self) -> String {
        format!(
            "refactor {} in {}: {}",
            self.target_name(),
            self.file.location.relative_path.display(),
            self.instruction
        )
    }

    fn file(&self) -> &TaskFile {
        &self.file
    }

    fn messages(&self) -> Vec<Message> {
        super::conversation(prompt::REFACTOR, self.user_prompt())
    }

    fn tool_description(&self) -> &str {
        TOOL_DESCRIPTION
    }

    fn place(&self, candidate: &str) -> Result<Placement, String> {
        let parsed = SourceFile::parse(candidate).map_err(|e| {
            format!("kiln could not read that code: {e}. Send complete items as Rust code.")
        })?;
        let (new_text, changed) = merge(&self.file.original, candidate, &parsed, &self.source);
        if changed.is_empty() {
            return Err(
                "Your code is the same as the file: nothing was refactored. Send the changed items."
                    .to_string(),
            );
        }
        let merged = SourceFile::parse(&new_text)
            .map_err(|e| format!("the file with your items does not parse: {e}"))?;
        if self.api_change == ApiChange::Forbidden {
            let changes = code::api_changes(&self.api, &code::public_api(&merged));
            if !changes.is_empty() {
                return Err(format!(
                    "Public signatures must stay as they are (the instruction does not ask to change them):\n{}",
                    changes
                        .iter()
                        .map(|c| format!("- {c}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
        }
        Ok(Placement {
            new_text,
            summary: format!("refactor of {}", changed.join(", ")),
            test_args: super::whole_suite(&self.file.location),
        })
    }

    fn judge(&self, _placement: &Placement, report: &RunReport) -> Verdict {
        match report.outcome {
            // A crate without tests still had to compile.
            RunOutcome::Passed | RunOutcome::NoTestsRan => Verdict::Green,
            _ => Verdict::Red(report.summary_for_model(FEEDBACK_MAX_BYTES)),
        }
    }
}

/// Puts the candidate's items into the original: an item of the same kind and name is
/// replaced, a new one is inserted next to its neighbour. Returns the text and the items that
/// changed.
fn merge(
    original: &str,
    candidate: &str,
    parsed: &SourceFile,
    source: &SourceFile,
) -> (String, Vec<String>) {
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut changed = Vec::new();
    for m in code::match_items(source, parsed) {
        if m.container {
            continue;
        }
        let text = candidate.get(m.candidate.range.clone()).unwrap_or("");
        match &m.original {
            Some(o) => {
                // An item sent without docs or attributes keeps the ones it has in the file.
                let bare = line_start(candidate, m.candidate.item_start) == m.candidate.range.start;
                let range = if bare {
                    line_start(original, o.item_start).max(o.range.start)..o.range.end
                } else {
                    o.range.clone()
                };
                let old = original.get(range.clone()).unwrap_or("");
                let new = code::reindent(text, &m.candidate.indent, &o.indent);
                if new.trim() != old.trim() {
                    edits.push((range, new));
                    changed.push(format!("{} {}", m.keyword, m.label).trim().to_string());
                }
            }
            None => {
                let new = code::reindent(text, &m.candidate.indent, &m.insert_indent);
                let at = m.insert_at;
                let at_line_start = at == 0 || original.get(at - 1..at) == Some("\n");
                let rest = original.get(at..).unwrap_or("").trim_start();
                let insertion = if !at_line_start {
                    format!("\n\n{new}")
                } else if rest.is_empty() || rest.starts_with('}') {
                    format!("\n{new}\n")
                } else {
                    format!("{new}\n\n")
                };
                edits.push((at..at, insertion));
                changed.push(format!("new {} {}", m.keyword, m.label).trim().to_string());
            }
        }
    }
    // From the end so earlier offsets stay valid; at one offset, later candidate items first,
    // so they end up after the earlier ones.
    let mut ordered: Vec<(usize, (Range<usize>, String))> = edits.into_iter().enumerate().collect();
    ordered.sort_by(|(ia, a), (ib, b)| {
        b.0.start
            .cmp(&a.0.start)
            .then(b.0.end.cmp(&a.0.end))
            .then(ib.cmp(ia))
    });
    let mut text = original.to_string();
    for (_, (range, replacement)) in ordered {
        if text.get(range.clone()).is_some() {
            text.replace_range(range, &replacement);
        }
    }
    (text, changed)
}

fn line_start(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests;
