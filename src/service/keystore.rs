//! The keys a PowerSync Service holds for a config: static JWKs, the Supabase legacy
//! secret, and keys behind `jwks_uri` (unknown offline unless a key set file stands in).
//! Built only from a config that no rule refuses.

use serde_json::{Map, Value as J};

use crate::config::Config;
use crate::env::Env;
use crate::jws::{Alg, Kty, VerifyingKey};
use crate::service::rules::{self, Finding};

/// The longest lifetime the service accepts (`exp - iat`, PSYNC_S2104).
pub const MAX_LIFETIME_SECS: u64 = 86_400;
/// Lifetime cap for tokens signed with the Supabase legacy secret: 7 days + 20 minutes.
pub const SUPABASE_MAX_LIFETIME_SECS: u64 = 7 * 86_400 + 1_200;
/// The audience the service requires of tokens signed with Supabase keys.
pub const SUPABASE_AUDIENCE: &str = "authenticated";
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
    /// A key set standing in for the `jwks_uri` keys.
    JwksFile,
}

/// One key the service would verify with.
#[derive(Debug, Clone)]
pub struct ServiceKey {
    /// Its kid (None: a wildcard key, tried for tokens whose kid matches no key).
    pub kid: Option<String>,
    /// Its family.
    pub kty: Kty,
    /// Its `alg`, when set.
    pub alg: Option<Alg>,
    /// Where it comes from.
    pub source: KeySource,
    /// The verifying key.
    pub key: VerifyingKey,
    /// The accepted audiences, when the key overrides the config's (Supabase).
    pub audience: Option<Vec<String>>,
    /// The lifetime cap for tokens of this key.
    pub max_lifetime: u64,
}

impl ServiceKey {
    /// The service's `matchesAlgorithm`: the key's `alg` if set, else its family.
    pub fn accepts(&self, alg: Alg) -> bool {
        match self.alg {
            Some(a) => a == alg,
            None => self.kty.accepts(alg),
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
            KeySource::JwksFile => format!("{kid} (from the JWKS file)"),
        }
    }
}

/// Keys that remain unknown offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Remote {
    /// The `jwks_uri` values.
    pub uris: Vec<String>,
    /// `supabase: true` without a legacy secret: the Supabase project's JWKS.
    pub supabase_project: bool,
}

/// The service refuses to load the config: the findings that say why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .findings.first().map_or("the service refuses this config", |f| f.message.as_str()))]
pub struct Refused {
    /// Every refusing finding, most important first.
    pub findings: Vec<Finding>,
}

/// Everything the service would hold for client auth.
#[derive(Debug, Clone)]
pub struct KeyStore {
    /// The keys known offline, in the service's order.
    pub keys: Vec<ServiceKey>,
    /// The configured audiences.
    pub audiences: Vec<String>,
    /// Keys that would be fetched.
    pub remote: Remote,
    /// Whether a key set file supplied the remote keys.
    pub jwks_supplied: bool,
}

impl KeyStore {
    /// Builds the key store as the service would: refused when any finding about
    /// `client_auth` refuses the config. `jwks` stands in for the `jwks_uri` keys.
    pub fn load(config: &Config, env: &Env, jwks: Option<&J>) -> Result<KeyStore, Refused> {
        KeyStore::from_findings(config, env, jwks, &rules::config_findings(config, env))
    }

    /// [`KeyStore::load`] with the config's findings already computed.
    pub fn from_findings(
        config: &Config,
        env: &Env,
        jwks: Option<&J>,
        findings: &[Finding],
    ) -> Result<KeyStore, Refused> {
        let refusals: Vec<Finding> = findings
            .iter()
            .filter(|f| f.refuses_config() && f.in_client_auth())
            .cloned()
            .collect();
        if !refusals.is_empty() {
            return Err(Refused { findings: refusals });
        }
        Ok(KeyStore::build(config, env, jwks))
    }

