//! The event loop: terminal input, model updates from the cluster session, signals and a
//! slow clock become messages to the [`App`]; the screen is redrawn only when something
//! changed (idle means no frames written) and never faster than the frame cap, so a burst
//! of cluster changes cannot flood a slow SSH link.

use std::time::Duration;

use color_eyre::Result;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::time::{Instant, sleep_until};

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use std::path::PathBuf;

use tokio::sync::mpsc;

use std::collections::HashMap;

use super::app::{App, Effect, Job, JobEvent};
use super::panes;
use super::runbooks::{RunStart, RunnerEvent};
use super::terminal::TerminalGuard;
use crate::actions::execute::{ExecContext, dry_run_text};
use crate::actions::runbook::engine::{self, Control, Io};
use crate::actions::runbook::launch::{self, Request};
use crate::cluster::connect::ConnectOptions;
use crate::cluster::connect::Connection;
use crate::cluster::logs::{LogEvent, LogFollower, pod_targets};
use crate::cluster::mutate::RolloutEnd;
use crate::cluster::session::SessionHandle;
use crate::config::paths::Paths;
use crate::config::profile::ProfileChoice;
use crate::model::runbook::{OnFailure, Runbook, Step};
use crate::model::service::ServiceKey;

/// Set in the environment, the cockpit panics right after its first frame: the only way for
/// a test to prove that a panic (a bug) still leaves the operator's terminal usable.
const PANIC_AFTER_FIRST_FRAME: &str = "KUBECTL_COCKPIT_TEST_PANIC";

/// How often time-dependent text (ages, "reconnecting 12 s") is refreshed when nothing
/// else happens. A redraw that changes no cell writes no bytes.
const CLOCK: Duration = Duration::from_secs(1);

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Quit,
    Signal(crate::exit::Signal),
    InputClosed,
}

/// What starting a runbook from the cockpit needs besides the current connection.
#[derive(Clone)]
pub struct RunbookSetup {
    pub paths: Paths,
    pub options: ConnectOptions,
    pub profiles: ProfileChoice,
}

pub async fn run(mut app: App, mut session: SessionHandle, max_fps: u32, setup: RunbookSetup) -> Result<Ending> {
    let (job_events, mut job_results) = mpsc::unbounded_channel();
    let jobs = Jobs { events: job_events, audit_log: setup.paths.audit_log() };
    let (runner_events, mut runner_reports) = mpsc::unbounded_channel();
    let mut runner = Runner { setup, events: runner_events, controls: None };
    // Signals first: a SIGHUP during set-up must still restore the terminal.
    let mut terminations = crate::exit::Terminations::listen()?;
    let mut guard = TerminalGuard::enter()?;
    let mut input = EventStream::new();
    let frame = Duration::from_secs(1) / max_fps.clamp(1, 240);
    let mut last_draw = Instant::now() - frame;
    let mut dirty = true;
    let mut screen = OffscreenFrame::default();
    let mut session_open = true;
    let mut clock = tokio::time::interval(CLOCK);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (log_events, mut log_lines) = mpsc::unbounded_channel();
    let mut followers = Followers { by_pane: HashMap::new(), events: log_events };

    let ending = loop {
        let draw_at = dirty.then_some(last_draw + frame);
        tokio::select! {
            biased;
            signal = terminations.next() => break Ending::Signal(signal),
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    let effects = app.handle_key(key, jiff::Timestamp::now());
                    dirty = true;
                    if apply_effects(&mut app, &session, &jobs, &mut runner, &mut guard, effects) {
                        break Ending::Quit;
                    }
                    followers.sync(&mut app, &session.connection.borrow().client);
                }
                Some(Ok(TermEvent::Paste(text))) => {
                    app.handle_paste(&text);
                    dirty = true;
                }
                Some(Ok(TermEvent::Resize(_, _))) => {
                    guard.terminal.autoresize()?;
                    screen.forget();
                    dirty = true;
                }
                Some(Ok(_)) => {}
                // The terminal went away (e.g. SSH dropped before SIGHUP arrived).
                Some(Err(_)) | None => break Ending::InputClosed,
            },
            changed = session.views.changed(), if session_open => {
                if changed.is_err() {
                    // The session ended; keep showing the last view.
                    session_open = false;
                    continue;
                }
                let view = session.views.borrow_and_update().clone();
                app.set_view(view);
                followers.sync(&mut app, &session.connection.borrow().client);
                dirty = true;
            }
            Some((id, event)) = log_lines.recv() => {
                if id >= panes::WATCH_ID_BASE {
                    app.slo_watches.on_event(id, event);
                } else {
                    app.logs.on_event(id, event);
                }
                dirty = true;
            }
            Some(event) = job_results.recv() => {
                app.on_job(event);
                dirty = true;
            }
            Some(event) = runner_reports.recv() => {
                app.on_runner(event);
                followers.sync(&mut app, &session.connection.borrow().client);
                dirty = true;
            }
            _ = clock.tick() => {
                dirty |= app.clock_matters();
            }
            _ = sleep_until(draw_at.unwrap_or_else(Instant::now)), if draw_at.is_some() => {
                screen.draw(&mut guard, &mut app)?;
                last_draw = Instant::now();
                dirty = false;
                if std::env::var_os(PANIC_AFTER_FIRST_FRAME).is_some() {
                    panic!("{PANIC_AFTER_FIRST_FRAME} is set: panicking on purpose after the first frame");
                }
            }
        }
    };
    drop(guard);
    Ok(ending)
}

