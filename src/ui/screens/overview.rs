//! The service overview: one row per service, problems first. Columns are dropped by
//! priority and sized from the rows in view, so what only the cockpit knows stays on an
//! 80x24 bastion terminal; a wide terminal adds the selected service's essentials beside
//! the list, a tall one the scope's live problems below it. Only the rows that fit are
//! built. It is the bottom of the screen stack: the keys no screen above takes (moving,
//! filtering, sorting) act on it.

mod columns;
mod panel;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

use crate::cluster::session::ClusterView;
use crate::cluster::watch::{ResourceKind, WatchHealth};
use crate::config::commands::Command;
use crate::config::theme::Theme;
use crate::model::sanitize::clean;
use crate::model::service::{Service, ServiceKey, Severity};
use crate::model::slo::GateState;
use crate::ui::chrome::statusline::{Connectivity, connectivity, member_connectivity, missing_permissions};
use crate::ui::context::Context;
use crate::ui::context::{Handled, Request, Show};
pub use columns::Col;
use columns::{CellContext, Placed, cell, cut_line, fit};

/// The overview's own state: which rows show, in which order, and which is selected.
#[derive(Debug)]
pub struct OverviewScreen {
    pub selected: usize,
    pub filter: String,
    pub sort: Col,
    pub reverse: bool,
    pub problems_first: bool,
    /// Rows of the overview, in display order (filter and sort applied); rebuilt on change.
    pub rows: Vec<usize>,
    /// Once the operator has chosen a row, it stays selected as rows move; before that
    /// the top row (the worst problem) is selected.
    pub chose_row: bool,
    /// Across namespaces, namespaces as group headers instead of a column.
    pub grouped: bool,
    /// Positions in `rows` of the services with problems (warnings or errors), top to
    /// bottom: the title counts them, `]`/`[` visit them, the problems strip lists them.
    /// Found when the rows are rebuilt, so no frame walks every service.
    pub problems: Vec<usize>,
    /// Per namespace shown: its services and how many have problems (the group headers).
    pub groups: BTreeMap<String, (usize, usize)>,
    /// What the rows were last ordered with besides the services and the operator's
    /// choices: the SLO gates and whether namespaces are grouped. `None`: order anew.
    ordered_with: Option<(BTreeMap<ServiceKey, GateState>, bool)>,
}

