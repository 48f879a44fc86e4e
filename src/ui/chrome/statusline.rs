//! The status line: where the cockpit points, how fresh its data is, read-only badge and
//! the last notice, with the two keys a newcomer needs on the right.

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::cluster::session::ClusterView;
use crate::cluster::session::{FleetStatus, Member};
use std::collections::BTreeMap;

use crate::cluster::watch::{ResourceKind, WatchHealth};
use crate::config::commands::Command;
use crate::config::commands::Mode;
use crate::model::sanitize::clean;
use crate::ui::context::Context;
use crate::ui::format::duration;

/// After this long without a working watch, the data on screen is called stale.
const STALE_AFTER_S: i64 = 10;

/// How current the data on screen is. `reason` says why it is not live, for the status
/// line (the overview's title shows only the label).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connectivity {
    Syncing,
    Live,
    Reconnecting {
        for_s: i64,
        reason: String,
    },
    Stale {
        for_s: i64,
        reason: String,
    },
    /// A cluster of a fleet that could not be connected to (tried again in the background).
    Unreachable {
        reason: String,
    },
    /// A cluster of a fleet where this user may list neither Deployments nor StatefulSets.
    NoAccess {
        reason: String,
    },
}

impl Connectivity {
    pub fn label(&self) -> String {
        match self {
            Connectivity::Syncing => "syncing".into(),
            Connectivity::Live => "live".into(),
            Connectivity::Reconnecting { for_s, .. } => format!("reconnecting {}", duration(*for_s)),
            Connectivity::Stale { for_s, .. } => format!("stale {}", duration(*for_s)),
            Connectivity::Unreachable { .. } => "unreachable".into(),
            Connectivity::NoAccess { .. } => "no access".into(),
        }
    }

    /// Why the data is not live, when it is not.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Connectivity::Reconnecting { reason, .. }
            | Connectivity::Stale { reason, .. }
            | Connectivity::Unreachable { reason }
            | Connectivity::NoAccess { reason } => Some(reason),
            _ => None,
        }
    }

    fn style_key(&self) -> &'static str {
        match self {
            Connectivity::Syncing => "state.info",
            Connectivity::Live => "state.ok",
            Connectivity::Reconnecting { .. } => "state.warn",
            Connectivity::Stale { .. } | Connectivity::Unreachable { .. } => "state.stale",
            Connectivity::NoAccess { .. } => "state.warn",
        }
    }
}

/// The worst of the watches: one broken watch makes the whole screen suspect, and a watch
/// of a kind every screen needs that has been silent past the bound makes it stale, aged
/// from the last thing heard (never `live` over minutes-old data).
pub fn connectivity(view: &ClusterView, now: Timestamp) -> Connectivity {
    connectivity_of(&view.health, now)
}

fn connectivity_of(health: &BTreeMap<ResourceKind, WatchHealth>, now: Timestamp) -> Connectivity {
    let age = |t: &Timestamp| (now.as_second() - t.as_second()).max(0);
    let broken = health
        .values()
        .filter_map(|h| match h {
            WatchHealth::Reconnecting { since, error } => Some((age(since), error.as_str())),
            _ => None,
        })
        .max_by_key(|(for_s, _)| *for_s);
    let silent = health
        .iter()
        .filter(|(kind, _)| !kind.is_optional())
        .filter_map(|(_, h)| match h {
            WatchHealth::Silent { heard } => Some(age(heard)),
            _ => None,
        })
        .max();
    match (broken, silent) {
        (Some((for_s, error)), silent) if silent.is_none_or(|s| s <= for_s) => {
            let reason = error.to_string();
            return if for_s >= STALE_AFTER_S {
                Connectivity::Stale { for_s, reason }
            } else {
                Connectivity::Reconnecting { for_s, reason }
            };
        }
        (_, Some(for_s)) => {
            return Connectivity::Stale { for_s, reason: "no word from the API server (watch silent)".into() };
        }
        _ => {}
    }
    if health.values().any(|h| matches!(h, WatchHealth::Syncing { .. })) {
        return Connectivity::Syncing;
    }
    Connectivity::Live
}

