//! SLO log rules: the runbook's "follow every pod's logs during a rollout and fail it if
//! the SLO warnings are sustained" as data. A rule is a pattern over log lines (optionally
//! with a number it captures, compared with a target), a window, and a failure condition:
//! either a plain count threshold or matches sustained over consecutive minutes. Pure: the
//! caller passes `now` and the records; nothing here reads a clock or a stream.
//!
//! Time is measured backwards from `now`: the window is `[now - window, now]` (inclusive at
//! both ends, as `kubectl logs --since` keeps a line stamped exactly at the cut-off), and it
//! is split into minutes of age (`[0 s, 60 s)`, `[60 s, 120 s)`, …) rather than wall-clock
//! minutes, so the newest minute is always a whole one and nothing depends on where `now`
//! falls within a clock minute. A line exactly `window` old lands in the oldest minute.
//!
//! "Sustained" means *still happening*: the failing minutes must be the newest ones, ending
//! at `now`. A burst that stopped a minute ago leaves the rule at Warn (matches in the
//! window) but no longer Fail, which is what the seed's "warnings continue after the initial
//! startup window" asks of a rollout gate.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

use jiff::{SignedDuration, Timestamp};
use regex::{Captures, Regex, RegexSet};
use serde::Serialize;

use super::sanitize::{Sgr, cut_for_display, sanitize_bytes};
use super::service::{Service, Severity};
use super::service_match::{ServiceMatch, covers};

/// One log rule of a profile (or of the built-in demo).
#[derive(Clone, Debug)]
pub struct SloRule {
    pub name: String,
    pub pattern: Regex,
    /// `None`: every service whose logs are streamed.
    pub services: Option<ServiceMatch>,
    /// What a failing rule means for the gate: Warning holds a rollout at Warn, Error fails it.
    pub severity: Severity,
    pub window_s: i64,
    /// Matches within the window at which the rule fails (used when there is no `sustained`).
    pub threshold: u32,
    /// A pod's lines during its first `startup_grace_s` seconds do not count.
    pub startup_grace_s: i64,
    /// Fail only if the newest `minutes` minutes each have at least `per_minute` matches.
    pub sustained: Option<Sustained>,
    /// A line counts only if the number captured by the pattern compares with the target.
    pub capture: Option<Capture>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sustained {
    pub per_minute: u32,
    pub minutes: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Capture {
    /// A named group of the rule's pattern.
    pub group: String,
    pub op: Compare,
    pub target: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Strictly greater than the target.
    Above,
    AtLeast,
    /// Strictly less than the target.
    Below,
}

/// One line of one pod, already sanitised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    pub at: Timestamp,
    pub pod: String,
    /// When the pod started, for the startup grace; `None` means no grace applies.
    pub pod_started: Option<Timestamp>,
    /// Sanitised, without colours: what rules match and searches find.
    pub line: String,
    /// The same line with its SGR colours, when the theme keeps them and it had any.
    pub coloured: Option<String>,
}

/// Ordered so that the worst of several is their `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateState {
    Pass,
    Warn,
    Fail,
}

/// What one rule says about the records at `now`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleVerdict {
    pub rule: String,
    /// The rule's severity, so a gate can be decided from verdicts alone ([`gate`]).
    pub severity: Severity,
    pub state: GateState,
    /// Counted lines in the window, after startup grace and capture.
    pub matches: u32,
    /// Counted lines per minute of the window, oldest first (for a sparkline).
    pub per_minute: Vec<u32>,
    pub first: Option<(Timestamp, String)>,
    pub last: Option<(Timestamp, String)>,
    /// The verdict in words, e.g. `12 matches in 15 m; sustained 4 min (>= 1/min for 3 min) → fail`.
    pub detail: String,
}

impl GateState {
    /// `PASS`, `WARN`, `FAIL`: how the gate's table and the panes' rule strips say it.
    pub fn label(self) -> &'static str {
        match self {
            GateState::Pass => "PASS",
            GateState::Warn => "WARN",
            GateState::Fail => "FAIL",
        }
    }
}

impl Compare {
    fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Compare::Above => value > target,
            Compare::AtLeast => value >= target,
            Compare::Below => value < target,
        }
    }
}