/// Renders off-screen first and touches the terminal only when a cell differs from what
/// it already shows. ratatui writes colour resets and cursor commands on every draw, even
/// an identical one; this keeps an idle cockpit (and one whose cluster changes nothing
/// visible) completely silent on the wire.
#[derive(Default)]
struct OffscreenFrame {
    /// Kept between frames; rebuilt only when the terminal's size changes.
    shadow: Option<Terminal<TestBackend>>,
    shown: Option<Buffer>,
}

impl OffscreenFrame {
    fn draw(&mut self, guard: &mut TerminalGuard, app: &mut App) -> Result<()> {
        let area: Rect = guard.terminal.size()?.into();
        let shadow = match &mut self.shadow {
            Some(shadow) if shadow.backend().buffer().area == area => shadow,
            stale => stale.insert(Terminal::with_options(
                TestBackend::new(area.width, area.height),
                TerminalOptions { viewport: Viewport::Fixed(area) },
            )?),
        };
        shadow.draw(|f| app.draw(f, jiff::Timestamp::now()))?;
        let next = shadow.backend().buffer();
        if self.shown.as_ref() == Some(next) {
            return Ok(());
        }
        guard.terminal.draw(|f| f.buffer_mut().clone_from(next))?;
        self.shown = Some(next.clone());
        Ok(())
    }

    /// After a resize the terminal content is unknown: draw in full next time.
    fn forget(&mut self) {
        self.shown = None;
    }
}

/// One log follower per open pane; a closed pane's follower (and its streams) is dropped.
struct Followers {
    by_pane: HashMap<u64, LogFollower>,
    events: mpsc::UnboundedSender<(u64, LogEvent)>,
}

impl Followers {
    /// Matches the followers to the panes, and each follower's streams to its service's pods now.
    fn sync(&mut self, app: &mut App, client: &kube::Client) {
        let view = app.view.clone();
        app.slo_watches.sync(&view.services, &view.slo_rules, &app.logs);
        let watched = &app.slo_watches.watched;
        self.by_pane
            .retain(|id, _| app.logs.panes.iter().any(|p| p.id == *id) || watched.values().any(|w| w.id == *id));
        let targets =
            |key: &ServiceKey| view.services.iter().find(|s| &s.key == key).map(pod_targets).unwrap_or_default();
        for pane in &mut app.logs.panes {
            let follower = self.follower(pane.id, &pane.key, panes::BACKFILL_S, client);
            follower.sync(&targets(&pane.key));
            pane.streams = follower.followed();
        }
        for (key, w) in &app.slo_watches.watched {
            self.follower(w.id, key, w.backfill_s, client).sync(&targets(key));
        }
    }

