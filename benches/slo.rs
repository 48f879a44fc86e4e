//! Log ingest for the SLO gate on one thread, as a log pane does it: raw bytes → sanitised
//! line in a bounded `LogBuffer` → both demo rules tested in one `RuleSet` pass (with the
//! latency capture) and counted per second in `SloCounts` (exact past the buffer).
//! The lines are demo-like: mostly access logs, some SLO lines, a few coloured or hostile
//! ones. Run: `cargo bench --bench slo` (or `-- LINES`, default 2,000,000).
//!
//! Prints: lines/s and MB/s for ingest, whether that meets the 200,000 lines/s target, and
//! the time to judge both rules from the counts (what a pane refresh costs) and, for
//! comparison, by scanning a full buffer (what `gate` does over the lines it read).

use std::hint::black_box;
use std::time::Instant;

use cockpit::model::slo::{LogBuffer, RuleSet, SloCounts, builtin_demo_rules, evaluate_iter};
use jiff::{SignedDuration, Timestamp};

const TARGET_LINES_PER_S: f64 = 200_000.0;
const CORPUS: usize = 100_000;

fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)])).collect()
}

fn access_line(rng: &mut fastrand::Rng) -> Vec<u8> {
    let line = match rng.u8(..5) {
        0 => format!("[HTTP] GET /api/library/tracks?page={} 200 {}ms", rng.u32(1..=40), rng.u32(4..=90)),
        1 => format!("[HTTP] GET /api/playback/stream/{} 206 {}ms", rng.u32(1000..=99_999), rng.u32(2..=30)),
        2 => format!("[HTTP] POST /api/listen-together/{}/heartbeat 204 {}ms", hex(rng, 8), rng.u32(1..=12)),
        3 => format!("[Socket] client {} joined listen-together group {}", hex(rng, 12), hex(rng, 8)),
        _ => format!(
            "10.42.{}.{} - - \"GET /api/v1/repos/acme/api/commits HTTP/1.1\" 200 {} \"-\" \"git/2.43.0\" {}ms",
            rng.u8(0..3),
            rng.u8(2..200),
            rng.u32(200..90_000),
            rng.u32(3..180)
        ),
    };
    line.into_bytes()
}

fn slo_line(rng: &mut fastrand::Rng) -> Vec<u8> {
    let line = match rng.u8(..4) {
        0 => format!(
            "[ListenTogether/SLO] Reconnect latency {}ms exceeded target 5000ms (group={}, socket={})",
            rng.u32(5200..=9800),
            hex(rng, 8),
            hex(rng, 12)
        ),
        1 => format!(
            "[ListenTogether/SLO] WARN Reconnect latency {}ms exceeded target 5000ms after redis adapter failover (group={})",
            rng.u32(5100..=12_000),
            hex(rng, 8)
        ),
        2 => format!(
            "[ListenTogether/SLO] Reconnect latency {}ms within target 5000ms (group={})",
            rng.u32(300..=2400),
            hex(rng, 8)
        ),
        _ => format!(
            "[SchedulerClaim/SLO] Claim for 'library-scan' skipped {} consecutive times (threshold 3); lease held by another scheduler",
            rng.u32(4..=9)
        ),
    };
    line.into_bytes()
}

fn escaped_line(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut line = match rng.u8(..4) {
        0 => b"\x1b[32mINFO\x1b[0m worker: job finished in 812ms".to_vec(),
        1 => b"\x1b[31m[ListenTogether/SLO] Reconnect latency 7210ms exceeded target 5000ms\x1b[0m\r".to_vec(),
        2 => b"\x1b]0;pwned\x07\x1b[2J\x1b[Hprogress 10%\rprogress 100%".to_vec(),
        _ => b"upload name=\xff\xfe\xc3 \x1b]52;c;aGVsbG8=\x07 \xc2\x9b31m done".to_vec(),
    };
    line.extend_from_slice(hex(rng, 8).as_bytes());
    line
}

