//! The nodes screen: every node with what it carries and what draining it alone would do,
//! and the selected node's drain preview (per pod: evict, skip, lost or blocked and by
//! which budget; where the replacements go; how long it takes). The numbers come from one
//! cluster-wide look taken when the screen opens (a namespaced cockpit watches only its own
//! namespace's budgets, and a preview without the others would claim "free" for pods it
//! cannot judge); `d` drains the selected node through the drain popup.

use std::sync::Arc;

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::actions::allowed::drain_denied;
use crate::cluster::nodes::NodesLook;
use crate::config::commands::{Command, Mode};
use crate::config::theme::Theme;
use crate::effects::{Effect, Job};
use crate::model::drain::{DrainInputs, DrainPlan, NodeRow, node_rows, plan};
use crate::model::resources::{format_cpu, format_memory};
use crate::model::sanitize::clean;
use crate::report::nodes::{drain_summary, plan_table, usage};
use crate::ui::context::{Context, Handled, Request};
use crate::ui::format::age;

/// The nodes as last looked at, and the one selected.
#[derive(Debug, Default)]
pub struct NodesScreen {
    /// In a fleet, the one cluster whose nodes these are (the selected service's when opened).
    pub cluster: Option<String>,
    /// The last cluster-wide look; `None` until the first one arrives.
    pub look: Option<Arc<NodesLook>>,
    /// Its nodes with their drain verdicts, computed once per look (not per frame).
    pub rows: Vec<NodeRow>,
    pub selected: usize,
    /// A look has been asked for and has not arrived.
    pub reading: bool,
    /// Nodes marked for a rolling drain, in the order marked.
    pub marked: Vec<String>,
    /// Draining the marked nodes in that order, computed when the marks or the look change.
    pub sequence: Option<DrainPlan>,
}

impl NodesScreen {
    /// A new look arrived: the verdicts are computed once here; the selection stays on its node.
    pub fn on_look(&mut self, look: Arc<NodesLook>) {
        let chosen = self.rows.get(self.selected).map(|r| r.name.clone());
        self.rows = if look.blind.is_empty() { node_rows(&inputs(&look)) } else { Vec::new() };
        self.selected = chosen.and_then(|name| self.rows.iter().position(|r| r.name == name)).unwrap_or(0);
        self.look = Some(look);
        self.reading = false;
        self.marked.retain(|name| self.rows.iter().any(|r| &r.name == name));
        self.plan_sequence();
    }

    /// `m`: the selected node joins the rolling drain (or leaves it).
    fn toggle_mark(&mut self) {
        let Some(name) = self.selected_row().map(|r| r.name.clone()) else { return };
        match self.marked.iter().position(|m| *m == name) {
            Some(at) => drop(self.marked.remove(at)),
            None => self.marked.push(name),
        }
        self.plan_sequence();
    }

    /// The marked nodes drained in order: replacements go to nodes outside the sequence.
    fn plan_sequence(&mut self) {
        self.sequence = match &self.look {
            Some(look) if !self.marked.is_empty() => Some(plan(&inputs(look), &self.marked)),
            _ => None,
        };
    }

    /// The node under the selection.
    pub fn selected_row(&self) -> Option<&NodeRow> {
        self.rows.get(self.selected)
    }

    pub fn on_command(&mut self, command: Command, ctx: &mut Context, out: &mut Vec<Request>) -> Handled {
        if let Some(to) = super::scrolled(self.selected, command, 10) {
            self.selected = to.min(self.rows.len().saturating_sub(1));
            return Handled::Yes;
        }
        match command {
            Command::DrainNode => self.drain(ctx, out),
            Command::UncordonNode => self.uncordon(ctx, out),
            Command::MarkNode => self.toggle_mark(),
            _ => return Handled::No,
        }
        Handled::Yes
    }

    /// `d`: the drain popup for the selected node, unless the drain cannot be judged or
    /// may not be made here (said, and audited when it is a refusal).
    fn drain(&self, ctx: &mut Context, out: &mut Vec<Request>) {
        let Some(row) = self.selected_row() else {
            ctx.report_error("no node to drain: the nodes are not read yet");
            return;
        };
        if let Some(why) = self.refused(ctx, "drain", &row.name, out) {
            ctx.report_error(format!("drain {}: refused: {why}", row.name));
            return;
        }
        let services = self.look.as_ref().map(|l| l.services.clone()).unwrap_or_default();
        let drain = crate::model::drain::NodeDrain { cluster: self.cluster.clone(), ..row.drain.clone() };
        out.push(Request::OpenDrain { drain, services });
    }