    /// The follower of pane or watch `id`, started on first use.
    fn follower(&mut self, id: u64, key: &ServiceKey, backfill_s: u64, client: &kube::Client) -> &mut LogFollower {
        self.by_pane.entry(id).or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let all = self.events.clone();
            tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    if all.send((id, event)).is_err() {
                        return;
                    }
                }
            });
            let pods = kube::Api::namespaced(client.clone(), &key.namespace);
            LogFollower::new(pods, Duration::from_secs(backfill_s), panes::STREAM_CAP, tx)
        })
    }
}

/// Performs what the app asked for; returns true when the app should end.
fn apply_effects(
    app: &mut App,
    session: &SessionHandle,
    jobs: &Jobs,
    runner: &mut Runner,
    guard: &mut TerminalGuard,
    effects: Vec<Effect>,
) -> bool {
    let mut quit = false;
    for effect in effects {
        match effect {
            Effect::Quit => quit = true,
            Effect::Copy(text) => {
                if let Err(e) = copy_to_clipboard(guard, &text) {
                    app.report_error(format!("could not copy: {e}"));
                }
            }
            Effect::Execute(job) => jobs.spawn(job, session.connection.borrow().clone()),
            Effect::StartRunbook { name, params, resume } => {
                runner.start(name, params, resume, session.connection.borrow().clone());
            }
            Effect::RunControl(control) => runner.control(control),
            Effect::Session(intent) => {
                if session.intents.try_send(intent).is_err() {
                    app.report_error("the cluster session is busy; try again");
                }
            }
        }
    }
    quit
}

/// Runs one runbook at a time off the event loop: its own watches of its namespace, the
/// engine, and its reports turned into [`RunnerEvent`]s.
struct Runner {
    setup: RunbookSetup,
    events: mpsc::UnboundedSender<RunnerEvent>,
    controls: Option<mpsc::UnboundedSender<Control>>,
}

impl Runner {
    fn control(&self, control: Control) {
        if let Some(controls) = &self.controls {
            let _ = controls.send(control);
        }
    }

    fn start(&mut self, name: String, params: Vec<(String, String)>, resume: bool, connection: Connection) {
        if self.controls.as_ref().is_some_and(|c| !c.is_closed()) {
            let _ = self.events.send(RunnerEvent::Refused("a runbook is already running in this cockpit".into()));
            return;
        }
        let (controls_tx, controls) = mpsc::unbounded_channel();
        self.controls = Some(controls_tx);
        let (setup, events) = (self.setup.clone(), self.events.clone());
        tokio::spawn(async move {
            let request = Request {
                name: &name,
                params: &params,
                resume,
                connection: connection.clone(),
                options: setup.options.clone(),
                profiles: setup.profiles.clone(),
                paths: &setup.paths,
            };
            let prepared = match launch::prepare(request).await {
                Ok(prepared) => prepared,
                Err(e) => {
                    let _ = events.send(RunnerEvent::Refused(e.to_string()));
                    return;
                }
            };
            let mut run = match prepared.begin(resume, &setup.paths) {
                Ok(run) => run,
                Err(e) => {
                    let _ = events.send(RunnerEvent::Refused(e.to_string()));
                    return;
                }
            };
            let _ = events.send(RunnerEvent::Started(run_start(&prepared.runbook, &prepared.namespace)));
            let (engine_events, mut reports) = mpsc::unbounded_channel();
            let forward = events.clone();
            tokio::spawn(async move {
                while let Some(event) = reports.recv().await {
                    if forward.send(RunnerEvent::Engine(event)).is_err() {
                        return;
                    }
                }
            });
            let mut io = Io {
                exec: ExecContext::new(&prepared.connection, setup.paths.audit_log()),
                views: prepared.views.clone(),
                runs_dir: setup.paths.runbook_state(),
                auto_confirm: false,
                events: engine_events,
                controls,
                related: prepared.related(&setup.paths),
            };
            let outcome = engine::execute(&mut io, &mut run).await;
            drop(io);
            let _ = events.send(RunnerEvent::Ended(outcome));
        });
    }
}

