//! The TUI's state and how keys and agent events change it. Nothing here draws or waits: the
//! runtime feeds [`Msg`]s in and carries the returned [`Effect`]s out, so every behaviour can be
//! tested with plain values.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::component::{Action, Component, KeyResult};
use super::components::code_view::CodeView;
use super::components::diff_review::DiffReview;
use super::components::error_popup::ErrorPopup;
use super::components::files::FileList;
use super::components::help::Help;
use super::components::input::LineInput;
use super::components::status_bar::StatusBar;
use super::components::task_panel::TaskPanel;
use super::kind::{self, BuildError, Target, TaskKind};
use super::strings;
use super::task_view::{TaskId, TaskState, TaskView};
use super::theme::Theme;
use super::workspace::{self, ItemRow, OpenFile};
use crate::agent::{AgentEvent, RunSummary, Work};
use crate::config::{Price, Tier, DEFAULT_MAX_FUNCTIONS};
use crate::diff;
use crate::frontend::session::{Batches, Planned};
use crate::frontend::signal::Stop;
use crate::frontend::wording::plan_line;

/// Files up to this long are outlined before their first frame; a longer one (parsing 10,000
/// lines takes 40-70 ms, the whole first-frame budget) is shown at once and outlined beside.
const OUTLINE_NOW_MAX_LINES: usize = 2_000;

pub enum Msg {
    Key(KeyEvent),
    /// The terminal changed size; the next draw adapts.
    Resize,
    Agent(TaskId, AgentEvent),
    Finished(TaskId, RunSummary),
    /// A signal to stop (SIGINT from outside the terminal, SIGTERM, SIGHUP), or the terminal's
    /// input is gone (which is a hang-up).
    Stop(Stop),
    /// The items of a big file, listed off the draw path (see [`Effect::Outline`]).
    Outline {
        opened: u64,
        items: Vec<ItemRow>,
        problem: Option<String>,
    },
}

/// How the session ended, which decides kiln's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quit {
    /// `q`: the user is done.
    Normal,
    /// Ctrl-C (a key in raw mode) or a signal: exit 130, 143 or 129 like the one-shot commands,
    /// so a calling shell or script sees a stop and not a finished session. Running tasks stop,
    /// unapplied diffs are dropped, nothing is written.
    Stopped(Stop),
}

/// Work only the runtime can do.
pub enum Effect {
    /// A batched gen-tests is one task here: one entry in the panel, one place in the pool.
    Start {
        id: TaskId,
        work: Work,
    },
    Cancel(TaskId),
    /// List the items of a file too big to parse before the first frame; `opened` tells the
    /// answer from one for a file opened since.
    Outline {
        opened: u64,
        relative: PathBuf,
        text: String,
    },
}

/// What a task key works on: `t` the selected item, `T` every function of the open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    SelectedItem,
    WholeFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    Tasks,
}

pub struct App {
    pub(super) root: PathBuf,
    pub(super) theme: Theme,
    pub(super) files: FileList,
    pub(super) code: CodeView,
    pub(super) tasks: TaskPanel,
    pub(super) status: StatusBar,
    /// The task whose "queued: …" the status bar shows: withdrawn once that task starts or
    /// ends, so the bottom line never says queued about a task that is running or done.
    queued_notice: Option<TaskId>,
    pub(super) review: Option<DiffReview>,
    pub(super) input: Option<LineInput>,
    pub(super) help: Option<Help>,
    pub(super) error: Option<ErrorPopup>,
    pub(super) focus: Pane,
    /// Per-tier prices from the config, so a running task's cost shows live.
    pub(super) prices: BTreeMap<Tier, Price>,
    /// How gen-tests on a whole file is split.
    batches: Batches,
    /// gen-tests on more functions than this starts only on a second `T` (`max_functions`).
    max_functions: u32,
    /// The whole-file gen-tests whose plan the status bar shows, waiting for that second `T`.
    awaiting_consent: Option<Target>,
    open: Option<OpenFile>,
    /// Counts the files opened, to match an outline to its file.
    opened: u64,
    next_id: u64,
    quit: Option<Quit>,
}