    /// The store of a config the rules accept (anything they would refuse is skipped).
    pub(crate) fn build(config: &Config, env: &Env, jwks: Option<&J>) -> KeyStore {
        let lookup = env.lookup();
        // Field by field: a variable only another key reads may be undefined here.
        let field = |name: &str| {
            config
                .client_auth()
                .and_then(|a| a.get(name))
                .and_then(|n| n.resolve(&lookup).ok())
        };
        let auth: Map<String, J> = ["supabase", "supabase_jwt_secret", "jwks_uri", "audience"]
            .into_iter()
            .filter_map(|name| field(name).map(|v| (name.to_string(), v)))
            .collect();
        let mut keys: Vec<ServiceKey> = config
            .static_keys()
            .iter()
            .filter_map(|sk| match sk.node.resolve(&lookup) {
                Ok(J::Object(jwk)) => static_key(sk.index, sk.node.line, &jwk),
                _ => None,
            })
            .collect();
        let supabase = auth.get("supabase") == Some(&J::Bool(true));
        let secret = auth
            .get("supabase_jwt_secret")
            .and_then(J::as_str)
            .filter(|s| !s.is_empty());
        if let (true, Some(secret)) = (supabase, secret) {
            keys.push(ServiceKey {
                kid: None,
                kty: Kty::Oct,
                alg: Some(Alg::HS256),
                source: KeySource::SupabaseSecret,
                key: VerifyingKey::secret(secret.as_bytes()),
                audience: Some(vec![SUPABASE_AUDIENCE.into()]),
                max_lifetime: SUPABASE_MAX_LIFETIME_SECS,
            });
        }
        keys.extend(jwks.map(jwks_file_keys).unwrap_or_default());
        let uris = match auth.get("jwks_uri") {
            Some(J::String(u)) => vec![u.clone()],
            Some(J::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let audiences = auth
            .get("audience")
            .and_then(J::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        KeyStore {
            keys,
            audiences,
            remote: Remote {
                uris,
                supabase_project: supabase && secret.is_none(),
            },
            jwks_supplied: jwks.is_some(),
        }
    }

    /// True when some keys can only be fetched at run time (and no key set stood in).
    pub fn has_unknown_remote_keys(&self) -> bool {
        !self.jwks_supplied && (!self.remote.uris.is_empty() || self.remote.supabase_project)
    }

    /// The kids of the keys known offline.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref()).collect()
    }

    /// The first static key with this kid (the one the service uses).
    pub fn by_kid(&self, kid: &str) -> Option<&ServiceKey> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }
}

fn static_key(index: usize, line: usize, jwk: &Map<String, J>) -> Option<ServiceKey> {
    let key = VerifyingKey::from_jwk(&rules::decoded_jwk(jwk)).ok()?;
    Some(ServiceKey {
        kid: jwk.get("kid").and_then(J::as_str).map(str::to_string),
        kty: key.kty(),
        alg: jwk.get("alg").and_then(J::as_str).and_then(Alg::parse),
        source: KeySource::Static { index, line },
        key,
        audience: None,
        max_lifetime: MAX_LIFETIME_SECS,
    })
}

/// As the service treats fetched keys: `oct` keys, keys whose `use` is not `sig` and keys
/// whose `key_ops` lacks `verify` are skipped.
fn jwks_file_keys(set: &J) -> Vec<ServiceKey> {
    let items = set
        .get("keys")
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(J::as_object)
        .filter(|jwk| {
            let s = |n: &str| jwk.get(n).and_then(J::as_str);
            let ops_ok = jwk
                .get("key_ops")
                .and_then(J::as_array)
                .is_none_or(|ops| ops.iter().any(|o| o == "verify"));
            s("kty") != Some("oct") && s("use").is_none_or(|u| u == "sig") && ops_ok
        })
        .filter_map(|jwk| {
            let key = VerifyingKey::from_jwk(jwk).ok()?;
            Some(ServiceKey {
                kid: jwk.get("kid").and_then(J::as_str).map(str::to_string),
                kty: key.kty(),
                alg: jwk.get("alg").and_then(J::as_str).and_then(Alg::parse),
                source: KeySource::JwksFile,
                key,
                audience: None,
                max_lifetime: MAX_LIFETIME_SECS,
            })
        })
        .collect()
}
