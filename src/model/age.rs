//! Ages as kubectl prints them (`HumanDuration`): `45s`, `3m20s`, `12m`, `5h10m`, `3d4h`.
//! Stored values stay timestamps; this is only for drawing.

use jiff::Timestamp;

/// How long ago `since` was at `now`, in kubectl's short form.
pub fn human_age(since: Timestamp, now: Timestamp) -> String {
    let seconds = now.as_second() - since.as_second();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    human_duration(seconds.max(0))
}

pub fn human_duration(seconds: i64) -> String {
    let minutes = seconds / 60;
    let hours = seconds / 3600;
    let days = hours / 24;
    let years = days / 365;
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        }
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        }
    } else if days < 365 * 2 {
        format!("{days}d")
    } else if days < 365 * 8 {
        match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        }
    } else {
        format!("{years}y")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_shapes() {
        let cases = [
            (0, "0s"),
            (119, "119s"),
            (200, "3m20s"),
            (240, "4m"),
            (720, "12m"),
            (3 * 3600 + 600, "3h10m"),
            (20 * 3600, "20h"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400 + 86400, "3y1d"),
            (10 * 365 * 86400, "10y"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human_duration(seconds), expected, "{seconds} s");
        }
    }

    #[test]
    fn future_timestamps() {
        let now = Timestamp::from_second(1_000).unwrap();
        assert_eq!(human_age(Timestamp::from_second(1_001).unwrap(), now), "0s", "clock skew of a second");
        assert_eq!(human_age(Timestamp::from_second(1_100).unwrap(), now), "<invalid>");
    }
}
