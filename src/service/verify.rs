//! `KeyStore.verifyJwt` offline: jose 4.15's `jwtVerify` checks and the service's own, in
//! their order, each step a function returning the service's rejection (code + reason).
//! `pskeys verify`, `mint`'s self-check and the `Minter`'s claim checks all call these.

use std::fmt;

use serde_json::{Map, Value as J};

use crate::jws::{Alg, Jws, Malformed, VerifyError};
use crate::service::keystore::{KeyStore, MAX_LIFETIME_SECS, ServiceKey};

/// The clock tolerance of the service's jose verification.
pub const CLOCK_TOLERANCE_SECS: u64 = 60;

/// The service's error codes for client tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Bad token, key, signature or claim.
    S2101,
    /// Expired.
    S2103,
    /// Lifetime over the cap.
    S2104,
    /// Audience missing or not accepted.
    S2105,
}

impl Code {
    /// `PSYNC_S2101` etc.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::S2101 => "PSYNC_S2101",
            Code::S2103 => "PSYNC_S2103",
            Code::S2104 => "PSYNC_S2104",
            Code::S2105 => "PSYNC_S2105",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the service rejects a token, with the data a message or a fix needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Not a compact JWS with JSON header and claims.
    Malformed(Malformed),
    /// A `crit` header that is not a list of non-empty strings.
    CritInvalid,
    /// A `crit` extension jose does not know (it knows only `b64`).
    CritUnknown(String),
    /// A `crit` extension not present in the header.
    CritMissing(String),
    /// `b64` that is not a boolean.
    B64NotBool,
    /// `b64: false`: JWTs must not use an unencoded payload.
    UnencodedPayload,
    /// No `alg`.
    AlgMissing,
    /// An `alg` the service does not accept (`none` among them).
    AlgNotAllowed(String),
    /// The key with the token's kid has another algorithm.
    UnexpectedAlg {
        /// The token's algorithm.
        alg: Alg,
        /// The key, described.
        key: String,
        /// The key's algorithm or family.
        key_accepts: String,
    },
    /// No key has the token's kid, and no kid-less key of its algorithm verifies it.
    NoKey {
        /// The token's kid.
        kid: Option<String>,
        /// Its algorithm.
        alg: Alg,
        /// The kids the config has.
        known: Vec<String>,
    },
    /// The signature does not match the key with the token's kid.
    Signature {
        /// The key, described.
        key: String,
    },
    /// The key cannot check this algorithm at all (jose throws).
    KeyCannotVerify {
        /// The key, described.
        key: String,
        /// Why.
        why: VerifyError,
    },
    /// The payload is not a JSON object.
    PayloadNotObject,
    /// `sub`, `iat` or `exp` missing.
    MissingClaim(&'static str),
    /// `iat`, `nbf` or `exp` not a number.
    NotNumber(&'static str),
    /// `nbf` more than the tolerance in the future.
    NotYetValid {
        /// `nbf`.
        nbf: f64,
        /// The verification time.
        now: u64,
    },
    /// `exp` more than the tolerance in the past.
    Expired {
        /// `exp`.
        exp: f64,
        /// The verification time.
        now: u64,
    },
    /// No (or a null) `aud`.
    AudMissing {
        /// What the key accepts.
        accepted: Vec<String>,
    },
    /// No `aud` value is accepted.
    AudUnexpected {
        /// The token's `aud`.
        aud: J,
        /// What the key accepts.
        accepted: Vec<String>,
        /// Whether the key fixes the audience (the Supabase legacy secret).
        key_audience: bool,
    },
    /// `exp - iat` over the cap.
    Lifetime {
        /// `exp - iat`.
        secs: f64,
        /// The cap.
        cap: u64,
    },
    /// `parameters` present, not null and not an object.
    Parameters,
}

/// The service's rejection: its code and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// `PSYNC_S21xx`.
    pub code: Code,
    /// What was wrong.
    pub reason: Reason,
}

impl std::error::Error for Rejection {}

fn reject<T>(code: Code, reason: Reason) -> Result<T, Rejection> {
    Err(Rejection { code, reason })
}

/// A JSON number as JavaScript prints it (`86401`, `3600.5`).
pub fn js_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

impl fmt::Display for Rejection {
    /// The service's message (without the code).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Reason::Malformed(m) => write!(f, "Malformed token: {m}"),
            Reason::CritInvalid => f.write_str("\"crit\" (Critical) Header Parameter MUST be an array of non-empty strings when present"),
            Reason::CritUnknown(p) => write!(f, "Extension Header Parameter \"{p}\" is not recognized"),
            Reason::CritMissing(p) => write!(f, "Extension Header Parameter \"{p}\" is missing"),
            Reason::B64NotBool => f.write_str("The \"b64\" (base64url-encode payload) Header Parameter must be a boolean"),
            Reason::UnencodedPayload => f.write_str("JWTs MUST NOT use unencoded payload"),
            Reason::AlgMissing => f.write_str("JWS \"alg\" (Algorithm) Header Parameter missing or invalid"),
            Reason::AlgNotAllowed(_) => f.write_str("\"alg\" (Algorithm) Header Parameter not allowed"),
            Reason::UnexpectedAlg { alg, .. } => write!(f, "Unexpected token algorithm {alg}"),
            Reason::NoKey { .. } => f.write_str("Could not find an appropriate key in the keystore. The key is missing or no key matched the token KID"),
            Reason::Signature { .. } => f.write_str("signature verification failed"),
            Reason::KeyCannotVerify { why, .. } => write!(f, "{why}"),
            Reason::PayloadNotObject => f.write_str("JWT Claims Set must be a top-level JSON object"),
            Reason::MissingClaim(c) => write!(f, "JWT payload is missing a required claim \"{c}\""),
            Reason::NotNumber(c) => write!(f, "\"{c}\" claim must be a number"),
            Reason::NotYetValid { .. } => f.write_str("\"nbf\" claim timestamp check failed"),
            Reason::Expired { .. } => f.write_str("JWT has expired"),
            Reason::AudMissing { .. } => f.write_str("JWT payload is missing a required claim \"aud\""),
            Reason::AudUnexpected { aud, .. } => write!(f, "Unexpected \"aud\" claim value: {aud}"),
            Reason::Lifetime { secs, cap } => write!(f, "Token must expire in a maximum of {cap} seconds, got {}s", js_number(*secs)),
            Reason::Parameters => f.write_str("Payload parameters must be an object"),
        }
    }
}

