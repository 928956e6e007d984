//! [`Minter`]: "load the key pskeys wrote and mint tokens this config accepts", built once
//! from a config and an [`Env`], then used for any number of tokens (a CLI run, a test
//! harness, a server). Every token passes the service's rules in [`crate::service`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value as J, json};

use crate::config::Config;
use crate::env::Env;
use crate::envfile::{ALG_VAR, KID_VAR, PRIVATE_KEY_VAR};
use crate::jws::{Alg, Kty, SigningKey, b64url};
use crate::keys::{KeyError, PrivateKey};
use crate::service::keystore::{KeyStore, MAX_LIFETIME_SECS, Refused};
use crate::service::rules::{self, Finding, FindingId, Impact, KeyMatch};
use crate::service::verify::{self, Rejection, Report};

/// The default token lifetime: 12 hours, as the PowerSync docs' development tokens.
pub const DEFAULT_LIFETIME_SECS: u64 = 43_200;
/// Claims the minter sets itself.
pub const RESERVED_CLAIMS: [&str; 4] = ["sub", "iat", "exp", "aud"];

/// What a token says about its user.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSpec {
    /// `sub`: the user id sync rules see as `request.user_id()`.
    pub sub: String,
    /// `aud` values; empty means the config's audience list.
    pub audiences: Vec<String>,
    /// `exp - iat` in seconds.
    pub lifetime: u64,
    /// Extra claims (`parameters`, custom ones), in order.
    pub claims: Map<String, J>,
}

impl TokenSpec {
    /// A token for `sub` with the config's audiences and a 12 h lifetime.
    pub fn new(sub: impl Into<String>) -> TokenSpec {
        TokenSpec {
            sub: sub.into(),
            audiences: Vec::new(),
            lifetime: DEFAULT_LIFETIME_SECS,
            claims: Map::new(),
        }
    }

    /// Sets the lifetime in seconds.
    pub fn lifetime(mut self, secs: u64) -> TokenSpec {
        self.lifetime = secs;
        self
    }

    /// Adds an `aud` value (the first call replaces the config's list).
    pub fn audience(mut self, aud: impl Into<String>) -> TokenSpec {
        self.audiences.push(aud.into());
        self
    }

    /// Adds (or replaces) an extra claim.
    pub fn claim(mut self, name: impl Into<String>, value: J) -> TokenSpec {
        self.claims.insert(name.into(), value);
        self
    }
}

/// A signed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The compact JWT.
    pub token: String,
    /// `iat`.
    pub issued_at: u64,
    /// `exp`.
    pub expires_at: u64,
}

/// Why a minter cannot be built, or a token not minted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MintError {
    /// The service refuses the config's `client_auth`.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// No kid given and `PSKEYS_KID` unset.
    #[error("no signing key: {KID_VAR} is blank or set neither in .env nor in the environment")]
    NoSigningKey,
    /// The config has no key with this kid.
    #[error(
        "Could not find an appropriate key in the keystore: the config has no key with kid `{kid}`"
    )]
    KidNotInConfig {
        /// The kid asked for.
        kid: String,
        /// The config's kids.
        known: Vec<String>,
    },
    /// The key loads, but the service would reject every token for it.
    #[error("{}", .finding.message)]
    KeyUnusable {
        /// The finding that says why.
        finding: Box<Finding>,
    },
    /// The private part of an asymmetric key is not in the environment.
    #[error("the private key of `{kid}` is not in .env ({PRIVATE_KEY_VAR} belongs to {})", .env_kid.as_deref().unwrap_or("no key"))]
    PrivateKeyElsewhere {
        /// The kid asked for.
        kid: String,
        /// The kid `.env`'s private key belongs to.
        env_kid: Option<String>,
    },
    /// `PSKEYS_PRIVATE_KEY` is unset.
    #[error("{PRIVATE_KEY_VAR} is set neither in .env nor in the environment")]
    PrivateKeyMissing,
    /// The stored private key does not parse.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// `.env`'s private key is not the config's public key.
    #[error(
        "PSKEYS_PRIVATE_KEY (from .env or the environment) is not the pair of key `{kid}` in the config (their `{param}` differ): every token would fail with PSYNC_S2101 signature verification failed"
    )]
    KeyMismatch {
        /// The kid.
        kid: String,
        /// The first public member that differs.
        param: &'static str,
    },
    /// The config accepts no audience: every token fails with S2105.
    #[error(
        "the config has no client_auth.audience: the service rejects every token (PSYNC_S2105)"
    )]
    NoAudience,
    /// A claim the minter sets itself.
    #[error("the claim `{0}` is set by the minter")]
    ReservedClaim(String),
    /// A lifetime of zero.
    #[error("the lifetime must be at least 1 s")]
    ZeroLifetime,
    /// `now + lifetime` does not fit in unix seconds.
    #[error("the issue time plus the lifetime is past the end of unix time")]
    TimeOutOfRange,
    /// The service would reject the token.
    #[error("{0}")]
    Rejected(Rejection),
}

