//! docstring: `///` docs for items that lack them. The model sends the items back with docs;
//! kiln checks that the code is untouched, splices only the doc comments, and runs the doctests.

use std::collections::HashSet;
use std::path::Path;

use kiln_sandbox::{RunOutcome, RunReport, TestArgs};

use super::{source, Placement, RecheckRule, Task, TaskError, TaskFile, Verdict};
use crate::code::{self, ItemMatch, ItemText, SourceFile};
use crate::config::WHOLE_FILE_MAX_LINES;
use crate::llm::Message;
use crate::prompt;

mod restate;

/// Feedback beyond this is noise to a small model and cost to the user.
const FEEDBACK_MAX_BYTES: usize = 6_000;

const TOOL_DESCRIPTION: &str = "Send the items with your doc comments added. kiln checks that \
only comments changed, puts the docs into the file and runs the doctests. Returns what was \
rejected or failed, or success.";

/// Which items need docs when none are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocScope {
    /// Public items without docs.
    Public,
    /// Every item without docs (`--all`).
    All,
}

pub struct Docstring {
    file: TaskFile,
    source: SourceFile,
    targets: Vec<ItemMatch>,
    context: String,
    context_is_whole_file: bool,
}

impl Docstring {
    /// Reads `file` and picks the items to document: the named ones, or those in `scope` that
    /// have no docs yet.
    pub fn new(file: &Path, only: &[String], scope: DocScope) -> Result<Docstring, TaskError> {
        let source::Loaded {
            location,
            original,
            source,
        } = source::load(file)?;
        let items: Vec<ItemMatch> = code::match_items(&source, &source)
            .into_iter()
            .filter(|m| !m.test_code && documentable(m))
            .collect();
        let targets = pick_targets(file, items, only, scope)?;
        let context_is_whole_file = original.lines().count() <= WHOLE_FILE_MAX_LINES;
        let context = if context_is_whole_file {
            original.clone()
        } else {
            // A member alone (`type Err;`) does not say which trait or impl it is of.
            targets
                .iter()
                .map(|t| code::with_enclosing(&source, t.candidate.range.clone()))
                .collect::<Vec<_>>()
                .join("\n\n// ...\n\n")
        };
        Ok(Docstring {
            file: TaskFile {
                location,
                original: original.into(),
            },
            source,
            targets,
            context,
            context_is_whole_file,
        })
    }

    pub fn target_labels(&self) -> Vec<String> {
        self.targets.iter().map(display).collect()
    }

    fn user_prompt(&self) -> Result<String, TaskError> {
        let targets: String = self
            .targets
            .iter()
            .map(|t| {
                let line = code_line(&self.file.original, t.candidate.item_start);
                format!("- `{}` (line {line})\n", display(t))
            })
            .collect();
        let file = self.file.location.relative_path.display().to_string();
        let context_kind = if self.context_is_whole_file {
            "the whole file"
        } else {
            "the items; `// ...` marks code left out"
        };
        Ok(prompt::render(
            prompt::DOC,
            &[
                ("file", &file),
                ("crate_name", &source::crate_ident(&self.file.location)),
                ("targets", targets.trim_end()),
                ("context_kind", context_kind),
                ("context", self.context.trim_end()),
            ],
        )?)
    }

    fn is_library(&self) -> bool {
        self.file.location.target_flags == ["--lib"]
    }

    /// Doctests only run for a library; elsewhere the docs are checked by building the target.
    fn test_args(&self) -> TestArgs {
        if self.is_library() {
            TestArgs {
                target_flags: vec![
                    "-p".to_string(),
                    self.file.location.package_spec.clone(),
                    "--doc".to_string(),
                ],
                filter: None,
            }
        } else {
            TestArgs {
                target_flags: self.file.location.cargo_flags(),
                filter: None,
            }
        }
    }