impl Capture {
    /// Whether a match's captured number is one that counts. A missing group, text that is
    /// not a number, or a non-finite number (`NaN`, `inf`) never counts: a rule that cannot
    /// read its number must not fail a rollout on a guess.
    fn accepts(&self, captures: &Captures<'_>) -> bool {
        captures
            .name(&self.group)
            .and_then(|m| m.as_str().parse::<f64>().ok())
            .is_some_and(|value| value.is_finite() && self.op.holds(value, self.target))
    }
}

impl SloRule {
    /// Whether the rule applies to `service`'s logs.
    pub fn applies_to(&self, service: &Service) -> bool {
        self.services.as_ref().is_none_or(|m| covers(m, service))
    }

    /// Whether a line is one the rule counts (pattern, then capture), ignoring time.
    pub fn line_counts(&self, line: &str) -> bool {
        match &self.capture {
            None => self.pattern.is_match(line),
            Some(capture) => self.pattern.captures(line).is_some_and(|c| capture.accepts(&c)),
        }
    }

    /// A rule that can never give a meaningful answer is refused when it is loaded, not
    /// silently evaluated as Pass.
    pub fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        if self.window_s <= 0 {
            return Err(format!("log rule {name}: window must be positive, got {} s", self.window_s));
        }
        if self.startup_grace_s < 0 {
            return Err(format!("log rule {name}: startup grace must not be negative"));
        }
        if let Some(s) = self.sustained {
            if s.minutes == 0 || s.per_minute == 0 {
                return Err(format!("log rule {name}: sustained needs at least 1 per minute for at least 1 minute"));
            }
            if i64::from(s.minutes) * 60 > self.window_s {
                return Err(format!(
                    "log rule {name}: sustained for {} min does not fit in a {} window",
                    s.minutes,
                    window_words(self.window_s)
                ));
            }
        }
        if let Some(capture) = &self.capture
            && !self.pattern.capture_names().flatten().any(|g| g == capture.group)
        {
            return Err(format!(
                "log rule {name}: pattern {:?} has no named group (?P<{}>…) to capture",
                self.pattern.as_str(),
                capture.group
            ));
        }
        Ok(())
    }

    fn window(&self) -> SignedDuration {
        SignedDuration::from_secs(self.window_s.max(0))
    }

    /// Minutes the window is split into (the oldest one partial if the window is not whole minutes).
    fn minute_count(&self) -> usize {
        usize::try_from((self.window_s.max(1) + 59) / 60).unwrap_or(1)
    }
}

/// A log pattern from a profile, with an error an operator can act on.
pub fn parse_rule_pattern(text: &str) -> Result<Regex, String> {
    if text.trim().is_empty() {
        return Err("empty log pattern: it would match every line".to_string());
    }
    Regex::new(text).map_err(|e| format!("invalid log pattern {text:?}: {e}"))
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// Evaluates one rule over `records` (in any order, from any pods) at `now`.
pub fn evaluate(rule: &SloRule, records: &[LogRecord], now: Timestamp) -> RuleVerdict {
    evaluate_iter(rule, records.iter(), now)
}

/// [`evaluate`] over any sequence of records, e.g. a [`LogBuffer`] without making it contiguous.
pub fn evaluate_iter<'a>(
    rule: &SloRule,
    records: impl IntoIterator<Item = &'a LogRecord>,
    now: Timestamp,
) -> RuleVerdict {
    let mut tally = Tally::new(rule.minute_count());
    for record in records {
        let Some(minute) = minute_of(rule, record.at, now) else { continue };
        if in_startup_grace(rule, record) {
            if rule.line_counts(&record.line) {
                tally.graced = tally.graced.saturating_add(1);
            }
            continue;
        }
        if rule.line_counts(&record.line) {
            tally.count(minute, record);
        }
    }
    verdict(rule, tally)
}

/// The minute of the window a line falls in, counted from the newest (0); `None` outside
/// the window or in the future.
fn minute_of(rule: &SloRule, at: Timestamp, now: Timestamp) -> Option<usize> {
    let age = now.duration_since(at);
    if age.is_negative() || age > rule.window() {
        return None;
    }
    let minute = usize::try_from(age.as_secs() / 60).unwrap_or(usize::MAX);
    // A line exactly `window` old belongs to the oldest minute, not to one past the end.
    Some(minute.min(rule.minute_count() - 1))
}