/// 88 % access logs, 8 % SLO lines (healthy and not), 4 % with escape sequences.
fn corpus(rng: &mut fastrand::Rng) -> Vec<Vec<u8>> {
    (0..CORPUS)
        .map(|_| match rng.u8(..100) {
            0..88 => access_line(rng),
            88..96 => slo_line(rng),
            _ => escaped_line(rng),
        })
        .collect()
}

fn main() {
    let total: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(2_000_000);
    let mut rng = fastrand::Rng::with_seed(7);
    let lines = corpus(&mut rng);
    let bytes_per_pass: usize = lines.iter().map(Vec::len).sum();
    let rules = RuleSet::new(builtin_demo_rules()).expect("demo rules compile");
    let start_at: Timestamp = "2026-05-01T12:00:00Z".parse().unwrap();
    let pods = ["soundspan-backend-7d9f-abcde", "soundspan-backend-7d9f-fghij", "soundspan-backend-worker-5c-klmno"];
    let pod_started = Some(start_at - SignedDuration::from_secs(3600));

    let mut buffer = LogBuffer::new();
    let mut counts = SloCounts::new(rules.clone(), 0);
    let mut counted = [0u64; 2];
    let ingest = |buffer: &mut LogBuffer, counts: &mut SloCounts, n: usize, counted: &mut [u64; 2]| {
        for i in 0..n {
            let at = start_at + SignedDuration::from_millis(i as i64);
            let record = buffer.push_raw(at, pods[i % pods.len()], pod_started, &lines[i % CORPUS]);
            for rule in counts.push(record.at, record.pod_started, &record.line) {
                counted[rule] += 1;
            }
        }
    };
    // Warm-up: fill the buffer so every measured push also drops the oldest line.
    ingest(&mut buffer, &mut counts, CORPUS, &mut [0; 2]);

    // The same lines as a pane took them before it counted: buffer and match only, for
    // the cost of the counts (measured in the same run, on the same machine load).
    let mut plain = LogBuffer::new();
    let t = Instant::now();
    for i in 0..total {
        let at = start_at + SignedDuration::from_millis(i as i64);
        let record = plain.push_raw(at, pods[i % pods.len()], pod_started, &lines[i % CORPUS]);
        black_box(rules.matching(&record.line));
    }
    let baseline = total as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    ingest(&mut buffer, &mut counts, total, &mut counted);
    let elapsed = t.elapsed();
    let per_s = total as f64 / elapsed.as_secs_f64();
    let mb_per_s = (bytes_per_pass as f64 / CORPUS as f64) * per_s / 1e6;
    println!("ingest: {total} lines in {elapsed:?} on one thread");
    println!("        {per_s:.0} lines/s, {mb_per_s:.1} MB/s (mean line {} bytes)", bytes_per_pass / CORPUS);
    println!("        counted: listen-together-reconnect {}, scheduler-claim-skipped {}", counted[0], counted[1]);
    println!("        without the counts (buffer and match only): {baseline:.0} lines/s");
    let meets = if per_s >= TARGET_LINES_PER_S { "yes" } else { "NO" };
    println!("        target >= {TARGET_LINES_PER_S:.0} lines/s: {meets}");

    let now = start_at + SignedDuration::from_millis(total as i64 + CORPUS as i64);
    let t = Instant::now();
    let verdicts = black_box(counts.verdicts(now));
    println!(
        "judge:    both rules from the counts ({} seconds kept) in {:?}: {} and {} matches in their windows",
        counts.kept(),
        t.elapsed(),
        verdicts[0].matches,
        verdicts[1].matches
    );
    let t = Instant::now();
    for rule in rules.rules() {
        black_box(evaluate_iter(rule, buffer.iter(), now));
    }
    println!("evaluate: both rules over a full buffer of {} lines in {:?}", buffer.len(), t.elapsed());
}
