//! Time as pskeys reads and shows it: unix seconds from one clock reading, RFC 3339, and
//! short human durations.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, read once per token so `iat` and `exp` agree.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The last second RFC 3339 can write: 9999-12-31T23:59:59Z.
const MAX_RFC3339: u64 = 253_402_300_799;

/// A unix time as RFC 3339 (UTC), e.g. `2026-01-02T03:04:05Z`; times past the year 9999
/// (a token may claim any) as unix seconds.
pub fn rfc3339(secs: u64) -> String {
    if secs > MAX_RFC3339 {
        return format!("{secs} (unix seconds, after the year 9999)");
    }
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// A time in JSON output, one shape everywhere: unix seconds, RFC 3339 and seconds from
/// `now` (negative: past).
pub fn time_json(secs: u64, now: u64) -> serde_json::Value {
    let from_now = i64::try_from(i128::from(secs) - i128::from(now)).unwrap_or(i64::MAX);
    serde_json::json!({"unix": secs, "rfc3339": rfc3339(secs), "from_now": from_now})
}

/// `11h 59m`, `2d 3h`, `1m 30s`, `45s`.
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(MAX_RFC3339), "9999-12-31T23:59:59Z");
        assert!(rfc3339(u64::MAX).contains("after the year 9999"));
        assert_eq!(human_duration(43_140), "11h 59m");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(90), "1m 30s");
        assert_eq!(human_duration(7 * 86_400 + 1_200), "7d 0h");
    }
}
