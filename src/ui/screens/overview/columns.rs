//! The overview's columns: what each shows, how much it matters, and how wide it is drawn.
//! Widths come from the rows in view, so a short name leaves room for another column; a
//! narrow terminal drops the least important columns first and cuts long names in the
//! middle, so `…/soundspan-backend` and `…/soundspan-backend-worker` stay apart.

use jiff::Timestamp;
use ratatui::text::{Line, Span};

use crate::config::theme::Theme;
use crate::model::budget::BudgetState;
use crate::model::sanitize::clean;
use crate::model::service::{ProbeKind, RolloutState, Service, Severity};
use crate::model::slo::GateState;
use crate::ui::format::age;

/// A column of the overview, in the order they are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    /// Only in a fleet (several clusters at once).
    Cluster,
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
    Slo,
    /// The GitOps owner's state (shown only when a service in view has one).
    GitOps,
    Checks,
    Age,
}

impl Col {
    pub const ALL: [Col; 16] = [
        Col::Cluster,
        Col::Namespace,
        Col::Service,
        Col::Kind,
        Col::Ready,
        Col::UpToDate,
        Col::Available,
        Col::Hpa,
        Col::Rollout,
        Col::Probes,
        Col::Pdb,
        Col::Budget,
        Col::Slo,
        Col::GitOps,
        Col::Checks,
        Col::Age,
    ];

    /// The column sorted by after this one: the next one to the right, round the end.
    /// The SLO gate is known only while drawing, so it does not sort.
    pub fn next_sort(self) -> Col {
        let at = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        let next = Self::ALL[(at + 1) % Self::ALL.len()];
        // Rows of one service in several clusters already sit together (sorted by key).
        if matches!(next, Col::Slo | Col::Cluster) { next.next_sort() } else { next }
    }

    pub fn header(self) -> &'static str {
        match self {
            Col::Cluster => "CLUSTER",
            Col::Namespace => "NAMESPACE",
            Col::Service => "SERVICE",
            Col::Kind => "KIND",
            Col::Ready => "READY",
            Col::UpToDate => "UP-TO-DATE",
            Col::Available => "AVAILABLE",
            Col::Hpa => "HPA",
            Col::Rollout => "ROLLOUT",
            Col::Probes => "PROBES",
            Col::Pdb => "PDB",
            Col::Budget => "BUDGET",
            Col::Slo => "SLO",
            Col::GitOps => "GITOPS",
            Col::Checks => "CHECKS",
            Col::Age => "AGE",
        }
    }

    /// How long the column stays as the terminal narrows (0 stays longest). What only
    /// this tool knows (disruption budget, connection budget, SLO, checks) outranks what
    /// `kubectl get` shows anyway (up-to-date, available, age); the namespace folds into
    /// the service name when its column goes.
    pub fn priority(self) -> u8 {
        match self {
            Col::Service | Col::Cluster => 0,
            Col::Ready => 1,
            Col::Rollout => 2,
            Col::Pdb => 3,
            Col::Probes => 4,
            Col::Budget => 5,
            Col::Slo => 6,
            Col::GitOps => 7,
            Col::Checks => 8,
            Col::Hpa => 9,
            Col::Age => 10,
            Col::UpToDate => 11,
            Col::Available => 12,
            Col::Namespace => 13,
            Col::Kind => 14,
        }
    }

    /// Names may be cut (in the middle) to make room; every other column shows whole.
    fn cuttable(self) -> bool {
        matches!(self, Col::Service | Col::Namespace)
    }

    /// What the column means, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            Col::Cluster => {
                "the cluster (kubeconfig context); ≠ the service differs between clusters (enter shows how)"
            }
            Col::Namespace => "the workload's namespace",
            Col::Service => "the Deployment or StatefulSet (namespace/name when namespaces are mixed)",
            Col::Kind => "deploy (Deployment) or sts (StatefulSet)",
            Col::Ready => "ready pods / desired replicas",
            Col::UpToDate => "pods on the newest template",
            Col::Available => "pods available for at least minReadySeconds",
            Col::Hpa => "the autoscaler's min-max replicas; - none",
            Col::Rollout => "complete, N of M updated, paused or stalled (past its progress deadline)",
            Col::Probes => "S startup, R readiness, L liveness probe present (- missing); green all pods ready",
            Col::Pdb => "disruptions allowed / pods healthy, from the PodDisruptionBudget; - none",
            Col::Budget => "share of its database's usable connections the services use; - no database",
            Col::Slo => "the SLO gate from its log rules: pass, warn or FAIL; - no rules followed",
            Col::GitOps => {
                "the Flux or Argo CD owner: Ready, not ready (why), suspended, unknown; + drift: changed behind its back"
            }
            Col::Checks => {
                "preflight checks the manifest fails by severity (1E 3W 2I: errors, warnings, notes); - none"
            }
            Col::Age => "time since the workload was created",
        }
    }
}

