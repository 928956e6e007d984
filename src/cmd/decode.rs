//! `pskeys decode`: header and claims of a token, times in human form, no verification.

use serde_json::{Map, Value, json};

use crate::cli::DecodeArgs;
use crate::clock::{human_duration, now, rfc3339};
use crate::cmd::read_token;
use crate::error::{Error, Result};
use crate::jws::Jws;

/// Runs `decode`.
pub fn run(args: DecodeArgs) -> Result<()> {
    let DecodeArgs { token, json } = args;
    let raw = read_token(token.as_deref(), "decode")?;
    let parsed = Jws::parse(&raw).map_err(|why| Error::usage(format!("not a JWT: {why}"), None))?;
    if json {
        let out = json!({"verified": false, "header": parsed.header, "claims": parsed.claims, "times": times(&parsed.claims), "timestamps": timestamps(&parsed.claims)});
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(());
    }
    sayln!("UNVERIFIED: decoded only; run `pskeys verify` to check it as the service would");
    sayln!("header:");
    for line in serde_json::to_string_pretty(&parsed.header)
        .unwrap_or_default()
        .lines()
    {
        sayln_pre!("  {line}");
    }
    sayln!("claims:");
    for line in serde_json::to_string_pretty(&parsed.claims)
        .unwrap_or_default()
        .lines()
    {
        sayln_pre!("  {line}");
    }
    for (name, text) in times(&parsed.claims) {
        sayln!("{name:>8}: {}", text.as_str().unwrap_or_default());
    }
    Ok(())
}

/// `iat`, `nbf`, `exp` for programs: unix seconds, RFC 3339 and seconds from now
/// (negative: past); `lifetime` in seconds.
fn timestamps(claims: &Map<String, Value>) -> Map<String, Value> {
    let now = now();
    let mut out = Map::new();
    for name in ["iat", "nbf", "exp"] {
        if let Some(t) = claims.get(name).and_then(Value::as_u64) {
            out.insert(name.into(), crate::clock::time_json(t, now));
        }
    }
    if let (Some(i), Some(e)) = (
        claims.get("iat").and_then(Value::as_u64),
        claims.get("exp").and_then(Value::as_u64),
    ) {
        let lifetime = i64::try_from(i128::from(e) - i128::from(i)).unwrap_or(i64::MAX);
        out.insert("lifetime".into(), json!(lifetime));
    }
    out
}

/// `iat`, `nbf`, `exp` as RFC 3339 with a relative time.
fn times(claims: &Map<String, Value>) -> Map<String, Value> {
    let now = now();
    let mut out = Map::new();
    for name in ["iat", "nbf", "exp"] {
        if let Some(t) = claims.get(name).and_then(Value::as_u64) {
            let rel = if t == now {
                "now".to_string()
            } else if t > now {
                format!("in {}", human_duration(t - now))
            } else {
                format!("{} ago", human_duration(now - t))
            };
            out.insert(
                name.into(),
                Value::String(format!("{} ({rel})", rfc3339(t))),
            );
        }
    }
    if let (Some(i), Some(e)) = (
        claims.get("iat").and_then(Value::as_u64),
        claims.get("exp").and_then(Value::as_u64),
    ) {
        out.insert(
            "lifetime".into(),
            Value::String(format!(
                "{} ({}s)",
                human_duration(e.saturating_sub(i)),
                e as i64 - i as i64
            )),
        );
    }
    out
}