/// What the stepper needs to know of a runbook's steps.
fn run_start(runbook: &Runbook, namespace: &str) -> RunStart {
    let service = |s: &Step| s.action.service().or_else(|| s.gates.first().map(|g| g.service())).map(str::to_string);
    let rollback = |s: &Step| match &s.on_failure {
        OnFailure::Runbook(name) => Some(name.clone()),
        _ => None,
    };
    RunStart {
        runbook: runbook.name.clone(),
        namespace: namespace.to_string(),
        services: runbook.steps.iter().map(service).collect(),
        rollbacks: runbook.steps.iter().map(rollback).collect(),
        params: runbook.params.clone(),
    }
}

/// OSC 52: the terminal (the operator's, at the far end of SSH) puts `text` on its clipboard.
fn copy_to_clipboard(guard: &mut TerminalGuard, text: &str) -> std::io::Result<()> {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let backend = guard.terminal.backend_mut();
    write!(backend, "\x1b]52;c;{encoded}\x07")?;
    backend.flush()
}

/// Runs changes off the event loop and reports back; the audit entry is written by the
/// executor before the result reaches the screen.
struct Jobs {
    events: mpsc::UnboundedSender<JobEvent>,
    audit_log: PathBuf,
}

impl Jobs {
    fn spawn(&self, job: Job, connection: Connection) {
        let exec = ExecContext::new(&connection, self.audit_log.clone());
        let events = self.events.clone();
        tokio::spawn(async move {
            match job {
                Job::DryRun(plan) => {
                    let result = exec.dry_run_plan(&plan).await;
                    if let Err(e) = &result {
                        let _ = exec.record_plan(&plan, Some(dry_run_text(&result)), format!("refused: {e}"));
                    }
                    let _ = events.send(JobEvent::DryRun { plan, result: result.map_err(|e| e.to_string()) });
                }
                Job::Measure(servers) => {
                    let readings = futures::future::join_all(
                        servers
                            .into_iter()
                            .map(|(db, env)| async move { (db, crate::cluster::measure::read_server(&env).await) }),
                    )
                    .await;
                    let _ = events.send(JobEvent::Measured(readings));
                }
                Job::LoadAudit => {
                    let path = exec.audit_log.clone();
                    let read = tokio::task::spawn_blocking(move || crate::actions::audit::read(&path)).await;
                    let entries = read.map(|(entries, _bad)| entries).map_err(|e| e.to_string());
                    let _ = events.send(JobEvent::Audit(entries));
                }
                Job::RecordRefusal { action, target, outcome } => {
                    if let Err(e) = exec.record_refusal(&action, target, outcome) {
                        let _ = events.send(JobEvent::Failed(format!("the audit log could not be written: {e}")));
                    }
                }
                Job::Record { plan, dry_run, outcome } => {
                    if let Err(e) = exec.record_plan(&plan, dry_run, outcome) {
                        let result = Err(format!("the audit log could not be written: {e}"));
                        let _ = events.send(JobEvent::Applied { plan, result });
                    }
                }
                Job::Apply { plan, dry_run } => {
                    let applied = exec.apply_plan(&plan, &dry_run).await.map_err(|e| e.to_string());
                    let follow = applied.is_ok() && plan.rolls_pods();
                    let _ = events.send(JobEvent::Applied { plan: plan.clone(), result: applied });
                    if follow {
                        let result = exec
                            .follow_service(plan.service())
                            .await
                            .map(|end| end == RolloutEnd::Complete)
                            .map_err(|e| e.to_string());
                        let _ = events.send(JobEvent::Followed { plan, result });
                    }
                }
            }
        });
    }
}
