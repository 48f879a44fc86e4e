//! Durations as operators write them, in kubectl's (Go's) notation: `30s`, `2m`, `1h30m`,
//! `500ms`, and a bare `0`. Used by flags, profiles and runbooks alike.

use std::time::Duration;

/// The longest duration any flag, profile or runbook takes: a year. Nothing an operator
/// sets here (timeouts, SLO windows, waits) is meant to be longer, and the bound keeps
/// every later sum (`started + timeout`) far from overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// Parses `1h30m`, `15m`, `30s`, `250ms`, `0`. A bare number other than 0 is refused,
/// as kubectl refuses it: "10" could mean seconds or minutes, so ask for a unit. Anything
/// longer than [`MAX_DURATION`] (one year) is refused with a clear error, never a panic.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("empty duration: expected e.g. 30s, 2m, 1h30m".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("invalid duration {text:?}: expected a number before {rest:?}"));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.find(|c: char| c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let value: f64 = number.parse().map_err(|_| format!("invalid duration {text:?}: bad number {number:?}"))?;
        // Digits and dots only, so never negative or NaN; but `9999…9` parses to a huge
        // or infinite float, which `Duration::from_secs_f64` would panic on.
        let seconds = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            "d" => value * 86_400.0,
            "" => return Err(format!("invalid duration {text:?}: missing unit (ms, s, m, h)")),
            other => return Err(format!("invalid duration {text:?}: unknown unit {other:?} (expected ms, s, m, h)")),
        };
        if !(0.0..=MAX_DURATION.as_secs_f64()).contains(&seconds) {
            return Err(too_long(text));
        }
        total = total.saturating_add(Duration::from_secs_f64(seconds));
        if total > MAX_DURATION {
            return Err(too_long(text));
        }
        rest = next;
    }
    Ok(total)
}

fn too_long(text: &str) -> String {
    format!("invalid duration {text:?}: longer than the maximum of 1 year (365d)")
}

/// The shortest faithful rendering: `90s` → `1m30s`, `240s` → `4m`, `500ms`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 && ms > 0 {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubectl_durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn refuses_ambiguous_or_bad_input_with_a_reason() {
        assert!(parse_duration("10").unwrap_err().contains("missing unit"));
        assert!(parse_duration("5y").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(parse_duration("m5").unwrap_err().contains("expected a number"));
    }

    #[test]
    fn refuses_durations_past_a_year_without_panicking() {
        assert_eq!(parse_duration("365d"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("8760h"), Ok(MAX_DURATION));
        for huge in ["99999999999999999999h", "366d", "8760h1s", "1e400s", &format!("{}s", "9".repeat(400))] {
            let err = parse_duration(huge).unwrap_err();
            assert!(err.contains("1 year") || err.contains("unknown unit"), "{huge}: {err}");
        }
        assert!(parse_duration("99999999999999999999h").unwrap_err().contains("longer than the maximum of 1 year"));
        // 300 segments of 364 d each: every one within the bound, the sum far past it.
        assert!(parse_duration(&"364d".repeat(300)).unwrap_err().contains("1 year"));
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format_duration(Duration::from_secs(240)), "4m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
