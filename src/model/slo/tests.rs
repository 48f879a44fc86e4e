//! Window and minute boundaries, sustained runs, startup grace, number capture, the demo's
//! real lines, and hostile lines through the log buffer.

use super::*;
use crate::model::sanitize::CUT_MARKER;

const EXCEEDED: &str =
    "[ListenTogether/SLO] Reconnect latency 7210ms exceeded target 5000ms (group=ab12cd34, socket=0a1b2c3d4e5f)";
const EXCEEDED_WARN: &str = "[ListenTogether/SLO] WARN Reconnect latency 11020ms exceeded target 5000ms after redis adapter failover (group=ab12cd34)";
const WITHIN: &str = "[ListenTogether/SLO] Reconnect latency 812ms within target 5000ms (group=ab12cd34)";
const SKIPPED: &str = "[SchedulerClaim/SLO] Claim for 'library-scan' skipped 6 consecutive times (threshold 3); lease held by another scheduler";
const CLAIMED: &str = "[SchedulerClaim] Claimed 'library-scan' (lease 30s, holder soundspan-backend-worker-7d9f-abcde)";
const ACCESS: &str = "[HTTP] GET /api/library/tracks?page=3 200 17ms";

fn now() -> Timestamp {
    "2026-05-01T12:00:00Z".parse().unwrap()
}

fn ago(seconds: i64) -> Timestamp {
    now() - SignedDuration::from_secs(seconds)
}

fn ago_ms(millis: i64) -> Timestamp {
    now() - SignedDuration::from_millis(millis)
}

fn record(at: Timestamp, line: &str) -> LogRecord {
    LogRecord { at, pod: "pod-a".into(), pod_started: None, line: line.into(), coloured: None }
}

fn started(at: Timestamp, pod_started: Timestamp, line: &str) -> LogRecord {
    LogRecord { pod_started: Some(pod_started), ..record(at, line) }
}

/// A plain rule: `boom`, 15 min window, fails at `threshold` matches, no grace.
fn rule(threshold: u32) -> SloRule {
    SloRule {
        name: "boom".into(),
        pattern: parse_rule_pattern("boom").unwrap(),
        services: None,
        severity: Severity::Error,
        window_s: 900,
        threshold,
        startup_grace_s: 0,
        sustained: None,
        capture: None,
    }
}

fn sustained(per_minute: u32, minutes: u32) -> SloRule {
    SloRule { sustained: Some(Sustained { per_minute, minutes }), ..rule(1) }
}

/// `n` matching lines in minute `minute` of age (0 = the newest), spread inside it.
fn in_minute(minute: i64, n: u32) -> Vec<LogRecord> {
    (0..n).map(|k| record(ago(minute * 60 + 1 + i64::from(k)), "boom")).collect()
}

fn demo(name: &str) -> SloRule {
    builtin_demo_rules().into_iter().find(|r| r.name == name).unwrap()
}

// --- window ----------------------------------------------------------------------------

#[test]
fn a_line_exactly_window_old_counts_and_lands_in_the_oldest_minute() {
    let v = evaluate(&rule(1), &[record(ago(900), "boom")], now());
    assert_eq!(v.matches, 1);
    assert_eq!(v.per_minute.len(), 15);
    assert_eq!(v.per_minute[0], 1, "oldest first: {:?}", v.per_minute);
}

#[test]
fn a_line_just_older_than_the_window_is_ignored() {
    let v = evaluate(&rule(1), &[record(ago_ms(900_001), "boom")], now());
    assert_eq!((v.matches, v.state), (0, GateState::Pass));
}

#[test]
fn a_line_just_inside_the_window_counts() {
    let v = evaluate(&rule(1), &[record(ago(899), "boom"), record(now(), "boom")], now());
    assert_eq!(v.matches, 2);
    assert_eq!(v.per_minute[0], 1);
    assert_eq!(v.per_minute[14], 1, "a line at now is in the newest minute");
}

#[test]
fn a_line_from_the_future_is_ignored() {
    let v = evaluate(&rule(1), &[record(now() + SignedDuration::from_millis(1), "boom")], now());
    assert_eq!(v.matches, 0);
}

#[test]
fn minutes_are_counted_by_age_from_now() {
    let records = [record(ago_ms(59_999), "boom"), record(ago(60), "boom"), record(ago(61), "boom")];
    let v = evaluate(&rule(100), &records, now());
    assert_eq!(&v.per_minute[13..], &[2, 1]);
}