/// What every row's cells share.
pub struct CellContext {
    pub now: Timestamp,
    pub pdb_access: bool,
    pub hpa_access: bool,
    /// Show `namespace/name` (the NAMESPACE column is gone but several namespaces are shown).
    pub qualify: bool,
    /// The services (namespace, name) that differ between the clusters of a fleet.
    pub drifted: Option<std::sync::Arc<crate::cluster::session::FleetStatus>>,
}

/// The cell of `col` for `s`, uncut.
pub fn cell(theme: &Theme, col: Col, s: &Service, ctx: &CellContext, slo: Option<GateState>) -> Line<'static> {
    let r = &s.replicas;
    let dim = |text: &'static str| Line::from(Span::styled(text, theme.style("ui.text.dim")));
    match col {
        Col::Cluster => {
            let name = Span::raw(clean(s.key.cluster.as_deref().unwrap_or("-")));
            match &ctx.drifted {
                Some(fleet) if fleet.drift_of(s).is_some() => {
                    Line::from(vec![name, Span::styled(" ≠", theme.style("state.warn"))])
                }
                _ => Line::from(name),
            }
        }
        Col::Namespace => Line::from(clean(&s.key.namespace)),
        Col::Service if ctx.qualify => Line::from(clean(&format!("{}/{}", s.key.namespace, s.key.name))),
        Col::Service => Line::from(clean(&s.key.name)),
        Col::Kind => Line::from(s.key.kind.short()),
        Col::Ready => Line::from(format!("{}/{}", r.ready, r.desired)),
        Col::UpToDate => Line::from(r.updated.to_string()),
        Col::Available => Line::from(r.available.to_string()),
        Col::Hpa => match &s.hpa {
            _ if !ctx.hpa_access => Line::from("no access"),
            Some(h) => Line::from(format!("{}-{}", h.min, h.max)),
            None => dim("-"),
        },
        Col::Rollout => rollout_cell(theme, s),
        Col::Probes => probes_cell(theme, s),
        Col::Pdb => match &s.pdb {
            _ if !ctx.pdb_access => Line::from("no access"),
            Some(p) => Line::from(format!("{}/{}", p.disruptions_allowed, p.current_healthy)),
            None => dim("-"),
        },
        Col::Budget => budget_cell(theme, s),
        Col::Checks => checks_cell(theme, s),
        Col::Slo => match slo {
            Some(state) => Line::from(Span::styled(gate_word(state), super::super::logs::gate_style(theme, state))),
            None => dim("-"),
        },
        Col::GitOps => gitops_cell(theme, s),
        Col::Age => Line::from(age(s.created, ctx.now)),
    }
}

/// The owner's state as a badge: `Ready`, `not ready: <why>` (cut), `suspended`, with
/// `+ drift` when a field was changed behind its back.
fn gitops_cell(theme: &Theme, s: &Service) -> Line<'static> {
    use crate::model::gitops::OwnerState;
    let Some(g) = &s.gitops else { return Line::from(Span::styled("-", theme.style("ui.text.dim"))) };
    let state = g.state();
    let key = match state {
        OwnerState::Ready => "state.ok",
        OwnerState::NotReady(_) => "state.error",
        OwnerState::Suspended => "state.warn",
        OwnerState::Unknown => "ui.text.dim",
    };
    let mut text = clean(&state.badge());
    if text.chars().count() > 32 {
        text = text.chars().take(31).collect::<String>() + "…";
    }
    let mut spans = vec![Span::styled(text, theme.style(key))];
    if !g.drift.is_empty() {
        spans.push(Span::styled(" + drift", theme.style("state.warn")));
    }
    Line::from(spans)
}

/// The SLO gate as the SLO column prints it.
pub fn gate_word(state: GateState) -> &'static str {
    match state {
        GateState::Pass => "pass",
        GateState::Warn => "warn",
        GateState::Fail => "FAIL",
    }
}

fn rollout_cell(theme: &Theme, s: &Service) -> Line<'static> {
    let r = &s.replicas;
    let (text, key) = match s.rollout.state {
        RolloutState::Complete => ("complete".to_string(), "state.ok"),
        RolloutState::Progressing => (format!("{} of {}", r.updated, r.desired), "state.info"),
        RolloutState::Stalled => ("stalled".to_string(), "state.error"),
        RolloutState::Paused => ("paused".to_string(), "state.warn"),
    };
    Line::from(Span::styled(text, theme.style(key)))
}