impl App {
    pub fn new(
        root: PathBuf,
        files: Vec<PathBuf>,
        endpoint: String,
        prices: BTreeMap<Tier, Price>,
        theme: Theme,
    ) -> App {
        App {
            root,
            theme,
            files: FileList::new(files),
            code: CodeView::default(),
            tasks: TaskPanel::default(),
            status: StatusBar::new(endpoint),
            queued_notice: None,
            review: None,
            input: None,
            help: None,
            error: None,
            focus: Pane::List,
            prices,
            batches: Batches::default(),
            max_functions: DEFAULT_MAX_FUNCTIONS,
            awaiting_consent: None,
            open: None,
            opened: 0,
            next_id: 1,
            quit: None,
        }
    }

    /// Splits whole-file gen-tests as `batches` says (the config's `batch_size` and `jobs`).
    pub fn with_batches(mut self, batches: Batches) -> App {
        self.batches = batches;
        self
    }

    /// Asks before gen-tests on more than `max_functions` functions (the config's).
    pub fn with_max_functions(mut self, max_functions: u32) -> App {
        self.max_functions = max_functions;
        self
    }

    pub fn quit(&self) -> Option<Quit> {
        self.quit
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let effects = self.handle(msg);
        // Events change the selected task's usage and keys change the selection: refresh on both.
        self.status.task_usage = self.tasks.selected().and_then(TaskView::usage_line);
        effects
    }

