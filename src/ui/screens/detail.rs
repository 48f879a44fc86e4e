//! The service detail: everything about one service as scrollable sections — pods, probes
//! with their grace budgets, PDB arithmetic, HPA, events, revisions, the Helm release and
//! its history, environment (values from Secrets are never fetched, only named).

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::cluster::watch::{ResourceKind, WatchHealth};
use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::model::budget::{DatabaseBudget, budget_of};
use crate::model::drift::Difference;
use crate::model::sanitize::clean;
use crate::model::service::{EnvValue, EventRow, PodRow, ProbeSummary, Service, ServiceKey, Severity};
use crate::ui::context::{Context, Handled};
use crate::ui::format::age;

/// Lines of the detail one page shows in `area` (under the title rule).
pub fn page(area: Rect) -> usize {
    area.height.saturating_sub(1) as usize
}

/// One service's detail, scrolled.
#[derive(Debug)]
pub struct DetailScreen {
    pub key: ServiceKey,
    pub scroll: usize,
}

impl DetailScreen {
    /// Scrolling; the detail stops where its last line reaches the bottom, so scrolling
    /// back up moves at once.
    pub fn on_command(&mut self, command: Command, ctx: &Context, area: Rect, now: Timestamp) -> Handled {
        let end = self.max_scroll(ctx, area, now);
        let Some(scroll) = super::scrolled(self.scroll.min(end), command, page(area)) else { return Handled::No };
        self.scroll = scroll.min(end);
        Handled::Yes
    }

    /// How far the detail scrolls before its last line reaches the bottom of `area`.
    fn max_scroll(&self, ctx: &Context, area: Rect, now: Timestamp) -> usize {
        let Some(service) = ctx.service(&self.key) else { return 0 };
        lines(&ctx.theme, service, &context(ctx, service, now)).len().saturating_sub(page(area))
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
        draw(self, ctx, frame, area, now);
    }
}

/// The connection budget of `service`'s database, judged on its last reading.
pub(super) fn measured_budget(ctx: &Context, service: &Service) -> Option<DatabaseBudget> {
    budget_of(&ctx.view.budgets, &service.key).map(|b| ctx.measured_budget(b))
}

/// What the sections of `service` need from the ctx.
fn context<'a>(ctx: &'a Context, service: &Service, now: Timestamp) -> Sections<'a> {
    let helm_denied = match ctx.view.health.get(&ResourceKind::HelmReleases) {
        Some(WatchHealth::NoAccess { permission }) => Some(permission.as_str()),
        _ => None,
    };
    let drift = ctx.view.fleet.as_deref().and_then(|f| Some((f.drift_clusters.as_slice(), f.drift_of(service)?)));
    Sections { budget: measured_budget(ctx, service), helm_denied, now, drift }
}

fn draw(state: &DetailScreen, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
    let theme = &ctx.theme;
    let block = Block::default().borders(Borders::TOP).border_style(theme.style("ui.border"));
    let Some(service) = ctx.service(&state.key) else {
        let gone = format!(" {}/{} is gone from the cluster (esc goes back) ", state.key.namespace, state.key.name);
        let block = block.title(Span::styled(clean(&gone), theme.style("state.warn")));
        frame.render_widget(block, area);
        return;
    };
    let title = match &service.key.cluster {
        Some(cluster) => {
            format!(" {} {}/{} in {cluster} ", service.key.kind.short(), service.key.namespace, service.key.name)
        }
        None => format!(" {} {}/{} ", service.key.kind.short(), service.key.namespace, service.key.name),
    };
    let block = block.title(Span::styled(clean(&title), theme.style("ui.title")));
    let lines = lines(theme, service, &context(ctx, service, now));
    let max_scroll = lines.len().saturating_sub(page(area));
    let scroll = state.scroll.min(max_scroll);
    let paragraph = Paragraph::new(lines).block(block).scroll((scroll as u16, 0));
    frame.render_widget(paragraph, area);
}

