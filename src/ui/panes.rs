//! Live log panes: per pane, the followed service's lines (sanitised, bounded), the SLO
//! rules that apply to it, follow/pause, scroll, wrap, timestamps and a filter regex. The
//! streams themselves are the runtime's ([`crate::cluster::logs::LogFollower`]); this is
//! the state they feed and the views read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use regex::Regex;

use crate::cluster::logs::LogEvent;
use crate::effects::logs::Follow;
use crate::model::service::{Service, ServiceKey};
use crate::model::slo::{self, GateState, LogBuffer, RuleSet, RuleVerdict, SloCounts, SloRule, SloWatch};

/// At most this many panes side by side or stacked.
pub const MAX_PANES: usize = 4;
/// Container streams one pane may open (a 50-pod service is capped, and says so).
pub const STREAM_CAP: usize = 24;
/// A newly opened pane starts with this much history.
pub const BACKFILL_S: u64 = 300;
/// Container streams all the background SLO watches may open together: a cluster with
/// rules on many services is not tailed whole.
pub const WATCH_STREAM_CAP: usize = 48;
/// Ids of background watches, apart from pane ids, so a line finds its owner.
pub const WATCH_ID_BASE: u64 = 1 << 62;

pub struct Pane {
    /// Stable across pane closes, so late events of a closed pane are dropped.
    pub id: u64,
    pub key: ServiceKey,
    pub buffer: LogBuffer,
    /// The rules that apply to this service, compiled for highlighting.
    pub rules: Option<RuleSet>,
    /// The same rules' counts over their windows, from every line that arrived (not only
    /// the ones the buffer still holds), so a verdict is exact past 10,000 lines.
    pub counts: Option<SloCounts>,
    /// Which colour each pod's prefix gets, in order of appearance.
    pub pod_colours: BTreeMap<String, usize>,
    pub follow: bool,
    /// Lines above the bottom when not following.
    pub scroll_back: usize,
    pub wrap: bool,
    pub timestamps: bool,
    pub filter: Option<Regex>,
    /// Highlighted, and what `n` / `N` jump between.
    pub search: Option<Regex>,
    pub streams: usize,
    /// (wanted, cap) when there were more containers than the cap.
    pub capped: Option<(usize, usize)>,
    /// The last stream interruption, shown until the stream is back.
    pub interrupted: Option<String>,
}

impl Pane {
    pub fn new(id: u64, key: ServiceKey, rules: &[SloRule], service: Option<&Service>, keep_sgr: bool) -> Pane {
        let applying: Vec<SloRule> =
            rules.iter().filter(|r| service.is_some_and(|s| r.applies_to(s))).cloned().collect();
        let rules = (!applying.is_empty()).then(|| RuleSet::new(applying).ok()).flatten();
        Pane {
            id,
            key,
            buffer: if keep_sgr { LogBuffer::new().keeping_sgr() } else { LogBuffer::new() },
            counts: rules.clone().map(|set| SloCounts::new(set, 0)),
            rules,
            pod_colours: BTreeMap::new(),
            follow: true,
            scroll_back: 0,
            wrap: false,
            timestamps: false,
            filter: None,
            search: None,
            streams: 0,
            capped: None,
            interrupted: None,
        }
    }

    /// Takes one event of this pane's follower.
    pub fn on_event(&mut self, event: LogEvent) {
        match event {
            LogEvent::Line(line) => {
                let next = self.pod_colours.len();
                self.pod_colours.entry(line.pod.clone()).or_insert(next);
                let record = self.buffer.push_raw(line.at, &line.pod, line.pod_started, &line.bytes);
                if let Some(counts) = &mut self.counts {
                    counts.push(record.at, record.pod_started, &record.line);
                }
                if !self.follow {
                    // Paused: the view stays on the same lines while new ones arrive below.
                    self.scroll_back += 1;
                }
            }
            LogEvent::Attached { .. } => self.interrupted = None,
            LogEvent::Interrupted { pod, cause, .. } => self.interrupted = Some(format!("{pod}: {cause}")),
            LogEvent::Capped { wanted, cap } => self.capped = Some((wanted, cap)),
        }
    }

    /// The rules' verdicts over every line that arrived in their windows.
    pub fn verdicts(&self, now: Timestamp) -> Vec<RuleVerdict> {
        self.counts.as_ref().map(|counts| counts.verdicts(now)).unwrap_or_default()
    }

    /// The pane's gate: `None` when no rule applies (no state rather than a false pass).
    pub fn gate(&self, now: Timestamp) -> Option<GateState> {
        self.rules.as_ref().map(|_| slo::gate(&self.verdicts(now)))
    }