impl OverviewScreen {
    pub fn new(ctx: &Context) -> OverviewScreen {
        let mut overview = OverviewScreen {
            selected: 0,
            filter: String::new(),
            sort: Col::Service,
            reverse: false,
            problems_first: true,
            rows: Vec::new(),
            chose_row: false,
            grouped: false,
            problems: Vec::new(),
            groups: BTreeMap::new(),
            ordered_with: None,
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
        let main = crate::ui::layout::main_area(ctx, ctx.area, false);
        let page = page(self.regions(ctx.area, main).list).max(1) as isize;
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
                self.sort = self.sort.next_sort();
                self.reorder(ctx);
                // The column in focus says what it means (the legend's line for it).
                ctx.say(format!("sorted by {}: {}", self.sort.header(), self.sort.meaning()), now);
            }
            Command::SortReverse => {
                self.reverse = !self.reverse;
                self.reorder(ctx);
            }
            Command::ToggleProblemsFirst => {
                self.problems_first = !self.problems_first;
                self.reorder(ctx);
                let state = if self.problems_first { "on" } else { "off" };
                ctx.say(format!("problems first: {state}"), now);
            }
            Command::NextProblem => self.go_to_problem(true, ctx, now),
            Command::PrevProblem => self.go_to_problem(false, ctx, now),
            Command::ToggleNamespaceGroups => {
                if ctx.view.namespace.is_some() {
                    ctx.say("one namespace is shown: nothing to group (space n: all namespaces)", now);
                } else {
                    self.grouped = !self.grouped;
                    self.reorder(ctx);
                    let state = if self.grouped { "group headers" } else { "a column" };
                    ctx.say(format!("namespaces as {state}"), now);
                }
            }
            Command::JumpToNamespace => out.push(Request::OpenNamespaceJump),
            _ => return Handled::No,
        }
        Handled::Yes
    }

    pub fn selected_service<'a>(&self, ctx: &'a Context) -> Option<&'a Service> {
        self.rows.get(self.selected).map(|&i| service_at(ctx, i))
    }

    /// The filter typed (live) or restored; the rows follow it.
    pub fn set_filter(&mut self, filter: String, ctx: &Context) {
        self.filter = filter;
        self.refresh_rows(ctx);
    }

    /// A new cluster view arrived. Selection follows the selected service, not its row
    /// number, so rows moving under the cursor do not change what is selected.
    /// A new view, whose services were `before` in the one it replaces.
    pub fn on_view(&mut self, selected: Option<ServiceKey>, ctx: &Context, before: &[Arc<Service>]) {
        let gates = ctx.slo_gates(Timestamp::now());
        if !self.order_holds(ctx, before, &gates) {
            self.order_rows(ctx, gates);
        }
        self.select(selected.as_ref(), ctx);
    }

    /// Whether the rows as ordered still hold for the new view: the same services in the
    /// same places, each changed one as severe as before and sorting as before, under the
    /// same gates and grouping. Most views change a few rows and move none; they are then
    /// not filtered and sorted again.
    fn order_holds(&self, ctx: &Context, before: &[Arc<Service>], gates_now: &BTreeMap<ServiceKey, GateState>) -> bool {
        let Some((gates, grouping)) = &self.ordered_with else { return false };
        let services = &ctx.view.services;
        if services.len() != before.len() || *grouping != self.grouping(ctx) || gates_now != gates {
            return false;
        }
        let severity = |s: &Service| s.severity_with(gates.get(&s.key).copied());
        services.iter().zip(before).all(|(now, then)| {
            Arc::ptr_eq(now, then)
                || (now.key == then.key
                    && severity(now) == severity(then)
                    && sort_key(self.sort, now) == sort_key(self.sort, then))
        })
    }

    /// The service to keep selected across a new view, once the operator chose one.
    pub fn chosen(&self, ctx: &Context) -> Option<ServiceKey> {
        self.selected_service(ctx).filter(|_| self.chose_row).map(|s| s.key.clone())
    }

    /// The first service of `namespace` (the jump-to-namespace choice).
    pub fn jump_to_namespace(&mut self, namespace: &str, ctx: &mut Context, now: Timestamp) {
        match self.rows.iter().position(|&i| service_at(ctx, i).key.namespace == namespace) {
            Some(at) => {
                self.selected = at;
                self.chose_row = true;
            }
            None => ctx.say(format!("no service of {} is shown", clean(namespace)), now),
        }
    }

    /// `]` / `[`: the next (or previous) service with problems, round the list's end.
    fn go_to_problem(&mut self, forward: bool, ctx: &mut Context, now: Timestamp) {
        let next = if forward {
            self.problems.iter().find(|&&p| p > self.selected).or(self.problems.first())
        } else {
            self.problems.iter().rev().find(|&&p| p < self.selected).or(self.problems.last())
        };
        match next.copied() {
            Some(at) => {
                self.selected = at;
                self.chose_row = true;
            }
            None => ctx.say("no service with problems is shown", now),
        }
    }

    fn move_by(&mut self, delta: isize) {
        self.selected = self.selected.saturating_add_signed(delta);
        self.chose_row = true;
        self.clamp_selection();
    }

    fn clamp_selection(&mut self) {
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    /// `key`'s row selected, wherever it is now (the row number stays when it is gone).
    fn select(&mut self, key: Option<&ServiceKey>, ctx: &Context) {
        if let Some(at) = key.and_then(|key| self.rows.iter().position(|&i| &service_at(ctx, i).key == key)) {
            self.selected = at;
        }
        self.clamp_selection();
    }

    /// The rows sorted or grouped anew; the selected service stays selected.
    fn reorder(&mut self, ctx: &Context) {
        let key = self.selected_service(ctx).map(|s| s.key.clone());
        self.refresh_rows(ctx);
        self.select(key.as_ref(), ctx);
    }

    /// Namespaces are group headers: chosen, and several namespaces are shown.
    pub fn grouping(&self, ctx: &Context) -> bool {
        self.grouped && ctx.view.namespace.is_none()
    }

    /// Recomputes which services the overview shows and in which order, and where the
    /// problems among them are.
    pub fn refresh_rows(&mut self, ctx: &Context) {
        self.order_rows(ctx, ctx.slo_gates(Timestamp::now()));
    }

    /// [`Self::refresh_rows`] under these SLO gates.
    fn order_rows(&mut self, ctx: &Context, gates: BTreeMap<ServiceKey, GateState>) {
        let services = &ctx.view.services;
        let filter = self.filter.trim().to_lowercase();
        let rows: Vec<usize> = services
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                if filter.is_empty() {
                    return true;
                }
                // In a fleet `cluster/namespace/name`: `us/shop` narrows to one cluster.
                let haystack = match &s.key.cluster {
                    Some(cluster) => format!("{cluster}/{}/{}", s.key.namespace, s.key.name),
                    None => format!("{}/{}", s.key.namespace, s.key.name),
                };
                haystack.to_lowercase().contains(&filter)
            })
            .map(|(i, _)| i)
            .collect();
        let sort = self.sort;
        let grouping = self.grouping(ctx);
        // A service whose followed logs put its SLO gate at warn or fail is wrong now too.
        let severity = |s: &Service| s.severity_with(gates.get(&s.key).copied());
        // Each row's sort key and severity once, not per comparison: a view arrives with
        // every change the cluster makes, a key may allocate and a severity walks findings.
        let mut keyed: Vec<(usize, Option<Severity>, SortKey)> =
            rows.iter().map(|&i| (i, severity(&services[i]), sort_key(sort, &services[i]))).collect();
        keyed.sort_by(|(a, severity_a, key_a), (b, severity_b, key_b)| {
            let (a, b): (&Service, &Service) = (&services[*a], &services[*b]);
            let mut order = key_a.cmp(key_b);
            if self.reverse {
                order = order.reverse();
            }
            let groups = if grouping { a.key.namespace.cmp(&b.key.namespace) } else { std::cmp::Ordering::Equal };
            let problems = if self.problems_first { severity_b.cmp(severity_a) } else { std::cmp::Ordering::Equal };
            groups.then(problems).then(order).then_with(|| a.key.cmp(&b.key))
        });
        self.problems.clear();
        self.groups.clear();
        let mut rows = Vec::with_capacity(keyed.len());
        for (at, (i, severity, _)) in keyed.into_iter().enumerate() {
            rows.push(i);
            let s: &Service = &services[i];
            let problem = crate::model::lint::is_problem(severity);
            if problem {
                self.problems.push(at);
            }
            if grouping {
                let group = self.groups.entry(s.key.namespace.clone()).or_default();
                group.0 += 1;
                group.1 += usize::from(problem);
            }
        }
        self.rows = rows;
        self.ordered_with = Some((gates, grouping));
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
        let regions = self.regions(ctx.area, area);
        draw_list(self, ctx, frame, regions.list, now);
        if let Some(area) = regions.panel {
            panel::draw_selected(self.selected_service(ctx), ctx, frame, area, now);
        }
        if let Some(area) = regions.strip {
            panel::draw_problems(self, ctx, frame, area, now);
        }
    }

    /// Where the list, the selected service's panel and the problems strip go in `area`
    /// (the overview's part of a `terminal`-sized screen). Paging uses it too.
    fn regions(&self, terminal: Rect, area: Rect) -> Regions {
        let strip = (terminal.height >= TALL_ROWS).then(|| {
            // A rule and a line per problem, up to a few; one line says there are none.
            let lines = self.problems.len().clamp(1, STRIP_LINES) as u16;
            lines + 1
        });
        let [upper, strip] = Layout::vertical([Constraint::Min(1), Constraint::Length(strip.unwrap_or(0))]).areas(area);
        let panel_width = (terminal.width >= WIDE_COLUMNS).then(|| (upper.width * 3 / 10).clamp(50, 72));
        let [list, panel] =
            Layout::horizontal([Constraint::Min(1), Constraint::Length(panel_width.unwrap_or(0))]).areas(upper);
        Regions { list, panel: panel_width.map(|_| panel), strip: (strip.height > 0).then_some(strip) }
    }
}

