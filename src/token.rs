//! Tokens: lifetimes, claims, signing, and the service's acceptance rules that `mint`
//! checks before it prints anything (POWERSYNC_AUTH.md section 3).

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Header, Validation};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::keys::{Alg, PrivateKey};

/// The longest lifetime the service accepts (`exp - iat`, PSYNC_S2104).
pub const MAX_LIFETIME_SECS: u64 = 86_400;
/// The clock tolerance of the service's jose verification.
pub const CLOCK_TOLERANCE_SECS: u64 = 60;
/// Claims `mint` sets itself and refuses in `--claim`.
pub const RESERVED_CLAIMS: [&str; 4] = ["sub", "iat", "exp", "aud"];

/// Parses a lifetime such as `90s`, `15m`, `12h`, `1d` or `1h30m` (bare numbers are seconds)
/// and checks it against the service's 24 h cap.
pub fn parse_lifetime(text: &str) -> Result<u64> {
    let t = text.trim();
    let secs = match t.parse::<u64>() {
        Ok(n) => n,
        Err(_) => humantime::parse_duration(t)
            .map_err(|e| {
                Error::usage(
                    format!("--expires-in `{text}` is not a duration ({e})"),
                    "use a number with a unit, e.g. 90s, 15m, 12h or 1d".to_string(),
                )
            })?
            .as_secs(),
    };
    if secs == 0 {
        return Err(Error::usage("--expires-in must be at least 1s", None));
    }
    if secs > MAX_LIFETIME_SECS {
        return Err(Error::usage(
            format!("--expires-in {text} is {secs} s; the service rejects tokens living longer than {MAX_LIFETIME_SECS} s (24 h) with PSYNC_S2104"),
            "use 24h or less; mint a fresh token when it expires (`fetchCredentials` is called again)".to_string(),
        ));
    }
    Ok(secs)
}

/// Seconds since the epoch, read once per token so `iat` and `exp` agree.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Parses `KEY=VALUE`; VALUE is JSON when it parses as JSON, else a string.
pub fn parse_claim(text: &str) -> Result<(String, Value)> {
    let (key, raw) = text.split_once('=').ok_or_else(|| {
        Error::usage(
            format!("--claim `{text}` has no `=`"),
            "write it as KEY=VALUE, e.g. --claim role=admin".to_string(),
        )
    })?;
    let key = key.trim();
    if key.is_empty() {
        return Err(Error::usage(
            format!("--claim `{text}` has an empty name"),
            None,
        ));
    }
    if RESERVED_CLAIMS.contains(&key) {
        let flag = match key {
            "sub" => "--sub",
            "aud" => "--aud",
            _ => "--expires-in",
        };
        return Err(Error::usage(
            format!("--claim cannot set `{key}`"),
            format!("use {flag} instead"),
        ));
    }
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    Ok((key.to_string(), value))
}

/// What a token is made of.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// `sub`: the user id sync rules see.
    pub sub: String,
    /// `aud` values.
    pub audiences: Vec<String>,
    /// `iat`.
    pub issued_at: u64,
    /// `exp - iat` in seconds.
    pub lifetime: u64,
    /// Extra claims (`parameters`, custom), in order.
    pub extra: Vec<(String, Value)>,
}

impl TokenSpec {
    /// The claims object: `sub`, `iat`, `exp`, `aud`, then the extras.
    pub fn claims(&self) -> Map<String, Value> {
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::String(self.sub.clone()));
        claims.insert("iat".into(), self.issued_at.into());
        claims.insert("exp".into(), (self.issued_at + self.lifetime).into());
        let aud = match self.audiences.as_slice() {
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        claims.insert("aud".into(), aud);
        for (k, v) in &self.extra {
            claims.insert(k.clone(), v.clone());
        }
        claims
    }
}

