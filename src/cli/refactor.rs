//! `kiln refactor FILE --item NAME -m "..."`: rewrite an item; the whole test suite must pass.

use std::path::PathBuf;

use super::task_command::{self, TaskFlags};
use crate::frontend::Exit;
use crate::task::refactor::Refactor;

#[derive(Debug, clap::Args)]
pub struct RefactorArgs {
    /// The Rust source file that holds the item, e.g. src/parser.rs. Only this file changes.
    pub file: PathBuf,
    /// The item to refactor: `parse`, or `Parser::parse` for a method.
    #[arg(long = "item", value_name = "NAME")]
    pub item: String,
    /// What to change, e.g. "extract the parsing loop into a helper". Public signatures stay
    /// unless this asks to change them (mention the signature, a parameter or a rename).
    #[arg(long = "message", short = 'm', value_name = "INSTRUCTION")]
    pub instruction: String,
    #[command(flatten)]
    pub flags: TaskFlags,
}

pub async fn run(args: RefactorArgs) -> Exit {
    task_command::execute(&args.file, &args.flags, "refactor", || {
        Refactor::new(&args.file, &args.item, &args.instruction)
    })
    .await
}
