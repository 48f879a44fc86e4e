//! Popups over the current screen: help (generated from the active keymap), the command
//! palette, the namespace/context picker, the which-key menu of a pending prefix, and the
//! filter input line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui_textarea::TextArea;

use crate::actions::ActionPlan;
use crate::actions::guard::Verdict;
use crate::config::keymap::Lookup;
use crate::config::theme::Theme;
use crate::model::sanitize::clean;
use crate::model::service::Severity;
use crate::ui::app::{ActionStage, ActionWizard, App, Overlay, PickerKind, RevisionSource};
use crate::ui::format::age;
use crate::ui::fuzzy::Match;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

/// Change popups use the width there is (previews carry image names), within reason.
fn wide_popup(area: Rect) -> u16 {
    area.width.saturating_sub(4).clamp(96, 140)
}

fn popup_block<'a>(theme: &Theme, title: String) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.style("ui.title")))
        .border_style(theme.style("ui.border.focus"))
        .style(theme.style("ui.popup"))
}

/// Every key of the current view, straight from the keymap (never hand-written).
pub fn draw_help(app: &App, scroll: usize, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let mode = app.mode();
    let mut bindings = app.keymap.bindings(mode);
    // This view's own keys first, then the ones that work everywhere.
    bindings.sort_by_key(|b| b.from_global);
    let mut lines: Vec<Line> = Vec::new();
    let mut last_global = None;
    for b in &bindings {
        if last_global != Some(b.from_global) {
            let title = if b.from_global { "everywhere" } else { mode.name() };
            if last_global.is_some() {
                lines.push(Line::default());
            }
            lines.push(Line::from(Span::styled(title.to_string(), theme.style("ui.header"))));
            last_global = Some(b.from_global);
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12}  ", b.keys), theme.style("ui.hint.key")),
            Span::styled(format!("{:<22}", b.command.name()), theme.style("ui.text")),
            Span::styled(b.description.to_string(), theme.style("ui.text.dim")),
        ]));
    }
    let rect = centered(area, 92, area.height.saturating_sub(2).max(8));
    let title = format!(" Keys: {} (keymap {}) ", mode.name(), app.keymap.name());
    let scroll = scroll.min(lines.len().saturating_sub(1)) as u16;
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(popup_block(theme, title)).scroll((scroll, 0)), rect);
}

/// A list popup with a text input on top and fuzzy-highlighted choices.
fn draw_choices(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    title: String,
    input: &TextArea,
    items: Vec<(String, String, Match)>,
    selected: usize,
) {
    let theme = &app.theme;
    let rect = centered(area, 72, 16);
    frame.render_widget(Clear, rect);
    let block = popup_block(theme, title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [input_area, list_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    frame.render_widget(input, input_area);
    let height = list_area.height as usize;
    let offset = selected.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, (name, description, m))| {
            let base = if i == selected { theme.style("ui.selection") } else { theme.style("ui.text") };
            let mut spans: Vec<Span> = name
                .chars()
                .enumerate()
                .map(|(n, c)| {
                    let style = if m.positions.contains(&n) { base.patch(theme.style("ui.match")) } else { base };
                    Span::styled(c.to_string(), style)
                })
                .collect();
            if !description.is_empty() {
                let pad = 24usize.saturating_sub(name.chars().count());
                spans.push(Span::styled(
                    format!("{}{description}", " ".repeat(pad + 1)),
                    base.patch(theme.style("ui.text.dim")),
                ));
            }
            Line::from(spans)
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(Line::from(Span::styled("no match", theme.style("ui.text.dim"))), list_area);
    } else {
        frame.render_widget(Paragraph::new(lines), list_area);
    }
}

pub fn draw_palette(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Overlay::Palette { input, .. }) = &app.overlay else { return };
    let items = app
        .palette_choices()
        .into_iter()
        .map(|(c, m)| {
            let keys = app.keymap.keys_for(app.screen_mode(), c);
            let keys = keys.first().map_or(String::new(), |k| format!(" [{k}]"));
            (c.name().to_string(), format!("{}{keys}", c.description()), m)
        })
        .collect();
    draw_choices(app, frame, area, " Command ".into(), input, items, app.palette_selected());
}

