//! `pskeys mint`: sign a token with the key `init` wrote, after checking that the service
//! would accept it against this config. Prints the token alone on stdout.

use serde_json::{Value as J, json};

use crate::cli::MintArgs;
use crate::cmd::{lookup, require_config, show};
use crate::config::{Config, node::Value};
use crate::envfile::{ALG_VAR, EnvFile, KID_VAR, PRIVATE_KEY_VAR};
use crate::error::{Error, Result};
use crate::keys::{Alg, Kty, PrivateKey};
use crate::token::{self, TokenSpec};

/// Runs `mint`.
pub fn run(args: MintArgs) -> Result<()> {
    let MintArgs {
        sub,
        config,
        env_file,
        kid,
        expires_in,
        aud,
        endpoint,
        claims,
        parameters,
        json,
    } = args;

    // 1. Check the flags.
    if sub.is_empty() {
        return Err(Error::usage(
            "--sub cannot be empty",
            "pass the user id, e.g. --sub user-1".to_string(),
        ));
    }
    let lifetime = token::parse_lifetime(&expires_in)?;
    let mut extra: Vec<(String, J)> = Vec::new();
    for c in &claims {
        let (k, v) = token::parse_claim(c)?;
        if k == "parameters" && !v.is_object() {
            return Err(Error::rejected(
                Some("PSYNC_S2101"),
                "Payload parameters must be an object",
                "pass a JSON object, e.g. --parameters '{\"team\":\"a\"}'".to_string(),
            ));
        }
        extra.retain(|(e, _)| *e != k);
        extra.push((k, v));
    }
    if let Some(p) = &parameters {
        let v: J = serde_json::from_str(p).map_err(|e| {
            Error::usage(
                format!("--parameters is not JSON: {e}"),
                "pass a JSON object, e.g. --parameters '{\"team\":\"a\"}'".to_string(),
            )
        })?;
        if !v.is_object() {
            return Err(Error::rejected(
                Some("PSYNC_S2101"),
                "Payload parameters must be an object",
                "pass a JSON object, e.g. --parameters '{\"team\":\"a\"}'".to_string(),
            ));
        }
        extra.retain(|(e, _)| e != "parameters");
        extra.push(("parameters".into(), v));
    }
    if let Some(url) = &endpoint
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(Error::usage(
            format!("--endpoint `{url}` is not an http(s) URL"),
            "e.g. --endpoint http://localhost:8080".to_string(),
        ));
    }

    // 2. Find the key.
    let env = EnvFile::load(&env_file)?;
    let get = lookup(&env);
    let config = require_config(config.as_deref())?;
    let signing_kid = get(KID_VAR);
    let kid = kid.or_else(|| signing_kid.clone()).ok_or_else(|| {
        Error::usage(
            format!(
                "no signing key: {KID_VAR} is set neither in `{}` nor in the environment",
                show(&env_file)
            ),
            "run `pskeys init` first, or pass --kid / --env-file".to_string(),
        )
    })?;
    let kids: Vec<String> = config
        .static_keys()
        .iter()
        .filter_map(|k| k.kid.clone())
        .collect();
    let key = config.key_by_kid(&kid).ok_or_else(|| {
        Error::rejected(
            Some("PSYNC_S2101"),
            format!("Could not find an appropriate key in the keystore: `{}` has no key with kid `{kid}`", show(&config.path)),
            format!(
                "the config has: {}; run `pskeys init` to add the .env key, or `pskeys init --force` for a fresh pair",
                if kids.is_empty() { "no static keys".to_string() } else { kids.join(", ") }
            ),
        )
    })?;
    let resolved = key.node.resolve(&get).map_err(|e| config.env_error(&e))?;
    let alg = key_alg(&config, &resolved, &kid, get(ALG_VAR).as_deref())?;
    let private = signing_key(&config, &resolved, alg, &kid, signing_kid.as_deref(), &get)?;

    // 3. The audience the service will check.
    let configured = config.audiences(&get)?.unwrap_or_default();
    if configured.is_empty() {
        return Err(Error::rejected(
            Some("PSYNC_S2105"),
            format!("`{}` has no client_auth.audience: the service rejects every token", show(&config.path)),
            "run `pskeys init` (adds powersync-dev and powersync) or `pskeys init --audience <aud>`".to_string(),
        ));
    }
    let mut audiences = if aud.is_empty() {
        configured.clone()
    } else {
        aud.clone()
    };
    if !audiences.iter().any(|a| configured.contains(a)) {
        return Err(Error::rejected(
            Some("PSYNC_S2105"),
            format!("Unexpected \"aud\" claim value: {}", audiences.join(", ")),
            format!(
                "the config accepts: {}; pass one of them with --aud, or add yours with `pskeys init --audience {}`",
                configured.join(", "),
                audiences[0]
            ),
        ));
    }
    if let Some(url) = endpoint
        && !audiences.contains(&url)
    {
        audiences.push(url);
    }

    // 4. Sign, and prove the service's checks pass on the result.
    let spec = TokenSpec {
        sub,
        audiences,
        issued_at: token::now(),
        lifetime,
        extra,
    };
    let claims = spec.claims();
    let (jwt, header) = token::sign(&private, &kid, &claims)?;
    token::verify(&jwt, alg, &resolved, &configured).map_err(|why| {
        Error::rejected(
            Some("PSYNC_S2101"),
            format!("the token does not verify against key `{kid}` in `{}`: {why}", show(&config.path)),
            "`pskeys doctor` shows what is wrong with the key; `pskeys init --force` makes a fresh matching pair".to_string(),
        )
    })?;

    if json {
        let out = json!({
            "token": jwt,
            "header": header,
            "claims": claims,
            "expires_at": token::rfc3339(spec.issued_at + spec.lifetime),
            "expires_in": spec.lifetime,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!("{jwt}");
    }
    Ok(())
}

/// The algorithm to sign with: the key's `alg`, else .env's, which must fit the key family.
fn key_alg(config: &Config, jwk: &J, kid: &str, env_alg: Option<&str>) -> Result<Alg> {
    let kty = jwk.get("kty").and_then(J::as_str).and_then(Kty::parse);
    let named = jwk.get("alg").and_then(J::as_str).or(env_alg);
    let alg = named.and_then(|a| a.parse::<Alg>().ok()).ok_or_else(|| {
        Error::config(
            crate::error::Location::file(&config.path),
            format!(
                "key `{kid}` has no usable `alg` ({})",
                named.unwrap_or("none")
            ),
            "set `alg` on the key (HS256, RS256, ES256, EdDSA, …)".to_string(),
        )
    })?;
    if kty.is_some_and(|k| k != alg.kty()) {
        return Err(Error::rejected(
            Some("PSYNC_S2101"),
            format!(
                "Unexpected token algorithm {alg}: key `{kid}` is kty {}",
                jwk.get("kty").and_then(J::as_str).unwrap_or("?")
            ),
            "fix the key's `alg`/`kty` in the config, or run `pskeys init --force`".to_string(),
        ));
    }
    Ok(alg)
}

/// The private key for `kid`: the HMAC secret the config references, or .env's PEM.
fn signing_key(
    config: &Config,
    jwk: &J,
    alg: Alg,
    kid: &str,
    env_kid: Option<&str>,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<PrivateKey> {
    if alg.is_hmac() {
        let k = jwk.get("k").and_then(J::as_str).unwrap_or_default();
        let source = match config
            .key_by_kid(kid)
            .and_then(|key| key.field("k").map(|n| n.value.clone()))
        {
            Some(Value::Env { name, .. }) => format!("`{name}` in .env"),
            _ => "the config".to_string(),
        };
        let key = PrivateKey::from_hmac_k(alg, k).ok_or_else(|| Error::Key {
            message: format!("the HMAC secret of key `{kid}` ({source}) is not base64url"),
            hint: Some(
                "the service's jose would refuse it too; run `pskeys init --force` for a fresh key"
                    .into(),
            ),
        })?;
        return Ok(key);
    }
    if env_kid != Some(kid) {
        return Err(Error::Key {
            message: format!("the private key of `{kid}` is not in .env ({PRIVATE_KEY_VAR} belongs to {})", env_kid.unwrap_or("no key")),
            hint: Some("pskeys keeps only the current signing key's private part; mint with it (drop --kid)".into()),
        });
    }
    let pem = get(PRIVATE_KEY_VAR).ok_or_else(|| Error::Key {
        message: format!("{PRIVATE_KEY_VAR} is set neither in .env nor in the environment"),
        hint: Some("run `pskeys init --force` to generate a new key pair".into()),
    })?;
    PrivateKey::from_pem_unchecked(alg, &pem)
}
