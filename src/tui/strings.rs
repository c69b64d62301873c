//! Every piece of text the TUI shows, in one place, so wording stays consistent and reviewable.

pub const FILES_TITLE: &str = "Files";
/// The item marks are explained in the help (`?`); the pane is too narrow for a legend.
pub const ITEMS_TITLE: &str = "Items (? explains T D H)";
pub const CODE_TITLE_EMPTY: &str = "Code";
pub const TASKS_TITLE: &str = "Tasks";
pub const NO_TASKS: &str = "No tasks yet. Pick a file or an item and press t to write tests.";
pub const NO_FILES: &str = "No .rs files here.";
pub const NO_MATCHES: &str = "Nothing matches the filter.";
pub const NO_ITEMS: &str = "No functions in this file.";
pub const OPEN_A_FILE: &str = "Press Enter on a file to open it.";
pub const FILTER_PROMPT: &str = "/";
pub const REFACTOR_PROMPT: &str = "Refactor instruction (Enter to run, Esc to cancel): ";
pub const WAITING_FOR_MODEL: &str = "waiting for the model…";
pub const TOO_SMALL: &str = "Terminal too small for kiln.";
pub const ERROR_TITLE: &str = "Error";
pub const ERROR_DISMISS: &str = "Press Enter or Esc to close.";
pub const HELP_TITLE: &str = "Keys";
pub const REVIEW_TITLE: &str = "Review";
pub const REVIEW_KEYS: &str =
    "y accept hunk · n reject hunk · a accept all · Enter apply · Esc close";
pub const REVIEW_CHECKING_KEYS: &str = "Esc stop the check and close the review";
pub const REVIEW_NOTHING_ACCEPTED: &str = "No hunk is accepted; nothing to apply.";
pub const NOT_A_TTY: &str =
    "kiln tui needs an interactive terminal (stdin and stdout must be a tty); for scripts use `kiln gen-tests FILE`";
pub const NOTHING_SELECTED: &str = "Open a file first (Enter on a file in the list).";
pub const NOTHING_TO_CANCEL: &str = "The selected task is not running.";
pub const NO_PROPOSAL: &str = "The selected task has no diff to review.";
/// A big file is on screen before its items are: this says they are on the way.
pub const LISTING_ITEMS: &str = "listing the functions of this file…";

pub const FOOTER: &str =
    "t tests · d docs · f fill hole · r refactor · / filter · Tab tasks · ? help · q quit";

/// Shown by `?`: key, what it does.
pub const HELP: &[(&str, &str)] = &[
    ("T D H", "item marks: no tests, no docs, a todo!() hole"),
    ("j/k ↑/↓", "move in the focused list"),
    ("Enter", "open a file / review the selected task's diff"),
    ("Esc", "back to the file list / close"),
    ("/", "fuzzy filter the list"),
    ("PgUp/PgDn", "scroll the code"),
    ("Tab", "switch focus between list and tasks"),
    ("t", "write tests for the selected item"),
    ("T", "tests for the whole file (a big one: T twice)"),
    ("d", "write doc comments"),
    ("f", "fill the first todo!() hole in the open file"),
    ("r", "refactor with a one-line instruction"),
    ("x", "cancel the selected task"),
    ("y / n / a", "in a review: accept / reject hunk, accept all"),
    ("?", "show or hide this help"),
    ("q, Ctrl-C", "quit"),
];

pub const SELECT_AN_ITEM: &str = "select an item in the list to refactor it";

/// The popup for accepted hunks that failed their check; `reason` points at the hunk.
pub fn subset_refused(reason: &str) -> String {
    format!(
        "Not applied, nothing was written: {reason}\n\nChange the choices and press Enter again, \
         or a to accept all."
    )
}

pub fn applied(path: &str, accepted: usize, total: usize) -> String {
    format!("applied {accepted} of {total} hunk(s) to {path}")
}

/// The selected task's usage first: the session facts after it may be cut at the right edge.
pub fn task_usage(usage: &str, session: &str) -> String {
    format!("task: {usage} · {session}")
}

/// The status line for a whole-file gen-tests over max_functions: its plan, and how to spend it.
pub fn consent(plan: &str, functions: usize) -> String {
    format!("{plan}; over max_functions: press T again to spend it on all {functions}")
}

pub fn task_started(title: &str) -> String {
    format!("queued: {title}")
}

pub fn too_small_detail(min_width: u16, min_height: u16, width: u16, height: u16) -> String {
    format!("Needs {min_width}x{min_height}, have {width}x{height}.")
}
