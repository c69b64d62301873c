//! Everything kiln does with tree-sitter: the syntax-level analysis and editing of Rust source.
//!
//! kiln asks small models to write tests, docs and fills for individual functions. Models do
//! far better when they see a short, relevant slice of the file rather than all of it, and
//! their replies must be checked and spliced back without breaking the file. This module owns
//! all of that syntax-level work so the rest of kiln can stay text- and process-oriented:
//!
//! - [`SourceFile::parse`] rejects text with syntax errors, with a position a user can act on;
//! - [`list_fns`] enumerates the functions a task can target, with test coverage hints;
//! - [`context_for`] builds the minimal prompt context for a set of target functions;
//! - [`normalize_test_module`], [`append_module`] and [`splice`] turn a model's reply into a
//!   verified edit of the file;
//! - [`extract_rust_code_block`] pulls the code out of a model's prose reply;
//! - [`test_fns`] and [`mutants`] let gen-tests judge each generated test on its own.

mod api;
mod calls;
mod compare;
mod context;
mod crate_index;
mod decl;
mod enclosing;
mod fence;
mod holes;
mod items;
mod modules;
mod mutants;
mod pairs;
mod parse;
mod splice;
mod testfns;
mod testmerge;
mod testmod;
mod usage;

pub use api::{api_changes, public_api};
pub use compare::{first_code_change, CodeChange};
pub use context::{context_for, ContextIndex};
pub use crate_index::{CrateIndex, CrateSources, DEFINITIONS_BUDGET_CHARS};
pub use enclosing::with_enclosing;
pub use fence::extract_rust_code_block;
pub use holes::{
    fill, fim_context, find_holes, line_hole, FimContext, Hole, HoleKind, FILL_MARKER,
};
pub use items::{list_fns, top_level_module_names, FnItem, FnKind, Visibility};
pub use modules::{module_decl, module_file, ModuleDecl};
pub use mutants::{mutants, names_in_body, with_dispatcher, Mutant, MUTANT_ENV};
pub use pairs::{match_items, reindent, ItemMatch, ItemText};
pub use parse::SourceFile;
pub use splice::{append_module, splice};
pub use testfns::{module_lines, test_fns, test_text, with_tests, without_tests, TestFn};
pub use testmerge::{merge_test_modules, Merged};
pub use testmod::{normalize_test_module, shadowed_items, TestModule};
pub use usage::callers_and_tests;

/// Everything that can go wrong while analysing or editing Rust source.
///
/// Positions are 1-based so that `format!("{path}:{err}")` reads like a compiler diagnostic,
/// e.g. ``src/x.rs:12:5: syntax error near `fn` ``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The text is not valid Rust. `column` counts characters, not bytes, because it is
    /// shown to people and editors count characters.
    #[error("{line}:{column}: syntax error near `{snippet}`")]
    Syntax {
        line: usize,
        column: usize,
        snippet: String,
    },
    /// A model's test candidate contained no `#[test]` function, so it cannot test anything.
    #[error("the test candidate contains no #[test] functions")]
    NoTests,
    /// Appending would create a second top-level module with this name, which rustc rejects.
    #[error("the file already has a top-level module named `{0}`")]
    ModuleExists(String),
    /// A byte range handed to [`splice`] does not fit the text; slicing would panic.
    #[error(
        "byte range {start}..{end} does not fit a text of {len} bytes \
         (out of bounds or not on a character boundary)"
    )]
    InvalidRange {
        start: usize,
        end: usize,
        len: usize,
    },
    /// tree-sitter itself failed (grammar/library version mismatch); not the user's fault.
    #[error("the Rust parser failed: {0}")]
    Parser(String),
}

/// Result type of this module.
pub type Result<T> = std::result::Result<T, CodeError>;
