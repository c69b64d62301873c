//! `kiln gen-tests FILE`: write unit tests for the functions in FILE that have none.

use std::path::PathBuf;

use super::task_command::{self, TaskFlags};
use crate::frontend::session::{gen_tests_work, Batches};
use crate::frontend::Exit;
use crate::task::gen_tests::{FilterSettings, GenTests, Mutation};

#[derive(Debug, clap::Args)]
pub struct GenTestsArgs {
    /// The Rust source file whose functions need tests, e.g. src/parser.rs.
    pub file: PathBuf,
    /// Only these functions (repeatable). `Type::method` picks one method. Default: every
    /// function that no test in the file calls yet; more of them than max_functions in
    /// kiln.toml (default 50) are asked about first, and without a terminal need --yes.
    #[arg(long = "fn", value_name = "NAME")]
    pub functions: Vec<String>,
    /// Only the first N of those functions, in file order (the plan names the last one), e.g.
    /// to try kiln on part of a big file before spending on all of it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_functions: Option<u32>,
    /// Re-run passing tests N more times; a test that fails in any re-run is dropped as flaky.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub reruns: u32,
    /// Keep tests without checking that each fails against a mutant of the code (faster).
    #[arg(long)]
    pub no_mutation: bool,
    /// Functions per model request [default: 5, or batch_size in kiln.toml]. More functions
    /// than this are split into batches that run as separate conversations; each round's
    /// candidates are still tested in one build, and the kept tests end up in one module and
    /// one diff.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub batch_size: Option<u32>,
    /// How many batches talk to the model at the same time [default: 4, or jobs in kiln.toml].
    /// Use 1 for a local server that answers one request at a time.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=32))]
    pub jobs: Option<u32>,
    #[command(flatten)]
    pub flags: TaskFlags,
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
    task_command::execute_work(&args.file, &args.flags, "tests", |config| {
        let mut task = GenTests::new(&args.file, &args.functions)?.with_filter(filter);
        if let Some(count) = args.max_functions {
            task = task.first_functions(count as usize);
        }
        let batches = Batches {
            batch_size: args.batch_size.unwrap_or(config.batch_size),
            jobs: args.jobs.unwrap_or(config.jobs),
        };
        Ok(gen_tests_work(task, batches))
    })
    .await
}
