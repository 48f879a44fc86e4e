//! The service overview: one row per service, problems first, columns dropped by priority
//! when the terminal is narrow. Only the rows that fit are built. It is the bottom of the
//! screen stack: the keys no screen above takes (moving, filtering, sorting) act on it.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use crate::cluster::watch::{ResourceKind, WatchHealth};
use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::model::budget::{BudgetState, format_percent};
use crate::model::sanitize::clean;
use crate::model::service::{ProbeKind, RolloutState, Service, ServiceKey, Severity};
use crate::model::slo::GateState;
use crate::ui::chrome::statusline::{Connectivity, connectivity, missing_permissions};
use crate::ui::context::Context;
use crate::ui::context::{Handled, Request, Show};
use crate::ui::format::age;

/// Overview columns the operator can sort by, in the order `sort_next_column` cycles
/// (every column of the overview).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortColumn {
    Namespace,
    Service,
    Kind,
    Ready,
    UpToDate,
    Available,
    Hpa,
    Rollout,
    Probes,
    Pdb,
    Budget,
    Checks,
    Age,
}

impl SortColumn {
    const CYCLE: [SortColumn; 13] = [
        SortColumn::Service,
        SortColumn::Namespace,
        SortColumn::Kind,
        SortColumn::Ready,
        SortColumn::UpToDate,
        SortColumn::Available,
        SortColumn::Hpa,
        SortColumn::Rollout,
        SortColumn::Probes,
        SortColumn::Pdb,
        SortColumn::Budget,
        SortColumn::Checks,
        SortColumn::Age,
    ];

    pub fn next(self) -> SortColumn {
        let at = Self::CYCLE.iter().position(|c| *c == self).unwrap_or(0);
        Self::CYCLE[(at + 1) % Self::CYCLE.len()]
    }

    /// The header it sorts, as the overview prints it.
    pub fn header(self) -> &'static str {
        match self {
            SortColumn::Namespace => "NAMESPACE",
            SortColumn::Service => "SERVICE",
            SortColumn::Kind => "KIND",
            SortColumn::Ready => "READY",
            SortColumn::UpToDate => "UP-TO-DATE",
            SortColumn::Available => "AVAILABLE",
            SortColumn::Hpa => "HPA",
            SortColumn::Rollout => "ROLLOUT",
            SortColumn::Probes => "PROBES",
            SortColumn::Pdb => "PDB",
            SortColumn::Budget => "BUDGET",
            SortColumn::Checks => "CHECKS",
            SortColumn::Age => "AGE",
        }
    }
}

/// The overview's own state: which rows show, in which order, and which is selected.
#[derive(Debug)]
pub struct OverviewScreen {
    pub selected: usize,
    pub filter: String,
    pub sort: SortColumn,
    pub reverse: bool,
    pub problems_first: bool,
    /// Rows of the overview, in display order (filter and sort applied); rebuilt on change.
    pub rows: Vec<usize>,
    /// Once the operator has chosen a row, it stays selected as rows move; before that
    /// the top row (the worst problem) is selected.
    pub chose_row: bool,
}

impl OverviewScreen {
    pub fn new(ctx: &Context) -> OverviewScreen {
        let mut overview = OverviewScreen {
            selected: 0,
            filter: String::new(),
            sort: SortColumn::Service,
            reverse: false,
            problems_first: true,
            rows: Vec::new(),
            chose_row: false,
        };
        overview.refresh_rows(ctx);
        overview
    }