/// A prepared signing key with the rules of one config: build once, mint many.
#[derive(Debug)]
pub struct Minter {
    kid: String,
    key: SigningKey,
    header_b64: String,
    /// The `aud` JSON of tokens that take the config's audiences, written once.
    default_aud: Vec<u8>,
    store: KeyStore,
    max_lifetime: u64,
    warnings: Vec<Finding>,
}

impl Minter {
    /// Prepares the key `kid` (default: `PSKEYS_KID`) of `config`: the config's `client_auth`
    /// must load, the key must be usable, and `.env`'s private key must be its pair.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pskeys::{Minter, Project, TokenSpec};
    /// let project = Project::open(None, ".env".as_ref())?;
    /// let minter = Minter::new(project.config(), project.env(), None)?;
    /// let minted = minter.mint(&TokenSpec::new("user-1").lifetime(3600), pskeys::now())?;
    /// println!("{}", minted.token);
    /// # Ok(()) }
    /// ```
    pub fn new(config: &Config, env: &Env, kid: Option<&str>) -> Result<Minter, MintError> {
        let kid = kid.or_else(|| env.get(KID_VAR)).filter(|k| !k.is_empty());
        let kid = kid.ok_or(MintError::NoSigningKey)?.to_string();
        let findings = rules::config_findings(config, env);
        let Some(index) = config_key_index(config, env, &kid) else {
            let known = config
                .static_keys()
                .iter()
                .filter_map(|k| k.kid.clone())
                .collect();
            return Err(MintError::KidNotInConfig { kid, known });
        };
        let own = format!("client_auth.jwks.keys[{index}]");
        check_findings(&findings, &own)?;
        let store = KeyStore::build(config, env, None);
        let jwk = match config.static_keys()[index].node.resolve(&env.lookup()) {
            Ok(J::Object(jwk)) => jwk,
            _ => {
                return Err(MintError::KidNotInConfig {
                    kid,
                    known: Vec::new(),
                });
            }
        };
        let key = signing_key(env, &kid, &jwk)?;
        if store.audiences.is_empty() {
            return Err(MintError::NoAudience);
        }
        let header = json!({"alg": key.alg().as_str(), "kid": kid, "typ": "JWT"});
        let mut header_b64 = b64url(header.to_string().as_bytes());
        header_b64.push('.');
        let mut default_aud = Vec::new();
        aud_into(&mut default_aud, &store.audiences);
        let max_lifetime = store
            .by_kid(&kid)
            .map_or(MAX_LIFETIME_SECS, |k| k.max_lifetime);
        // What the service would hold against this config although this key's tokens are
        // fine: its private members in the shared file, and refusals outside client_auth
        // (undefined variables aside: they may be defined where the service runs).
        let warnings = findings
            .into_iter()
            .filter(|f| {
                (f.setting == own && f.impact == Impact::Leak)
                    || (f.refuses_config()
                        && !f.in_client_auth()
                        && f.id != FindingId::EnvUndefined)
                    // Another client_auth setting's variable, undefined here: the service
                    // that has it defined accepts the token; this one would not load.
                    || (f.id == FindingId::EnvUndefined && f.in_client_auth())
            })
            .collect();
        Ok(Minter {
            kid,
            key,
            header_b64,
            default_aud,
            store,
            max_lifetime,
            warnings,
        })
    }

