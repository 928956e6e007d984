//! The service's side: the keys a PowerSync Service would hold for a config (static JWKs,
//! the Supabase legacy secret, keys behind `jwks_uri`) and `KeyStore.verifyJwt`'s checks in
//! the service's order, with its `PSYNC_S21xx` codes (POWERSYNC_AUTH.md sections 1–3).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::{Error, Location, Result};
use crate::keys::{Kty, decode_b64url};
use crate::token::{CLOCK_TOLERANCE_SECS, MAX_LIFETIME_SECS};

/// Lifetime cap for tokens signed with the Supabase legacy secret: 7 days + 20 minutes.
pub const SUPABASE_MAX_LIFETIME_SECS: u64 = 7 * 86_400 + 1_200;
/// The algorithms the service accepts (`none` never).
pub const SERVICE_ALGS: [&str; 10] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA",
];
/// Where the Google securetoken (Firebase Auth) keys live.
pub const FIREBASE_JWKS_URI: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

/// Where a key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `client_auth.jwks.keys[index]`, at `line`.
    Static {
        /// Index in the list.
        index: usize,
        /// 1-based line in the config.
        line: usize,
    },
    /// `supabase_jwt_secret` with `supabase: true`.
    SupabaseSecret,
    /// A key set given with `--jwks` for a `jwks_uri`.
    JwksFile,
}

/// One key the service would verify with.
#[derive(Debug, Clone)]
pub struct ServiceKey {
    /// Its kid (None: a wildcard key).
    pub kid: Option<String>,
    /// Its family.
    pub kty: Kty,
    /// Its `alg`, when set.
    pub alg: Option<String>,
    /// Where it comes from.
    pub source: KeySource,
    /// The verifying key, or why it cannot verify anything.
    pub key: std::result::Result<DecodingKey, String>,
    /// The accepted audiences, when the key overrides the config's (Supabase secret).
    pub audience: Option<Vec<String>>,
    /// The lifetime cap for tokens of this key.
    pub max_lifetime: u64,
}

impl ServiceKey {
    fn accepts_alg(&self, alg: &str) -> bool {
        match &self.alg {
            Some(a) => a == alg,
            None => family_of(alg) == Some(self.kty),
        }
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        let kid = self
            .kid
            .as_deref()
            .map_or("a kid-less key".to_string(), |k| format!("key `{k}`"));
        match &self.source {
            KeySource::Static { line, .. } => format!("{kid} (client_auth.jwks.keys, line {line})"),
            KeySource::SupabaseSecret => {
                "the Supabase legacy secret (supabase_jwt_secret)".to_string()
            }
            KeySource::JwksFile => format!("{kid} (from --jwks)"),
        }
    }
}

/// The key family a JWS algorithm belongs to.
pub fn family_of(alg: &str) -> Option<Kty> {
    match alg {
        "HS256" | "HS384" | "HS512" => Some(Kty::Oct),
        "RS256" | "RS384" | "RS512" => Some(Kty::Rsa),
        "ES256" | "ES384" | "ES512" => Some(Kty::Ec),
        "EdDSA" => Some(Kty::Okp),
        _ => None,
    }
}