    /// The overview's commands, whatever screen is on top (`on_top`: it is itself shown).
    pub fn on_command(
        &mut self,
        command: Command,
        ctx: &mut Context,
        on_top: bool,
        out: &mut Vec<Request>,
        now: Timestamp,
    ) -> Handled {
        let page = page(crate::ui::layout::main_area(ctx, ctx.area, false)).max(1) as isize;
        match command {
            Command::MoveUp => self.move_by(-1),
            Command::MoveDown => self.move_by(1),
            Command::PageUp => self.move_by(-page),
            Command::PageDown => self.move_by(page),
            Command::GoTop => self.move_by(isize::MIN / 2),
            Command::GoBottom => self.move_by(isize::MAX / 2),
            Command::OpenDetail | Command::Confirm => {
                if let (true, Some(service)) = (on_top, self.selected_service(ctx)) {
                    let key = service.key.clone();
                    self.chose_row = true;
                    out.push(Request::Show(Show::Detail(key)));
                }
            }
            Command::Filter => out.push(Request::OpenFilter),
            Command::ClearFilter => self.set_filter(String::new(), ctx),
            Command::SortNextColumn => {
                self.sort = self.sort.next();
                self.refresh_rows(ctx);
                ctx.say(format!("sorted by {}", self.sort.header()), now);
            }
            Command::SortReverse => {
                self.reverse = !self.reverse;
                self.refresh_rows(ctx);
            }
            Command::ToggleProblemsFirst => {
                self.problems_first = !self.problems_first;
                self.refresh_rows(ctx);
                let state = if self.problems_first { "on" } else { "off" };
                ctx.say(format!("problems first: {state}"), now);
            }
            _ => return Handled::No,
        }
        Handled::Yes
    }

    pub fn selected_service<'a>(&self, ctx: &'a Context) -> Option<&'a Service> {
        self.rows.get(self.selected).map(|&i| &*ctx.view.services[i])
    }

    /// The filter typed (live) or restored; the rows follow it.
    pub fn set_filter(&mut self, filter: String, ctx: &Context) {
        self.filter = filter;
        self.refresh_rows(ctx);
    }

    /// A new cluster view arrived. Selection follows the selected service, not its row
    /// number, so rows moving under the cursor do not change what is selected.
    pub fn on_view(&mut self, selected: Option<ServiceKey>, ctx: &Context) {
        self.refresh_rows(ctx);
        if let Some(at) = selected.and_then(|key| self.rows.iter().position(|&i| ctx.view.services[i].key == key)) {
            self.selected = at;
        }
        self.clamp_selection();
    }

    /// The service to keep selected across a new view, once the operator chose one.
    pub fn chosen(&self, ctx: &Context) -> Option<ServiceKey> {
        self.selected_service(ctx).filter(|_| self.chose_row).map(|s| s.key.clone())
    }

    fn move_by(&mut self, delta: isize) {
        self.selected = self.selected.saturating_add_signed(delta);
        self.chose_row = true;
        self.clamp_selection();
    }

    fn clamp_selection(&mut self) {
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    /// Recomputes which services the overview shows and in which order.
    pub fn refresh_rows(&mut self, ctx: &Context) {
        let services = &ctx.view.services;
        let filter = self.filter.trim().to_lowercase();
        let mut rows: Vec<usize> = (0..services.len())
            .filter(|&i| {
                filter.is_empty() || {
                    let s = &services[i];
                    format!("{}/{}", s.key.namespace, s.key.name).to_lowercase().contains(&filter)
                }
            })
            .collect();
        let sort = self.sort;
        rows.sort_by(|&a, &b| {
            let (a, b) = (&services[a], &services[b]);
            let mut order = sort_key(sort, a).cmp(&sort_key(sort, b));
            if self.reverse {
                order = order.reverse();
            }
            let problems =
                if self.problems_first { b.severity().cmp(&a.severity()) } else { std::cmp::Ordering::Equal };
            problems.then(order).then_with(|| a.key.cmp(&b.key))
        });
        self.rows = rows;
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
        draw(self, ctx, frame, area, now);
    }
}

/// The value a column sorts by; text sorts alphabetically, numbers numerically.
fn sort_key(column: SortColumn, s: &Service) -> (i64, String) {
    let r = &s.replicas;
    let number = |n: i64| (n, String::new());
    match column {
        SortColumn::Service => (0, s.key.name.clone()),
        SortColumn::Namespace => (0, format!("{}/{}", s.key.namespace, s.key.name)),
        SortColumn::Kind => (0, s.key.kind.short().to_string()),
        // Relative to desired, so the services missing the most pods come first.
        SortColumn::Ready => number(i64::from(r.ready) - i64::from(r.desired)),
        SortColumn::UpToDate => number(i64::from(r.updated) - i64::from(r.desired)),
        SortColumn::Available => number(i64::from(r.available) - i64::from(r.desired)),
        SortColumn::Hpa => number(s.hpa.as_ref().map_or(-1, |h| i64::from(h.max))),
        SortColumn::Rollout => number(s.rollout.state as i64),
        SortColumn::Probes => number(s.probes.len() as i64),
        SortColumn::Pdb => number(s.pdb.as_ref().map_or(i64::MAX, |p| i64::from(p.disruptions_allowed))),
        // The fullest database first (tenths of a percent; no database last).
        SortColumn::Budget => number(s.budget.as_ref().map_or(1, |b| -(b.percent * 10.0) as i64)),
        // The most failed checks first.
        SortColumn::Checks => number(-(s.lint_findings().len() as i64)),
        SortColumn::Age => number(-s.created.map_or(0, |t| t.as_second())),
    }
}