/// How current one cluster of a fleet is: `unreachable` while it cannot be connected to
/// (it is tried again), else as its own watches say.
pub fn member_connectivity(member: &Member, now: Timestamp) -> Connectivity {
    match &member.unreachable {
        Some(why) if member.health.is_empty() => Connectivity::Unreachable { reason: why.clone() },
        _ if member.health.is_empty() => Connectivity::Syncing,
        _ => {
            let denied = |kind| match member.health.get(&kind) {
                Some(WatchHealth::NoAccess { permission }) => Some(permission.clone()),
                _ => None,
            };
            match (denied(ResourceKind::Deployments), denied(ResourceKind::StatefulSets)) {
                (Some(deployments), Some(_)) => Connectivity::NoAccess { reason: deployments },
                _ => connectivity_of(&member.health, now),
            }
        }
    }
}

/// The permissions the user lacks, as the API names them. Kinds only one screen needs
/// (nodes for the scale preview, Helm's Secrets for the detail view) are said there.
pub fn missing_permissions(view: &ClusterView) -> Vec<&str> {
    view.health
        .iter()
        .filter(|(kind, _)| !kind.is_optional())
        .filter_map(|(_, h)| match h {
            WatchHealth::NoAccess { permission } => Some(permission.as_str()),
            _ => None,
        })
        .collect()
}

pub fn draw(ctx: &Context, mode: Mode, hints: &[(Command, &str)], frame: &mut Frame, area: Rect, now: Timestamp) {
    let theme = &ctx.theme;
    let view = &ctx.view;
    let bar = theme.style("ui.statusline");
    let sep = Span::styled(" │ ", bar);
    if let Some(fleet) = &view.fleet {
        return draw_fleet(ctx, fleet, hints, mode, frame, area, now);
    }
    let mut left = vec![
        Span::styled(format!(" {}", clean(&view.context)), bar),
        sep.clone(),
        Span::styled(view.namespace.clone().map_or("all namespaces".into(), |n| format!("ns {}", clean(&n))), bar),
        sep.clone(),
    ];
    let health = connectivity(view, now);
    let health_text = if ctx.awaiting.is_some() { "switching…".to_string() } else { health.label() };
    left.push(Span::styled(health_text, bar.patch(theme.style(health.style_key()))));
    if let (None, Some(reason)) = (&ctx.awaiting, health.reason()) {
        left.push(Span::styled(format!(": {}", clean(reason)), bar.patch(theme.style(health.style_key()))));
    }
    let missing = missing_permissions(view);
    if !missing.is_empty() {
        left.push(sep.clone());
        left.push(Span::styled(format!("no access: {}", missing.join(", ")), bar.patch(theme.style("state.warn"))));
    }
    let suspended = crate::model::services::gitops_suspended(view.services.iter().map(|s| &**s));
    if !suspended.is_empty() {
        let owners: Vec<String> = suspended.iter().map(|(owner, _)| clean(owner)).collect();
        left.push(sep.clone());
        left.push(Span::styled(format!("suspended: {}", owners.join(", ")), bar.patch(theme.style("state.warn"))));
    }
    if ctx.read_only {
        left.push(Span::styled(" ", bar));
        left.push(Span::styled(" READ-ONLY ", theme.style("ui.statusline.badge")));
    } else if ctx.view.profile.refusal.is_some() {
        // Stays after the banner is hidden: the refusal lasts until the profile loads.
        left.push(Span::styled(" ", bar));
        left.push(Span::styled(" READ-ONLY: PROFILE BROKEN ", theme.style("ui.statusline.badge")));
    }
    if let Some(notice) = &ctx.notice {
        left.push(sep);
        let style = if notice.error { theme.style("ui.error") } else { bar };
        left.push(Span::styled(clean(&notice.text), style));
    }
    finish(ctx, mode, hints, left, frame, area);
}

/// A fleet's status line: each cluster's state (`eu live · us stale 12s · ap
/// unreachable`), the namespace, the read-only badge and the last notice. A cluster's
/// reason is in the overview's title and in `status`; here each gets one word.
fn draw_fleet(
    ctx: &Context,
    fleet: &FleetStatus,
    hints: &[(Command, &str)],
    mode: Mode,
    frame: &mut Frame,
    area: Rect,
    now: Timestamp,
) {
    let theme = &ctx.theme;
    let view = &ctx.view;
    let bar = theme.style("ui.statusline");
    let sep = Span::styled(" │ ", bar);
    let mut left = vec![Span::styled(" ", bar)];
    for (i, member) in fleet.members.iter().enumerate() {
        if i > 0 {
            left.push(Span::styled(" · ", bar));
        }
        let health = member_connectivity(member, now);
        left.push(Span::styled(format!("{} ", clean(&member.context)), bar));
        left.push(Span::styled(health.label(), bar.patch(theme.style(health.style_key()))));
    }
    left.push(sep.clone());
    left.push(Span::styled(
        view.namespace.clone().map_or("all namespaces".into(), |n| format!("ns {}", clean(&n))),
        bar,
    ));
    if ctx.read_only {
        left.push(Span::styled(" ", bar));
        left.push(Span::styled(" READ-ONLY ", theme.style("ui.statusline.badge")));
    }
    if let Some(notice) = &ctx.notice {
        left.push(sep);
        let style = if notice.error { theme.style("ui.error") } else { bar };
        left.push(Span::styled(clean(&notice.text), style));
    }
    finish(ctx, mode, hints, left, frame, area);
}