/// What the sections need besides the service.
struct Sections<'a> {
    budget: Option<DatabaseBudget>,
    /// The permission that hides the Helm release history, if one does.
    helm_denied: Option<&'a str>,
    now: Timestamp,
    /// In a fleet, when the service differs between clusters: the clusters (columns) and
    /// what differs.
    drift: Option<(&'a [String], &'a [Difference])>,
}

fn lines(theme: &Theme, s: &Service, context: &Sections<'_>) -> Vec<Line<'static>> {
    let (budget, now) = (context.budget.as_ref(), context.now);
    let mut out = Vec::new();
    summary(theme, s, &mut out);
    if let Some((clusters, differences)) = context.drift {
        drift(theme, clusters, differences, &mut out);
    }
    findings(theme, s, &mut out);
    preflight(theme, s, &mut out);
    pods(theme, s, now, &mut out);
    probes(theme, s, &mut out);
    pdb(theme, s, &mut out);
    hpa(theme, s, &mut out);
    if let Some(budget) = budget {
        heading(theme, "CONNECTION BUDGET", &mut out);
        super::budget::database_lines(theme, budget, 60, &mut out);
    }
    events(theme, s, now, &mut out);
    revisions(theme, s, now, &mut out);
    helm(theme, s, context, &mut out);
    env(theme, s, &mut out);
    out
}

/// The service side by side across the clusters of a fleet: one column per cluster,
/// one row per thing that differs (env var names only, never their values).
fn drift<'a>(theme: &Theme, clusters: &[String], differences: &[Difference], out: &mut Vec<Line<'a>>) {
    heading(theme, "DIFFERS ACROSS CLUSTERS", out);
    let mut rows: Vec<Vec<String>> =
        vec![std::iter::once("FIELD".to_string()).chain(clusters.iter().cloned()).collect()];
    rows.extend(differences.iter().map(|d| std::iter::once(d.field.clone()).chain(d.values.iter().cloned()).collect()));
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r.get(c).map_or(0, |v| v.chars().count())).max().unwrap_or(0).min(40))
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let style = if i == 0 { theme.style("ui.text.dim") } else { theme.style("state.warn") };
        out.push(text(style, clean(&row(r, &widths))));
    }
}

pub(super) fn heading<'a>(theme: &Theme, text: &str, out: &mut Vec<Line<'a>>) {
    out.push(Line::default());
    out.push(Line::from(Span::styled(text.to_string(), theme.style("ui.header"))));
}

pub(super) fn text<'a>(style: Style, text: String) -> Line<'a> {
    Line::from(Span::styled(text, style))
}

/// Columns padded to `widths` (the last one takes the rest).
pub(super) fn row(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let width = widths.get(i).copied().unwrap_or(0);
        if i + 1 == cells.len() {
            line.push_str(cell);
        } else {
            let cut: String = cell.chars().take(width).collect();
            line.push_str(&format!("{cut:<width$} "));
        }
    }
    line
}

pub(super) fn summary<'a>(theme: &Theme, s: &Service, out: &mut Vec<Line<'a>>) {
    let r = &s.replicas;
    let plain = theme.style("ui.text");
    out.push(text(
        plain,
        format!(
            "replicas  desired {}  ready {}  up-to-date {}  available {}",
            r.desired, r.ready, r.updated, r.available
        ),
    ));
    let revision = s.rollout.revision.map_or(String::new(), |n| format!(" (revision {n})"));
    out.push(text(plain, format!("rollout   {}{revision}  {}", s.rollout.state.as_str(), clean(&s.rollout.message))));
    let mut flags = Vec::new();
    if let Some(why) = &s.flags.singleton {
        flags.push(format!("singleton ({})", clean(why)));
    }
    if let Some(tool) = &s.flags.gitops {
        flags.push(format!("managed by {}", clean(tool)));
    }
    if let Some(volume) = &s.flags.rwo_volume {
        flags.push(format!("RWO volume {}", clean(volume)));
    }
    if !flags.is_empty() {
        out.push(text(theme.style("state.info"), format!("flags     {}", flags.join(" · "))));
    }
    gitops(theme, s, out);
}