    /// The kid tokens are signed with.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm tokens are signed with.
    pub fn alg(&self) -> Alg {
        self.key.alg()
    }

    /// The audiences the config accepts (a token's `aud` must hold one).
    pub fn audiences(&self) -> &[String] {
        &self.store.audiences
    }

    /// What the service would hold against the config although it accepts this key's
    /// tokens: private members of the key in the shared config, and reasons outside
    /// `client_auth` for which it would not load the config (no `storage:`, …).
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }

    /// The key store the service would build from this config.
    pub fn store(&self) -> &KeyStore {
        &self.store
    }

    /// Signs a token for `spec` at unix time `now`, after checking it against the service's
    /// claim rules (audience, lifetime cap, `parameters`, `nbf`).
    pub fn mint(&self, spec: &TokenSpec, now: u64) -> Result<Minted, MintError> {
        self.check(spec, now)?;
        let exp = now
            .checked_add(spec.lifetime)
            .ok_or(MintError::TimeOutOfRange)?;
        let claims = self.claims_json(spec, now, exp);
        // One allocation for the whole token: every part's length is known here.
        let claims_b64_len = (claims.len() * 4).div_ceil(3);
        let len = self.header_b64.len() + claims_b64_len + 1 + self.key.signature_b64_len();
        let mut token = String::with_capacity(len);
        token.push_str(&self.header_b64);
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        self.key.sign_token(&mut token)?;
        Ok(Minted {
            token,
            issued_at: now,
            expires_at: exp,
        })
    }

    /// The claims as JSON written straight into bytes (no `Value` tree): `sub`, `iat`,
    /// `exp`, `aud`, then the spec's claims in order. This runs for every token.
    fn claims_json(&self, spec: &TokenSpec, iat: u64, exp: u64) -> Vec<u8> {
        let mut claims = Vec::with_capacity(128 + spec.sub.len() + self.default_aud.len());
        claims.extend_from_slice(b"{\"sub\":");
        json_into(&mut claims, &spec.sub);
        claims.extend_from_slice(b",\"iat\":");
        claims.extend_from_slice(itoa::Buffer::new().format(iat).as_bytes());
        claims.extend_from_slice(b",\"exp\":");
        claims.extend_from_slice(itoa::Buffer::new().format(exp).as_bytes());
        claims.extend_from_slice(b",\"aud\":");
        if spec.audiences.is_empty() {
            claims.extend_from_slice(&self.default_aud);
        } else {
            aud_into(&mut claims, &spec.audiences);
        }
        for (name, value) in &spec.claims {
            claims.push(b',');
            json_into(&mut claims, name);
            claims.push(b':');
            json_into(&mut claims, value);
        }
        claims.push(b'}');
        claims
    }

    fn check(&self, spec: &TokenSpec, now: u64) -> Result<(), MintError> {
        if spec.lifetime == 0 {
            return Err(MintError::ZeroLifetime);
        }
        verify::check_lifetime(spec.lifetime as f64, self.max_lifetime)
            .map_err(MintError::Rejected)?;
        if !spec.audiences.is_empty() {
            let aud = J::Array(spec.audiences.iter().cloned().map(J::String).collect());
            verify::check_audience(Some(&aud), &self.store.audiences, false)
                .map_err(MintError::Rejected)?;
        }
        check_claims(&spec.claims, now)
    }

    /// Checks `token` at `now` exactly as `pskeys verify` does, against this config.
    pub fn verify(&self, token: &str, now: u64) -> Report {
        verify::verify(&self.store, token, now)
    }

    /// The public JWK set of the signing key (`{"keys": []}` for an HMAC key: secrets are
    /// never published).
    pub fn jwks(&self) -> Result<J, KeyError> {
        let params = self.key.public_params()?;
        if params.is_empty() {
            return Ok(json!({"keys": []}));
        }
        let mut jwk = Map::new();
        jwk.insert("kty".into(), self.alg().kty().as_str().into());
        jwk.insert("kid".into(), self.kid.clone().into());
        jwk.insert("alg".into(), self.alg().as_str().into());
        for (k, v) in params {
            jwk.insert(k.into(), v.into());
        }
        jwk.insert("use".into(), "sig".into());
        Ok(json!({"keys": [jwk]}))
    }
}

