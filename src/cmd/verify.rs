//! `pskeys verify`: the service's verification, offline, with the exact `PSYNC_S21xx`
//! code and message it would give, and what to change.

use serde_json::{Value, json};

use crate::cli::VerifyArgs;
use crate::cmd::{lookup, read_token, require_config, show};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::keystore::{self, KeyStore, Outcome, human_duration};
use crate::token;

/// Runs `verify`.
pub fn run(args: VerifyArgs) -> Result<()> {
    let VerifyArgs {
        token,
        config,
        env_file,
        at,
        jwks,
        json,
    } = args;
    let now = match &at {
        Some(t) => parse_time(t)?,
        None => token::now(),
    };
    let raw = read_token(token.as_deref())?;
    let jwks = match &jwks {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
            let v: Value = serde_json::from_str(&text).map_err(|e| {
                Error::usage(
                    format!("`{}` is not JSON: {e}", path.display()),
                    "pass a JWKS file: {\"keys\": [...]}".to_string(),
                )
            })?;
            if !v.get("keys").is_some_and(Value::is_array) {
                return Err(Error::usage(
                    format!("`{}` has no `keys` list", path.display()),
                    "pass a JWKS file: {\"keys\": [...]}".to_string(),
                ));
            }
            Some(v)
        }
        None => None,
    };
    let env = EnvFile::load(&env_file)?;
    let config = require_config(config.as_deref())?;
    let store = KeyStore::load(&config, &lookup(&env), jwks.as_ref()).map_err(|e| match e {
        Error::Config {
            location,
            message,
            hint,
        } => Error::Config {
            location,
            message: format!("the service would refuse to load this config: {message}"),
            hint,
        },
        other => other,
    })?;
    let report = keystore::verify(&store, &raw, now);
    let claims = report
        .parsed
        .as_ref()
        .map(|p| Value::Object(p.claims.clone()))
        .unwrap_or(Value::Null);
    let header = report
        .parsed
        .as_ref()
        .map(|p| Value::Object(p.header.clone()))
        .unwrap_or(Value::Null);
    let exp = claims.get("exp").and_then(Value::as_u64);
    let iat = claims.get("iat").and_then(Value::as_u64);
    if json {
        let (verdict, code, message, hint) = match &report.outcome {
            Outcome::Accepted => ("accepted", None, None, None),
            Outcome::Rejected {
                code,
                message,
                hint,
            } => (
                "rejected",
                Some(*code),
                Some(message.clone()),
                Some(hint.clone()),
            ),
            Outcome::Unverified { message, hint } => (
                "unverified",
                None,
                Some(message.clone()),
                Some(hint.clone()),
            ),
        };
        let out = json!({
            "verdict": verdict,
            "code": code,
            "message": message,
            "hint": hint,
            "at": now,
            "config": show(&config.path),
            "key": report.key,
            "audience_matched": report.audience_matched,
            "header": header,
            "claims": claims,
            "sync_rules": sync_view(&claims),
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    match report.outcome {
        Outcome::Accepted => {
            if !json {
                let sub = claims
                    .get("sub")
                    .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string))
                    .unwrap_or_default();
                println!(
                    "accepted: the service at `{}` would accept this token",
                    show(&config.path)
                );
                println!("  subject:  {sub}");
                println!("  key:      {}", report.key.unwrap_or_default());
                println!(
                    "  alg:      {}",
                    header.get("alg").and_then(Value::as_str).unwrap_or("?")
                );
                println!(
                    "  audience: {} (matched)",
                    report.audience_matched.unwrap_or_default()
                );
                if let Some(iat) = iat {
                    println!("  issued:   {}", token::rfc3339(iat));
                }
                if let Some(exp) = exp {
                    let rel = if exp >= now {
                        format!("expires in {}", human_duration(exp - now))
                    } else {
                        format!(
                            "expired {} ago, within the 60 s tolerance",
                            human_duration(now - exp)
                        )
                    };
                    println!("  expires:  {} ({rel})", token::rfc3339(exp));
                }
                println!(
                    "  sync rules see: {}",
                    serde_json::to_string(&sync_view(&claims)).unwrap_or_default()
                );
            }
            Ok(())
        }
        Outcome::Rejected {
            code,
            message,
            hint,
        } => Err(Error::Rejected {
            code: Some(code),
            message,
            hint: Some(hint),
        }),
        Outcome::Unverified { message, hint } => Err(Error::Unverified { message, hint }),
    }
}

/// What sync rules / streams see: `user_id` (= sub) and `parameters`.
fn sync_view(claims: &Value) -> Value {
    let sub = claims
        .get("sub")
        .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string));
    json!({
        "user_id": sub,
        "parameters": claims.get("parameters").cloned().unwrap_or_else(|| json!({})),
    })
}

/// RFC 3339 or unix seconds.
fn parse_time(t: &str) -> Result<u64> {
    if let Ok(n) = t.trim().parse::<u64>() {
        return Ok(n);
    }
    humantime::parse_rfc3339_weak(t.trim())
        .ok()
        .and_then(|st| st.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| {
            Error::usage(
                format!("--at `{t}` is not a time"),
                "use RFC 3339 (2026-01-02T03:04:05Z) or unix seconds".to_string(),
            )
        })
}