/// The GitOps owner, its state, and what was changed behind its back.
fn gitops<'a>(theme: &Theme, s: &Service, out: &mut Vec<Line<'a>>) {
    use crate::model::gitops::OwnerState;
    let Some(g) = &s.gitops else { return };
    let state = g.state();
    let key = match state {
        OwnerState::Ready => "state.ok",
        OwnerState::NotReady(_) => "state.error",
        OwnerState::Suspended => "state.warn",
        OwnerState::Unknown => "ui.text.dim",
    };
    let mut parts = vec![g.describe(), state.badge()];
    if let Some(owner) = &g.state {
        parts.extend(owner.revision.as_ref().map(|r| format!("revision {r}")));
        parts.extend(owner.interval.as_ref().map(|i| format!("every {i}")));
    }
    out.push(text(theme.style(key), clean(&format!("gitops    {}", parts.join(" · ")))));
    if let Some(source) = &g.source {
        let key = match source.found().map(|s| s.not_ready()) {
            Some(None) => "state.ok",
            Some(Some(_)) => "state.error",
            None => "ui.text.dim",
        };
        out.push(text(theme.style(key), clean(&format!("  {}", source.describe()))));
    }
    for d in &g.drift {
        out.push(text(
            theme.style("state.warn"),
            clean(&format!("  drift   {}: the next reconcile sets it back", d.describe())),
        ));
    }
}

/// The guidelines the manifest breaks, each with its fix (the `lint` view of one service).
fn preflight<'a>(theme: &Theme, s: &Service, out: &mut Vec<Line<'a>>) {
    if s.preflight.is_empty() {
        return;
    }
    heading(theme, "PREFLIGHT CHECKS", out);
    for f in &s.preflight {
        out.push(text(
            super::findings::severity_style(theme, f.severity),
            format!("{:<7} {}: {}", crate::report::lint::severity_name(f.severity), f.id, clean(&f.message)),
        ));
        if let Some(c) = crate::model::lint::check(f.id) {
            out.push(text(theme.style("ui.text.dim"), format!("        fix: {}", c.fix)));
        }
    }
}

pub(super) fn findings<'a>(theme: &Theme, s: &Service, out: &mut Vec<Line<'a>>) {
    if s.findings.is_empty() {
        return;
    }
    heading(theme, "FINDINGS", out);
    for f in &s.findings {
        let key = match f.severity {
            Severity::Error => "state.error",
            Severity::Warning => "state.warn",
            Severity::Info => "state.info",
        };
        out.push(text(
            theme.style(key),
            format!("{:<7} {}", format!("{:?}", f.severity).to_lowercase(), clean(&f.message)),
        ));
    }
}

fn pods<'a>(theme: &Theme, s: &Service, now: Timestamp, out: &mut Vec<Line<'a>>) {
    heading(theme, &pods_heading(s), out);
    let widths = [26, 10, 5, 8, 6, 12, 5];
    out.push(text(
        theme.style("ui.text.dim"),
        row(&strings(&["NAME", "PHASE", "READY", "RESTARTS", "AGE", "NODE", "FLAPS"]), &widths),
    ));
    for p in &s.pods {
        let style = pod_style(theme, p);
        out.push(text(style, row(&pod_cells(p, now), &widths)));
    }
}

/// A pod as its row shows it: an unready one warns, a flapping one informs.
pub(super) fn pod_style(theme: &Theme, p: &PodRow) -> Style {
    if !p.ready {
        theme.style("state.warn")
    } else if p.flaps > 0 {
        theme.style("state.info")
    } else {
        theme.style("ui.text")
    }
}

/// A pod's cells: name, phase (or why not running), containers ready, restarts, age, node, flaps.
pub(super) fn pod_cells(p: &PodRow, now: Timestamp) -> [String; 7] {
    let phase = p.reason.clone().unwrap_or_else(|| p.phase.clone());
    [
        clean(&p.name),
        clean(&phase),
        format!("{}/{}", p.containers_ready.0, p.containers_ready.1),
        p.restarts.to_string(),
        age(p.created, now),
        p.node.as_deref().map_or("-".into(), clean),
        p.flaps.to_string(),
    ]
}

/// The PODS heading: how many are ready.
pub(super) fn pods_heading(s: &Service) -> String {
    format!("PODS {}/{} ready", s.pods_summary.ready, s.pods_summary.total)
}