fn jwt_alg(alg: &str) -> Option<Algorithm> {
    Some(match alg {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Private JWK members: a JWK holding any is imported as a private key and cannot verify.
pub const PRIVATE_FIELDS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

/// Imports a JWK as jose's `importJWK` would, for verification.
pub fn import_jwk(jwk: &Value) -> std::result::Result<(Kty, DecodingKey), String> {
    let s = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kty = s("kty")
        .and_then(Kty::parse)
        .ok_or_else(|| match jwk.get("kty") {
            None => "it has no `kty`".to_string(),
            Some(v) => format!("`kty` {v} is not one of oct, RSA, EC, OKP"),
        })?;
    if let Some(f) = PRIVATE_FIELDS.iter().find(|f| jwk.get(**f).is_some()) {
        return Err(format!(
            "it holds the private field `{f}`, so jose imports it as a private key, which cannot verify"
        ));
    }
    let need = |name: &str| s(name).ok_or_else(|| format!("it has no string `{name}`"));
    let b64 = |name: &str| -> std::result::Result<Vec<u8>, String> {
        decode_b64url(need(name)?).ok_or_else(|| format!("`{name}` is not base64url"))
    };
    let key = match kty {
        Kty::Oct => DecodingKey::from_secret(&b64("k")?),
        Kty::Rsa => {
            let n = b64("n")?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < 2048 {
                return Err(format!(
                    "its RSA modulus has {bits} bits; jose refuses RSA keys under 2048 bits"
                ));
            }
            DecodingKey::from_rsa_raw_components(&n, &b64("e")?)
        }
        Kty::Ec => {
            b64("x")?;
            b64("y")?;
            DecodingKey::from_ec_components(need("x")?, need("y")?).map_err(|e| e.to_string())?
        }
        Kty::Okp => {
            if s("crv") != Some("Ed25519") {
                return Err(format!(
                    "curve {} is not supported here (only Ed25519)",
                    s("crv").unwrap_or("none")
                ));
            }
            b64("x")?;
            DecodingKey::from_ed_components(need("x")?).map_err(|e| e.to_string())?
        }
    };
    Ok((kty, key))
}

/// Keys that remain unknown offline (behind a `jwks_uri` or Supabase's project JWKS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remote {
    /// The `jwks_uri` values.
    pub uris: Vec<String>,
    /// `supabase: true` without a legacy secret: the Supabase project's JWKS.
    pub supabase_project: bool,
}

/// Everything the service would hold for client auth.
#[derive(Debug)]
pub struct KeyStore {
    /// The keys known offline.
    pub keys: Vec<ServiceKey>,
    /// The configured audiences.
    pub audiences: Vec<String>,
    /// Keys that would be fetched (not known offline unless `--jwks` gave them).
    pub remote: Remote,
    /// Whether `--jwks` supplied the remote keys.
    pub jwks_supplied: bool,
}

fn config_error(config: &Config, line: usize, column: usize, message: String, hint: &str) -> Error {
    Error::config(
        Location::at(&config.path, line, column),
        message,
        hint.to_string(),
    )
}

impl KeyStore {
    /// Loads the key store from a config as the service does: every `!env` resolved (with
    /// the `PS_` rule), `audience` a list, each static key importable.
    pub fn load(
        config: &Config,
        lookup: &dyn Fn(&str) -> Option<String>,
        jwks_file: Option<&Value>,
    ) -> Result<KeyStore> {
        // The whole config is resolved at service startup: any bad `!env` stops it.
        config
            .root
            .resolve(lookup)
            .map_err(|e| config.env_error(&e))?;
        let Some(auth_node) = config.client_auth() else {
            return Ok(KeyStore {
                keys: Vec::new(),
                audiences: Vec::new(),
                remote: Remote::default(),
                jwks_supplied: false,
            });
        };
        let auth = auth_node
            .resolve(lookup)
            .map_err(|e| config.env_error(&e))?;
        let audiences = config.audiences(lookup)?.unwrap_or_default();
        let mut keys = Vec::new();
        for sk in config.static_keys() {
            let jwk = sk.node.resolve(lookup).map_err(|e| config.env_error(&e))?;
            let (line, column) = (sk.node.line, sk.node.column);
            let kid = match jwk.get("kid") {
                None => None,
                Some(Value::String(k)) => Some(k.clone()),
                Some(other) => {
                    return Err(config_error(
                        config,
                        line,
                        column,
                        format!(
                            "key {} has kid {other}, a {} (YAML reads unquoted digits and true/false as such); the service refuses the config",
                            sk.index,
                            if other.is_number() {
                                "number"
                            } else {
                                "non-string"
                            }
                        ),
                        "quote the kid, e.g. kid: '123'",
                    ));
                }
            };
            let alg = jwk.get("alg").and_then(Value::as_str).map(str::to_string);
            let kty = jwk.get("kty").and_then(Value::as_str).and_then(Kty::parse);
            let name = kid
                .as_deref()
                .map_or(format!("#{}", sk.index + 1), |k| format!("`{k}`"));
            match kty {
                Some(Kty::Rsa) if kid.is_none() => {
                    return Err(config_error(
                        config,
                        line,
                        column,
                        format!("RSA key {name} has no kid; the service's schema requires one"),
                        "add `kid: '…'` to the key",
                    ));
                }
                Some(Kty::Oct | Kty::Ec | Kty::Okp) if alg.is_none() => {
                    return Err(config_error(
                        config,
                        line,
                        column,
                        format!(
                            "key {name} has no `alg`; the service's schema requires one for {} keys",
                            kty.map_or("", Kty::as_str)
                        ),
                        "add `alg: HS256` (or the key's algorithm)",
                    ));
                }
                _ => {}
            }
            if let (Some(a), Some(k)) = (&alg, kty)
                && family_of(a) != Some(k)
            {
                return Err(config_error(
                    config,
                    line,
                    column,
                    format!(
                        "key {name} has alg {a}, which a {} key cannot use",
                        k.as_str()
                    ),
                    "fix `alg` or `kty`",
                ));
            }
            let imported = import_jwk(&jwk);
            let kty = match (&imported, kty) {
                (Ok((k, _)), _) => *k,
                (Err(_), Some(k)) => k,
                (Err(why), None) => {
                    return Err(config_error(
                        config,
                        line,
                        column,
                        format!("key {name} cannot be imported: {why}"),
                        "fix the key, or remove it",
                    ));
                }
            };
            keys.push(ServiceKey {
                kid,
                kty,
                alg,
                source: KeySource::Static {
                    index: sk.index,
                    line,
                },
                key: imported.map(|(_, k)| k),
                audience: None,
                max_lifetime: MAX_LIFETIME_SECS,
            });
        }
        let supabase = auth
            .get("supabase")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let secret = auth
            .get("supabase_jwt_secret")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if let (true, Some(secret)) = (supabase, secret) {
            keys.push(ServiceKey {
                kid: None,
                kty: Kty::Oct,
                alg: Some("HS256".into()),
                source: KeySource::SupabaseSecret,
                key: Ok(DecodingKey::from_secret(secret.as_bytes())),
                audience: Some(vec!["authenticated".into()]),
                max_lifetime: SUPABASE_MAX_LIFETIME_SECS,
            });
        }
        let uris: Vec<String> = match auth.get("jwks_uri") {
            Some(Value::String(u)) => vec![u.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let remote = Remote {
            uris,
            supabase_project: supabase && secret.is_none(),
        };
        if let Some(set) = jwks_file {
            for jwk in set
                .get("keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                // As the service does for fetched keys: skip oct, non-`sig` and non-`verify` keys.
                let s = |n: &str| jwk.get(n).and_then(Value::as_str);
                if s("kty") == Some("oct") || s("use").is_some_and(|u| u != "sig") {
                    continue;
                }
                if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array)
                    && !ops.iter().any(|o| o == "verify")
                {
                    continue;
                }
                if let Ok((kty, key)) = import_jwk(jwk) {
                    keys.push(ServiceKey {
                        kid: s("kid").map(str::to_string),
                        kty,
                        alg: s("alg").map(str::to_string),
                        source: KeySource::JwksFile,
                        key: Ok(key),
                        audience: None,
                        max_lifetime: MAX_LIFETIME_SECS,
                    });
                }
            }
        }
        Ok(KeyStore {
            keys,
            audiences,
            remote,
            jwks_supplied: jwks_file.is_some(),
        })
    }

    /// True when some keys can only be fetched at run time (and `--jwks` did not supply them).
    pub fn has_unknown_remote_keys(&self) -> bool {
        !self.jwks_supplied && (!self.remote.uris.is_empty() || self.remote.supabase_project)
    }

    fn remote_description(&self) -> String {
        let mut parts: Vec<String> = self.remote.uris.iter().map(|u| format!("`{u}`")).collect();
        if self.remote.supabase_project {
            parts.push("the Supabase project's JWKS (from the replication connection)".into());
        }
        parts.join(" or ")
    }
}

/// A token split into its parts.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// `header.payload`, the signed bytes.
    pub signing_input: String,
    /// The signature, base64url.
    pub signature: String,
}

/// Strips `Bearer `/`Token ` and whitespace from a pasted token.
pub fn clean_token(raw: &str) -> &str {
    let t = raw.trim();
    for prefix in ["Bearer ", "Token ", "bearer ", "token "] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return rest.trim();
        }
    }
    t
}