    /// Indexes of the buffered lines the filter lets through, oldest first.
    pub fn visible(&self) -> Vec<usize> {
        (0..self.buffer.len())
            .filter(|&i| match (&self.filter, self.buffer.get(i)) {
                (Some(filter), Some(r)) => filter.is_match(&r.line),
                _ => true,
            })
            .collect()
    }

    /// Moves the view to the next search hit above (`older`) or below the bottom line shown;
    /// `false` when there is none.
    pub fn jump_to_match(&mut self, older: bool) -> bool {
        let Some(search) = &self.search else { return false };
        let visible = self.visible();
        let bottom = visible.len().saturating_sub(self.scroll_back.min(visible.len()));
        let hit = |&(_, &i): &(usize, &usize)| self.buffer.get(i).is_some_and(|r| search.is_match(&r.line));
        let found = if older {
            visible.iter().enumerate().take(bottom.saturating_sub(1)).rev().find(hit)
        } else {
            visible.iter().enumerate().skip(bottom).find(hit)
        };
        match found {
            Some((at, _)) => {
                self.scroll_back = visible.len() - at - 1;
                self.follow = self.scroll_back == 0;
                true
            }
            None => false,
        }
    }

    pub fn toggle_follow(&mut self) {
        self.follow = !self.follow;
        if self.follow {
            self.scroll_back = 0;
        }
    }

    pub fn scroll(&mut self, delta: isize) {
        self.scroll_back = self.scroll_back.saturating_add_signed(-delta).min(self.buffer.len());
        self.follow = self.scroll_back == 0;
    }
}

/// The panes screen.
#[derive(Default)]
pub struct LogPanes {
    pub panes: Vec<Pane>,
    pub focus: usize,
    pub side_by_side: bool,
    /// The theme keeps the colours pods print (`log.allow_sgr`).
    pub keep_sgr: bool,
    next_id: u64,
}

impl LogPanes {
    /// Opens a pane for `key` (or focuses the one that has it). `Err` when four are open.
    pub fn open(&mut self, key: ServiceKey, rules: &[SloRule], service: Option<&Service>) -> Result<(), String> {
        if let Some(at) = self.panes.iter().position(|p| p.key == key) {
            self.focus = at;
            return Ok(());
        }
        if self.panes.len() >= MAX_PANES {
            return Err(format!("{MAX_PANES} panes are open: close one (x) first"));
        }
        self.next_id += 1;
        self.panes.push(Pane::new(self.next_id, key, rules, service, self.keep_sgr));
        self.focus = self.panes.len() - 1;
        Ok(())
    }

    /// Closes every pane; ids keep counting up, so a late line of an old pane goes nowhere.
    pub fn close_all(&mut self) {
        self.panes.clear();
        self.focus = 0;
    }

    pub fn close_focused(&mut self) {
        if self.focus < self.panes.len() {
            self.panes.remove(self.focus);
        }
        self.focus = self.focus.min(self.panes.len().saturating_sub(1));
    }

    pub fn focused(&mut self) -> Option<&mut Pane> {
        self.panes.get_mut(self.focus)
    }

    pub fn cycle(&mut self, delta: isize) {
        if !self.panes.is_empty() {
            let n = self.panes.len() as isize;
            self.focus = (self.focus as isize + delta).rem_euclid(n) as usize;
        }
    }

    /// Routes a follower's event to its pane; events of closed panes are dropped.
    pub fn on_event(&mut self, pane_id: u64, event: LogEvent) {
        if let Some(pane) = self.panes.iter_mut().find(|p| p.id == pane_id) {
            pane.on_event(event);
        }
    }

    /// The gate state of every service with an open pane and rules.
    pub fn gates(&self, now: Timestamp) -> BTreeMap<ServiceKey, GateState> {
        self.panes.iter().filter_map(|p| Some((p.key.clone(), p.gate(now)?))).collect()
    }
}

/// A service followed in the background for the overview's SLO column.
#[derive(Debug)]
pub struct Watched {
    pub id: u64,
    pub watch: SloWatch,
    /// The longest window of its rules: how far back its logs are read on attach.
    pub backfill_s: u64,
    /// Containers it follows (for the cap).
    pub containers: usize,
}

/// Every service some rule applies to and no pane shows, followed for its SLO state only.
#[derive(Debug, Default)]
pub struct SloWatches {
    pub watched: BTreeMap<ServiceKey, Watched>,
    /// Services with rules left unwatched by [`WATCH_STREAM_CAP`].
    pub capped: usize,
    next_id: u64,
}