/// Why the signature could not be checked offline.
#[derive(Debug, Clone, PartialEq)]
pub enum Unverified {
    /// The key would be fetched from a `jwks_uri` or the Supabase project.
    Remote {
        /// The token's kid.
        kid: Option<String>,
        /// Where it would come from.
        sources: Vec<String>,
    },
    /// pskeys cannot check this kind of signature.
    Unsupported(VerifyError),
}

/// The service's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted.
    Accepted,
    /// Rejected with this code and reason.
    Rejected(Rejection),
    /// Every offline check passed, but the signature could not be checked.
    Unverified(Unverified),
}

/// What `verify` found out.
#[derive(Debug, Clone)]
pub struct Report {
    /// The verdict.
    pub outcome: Outcome,
    /// The key that verified (or would have).
    pub key: Option<ServiceKey>,
    /// The audience value that matched.
    pub audience_matched: Option<String>,
    /// The token, decoded (when it decodes).
    pub jws: Option<Jws>,
}

/// Verifies `token` at unix time `now` exactly as the service's `KeyStore.verifyJwt`.
pub fn verify(store: &KeyStore, token: &str, now: u64) -> Report {
    let mut report = Report {
        outcome: Outcome::Accepted,
        key: None,
        audience_matched: None,
        jws: None,
    };
    let jws = match Jws::parse(token) {
        Ok(j) => j,
        Err(m) => {
            report.outcome = Outcome::Rejected(Rejection {
                code: Code::S2101,
                reason: Reason::Malformed(m),
            });
            return report;
        }
    };
    let result = steps(store, &jws, now, &mut report);
    report.jws = Some(jws);
    report.outcome = match result {
        Ok(None) => Outcome::Accepted,
        Ok(Some(unverified)) => Outcome::Unverified(unverified),
        Err(r) => Outcome::Rejected(r),
    };
    report
}