#[test]
fn a_window_of_partial_minutes_rounds_up() {
    let v = evaluate(&SloRule { window_s: 150, ..rule(1) }, &[record(ago(150), "boom")], now());
    assert_eq!(v.per_minute, vec![1, 0, 0]);
}

// --- state and threshold ----------------------------------------------------------------

#[test]
fn threshold_decides_between_warn_and_fail() {
    let records: Vec<_> = (0..3).map(|s| record(ago(s * 10), "boom")).collect();
    assert_eq!(evaluate(&rule(3), &records, now()).state, GateState::Fail);
    let warn = evaluate(&rule(4), &records, now());
    assert_eq!(warn.state, GateState::Warn);
    assert_eq!(warn.detail, "3 matches in 15 m; threshold 4 → warn");
    let pass = evaluate(&rule(4), &[record(now(), "quiet")], now());
    assert_eq!((pass.state, pass.detail.as_str()), (GateState::Pass, "0 matches in 15 m → pass"));
}

#[test]
fn a_rule_without_matches_never_fails_even_at_threshold_zero() {
    assert_eq!(evaluate(&rule(0), &[], now()).state, GateState::Pass);
    assert_eq!(evaluate(&rule(0), &[record(now(), "boom")], now()).state, GateState::Fail);
}

#[test]
fn first_and_last_are_by_time_whatever_the_order() {
    let records = [record(ago(30), "boom 2"), record(ago(90), "boom 1"), record(ago(5), "boom 3")];
    let v = evaluate(&rule(1), &records, now());
    assert_eq!(v.first, Some((ago(90), "boom 1".to_string())));
    assert_eq!(v.last, Some((ago(5), "boom 3".to_string())));
}

// --- sustained ----------------------------------------------------------------------------

#[test]
fn sustained_for_exactly_the_minutes_fails() {
    let records: Vec<_> = (0..3).flat_map(|m| in_minute(m, 1)).collect();
    let v = evaluate(&sustained(1, 3), &records, now());
    assert_eq!(v.state, GateState::Fail);
    assert_eq!(v.detail, "3 matches in 15 m; sustained 3 min (>= 1/min for 3 min) → fail");
}

#[test]
fn one_quiet_minute_breaks_the_run() {
    let records: Vec<_> = [0, 2, 3].into_iter().flat_map(|m| in_minute(m, 1)).collect();
    let v = evaluate(&sustained(1, 3), &records, now());
    assert_eq!(v.state, GateState::Warn);
    assert!(v.detail.contains("sustained 1 min"), "{}", v.detail);
}

#[test]
fn the_run_must_end_now_so_a_burst_that_stopped_only_warns() {
    let records: Vec<_> = (1..5).flat_map(|m| in_minute(m, 2)).collect();
    let v = evaluate(&sustained(1, 3), &records, now());
    assert_eq!((v.state, v.matches), (GateState::Warn, 8));
}

#[test]
fn per_minute_equal_counts_one_below_does_not() {
    let equal: Vec<_> = (0..3).flat_map(|m| in_minute(m, 4)).collect();
    assert_eq!(evaluate(&sustained(4, 3), &equal, now()).state, GateState::Fail);
    let mut one_short = equal.clone();
    one_short.remove(0); // minute 0 now has 3
    assert_eq!(evaluate(&sustained(4, 3), &one_short, now()).state, GateState::Warn);
}

#[test]
fn a_longer_run_is_reported_in_full() {
    let records: Vec<_> = (0..5).flat_map(|m| in_minute(m, 1)).collect();
    let v = evaluate(&sustained(1, 3), &records, now());
    assert!(v.detail.contains("sustained 5 min (>= 1/min for 3 min) → fail"), "{}", v.detail);
    assert_eq!(v.per_minute, [vec![0; 10], vec![1; 5]].concat());
}

// --- startup grace ------------------------------------------------------------------------

#[test]
fn startup_grace_ignores_lines_before_its_end_and_counts_from_it() {
    let grace = SloRule { startup_grace_s: 60, ..rule(1) };
    let pod_started = ago(300);
    let inside = evaluate(&grace, &[started(ago(241), pod_started, "boom")], now());
    assert_eq!((inside.matches, inside.state), (0, GateState::Pass));
    assert!(inside.detail.contains("1 in startup grace ignored"), "{}", inside.detail);
    let at_end = evaluate(&grace, &[started(ago(240), pod_started, "boom")], now());
    assert_eq!(at_end.matches, 1);
}

