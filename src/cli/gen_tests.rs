//! `kiln gen-tests FILE`: write unit tests for the functions in FILE that have none.

use std::path::PathBuf;

use super::runner::{self, RunArgs};
use super::Exit;
use crate::agent::Work;
use crate::task::gen_tests::{Batching, FilterSettings, GenTests, Mutation};

/// Functions per model request unless `--batch-size` says otherwise: few enough that a small
/// model keeps track of them. The TUI uses it too.
pub const DEFAULT_BATCH_SIZE: u32 = 5;
/// Batches talking to the model at once unless `--jobs` says otherwise. The TUI uses it too.
pub const DEFAULT_JOBS: u32 = 4;

#[derive(Debug, clap::Args)]
pub struct GenTestsArgs {
    /// The Rust source file whose functions need tests, e.g. src/parser.rs.
    pub file: PathBuf,
    /// Only these functions (repeatable). `Type::method` picks one method. Default: every
    /// function that no test in the file calls yet.
    #[arg(long = "fn", value_name = "NAME")]
    pub functions: Vec<String>,
    /// Re-run passing tests N more times; a test that fails in any re-run is dropped as flaky.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub reruns: u32,
    /// Keep tests without checking that each fails against a mutant of the code (faster).
    #[arg(long)]
    pub no_mutation: bool,
    /// Functions per model request. More functions than this are split into batches that run
    /// as separate conversations; each round's candidates are still tested in one build, and
    /// the kept tests end up in one module and one diff.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_SIZE, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub batch_size: u32,
    /// How many batches talk to the model at the same time.
    #[arg(long, short = 'j', value_name = "N", default_value_t = DEFAULT_JOBS, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub jobs: u32,
    #[command(flatten)]
    pub run: RunArgs,
}

pub async fn run(args: GenTestsArgs) -> Exit {
    let filter = FilterSettings {
        reruns: args.reruns,
        mutation: if args.no_mutation {
            Mutation::Off
        } else {
            Mutation::On
        },
    };
    runner::run_work(&args.file, &args.run, "tests", || {
        let task = GenTests::new(&args.file, &args.functions)?.with_filter(filter);
        Ok(work(task, args.batch_size, args.jobs))
    })
    .await
}

/// `task` as the agent runs it: one conversation, or batches of `batch_size` functions that talk
/// to the model `jobs` at a time. The TUI runs gen-tests this way too.
pub fn work(task: GenTests, batch_size: u32, jobs: u32) -> Work {
    match task.batched(batch_size as usize) {
        Batching::Batches(batch) => Work::Batch {
            batch: Box::new(batch),
            jobs: jobs as usize,
        },
        Batching::Single(task) => Work::One(Box::new(task)),
    }
}
