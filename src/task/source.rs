//! What every task does first: find the crate that owns the file, read it, and parse it.

use std::path::Path;

use super::TaskError;
use crate::code::{self, SourceFile};
use crate::project::SourceLocation;

pub struct Loaded {
    pub location: SourceLocation,
    pub original: String,
    pub source: SourceFile,
}

pub fn load(file: &Path) -> Result<Loaded, TaskError> {
    let location = SourceLocation::find(file)?;
    let original = std::fs::read_to_string(&location.file).map_err(|source| TaskError::Read {
        path: location.file.clone(),
        source,
    })?;
    let source = SourceFile::parse(&original).map_err(|e| match e {
        code::CodeError::Syntax {
            line,
            column,
            snippet,
        } => TaskError::Syntax {
            path: file.to_path_buf(),
            line,
            column,
            snippet,
        },
        other => TaskError::NoTargets(format!("{}: {other}", file.display())),
    })?;
    Ok(Loaded {
        location,
        original,
        source,
    })
}

/// The error for a name the user gave that matches nothing: it lists the names that exist.
pub fn unknown_name(file: &Path, what: &str, name: &str, known: &[String]) -> TaskError {
    TaskError::NoTargets(format!(
        "{}: no {what} named `{name}`; {what}s here: {}",
        file.display(),
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}

/// The `crate_name` a doctest or integration test uses for this package.
pub fn crate_ident(location: &SourceLocation) -> String {
    location.package_name.replace('-', "_")
}

/// The crate-wide index of definitions for `location`'s crate and its dependencies: built once
/// per task (its batches share it), since it parses every file of the crate.
pub fn crate_index(location: &SourceLocation) -> code::CrateIndex {
    let (own, dependencies) = crate::project::crate_sources(location);
    code::CrateIndex::build(&own, dependencies)
}

/// `context` followed by the definitions from other files and crates that `targets` use (the
/// types of their signatures and bodies, with constructors), so the model does not have to guess
/// a field or a variant. Unchanged when there are none.
pub fn with_definitions(
    context: String,
    index: &code::CrateIndex,
    location: &SourceLocation,
    source: &SourceFile,
    targets: &[code::FnItem],
) -> String {
    let module: Vec<String> = location
        .module_path
        .split("::")
        .filter(|segment| !segment.is_empty())
        .map(str::to_string)
        .collect();
    let elsewhere = index.definitions_for(
        source,
        &location.file,
        &module,
        targets,
        code::DEFINITIONS_BUDGET_CHARS,
    );
    if elsewhere.is_empty() {
        return context;
    }
    format!(
        "{}\n\n// ---- defined in other files, used above ----\n{elsewhere}",
        context.trim_end()
    )
}