/// A probe's cells: container, kind, handler, delay, period, timeout, failures, grace.
pub(super) fn probe_cells(p: &ProbeSummary) -> [String; 8] {
    [
        clean(&p.container),
        format!("{:?}", p.probe).to_lowercase(),
        clean(&p.handler),
        format!("{}s", p.initial_delay_s),
        format!("{}s", p.period_s),
        format!("{}s", p.timeout_s),
        p.failure_threshold.to_string(),
        format!("{}s", p.grace_s),
    ]
}

/// What is said when a service has no probe at all.
pub(super) const NO_PROBES: &str = "no probes: Kubernetes sends traffic as soon as the process starts";

/// An event's cells: age, reason, object, message (with its count).
pub(super) fn event_cells(e: &EventRow, now: Timestamp) -> [String; 4] {
    let count = if e.count > 1 { format!(" (x{})", e.count) } else { String::new() };
    [age(e.last_seen, now), clean(&e.reason), clean(&e.object), format!("{}{count}", clean(&e.message))]
}

/// An event's style: warnings warn.
pub(super) fn event_style(theme: &Theme, e: &EventRow) -> Style {
    if e.warning { theme.style("state.warn") } else { theme.style("ui.text") }
}

fn probes<'a>(theme: &Theme, s: &Service, out: &mut Vec<Line<'a>>) {
    heading(theme, "PROBES", out);
    if s.probes.is_empty() {
        out.push(text(theme.style("state.warn"), NO_PROBES.into()));
        return;
    }
    let widths = [14, 9, 28, 6, 6, 7, 5, 6];
    let header = ["CONTAINER", "PROBE", "HANDLER", "DELAY", "PERIOD", "TIMEOUT", "FAIL", "GRACE"];
    out.push(text(theme.style("ui.text.dim"), row(&strings(&header), &widths)));
    for p in &s.probes {
        out.push(text(theme.style("ui.text"), row(&probe_cells(p), &widths)));
    }
}

pub(super) fn pdb<'a>(theme: &Theme, s: &Service, out: &mut Vec<Line<'a>>) {
    heading(theme, "DISRUPTION BUDGET", out);
    match &s.pdb {
        None => out.push(text(theme.style("ui.text.dim"), "no PodDisruptionBudget selects these pods".into())),
        Some(p) => {
            let style = if p.disruptions_allowed == 0 { theme.style("state.warn") } else { theme.style("ui.text") };
            out.push(text(theme.style("ui.text"), clean(&p.name)));
            out.push(text(style, clean(&p.explanation)));
            out.push(text(
                theme.style("ui.text.dim"),
                format!(
                    "healthy {} of {} expected, {} desired healthy, {} disruption(s) allowed",
                    p.current_healthy, p.expected_pods, p.desired_healthy, p.disruptions_allowed
                ),
            ));
        }
    }
}

fn hpa<'a>(theme: &Theme, s: &Service, out: &mut Vec<Line<'a>>) {
    let Some(h) = &s.hpa else { return };
    heading(theme, "AUTOSCALER", out);
    out.push(text(
        theme.style("ui.text"),
        format!("{}: min {} max {} current {} desired {}", clean(&h.name), h.min, h.max, h.current, h.desired),
    ));
    if !h.targets.is_empty() {
        out.push(text(theme.style("ui.text.dim"), format!("targets: {}", clean(&h.targets.join(", ")))));
    }
}

fn events<'a>(theme: &Theme, s: &Service, now: Timestamp, out: &mut Vec<Line<'a>>) {
    heading(theme, "EVENTS", out);
    if s.events.is_empty() {
        out.push(text(theme.style("ui.text.dim"), "no recent events".into()));
    }
    for e in &s.events {
        let [age, reason, object, message] = event_cells(e, now);
        out.push(text(event_style(theme, e), format!("{age:>6} {reason:<16} {object:<28} {message}")));
    }
}