    /// The target a member sent without its trait or impl stands for (`type Err;` alone, for
    /// `type FromStr::Err`): the one target of that kind and name, if there is exactly one.
    fn bare_member(&self, m: &ItemMatch) -> Option<ItemText> {
        if m.label.contains("::") {
            return None;
        }
        let mut same = self.targets.iter().filter(|t| {
            t.keyword == m.keyword && t.label.rsplit("::").next() == Some(m.label.as_str())
        });
        match (same.next(), same.next()) {
            (Some(target), None) => Some(target.candidate.clone()),
            _ => None,
        }
    }

    /// The docs the candidate gives the targets, or why the candidate is unusable. Docs on other
    /// items are ignored: a model that echoes the whole file must not reword docs nobody asked
    /// about.
    fn docs_from(&self, candidate: &str) -> Result<Vec<(ItemText, String)>, String> {
        let parsed = SourceFile::parse(candidate).map_err(|e| {
            format!("kiln could not read that code: {e}. Send the items as Rust code.")
        })?;
        let mut docs = Vec::new();
        for m in code::match_items(&self.source, &parsed) {
            let Some(original) = m.original.clone().or_else(|| self.bare_member(&m)) else {
                return Err(format!(
                    "`{}` is not in the file. Send only items that exist, with doc comments added; add no code.",
                    display_parts(m.keyword, &m.label)
                ));
            };
            if let Some((old, new)) = first_token_difference(&original.tokens, &m.candidate.tokens)
            {
                return Err(format!(
                    "You changed the code of `{}`: `{old}` became `{new}`. Change only comments: \
                     copy the item's code exactly and add `///` lines above it.",
                    display_parts(m.keyword, &m.label)
                ));
            }
            let is_target = self
                .targets
                .iter()
                .any(|t| t.candidate.item_start == original.item_start);
            if let Some(doc) = m
                .candidate
                .doc
                .filter(|d| is_target && !d.trim().is_empty())
            {
                docs.push((original, doc));
            }
        }
        Ok(docs)
    }
}

impl Task for Docstring {
    fn title(&self) -> String {
        format!(
            "docs for {} in {}",
            self.target_labels().join(", "),
            self.file.location.relative_path.display()
        )
    }

    fn file(&self) -> &TaskFile {
        &self.file
    }

    fn messages(&self) -> Vec<Message> {
        super::conversation(prompt::DOC, self.user_prompt())
    }

    fn tool_description(&self) -> &str {
        TOOL_DESCRIPTION
    }

    fn place(&self, candidate: &str) -> Result<Placement, String> {
        let docs = self.docs_from(candidate)?;
        let documented: HashSet<usize> = docs.iter().map(|(item, _)| item.item_start).collect();
        let missing: Vec<String> = self
            .targets
            .iter()
            .filter(|t| !documented.contains(&t.candidate.item_start))
            .map(display)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "These items have no `///` docs in your code yet: {}. Send every listed item with docs.",
                missing.join(", ")
            ));
        }
        for target in &self.targets {
            let doc = docs
                .iter()
                .find(|(item, _)| item.item_start == target.candidate.item_start)
                .map(|(_, doc)| doc.as_str())
                .unwrap_or("");
            if restate::restates_signature(doc, &target.candidate.tokens) {
                return Err(format!(
                    "The docs of `{}` only restate its signature (\"{}\"). Say what a caller \
                     needs: errors, panics, invariants, edge cases, and an example.",
                    display(target),
                    doc.lines().next().unwrap_or("").trim()
                ));
            }
        }
        let new_text = splice_docs(&self.file.original, &docs);
        // The final word on "comments only": the whole file's code tokens are unchanged.
        let parsed = SourceFile::parse(&new_text)
            .map_err(|e| format!("the file with your docs does not parse: {e}"))?;
        if let Some(change) = code::first_code_change(&self.source, &parsed) {
            return Err(format!(
                "Your docs changed code ({change}). Change only comments."
            ));
        }
        let doctests = if self.is_library() {
            ""
        } else {
            " (not a library: no doctests run)"
        };
        Ok(Placement {
            new_text,
            summary: format!("docs for {}{doctests}", self.target_labels().join(", ")),
            test_args: self.test_args(),
        })
    }

    /// A subset of comment-only hunks is checked again for code changes all the same: the
    /// promise is "only comments change", whatever the hunks cut.
    fn recheck_rule(&self) -> RecheckRule {
        RecheckRule::CommentsOnly
    }

    fn judge(&self, _placement: &Placement, report: &RunReport) -> Verdict {
        match report.outcome {
            RunOutcome::Passed | RunOutcome::NoTestsRan => Verdict::Green,
            _ => Verdict::Red(report.summary_for_model(FEEDBACK_MAX_BYTES)),
        }
    }
}