/// The extra claims: none the minter sets itself, `parameters` an object, `nbf` not in the
/// future. Scans the few claims a token has instead of hashing six names: this runs for
/// every token.
fn check_claims(claims: &Map<String, J>, now: u64) -> Result<(), MintError> {
    let claim = |name: &str| claims.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
    // Reported in RESERVED_CLAIMS order, whatever the spec's order.
    let reserved = claims
        .keys()
        .filter_map(|k| RESERVED_CLAIMS.iter().position(|r| r == k))
        .min();
    if let Some(i) = reserved {
        return Err(MintError::ReservedClaim(RESERVED_CLAIMS[i].to_string()));
    }
    verify::check_parameters(claim("parameters")).map_err(MintError::Rejected)?;
    let nbf = match claim("nbf") {
        None => None,
        Some(v) => Some(v.as_f64().ok_or(MintError::Rejected(Rejection {
            code: verify::Code::S2101,
            reason: verify::Reason::NotNumber("nbf"),
        }))?),
    };
    verify::check_nbf(nbf, now).map_err(MintError::Rejected)
}

/// Writes `aud` as JSON: a single audience as a string, several as a list.
fn aud_into(buf: &mut Vec<u8>, audiences: &[String]) {
    match audiences {
        [one] => json_into(buf, one),
        many => json_into(buf, many),
    }
}

/// Compact JSON whose bytes base64url-encode without `-` or `_` (see [`Base64Safe`]).
fn json_into<T: serde::Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) {
    // Serialising strings, string lists and JSON values into a Vec cannot fail.
    let mut ser = serde_json::Serializer::with_formatter(buf, Base64Safe);
    let _ = value.serialize(&mut ser);
}

/// serde_json's compact format, except that string characters outside 7-bit ASCII, and
/// `>`, `?`, `~` and DEL, are written as `\uXXXX` escapes (the same string to any JSON
/// reader). The payload is then ASCII without the four bytes whose low six bits are 62 or
/// 63, so its base64url has no `-` or `_`: the Diagnostics app reads a token's `aud` with
/// the browser's `atob`, which refuses those two characters, and would not find the
/// endpoint in a token with `"sub": "josé"` or `"q": "a?b"`.
struct Base64Safe;