#[test]
fn an_unknown_pod_start_means_no_grace() {
    let grace = SloRule { startup_grace_s: 3600, ..rule(1) };
    assert_eq!(evaluate(&grace, &[record(now(), "boom")], now()).matches, 1);
}

#[test]
fn grace_is_per_pod() {
    let grace = SloRule { startup_grace_s: 120, ..rule(1) };
    let old_pod = started(ago(10), ago(3600), "boom");
    let new_pod = LogRecord { pod: "pod-b".into(), ..started(ago(10), ago(60), "boom") };
    assert_eq!(evaluate(&grace, &[old_pod, new_pod], now()).matches, 1);
}

// --- capture --------------------------------------------------------------------------------

fn latency(op: Compare) -> SloRule {
    SloRule {
        pattern: parse_rule_pattern(r"latency (?P<ms>\S+)ms").unwrap(),
        capture: Some(Capture { group: "ms".into(), op, target: 5000.0 }),
        ..rule(1)
    }
}

fn counted(rule: &SloRule, lines: &[&str]) -> u32 {
    let records: Vec<_> = lines.iter().map(|l| record(now(), l)).collect();
    evaluate(rule, &records, now()).matches
}

#[test]
fn capture_above_is_strict() {
    let above = latency(Compare::Above);
    assert_eq!(counted(&above, &["latency 5000ms"]), 0);
    assert_eq!(counted(&above, &["latency 5001ms"]), 1);
    assert_eq!(counted(&above, &["latency 5000.5ms"]), 1);
}

#[test]
fn capture_at_least_and_below() {
    assert_eq!(counted(&latency(Compare::AtLeast), &["latency 5000ms", "latency 4999ms"]), 1);
    assert_eq!(counted(&latency(Compare::Below), &["latency 5000ms", "latency 4999ms"]), 1);
}

#[test]
fn a_capture_that_is_not_a_number_does_not_count() {
    let above = latency(Compare::Above);
    assert_eq!(counted(&above, &["latency slowms", "latency NaNms", "latency infms", "latency 1e400ms"]), 0);
}

#[test]
fn a_capture_group_missing_from_the_pattern_is_refused() {
    let broken = SloRule { pattern: parse_rule_pattern(r"latency \d+ms").unwrap(), ..latency(Compare::Above) };
    let err = broken.validate().unwrap_err();
    assert!(err.contains("no named group (?P<ms>"), "{err}");
    assert!(RuleSet::new(vec![broken]).is_err());
}

#[test]
fn rules_that_cannot_answer_are_refused() {
    assert!(SloRule { window_s: 0, ..rule(1) }.validate().is_err());
    assert!(SloRule { startup_grace_s: -1, ..rule(1) }.validate().is_err());
    assert!(sustained(0, 3).validate().is_err());
    assert!(sustained(1, 0).validate().is_err());
    let too_long = sustained(1, 16).validate().unwrap_err();
    assert!(too_long.contains("does not fit in a 15 m window"), "{too_long}");
    assert!(sustained(1, 15).validate().is_ok());
}

#[test]
fn invalid_patterns_say_why() {
    let err = parse_rule_pattern("ListenTogether/SLO.*(exceeded").unwrap_err();
    assert!(err.starts_with("invalid log pattern \"ListenTogether/SLO.*(exceeded\""), "{err}");
    assert!(err.contains("unclosed group"), "{err}");
    assert!(parse_rule_pattern("  ").unwrap_err().contains("every line"));
}

// --- rule set ----------------------------------------------------------------------------------

#[test]
fn rule_set_reports_every_rule_that_counts_a_line() {
    let set = RuleSet::new(vec![rule(1), latency(Compare::Above), demo("scheduler-claim-skipped")]).unwrap();
    assert_eq!(set.matching("boom latency 7000ms"), vec![0, 1]);
    assert_eq!(set.matching("boom latency 4000ms"), vec![0], "capture filters after the set matched");
    assert_eq!(set.matching(SKIPPED), vec![2]);
    assert!(set.matching(ACCESS).is_empty());
    assert_eq!(set.rules().len(), 3);
}