/// Every check after parsing; `Ok(Some(_))` when all passed but the signature is unknown.
fn steps(
    store: &KeyStore,
    jws: &Jws,
    now: u64,
    report: &mut Report,
) -> Result<Option<Unverified>, Rejection> {
    let b64 = check_crit(&jws.header)?;
    let alg = check_alg(&jws.header)?;
    let (key, unverified) = match select_key(store, jws, alg)? {
        Selected::Key(key) => {
            report.key = Some(key.clone());
            match check_signature(key, jws, alg) {
                Err(Some(r)) => return Err(r),
                Err(None) => (Some(key), Some(Unverified::Unsupported(VerifyError::Ed448))),
                Ok(()) => (Some(key), None),
            }
        }
        Selected::Unsupported(key) => {
            report.key = Some(key.clone());
            (Some(key), Some(Unverified::Unsupported(VerifyError::Ed448)))
        }
        Selected::Remote => (None, Some(remote(store, jws))),
    };
    if !b64 {
        return reject(Code::S2101, Reason::UnencodedPayload);
    }
    let claims = &jws.claims;
    check_times(claims, now)?;
    let (accepted, key_audience) = match key.and_then(|k| k.audience.clone()) {
        Some(a) => (a, true),
        None => (store.audiences.clone(), false),
    };
    report.audience_matched = Some(check_audience(claims.get("aud"), &accepted, key_audience)?);
    let cap = key.map_or(MAX_LIFETIME_SECS, |k| k.max_lifetime);
    let (iat, exp) = (num(claims, "iat"), num(claims, "exp"));
    check_lifetime(exp - iat, cap)?;
    check_parameters(claims.get("parameters"))?;
    Ok(unverified)
}

fn num(claims: &Map<String, J>, name: &str) -> f64 {
    claims.get(name).and_then(J::as_f64).unwrap_or(0.0)
}

/// jose's `validateCrit` with only `b64` recognised; returns whether the payload is
/// base64url-encoded (`b64` not false).
pub fn check_crit(header: &Map<String, J>) -> Result<bool, Rejection> {
    let Some(crit) = header.get("crit") else {
        return Ok(true);
    };
    let names: Vec<&str> = match crit.as_array() {
        Some(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().filter(|s| !s.is_empty()))
            .collect::<Option<_>>()
            .ok_or(Rejection {
                code: Code::S2101,
                reason: Reason::CritInvalid,
            })?,
        _ => return reject(Code::S2101, Reason::CritInvalid),
    };
    for name in &names {
        if *name != "b64" {
            return reject(Code::S2101, Reason::CritUnknown((*name).to_string()));
        }
        if !header.contains_key(*name) {
            return reject(Code::S2101, Reason::CritMissing((*name).to_string()));
        }
    }
    match header.get("b64") {
        Some(J::Bool(b)) if names.contains(&"b64") => Ok(*b),
        Some(_) if names.contains(&"b64") => reject(Code::S2101, Reason::B64NotBool),
        _ => Ok(true),
    }
}

/// `alg` present and one the service accepts.
pub fn check_alg(header: &Map<String, J>) -> Result<Alg, Rejection> {
    match header
        .get("alg")
        .and_then(J::as_str)
        .filter(|a| !a.is_empty())
    {
        None => reject(Code::S2101, Reason::AlgMissing),
        Some(name) => Alg::parse(name).ok_or_else(|| Rejection {
            code: Code::S2101,
            reason: Reason::AlgNotAllowed(name.to_string()),
        }),
    }
}