pub fn draw_picker(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Overlay::Picker { kind, input, .. }) = &app.overlay else { return };
    let title = match kind {
        PickerKind::Namespace => " Namespace (type a name, enter switches) ",
        PickerKind::Context => " Context (enter switches) ",
    };
    let items = app.picker_choices().into_iter().map(|(c, m)| (clean(&c), String::new(), m)).collect();
    draw_choices(app, frame, area, title.into(), input, items, app.picker_selected());
}

pub fn draw_filter(theme: &Theme, input: &TextArea, frame: &mut Frame, area: Rect) {
    let [label, field] = Layout::horizontal([Constraint::Length(8), Constraint::Min(1)]).areas(area);
    frame.render_widget(Span::styled(" filter:", theme.style("ui.hint.key")), label);
    frame.render_widget(input, field);
}

/// After a prefix key: what can follow it.
pub fn draw_which_key(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let (last, before) = app.pending.split_last().expect("a pending key");
    let Lookup::Pending(menu) = app.keymap.lookup(app.mode(), before, *last) else { return };
    let bindings = menu.bindings();
    let lines: Vec<Line> = bindings
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:>6}  ", b.keys), theme.style("ui.hint.key")),
                Span::styled(b.description.to_string(), theme.style("ui.text")),
            ])
        })
        .collect();
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + area.width.saturating_sub(52),
        y: area.y + area.height - height,
        width: 52.min(area.width),
        height,
    };
    frame.render_widget(Clear, rect);
    let title = format!(" {} ", menu.name().unwrap_or("more"));
    frame.render_widget(Paragraph::new(lines).block(popup_block(theme, title)), rect);
}

