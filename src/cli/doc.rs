//! `kiln doc FILE`: `///` docs for the items in FILE that lack them, doctests run in a sandbox.

use std::path::PathBuf;

use super::task_command::{self, TaskFlags};
use crate::frontend::Exit;
use crate::task::docstring::{DocScope, Docstring};

#[derive(Debug, clap::Args)]
pub struct DocArgs {
    /// The Rust source file to document, e.g. src/parser.rs.
    pub file: PathBuf,
    /// Only these items (repeatable), documented or not. `Type::method` picks one method.
    /// Default: every public item without docs.
    #[arg(long = "item", value_name = "NAME")]
    pub items: Vec<String>,
    /// Include private items when picking undocumented ones.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub flags: TaskFlags,
}

pub async fn run(args: DocArgs) -> Exit {
    let scope = if args.all {
        DocScope::All
    } else {
        DocScope::Public
    };
    task_command::execute(&args.file, &args.flags, "docs", || {
        Docstring::new(&args.file, &args.items, scope)
    })
    .await
}