impl serde_json::ser::Formatter for Base64Safe {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // The common case, one pass over bytes: nothing to escape.
        if !fragment
            .bytes()
            .any(|b| b >= b'~' || b == b'>' || b == b'?')
        {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() && !matches!(c, '>' | '?' | '~' | '\x7f') {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[start..i])?;
            for unit in c.encode_utf16(&mut [0; 2]) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// The index of the first key with `kid` (the one the service uses).
fn config_key_index(config: &Config, env: &Env, kid: &str) -> Option<usize> {
    let lookup = env.lookup();
    config.static_keys().iter().find_map(|k| {
        let node = k.node.get("kid")?;
        (node.resolve(&lookup).ok()?.as_str() == Some(kid)).then_some(k.index)
    })
}

/// Refuses to mint when the service would refuse `client_auth`, or reject every token of
/// the key at `own`. Variables other keys read may be defined only where the service runs
/// (CI secrets, a teammate's machine), so those do not stop this key.
fn check_findings(findings: &[Finding], own: &str) -> Result<(), MintError> {
    let mine = |f: &Finding| f.setting == own || f.setting.starts_with(&format!("{own}."));
    let refusals: Vec<Finding> = findings
        .iter()
        .filter(|f| f.refuses_config() && f.in_client_auth())
        .filter(|f| f.id != FindingId::EnvUndefined || mine(f))
        .cloned()
        .collect();
    if !refusals.is_empty() {
        return Err(MintError::Refused(Refused { findings: refusals }));
    }
    match findings
        .iter()
        .find(|f| mine(f) && f.impact == Impact::TokensFail)
    {
        Some(f) => Err(MintError::KeyUnusable {
            finding: Box::new(f.clone()),
        }),
        None => Ok(()),
    }
}

/// The key that signs for `jwk`: its HMAC secret, or `.env`'s private key proven to be its pair.
fn signing_key(env: &Env, kid: &str, jwk: &Map<String, J>) -> Result<SigningKey, MintError> {
    let kty = jwk.get("kty").and_then(J::as_str).and_then(Kty::parse);
    let named = jwk.get("alg").and_then(J::as_str).and_then(Alg::parse);
    let env_alg = env.get(ALG_VAR).and_then(Alg::parse);
    let alg = match (named, kty) {
        (Some(a), _) => a,
        (None, Some(k)) => env_alg.filter(|a| a.kty() == k).unwrap_or(match k {
            Kty::Rsa => Alg::RS256,
            Kty::Oct => Alg::HS256,
            Kty::Ec => Alg::ES256,
            Kty::Okp => Alg::EdDSA,
        }),
        (None, None) => return Err(KeyError::BadPrivateKey { alg: Alg::HS256 }.into()),
    };
    if alg.is_hmac() {
        let k = jwk.get("k").and_then(J::as_str).unwrap_or_default();
        let private = PrivateKey::from_hmac_k(alg, k).ok_or(KeyError::EmptySecret)?;
        return Ok(private.signing_key()?);
    }
    let env_kid = env.get(KID_VAR);
    let pem = if env_kid == Some(kid) {
        env.get(PRIVATE_KEY_VAR)
            .ok_or(MintError::PrivateKeyMissing)?
    } else {
        // A key rotated out but not retired keeps its private key.
        env.get(&crate::envfile::kept_key_var(kid)).ok_or_else(|| {
            MintError::PrivateKeyElsewhere {
                kid: kid.to_string(),
                env_kid: env_kid.map(str::to_string),
            }
        })?
    };
    let private = PrivateKey::from_pem_unchecked(alg, pem)?;
    let key = private.signing_key()?;
    match rules::params_match(&key.public_params()?, jwk) {
        KeyMatch::Same => Ok(key),
        KeyMatch::Differs(param) => Err(MintError::KeyMismatch {
            kid: kid.to_string(),
            param,
        }),
        KeyMatch::Invalid => Err(KeyError::BadPrivateKey { alg }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Outcome;
    use std::path::Path;

    const NOW: u64 = 1_750_000_000;

    fn hs256(audience: &str) -> Minter {
        let key = crate::keys::generate(Alg::HS256, 0).unwrap();
        let text = format!(
            "client_auth:\n  jwks:\n    keys:\n      - {{kty: oct, alg: HS256, kid: k1, k: !env PS_CLIENT_AUTH_KEY}}\n  audience: {audience}\n"
        );
        let config = Config::parse(Path::new("powersync.yaml"), text).unwrap();
        let k = key.hmac_k().unwrap();
        let env = Env::with_process([("PS_CLIENT_AUTH_KEY", k.as_str())], std::iter::empty());
        Minter::new(&config, &env, Some("k1")).unwrap()
    }

    fn claims_text(token: &str) -> String {
        let part = token.split('.').nth(1).unwrap();
        String::from_utf8(crate::jws::decode_lenient(part)).unwrap()
    }

    #[test]
    fn claims_are_written_in_order_and_verify() {
        let minter = hs256("[a, b]");
        let spec = TokenSpec::new("user-\"1\"")
            .lifetime(3600)
            .claim("parameters", json!({"team": "a"}));
        let minted = minter.mint(&spec, NOW).unwrap();
        assert_eq!(
            claims_text(&minted.token),
            r#"{"sub":"user-\"1\"","iat":1750000000,"exp":1750003600,"aud":["a","b"],"parameters":{"team":"a"}}"#
        );
        assert_eq!(minter.verify(&minted.token, NOW).outcome, Outcome::Accepted);
        let one = minter.mint(&spec.clone().audience("b"), NOW).unwrap();
        assert!(claims_text(&one.token).contains(r#""aud":"b","#));
        assert!(minter.mint(&spec.audience("c"), NOW).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any text in any claim: the payload's base64url has no `-` or `_` (what the
        /// Diagnostics app's `atob` needs) and reads back as the same claims.
        #[test]
        fn payloads_are_atob_safe_and_read_back(sub in "\\PC{1,12}", value in ".{0,12}") {
            let minter = hs256("[a]");
            let spec = TokenSpec::new(sub.clone()).claim("x?~>", json!([value.clone(), {"k\u{7f}": 1}]));
            let minted = minter.mint(&spec, NOW).unwrap();
            let payload = minted.token.split('.').nth(1).unwrap();
            proptest::prop_assert!(!payload.contains(['-', '_']), "{}", payload);
            let claims: J = serde_json::from_str(&claims_text(&minted.token)).unwrap();
            proptest::prop_assert_eq!(&claims["sub"], &J::String(sub));
            proptest::prop_assert_eq!(&claims["x?~>"], &json!([value, {"k\u{7f}": 1}]));
            proptest::prop_assert_eq!(minter.verify(&minted.token, NOW).outcome, Outcome::Accepted);
        }
    }

    #[test]
    fn a_single_config_audience_is_a_string() {
        let minted = hs256("[only]").mint(&TokenSpec::new("u"), NOW).unwrap();
        assert!(claims_text(&minted.token).ends_with(r#""aud":"only"}"#));
    }

    #[test]
    fn claim_rules_hold() {
        let minter = hs256("[a]");
        let with = |name: &str, v: J| minter.mint(&TokenSpec::new("u").claim(name, v), NOW);
        // The first reserved claim in RESERVED_CLAIMS order is named, not the spec's first.
        let spec = TokenSpec::new("u")
            .claim("aud", json!("x"))
            .claim("sub", json!("y"));
        assert!(matches!(minter.mint(&spec, NOW), Err(MintError::ReservedClaim(c)) if c == "sub"));
        assert!(matches!(
            with("parameters", json!([1])),
            Err(MintError::Rejected(_))
        ));
        assert!(with("parameters", J::Null).is_ok());
        assert!(matches!(
            with("nbf", json!("soon")),
            Err(MintError::Rejected(_))
        ));
        assert!(matches!(
            with("nbf", json!(NOW + 3600)),
            Err(MintError::Rejected(_))
        ));
        assert!(with("nbf", json!(NOW)).is_ok());
        assert!(matches!(
            minter.mint(&TokenSpec::new("u").lifetime(0), NOW),
            Err(MintError::ZeroLifetime)
        ));
        assert!(matches!(
            minter.mint(&TokenSpec::new("u"), u64::MAX - 5),
            Err(MintError::TimeOutOfRange)
        ));
    }
}