/// The scale wizard: replicas input, the live impact preview and guards, the kubectl
/// equivalent, and where the change is (dry-run, confirmation, progress, result).
pub fn draw_action(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Overlay::Action(w)) = &app.overlay else { return };
    let theme = &app.theme;
    let rect = centered(area, wide_popup(area), 20);
    frame.render_widget(Clear, rect);
    let what = w.fixed.as_ref().and_then(ActionPlan::title).unwrap_or_else(|| w.typed.title());
    let title = format!(" {what} {}/{} ", clean(&w.key.namespace), clean(&w.key.name));
    let block = popup_block(theme, title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [input_area, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    if w.fixed.is_none() {
        let [label, field] = Layout::horizontal([Constraint::Length(11), Constraint::Min(1)]).areas(input_area);
        frame.render_widget(Span::styled(w.typed.label(), theme.style("ui.hint.key")), label);
        frame.render_widget(&w.input, field);
    }

    let plan = match &w.stage {
        ActionStage::Editing => app.wizard_plan(),
        ActionStage::Checking(p) | ActionStage::Applying(p) | ActionStage::Following(p) => Ok(p.clone()),
        ActionStage::Confirm { plan, .. } | ActionStage::Done { plan, .. } => Ok(plan.clone()),
    };
    let mut lines: Vec<Line> = Vec::new();
    match &plan {
        Err(e) => lines.push(Line::from(Span::styled(clean(e), theme.style("ui.error")))),
        Ok(plan) => plan_lines(theme, plan, &mut lines),
    }
    lines.push(Line::default());
    lines.push(stage_line(app, w));
    if let Some(error) = w.error.clone().or_else(|| app.wizard_denied()) {
        lines.push(Line::from(Span::styled(clean(&error), theme.style("ui.error"))));
    }
    let production = app.view.profile.production;
    let confirming = matches!(&w.stage, ActionStage::Confirm { plan, .. } if plan.needs_typed_name(production));
    let (text_area, confirm_area) = if confirming {
        let [t, c] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(body);
        (t, Some(c))
    } else {
        (body, None)
    };
    frame.render_widget(Paragraph::new(lines), text_area);
    if let Some(area) = confirm_area {
        let [label, field] = Layout::horizontal([Constraint::Length(22), Constraint::Min(1)]).areas(area);
        frame.render_widget(Span::styled("type the name to go:", theme.style("state.warn")), label);
        frame.render_widget(&w.confirm, field);
    }
}

/// The revision chooser: every revision (newest first, the running one marked), the
/// highlighted one's diff and guards below, and how to go on.
pub fn draw_revisions(app: &App, frame: &mut Frame, area: Rect, now: jiff::Timestamp) {
    let Some(Overlay::Revisions(c)) = &app.overlay else { return };
    let theme = &app.theme;
    let rows = app.chooser_rows();
    let selected = app.chooser_selected();
    let mut preview = Vec::new();
    match app.chooser_plan() {
        Some(plan) => plan_lines(theme, &plan, &mut preview),
        None => preview.push(Line::from(Span::styled("nothing to preview", theme.style("ui.text.dim")))),
    }
    if c.source == RevisionSource::Helm {
        preview.push(Line::from(Span::styled(
            "chart and app version of older revisions are in their release Secrets, which are never read",
            theme.style("ui.text.dim"),
        )));
    }
    // As tall as its content: the list, the preview, the hint and the borders.
    let wanted = rows.len() + 1 + preview.len() + 1 + 2;
    let rect = centered(area, wide_popup(area), (wanted as u16).max(10).min(area.height.saturating_sub(2)));
    frame.render_widget(Clear, rect);
    let what = match c.source {
        RevisionSource::Rollout => "Undo",
        RevisionSource::Helm => "Helm rollback",
    };
    let title = format!(" {what} {}/{}: choose a revision ", clean(&c.key.namespace), clean(&c.key.name));
    let block = popup_block(theme, title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let list_height = (rows.len() as u16 + 1).min(inner.height / 2).max(2);
    let [list_area, preview_area, hint_area] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    // Images are long (registry/org/name:tag): they get what the change-cause does not need.
    let what_width = match c.source {
        RevisionSource::Rollout => (inner.width as usize).saturating_sub(2 + 10 + 7 + 24).clamp(20, 80),
        RevisionSource::Helm => 14,
    };
    let header = match c.source {
        RevisionSource::Rollout => format!("  {:<9} {:<6} {:<what_width$} CHANGE-CAUSE", "REVISION", "AGE", "IMAGES"),
        RevisionSource::Helm => {
            format!("  {:<9} {:<6} {:<what_width$} CHART / APP VERSION", "REVISION", "UPDATED", "STATUS")
        }
    };
    let mut lines = vec![Line::from(Span::styled(header, theme.style("ui.text.dim")))];
    let visible = list_height.saturating_sub(1) as usize;
    let offset = selected.saturating_sub(visible.saturating_sub(1));
    for (i, row) in rows.iter().enumerate().skip(offset).take(visible) {
        let style = if i == selected { theme.style("ui.selection") } else { theme.style("ui.text") };
        let revision = format!("{}{}", row.revision, if row.current { " *" } else { "" });
        let what: String = clean(&row.what).chars().take(what_width).collect();
        let note = if row.note.is_empty() { "-".to_string() } else { clean(&row.note) };
        let text = format!("  {revision:<9} {:<6} {what:<what_width$} {note}", age(row.at, now));
        lines.push(Line::from(Span::styled(text, style)));
    }
    frame.render_widget(Paragraph::new(lines), list_area);
    frame.render_widget(Paragraph::new(preview), preview_area);
    let hint = "↑/↓ choose · Enter: dry-run, then confirm · Ctrl-y: copy the command · Esc: cancel";
    frame.render_widget(Line::from(Span::styled(hint, theme.style("ui.hint"))), hint_area);
}

pub(super) fn plan_lines(theme: &Theme, plan: &ActionPlan, lines: &mut Vec<Line>) {
    for p in plan.preview() {
        let style = match p.severity {
            Severity::Error => theme.style("state.error"),
            Severity::Warning => theme.style("state.warn"),
            Severity::Info => theme.style("ui.text"),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<18}", p.label), theme.style("ui.text.dim")),
            Span::styled(clean(&p.text), style),
        ]));
    }
    for g in plan.guards() {
        let tag = plan.guard_tag(g);
        let key = match g.verdict {
            Verdict::Block => "state.error",
            Verdict::Refuse if plan.force() => "state.warn",
            Verdict::Refuse => "state.error",
            Verdict::Warn => "state.warn",
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{tag:<18}"), theme.style(key)),
            Span::styled(clean(&g.message), theme.style(key)),
        ]));
        if let Some(alternative) = &g.alternative {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<18}", "instead"), theme.style("ui.text.dim")),
                Span::styled(clean(alternative), theme.style("ui.text")),
            ]));
        }
    }
    let label = if plan.is_helm_rollback() { "helm" } else { "kubectl" };
    lines.push(Line::from(vec![
        Span::styled(format!("{label:<18}"), theme.style("ui.text.dim")),
        Span::styled(clean(plan.kubectl()), theme.style("ui.text")),
    ]));
}