/// Lines from a pod's first `startup_grace_s` seconds: warm-up noise, not a regression.
fn in_startup_grace(rule: &SloRule, record: &LogRecord) -> bool {
    record
        .pod_started
        .is_some_and(|started| record.at.duration_since(started) < SignedDuration::from_secs(rule.startup_grace_s))
}

/// A counted line as evidence: when, and what it said.
type Evidence<'a> = (Timestamp, &'a str);

/// Counted lines as they are gathered.
struct Tally<'a> {
    /// Newest minute first while counting; reversed for the verdict.
    by_age: Vec<u32>,
    matches: u32,
    graced: u32,
    first: Option<Evidence<'a>>,
    last: Option<Evidence<'a>>,
}

impl<'a> Tally<'a> {
    fn new(minutes: usize) -> Self {
        Tally { by_age: vec![0; minutes], matches: 0, graced: 0, first: None, last: None }
    }

    fn count(&mut self, minute: usize, record: &'a LogRecord) {
        self.add(minute, 1, Some((record.at, record.line.as_str())), Some((record.at, record.line.as_str())));
    }

    /// `n` counted lines in `minute`, the earliest and latest of them as evidence.
    fn add(&mut self, minute: usize, n: u32, first: Option<Evidence<'a>>, last: Option<Evidence<'a>>) {
        self.by_age[minute] = self.by_age[minute].saturating_add(n);
        self.matches = self.matches.saturating_add(n);
        // Ties keep the first seen as `first` and the last seen as `last`.
        if let Some(f) = first
            && self.first.is_none_or(|seen| f.0 < seen.0)
        {
            self.first = Some(f);
        }
        if let Some(l) = last
            && self.last.is_none_or(|seen| l.0 >= seen.0)
        {
            self.last = Some(l);
        }
    }

    /// How many of the newest minutes in a row have at least `per_minute` matches.
    fn sustained_minutes(&self, per_minute: u32) -> u32 {
        let run = self.by_age.iter().take_while(|&&n| n >= per_minute).count();
        u32::try_from(run).unwrap_or(u32::MAX)
    }
}

fn verdict(rule: &SloRule, tally: Tally<'_>) -> RuleVerdict {
    let (fails, condition) = failure(rule, &tally);
    // A rule without a single counted line cannot fail, whatever its threshold says.
    let state = match (tally.matches, fails) {
        (0, _) => GateState::Pass,
        (_, true) => GateState::Fail,
        (_, false) => GateState::Warn,
    };
    let mut detail = format!("{} in {}", plural(tally.matches, "match", "matches"), window_words(rule.window_s));
    if tally.matches > 0 {
        detail.push_str(&format!("; {condition}"));
    }
    if tally.graced > 0 {
        detail.push_str(&format!("; {} in startup grace ignored", tally.graced));
    }
    detail.push_str(match state {
        GateState::Pass => " → pass",
        GateState::Warn => " → warn",
        GateState::Fail => " → fail",
    });
    let mut per_minute = tally.by_age;
    per_minute.reverse();
    RuleVerdict {
        rule: rule.name.clone(),
        severity: rule.severity,
        state,
        matches: tally.matches,
        per_minute,
        first: tally.first.map(|(at, line)| (at, line.to_string())),
        last: tally.last.map(|(at, line)| (at, line.to_string())),
        detail,
    }
}

