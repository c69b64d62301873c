//! `kiln gen-tests FILE`: write unit tests for the functions in FILE that have none.

use std::path::PathBuf;

use super::runner::{self, RunArgs};
use super::Exit;
use crate::task::gen_tests::GenTests;

#[derive(Debug, clap::Args)]
pub struct GenTestsArgs {
    /// The Rust source file whose functions need tests, e.g. src/parser.rs.
    pub file: PathBuf,
    /// Only these functions (repeatable). `Type::method` picks one method. Default: every
    /// function that no test in the file calls yet.
    #[arg(long = "fn", value_name = "NAME")]
    pub functions: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

pub async fn run(args: GenTestsArgs) -> Exit {
    runner::run(&args.file, &args.run, "tests", || {
        GenTests::new(&args.file, &args.functions)
    })
    .await
}