#[test]
fn rule_set_and_evaluate_agree_on_the_demo_lines() {
    let set = RuleSet::new(builtin_demo_rules()).unwrap();
    for line in [EXCEEDED, EXCEEDED_WARN, WITHIN, SKIPPED, CLAIMED, ACCESS] {
        let by_rule: Vec<usize> = (0..set.rules().len()).filter(|&i| set.rules()[i].line_counts(line)).collect();
        assert_eq!(set.matching(line), by_rule, "{line}");
    }
}

// --- the built-in demo rules ----------------------------------------------------------------------

#[test]
fn demo_rules_are_valid_and_apply_to_their_services_in_any_namespace() {
    let rules = builtin_demo_rules();
    assert!(rules.iter().all(|r| r.validate().is_ok()));
    let reconnect = demo("listen-together-reconnect");
    let claims = demo("scheduler-claim-skipped");
    assert!(reconnect.applies_to(&Service::example("soundspan", "soundspan-backend", 2)));
    assert!(reconnect.applies_to(&Service::example("soundspan-staging", "soundspan-backend", 1)));
    assert!(!reconnect.applies_to(&Service::example("soundspan", "soundspan-backend-worker", 1)));
    assert!(claims.applies_to(&Service::example("soundspan", "soundspan-backend-worker", 1)));
    assert!(!claims.applies_to(&Service::example("soundspan", "soundspan-frontend", 1)));
    assert!(SloRule { services: None, ..claims }.applies_to(&Service::example("x", "anything", 1)));
}

#[test]
fn reconnect_rule_counts_exceeded_lines_only() {
    let reconnect = demo("listen-together-reconnect");
    assert!(reconnect.line_counts(EXCEEDED));
    assert!(reconnect.line_counts(EXCEEDED_WARN));
    assert!(!reconnect.line_counts(WITHIN), "a healthy reconnect is not a warning");
    assert!(!reconnect.line_counts(SKIPPED));
    assert!(!reconnect.line_counts(ACCESS));
    // Exceeded by its own words but not by its number: the capture decides.
    assert!(!reconnect.line_counts("[ListenTogether/SLO] Reconnect latency 4800ms exceeded target 5000ms"));
}

#[test]
fn claim_rule_counts_skipped_lines_only() {
    let claims = demo("scheduler-claim-skipped");
    assert!(claims.line_counts(SKIPPED));
    assert!(!claims.line_counts(CLAIMED));
    assert!(!claims.line_counts(EXCEEDED));
}

#[test]
fn demo_burst_every_four_seconds_fails_once_it_spans_three_minutes() {
    let reconnect = demo("listen-together-reconnect");
    let pod_started = ago(600);
    let burst = |seconds: i64| -> Vec<LogRecord> {
        (0..seconds / 4)
            .map(|k| started(ago(k * 4), pod_started, EXCEEDED))
            .chain((0..seconds / 6).map(|k| started(ago(k * 6 + 1), pod_started, WITHIN)))
            .collect()
    };
    let young = evaluate(&reconnect, &burst(110), now());
    assert_eq!(young.state, GateState::Warn, "{}", young.detail);
    let sustained = evaluate(&reconnect, &burst(200), now());
    assert_eq!(sustained.state, GateState::Fail, "{}", sustained.detail);
    assert_eq!(sustained.matches, 50);
    assert_eq!(gate(&[sustained]), GateState::Fail);
}

#[test]
fn demo_claim_skips_inside_the_startup_window_do_not_fail() {
    let claims = demo("scheduler-claim-skipped");
    // A pod 100 s old has skipped every 5 s since it started: all within its 120 s grace.
    let pod_started = ago(100);
    let records: Vec<_> = (0..20).map(|k| started(ago(k * 5), pod_started, SKIPPED)).collect();
    let v = evaluate(&claims, &records, now());
    assert_eq!((v.state, v.matches), (GateState::Pass, 0), "{}", v.detail);
    // The same skips from a pod that started long ago are sustained.
    let old: Vec<_> = (0..40).map(|k| started(ago(k * 5), ago(3600), SKIPPED)).collect();
    assert_eq!(evaluate(&claims, &old, now()).state, GateState::Fail);
}