/// A column: header, width, and how important it is (0 is kept longest).
struct Column {
    header: &'static str,
    width: u16,
    priority: u8,
}

const COLUMNS: [Column; 14] = [
    Column { header: "NAMESPACE", width: 14, priority: 4 },
    Column { header: "SERVICE", width: 24, priority: 0 },
    Column { header: "KIND", width: 6, priority: 6 },
    Column { header: "READY", width: 7, priority: 0 },
    Column { header: "UP-TO-DATE", width: 10, priority: 3 },
    Column { header: "AVAILABLE", width: 9, priority: 3 },
    Column { header: "HPA", width: 9, priority: 2 },
    Column { header: "ROLLOUT", width: 11, priority: 1 },
    Column { header: "PROBES", width: 6, priority: 1 },
    Column { header: "PDB", width: 9, priority: 1 },
    Column { header: "BUDGET", width: 7, priority: 3 },
    Column { header: "SLO", width: 5, priority: 3 },
    Column { header: "CHECKS", width: 6, priority: 4 },
    Column { header: "AGE", width: 6, priority: 5 },
];

/// Which columns fit in `width`: drop the least important until they do. The namespace
/// column is pointless when one namespace is shown.
fn visible_columns(width: u16, one_namespace: bool) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..COLUMNS.len()).filter(|&i| !(one_namespace && i == 0)).collect();
    let total = |shown: &[usize]| shown.iter().map(|&i| COLUMNS[i].width + 1).sum::<u16>();
    while total(&shown) > width {
        let Some(drop) =
            shown.iter().copied().filter(|&i| COLUMNS[i].priority > 0).max_by_key(|&i| (COLUMNS[i].priority, i))
        else {
            break;
        };
        shown.retain(|&i| i != drop);
    }
    shown
}

/// The table's frame: a rule on top that carries the title.
fn table_block<'a>() -> Block<'a> {
    Block::default().borders(Borders::TOP)
}

/// Rows of services one page shows in `area` (the table's body, under its header).
pub fn page(area: Rect) -> usize {
    body_height(table_block().inner(area))
}

fn body_height(inner: Rect) -> usize {
    inner.height.saturating_sub(1) as usize
}

fn draw(overview: &OverviewScreen, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
    let theme = &ctx.theme;
    let view = ctx.view.clone();
    let health = connectivity(&view, now);
    let title = title(overview, ctx, &health);
    let block = table_block().title(title).border_style(theme.style("ui.border"));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let columns = visible_columns(inner.width, view.namespace.is_some());
    let body_height = body_height(inner);
    if overview.rows.is_empty() {
        let text = empty_text(overview, ctx, &health);
        frame.render_widget(Line::from(Span::styled(text, theme.style("ui.text.dim"))), inner);
        return;
    }
    let offset = overview.selected.saturating_sub(body_height.saturating_sub(1));
    let pdb_access =
        !matches!(view.health.get(&ResourceKind::PodDisruptionBudgets), Some(WatchHealth::NoAccess { .. }));
    let hpa_access =
        !matches!(view.health.get(&ResourceKind::HorizontalPodAutoscalers), Some(WatchHealth::NoAccess { .. }));
    let stale = matches!(health, Connectivity::Stale { .. });
    // Only services with rules have a gate state (followed in a pane or in the background,
    // up to a cap): no stream, no verdict.
    let gates = ctx.slo_gates(now);
    // Across namespaces, a name alone is ambiguous once the NAMESPACE column is gone.
    let qualify = view.namespace.is_none() && !columns.contains(&0);
    let context = CellContext { now, pdb_access, hpa_access, qualify };
    let rows: Vec<Row> = overview.rows[offset..]
        .iter()
        .take(body_height)
        .enumerate()
        .map(|(n, &i)| {
            let service = &view.services[i];
            let slo = gates.get(&service.key).copied();
            let cells = columns.iter().map(|&c| cell(theme, c, service, &context, slo));
            let mut style = row_style(theme, service, stale);
            if offset + n == overview.selected {
                style = style.patch(theme.style("ui.selection"));
            }
            Row::new(cells).style(style)
        })
        .collect();
    let header =
        Row::new(columns.iter().map(|&c| sort_marker(overview, COLUMNS[c].header))).style(theme.style("ui.header"));
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|&c| if c == 1 { Constraint::Min(COLUMNS[c].width) } else { Constraint::Length(COLUMNS[c].width) })
        .collect();
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), inner);
}