/// From this many columns the selected service's essentials sit beside the list.
pub const WIDE_COLUMNS: u16 = 160;
/// From this many rows the scope's live problems are listed under it.
pub const TALL_ROWS: u16 = 40;
/// The most problems the strip lists (`]` visits the rest).
const STRIP_LINES: usize = 7;

/// The overview's parts.
struct Regions {
    list: Rect,
    panel: Option<Rect>,
    strip: Option<Rect>,
}

/// A service the operator should look at: a warning or an error.
/// The service at `i` of the view (rows hold indices into it).
fn service_at(ctx: &Context, i: usize) -> &Service {
    &ctx.view.services[i]
}

/// The value a column sorts by; text sorts alphabetically, numbers numerically.
/// A row's place under a column: a number, then text, then more text.
type SortKey<'a> = (i64, Cow<'a, str>, &'a str);

/// A row's place under `column`, borrowed from the service where it can be: every row's
/// key is made again with each view.
fn sort_key(column: Col, s: &Service) -> SortKey<'_> {
    let r = &s.replicas;
    let number = |n: i64| (n, Cow::Borrowed(""), "");
    let text = |t: &'static str| (0, Cow::Borrowed(t), "");
    match column {
        Col::Service => (0, Cow::Borrowed(s.key.name.as_str()), ""),
        Col::Cluster => (0, Cow::Borrowed(s.key.cluster.as_deref().unwrap_or_default()), ""),
        Col::Namespace => (0, Cow::Borrowed(s.key.namespace.as_str()), s.key.name.as_str()),
        Col::Kind => text(s.key.kind.short()),
        // Relative to desired, so the services missing the most pods come first.
        Col::Ready => number(i64::from(r.ready) - i64::from(r.desired)),
        Col::UpToDate => number(i64::from(r.updated) - i64::from(r.desired)),
        Col::Available => number(i64::from(r.available) - i64::from(r.desired)),
        Col::Hpa => number(s.hpa.as_ref().map_or(-1, |h| i64::from(h.max))),
        Col::Rollout => number(s.rollout.state as i64),
        Col::Probes => number(s.probes.len() as i64),
        Col::Pdb => number(s.pdb.as_ref().map_or(i64::MAX, |p| i64::from(p.disruptions_allowed))),
        // The fullest database first (tenths of a percent; no database last).
        Col::Budget => number(s.budget.as_ref().map_or(1, |b| b.percent.map_or(0, |p| -(p * 10.0) as i64))),
        // The most failed checks first.
        Col::Checks => number(-(s.lint_findings().len() as i64)),
        Col::GitOps => match &s.gitops {
            Some(g) => (0, Cow::Owned(g.state().badge()), ""),
            None => text("~"),
        },
        Col::Age => number(-s.created.map_or(0, |t| t.as_second())),
        // Never chosen (see `Col::next_sort`).
        Col::Slo => number(0),
    }
}