impl SloWatches {
    /// Watches the services with rules (problems first, as the view orders them) up to the
    /// cap; stops watching the ones that went, lost their rules, or got a pane.
    pub fn sync(&mut self, services: &[Arc<Service>], rules: &[SloRule], panes: &LogPanes) {
        let wanted: Vec<(&Service, Vec<SloRule>)> = services
            .iter()
            .map(|s| &**s)
            .filter(|s| !panes.panes.iter().any(|p| p.key == s.key))
            .map(|s| (s, rules.iter().filter(|r| r.applies_to(s)).cloned().collect::<Vec<_>>()))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        self.watched.retain(|key, _| wanted.iter().any(|(s, _)| &s.key == key));
        let mut streams: usize = self.watched.values().map(|w| w.containers).sum();
        self.capped = 0;
        for (service, rules) in wanted {
            let containers: usize = service.pods.iter().map(|p| p.containers.len()).sum();
            if let Some(w) = self.watched.get_mut(&service.key) {
                streams += containers.saturating_sub(w.containers);
                w.containers = containers;
                continue;
            }
            if streams + containers > WATCH_STREAM_CAP {
                self.capped += 1;
                continue;
            }
            let backfill_s = rules.iter().map(|r| u64::try_from(r.window_s).unwrap_or(0)).max().unwrap_or(0);
            let Ok(watch) = SloWatch::new(rules) else { continue };
            self.next_id += 1;
            streams += containers;
            let id = WATCH_ID_BASE + self.next_id;
            self.watched.insert(service.key.clone(), Watched { id, watch, backfill_s, containers });
        }
    }

    pub fn on_event(&mut self, id: u64, event: LogEvent) {
        let LogEvent::Line(line) = event else { return };
        if let Some(w) = self.watched.values_mut().find(|w| w.id == id) {
            w.watch.push(line.at, &line.pod, line.pod_started, &line.bytes);
        }
    }

    pub fn gates(&self, now: Timestamp) -> BTreeMap<ServiceKey, GateState> {
        self.watched.iter().map(|(k, w)| (k.clone(), w.watch.gate(now))).collect()
    }
}

impl LogPanes {
    /// The streams the open panes want followed.
    pub fn follows(&self) -> impl Iterator<Item = Follow> + '_ {
        self.panes.iter().map(|p| Follow { id: p.id, key: p.key.clone(), backfill_s: BACKFILL_S, cap: STREAM_CAP })
    }

    /// How many container streams each pane follows now (its title says so).
    pub fn set_followed(&mut self, followed: &HashMap<u64, usize>) {
        for pane in &mut self.panes {
            pane.streams = followed.get(&pane.id).copied().unwrap_or(0);
        }
    }
}