fn revisions<'a>(theme: &Theme, s: &Service, now: Timestamp, out: &mut Vec<Line<'a>>) {
    if s.revisions.is_empty() {
        return;
    }
    heading(theme, "REVISIONS", out);
    let widths = [8, 8, 6, 40];
    out.push(text(
        theme.style("ui.text.dim"),
        row(&strings(&["REVISION", "REPLICAS", "AGE", "IMAGES", "CHANGE-CAUSE"]), &widths),
    ));
    for r in &s.revisions {
        let style = if r.current { theme.style("state.ok") } else { theme.style("ui.text") };
        let cells = [
            format!("{}{}", r.revision, if r.current { "*" } else { "" }),
            r.replicas.to_string(),
            age(r.created, now),
            clean(&r.images().join(",")),
            r.change_cause.as_deref().map_or("-".into(), clean),
        ];
        out.push(text(style, row(&cells, &widths)));
    }
}

/// The Helm release, its history from the release Secrets' metadata, and the rollback
/// command for the newest revision that is not deployed (`r h` chooses another).
fn helm<'a>(theme: &Theme, s: &Service, context: &Sections<'_>, out: &mut Vec<Line<'a>>) {
    let Some(release) = &s.helm else { return };
    heading(theme, &format!("HELM RELEASE {} (ns {})", clean(&release.name), clean(&release.namespace)), out);
    let chart = [
        release.chart.as_deref().map(|c| format!("chart {}", clean(c))),
        release.app_version.as_deref().map(|v| format!("app version {}", clean(v))),
    ];
    let chart: Vec<String> = chart.into_iter().flatten().collect();
    if !chart.is_empty() {
        out.push(text(
            theme.style("ui.text"),
            format!("{} (from the workload's labels: the running revision)", chart.join(" · ")),
        ));
    }
    let Some(history) = &release.history else {
        let why = context.helm_denied.map_or("not listed yet".to_string(), |p| format!("no access: {}", clean(p)));
        out.push(text(theme.style("state.warn"), format!("release history unknown: {why}")));
        return;
    };
    let widths = [8, 16, 8];
    out.push(text(theme.style("ui.text.dim"), row(&strings(&["REVISION", "STATUS", "UPDATED", "CREATED"]), &widths)));
    for r in history {
        let deployed = r.status == "deployed";
        let style = match r.status.as_str() {
            "deployed" => theme.style("state.ok"),
            "failed" => theme.style("state.error"),
            _ => theme.style("ui.text"),
        };
        let cells = [
            format!("{}{}", r.revision, if deployed { "*" } else { "" }),
            clean(&r.status),
            age(r.modified.or(r.created), context.now),
            age(r.created, context.now),
        ];
        out.push(text(style, row(&cells, &widths)));
    }
    out.push(text(
        theme.style("ui.text.dim"),
        "chart and app version of each revision are in its release Secret, which the cockpit never reads".into(),
    ));
    if let Some(previous) = release.rollback_candidate() {
        out.push(text(
            theme.style("ui.text"),
            format!(
                "rollback: {}   (r h chooses a revision; Ctrl-y there copies it)",
                clean(&release.rollback_command(previous.revision))
            ),
        ));
    }
}

fn env<'a>(theme: &Theme, s: &Service, out: &mut Vec<Line<'a>>) {
    if s.env.is_empty() {
        return;
    }
    heading(theme, "ENVIRONMENT", out);
    for e in &s.env {
        let (value, style) = match &e.value {
            EnvValue::Literal(v) => (clean(v), theme.style("ui.text")),
            EnvValue::FromSecret { secret, key } => {
                (format!("<redacted: secret {}/{}>", clean(secret), clean(key)), theme.style("ui.text.dim"))
            }
            EnvValue::FromConfigMap { config_map, key } => {
                (format!("<configmap {}/{}>", clean(config_map), clean(key)), theme.style("ui.text.dim"))
            }
            EnvValue::FromField(f) => (format!("<field {}>", clean(f)), theme.style("ui.text.dim")),
            EnvValue::FromResource(r) => (format!("<resource {}>", clean(r)), theme.style("ui.text.dim")),
        };
        out.push(text(style, format!("{:<14} {}={value}", clean(&e.container), clean(&e.name))));
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