/// The list's frame: a rule on top that carries the title.
fn table_block<'a>() -> Block<'a> {
    Block::default().borders(Borders::TOP)
}

/// Rows of services one page shows in `area` (the list's body, under its header).
pub fn page(area: Rect) -> usize {
    body_height(table_block().inner(area))
}

fn body_height(inner: Rect) -> usize {
    inner.height.saturating_sub(1) as usize
}

/// A line of the list: a namespace's group header or a service's row (its position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListLine<'a> {
    Group(&'a str),
    Row(usize),
}

impl OverviewScreen {
    /// The lines of the list in `height` lines, the selected row on screen: the page
    /// scrolls only when the selection would leave it. Grouped, each namespace's rows
    /// follow its header, and the top line always names the namespace of the rows under it.
    fn window<'a>(&self, ctx: &'a Context, height: usize) -> Vec<ListLine<'a>> {
        let namespace = |at: usize| service_at(ctx, self.rows[at]).key.namespace.as_str();
        if !self.grouping(ctx) || height < 3 {
            let first = self.selected.saturating_sub(height.saturating_sub(1));
            return (first..self.rows.len()).take(height).map(ListLine::Row).collect();
        }
        // Back from the selection while the page holds it and the headers it brings.
        let (mut first, mut used) = (self.selected, 2);
        while first > 0 {
            let more = 1 + usize::from(namespace(first - 1) != namespace(first));
            if used + more > height {
                break;
            }
            used += more;
            first -= 1;
        }
        let mut lines = Vec::with_capacity(height);
        for at in first..self.rows.len() {
            if at == first || namespace(at) != namespace(at - 1) {
                lines.push(ListLine::Group(namespace(at)));
            }
            lines.push(ListLine::Row(at));
            if lines.len() >= height {
                break;
            }
        }
        lines.truncate(height);
        lines
    }
}