impl SloWatches {
    /// The streams the background SLO watches want followed.
    pub fn follows(&self) -> impl Iterator<Item = Follow> + '_ {
        self.watched.iter().map(|(key, w)| Follow {
            id: w.id,
            key: key.clone(),
            backfill_s: w.backfill_s,
            cap: STREAM_CAP,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::logs::LogLine;
    use crate::model::slo::builtin_demo_rules;

    fn line(pod: &str, text: &str, at: Timestamp) -> LogEvent {
        let bytes = text.as_bytes().to_vec();
        LogEvent::Line(LogLine { pod: pod.into(), container: "c".into(), at, bytes, pod_started: None })
    }

    #[test]
    fn panes_open_up_to_four_focus_and_close() {
        let mut panes = LogPanes::default();
        for name in ["a", "b", "c", "d"] {
            panes.open(Service::example("ns", name, 1).key, &[], None).unwrap();
        }
        assert!(panes.open(Service::example("ns", "e", 1).key, &[], None).is_err());
        panes.open(Service::example("ns", "b", 1).key, &[], None).unwrap();
        assert_eq!(panes.focus, 1, "an open service is focused, not opened twice");
        panes.close_focused();
        assert_eq!(panes.panes.len(), 3);
        panes.cycle(-1);
        assert_eq!(panes.focus, 0);
    }

    #[test]
    fn a_rule_counts_every_line_in_its_window_not_only_the_buffered_ones() {
        // A threshold above the pane's 10,000 buffered lines must still fail when crossed.
        let now = Timestamp::now();
        let service = Service::example("shop", "api", 1);
        let rule = SloRule {
            name: "errors".into(),
            pattern: slo::parse_rule_pattern("ERROR").unwrap(),
            services: None,
            severity: crate::model::service::Severity::Error,
            window_s: 900,
            threshold: 12_000,
            startup_grace_s: 0,
            sustained: None,
            capture: None,
        };
        let mut panes = LogPanes::default();
        panes.open(service.key.clone(), &[rule], Some(&service)).unwrap();
        let id = panes.panes[0].id;
        for k in 0..12_000i64 {
            let at = now - jiff::SignedDuration::from_millis(600_000 - k * 50);
            panes.on_event(id, line("p1", "ERROR upstream reset", at));
        }
        assert_eq!(panes.panes[0].buffer.len(), LogBuffer::DEFAULT_CAPACITY);
        let verdicts = panes.panes[0].verdicts(now);
        assert_eq!(verdicts[0].matches, 12_000);
        assert_eq!(panes.gates(now).get(&service.key), Some(&GateState::Fail));
    }

    #[test]
    fn lines_are_sanitised_coloured_by_pod_and_paused_panes_hold_still() {
        let now = Timestamp::now();
        let backend = Service::example("soundspan", "soundspan-backend", 2);
        let mut panes = LogPanes::default();
        panes.open(backend.key.clone(), &builtin_demo_rules(), Some(&backend)).unwrap();
        let id = panes.panes[0].id;
        let services = [backend];
        panes.on_event(id, line("p1", "\x1b]0;pwned\x07hello", now));
        panes.on_event(id, line("p2", "[ListenTogether/SLO] Reconnect latency 7000ms exceeded target 5000ms", now));
        let pane = &mut panes.panes[0];
        assert_eq!(pane.buffer.get(0).unwrap().line, "hello");
        assert_eq!(pane.pod_colours["p2"], 1);
        assert_eq!(pane.rules.as_ref().unwrap().matching(&pane.buffer.get(1).unwrap().line), [0]);
        assert_eq!(panes.gates(now).get(&services[0].key), Some(&GateState::Warn), "matches, not yet sustained");
        let pane = &mut panes.panes[0];
        pane.toggle_follow();
        panes.on_event(id, line("p1", "more", now));
        assert_eq!(panes.panes[0].scroll_back, 1, "paused: the view keeps its lines");
        let pane = &mut panes.panes[0];
        pane.filter = Some(Regex::new("SLO").unwrap());
        assert_eq!(pane.visible(), [1]);
        pane.filter = None;
        pane.search = Some(Regex::new("hello").unwrap());
        pane.scroll_back = 0;
        assert!(pane.jump_to_match(true), "older: the first line");
        assert_eq!(pane.scroll_back, 2);
        assert!(!pane.jump_to_match(true), "nothing older");
        assert!(!pane.jump_to_match(false), "nothing newer");
    }

    #[test]
    fn a_theme_that_keeps_colours_keeps_only_plain_sgr() {
        let mut panes = LogPanes { keep_sgr: true, ..LogPanes::default() };
        panes.open(Service::example("ns", "api", 1).key, &[], None).unwrap();
        let id = panes.panes[0].id;
        panes.on_event(id, line("p1", "\x1b[31mred\x1b[0m \x1b]0;pwned\x07\x1b[2Jplain", Timestamp::now()));
        let record = panes.panes[0].buffer.get(0).unwrap();
        assert_eq!(record.line, "red plain", "rules and searches see the text alone");
        let coloured = record.coloured.as_deref().unwrap();
        assert!(
            coloured.contains("\x1b[31m") && !coloured.contains("\x1b]") && !coloured.contains("\x1b[2J"),
            "{coloured:?}"
        );
        let spans = crate::ui::sgr::spans(coloured, ratatui::style::Style::default());
        assert_eq!(spans[0].content, "red");
        assert_eq!(spans[0].style.fg, Some(ratatui::style::Color::Indexed(1)));

        let mut plain = LogPanes::default();
        plain.open(Service::example("ns", "api", 1).key, &[], None).unwrap();
        let id = plain.panes[0].id;
        plain.on_event(id, line("p1", "\x1b[31mred\x1b[0m", Timestamp::now()));
        assert_eq!(plain.panes[0].buffer.get(0).unwrap().coloured, None, "stripped by default");
    }

    #[test]
    fn services_without_rules_have_no_gate() {
        let web = Service::example("shop", "web", 1);
        let mut panes = LogPanes::default();
        panes.open(web.key.clone(), &builtin_demo_rules(), Some(&web)).unwrap();
        assert_eq!(panes.panes[0].gate(Timestamp::now()), None);
    }
}
