//! `kiln fim FILE`: fill a hole (a `todo!()` body, a `// kiln: fill` line, or given lines) with
//! code that compiles and keeps the crate's tests green.

use std::path::PathBuf;

use super::task_command::{self, TaskFlags};
use crate::frontend::Exit;
use crate::task::fim::{Fim, HoleChoice};

#[derive(Debug, clap::Args)]
pub struct FimArgs {
    /// The Rust source file with the hole, e.g. src/parser.rs.
    pub file: PathBuf,
    /// Fill (rewrite) this line instead of looking for a hole.
    #[arg(long, value_name = "N", conflicts_with = "range", value_parser = clap::value_parser!(u32).range(1..))]
    pub line: Option<u32>,
    /// Fill (rewrite) lines A to B, inclusive.
    #[arg(long, value_name = "A:B", value_parser = parse_range)]
    pub range: Option<(usize, usize)>,
    #[command(flatten)]
    pub flags: TaskFlags,
}

fn parse_range(text: &str) -> Result<(usize, usize), String> {
    let (a, b) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not a line range; write A:B, e.g. 10:14"))?;
    let parse = |n: &str| {
        n.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{n}` is not a line number"))
    };
    let (first, last) = (parse(a)?, parse(b)?);
    if first == 0 || last < first {
        return Err(format!(
            "`{text}`: lines count from 1 and the range must not run backwards"
        ));
    }
    Ok((first, last))
}

pub async fn run(args: FimArgs) -> Exit {
    let choice = match (args.line, args.range) {
        (Some(line), _) => HoleChoice::Lines {
            first: line as usize,
            last: line as usize,
        },
        (None, Some((first, last))) => HoleChoice::Lines { first, last },
        (None, None) => HoleChoice::Found,
    };
    task_command::execute(&args.file, &args.flags, "fill", || {
        Fim::new(&args.file, choice)
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_bad_ones_explain_themselves() {
        assert_eq!(parse_range("10:14"), Ok((10, 14)));
        assert_eq!(parse_range("3:3"), Ok((3, 3)));
        assert!(parse_range("14").unwrap_err().contains("A:B"));
        assert!(parse_range("5:2").unwrap_err().contains("backwards"));
        assert!(parse_range("a:2")
            .unwrap_err()
            .contains("not a line number"));
    }
}
