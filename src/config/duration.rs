//! Durations as operators write them, in kubectl's (Go's) notation: `30s`, `2m`, `1h30m`,
//! `500ms`, and a bare `0`. Used by flags, profiles and runbooks alike.

use std::time::Duration;

/// Parses `1h30m`, `15m`, `30s`, `250ms`, `0`. A bare number other than 0 is refused,
/// as kubectl refuses it: "10" could mean seconds or minutes, so ask for a unit.
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
        let seconds = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            "d" => value * 86_400.0,
            "" => return Err(format!("invalid duration {text:?}: missing unit (ms, s, m, h)")),
            other => return Err(format!("invalid duration {text:?}: unknown unit {other:?} (expected ms, s, m, h)")),
        };
        total += Duration::from_secs_f64(seconds);
        rest = next;
    }
    Ok(total)
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
    fn formats_compactly() {
        assert_eq!(format_duration(Duration::from_secs(240)), "4m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
