//! Choosing the revision an undo or a Helm rollback goes back to: every revision, newest
//! first, with the highlighted one's diff and guards previewed; Enter takes the choice into
//! the change wizard (dry-run, then confirmation).

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::change_wizard::ChangeWizard;
use super::choices::list_command;
use super::frame::{centered, draw_box, plan_lines, wide_popup};
use crate::actions::ActionPlan;
use crate::actions::helm::plan_helm_rollback;
use crate::actions::rollout::{RolloutRequest, plan_rollout};
use crate::config::commands::Command;
use crate::model::sanitize::clean;
use crate::model::service::{Service, ServiceKey};
use crate::ui::context::{Context, Handled, Request};
use crate::ui::format::age;

/// Which history a revision chooser lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionSource {
    /// The workload's own revisions (`rollout undo`).
    Rollout,
    /// Its Helm release's revisions (`helm rollback`).
    Helm,
}

/// Choosing the revision to go back to, with the highlighted one's diff previewed; Enter
/// takes the choice into the usual dry-run and confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionChooser {
    pub key: ServiceKey,
    pub source: RevisionSource,
    /// Index into the listed revisions (newest first).
    pub selected: usize,
}

/// What asking for a chooser comes to.
pub enum Opened {
    Chooser(RevisionChooser),
    /// No history to choose from: the undo's own plan says why.
    Wizard(Box<ChangeWizard>),
    /// Nothing to open, and why.
    Nothing(String),
}

impl RevisionChooser {
    /// `r u` / `r h`: the revisions to choose from, the previous one highlighted. With
    /// nothing to choose from, the plan says why (no history, no Helm release).
    pub fn open(service: &Service, source: RevisionSource) -> Opened {
        let key = service.key.clone();
        let rows = revision_rows(service, source);
        if rows.is_empty() {
            return match source {
                RevisionSource::Rollout => {
                    Opened::Wizard(Box::new(ChangeWizard::rollout(service, RolloutRequest::Undo(None))))
                }
                RevisionSource::Helm => Opened::Nothing(match &service.helm {
                    None => format!("{} is not part of a Helm release", key.name),
                    Some(_) => "the Helm release history cannot be read (no access to its Secrets)".into(),
                }),
            };
        }
        let likely = match source {
            RevisionSource::Rollout => previous_revision(service),
            RevisionSource::Helm => service.helm.as_ref().and_then(|h| h.rollback_candidate()).map(|r| r.revision),
        };
        let selected = rows.iter().position(|r| Some(r.revision) == likely).unwrap_or(0);
        Opened::Chooser(RevisionChooser { key, source, selected })
    }

    /// The chooser's revisions, newest first, with the highlighted one clamped in range.
    pub fn rows(&self, ctx: &Context) -> Vec<RevisionRow> {
        ctx.service(&self.key).map(|s| revision_rows(s, self.source)).unwrap_or_default()
    }

    pub fn selected(&self, ctx: &Context) -> usize {
        self.selected.min(self.rows(ctx).len().saturating_sub(1))
    }

    /// The plan for the highlighted revision: what its diff and guards look like now.
    pub fn plan(&self, ctx: &Context) -> Option<ActionPlan> {
        let service = ctx.service(&self.key)?;
        let revision = self.rows(ctx).get(self.selected(ctx))?.revision;
        match self.source {
            RevisionSource::Rollout => Some(plan_rollout(service, RolloutRequest::Undo(Some(revision)))),
            RevisionSource::Helm => {
                // In a fleet, the service's own cluster.
                let context = service.key.cluster.as_deref().unwrap_or(&ctx.view.context);
                plan_helm_rollback(service, revision, &ctx.helm, context)
            }
        }
    }

    pub fn on_command(&mut self, command: Command, ctx: &Context, out: &mut Vec<Request>) -> Handled {
        // Enter: the chosen revision's plan goes into the wizard.
        if list_command(&mut self.selected, command, out) == Some(true)
            && let Some(plan) = self.plan(ctx)
        {
            out.push(Request::OpenChange { key: self.key.clone(), plan });
        }
        Handled::Yes
    }

    /// The revision chooser: every revision (newest first, the running one marked), the
    /// highlighted one's diff and guards below, and how to go on.
    pub fn draw(&self, ctx: &Context, frame: &mut Frame, area: Rect, now: Timestamp) {
        let c = self;
        let theme = &ctx.theme;
        let rows = c.rows(ctx);
        let selected = c.selected(ctx);
        let mut preview = Vec::new();
        match c.plan(ctx) {
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
        let what = match c.source {
            RevisionSource::Rollout => "Undo",
            RevisionSource::Helm => "Helm rollback",
        };
        let title = format!(" {what} {}/{}: choose a revision ", clean(&c.key.namespace), clean(&c.key.name));
        let inner = draw_box(theme, title, frame, rect);
        let list_height = (rows.len() as u16 + 1).min(inner.height / 2).max(2);
        let [list_area, preview_area, hint_area] =
            Layout::vertical([Constraint::Length(list_height), Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        // Images are long (registry/org/name:tag): they get what the change-cause does not need.
        let what_width = match c.source {
            RevisionSource::Rollout => (inner.width as usize).saturating_sub(2 + 10 + 7 + 24).clamp(20, 80),
            RevisionSource::Helm => 14,
        };
        let header = match c.source {
            RevisionSource::Rollout => {
                format!("  {:<9} {:<6} {:<what_width$} CHANGE-CAUSE", "REVISION", "AGE", "IMAGES")
            }
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
}

/// One row of a revision chooser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionRow {
    pub revision: i64,
    /// The revision running now (Helm: deployed).
    pub current: bool,
    /// Images (rollout) or the release status (Helm).
    pub what: String,
    /// The change-cause (rollout) or chart and app version where known (Helm).
    pub note: String,
    pub at: Option<Timestamp>,
}

/// The revision before the current one: where an undo goes by default.
fn previous_revision(service: &Service) -> Option<i64> {
    let current = service.revisions.iter().find(|r| r.current).map(|r| r.revision)?;
    service.revisions.iter().map(|r| r.revision).filter(|r| *r < current).max()
}

/// The revisions a chooser offers, newest first (the model keeps them in that order).
fn revision_rows(service: &Service, source: RevisionSource) -> Vec<RevisionRow> {
    match source {
        RevisionSource::Rollout => service
            .revisions
            .iter()
            .map(|r| RevisionRow {
                revision: r.revision,
                current: r.current,
                what: r.images().join(", "),
                note: r.change_cause.clone().unwrap_or_default(),
                at: r.created,
            })
            .collect(),
        RevisionSource::Helm => {
            let Some(release) = &service.helm else { return Vec::new() };
            // The chart and app version are known only for the deployed revision (from the
            // workload's labels); the others' live in the release bodies, which are not read.
            let running = [release.chart.as_deref(), release.app_version.as_deref()].into_iter().flatten();
            let running = running.collect::<Vec<_>>().join(" / ");
            release
                .history
                .iter()
                .flatten()
                .map(|r| RevisionRow {
                    revision: r.revision,
                    current: r.status == "deployed",
                    what: r.status.clone(),
                    note: if r.status == "deployed" { running.clone() } else { String::new() },
                    at: r.modified.or(r.created),
                })
                .collect()
        }
    }
}
