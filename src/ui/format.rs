//! Times and numbers as an operator reads them. Timestamps are stored; ages are made
//! only here, when drawn.

use jiff::Timestamp;

/// kubectl-style age: `45s`, `12m`, `3h`, `5d`, with a second unit while it matters
/// (`2m30s`, `3h12m`).
pub fn age(since: Option<Timestamp>, now: Timestamp) -> String {
    let Some(since) = since else { return "-".into() };
    duration((now.as_second() - since.as_second()).max(0))
}

pub fn duration(secs: i64) -> String {
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86_400);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{m}m{}s", s % 60),
        s if s < 3 * 3600 => format!("{m}m"),
        s if s < 8 * 3600 => format!("{h}h{}m", m % 60),
        s if s < 2 * 86_400 => format!("{h}h"),
        _ => format!("{d}d"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now: Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
        let ago = |s: i64| age(Some(now - jiff::SignedDuration::from_secs(s)), now);
        assert_eq!(ago(45), "45s");
        assert_eq!(ago(150), "2m30s");
        assert_eq!(ago(45 * 60), "45m");
        assert_eq!(ago(4 * 3600 + 120), "4h2m");
        assert_eq!(ago(30 * 3600), "30h");
        assert_eq!(ago(5 * 86_400), "5d");
        assert_eq!(age(None, now), "-");
        assert_eq!(ago(-5), "0s", "clock skew never shows a negative age");
    }
}