fn draw_list(overview: &OverviewScreen, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
    let theme = &ctx.theme;
    let view = &ctx.view;
    let health = connectivity(view, now);
    let title = title(overview, ctx, &health);
    let block = table_block().title(title).border_style(theme.style("ui.border"));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if overview.rows.is_empty() {
        let text = empty_text(overview, ctx, &health);
        frame.render_widget(Line::from(Span::styled(text, theme.style("ui.text.dim"))), inner);
        return;
    }
    let lines = overview.window(ctx, body_height(inner));
    let in_view: Vec<&Service> = lines
        .iter()
        .filter_map(|l| match l {
            ListLine::Row(at) => Some(service_at(ctx, overview.rows[*at])),
            ListLine::Group(_) => None,
        })
        .collect();
    let stale = matches!(health, Connectivity::Stale { .. });
    let no_access = |kind| matches!(view.health.get(&kind), Some(WatchHealth::NoAccess { .. }));
    // Only services with rules have a gate state (followed in a pane or in the background,
    // up to a cap): no stream, no verdict.
    let gates = ctx.slo_gates(now);
    let mut cells = CellContext {
        now,
        pdb_access: !no_access(ResourceKind::PodDisruptionBudgets),
        hpa_access: !no_access(ResourceKind::HorizontalPodAutoscalers),
        qualify: false,
        drifted: view.fleet.clone(),
    };
    let cells_of = |cells: &CellContext, col: Col| -> Vec<Line<'static>> {
        in_view.iter().map(|s| cell(theme, col, s, cells, gates.get(&s.key).copied())).collect()
    };
    let several_namespaces = view.namespace.is_none() && !overview.grouping(ctx);
    let fleet = view.fleet.is_some();
    let owned = in_view.iter().any(|s| s.gitops.is_some());
    let candidates: Vec<Col> = Col::ALL
        .into_iter()
        .filter(|&c| c != Col::Namespace || several_namespaces)
        .filter(|&c| c != Col::Cluster || fleet)
        .filter(|&c| c != Col::GitOps || owned)
        .collect();
    let mut table: Vec<(Col, Vec<Line<'static>>)> = candidates.iter().map(|&c| (c, cells_of(&cells, c))).collect();
    let mut placed = fit(inner.width, &natural_widths(overview, &table));
    // Across namespaces, a name alone is ambiguous once the NAMESPACE column is gone.
    if several_namespaces && !placed.iter().any(|p| p.col == Col::Namespace) {
        cells.qualify = true;
        table.retain(|(c, _)| *c != Col::Namespace);
        for (col, lines) in &mut table {
            if *col == Col::Service {
                *lines = cells_of(&cells, Col::Service);
            }
        }
        placed = fit(inner.width, &natural_widths(overview, &table));
    }
    let column_of = |col: Col| table.iter().position(|(c, _)| *c == col);
    let mut y = inner.y;
    let header: Vec<Line<'static>> = placed.iter().map(|p| Line::from(sort_marker(overview, p.col.header()))).collect();
    draw_cells(frame, inner, y, &placed, header, theme.style("ui.header"));
    let mut nth = 0;
    for line in lines {
        y += 1;
        match line {
            ListLine::Group(namespace) => {
                let text = group_header(overview, namespace);
                let row = Rect { y, height: 1, ..inner };
                frame.render_widget(Line::from(Span::styled(text, theme.style("ui.header"))), row);
            }
            ListLine::Row(at) => {
                let service = in_view[nth];
                let row: Vec<Line<'static>> = placed
                    .iter()
                    .filter_map(|p| Some(cut_line(table[column_of(p.col)?].1[nth].clone(), p.width.into())))
                    .collect();
                let stale = stale || cluster_stale(view, service, now);
                let mut style = row_style(theme, service, gates.get(&service.key).copied(), stale);
                if at == overview.selected {
                    style = style.patch(theme.style("ui.selection"));
                }
                draw_cells(frame, inner, y, &placed, row, style);
                nth += 1;
            }
        }
    }
}