/// Whether the rule's failure condition holds, and the condition in words.
fn failure(rule: &SloRule, tally: &Tally<'_>) -> (bool, String) {
    match rule.sustained {
        Some(Sustained { per_minute, minutes }) => {
            let run = tally.sustained_minutes(per_minute);
            (run >= minutes, format!("sustained {run} min (>= {per_minute}/min for {minutes} min)"))
        }
        None => (tally.matches >= rule.threshold, format!("threshold {}", rule.threshold)),
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn window_words(seconds: i64) -> String {
    if seconds % 60 == 0 { format!("{} m", seconds / 60) } else { format!("{seconds} s") }
}

/// The gate over several verdicts: a failing Error rule fails it, a failing Warning rule
/// or any rule with matches holds it at Warn.
pub fn gate(verdicts: &[RuleVerdict]) -> GateState {
    verdicts
        .iter()
        .map(|v| match (v.state, v.severity) {
            (GateState::Fail, Severity::Error) => GateState::Fail,
            (GateState::Pass, _) => GateState::Pass,
            _ => GateState::Warn,
        })
        .max()
        .unwrap_or(GateState::Pass)
}

// ---------------------------------------------------------------------------------------
// Live highlighting

/// Rules compiled together so a live line is tested against all of them in one pass.
#[derive(Clone, Debug)]
pub struct RuleSet {
    rules: Vec<SloRule>,
    set: RegexSet,
}

impl RuleSet {
    pub fn new(rules: Vec<SloRule>) -> Result<Self, String> {
        for rule in &rules {
            rule.validate()?;
        }
        let set = RegexSet::new(rules.iter().map(|r| r.pattern.as_str()))
            .map_err(|e| format!("log rules do not compile together: {e}"))?;
        Ok(RuleSet { rules, set })
    }

    pub fn rules(&self) -> &[SloRule] {
        &self.rules
    }

    /// Indexes of the rules that count `line` (pattern and capture; time is not considered).
    pub fn matching(&self, line: &str) -> Vec<usize> {
        // Most lines match nothing; the set's single scan settles them without allocating.
        if !self.set.is_match(line) {
            return Vec::new();
        }
        self.set.matches(line).into_iter().filter(|&i| self.capture_accepts(i, line)).collect()
    }

    fn capture_accepts(&self, index: usize, line: &str) -> bool {
        let rule = &self.rules[index];
        rule.capture.is_none() || rule.line_counts(line)
    }

    /// Verdicts of the rules that apply to `service`, over its records.
    pub fn evaluate_for(&self, service: &Service, buffer: &LogBuffer, now: Timestamp) -> Vec<RuleVerdict> {
        self.rules.iter().filter(|r| r.applies_to(service)).map(|r| evaluate_iter(r, buffer.iter(), now)).collect()
    }
}

/// The seed runbook's two rules for the soundspan demo (any namespace, so staging has them too).
pub fn builtin_demo_rules() -> Vec<SloRule> {
    let named = |name: &str| Some(ServiceMatch::Named { namespace: None, name: name.to_string() });
    vec![
        SloRule {
            name: "listen-together-reconnect".to_string(),
            // Both the plain and the `WARN … after redis adapter failover` forms; the
            // latency is captured so only reconnects actually over target count.
            pattern: Regex::new(r"ListenTogether/SLO.*Reconnect latency (?P<ms>\d+)ms exceeded target")
                .expect("built-in pattern"),
            services: named("soundspan-backend"),
            severity: Severity::Error,
            window_s: 15 * 60,
            threshold: 1,
            startup_grace_s: 60,
            sustained: Some(Sustained { per_minute: 1, minutes: 3 }),
            capture: Some(Capture { group: "ms".to_string(), op: Compare::Above, target: 5000.0 }),
        },
        SloRule {
            name: "scheduler-claim-skipped".to_string(),
            pattern: Regex::new(r"SchedulerClaim/SLO.*skipped").expect("built-in pattern"),
            services: named("soundspan-backend-worker"),
            severity: Severity::Error,
            window_s: 15 * 60,
            threshold: 1,
            // The seed's "initial startup window": claims are contested while replicas start.
            startup_grace_s: 120,
            sustained: Some(Sustained { per_minute: 1, minutes: 3 }),
            capture: None,
        },
    ]
}

/// The SLO state of one service from its followed logs, for the overview: counts only
/// ([`SloCounts`]), so a service is never held in memory whole just to colour its SLO
/// cell, and its whole window stays covered however many lines it writes.
#[derive(Clone, Debug)]
pub struct SloWatch {
    counts: SloCounts,
}

impl SloWatch {
    pub fn new(rules: Vec<SloRule>) -> Result<Self, String> {
        Ok(SloWatch { counts: SloCounts::new(RuleSet::new(rules)?, 0) })
    }

    /// Takes one raw line; returns whether a rule counts it.
    pub fn push(&mut self, at: Timestamp, _pod: &str, pod_started: Option<Timestamp>, bytes: &[u8]) -> bool {
        let line = sanitize_bytes(bytes, Sgr::Strip);
        !self.counts.push(at, pod_started, &line).is_empty()
    }

    pub fn verdicts(&self, now: Timestamp) -> Vec<RuleVerdict> {
        self.counts.verdicts(now)
    }

    pub fn gate(&self, now: Timestamp) -> GateState {
        gate(&self.verdicts(now))
    }

    /// Seconds with counted lines kept, over all rules (what the watch holds in memory).
    pub fn kept(&self) -> usize {
        self.counts.kept()
    }
}

// ---------------------------------------------------------------------------------------
// Counts over time

/// One second of one rule's lines: how many it counted (and ignored in startup grace),
/// and the earliest and latest counted line of that second as evidence.
#[derive(Clone, Debug, Default)]
struct SecondCount {
    counted: u32,
    graced: u32,
    first: Option<(Timestamp, String)>,
    last: Option<(Timestamp, String)>,
}

/// Exact counts of one rule's lines per second of their timestamps, kept for as long as
/// its window. A rule's verdict so never depends on how many lines some display buffer
/// holds: a threshold of 50,000 in a window fails at the 50,000th line even though a pane
/// keeps 10,000. The price is one-second resolution at the window's edges (a line is
/// taken as written at the start of its second), and per second two lines of evidence.
#[derive(Clone, Debug, Default)]
struct RuleCounter {
    seconds: BTreeMap<i64, SecondCount>,
}

impl RuleCounter {
    fn push(&mut self, at: Timestamp, graced: bool, line: &str) {
        let second = self.seconds.entry(at.as_second()).or_default();
        if graced {
            second.graced = second.graced.saturating_add(1);
            return;
        }
        second.counted = second.counted.saturating_add(1);
        if second.first.as_ref().is_none_or(|(f, _)| at < *f) {
            second.first = Some((at, line.to_string()));
        }
        if second.last.as_ref().is_none_or(|(l, _)| at >= *l) {
            second.last = Some((at, line.to_string()));
        }
    }

    /// Forgets the seconds before `cutoff`.
    fn forget_before(&mut self, cutoff: i64) {
        while self.seconds.first_key_value().is_some_and(|(s, _)| *s < cutoff) {
            self.seconds.pop_first();
        }
    }

    /// The tally over `window_s` ending at `now`, in whole seconds: the newest minute is
    /// ages 0-59 s, as [`evaluate`] splits it.
    fn tally(&self, window_s: i64, now: Timestamp) -> Tally<'_> {
        let minutes = usize::try_from((window_s.max(1) + 59) / 60).unwrap_or(1);
        let mut tally = Tally::new(minutes);
        let now_s = now.as_second();
        let oldest = now_s.saturating_sub(window_s.max(0));
        for (second, count) in self.seconds.range(oldest..=now_s) {
            let age = now_s - second;
            let minute = usize::try_from(age / 60).unwrap_or(usize::MAX).min(minutes - 1);
            tally.graced = tally.graced.saturating_add(count.graced);
            if count.counted > 0 {
                tally.add(minute, count.counted, evidence(&count.first), evidence(&count.last));
            }
        }
        tally
    }
}

fn evidence(kept: &Option<(Timestamp, String)>) -> Option<Evidence<'_>> {
    kept.as_ref().map(|(at, line)| (*at, line.as_str()))
}

