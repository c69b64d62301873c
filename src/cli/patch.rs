//! `--patch`: the proposal reviewed hunk by hunk on the terminal, the way `git add -p` asks.
//! Each hunk is printed as the diff shows it and answered with one of `[y,n,a,d,q,?]`; what the
//! answers accept is checked and written by the task command.

use std::io::Write;

use super::task_command::ask_line;
use crate::diff::{self, Colour, Hunk, HunkChoice};
use crate::frontend::signal::{Stop, StopSignals};

/// What `?` prints, as `git add -p` words it.
const HELP: &str = "\
y - apply this hunk
n - do not apply this hunk
a - apply this hunk and all later hunks
d - do not apply this hunk or any of the later hunks
q - quit; do not apply this hunk or any of the remaining ones
? - print help
";

/// One answer to the question about a hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Yes,
    No,
    All,
    NoneLater,
    Quit,
    Help,
}

impl Answer {
    fn parse(line: &str) -> Option<Answer> {
        match line.trim() {
            "y" => Some(Answer::Yes),
            "n" => Some(Answer::No),
            "a" => Some(Answer::All),
            "d" => Some(Answer::NoneLater),
            "q" => Some(Answer::Quit),
            "?" => Some(Answer::Help),
            _ => None,
        }
    }
}

/// `choices` after `answer` to the question about the next hunk of `total`: `false` when the
/// answer decides no hunk and the question is asked again.
fn decide(choices: &mut Vec<HunkChoice>, answer: Answer, total: usize) -> bool {
    match answer {
        Answer::Yes => choices.push(HunkChoice::Accept),
        Answer::No => choices.push(HunkChoice::Reject),
        Answer::All => choices.resize(total, HunkChoice::Accept),
        // One file is reviewed, so "later in the file" and "remaining" are the same hunks.
        Answer::NoneLater | Answer::Quit => choices.resize(total, HunkChoice::Reject),
        Answer::Help => return false,
    }
    true
}

/// Asks about each of `hunks` on stderr and returns a choice for every one. Stdin at its end
/// answers as `q` does: nothing more is accepted. `Err`: a signal came first.
pub(super) async fn choose(
    hunks: &[Hunk],
    label: &str,
    colour: Colour,
    stops: &mut StopSignals,
) -> Result<Vec<HunkChoice>, Stop> {
    let total = hunks.len();
    let mut choices = Vec::with_capacity(total);
    while let Some(hunk) = hunks.get(choices.len()) {
        let mut stderr = std::io::stderr();
        let _ = stderr.write_all(diff::hunk(hunk, colour).as_bytes());
        let question = format!(
            "({}/{total}) Apply this hunk to {label} [y,n,a,d,q,?]? ",
            choices.len() + 1
        );
        loop {
            let answer = match ask_line(&question, stops).await? {
                Some(line) => Answer::parse(&line),
                None => Some(Answer::Quit),
            };
            match answer {
                Some(answer) if decide(&mut choices, answer, total) => break,
                _ => eprint!("{HELP}"),
            }
        }
    }
    Ok(choices)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use HunkChoice::{Accept, Reject};

    /// The choices for four hunks after `answers`, in order, as the question loop takes them.
    fn answered(answers: &[&str]) -> Vec<HunkChoice> {
        let mut choices = Vec::new();
        for line in answers {
            if choices.len() == 4 {
                break;
            }
            if let Some(answer) = Answer::parse(line) {
                decide(&mut choices, answer, 4);
            }
        }
        choices
    }

    #[test]
    fn each_answer_decides_as_git_add_p_does() {
        assert_eq!(
            answered(&["y", "n", "y", "n"]),
            [Accept, Reject, Accept, Reject]
        );
        assert_eq!(answered(&["n", "a"]), [Reject, Accept, Accept, Accept]);
        assert_eq!(answered(&["y", "d"]), [Accept, Reject, Reject, Reject]);
        assert_eq!(answered(&["y", "q"]), [Accept, Reject, Reject, Reject]);
        // Help and anything unknown decide nothing; the question comes again.
        assert_eq!(
            answered(&["?", "yes", " y\n", "x", "n", "n", "n"]),
            [Accept, Reject, Reject, Reject]
        );
    }
}