enum Selected<'a> {
    /// The key the signature is checked with.
    Key(&'a ServiceKey),
    /// A kid-less key pskeys cannot check (Ed448): what follows is unknown offline.
    Unsupported(&'a ServiceKey),
    /// No key known offline; it would be fetched.
    Remote,
}

/// The service's `getCachedKey`: the first key with the token's kid (its algorithm must
/// fit), else the first kid-less key of the algorithm whose signature matches.
fn select_key<'a>(store: &'a KeyStore, jws: &Jws, alg: Alg) -> Result<Selected<'a>, Rejection> {
    if let Some(kid) = jws.kid_for_lookup()
        && let Some(key) = store.by_kid(&kid)
    {
        if !key.accepts(alg) {
            let key_accepts = key
                .alg
                .map_or(format!("a {} key", key.kty), |a| a.to_string());
            return reject(
                Code::S2101,
                Reason::UnexpectedAlg {
                    alg,
                    key: key.describe(),
                    key_accepts,
                },
            );
        }
        return Ok(Selected::Key(key));
    }
    // Kid-less keys are tried in order, as `isValidSignature` does: a signature that does
    // not match moves on, any other failure (jose throws) stops the search.
    let input = jws.signing_input.as_bytes();
    for key in store
        .keys
        .iter()
        .filter(|k| k.kid.is_none() && k.accepts(alg))
    {
        match key.key.verify(alg, input, &jws.signature) {
            Ok(true) => return Ok(Selected::Key(key)),
            Ok(false) => {}
            Err(VerifyError::Ed448) => return Ok(Selected::Unsupported(key)),
            Err(why) => {
                let key = key.describe();
                return reject(Code::S2101, Reason::KeyCannotVerify { key, why });
            }
        }
    }
    if store.has_unknown_remote_keys() {
        return Ok(Selected::Remote);
    }
    reject(
        Code::S2101,
        Reason::NoKey {
            kid: jws.kid_for_lookup(),
            alg,
            known: store.kids().into_iter().map(str::to_string).collect(),
        },
    )
}

/// `Err(None)`: pskeys cannot check it (Ed448).
fn check_signature(key: &ServiceKey, jws: &Jws, alg: Alg) -> Result<(), Option<Rejection>> {
    match key
        .key
        .verify(alg, jws.signing_input.as_bytes(), &jws.signature)
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(Some(Rejection {
            code: Code::S2101,
            reason: Reason::Signature {
                key: key.describe(),
            },
        })),
        Err(VerifyError::Ed448) => Err(None),
        Err(why) => Err(Some(Rejection {
            code: Code::S2101,
            reason: Reason::KeyCannotVerify {
                key: key.describe(),
                why,
            },
        })),
    }
}

fn remote(store: &KeyStore, jws: &Jws) -> Unverified {
    let mut sources: Vec<String> = store.remote.uris.iter().map(|u| format!("`{u}`")).collect();
    if store.remote.supabase_project {
        sources.push("the Supabase project's JWKS (from the replication connection)".into());
    }
    Unverified::Remote {
        kid: jws.kid_for_lookup(),
        sources,
    }
}

/// jose's claim checks in its order: required `exp`, `iat`, `sub`; `iat` a number; `nbf`;
/// `exp` (S2103), each with the 60 s tolerance.
pub fn check_times(claims: &Map<String, J>, now: u64) -> Result<(), Rejection> {
    for claim in ["exp", "iat", "sub"] {
        if !claims.contains_key(claim) {
            return reject(Code::S2101, Reason::MissingClaim(claim));
        }
    }
    let number = |name: &'static str| match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(Rejection {
            code: Code::S2101,
            reason: Reason::NotNumber(name),
        }),
    };
    number("iat")?;
    check_nbf(number("nbf")?, now)?;
    if let Some(exp) = number("exp")?
        && exp <= now as f64 - CLOCK_TOLERANCE_SECS as f64
    {
        return reject(Code::S2103, Reason::Expired { exp, now });
    }
    Ok(())
}

