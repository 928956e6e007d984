//! `pskeys verify`: the service's verification, offline, with the exact `PSYNC_S21xx`
//! code and message it would give, and what to change.

use serde_json::{Value, json};

use crate::cli::VerifyArgs;
use crate::clock::{human_duration, now, rfc3339};
use crate::cmd::{hints, open, read_token, show};
use crate::error::{Error, Result};
use crate::service::keystore::{KeySource, KeyStore, Refused, ServiceKey};
use crate::service::rules::{self, FindingId};
use crate::service::verify::{Outcome, Report, verify};

/// Runs `verify`.
pub fn run(args: VerifyArgs) -> Result<()> {
    let VerifyArgs {
        token,
        files,
        at,
        jwks,
        json,
    } = args;
    let now = at.unwrap_or_else(now);
    let raw = read_token(token.as_deref(), "verify")?;
    let jwks = jwks.as_deref().map(read_jwks).transpose()?;
    let project = open(&files)?;
    let config = project.config();
    let findings = rules::config_findings(config, project.env());
    // Variables read outside client_auth may be defined only where the service runs (a
    // CI job that checks tokens has no database URI): doctor's business, not verify's.
    let refusals: Vec<_> = findings
        .iter()
        .filter(|f| f.refuses_config())
        .filter(|f| f.id != FindingId::EnvUndefined || f.in_client_auth())
        .cloned()
        .collect();
    if !refusals.is_empty() {
        return Err(Error::Refused {
            path: config.path.clone(),
            refused: Refused { findings: refusals },
        });
    }
    let store = KeyStore::from_findings(config, project.env(), jwks.as_ref(), &findings).map_err(
        |refused| Error::Refused {
            path: config.path.clone(),
            refused,
        },
    )?;
    let report = verify(&store, &raw, now);
    if json {
        print_json(&report, now, &show(&config.path));
    } else if report.outcome == Outcome::Accepted {
        print_accepted(&report, now, &show(&config.path));
    }
    let err = match report.outcome {
        Outcome::Accepted => return Ok(()),
        Outcome::Rejected(r) => Error::Rejected(r),
        Outcome::Unverified(u) => Error::Unverified(u),
    };
    Err(if json {
        Error::Reported(Box::new(err))
    } else {
        err
    })
}

fn read_jwks(path: &std::path::Path) -> Result<Value> {
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
    Ok(v)
}

fn parts(report: &Report) -> (Value, Value) {
    match &report.jws {
        Some(j) => (
            Value::Object(j.header.clone()),
            Value::Object(j.claims.clone()),
        ),
        None => (Value::Null, Value::Null),
    }
}

fn print_json(report: &Report, now: u64, config: &str) {
    let (header, claims) = parts(report);
    let (verdict, code, message, hint) = match &report.outcome {
        Outcome::Accepted => ("accepted", None, None, None),
        Outcome::Rejected(r) => (
            "rejected",
            Some(r.code.as_str()),
            Some(r.to_string()),
            Some(hints::rejection(r)),
        ),
        Outcome::Unverified(u) => {
            let e = Error::Unverified(u.clone());
            ("unverified", None, Some(e.to_string()), e.hint())
        }
    };
    let out = json!({
        "verdict": verdict,
        "code": code,
        "message": message,
        "hint": hint,
        "at": crate::clock::time_json(now, crate::clock::now()),
        "config": {"path": config},
        "key": report.key.as_ref().map(key_json),
        "audience_matched": report.audience_matched,
        "header": header,
        "claims": claims,
        "sync_rules": sync_view(&claims),
    });
    outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
}

/// The key that verified, in the shape `keys list` gives keys: `kid` (null for a kid-less
/// key), `kty`, `alg` (null when the key leaves it open), and where it comes from.
fn key_json(key: &ServiceKey) -> Value {
    let (source, line) = match &key.source {
        KeySource::Static { line, .. } => ("config", Some(*line)),
        KeySource::SupabaseSecret => ("supabase_jwt_secret", None),
        KeySource::JwksFile => ("jwks_file", None),
    };
    json!({
        "kid": key.kid,
        "kty": key.kty.as_str(),
        "alg": key.alg.map(|a| a.as_str()),
        "source": source,
        "line": line,
    })
}

fn print_accepted(report: &Report, now: u64, config: &str) {
    let (header, claims) = parts(report);
    let sub = claims
        .get("sub")
        .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string))
        .unwrap_or_default();
    sayln!("accepted: the service at `{config}` would accept this token");
    sayln!("  subject:  {sub}");
    sayln!(
        "  key:      {}",
        report
            .key
            .as_ref()
            .map(|k| k.describe())
            .unwrap_or_default()
    );
    sayln!(
        "  alg:      {}",
        header.get("alg").and_then(Value::as_str).unwrap_or("?")
    );
    sayln!(
        "  audience: {} (matched)",
        report.audience_matched.clone().unwrap_or_default()
    );
    if let Some(iat) = claims.get("iat").and_then(Value::as_u64) {
        sayln!("  issued:   {}", rfc3339(iat));
    }
    if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
        let rel = if exp >= now {
            format!("expires in {}", human_duration(exp - now))
        } else {
            format!(
                "expired {} ago, within the 60 s tolerance",
                human_duration(now - exp)
            )
        };
        sayln!("  expires:  {} ({rel})", rfc3339(exp));
    }
    sayln_pre!(
        "  sync rules see: {}",
        serde_json::to_string(&sync_view(&claims)).unwrap_or_default()
    );
}

/// What sync rules / streams see: `user_id` (= sub) and `parameters`.
fn sync_view(claims: &Value) -> Value {
    let sub = claims
        .get("sub")
        .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string));
    json!({
        "user_id": sub,
        "parameters": claims.get("parameters").filter(|p| !p.is_null()).cloned().unwrap_or_else(|| json!({})),
    })
}