/// Signs `claims` with `key`; the header carries `alg`, `kid` and `typ: JWT`.
pub fn sign(key: &PrivateKey, kid: &str, claims: &Map<String, Value>) -> Result<(String, Header)> {
    let mut header = Header::new(key.alg().jwt());
    header.kid = Some(kid.to_string());
    header.typ = Some("JWT".into());
    let token =
        jsonwebtoken::encode(&header, claims, &key.encoding_key()?).map_err(|e| Error::Key {
            message: format!("signing failed: {e}"),
            hint: None,
        })?;
    Ok((token, header))
}

/// Signs arbitrary header and claims objects (the header's `alg` is set from the key);
/// for tools and tests that need tokens `mint` refuses to make.
pub fn sign_raw(
    key: &PrivateKey,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> Result<String> {
    use base64::Engine as _;
    let b64 = |v: &Map<String, Value>| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(v).unwrap_or_default())
    };
    let mut header = header.clone();
    header.insert("alg".into(), Value::String(key.alg().as_str().into()));
    let input = format!("{}.{}", b64(&header), b64(claims));
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key.encoding_key()?, key.alg().jwt())
        .map_err(|e| Error::Key {
        message: format!("signing failed: {e}"),
        hint: None,
    })?;
    Ok(format!("{input}.{sig}"))
}

/// Verifies `token` against a public JWK (or HMAC secret) with the service's options:
/// the algorithm, required `sub`/`iat`/`exp`, 60 s tolerance and the audience list.
pub fn verify(
    token: &str,
    alg: Alg,
    jwk: &Value,
    audiences: &[String],
) -> std::result::Result<(), String> {
    // Imported as the service's jose would: a key it cannot use fails here too.
    let (_, key) = crate::keystore::import_jwk(jwk)?;
    let mut validation = Validation::new(alg.jwt());
    validation.leeway = CLOCK_TOLERANCE_SECS;
    validation.set_required_spec_claims(&["sub", "iat", "exp", "aud"]);
    validation.set_audience(audiences);
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Formats a unix time as RFC 3339 (UTC).
pub fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("90s").unwrap(), 90);
        assert_eq!(parse_lifetime("15m").unwrap(), 900);
        assert_eq!(parse_lifetime("12h").unwrap(), 43_200);
        assert_eq!(parse_lifetime("1d").unwrap(), 86_400);
        assert_eq!(parse_lifetime("1h30m").unwrap(), 5_400);
        assert_eq!(parse_lifetime("600").unwrap(), 600);
        assert!(
            parse_lifetime("25h")
                .unwrap_err()
                .to_string()
                .contains("PSYNC_S2104")
        );
        assert!(parse_lifetime("0s").is_err());
        assert!(parse_lifetime("soon").is_err());
    }

    #[test]
    fn claims_parse_as_json_or_string() {
        assert_eq!(parse_claim("n=3").unwrap().1, Value::from(3));
        assert_eq!(parse_claim("s=abc").unwrap().1, Value::from("abc"));
        assert_eq!(
            parse_claim("o={\"a\":1}").unwrap().1,
            serde_json::json!({"a": 1})
        );
        assert!(parse_claim("exp=1").is_err());
        assert!(parse_claim("novalue").is_err());
    }

    #[test]
    fn signed_tokens_verify_and_wrong_audiences_do_not() {
        let key = crate::keys::generate(Alg::ES256, 0).unwrap();
        let jwk = key.public_jwk().unwrap().unwrap().to_json("k1");
        let spec = TokenSpec {
            sub: "u".into(),
            audiences: vec!["a".into()],
            issued_at: now(),
            lifetime: 60,
            extra: vec![],
        };
        let (token, _) = sign(&key, "k1", &spec.claims()).unwrap();
        verify(&token, Alg::ES256, &jwk, &["a".into()]).unwrap();
        assert!(verify(&token, Alg::ES256, &jwk, &["b".into()]).is_err());
    }

    #[test]
    fn rfc3339_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