    fn handle(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) if key.kind == KeyEventKind::Press => return self.on_key(key),
            Msg::Key(_) | Msg::Resize => {}
            Msg::Stop(stop) => self.quit = Some(Quit::Stopped(stop)),
            Msg::Outline {
                opened,
                items,
                problem,
            } => self.show_outline(opened, items, problem),
            Msg::Agent(id, event) => {
                self.withdraw_queued_notice(id);
                let prices = &self.prices;
                if let Some(usage) = self
                    .tasks
                    .get_mut(id)
                    .and_then(|t| t.on_event(&event, prices))
                {
                    self.status.session.add(usage);
                }
            }
            Msg::Finished(id, summary) => {
                self.withdraw_queued_notice(id);
                if let Some(task) = self.tasks.get_mut(id) {
                    task.on_finished(summary);
                }
                let proposed = self
                    .tasks
                    .get(id)
                    .is_some_and(|t| t.state == TaskState::Proposed);
                if proposed && self.review.is_none() {
                    self.open_review(id);
                }
            }
        }
        Vec::new()
    }

    fn withdraw_queued_notice(&mut self, id: TaskId) {
        if self.queued_notice == Some(id) {
            self.queued_notice = None;
            self.status.clear_message();
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = Some(Quit::Stopped(Stop::Interrupt));
            return Vec::new();
        }
        self.status.clear_message();
        self.queued_notice = None;
        let item_before = self.selected_lines();
        let result = if let Some(error) = &mut self.error {
            error.handle_key(key)
        } else if let Some(help) = &mut self.help {
            help.handle_key(key)
        } else if let Some(input) = &mut self.input {
            input.handle_key(key)
        } else if let Some(review) = &mut self.review {
            review.handle_key(key)
        } else {
            match self.focus {
                Pane::List => self.files.handle_key(key),
                Pane::Tasks => self.tasks.handle_key(key),
            }
        };
        let effects = match result {
            KeyResult::Action(action) => self.act(action),
            KeyResult::Handled => Vec::new(),
            KeyResult::Ignored => self.global_key(key),
        };
        // Only a new selection moves the code view; otherwise paging would snap back.
        let item_after = self.selected_lines();
        if item_after != item_before {
            self.code.show_item(item_after);
        }
        effects
    }

    /// The lines of the selected item, for the code view.
    fn selected_lines(&self) -> Option<std::ops::Range<usize>> {
        self.files.selected_item().map(|item| item.lines.clone())
    }

    fn global_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Char('q') => self.quit = Some(Quit::Normal),
            KeyCode::Char('?') => self.help = Some(Help),
            KeyCode::Tab => {
                self.focus = match self.focus {
                    Pane::List => Pane::Tasks,
                    Pane::Tasks => Pane::List,
                }
            }
            KeyCode::Char('t') => return self.request(TaskKind::GenTests, Scope::SelectedItem),
            KeyCode::Char('T') => return self.request(TaskKind::GenTests, Scope::WholeFile),
            KeyCode::Char('d') => return self.request(TaskKind::Docstring, Scope::SelectedItem),
            KeyCode::Char('f') => return self.request(TaskKind::FillHole, Scope::SelectedItem),
            KeyCode::Char('r') => self.input = Some(LineInput::new(strings::REFACTOR_PROMPT)),
            KeyCode::Char('x') => return self.cancel_selected(),
            _ => {
                self.code.handle_key(key);
            }
        }
        Vec::new()
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::OpenFile(relative) => return self.open_file(&relative),
            Action::CloseFile => {
                self.open = None;
                self.code.close();
            }
            Action::Review(id) => self.open_review(id),
            Action::ApplyReview => return self.apply_review(),
            Action::Submit(instruction) => {
                self.input = None;
                return self.request(TaskKind::Refactor { instruction }, Scope::SelectedItem);
            }
            Action::Close => self.close_top(),
        }
        Vec::new()
    }

    /// Esc (or any key, for help) closes whatever is on top.
    fn close_top(&mut self) {
        if self.error.take().is_none() && self.help.take().is_none() && self.input.take().is_none()
        {
            self.review = None;
        }
    }

    /// Shows the file at once; a file of more than [`OUTLINE_NOW_MAX_LINES`] gets its items
    /// after the first frame, from [`Effect::Outline`].
    fn open_file(&mut self, relative: &std::path::Path) -> Vec<Effect> {
        let mut open = match workspace::read(&self.root, relative) {
            Ok(open) => open,
            Err(message) => {
                self.error = Some(ErrorPopup { message });
                return Vec::new();
            }
        };
        self.opened += 1;
        self.code
            .open(open.relative.display().to_string(), &open.text);
        let effects = if open.text.lines().count() <= OUTLINE_NOW_MAX_LINES {
            (open.items, open.problem) = workspace::outline(&open.relative, &open.text);
            Vec::new()
        } else {
            self.status.say(strings::LISTING_ITEMS);
            vec![Effect::Outline {
                opened: self.opened,
                relative: open.relative.clone(),
                text: open.text.clone(),
            }]
        };
        self.files
            .show_items(open.items.clone(), open.problem.clone());
        self.code.show_item(self.selected_lines());
        self.open = Some(open);
        effects
    }

    fn show_outline(&mut self, opened: u64, items: Vec<ItemRow>, problem: Option<String>) {
        let Some(open) = self.open.as_mut().filter(|_| opened == self.opened) else {
            return;
        };
        open.items = items;
        open.problem = problem;
        self.files
            .show_items(open.items.clone(), open.problem.clone());
        self.code.show_item(self.selected_lines());
        self.status.clear_message();
    }

    fn request(&mut self, kind: TaskKind, scope: Scope) -> Vec<Effect> {
        let Some(open) = &self.open else {
            self.status.say(strings::NOTHING_SELECTED);
            return Vec::new();
        };
        let item = match scope {
            Scope::SelectedItem => self.files.selected_item().map(|item| item.name.clone()),
            Scope::WholeFile => None,
        };
        let target = Target {
            file: open.path.clone(),
            item,
        };
        match kind::build(&kind, &target, self.batches) {
            Ok(Planned {
                plan: Some(plan), ..
            }) if plan.needs_consent(self.max_functions)
                && self.awaiting_consent.as_ref() != Some(&target) =>
            {
                let price = self.prices.get(&Tier::Mini).copied();
                self.status.say(strings::consent(
                    &plan_line(&plan, Tier::Mini, price),
                    plan.functions,
                ));
                self.awaiting_consent = Some(target);
                Vec::new()
            }
            Ok(Planned { work, .. }) => {
                self.awaiting_consent = None;
                let id = TaskId(self.next_id);
                self.next_id += 1;
                let title = work.title();
                self.status.say(strings::task_started(&title));
                self.queued_notice = Some(id);
                self.tasks.add(TaskView::new(id, title));
                vec![Effect::Start { id, work }]
            }
            Err(BuildError::Notice(message)) => {
                self.status.say(message);
                Vec::new()
            }
            Err(BuildError::Failed(message)) => {
                self.error = Some(ErrorPopup { message });
                Vec::new()
            }
        }
    }

    fn cancel_selected(&mut self) -> Vec<Effect> {
        match self.tasks.selected().map(|t| t.id) {
            Some(id) => self.cancel(id),
            None => {
                self.status.say(strings::NOTHING_TO_CANCEL);
                Vec::new()
            }
        }
    }

    fn cancel(&mut self, id: TaskId) -> Vec<Effect> {
        match self.tasks.get_mut(id) {
            Some(task) if task.is_active() => {
                task.state = TaskState::Cancelled;
                task.log.push("cancelled".to_string());
                vec![Effect::Cancel(id)]
            }
            _ => {
                self.status.say(strings::NOTHING_TO_CANCEL);
                Vec::new()
            }
        }
    }

    fn open_review(&mut self, id: TaskId) {
        let Some(task) = self.tasks.get(id) else {
            return;
        };
        match (&task.state, &task.proposal) {
            (TaskState::Proposed, Some(proposal)) => {
                let label = proposal
                    .file
                    .strip_prefix(&self.root)
                    .unwrap_or(&proposal.file)
                    .display()
                    .to_string();
                self.review = Some(DiffReview::new(id, label, proposal));
                self.tasks.select(id);
            }
            _ => self.status.say(strings::NO_PROPOSAL),
        }
    }

    fn apply_review(&mut self) -> Vec<Effect> {
        let Some(review) = &self.review else {
            return Vec::new();
        };
        let id = review.task;
        let Some(merge) = self
            .tasks
            .get(id)
            .and_then(|t| t.proposal.as_deref())
            .and_then(|proposal| review.merge(proposal))
        else {
            self.status.say(strings::REVIEW_NOTHING_ACCEPTED);
            return Vec::new();
        };
        // A conflict keeps the review and the proposal; the user reads why and decides.
        if let Err(e) = diff::apply(&merge.file, &merge.original, &merge.new_text) {
            self.error = Some(ErrorPopup {
                message: e.to_string(),
            });
            return Vec::new();
        }
        if let Some(task) = self.tasks.get_mut(id) {
            task.state = TaskState::Applied;
            task.applied_hunks = merge.accepted;
        }
        let label = merge.file.strip_prefix(&self.root).unwrap_or(&merge.file);
        self.status.say(strings::applied(
            &label.display().to_string(),
            merge.accepted,
            merge.total,
        ));
        self.review = None;
        // The open file may be the one just written: show what is on disk now, on the same item.
        if let Some(relative) = self
            .open
            .as_ref()
            .filter(|open| open.path == merge.file)
            .map(|open| open.relative.clone())
        {
            let item = self.files.selected_item().map(|item| item.name.clone());
            let effects = self.open_file(&relative);
            if let Some(name) = item {
                self.files.select_item(&name);
                self.code.show_item(self.selected_lines());
            }
            return effects;
        }
        Vec::new()
    }
}