/// How many preflight checks the manifest fails by severity (`1E 3W 2I`), coloured by the
/// worst (`-` for none). Design advice, not a problem now: it never colours the row.
fn checks_cell(theme: &Theme, s: &Service) -> Line<'static> {
    let found = s.lint_findings();
    match found.first() {
        None => Line::from(Span::styled("-", theme.style("ui.text.dim"))),
        Some(worst) => Line::from(Span::styled(
            by_severity(found.iter().map(|f| f.severity)),
            super::super::findings::severity_style(theme, worst.severity),
        )),
    }
}

/// `1E 3W 2I`: errors, warnings and notes, worst first, leaving out what is zero.
pub fn by_severity(severities: impl Iterator<Item = Severity>) -> String {
    let mut counts = [0usize; 3];
    for severity in severities {
        counts[severity as usize] += 1;
    }
    [(Severity::Error, 'E'), (Severity::Warning, 'W'), (Severity::Info, 'I')]
        .iter()
        .filter(|(severity, _)| counts[*severity as usize] > 0)
        .map(|(severity, letter)| format!("{}{letter}", counts[*severity as usize]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The service's database's use, coloured by its state; `-` when it uses none; the
/// database's demand (`90/?`) when its limit is unknown.
fn budget_cell(theme: &Theme, s: &Service) -> Line<'static> {
    let Some(b) = &s.budget else { return Line::from(Span::styled("-", theme.style("ui.text.dim"))) };
    let key = match b.state {
        BudgetState::Unknown => "ui.text.dim",
        BudgetState::Ok => "state.ok",
        BudgetState::Warn => "state.warn",
        BudgetState::Over => "state.error",
    };
    Line::from(Span::styled(b.short(), theme.style(key)))
}

/// `S R L`: which probes exist, coloured by how the pods are doing; `-` for a missing one.
fn probes_cell(theme: &Theme, s: &Service) -> Line<'static> {
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
    Line::from(spans)
}

/// A column as drawn: which one and how wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placed {
    pub col: Col,
    pub width: u16,
}

/// The columns that fit in `width` and their widths, from each candidate's `natural`
/// width (its widest cell in view, header included). The least important columns go
/// first until the rest fit with the names at their least; what is left widens the names
/// up to their natural width.
pub fn fit(width: u16, natural: &[(Col, u16)]) -> Vec<Placed> {
    // A name keeps two fifths of the screen (at least 16) unless it is shorter: at 80
    // columns that is a whole `namespace/name` of most services.
    let least = |col: Col, natural: u16| if col.cuttable() { natural.min((width * 2 / 5).max(16)) } else { natural };
    let mut shown: Vec<(Col, u16)> = natural.to_vec();
    let needed = |shown: &[(Col, u16)]| -> u16 {
        let cells: u16 = shown.iter().map(|&(c, n)| least(c, n)).sum();
        cells + shown.len().saturating_sub(1) as u16
    };
    while needed(&shown) > width {
        let Some(drop) = shown.iter().map(|&(c, _)| c).filter(|&c| c != Col::Service).max_by_key(|c| c.priority())
        else {
            break;
        };
        shown.retain(|&(c, _)| c != drop);
    }
    let mut spare = width.saturating_sub(needed(&shown));
    let mut placed: Vec<Placed> = shown.iter().map(|&(col, n)| Placed { col, width: least(col, n) }).collect();
    // The service name widens first, then the namespace.
    for col in [Col::Service, Col::Namespace] {
        let Some(at) = placed.iter().position(|p| p.col == col) else { continue };
        let Some(&(_, natural)) = shown.iter().find(|(c, _)| *c == col) else { continue };
        let more = natural.saturating_sub(placed[at].width).min(spare);
        placed[at].width += more;
        spare -= more;
    }
    placed
}