/// Each column's natural width: its widest cell in view, its header (with the sort mark).
fn natural_widths(overview: &OverviewScreen, table: &[(Col, Vec<Line<'static>>)]) -> Vec<(Col, u16)> {
    table
        .iter()
        .map(|(col, lines)| {
            let header = sort_marker(overview, col.header()).chars().count();
            let widest = lines.iter().map(Line::width).max().unwrap_or(0).max(header);
            (*col, u16::try_from(widest).unwrap_or(u16::MAX))
        })
        .collect()
}

/// One line of the list at `y`: `style` over its whole width, the cells at their columns.
fn draw_cells(frame: &mut Frame, inner: Rect, y: u16, placed: &[Placed], cells: Vec<Line<'static>>, style: Style) {
    let row = Rect { y, height: 1, ..inner };
    frame.buffer_mut().set_style(row, style);
    let mut x = inner.x;
    for (p, line) in placed.iter().zip(cells) {
        let width = p.width.min(inner.right().saturating_sub(x));
        frame.render_widget(line, Rect { x, y, width, height: 1 });
        x = x.saturating_add(p.width + 1);
    }
}

/// `▾ namespace · N services · M with problems`, from the counts taken with the rows.
fn group_header(overview: &OverviewScreen, namespace: &str) -> String {
    let (services, problems) = overview.groups.get(namespace).copied().unwrap_or_default();
    let problems = if problems > 0 { format!(" · {problems} with problems") } else { String::new() };
    let plural = if services == 1 { "" } else { "s" };
    format!("▾ {} · {services} service{plural}{problems}", clean(namespace))
}

/// `Services 6 of 24 · 2 with problems`: the counts follow the filter (the scope is what
/// the view holds).
fn title<'a>(overview: &OverviewScreen, ctx: &Context, health: &Connectivity) -> Line<'a> {
    let theme = &ctx.theme;
    let (shown, total) = (overview.rows.len(), ctx.view.services.len());
    let count = if shown == total { format!(" Services {total} ") } else { format!(" Services {shown} of {total} ") };
    let mut spans = vec![Span::styled(count, theme.style("ui.title"))];
    let problems = overview.problems.len();
    if problems > 0 {
        spans.push(Span::styled(format!("· {problems} with problems "), theme.style("state.warn")));
    }
    if !overview.filter.is_empty() {
        spans.push(Span::styled(format!("· filter \"{}\" ", clean(&overview.filter)), theme.style("ui.match")));
    }
    if overview.grouping(ctx) {
        spans.push(Span::styled("· by namespace ", theme.style("ui.title")));
    }
    if let Connectivity::Stale { .. } | Connectivity::Reconnecting { .. } = health {
        spans.push(Span::styled(format!("· {} ", health.label()), theme.style("state.stale")));
    }
    if let Some(fleet) = &ctx.view.fleet {
        let drifted = ctx.view.services.iter().filter(|s| fleet.drift_of(s).is_some()).count();
        if drifted > 0 {
            spans.push(Span::styled(format!("· {drifted} ≠ across clusters "), theme.style("state.warn")));
        }
    }
    Line::from(spans)
}

/// In a fleet, a row whose own cluster is stale or unreachable is drawn stale, whatever
/// the other clusters say.
fn cluster_stale(view: &ClusterView, s: &Service, now: Timestamp) -> bool {
    let Some(member) = view.fleet.as_ref().zip(s.key.cluster.as_deref()).and_then(|(f, c)| f.member(c)) else {
        return false;
    };
    matches!(member_connectivity(member, now), Connectivity::Stale { .. } | Connectivity::Unreachable { .. })
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

fn row_style(theme: &Theme, service: &Service, slo: Option<GateState>, stale: bool) -> Style {
    if stale {
        return theme.style("state.stale");
    }
    match service.severity_with(slo) {
        Some(Severity::Error) => theme.style("state.error"),
        Some(Severity::Warning) => theme.style("state.warn"),
        _ => theme.style("ui.text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keymap::Keymap;
    use crate::config::theme::{TerminalColors, Theme};

    fn context(services: Vec<Service>) -> Context {
        let theme = Theme::builtin("dark", &TerminalColors::from_values(false, "")).unwrap();
        let view = crate::ui::app::tests_support::view(1, services);
        Context::new(theme, Keymap::builtin("default").unwrap(), view, false)
    }

    #[test]
    fn grouped_pages_hold_the_selection_and_name_the_namespace_on_top() {
        let services: Vec<Service> =
            (0..30).map(|i| Service::example(&format!("ns-{}", i / 4), &format!("svc-{i:02}"), 1)).collect();
        let ctx = context(services);
        let mut overview = OverviewScreen::new(&ctx);
        overview.grouped = true;
        overview.refresh_rows(&ctx);
        for height in [3, 5, 10] {
            for selected in 0..overview.rows.len() {
                overview.selected = selected;
                let lines = overview.window(&ctx, height);
                assert!(lines.len() <= height, "{lines:?}");
                assert!(lines.contains(&ListLine::Row(selected)), "row {selected} on its page of {height}: {lines:?}");
                assert!(matches!(lines[0], ListLine::Group(_)), "the namespace on top: {lines:?}");
                for pair in lines.windows(2) {
                    if let [ListLine::Row(a), ListLine::Row(b)] = pair {
                        assert_eq!(
                            service_at(&ctx, overview.rows[*a]).key.namespace,
                            service_at(&ctx, overview.rows[*b]).key.namespace,
                            "a header between namespaces"
                        );
                    }
                }
            }
        }
        assert_eq!(overview.groups.get("ns-0"), Some(&(4, 0)));
    }

    #[test]
    fn a_view_that_moves_no_row_keeps_the_order_and_one_that_does_orders_anew() {
        use crate::model::service::Finding;
        let services: Vec<Service> =
            (0..6).map(|i| Service::example(&format!("ns-{}", i / 3), &format!("svc-{i}"), 2)).collect();
        let mut ctx = context(services);
        let mut overview = OverviewScreen::new(&ctx);
        let names = |o: &OverviewScreen, ctx: &Context| -> Vec<String> {
            o.rows.iter().map(|&i| ctx.view.services[i].key.name.clone()).collect()
        };
        let fresh = |ctx: &Context| names(&OverviewScreen::new(ctx), ctx);
        // A new view in which `services[at]` is `change`d.
        let next = |ctx: &mut Context, at: usize, change: &dyn Fn(&mut Service)| {
            let before = ctx.view.services.clone();
            let mut services: Vec<Service> = before.iter().map(|s| (**s).clone()).collect();
            change(&mut services[at]);
            let mut view = (*crate::ui::app::tests_support::view(2, services)).clone();
            // Untouched services stay the same Arc, as the session sends them.
            let fresh: Vec<Arc<Service>> =
                (0..before.len()).map(|i| if i == at { view.services[i].clone() } else { before[i].clone() }).collect();
            view.services = Arc::new(fresh);
            ctx.view = Arc::new(view);
            before
        };

        // A readiness flip: the row changes, its place does not.
        let before = next(&mut ctx, 4, &|s| s.replicas.ready = 1);
        assert!(overview.order_holds(&ctx, &before, &ctx.slo_gates(Timestamp::now())));
        overview.on_view(None, &ctx, &before);
        assert_eq!(names(&overview, &ctx), fresh(&ctx));

        // svc-4 goes wrong: problems first, it moves to the top.
        let before = next(&mut ctx, 4, &|s| {
            s.findings.push(Finding { id: "replicas-unavailable", severity: Severity::Error, message: "down".into() })
        });
        assert!(!overview.order_holds(&ctx, &before, &ctx.slo_gates(Timestamp::now())));
        overview.on_view(None, &ctx, &before);
        assert_eq!(names(&overview, &ctx)[0], "svc-4");
        assert_eq!(names(&overview, &ctx), fresh(&ctx));
        assert_eq!(overview.problems, [0]);

        // Sorted by ready replicas, a flip moves the row: ordered anew.
        overview.sort = Col::Ready;
        overview.refresh_rows(&ctx);
        let before = next(&mut ctx, 1, &|s| s.replicas.ready = 0);
        assert!(!overview.order_holds(&ctx, &before, &ctx.slo_gates(Timestamp::now())));
        overview.on_view(None, &ctx, &before);
        assert_eq!(names(&overview, &ctx), fresh_sorted(&ctx, Col::Ready));
    }

    fn fresh_sorted(ctx: &Context, sort: Col) -> Vec<String> {
        let mut o = OverviewScreen::new(ctx);
        o.sort = sort;
        o.refresh_rows(ctx);
        o.rows.iter().map(|&i| ctx.view.services[i].key.name.clone()).collect()
    }
}