    /// `u`: let the selected node take pods again.
    fn uncordon(&self, ctx: &mut Context, out: &mut Vec<Request>) {
        let Some(row) = self.selected_row() else { return };
        if !row.cordoned {
            ctx.report_error(format!("{} is not cordoned", row.name));
            return;
        }
        if let Some(why) = self.refused(ctx, "uncordon", &row.name, out) {
            ctx.report_error(format!("uncordon {}: refused: {why}", row.name));
            return;
        }
        out.push(Request::Effect(Effect::Execute(Job::Uncordon {
            node: row.name.clone(),
            cluster: self.cluster.clone(),
        })));
    }

    /// Why a change to `node` may not be made: `--read-only` or a broken profile (audited),
    /// RBAC, or a look that could not read what a drain is judged on.
    fn refused(&self, ctx: &Context, action: &str, node: &str, out: &mut Vec<Request>) -> Option<String> {
        if let Some(refusal) = ctx.changes_refused() {
            out.push(Request::Effect(Effect::Execute(Job::RecordRefusal {
                action: action.into(),
                target: format!("node/{node}"),
                outcome: format!("refused: {}", refusal.audited_as()),
                cluster: self.cluster.clone(),
            })));
            return Some(refusal.why().into());
        }
        let look = self.look.as_ref()?;
        if !look.blind.is_empty() {
            return Some(format!("a drain cannot be judged without reading {}", look.blind.join(", ")));
        }
        drain_denied(&look.denied)
    }

    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
        let theme = &ctx.theme;
        let list_height = (self.rows.len() as u16).saturating_add(2).clamp(3, area.height / 2);
        let [list, preview] = Layout::vertical([Constraint::Length(list_height), Constraint::Min(1)]).areas(area);
        self.draw_list(ctx, frame, list, now);
        let title = match (&self.sequence, self.selected_row()) {
            (Some(_), _) => format!(" Rolling drain · {} ", self.marked.join(" → ")),
            (None, Some(row)) => format!(" Drain preview · {} ", row.name),
            (None, None) => " Drain preview ".to_string(),
        };
        let block = Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(clean(&title), theme.style("ui.title")))
            .border_style(theme.style("ui.border"));
        let mut lines = match (&self.sequence, self.selected_row()) {
            (Some(sequence), _) => plan_lines(theme, sequence),
            (None, Some(row)) => preview_lines(ctx, row),
            (None, None) => Vec::new(),
        };
        lines.push(keys_line(ctx));
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), preview);
    }

    fn draw_list(&self, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
        let theme = &ctx.theme;
        let nodes = match &self.cluster {
            Some(cluster) => format!(" Nodes in {} · {} ", clean(cluster), self.rows.len()),
            None => format!(" Nodes · {} ", self.rows.len()),
        };
        let mut title = vec![Span::styled(nodes, theme.style("ui.title"))];
        if let Some(look) = &self.look {
            // Budgets of every namespace: a namespaced cockpit's own watches see only its own.
            let taken = age(Some(look.taken_at), now);
            title.push(Span::styled(format!("· every namespace, looked at {taken} ago "), theme.style("ui.text.dim")));
        }
        if self.reading {
            title.push(Span::styled("· reading the cluster… ", theme.style("state.info")));
        }
        let block =
            Block::default().borders(Borders::TOP).title(Line::from(title)).border_style(theme.style("ui.border"));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let mut lines = Vec::new();
        match &self.look {
            None => lines.push(dim(theme, "reading every node, pod and budget of the cluster…")),
            Some(look) if !look.blind.is_empty() => lines.push(Line::from(Span::styled(
                clean(&format!("a drain cannot be judged without reading {}", look.blind.join(", "))),
                theme.style("state.error"),
            ))),
            Some(_) => {
                let width = self.rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(4).clamp(4, 40);
                lines.push(Line::from(Span::styled(
                    format!(
                        "   {:<width$}  {:<17} {:>4}  {:<VERDICT$}  {:<17} MEMORY REQ/ALLOC",
                        "NODE", "STATUS", "PODS", "DRAIN ALONE", "CPU REQ/ALLOC"
                    ),
                    theme.style("ui.header"),
                )));
                let page = inner.height.saturating_sub(1) as usize;
                let first = self.selected.saturating_sub(page.saturating_sub(1));
                for (i, row) in self.rows.iter().enumerate().skip(first).take(page) {
                    let order = self.marked.iter().position(|m| *m == row.name).map(|at| at + 1);
                    lines.push(row_line(theme, row, width, i == self.selected, order));
                }
            }
        }
        if let Some(denied) = self.look.as_ref().and_then(|l| drain_denied(&l.denied)) {
            lines.push(Line::from(Span::styled(denied, theme.style("state.warn"))));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// What the drain preview reads, from one look.
fn inputs(look: &NodesLook) -> DrainInputs<'_> {
    DrainInputs {
        nodes: &look.objects.nodes,
        pods: &look.objects.pods,
        pdbs: &look.objects.pdbs,
        services: &look.services,
    }
}

fn dim<'a>(theme: &Theme, text: &str) -> Line<'a> {
    Line::from(Span::styled(text.to_string(), theme.style("ui.text.dim")))
}

/// The drain verdict's column: what decides a drain first, cut to fit a small terminal
/// (the preview under the list says it in full).
const VERDICT: usize = 28;

/// One node's line; `order`: its place in the rolling drain, when marked.
fn row_line<'a>(theme: &Theme, row: &NodeRow, width: usize, selected: bool, order: Option<usize>) -> Line<'a> {
    let status = match (row.ready, row.cordoned) {
        (true, false) => "Ready",
        (true, true) => "Ready, cordoned",
        (false, false) => "NotReady",
        (false, true) => "NotReady, cordoned",
    };
    let mut verdict = drain_summary(&row.drain);
    if verdict.chars().count() > VERDICT {
        verdict = verdict.chars().take(VERDICT - 1).chain(['…']).collect();
    }
    let mark = order.map_or_else(|| "  ".to_string(), |n| format!("{n:>2}"));
    let text = format!(
        "{mark} {:<width$}  {status:<17} {:>4}  {verdict:<VERDICT$}  {:<17} {}",
        row.name,
        row.pods,
        usage(row.requested.cpu_m, row.allocatable.cpu_m, format_cpu),
        usage(row.requested.memory, row.allocatable.memory, format_memory),
    );
    let key = if row.drain.drainable() { "ui.text" } else { "state.warn" };
    let style = if selected { theme.style("ui.selection") } else { theme.style(key) };
    Line::from(Span::styled(clean(&text), style))
}

/// A drain (one node or a sequence) as `drain-plan` prints it, one styled line per pod.
fn plan_lines<'a>(theme: &Theme, plan: &DrainPlan) -> Vec<Line<'a>> {
    plan_table(plan)
        .lines()
        .map(|line| {
            let key = match line.split_whitespace().next() {
                Some("BLOCKED") => "state.error",
                Some("LOST") => "state.warn",
                Some("skip") => "ui.text.dim",
                _ if line.ends_with("BLOCKED") => "state.error",
                _ => "ui.text",
            };
            Line::from(Span::styled(clean(line), theme.style(key)))
        })
        .collect()
}

/// The node's drain as `drain-plan` prints it, with what it carries and the keys.
fn preview_lines<'a>(ctx: &Context, row: &NodeRow) -> Vec<Line<'a>> {
    let theme = &ctx.theme;
    let mut lines = plan_lines(theme, &DrainPlan { nodes: vec![row.drain.clone()] });
    if !row.by_owner.is_empty() {
        let owners: Vec<String> = row.by_owner.iter().map(|(owner, n)| format!("{owner} ×{n}")).collect();
        lines.push(dim(theme, &clean(&format!("  pods by owner: {}", owners.join(", ")))));
    }
    lines
}

/// The screen's keys, as the active keymap binds them.
fn keys_line<'a>(ctx: &Context) -> Line<'a> {
    let key = |command| ctx.keymap.keys_for(Mode::Nodes, command).into_iter().next().unwrap_or_else(|| ":".into());
    let hint = format!(
        "  {}: drain this node · {}: uncordon it · {}: mark it for a rolling drain · {}: look again",
        key(Command::DrainNode),
        key(Command::UncordonNode),
        key(Command::MarkNode),
        key(Command::OpenNodes)
    );
    dim(&ctx.theme, &hint)
}