#[test]
fn gate_weighs_failures_by_severity() {
    let fail = evaluate(&rule(1), &[record(now(), "boom")], now());
    let warn_rule_fail = RuleVerdict { severity: Severity::Warning, ..fail.clone() };
    let pass = evaluate(&rule(1), &[], now());
    assert_eq!(gate(&[]), GateState::Pass);
    assert_eq!(gate(std::slice::from_ref(&pass)), GateState::Pass);
    assert_eq!(gate(&[pass.clone(), warn_rule_fail.clone()]), GateState::Warn);
    assert_eq!(gate(&[warn_rule_fail, fail]), GateState::Fail);
    assert_eq!(serde_json::to_value(GateState::Warn).unwrap(), "warn");
}

// --- log buffer --------------------------------------------------------------------------------

#[test]
fn buffer_drops_the_oldest_beyond_capacity() {
    let mut buffer = LogBuffer::with_capacity(3);
    for i in 0..5 {
        buffer.push_raw(ago(10 - i), "pod-a", None, format!("line {i}").as_bytes());
    }
    assert_eq!((buffer.len(), buffer.dropped()), (3, 2));
    let lines: Vec<_> = buffer.iter().map(|r| r.line.as_str()).collect();
    assert_eq!(lines, ["line 2", "line 3", "line 4"]);
    assert_eq!(buffer.as_slice().len(), 3);
    assert_eq!(LogBuffer::new().capacity(), 10_000);
    assert_eq!(LogBuffer::with_capacity(0).capacity(), 1);
}

#[test]
fn rules_evaluate_over_a_buffer() {
    let mut buffer = LogBuffer::new();
    for k in 0..60 {
        buffer.push_raw(ago(240 - k * 4), "soundspan-backend-abc", Some(ago(3600)), EXCEEDED.as_bytes());
    }
    let set = RuleSet::new(builtin_demo_rules()).unwrap();
    let verdicts = set.evaluate_for(&Service::example("soundspan", "soundspan-backend", 2), &buffer, now());
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].state, GateState::Fail);
    assert_eq!(evaluate(&set.rules()[0], buffer.as_slice(), now()), verdicts[0]);
}

/// Nothing that could act on a terminal: ESC, BEL, CR, backspace, other C0, DEL, C1.
fn assert_inert(text: &str, what: &str) {
    let bad = text.chars().find(|&c| (c.is_control() && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c));
    assert_eq!(bad, None, "{what}: {:?}", &text[..text.len().min(200)]);
}

#[test]
fn hostile_lines_are_inert_when_stored_and_displayed() {
    let corpus: &[(&[u8], &str)] = &[
        (b"\x1b[2J\x1b[Hwiped", "wiped"),
        (b"\x1b]52;c;aGVsbG8=\x07copied", "copied"),
        (b"\x1b]0;pwned\x07titled", "titled"),
        (b"progress 10%\rprogress 100%", "progress 10%progress 100%"),
        (b"typo\x08\x08\x08\x08fixed", "typofixed"),
        (b"bytes \xff\xfe\xc3 end", "bytes \u{fffd}\u{fffd}\u{fffd} end"),
        // A lone 0x9B byte is invalid UTF-8, so it cannot act as a C1 CSI.
        (b"raw c1 \x9b31m", "raw c1 \u{fffd}31m"),
        ("c1 \u{9b}31mred\u{9b}0m and \u{85}next".as_bytes(), "c1 red and next"),
        (
            b"\x1b[31m[ListenTogether/SLO] Reconnect latency 7210ms exceeded target 5000ms\x1b[0m\r\n",
            "[ListenTogether/SLO] Reconnect latency 7210ms exceeded target 5000ms",
        ),
    ];
    let mut buffer = LogBuffer::new();
    for (i, (raw, expected)) in corpus.iter().enumerate() {
        let stored = buffer.push_raw(now(), "pod-a", None, raw).line.clone();
        assert_eq!(stored, *expected, "input {raw:?}");
        assert_inert(&stored, "stored");
        assert_inert(&buffer.display(i, 20).unwrap(), "displayed");
    }
    // The coloured SLO line still counts once its colours are gone.
    let set = RuleSet::new(builtin_demo_rules()).unwrap();
    assert_eq!(set.matching(&buffer.get(corpus.len() - 1).unwrap().line), vec![0]);
}