/// Draws `left`, then the key hints on the right when they fit.
fn finish(
    ctx: &Context,
    mode: Mode,
    hints: &[(Command, &str)],
    left: Vec<Span<'static>>,
    frame: &mut Frame,
    area: Rect,
) {
    let theme = &ctx.theme;
    let bar = theme.style("ui.statusline");
    let hints: String = hints.iter().map(|(command, label)| hint(ctx, mode, *command, label)).collect();
    let hints_width = hints.chars().count() as u16;
    let line = Line::from(left).style(bar);
    let used = line.width() as u16;
    frame.render_widget(line, area);
    // The hints give way to anything the operator needs to read.
    if area.width >= used + hints_width + 2 {
        let right = Rect { x: area.x + area.width - hints_width, width: hints_width, ..area };
        frame.render_widget(Line::from(Span::styled(hints, theme.style("ui.hint"))).style(bar), right);
    }
}

/// `? help ` from the active keymap, so a remapped key is what the hint shows.
fn hint(ctx: &Context, mode: Mode, command: Command, label: &str) -> String {
    match ctx.keymap.keys_for(mode, command).first() {
        Some(key) => format!("{key} {label}  "),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn live_everywhere() -> BTreeMap<ResourceKind, WatchHealth> {
        ResourceKind::ALL.into_iter().map(|k| (k, WatchHealth::Live { since: at(0) })).collect()
    }

    #[test]
    fn a_silent_watch_is_stale_from_the_last_thing_heard_never_live() {
        let mut health = live_everywhere();
        assert_eq!(connectivity_of(&health, at(500)), Connectivity::Live);
        health.insert(ResourceKind::Pods, WatchHealth::Silent { heard: at(380) });
        let state = connectivity_of(&health, at(500));
        assert_eq!(state.label(), "stale 2m");
        assert!(state.reason().unwrap().contains("silent"), "{state:?}");
    }

    #[test]
    fn a_silent_optional_kind_leaves_the_screen_live() {
        let mut health = live_everywhere();
        health.insert(ResourceKind::HelmReleases, WatchHealth::Silent { heard: at(0) });
        assert_eq!(connectivity_of(&health, at(500)), Connectivity::Live);
    }

    #[test]
    fn a_broken_watch_says_why() {
        let mut health = live_everywhere();
        let error = "connection refused at https://10.0.0.1:6443".to_string();
        health.insert(ResourceKind::Deployments, WatchHealth::Reconnecting { since: at(495), error: error.clone() });
        let state = connectivity_of(&health, at(500));
        assert_eq!((state.label().as_str(), state.reason()), ("reconnecting 5s", Some(error.as_str())));
        assert!(matches!(connectivity_of(&health, at(560)), Connectivity::Stale { for_s: 65, .. }));
    }

    #[test]
    fn a_fleet_member_is_live_unreachable_or_without_access_on_its_own() {
        let member = |health, unreachable: Option<&str>| Member {
            context: "eu".into(),
            health,
            unreachable: unreachable.map(str::to_string),
            production: false,
        };
        assert_eq!(member_connectivity(&member(live_everywhere(), None), at(5)).label(), "live");
        let down = member_connectivity(&member(BTreeMap::new(), Some("connection refused")), at(5));
        assert_eq!((down.label().as_str(), down.reason()), ("unreachable", Some("connection refused")));
        let mut forbidden = live_everywhere();
        for kind in [ResourceKind::Deployments, ResourceKind::StatefulSets] {
            forbidden.insert(kind, WatchHealth::NoAccess { permission: format!("list {} in ns shop", kind.plural()) });
        }
        let denied = member_connectivity(&member(forbidden, None), at(5));
        assert_eq!((denied.label().as_str(), denied.reason()), ("no access", Some("list deployments in ns shop")));
    }
}