/// A set of rules counting one stream of lines (a pane, a background watch, a runbook's
/// slo-clean gate): per rule, exact per-second counts over its window (see
/// [`RuleCounter`]), independent of any display buffer.
#[derive(Clone, Debug)]
pub struct SloCounts {
    rules: RuleSet,
    counters: Vec<RuleCounter>,
    /// Seconds of counts kept: the longest window asked for (a rule's own or a gate's).
    keep_s: i64,
    newest: Option<i64>,
}

impl SloCounts {
    /// Counts for `rules`, kept over their longest window or `at_least_s` if longer (a
    /// runbook gate may judge over its own window).
    pub fn new(rules: RuleSet, at_least_s: i64) -> Self {
        let longest = rules.rules().iter().map(|r| r.window_s).max().unwrap_or(0);
        let counters = vec![RuleCounter::default(); rules.rules().len()];
        SloCounts { rules, counters, keep_s: longest.max(at_least_s).max(0), newest: None }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Counts one sanitised line; returns the indexes of the rules that count it.
    pub fn push(&mut self, at: Timestamp, pod_started: Option<Timestamp>, line: &str) -> Vec<usize> {
        let matching = self.rules.matching(line);
        if matching.is_empty() {
            return matching;
        }
        for &i in &matching {
            let rule = &self.rules.rules()[i];
            let graced = pod_started
                .is_some_and(|started| at.duration_since(started) < SignedDuration::from_secs(rule.startup_grace_s));
            self.counters[i].push(at, graced, line);
        }
        let second = at.as_second();
        if self.newest.is_none_or(|n| second > n) {
            self.newest = Some(second);
            // A minute to spare: `now` may run a little ahead of the newest line.
            let cutoff = second.saturating_sub(self.keep_s.saturating_add(60));
            self.counters.iter_mut().for_each(|c| c.forget_before(cutoff));
        }
        matching
    }

    /// Every rule's verdict over its own window at `now`.
    pub fn verdicts(&self, now: Timestamp) -> Vec<RuleVerdict> {
        self.rules.rules().iter().zip(&self.counters).map(|(r, c)| verdict(r, c.tally(r.window_s, now))).collect()
    }

    /// Every rule's verdict over `window_s` in place of its own (a gate's window).
    pub fn verdicts_over(&self, window_s: i64, now: Timestamp) -> Vec<RuleVerdict> {
        self.rules
            .rules()
            .iter()
            .zip(&self.counters)
            .map(|(r, c)| verdict(&SloRule { window_s, ..r.clone() }, c.tally(window_s, now)))
            .collect()
    }

    /// Seconds with counted lines kept, over all rules.
    pub fn kept(&self) -> usize {
        self.counters.iter().map(|c| c.seconds.len()).sum()
    }
}

// ---------------------------------------------------------------------------------------
// Log buffer

/// The lines of one log pane: sanitised on the way in, bounded, oldest dropped first.
#[derive(Clone, Debug)]
pub struct LogBuffer {
    records: VecDeque<LogRecord>,
    capacity: usize,
    dropped: u64,
    keep_sgr: bool,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::with_capacity(LogBuffer::DEFAULT_CAPACITY)
    }
}

