//! `kiln` / `kiln tui [PATH]`: the interactive front end. Pick a file or item, start a task, watch
//! the agent loop's events, review the diff hunk by hunk and apply it.
//!
//! Like the CLI it only picks tasks and renders [`crate::agent::AgentEvent`]s; cargo and HTTP
//! happen in the core. State ([`app`]) is kept apart from drawing ([`draw`]); each part of the
//! screen is a component in [`components`].

mod app;
mod component;
mod components;
mod draw;
mod fuzzy;
mod highlight;
mod kind;
mod strings;
mod task_pool;
mod task_view;
mod terminal;
mod theme;
mod workspace;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::Context;
use ratatui::crossterm::event::{self, Event};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::config::Tier;
use crate::frontend::session::{self, Batches, Session};
use crate::frontend::signal::{Stop, StopSignals};
use crate::frontend::wording::protections_summary;
use crate::frontend::Exit;
use app::{App, Effect, Msg, Quit};
use task_pool::TaskPool;
use terminal::TerminalGuard;

/// Messages handled per redraw at most: streamed tokens arrive in bursts, and drawing once per
/// burst keeps the screen responsive without redrawing for every token.
const MAX_MESSAGES_PER_FRAME: usize = 256;

#[derive(Debug, Default, clap::Args)]
pub struct TuiArgs {
    /// The crate (or any directory of Rust files) to work in [default: the current directory].
    pub path: Option<PathBuf>,
}

pub async fn run(args: TuiArgs) -> Exit {
    match session(args).await {
        Ok(Quit::Normal) => Exit::Ok,
        Ok(Quit::Stopped(stop)) => stop.into(),
        Err(e) => {
            eprintln!("kiln: {e:#}");
            Exit::Usage
        }
    }
}

async fn session(args: TuiArgs) -> anyhow::Result<Quit> {
    let root = args.path.unwrap_or_else(|| PathBuf::from("."));
    let root = prepare_root(&root)?;
    let files = workspace::list_rs_files(&root)
        .with_context(|| format!("cannot list the Rust files in {}", root.display()))?;
    let config = session::config_at(&root)?;
    let Session { llm, settings } = Session::new(&config, None)?;
    let tier = Tier::Mini;
    let protections = session::probe_sandbox()
        .await
        .context("cannot probe the sandbox protections")?;
    let endpoint = format!(
        "{} · {tier}={} · {}",
        llm.base_url(tier),
        llm.model(tier),
        protections_summary(&protections)
    );
    let prices = Tier::ALL
        .into_iter()
        .filter_map(|tier| Some((tier, config.price(tier)?)))
        .collect();
    // Before the terminal is taken, so a signal from then on ends the loop, which gives the
    // terminal back, instead of ending kiln in raw mode.
    let stops = StopSignals::listen();
    // The terminal is checked and taken last, so every error above prints on a normal screen.
    let mut guard = TerminalGuard::enter()?;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    spawn_input_reader(sender.clone());
    let app = App::new(root, files, endpoint, prices, theme::Theme::from_env())
        .with_batches(Batches::from_config(&config))
        .with_max_functions(config.max_functions);
    let pool = TaskPool::new(llm, settings, sender);
    // The guard gives the terminal back when this returns; the pool's tasks are dropped with the
    // runtime after that, which cancels their requests and kills and removes their sandboxes.
    event_loop(&mut guard, app, pool, receiver, stops).await
}

/// Lists `root`, opens the first file as Enter in the file list does, and draws one frame on
/// ratatui's `TestBackend`: the work between the key press and the file on screen, without a real
/// terminal's own latency. benches/ times this; the screen comes back so it can check the frame.
/// A file too big to outline before its first frame is drawn without its items (see
/// [`outline_after_first_frame`]).
pub fn first_frame(root: &Path, width: u16, height: u16) -> anyhow::Result<String> {
    use ratatui::backend::TestBackend;

    let (app, _) = open_first_file(root)?;
    let mut terminal = ratatui::Terminal::new(TestBackend::new(width, height))?;
    terminal.draw(|frame| draw::draw(frame, &app))?;
    Ok(terminal.backend().to_string())
}

/// The work that follows [`first_frame`] off the draw path: listing the items of the first file
/// when it is too big to list before. The number of items, for benches/ to check.
pub fn outline_after_first_frame(root: &Path) -> anyhow::Result<usize> {
    let (mut app, effects) = open_first_file(root)?;
    Ok(outline_now(&mut app, effects))
}

/// Carries out the outline effects in `effects` here and now, as the task pool does off the draw
/// path; how many items they listed.
fn outline_now(app: &mut App, effects: Vec<Effect>) -> usize {
    let mut listed = 0;
    for effect in effects {
        if let Effect::Outline {
            opened,
            relative,
            text,
        } = effect
        {
            let (items, problem) = workspace::outline(&relative, &text);
            listed += items.len();
            app.update(Msg::Outline {
                opened,
                items,
                problem,
            });
        }
    }
    listed
}

fn open_first_file(root: &Path) -> anyhow::Result<(App, Vec<Effect>)> {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    let files = workspace::list_rs_files(root)
        .with_context(|| format!("cannot list the Rust files in {}", root.display()))?;
    let mut app = App::new(
        root.to_path_buf(),
        files,
        String::new(),
        Default::default(),
        theme::Theme::from_env(),
    );
    let effects = app.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    Ok((app, effects))
}

fn prepare_root(root: &Path) -> anyhow::Result<PathBuf> {
    if !root.is_dir() {
        anyhow::bail!(
            "{}: not a directory; give kiln tui the crate to work in, e.g. `kiln tui .`",
            root.display()
        );
    }
    root.canonicalize()
        .with_context(|| format!("cannot resolve {}", root.display()))
}

async fn event_loop(
    guard: &mut TerminalGuard,
    mut app: App,
    mut pool: TaskPool,
    mut receiver: UnboundedReceiver<Msg>,
    mut stops: StopSignals,
) -> anyhow::Result<Quit> {
    loop {
        if let Some(quit) = app.quit() {
            return Ok(quit);
        }
        guard
            .terminal
            .draw(|frame| draw::draw(frame, &app))
            .context("cannot draw to the terminal")?;
        let first = tokio::select! {
            msg = receiver.recv() => msg.unwrap_or(Msg::Stop(Stop::Interrupt)),
            stop = stops.recv() => Msg::Stop(stop),
        };
        let mut batch = vec![first];
        while batch.len() < MAX_MESSAGES_PER_FRAME {
            match receiver.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        for msg in batch {
            for effect in app.update(msg) {
                pool.carry_out(effect);
            }
        }
    }
}

/// crossterm's `read` blocks, so it gets its own thread; it ends when the app stops listening.
fn spawn_input_reader(sender: UnboundedSender<Msg>) {
    std::thread::spawn(move || loop {
        let msg = match event::read() {
            Ok(Event::Key(key)) => Msg::Key(key),
            Ok(Event::Resize(..)) => Msg::Resize,
            Ok(_) => continue,
            Err(_) => Msg::Stop(Stop::HangUp),
        };
        if sender.send(msg).is_err() {
            break;
        }
    });
}
