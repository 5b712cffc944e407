//! The dashboard (`atelier` / `atelier dashboard`): a full-screen ratatui app over the runs
//! directory. A synchronous loop owns the terminal and the `App`; an input thread, the poller and
//! the image worker send `Msg`s on one channel; `update` turns them into state changes and
//! `Effect`s; views draw from state only, at most ~20 times a second and only when something
//! changed. The terminal is restored on quit, on panic, and on SIGTERM/SIGHUP.

pub mod app;
pub mod charts;
pub mod compare;
pub mod filter;
pub mod form;
pub mod gpus;
pub mod groups;
pub mod images;
pub mod keys;
pub mod layout;
pub mod look;
pub mod runs_table;
pub mod series;
pub mod session;
pub mod theme;
pub mod tmux;
pub mod update;
pub mod views;
pub mod workers;

use crate::study;
use anyhow::Result;
use app::{App, Effect, Msg};
use crossterm::event::{self, Event};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct DashboardOptions {
    pub runs_dir: PathBuf,
    pub experiments_dir: PathBuf,
    pub graphics: images::GraphicsMode,
    /// `--theme`; `None` leaves it to `ATELIER_THEME`, `NO_COLOR` and the terminal.
    pub theme: Option<theme::detect::ThemeChoice>,
    /// `--fresh`: start in the runs table, not where the saved session was (`session`).
    pub fresh: bool,
}

/// Minimum time between two frames (~20 fps).
const FRAME: Duration = Duration::from_millis(50);

pub fn run(opts: DashboardOptions) -> Result<()> {
    // The terminal is queried before anything else reads stdin: graphics, cell size and, unless
    // the theme is set, the background colour in one round trip; the background again on its
    // own when that answer was dropped (see `theme::detect`).
    let env = theme::detect::Env::from_process();
    let ask = theme::detect::needs_query(opts.theme, &env);
    let detected = images::make_picker(opts.graphics, ask);
    let answer = detected.background;
    let asked = Instant::now();
    let background = match answer {
        None if ask && std::io::stdout().is_terminal() => theme::detect::ask_background(),
        _ => answer,
    };
    let mut chosen = theme::detect::choose(opts.theme, &env, background);
    if ask {
        let how = match answer {
            Some(_) => "with the graphics query".to_string(),
            None => format!("asked on its own: {} ms", asked.elapsed().as_millis()),
        };
        chosen.why = format!("{} ({how})", chosen.why);
    }
    let mut terminal = ratatui::init();
    // Focus reports: a terminal (or tmux with `focus-events on`) that regains focus may have
    // dropped images meanwhile; `Msg::Focus(true)` repaints.
    crossterm::execute!(
        std::io::stdout(),
        crossterm::event::EnableMouseCapture,
        crossterm::event::EnableFocusChange
    )?;
    let prev_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(
            std::io::stdout(),
            crossterm::event::DisableMouseCapture,
            crossterm::event::DisableFocusChange
        );
        prev_hook(info);
    }));
    let result = event_loop(&mut terminal, opts, detected, chosen);
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableMouseCapture,
        crossterm::event::DisableFocusChange
    );
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    opts: DashboardOptions,
    detected: images::Detected,
    theme: theme::detect::Chosen,
) -> Result<()> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let images = {
        let tx = tx.clone();
        images::Images::new(detected.picker, move || {
            let _ = tx.send(Msg::ImagesReady);
        })
        .with_note_style(theme.theme.faint)
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    // The saved session goes first into the channel: it waits in `update` for the first scan.
    if !opts.fresh {
        if let Some(loaded) = session::load(&opts.runs_dir) {
            let _ = tx.send(Msg::Restore(loaded));
        }
    }
    let mut saver = session::Saver::default();
    let mut save_failed = false;
    spawn_input(tx.clone());
    tmux::spawn_watch(tx.clone());
    let poller = workers::spawn_poller(
        opts.runs_dir.clone(),
        opts.experiments_dir.clone(),
        tx.clone(),
        Box::new(crate::gpu::Nvml::shared()),
    );
    let looker = look::spawn(tx.clone());
    let mut app = App::new(opts.runs_dir, opts.experiments_dir, crate::run_dir::now());
    app.graphics = images.protocol_name();
    app.cell_px = images.cell_px();
    // iTerm2 images stay on screen under text in Konsole until the screen is cleared, and inside
    // tmux the dashboard's clear reaches the terminal only as tmux's redraw of the pane, which
    // does not remove them: a repaint then clears the outer terminal itself (passthrough).
    let outer_clear = images.protocol_name() == "iterm2"
        && std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    app.graphics_why = detected.why;
    app.theme = theme.theme;
    app.theme_why = theme.why;
    let size = terminal.size()?;
    app.size = (size.width, size.height);
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_tick = Instant::now();
    while !app.quit && !stop.load(Ordering::Relaxed) {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            terminal.draw(|f| views::draw(f, &app, &images))?;
            dirty = false;
            last_draw = Some(Instant::now());
        }
        let msg = match rx.recv_timeout(FRAME) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(s) = saver.due(Instant::now()) {
            save_session(&mut app, &s, &mut save_failed);
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            update::update(&mut app, Msg::Tick(crate::run_dir::now()));
            last_tick = Instant::now();
            dirty = true;
        }
        let Some(msg) = msg else { continue };
        dirty = true;
        for effect in update::update(&mut app, msg) {
            match effect {
                Effect::Quit => app.quit = true,
                Effect::SaveSession(s) => saver.offer(s, Instant::now()),
                Effect::Repaint => repaint(terminal, outer_clear)?,
                Effect::Watch(dir) => {
                    let _ = poller.send(workers::Request::Watch(dir));
                }
                Effect::Look(req) => {
                    let _ = looker.send(req);
                }
                Effect::WatchMany(dirs) => {
                    let _ = poller.send(workers::Request::WatchMany(dirs));
                }
                Effect::Rate(rating) => {
                    if let Err(e) = crate::ratings::append(&app.runs_dir, &rating) {
                        app.notify(format!("could not save the judgement: {e}"));
                    }
                }
                Effect::EndStudy(study) => {
                    let runs_dir = app.runs_dir.clone();
                    let experiments = app.experiments_dir.clone();
                    background(&tx, &poller, move || {
                        study::actions::end(&study, &runs_dir, &experiments)
                    })
                }
                Effect::ContactSheet { runs, step, out } => background(&tx, &poller, move || {
                    let runs: Vec<_> = runs.into_iter().map(crate::run_dir::RunDir::new).collect();
                    crate::interop::sheet::write(&runs, Some(step), &out)
                }),
                Effect::Propose(study) => {
                    let runs_dir = app.runs_dir.clone();
                    let experiments = app.experiments_dir.clone();
                    background(&tx, &poller, move || {
                        study::actions::refill_grid(&study, &runs_dir, &experiments)
                    })
                }
                Effect::ListExperiments => {
                    let _ = poller.send(workers::Request::ListExperiments);
                }
                Effect::ReadSpec { id, dir } => {
                    let _ = poller.send(workers::Request::ReadSpec { id, dir });
                }
                Effect::Control { run, id, command }
                    if command == crate::run_dir::Command::Stop
                        && run.join(crate::slurm::JOB).is_file() =>
                {
                    // A Slurm job: scancel while queued, else the graceful stop and scancel
                    // when unacknowledged; it waits, so off the UI thread.
                    background(&tx, &poller, move || {
                        crate::launch::stop(&crate::run_dir::RunDir::new(run), &id)
                    })
                }
                Effect::Control { run, id, command } => {
                    let line = crate::run_dir::ControlLine {
                        id: Some(id),
                        command,
                    };
                    if let Err(e) =
                        crate::train::control::send(&crate::run_dir::RunDir::new(run), &line)
                    {
                        app.notify(format!("could not send the command: {e}"));
                    }
                }
                Effect::Launch {
                    spec,
                    overrides,
                    name,
                } => {
                    let runs_dir = app.runs_dir.clone();
                    let experiments = app.experiments_dir.clone();
                    background(&tx, &poller, move || {
                        study::actions::launch_from_form(
                            &spec,
                            &overrides,
                            name.as_deref(),
                            &runs_dir,
                            &experiments,
                        )
                    })
                }
                Effect::Resume(dir) => background(&tx, &poller, move || {
                    crate::launch::resume(&crate::run_dir::RunDir::new(&dir))?;
                    Ok(format!(
                        "resumed {}",
                        dir.file_name()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    ))
                }),
            }
        }
    }
    if let Some(s) = saver.flush() {
        save_session(&mut app, &s, &mut save_failed);
    }
    Ok(())
}