/// `text` in at most `width` characters, cut in the middle with an ellipsis so that its
/// beginning and its end (where names differ: `-worker`, `-canary`) both stay readable.
pub fn cut_middle(text: &str, width: usize) -> String {
    let length = text.chars().count();
    if length <= width {
        return text.to_string();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    // The end carries more of the difference between similar names: give it the odd one.
    let tail = width / 2;
    let head = width - 1 - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(length - tail).collect();
    format!("{start}…{end}")
}

/// `line` cut to `width` in the middle (its style kept: names carry one style).
pub fn cut_line(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let style = line.spans.first().map(|s| s.style).unwrap_or_default();
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    Line::from(Span::styled(cut_middle(&text, width), style))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo at `-A` without a namespace column: the widest cells of each column.
    fn demo_columns() -> Vec<(Col, u16)> {
        vec![
            (Col::Service, 42),
            (Col::Kind, 6),
            (Col::Ready, 5),
            (Col::UpToDate, 10),
            (Col::Available, 9),
            (Col::Hpa, 5),
            (Col::Rollout, 8),
            (Col::Probes, 6),
            (Col::Pdb, 3),
            (Col::Budget, 6),
            (Col::Slo, 4),
            (Col::Checks, 6),
            (Col::Age, 4),
        ]
    }

    #[test]
    fn the_gitops_badge_says_the_owners_state_and_drift() {
        use crate::config::theme::{TerminalColors, Theme};
        use crate::model::gitops::{Drift, GitOpsOwner, OwnerKind, OwnerRef, ServiceGitOps};
        let theme = Theme::builtin("dark", &TerminalColors::from_values(false, "")).unwrap();
        let ctx =
            CellContext { now: Timestamp::now(), pdb_access: true, hpa_access: true, qualify: false, drifted: None };
        let text = |s: &Service| cell(&theme, Col::GitOps, s, &ctx, None).to_string();
        let mut s = Service::example("shop", "api", 2);
        assert_eq!(text(&s), "-");
        let owner = GitOpsOwner {
            kind: OwnerKind::Kustomization,
            namespace: "flux-system".into(),
            name: "apps".into(),
            ready: None,
            suspended: true,
            revision: None,
            interval: Some("10m".into()),
            automated: None,
            saved_automated: None,
            source: None,
            applied_digest: None,
        };
        let owner_ref = OwnerRef { kind: OwnerKind::Kustomization, namespace: None, name: "apps".into() };
        s.gitops = Some(ServiceGitOps { owner: owner_ref.clone(), state: Some(owner), drift: vec![], source: None });
        assert_eq!(text(&s), "suspended");
        let drift =
            Drift { field: "spec.replicas".into(), manager: "kubectl".into(), operation: "Update".into(), time: None };
        s.gitops = Some(ServiceGitOps { owner: owner_ref, state: None, drift: vec![drift], source: None });
        assert_eq!(text(&s), "unknown + drift");
    }

    #[test]
    fn checks_count_by_severity_worst_first() {
        let found = [Severity::Warning, Severity::Info, Severity::Error, Severity::Warning, Severity::Warning];
        assert_eq!(by_severity(found.into_iter()), "1E 3W 1I");
        assert_eq!(by_severity([Severity::Warning].into_iter()), "1W");
    }

    #[test]
    fn a_narrow_terminal_keeps_what_only_the_cockpit_knows() {
        let placed = fit(80, &demo_columns());
        let cols: Vec<Col> = placed.iter().map(|p| p.col).collect();
        for kept in [Col::Service, Col::Ready, Col::Rollout, Col::Probes, Col::Pdb, Col::Budget, Col::Slo, Col::Checks]
        {
            assert!(cols.contains(&kept), "{kept:?} kept at 80: {cols:?}");
        }
        for dropped in [Col::Kind, Col::UpToDate, Col::Available] {
            assert!(!cols.contains(&dropped), "{dropped:?} goes first at 80: {cols:?}");
        }
        let used: u16 = placed.iter().map(|p| p.width).sum::<u16>() + placed.len() as u16 - 1;
        assert!(used <= 80, "{placed:?}");
        assert!(placed[0].width >= 32, "the name keeps two fifths of the screen: {placed:?}");
    }

    #[test]
    fn columns_go_strictly_by_priority() {
        for width in 20..200 {
            let cols: Vec<Col> = fit(width, &demo_columns()).iter().map(|p| p.col).collect();
            let worst_kept = cols.iter().map(|c| c.priority()).max().unwrap();
            for (col, _) in demo_columns() {
                if !cols.contains(&col) {
                    assert!(col.priority() > worst_kept, "{col:?} dropped before a less important one at {width}");
                }
            }
        }
    }

    #[test]
    fn a_wide_terminal_shows_every_column_at_its_natural_width() {
        let placed = fit(200, &demo_columns());
        assert_eq!(placed.len(), demo_columns().len());
        assert!(placed.iter().zip(demo_columns()).all(|(p, (_, n))| p.width == n), "{placed:?}");
    }

    #[test]
    fn names_are_cut_in_the_middle_and_stay_apart() {
        let a = cut_middle("soundspan-staging/soundspan-backend", 26);
        let b = cut_middle("soundspan-staging/soundspan-backend-worker", 26);
        assert_eq!(a.chars().count(), 26);
        assert_eq!(b.chars().count(), 26);
        assert_ne!(a, b);
        assert!(a.starts_with("soundspan-st") && a.ends_with("an-backend"), "{a}");
        assert!(b.ends_with("end-worker"), "{b}");
        assert_eq!(cut_middle("api", 10), "api");
        assert_eq!(cut_middle("abcdef", 1), "…");
        assert_eq!(cut_middle("abcdef", 0), "");
    }
}