fn documentable(m: &ItemMatch) -> bool {
    !m.keyword.is_empty()
}

fn pick_targets(
    file: &Path,
    items: Vec<ItemMatch>,
    only: &[String],
    scope: DocScope,
) -> Result<Vec<ItemMatch>, TaskError> {
    if !only.is_empty() {
        let mut picked: Vec<ItemMatch> = Vec::new();
        for name in only {
            let found: Vec<&ItemMatch> = items
                .iter()
                .filter(|m| m.label == *name || m.label.rsplit("::").next() == Some(name))
                .collect();
            if found.is_empty() {
                let known: Vec<String> = items.iter().map(|m| m.label.clone()).collect();
                return Err(source::unknown_name(file, "item", name, &known));
            }
            for m in found {
                if !picked.contains(m) {
                    picked.push(m.clone());
                }
            }
        }
        return Ok(picked);
    }
    let undocumented: Vec<ItemMatch> = items
        .into_iter()
        .filter(|m| m.candidate.doc.is_none())
        .filter(|m| scope == DocScope::All || m.public)
        .collect();
    if undocumented.is_empty() {
        return Err(TaskError::NothingToDo(format!(
            "{}: every {}item already has docs (name one with --item to rewrite its docs{})",
            file.display(),
            if scope == DocScope::All {
                ""
            } else {
                "public "
            },
            if scope == DocScope::All {
                ""
            } else {
                ", or pass --all for private items"
            }
        )));
    }
    Ok(undocumented)
}

fn display(m: &ItemMatch) -> String {
    display_parts(m.keyword, &m.label)
}

fn display_parts(keyword: &str, label: &str) -> String {
    if keyword.is_empty() {
        label.to_string()
    } else {
        format!("{keyword} {label}")
    }
}

fn code_line(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

fn first_token_difference<'a>(old: &'a [String], new: &'a [String]) -> Option<(&'a str, &'a str)> {
    let at = (0..old.len().max(new.len())).find(|&i| old.get(i) != new.get(i))?;
    Some((
        old.get(at).map_or("(end of item)", String::as_str),
        new.get(at).map_or("(end of item)", String::as_str),
    ))
}

/// Puts each doc above its item, replacing the docs it had, in the item's indentation.
fn splice_docs(original: &str, docs: &[(ItemText, String)]) -> String {
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for (item, doc) in docs {
        for range in &item.doc_ranges {
            // The doc line with its line break, so no blank line is left behind.
            let end = original
                .get(range.end..)
                .and_then(|rest| rest.starts_with('\n').then_some(range.end + 1))
                .unwrap_or(range.end);
            edits.push((range.start..end, String::new()));
        }
        let lines: String = doc
            .lines()
            .map(|line| {
                if line.trim().is_empty() {
                    format!("{}///\n", item.indent)
                } else {
                    format!("{}/// {}\n", item.indent, line.trim_end())
                }
            })
            .collect();
        edits.push((item.range.start..item.range.start, lines));
    }
    // From the end, so earlier offsets stay valid; at one offset the removal of old docs goes
    // first, then the insertion, so the new docs land where the old ones were.
    edits.sort_by(|a, b| b.0.start.cmp(&a.0.start).then(b.0.end.cmp(&a.0.end)));
    let mut text = original.to_string();
    for (range, replacement) in edits {
        if text.get(range.clone()).is_some() {
            text.replace_range(range, &replacement);
        }
    }
    text
}

#[cfg(test)]
mod tests;