impl LogBuffer {
    pub const DEFAULT_CAPACITY: usize = 10_000;

    pub fn new() -> Self {
        LogBuffer::default()
    }

    /// A buffer of at most `capacity` lines (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        // Grows as lines arrive: a quiet pane should not reserve room for ten thousand.
        LogBuffer { records: VecDeque::with_capacity(capacity.min(1024)), capacity, dropped: 0, keep_sgr: false }
    }

    /// Adds raw bytes from a stream as one line; what is stored is safe to draw.
    pub fn push_raw(&mut self, at: Timestamp, pod: &str, pod_started: Option<Timestamp>, bytes: &[u8]) -> &LogRecord {
        let line = sanitize_bytes(bytes, Sgr::Strip);
        let coloured = self.keep_sgr.then(|| sanitize_bytes(bytes, Sgr::Keep)).filter(|c| *c != line);
        self.push_clean(LogRecord { at, pod: pod.to_string(), pod_started, line, coloured })
    }

    /// Keeps the colours pods print (a theme option): only canonical SGR survives sanitising.
    pub fn keeping_sgr(mut self) -> Self {
        self.keep_sgr = true;
        self
    }

    fn push_clean(&mut self, record: LogRecord) -> &LogRecord {
        if self.records.len() == self.capacity {
            self.records.pop_front();
            self.dropped += 1;
        }
        self.records.push_back(record);
        self.records.back().expect("just pushed")
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lines dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Line `i`, oldest first, stored whole.
    pub fn get(&self, i: usize) -> Option<&LogRecord> {
        self.records.get(i)
    }

    pub fn iter(&self) -> impl Iterator<Item = &LogRecord> {
        self.records.iter()
    }

    /// All lines as one slice, oldest first, for [`evaluate`].
    pub fn as_slice(&mut self) -> &[LogRecord] {
        self.records.make_contiguous()
    }

    /// Line `i` as drawn: at most `max_chars` characters, with a marker when cut.
    pub fn display(&self, i: usize, max_chars: usize) -> Option<Cow<'_, str>> {
        self.records.get(i).map(|r| cut_for_display(&r.line, max_chars))
    }
}

#[cfg(test)]
mod tests;