/// `nbf` at most the tolerance ahead of `now`.
pub fn check_nbf(nbf: Option<f64>, now: u64) -> Result<(), Rejection> {
    match nbf {
        Some(nbf) if nbf > now as f64 + CLOCK_TOLERANCE_SECS as f64 => {
            reject(Code::S2101, Reason::NotYetValid { nbf, now })
        }
        _ => Ok(()),
    }
}

/// `aud` present (not null) and one of its strings accepted; returns the match.
pub fn check_audience(
    aud: Option<&J>,
    accepted: &[String],
    key_audience: bool,
) -> Result<String, Rejection> {
    let aud = match aud {
        None | Some(J::Null) => {
            return reject(
                Code::S2105,
                Reason::AudMissing {
                    accepted: accepted.to_vec(),
                },
            );
        }
        Some(a) => a,
    };
    let values: Vec<&J> = match aud {
        J::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let found = values
        .iter()
        .filter_map(|v| v.as_str())
        .find(|v| accepted.iter().any(|a| a == v));
    match found {
        Some(m) => Ok(m.to_string()),
        None => reject(
            Code::S2105,
            Reason::AudUnexpected {
                aud: aud.clone(),
                accepted: accepted.to_vec(),
                key_audience,
            },
        ),
    }
}

/// `exp - iat` within the key's cap.
pub fn check_lifetime(secs: f64, cap: u64) -> Result<(), Rejection> {
    if secs > cap as f64 {
        return reject(Code::S2104, Reason::Lifetime { secs, cap });
    }
    Ok(())
}

/// `parameters` absent, null or an object.
pub fn check_parameters(parameters: Option<&J>) -> Result<(), Rejection> {
    match parameters {
        None | Some(J::Null | J::Object(_)) => Ok(()),
        Some(_) => reject(Code::S2101, Reason::Parameters),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: J) -> Map<String, J> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn crit_follows_jose() {
        assert_eq!(check_crit(&obj(json!({}))), Ok(true));
        assert!(check_crit(&obj(json!({"crit": ["exp2"], "exp2": 1}))).is_err());
        assert!(check_crit(&obj(json!({"crit": []}))).is_err());
        assert_eq!(
            check_crit(&obj(json!({"crit": ["b64"], "b64": false}))),
            Ok(false)
        );
        assert!(check_crit(&obj(json!({"crit": ["b64"], "b64": "no"}))).is_err());
        assert!(check_crit(&obj(json!({"crit": ["b64"]}))).is_err());
        // Without crit, b64 is an ordinary header parameter.
        assert_eq!(check_crit(&obj(json!({"b64": false}))), Ok(true));
    }

    #[test]
    fn audience_matches_strings_only_and_null_is_missing() {
        let acc = vec!["5".to_string(), "a".to_string()];
        assert_eq!(
            check_audience(Some(&json!(["x", "a"])), &acc, false),
            Ok("a".into())
        );
        assert!(check_audience(Some(&json!(5)), &acc, false).is_err());
        let missing = check_audience(Some(&J::Null), &acc, false).unwrap_err();
        assert!(matches!(missing.reason, Reason::AudMissing { .. }));
    }

    #[test]
    fn parameters_null_passes() {
        assert!(check_parameters(Some(&J::Null)).is_ok());
        assert!(check_parameters(Some(&json!([1]))).is_err());
    }

    #[test]
    fn lifetime_message_prints_numbers_as_javascript() {
        let r = check_lifetime(86_401.0, 86_400).unwrap_err();
        assert_eq!(
            r.to_string(),
            "Token must expire in a maximum of 86400 seconds, got 86401s"
        );
        assert_eq!(js_number(3600.5), "3600.5");
    }
}