#[test]
fn a_megabyte_line_is_stored_whole_and_displayed_cut() {
    let mut raw = b"\x1b]0;pwned\x07".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 1_000_000));
    raw.extend_from_slice(b"\x1b[2J\r\x07tail");
    let mut buffer = LogBuffer::new();
    let stored = buffer.push_raw(now(), "pod-a", None, &raw).line.clone();
    assert_eq!(stored.len(), 1_000_004);
    assert!(stored.ends_with("xtail"));
    assert_inert(&stored, "stored");
    let shown = buffer.display(0, 500).unwrap();
    assert!(shown.ends_with(CUT_MARKER), "{}", &shown[shown.len() - 20..]);
    assert_eq!(shown.chars().count(), 500 + CUT_MARKER.chars().count());
    assert_inert(&shown, "displayed");
    assert_eq!(buffer.display(1, 500), None);
}

#[test]
fn a_watch_keeps_only_counted_lines_and_judges_like_the_full_log() {
    let rules = vec![demo("listen-together-reconnect")];
    let mut watch = SloWatch::new(rules.clone()).unwrap();
    let mut full = LogBuffer::new();
    let started = Some(ago(3600));
    let mut lines = Vec::new();
    for minute in 0..5 {
        lines.push((ago(minute * 60 + 10), EXCEEDED));
        lines.push((ago(minute * 60 + 20), WITHIN));
        lines.push((ago(minute * 60 + 30), ACCESS));
    }
    lines.reverse();
    for (at, line) in &lines {
        watch.push(*at, "pod-a", started, line.as_bytes());
        full.push_raw(*at, "pod-a", started, line.as_bytes());
    }
    assert_eq!(watch.kept(), 5, "only the exceeded reconnects are kept");
    let whole: Vec<RuleVerdict> = rules.iter().map(|r| evaluate_iter(r, full.iter(), now())).collect();
    assert_eq!(watch.verdicts(now()), whole, "the same verdict as over every line");
    assert_eq!(watch.gate(now()), GateState::Fail, "sustained five minutes");
    assert!(!watch.push(now(), "pod-a", started, b"\x1b]0;[ListenTogether/SLO] boom\x07"), "sanitised first");
}

#[test]
fn counts_are_exact_past_the_display_buffer_and_agree_with_a_full_scan() {
    // 12,000 matches in 10 minutes against a threshold of 11,000: a pane's 10,000-line
    // buffer would see too few to fail; the counts see every one.
    let rules = vec![rule(11_000)];
    let mut counts = SloCounts::new(RuleSet::new(rules.clone()).unwrap(), 0);
    let mut buffer = LogBuffer::new();
    let mut every = Vec::new();
    for k in 0..12_000i64 {
        let at = ago(600 - k / 20);
        let line = if k % 3 == 0 { "boom now" } else { "boom again" };
        counts.push(at, None, line);
        buffer.push_raw(at, "pod-a", None, line.as_bytes());
        every.push(record(at, line));
    }
    assert_eq!(buffer.len(), 10_000, "the display buffer dropped the oldest");
    let shown = evaluate_iter(&rules[0], buffer.iter(), now());
    assert_eq!(shown.state, GateState::Warn, "what a scan of the buffer alone would say");
    let counted = &counts.verdicts(now())[0];
    assert_eq!((counted.matches, counted.state), (12_000, GateState::Fail));
    assert_eq!(counted, &evaluate(&rules[0], &every, now()), "the same verdict as a scan of every line");
    assert!(counts.kept() <= 601, "one entry per second, not per line: {}", counts.kept());
}

#[test]
fn counts_follow_the_window_grace_and_a_gates_own_window() {
    let graced = SloRule { startup_grace_s: 120, ..sustained(1, 3) };
    let mut counts = SloCounts::new(RuleSet::new(vec![graced]).unwrap(), 1800);
    let pod_started = Some(ago(1000));
    for minute in 0..20 {
        counts.push(ago(minute * 60 + 5), pod_started, "boom");
    }
    // Lines from the pod's first two minutes (ages 880-1000 s) are graced, not counted.
    counts.push(ago(950), pod_started, "boom");
    let own = &counts.verdicts(now())[0];
    assert_eq!((own.matches, own.state), (15, GateState::Fail), "{}", own.detail);
    let wide = &counts.verdicts_over(1800, now())[0];
    assert_eq!(wide.matches, 14 + 1, "ages 5..=845 s counted, 905 s onwards graced: {}", wide.detail);
    assert!(wide.detail.contains("in startup grace ignored"), "{}", wide.detail);
    // Far later lines forget the old seconds (the window plus a minute to spare).
    counts.push(now() + SignedDuration::from_secs(4000), None, "boom");
    assert_eq!(counts.kept(), 1);
}