fn stage_line<'a>(app: &App, w: &ActionWizard) -> Line<'a> {
    let theme = &app.theme;
    let (text, key) = match &w.stage {
        ActionStage::Editing if w.fixed.as_ref().is_some_and(ActionPlan::is_helm_rollback) => {
            ("Enter: helm rollback --dry-run · Ctrl-y: copy the command · Esc: cancel".to_string(), "ui.hint")
        }
        ActionStage::Editing => ("Enter: ask the API server (dry-run) · Esc: cancel".to_string(), "ui.hint"),
        ActionStage::Checking(_) => ("server dry-run…".to_string(), "state.info"),
        ActionStage::Confirm { plan, dry_run } => {
            let who = if plan.is_helm_rollback() { "helm --dry-run" } else { "server dry-run" };
            (format!("{who}: {dry_run} · Enter: {} · Esc: cancel", plan.describe()), "state.ok")
        }
        ActionStage::Applying(_) => ("applying…".to_string(), "state.info"),
        ActionStage::Following(plan) => {
            let now = app.view.services.iter().find(|s| &s.key == plan.service()).map(|s| s.replicas);
            let progress =
                now.map_or(String::new(), |r| format!(": {}/{} ready, {} up to date", r.ready, r.desired, r.updated));
            (format!("applied; following the rollout{progress} · Esc: close (the change continues)"), "state.info")
        }
        ActionStage::Done { message, ok, .. } => {
            (format!("{message} · Enter: close"), if *ok { "state.ok" } else { "state.error" })
        }
    };
    Line::from(Span::styled(clean(&text), theme.style(key)))
}

/// A one-line text entry with a title and a line of help (runbook parameters, a typed
/// service name, a skip reason).
pub fn draw_entry(
    theme: &Theme,
    title: String,
    help: &str,
    error: Option<&str>,
    input: &TextArea,
    frame: &mut Frame,
    area: Rect,
) {
    let rect = centered(area, 90, 6);
    frame.render_widget(Clear, rect);
    let block = popup_block(theme, title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [field, help_area, error_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(2), Constraint::Length(1)]).areas(inner);
    frame.render_widget(input, field);
    frame.render_widget(
        Paragraph::new(Span::styled(help.to_string(), theme.style("ui.hint")))
            .wrap(ratatui::widgets::Wrap { trim: true }),
        help_area,
    );
    if let Some(error) = error {
        frame.render_widget(Span::styled(clean(error), theme.style("ui.error")), error_area);
    }
}

/// At start: an interrupted run, and the keys to continue it or not.
pub fn draw_resume_offer(
    theme: &Theme,
    state: &crate::actions::runbook::state::RunState,
    frame: &mut Frame,
    area: Rect,
) {
    let rect = centered(area, 84, 7);
    frame.render_widget(Clear, rect);
    let block = popup_block(theme, " Interrupted runbook ".into());
    let at = state.resume_at().map_or_else(String::new, |i| format!(" at step {} ({})", i + 1, state.steps[i].id));
    let lines = vec![
        Line::from(Span::styled(
            clean(&format!("{} on {} stopped{at}.", state.runbook, state.namespace)),
            theme.style("ui.text"),
        )),
        Line::from(Span::styled(
            "Resuming re-reads the cluster: a change already made is not sent again.",
            theme.style("ui.text.dim"),
        )),
        Line::default(),
        Line::from(vec![
            Span::styled("enter", theme.style("ui.hint.key")),
            Span::styled(" resume  ", theme.style("ui.hint")),
            Span::styled("esc", theme.style("ui.hint.key")),
            Span::styled(" not now (Space r lists it)", theme.style("ui.hint")),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