/// Splits and decodes a compact JWS without verifying it.
pub fn parse_token(token: &str) -> std::result::Result<Parsed, String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "a JWT has 3 dot-separated parts, this has {}",
            parts.len()
        ));
    }
    let part = |i: usize, what: &str| -> std::result::Result<Map<String, Value>, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(parts[i].trim_end_matches('='))
            .map_err(|_| format!("the {what} is not base64url"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(format!("the {what} is not a JSON object")),
            Err(_) => Err(format!("the {what} is not JSON")),
        }
    };
    Ok(Parsed {
        header: part(0, "header")?,
        claims: part(1, "payload")?,
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature: parts[2].to_string(),
    })
}

/// The service's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The service accepts the token.
    Accepted,
    /// The service rejects it with this code and message; `hint` says what to change.
    Rejected {
        /// `PSYNC_S21xx`.
        code: &'static str,
        /// The service's message.
        message: String,
        /// The fix.
        hint: String,
    },
    /// Every offline check passed, but the signing key is fetched at run time.
    Unverified {
        /// Which key would be fetched from where.
        message: String,
        /// How to finish the check.
        hint: String,
    },
}

/// What `verify` found out.
#[derive(Debug, Clone)]
pub struct Report {
    /// The verdict.
    pub outcome: Outcome,
    /// The key that verified (or would have), described.
    pub key: Option<String>,
    /// The audience value that matched.
    pub audience_matched: Option<String>,
    /// The token, decoded (when it decodes).
    pub parsed: Option<Parsed>,
}