/// Write the session; a failure is told once (the dashboard goes on without saving).
fn save_session(app: &mut App, s: &session::Session, failed: &mut bool) {
    match session::save(&app.runs_dir, s) {
        Ok(()) => *failed = false,
        Err(e) if !*failed => {
            *failed = true;
            app.notify(format!("could not save the session: {e}"));
        }
        Err(_) => {}
    }
}

/// Clear the screen and force a full redraw: every image is re-sent (sixel and iTerm2 images are
/// written again; kitty images are kept by the terminal and placed again). `Terminal::clear` must
/// not be used here: it asks the terminal for the cursor position, and the reply would be eaten
/// by the input thread (the call then fails after a timeout).
///
/// With `outer_clear` (iTerm2 inside tmux) the terminal outside tmux is cleared first through
/// tmux's passthrough, and tmux is asked to redraw its status line, which that clear erased.
fn repaint(terminal: &mut ratatui::DefaultTerminal, outer_clear: bool) -> Result<()> {
    if outer_clear {
        use std::io::Write;
        let mut out = std::io::stdout();
        out.write_all(b"\x1bPtmux;\x1b\x1b[2J\x1b\\")?;
        out.flush()?;
        let _ = std::process::Command::new("tmux")
            .args(["refresh-client", "-S"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
    let size = terminal.size()?;
    terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))?;
    Ok(())
}

/// Run slow work (spec validation, image checks, spawning) off the UI thread; report its result.
fn background(
    tx: &mpsc::Sender<Msg>,
    poller: &mpsc::Sender<workers::Request>,
    f: impl FnOnce() -> Result<String> + Send + 'static,
) {
    let tx = tx.clone();
    let poller = poller.clone();
    std::thread::spawn(move || {
        let msg = match f() {
            Ok(m) => m,
            Err(e) => format!("error: {e:#}"),
        };
        let _ = poller.send(workers::Request::Rescan);
        let _ = tx.send(Msg::Notify(msg));
    });
}

/// Read terminal events on a thread of their own.
fn spawn_input(tx: mpsc::Sender<Msg>) {
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || loop {
            let msg = match event::read() {
                Ok(Event::Key(k)) => Msg::Key(k),
                Ok(Event::Mouse(m)) => Msg::Mouse(m),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(Event::FocusGained) => Msg::Focus(true),
                Ok(Event::FocusLost) => Msg::Focus(false),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        })
        .expect("spawning the input thread");
}