fn title<'a>(overview: &OverviewScreen, ctx: &Context, health: &Connectivity) -> Line<'a> {
    let theme = &ctx.theme;
    let view = &ctx.view;
    let problems = view.services.iter().filter(|s| s.severity() >= Some(Severity::Warning)).count();
    let mut spans = vec![Span::styled(format!(" Services {} ", overview.rows.len()), theme.style("ui.title"))];
    if problems > 0 {
        spans.push(Span::styled(format!("· {problems} with problems "), theme.style("state.warn")));
    }
    if !overview.filter.is_empty() {
        spans.push(Span::styled(format!("· filter \"{}\" ", clean(&overview.filter)), theme.style("ui.match")));
    }
    if let Connectivity::Stale { .. } | Connectivity::Reconnecting { .. } = health {
        spans.push(Span::styled(format!("· {} ", health.label()), theme.style("state.stale")));
    }
    Line::from(spans)
}

fn empty_text(overview: &OverviewScreen, ctx: &Context, health: &Connectivity) -> String {
    if ctx.awaiting.is_some() || matches!(health, Connectivity::Syncing) {
        "Loading services…".into()
    } else if !overview.filter.is_empty() {
        format!("No service matches \"{}\" (backspace clears the filter)", clean(&overview.filter))
    } else if missing_permissions(&ctx.view).iter().any(|p| p.contains("deployments")) {
        "No access to deployments here: try another namespace".into()
    } else {
        "No Deployments or StatefulSets in this scope".into()
    }
}

fn sort_marker(overview: &OverviewScreen, header: &'static str) -> String {
    if overview.sort.header() == header {
        format!("{header}{}", if overview.reverse { "▲" } else { "▼" })
    } else {
        header.to_string()
    }
}

fn row_style(theme: &Theme, service: &Service, stale: bool) -> Style {
    if stale {
        return theme.style("state.stale");
    }
    match service.severity() {
        Some(Severity::Error) => theme.style("state.error"),
        Some(Severity::Warning) => theme.style("state.warn"),
        _ => theme.style("ui.text"),
    }
}

/// What every row's cells share.
struct CellContext {
    now: Timestamp,
    pdb_access: bool,
    hpa_access: bool,
    /// Show `namespace/name` (the NAMESPACE column is gone but several namespaces are shown).
    qualify: bool,
}

fn cell<'a>(theme: &Theme, column: usize, s: &Service, ctx: &CellContext, slo: Option<GateState>) -> Cell<'a> {
    let (now, pdb_access, hpa_access, qualify) = (ctx.now, ctx.pdb_access, ctx.hpa_access, ctx.qualify);
    let r = &s.replicas;
    match COLUMNS[column].header {
        "NAMESPACE" => Cell::from(clean(&s.key.namespace)),
        "SERVICE" if qualify => Cell::from(clean(&format!("{}/{}", s.key.namespace, s.key.name))),
        "SERVICE" => Cell::from(clean(&s.key.name)),
        "KIND" => Cell::from(s.key.kind.short()),
        "READY" => Cell::from(format!("{}/{}", r.ready, r.desired)),
        "UP-TO-DATE" => Cell::from(r.updated.to_string()),
        "AVAILABLE" => Cell::from(r.available.to_string()),
        "HPA" => Cell::from(match &s.hpa {
            _ if !hpa_access => "no access".to_string(),
            Some(h) => format!("{}-{}", h.min, h.max),
            None => "-".to_string(),
        }),
        "ROLLOUT" => rollout_cell(theme, s),
        "PROBES" => probes_cell(theme, s),
        "PDB" => Cell::from(match &s.pdb {
            _ if !pdb_access => "no access".to_string(),
            Some(p) => format!("{}/{}", p.disruptions_allowed, p.current_healthy),
            None => "-".to_string(),
        }),
        "BUDGET" => budget_cell(theme, s),
        "CHECKS" => checks_cell(theme, s),
        "SLO" => match slo {
            Some(state) => {
                let text = match state {
                    GateState::Pass => "pass",
                    GateState::Warn => "warn",
                    GateState::Fail => "FAIL",
                };
                Cell::from(Span::styled(text, super::logs::gate_style(theme, state)))
            }
            None => Cell::from(Span::styled("-", theme.style("ui.text.dim"))),
        },
        "AGE" => Cell::from(age(s.created, now)),
        _ => Cell::from(""),
    }
}