fn reject(code: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        code,
        message: message.into(),
        hint: hint.into(),
    }
}

fn num(claims: &Map<String, Value>, name: &str) -> Option<f64> {
    claims.get(name).and_then(Value::as_f64)
}

/// Verifies `token` at unix time `now` exactly as the service's `KeyStore.verifyJwt` does.
pub fn verify(store: &KeyStore, token: &str, now: u64) -> Report {
    let mut report = Report {
        outcome: Outcome::Accepted,
        key: None,
        audience_matched: None,
        parsed: None,
    };
    let parsed = match parse_token(token) {
        Ok(p) => p,
        Err(why) => {
            report.outcome = reject(
                "PSYNC_S2101",
                format!("Malformed token: {why}"),
                "pass the whole token (three base64url parts separated by dots)",
            );
            return report;
        }
    };
    report.parsed = Some(parsed.clone());
    let alg = parsed
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kid = parsed.header.get("kid").and_then(Value::as_str);
    let kids: Vec<String> = store.keys.iter().filter_map(|k| k.kid.clone()).collect();
    let known_kids = if kids.is_empty() {
        "none".to_string()
    } else {
        kids.join(", ")
    };

    // 1. Key selection.
    let candidates: Vec<&ServiceKey> = match kid {
        Some(kid) => {
            let exact: Vec<&ServiceKey> = store
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect();
            if let Some(k) = exact.iter().find(|k| !k.accepts_alg(alg)) {
                report.key = Some(k.describe());
                report.outcome = reject(
                    "PSYNC_S2101",
                    format!("Unexpected token algorithm {alg}"),
                    format!(
                        "{} is {}; sign with that algorithm, or fix the key's `alg`",
                        k.describe(),
                        k.alg
                            .clone()
                            .unwrap_or_else(|| format!("a {} key", k.kty.as_str()))
                    ),
                );
                return report;
            }
            exact
        }
        None => store
            .keys
            .iter()
            .filter(|k| k.kid.is_none() && k.accepts_alg(alg))
            .collect(),
    };
    let signature_unknown = candidates.is_empty() && store.has_unknown_remote_keys();
    if candidates.is_empty() && !signature_unknown {
        let hint = match kid {
            Some(kid) => format!(
                "the token's kid is `{kid}`; the config's kids are: {known_kids}. Mint with one of them (`pskeys mint`), add the key (`pskeys init`), or restart the service if you just changed keys"
            ),
            None => format!(
                "the token has no kid, and no kid-less {alg} key is configured (kids: {known_kids}); sign with a kid (`pskeys mint` always sets one)"
            ),
        };
        report.outcome = reject(
            "PSYNC_S2101",
            "Could not find an appropriate key in the keystore. The key is missing or no key matched the token KID",
            hint,
        );
        return report;
    }

    // 2. Signature and the standard claims, as jose's jwtVerify checks them.
    if !SERVICE_ALGS.contains(&alg) {
        report.outcome = reject(
            "PSYNC_S2101",
            format!(
                "Unsupported \"alg\" value: {}",
                if alg.is_empty() { "none given" } else { alg }
            ),
            "sign with HS256/384/512, RS256/384/512, ES256/384/512 or EdDSA; `none` is never accepted",
        );
        return report;
    }
    let mut verified_by: Option<&ServiceKey> = None;
    let mut last_problem = None;
    if !signature_unknown {
        let Some(jalg) = jwt_alg(alg) else {
            report.outcome = Outcome::Unverified {
                message: format!("pskeys cannot check {alg} signatures"),
                hint: "verify against the running service".into(),
            };
            return report;
        };
        for k in &candidates {
            match &k.key {
                Ok(key) => match jsonwebtoken::crypto::verify(
                    &parsed.signature,
                    parsed.signing_input.as_bytes(),
                    key,
                    jalg,
                ) {
                    Ok(true) => {
                        verified_by = Some(k);
                        break;
                    }
                    Ok(false) | Err(_) => {
                        last_problem =
                            Some(format!("the signature does not match {}", k.describe()))
                    }
                },
                Err(why) => last_problem = Some(format!("{} cannot verify: {why}", k.describe())),
            }
        }
        let Some(k) = verified_by else {
            report.outcome = reject(
                "PSYNC_S2101",
                "signature verification failed",
                format!(
                    "{}; the token was signed with another key (a different secret or key pair under the same kid). Mint a new token with `pskeys mint`, or run `pskeys doctor`",
                    last_problem.unwrap_or_default()
                ),
            );
            return report;
        };
        report.key = Some(k.describe());
    }
    let claims = &parsed.claims;
    for claim in ["sub", "iat", "exp"] {
        if !claims.contains_key(claim) {
            report.outcome = reject(
                "PSYNC_S2101",
                format!("JWT payload is missing a required claim \"{claim}\""),
                format!("add `{claim}` (`pskeys mint` always sets sub, iat and exp)"),
            );
            return report;
        }
    }
    for claim in ["iat", "exp", "nbf"] {
        if claims.get(claim).is_some_and(|v| !v.is_number()) {
            report.outcome = reject(
                "PSYNC_S2101",
                format!("\"{claim}\" claim must be a number"),
                format!("`{claim}` must be unix seconds"),
            );
            return report;
        }
    }
    let now_f = now as f64;
    let tol = CLOCK_TOLERANCE_SECS as f64;
    if let Some(nbf) = num(claims, "nbf")
        && nbf > now_f + tol
    {
        report.outcome = reject(
            "PSYNC_S2101",
            "\"nbf\" claim timestamp check failed",
            format!(
                "the token is not valid before {} ({}s from now, beyond the 60 s tolerance)",
                crate::token::rfc3339(nbf as u64),
                (nbf - now_f) as i64
            ),
        );
        return report;
    }
    let exp = num(claims, "exp").unwrap_or(0.0);
    if exp <= now_f - tol {
        report.outcome = reject(
            "PSYNC_S2103",
            "JWT has expired",
            format!(
                "it expired at {} ({} ago; the service allows 60 s of clock skew). Mint a fresh one: `pskeys mint --sub …`",
                crate::token::rfc3339(exp.max(0.0) as u64),
                human_duration((now_f - exp) as u64)
            ),
        );
        return report;
    }

    // 3. Audience.
    let key_audience = verified_by.and_then(|k| k.audience.clone());
    let accepted = key_audience
        .clone()
        .unwrap_or_else(|| store.audiences.clone());
    let Some(aud) = claims.get("aud") else {
        report.outcome = reject(
            "PSYNC_S2105",
            "JWT payload is missing a required claim \"aud\"",
            format!("add `aud` with one of: {}", list_or_none(&accepted)),
        );
        return report;
    };
    let token_auds: Vec<String> = match aud {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        other => vec![other.to_string()],
    };
    match token_auds.iter().find(|a| accepted.contains(a)) {
        Some(a) => report.audience_matched = Some(a.clone()),
        None => {
            let hint = if key_audience.is_some() {
                "tokens signed with the Supabase legacy secret must have aud `authenticated`"
                    .to_string()
            } else if accepted.is_empty() {
                "the config has no client_auth.audience, so every token fails: add one with `pskeys init --audience <aud>`".to_string()
            } else {
                format!(
                    "the token's aud is {}; the config accepts {}. Either mint with a configured one (`pskeys mint --aud {}`), or add the token's to the config (`pskeys init --audience {}`) and restart the service",
                    token_auds.join(", "),
                    accepted.join(", "),
                    accepted[0],
                    token_auds.first().map_or("<aud>", String::as_str)
                )
            };
            report.outcome = reject(
                "PSYNC_S2105",
                format!(
                    "Unexpected \"aud\" claim value: {}",
                    serde_json::to_string(aud).unwrap_or_default()
                ),
                hint,
            );
            return report;
        }
    }

    // 4. Lifetime.
    let iat = num(claims, "iat").unwrap_or(0.0);
    let cap = verified_by.map_or(MAX_LIFETIME_SECS, |k| k.max_lifetime);
    let lifetime = exp - iat;
    if lifetime > cap as f64 {
        report.outcome = reject(
            "PSYNC_S2104",
            format!(
                "Token must expire in a maximum of {cap} seconds, got {}s",
                lifetime as i64
            ),
            format!(
                "its lifetime (exp - iat) is {} ({}s); the cap is {} ({cap}s). Mint shorter tokens: `pskeys mint --expires-in 12h`",
                human_duration(lifetime as u64),
                lifetime as i64,
                human_duration(cap)
            ),
        );
        return report;
    }

    // 5. parameters.
    if claims.get("parameters").is_some_and(|p| !p.is_object()) {
        report.outcome = reject(
            "PSYNC_S2101",
            "Payload parameters must be an object",
            "make `parameters` a JSON object, e.g. {\"team\":\"a\"} (`pskeys mint --parameters`)",
        );
        return report;
    }

    if signature_unknown {
        report.outcome = Outcome::Unverified {
            message: format!(
                "every offline check passed, but the signing key{} would be fetched from {}",
                kid.map_or(String::new(), |k| format!(" `{k}`")),
                store.remote_description()
            ),
            hint: "download that key set and pass it with --jwks FILE to check the signature too"
                .into(),
        };
    }
    report
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none configured)".into()
    } else {
        items.join(", ")
    }
}

/// `11h 59m`, `2d 3h`, `45s`.
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
    fn durations_read_well() {
        assert_eq!(human_duration(43_140), "11h 59m");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(90), "1m 30s");
        assert_eq!(human_duration(SUPABASE_MAX_LIFETIME_SECS), "7d 0h");
    }

    #[test]
    fn tokens_are_cleaned_and_parsed() {
        assert_eq!(clean_token("  Bearer abc.def.ghi \n"), "abc.def.ghi");
        assert_eq!(clean_token("Token x"), "x");
        assert!(parse_token("a.b").is_err());
        assert!(parse_token("e30.e30.").is_ok());
    }

    #[test]
    fn jwk_import_refuses_what_jose_refuses() {
        let small = serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
        assert!(import_jwk(&small).unwrap_err().contains("2048"));
        let private = serde_json::json!({"kty": "oct", "k": "AAAA", "d": "x"});
        assert!(import_jwk(&private).unwrap_err().contains("private"));
        assert!(import_jwk(&serde_json::json!({"kty": "oct", "k": "not base64!"})).is_err());
    }
}