fn rollout_cell<'a>(theme: &Theme, s: &Service) -> Cell<'a> {
    let r = &s.replicas;
    let (text, key) = match s.rollout.state {
        RolloutState::Complete => ("complete".to_string(), "state.ok"),
        RolloutState::Progressing => (format!("{} of {}", r.updated, r.desired), "state.info"),
        RolloutState::Stalled => ("stalled".to_string(), "state.error"),
        RolloutState::Paused => ("paused".to_string(), "state.warn"),
    };
    Cell::from(Span::styled(text, theme.style(key)))
}

/// How many preflight checks the manifest fails, coloured by the worst (`-` for none).
fn checks_cell<'a>(theme: &Theme, s: &Service) -> Cell<'a> {
    let found = s.lint_findings();
    match found.first() {
        None => Cell::from(Span::styled("-", theme.style("ui.text.dim"))),
        Some(worst) => {
            Cell::from(Span::styled(found.len().to_string(), super::findings::severity_style(theme, worst.severity)))
        }
    }
}

/// The service's database's use, coloured by its state; `-` when it uses none.
fn budget_cell<'a>(theme: &Theme, s: &Service) -> Cell<'a> {
    let Some(b) = &s.budget else { return Cell::from(Span::styled("-", theme.style("ui.text.dim"))) };
    let key = match b.state {
        BudgetState::Ok => "state.ok",
        BudgetState::Warn => "state.warn",
        BudgetState::Over => "state.error",
    };
    Cell::from(Span::styled(format_percent(b.percent).replace(' ', ""), theme.style(key)))
}

/// `S R L`: which probes exist, coloured by how the pods are doing; `-` for a missing one.
fn probes_cell<'a>(theme: &Theme, s: &Service) -> Cell<'a> {
    let live = if s.pods_summary.total == 0 || s.pods_summary.ready == s.pods_summary.total {
        "state.ok"
    } else if s.pods_summary.ready == 0 {
        "state.error"
    } else {
        "state.warn"
    };
    let spans: Vec<Span> = [(ProbeKind::Startup, "S"), (ProbeKind::Readiness, "R"), (ProbeKind::Liveness, "L")]
        .into_iter()
        .map(|(kind, letter)| {
            if s.probes.iter().any(|p| p.probe == kind) {
                Span::styled(letter, theme.style(live))
            } else {
                Span::styled("-", theme.style("ui.text.dim"))
            }
        })
        .collect();
    Cell::from(Line::from(spans))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_drop_the_least_important_columns_first() {
        let all = visible_columns(200, false);
        assert_eq!(all.len(), COLUMNS.len());
        let at80 = visible_columns(80, false);
        let headers: Vec<&str> = at80.iter().map(|&i| COLUMNS[i].header).collect();
        for essential in ["SERVICE", "READY", "ROLLOUT", "PROBES", "PDB"] {
            assert!(headers.contains(&essential), "{essential} kept at 80 columns: {headers:?}");
        }
        assert!(!headers.contains(&"KIND"), "KIND goes first: {headers:?}");
        let width: u16 = at80.iter().map(|&i| COLUMNS[i].width + 1).sum();
        assert!(width <= 80);
        assert!(!visible_columns(200, true).contains(&0), "one namespace: no NAMESPACE column");
    }
}
