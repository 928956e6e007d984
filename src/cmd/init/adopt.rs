//! A fresh checkout: the shared config's keys read their material with `!env`, which this
//! machine does not define yet. HMAC keys (`k: !env PS_X`) get a secret of the right size
//! for each such variable; an asymmetric key whose public members are `!env` references
//! (the PowerSync docs' `n: !env PS_JWK_N`, `e: !env PS_JWK_E`, `kid: !env PS_JWK_KID`)
//! gets a pair generated here, its public members and private key written to `.env`.
//! `init` signs with one of them; the config stays byte-identical.

use crate::cmd::{env_of, show};
use crate::config::StaticKey;
use crate::config::node::Value;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::keys::{self, Alg, Kty, PrivateKey};

use super::request::Request;
use super::state::{Imported, Inputs};
use crate::envfile::KID_VAR;
use crate::jws::decode_lenient;

/// The shared keys this machine takes over.
pub(super) struct Adoption {
    /// The key `mint` signs with from now on.
    pub kid: String,
    /// Its algorithm.
    pub alg: Alg,
    /// The variables that get a fresh HMAC secret, each with the algorithm that sizes it.
    pub generate: Vec<(String, Alg)>,
    /// The pair generated for the signing key when its public members come from `.env`.
    pub pair: Option<Pair>,
    /// The variable an HMAC key's `kid: !env VAR` reads, when nothing defines it yet: it
    /// gets `kid`.
    pub kid_var: Option<String>,
    /// Where the team's key came from when it was given to init (`--private-key`,
    /// `PSKEYS_PRIVATE_KEY in the environment`); None for a key made here.
    pub imported: Option<&'static str>,
    /// HMAC secrets given to init, with the variable each is written to.
    pub given: Vec<(String, String)>,
}

impl Adoption {
    /// Nothing taken over yet (a base for the fields that differ).
    fn empty() -> Adoption {
        Adoption {
            kid: String::new(),
            alg: Alg::HS256,
            generate: Vec::new(),
            pair: None,
            kid_var: None,
            imported: None,
            given: Vec::new(),
        }
    }

    /// Signing with this private key, whose public key the config already holds.
    fn new(key: PrivateKey) -> Adoption {
        Adoption {
            pair: Some(Pair {
                key,
                vars: Vec::new(),
            }),
            ..Adoption::empty()
        }
    }
}

/// An asymmetric key made here for a key whose public members the config reads with `!env`.
pub(super) struct Pair {
    /// The key.
    pub key: PrivateKey,
    /// `(variable, value)` for each public member, and for the kid when it is `!env` too.
    pub vars: Vec<(String, String)>,
}

/// Where a shared key's kid comes from.
enum Kid {
    Literal(String),
    Env(String),
}

/// What a shared key reads from the environment.
enum Material {
    /// `k: !env VAR`.
    Hmac(String),
    /// Every public member `!env`: `(member, variable)`.
    Public(Vec<(&'static str, String)>),
}

struct TeamKey {
    kid: Kid,
    alg: Alg,
    material: Material,
    /// A literal `crv` and its line, checked against the curve pskeys makes for `alg`.
    crv: Option<(String, usize)>,
}

fn env_name<'a>(key: &'a StaticKey<'_>, member: &str) -> Option<&'a str> {
    match &key.field(member)?.value {
        Value::Env { name, .. } => Some(name),
        _ => None,
    }
}

fn team_key(key: &StaticKey<'_>) -> Option<TeamKey> {
    let kid = match (&key.kid, env_name(key, "kid")) {
        (Some(k), _) => Kid::Literal(k.clone()),
        (None, Some(var)) => Kid::Env(var.to_string()),
        _ => return None,
    };
    let kty = key.kty?;
    let alg = key.alg.or(match kty {
        Kty::Rsa => Some(Alg::RS256),
        _ => None,
    })?;
    if alg.kty() != kty {
        return None;
    }
    let material = match kty {
        Kty::Oct => Material::Hmac(env_name(key, "k")?.to_string()),
        Kty::Rsa => Material::Public(members(key, &["n", "e"])?),
        Kty::Ec => Material::Public(with_crv(key, members(key, &["x", "y"])?)),
        Kty::Okp => Material::Public(with_crv(key, members(key, &["x"])?)),
    };
    let crv = key.field("crv").and_then(|n| match &n.value {
        Value::Str(s) => Some((s.clone(), n.line)),
        _ => None,
    });
    Some(TeamKey {
        kid,
        alg,
        material,
        crv,
    })
}

/// Not defined, or defined empty (`PS_SECRET=`): either way the service has no value.
fn undefined(env: &Env, var: &str) -> bool {
    env.get(var).is_none_or(|v| v.trim().is_empty())
}

/// The variables a shared key reads.
fn read_vars(key: &TeamKey) -> Vec<&str> {
    let mut vars: Vec<&str> = match &key.material {
        Material::Hmac(v) => vec![v.as_str()],
        Material::Public(members) => members.iter().map(|(_, v)| v.as_str()).collect(),
    };
    if let Kid::Env(v) = &key.kid {
        vars.push(v);
    }
    vars
}

/// A variable set blank in the process environment overrides whatever `init` writes to
/// `.env` (for `mint` and for a service started from this shell): stop before writing.
fn refuse_blank_in_environment(key: &TeamKey) -> Result<()> {
    refuse_blank(&read_vars(key))
}

/// [`refuse_blank_in_environment`] for these variables (pskeys' own, too).
pub(super) fn refuse_blank(vars: &[&str]) -> Result<()> {
    let Some(var) = vars
        .iter()
        .copied()
        .find(|v| std::env::var_os(v).is_some_and(|x| x.to_string_lossy().trim().is_empty()))
    else {
        return Ok(());
    };
    Err(Error::usage(
        format!("{var} is set but blank in the environment, and the environment wins over .env"),
        format!(
            "unset it (`unset {var}`) and run `pskeys init` again; init then writes its value to .env"
        ),
    ))
}

/// `crv: !env VAR` is written with the pair's curve, like the other public members.
fn with_crv(
    key: &StaticKey<'_>,
    mut members: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    if let Some(var) = env_name(key, "crv") {
        members.push(("crv", var.to_string()));
    }
    members
}

fn members(key: &StaticKey<'_>, names: &[&'static str]) -> Option<Vec<(&'static str, String)>> {
    names
        .iter()
        .map(|m| env_name(key, m).map(|v| (*m, v.to_string())))
        .collect()
}

impl TeamKey {
    /// Whether this machine can take the key over: an HMAC key always (a missing secret is
    /// written), an asymmetric one only when none of its members is defined yet.
    fn adoptable(&self, env: &Env) -> bool {
        match &self.material {
            Material::Hmac(_) => true,
            Material::Public(members) => {
                members.iter().all(|(_, v)| undefined(env, v))
                    && match &self.kid {
                        Kid::Env(v) => undefined(env, v),
                        Kid::Literal(_) => true,
                    }
            }
        }
    }

    fn kid_text(&self) -> Option<&str> {
        match &self.kid {
            Kid::Literal(k) => Some(k),
            Kid::Env(_) => None,
        }
    }
}

/// What a plain `init` on a fresh checkout takes over, if the config has such keys: the
/// last one (or `--kid`) signs; every undefined HMAC secret gets a value.
pub(super) fn adoption(req: &Request, inputs: &Inputs) -> Result<Option<Adoption>> {
    let env = env_of(&inputs.env);
    let keys: Vec<TeamKey> = inputs
        .config
        .static_keys()
        .iter()
        .filter_map(team_key)
        .filter(|k| k.adoptable(&env))
        .collect();
    let chosen = match &req.kid {
        // A `kid: !env VAR` counts by the value VAR has here.
        Some(kid) => keys.iter().find(|k| match &k.kid {
            Kid::Literal(text) => text == kid,
            Kid::Env(var) => env.get(var) == Some(kid.as_str()),
        }),
        None => keys.last(),
    };
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    if let Some(alg) = req.requested_alg.filter(|a| *a != chosen.alg) {
        let name = chosen.kid_text().unwrap_or("the last key");
        return Err(Error::Conflict {
            message: format!(
                "the shared config's key `{name}` is {}; --alg {alg} would add a second key to it",
                chosen.alg
            ),
            hint: format!(
                "drop --alg to use `{name}` on this machine, or pass --rotate to add an {alg} key (the shared config changes)"
            ),
        });
    }
    check_curve(chosen, inputs)?;
    for key in &keys {
        refuse_blank_in_environment(key)?;
    }
    let mut generate: Vec<(String, Alg)> = Vec::new();
    for key in &keys {
        if let Material::Hmac(var) = &key.material
            && undefined(&env, var)
            && !generate.iter().any(|(v, _)| v == var)
        {
            generate.push((var.clone(), key.alg));
        }
    }
    let (kid, pair, kid_var) = signing_pair(chosen, req, &env)?;
    Ok(Some(Adoption {
        kid,
        alg: chosen.alg,
        generate,
        pair,
        kid_var,
        ..Adoption::empty()
    }))
}

/// The kid `mint` signs with, and the pair made here when the key's public members come
/// from `.env`.
/// A pair made here for a key whose `crv` disagrees with its `alg` would never verify:
/// stop before writing anything.
fn check_curve(chosen: &TeamKey, inputs: &Inputs) -> Result<()> {
    let (Material::Public(_), Some((crv, line)), Some(curve)) =
        (&chosen.material, &chosen.crv, chosen.alg.curve())
    else {
        return Ok(());
    };
    if crv == curve.as_str() {
        return Ok(());
    }
    Err(Error::Config {
        location: crate::error::Location {
            path: inputs.config.path.clone(),
            line: Some(*line),
            column: None,
        },
        message: format!(
            "{} is {} (curve {curve}) but its crv is `{crv}`: no key pair can match both",
            chosen.kid_text().map_or_else(
                || "the key with an `!env` kid".to_string(),
                |k| format!("key `{k}`")
            ),
            chosen.alg
        ),
        hint: Some(
            match Alg::ALL
                .into_iter()
                .find(|a| a.curve().is_some_and(|c| c.as_str() == crv))
            {
                Some(other) => format!(
                    "fix the shared config: `crv: {curve}` for {}, or `alg: {other}` for {crv}",
                    chosen.alg
                ),
                None => format!("fix the shared config: `crv: {curve}` for {}", chosen.alg),
            },
        ),
    })
}

fn signing_pair(
    chosen: &TeamKey,
    req: &Request,
    env: &Env,
) -> Result<(String, Option<Pair>, Option<String>)> {
    let Material::Public(members) = &chosen.material else {
        // An HMAC key: its secret is made in `adopt_edits`; a `kid: !env VAR` nothing
        // defines gets a kid here, written to VAR so the config and mint agree.
        return Ok(match &chosen.kid {
            Kid::Literal(k) => (k.clone(), None, None),
            Kid::Env(var) => match env.get(var).filter(|v| !v.is_empty()) {
                Some(kid) => (kid.to_string(), None, None),
                None => (
                    keys::generate(chosen.alg, 0)?.default_kid()?,
                    None,
                    Some(var.clone()),
                ),
            },
        });
    };
    let key = keys::generate(chosen.alg, req.bits)?;
    let mut vars = public_vars(members, &key, chosen.alg)?;
    let kid = match &chosen.kid {
        Kid::Literal(k) => k.clone(),
        Kid::Env(var) => {
            let kid = key.default_kid()?;
            vars.push((var.clone(), kid.clone()));
            kid
        }
    };
    Ok((kid, Some(Pair { key, vars }), None))
}

/// The team's key given to init (`--private-key`, or `PSKEYS_PRIVATE_KEY` in the
/// environment) taken over for the config key it belongs to: an asymmetric key whose
/// public members it matches, or whose `!env` members this machine does not define yet
/// (they are written from it); else an HMAC key whose secret it is. Every other undefined
/// HMAC secret gets a fresh value, so the service starts.
pub(super) fn import(req: &Request, inputs: &Inputs, given: &Imported) -> Result<Adoption> {
    let env = env_of(&inputs.env);
    let text = given.text.expose();
    let mut adoption = match asymmetric(inputs, &env, text, given.source)? {
        Found::Match(a) => a,
        Found::Parsed => {
            return Err(Error::usage(
                format!(
                    "the private key from {} is not the pair of any key in `{}`",
                    given.source,
                    show(&inputs.config.path)
                ),
                "check that it is the team's key for this config; `pskeys keys list` shows the config's keys".to_string(),
            ));
        }
        Found::Nothing => hmac(req, inputs, &env, given)?,
    };
    let keys: Vec<TeamKey> = inputs
        .config
        .static_keys()
        .iter()
        .filter_map(team_key)
        .collect();
    for key in &keys {
        if let Material::Hmac(var) = &key.material
            && undefined(&env, var)
            && !adoption.given.iter().any(|(v, _)| v == var)
            && !adoption.generate.iter().any(|(v, _)| v == var)
        {
            adoption.generate.push((var.clone(), key.alg));
        }
    }
    Ok(adoption)
}

/// What the asymmetric keys made of the given text.
enum Found {
    /// The key it belongs to.
    Match(Adoption),
    /// It is a private key of some key's type, but the pair of none.
    Parsed,
    /// It is no private key of any key's type.
    Nothing,
}

fn asymmetric(inputs: &Inputs, env: &Env, text: &str, source: &'static str) -> Result<Found> {
    let lookup = env.lookup();
    let mut parsed = false;
    for key in inputs.config.static_keys() {
        let Some(kty) = key.kty.filter(|k| *k != Kty::Oct) else {
            continue;
        };
        let alg = key.alg.unwrap_or(match kty {
            Kty::Rsa => Alg::RS256,
            Kty::Ec => Alg::ES256,
            _ => Alg::EdDSA,
        });
        let Ok(private) = PrivateKey::from_pem_unchecked(alg, text) else {
            continue;
        };
        if alg.kty() != kty || private.signing_key().is_err() {
            continue;
        }
        parsed = true;
        // Public members this machine does not define yet: written from this key.
        if let Some(team) = team_key(&key).filter(|t| t.adoptable(env))
            && matches!(team.material, Material::Public(_))
        {
            check_curve(&team, inputs)?;
            refuse_blank_in_environment(&team)?;
            return Ok(Found::Match(imported_pair(&team, private, source)?));
        }
        let (Some(kid), Ok(serde_json::Value::Object(jwk))) = (&key.kid, key.node.resolve(&lookup))
        else {
            continue;
        };
        if crate::service::rules::private_matches(&private, &jwk)
            == crate::service::rules::KeyMatch::Same
        {
            return Ok(Found::Match(Adoption {
                kid: kid.clone(),
                alg,
                imported: Some(source),
                ..Adoption::new(private)
            }));
        }
    }
    Ok(if parsed {
        Found::Parsed
    } else {
        Found::Nothing
    })
}

/// `(variable, value)` for each public member the config reads with `!env`, from `key`.
fn public_vars(
    members: &[(&'static str, String)],
    key: &PrivateKey,
    alg: Alg,
) -> Result<Vec<(String, String)>> {
    let public = key
        .public_jwk()?
        .ok_or(keys::KeyError::BadPrivateKey { alg })?;
    Ok(members
        .iter()
        .filter_map(|(member, var)| Some((var.clone(), public.param(member)?.to_string())))
        .collect())
}

/// The team's pair for a key whose public members (and maybe kid) are `!env`: the members
/// from the private key, the kid the team's machine gave it (`PSKEYS_KID` in the
/// environment, else the one pskeys derives from the public key, as `init` did there).
fn imported_pair(team: &TeamKey, private: PrivateKey, source: &'static str) -> Result<Adoption> {
    let Material::Public(members) = &team.material else {
        unreachable!("called for asymmetric keys only");
    };
    let mut vars = public_vars(members, &private, team.alg)?;
    let kid = match &team.kid {
        Kid::Literal(k) => k.clone(),
        Kid::Env(var) => {
            let kid = std::env::var(KID_VAR)
                .ok()
                .filter(|k| !k.trim().is_empty())
                .map_or_else(|| private.default_kid(), Ok)?;
            vars.push((var.clone(), kid.clone()));
            kid
        }
    };
    Ok(Adoption {
        kid,
        alg: team.alg,
        imported: Some(source),
        pair: Some(Pair { key: private, vars }),
        ..Adoption::empty()
    })
}

/// An HMAC secret given for a key whose `k` is `!env VAR` (undefined here, or holding this
/// very secret) or the literal secret: the key the `.env` line's variable or `--kid`
/// names, else the last such key.
fn hmac(req: &Request, inputs: &Inputs, env: &Env, given: &Imported) -> Result<Adoption> {
    let secret = hmac_secret(given.text.expose()).ok_or_else(|| {
        Error::usage(
            format!("the text from {} is not a private key of any of the config's key types, nor an HMAC secret", given.source),
            "give a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the `PSKEYS_PRIVATE_KEY=…` or `PS_CLIENT_AUTH_KEY=…` line of a teammate's .env, its base64, or a JWK; convert `BEGIN EC PRIVATE KEY` or `BEGIN RSA PRIVATE KEY` with `openssl pkcs8 -topk8 -nocrypt`".to_string(),
        )
    })?;
    let keys: Vec<StaticKey<'_>> = inputs
        .config
        .static_keys()
        .into_iter()
        .filter(|k| k.kty == Some(Kty::Oct))
        .collect();
    let fits = |key: &StaticKey<'_>| match key.field("k").map(|n| &n.value) {
        Some(Value::Env { name, .. }) => {
            undefined(env, name) || env.get(name) == Some(secret.as_str())
        }
        Some(Value::Str(k)) => decode_lenient(k) == decode_lenient(&secret),
        _ => false,
    };
    let named = |key: &StaticKey<'_>| {
        given
            .var
            .as_deref()
            .is_some_and(|v| env_name(key, "k") == Some(v))
            || req
                .kid
                .as_deref()
                .is_some_and(|k| key.kid.as_deref() == Some(k))
    };
    let chosen = match keys.iter().find(|k| named(k)) {
        Some(k) => Some(k).filter(|k| fits(k)),
        None => keys.iter().rev().find(|k| fits(k)),
    };
    let Some(key) = chosen else {
        return Err(Error::usage(
            format!(
                "the secret from {} belongs to no HMAC key of `{}` (each is defined here with another secret, or has none)",
                given.source,
                show(&inputs.config.path)
            ),
            "check that it is the team's secret for this config; `pskeys keys list` shows the config's keys and where their secrets are".to_string(),
        ));
    };
    let team = team_key(key);
    let var = env_name(key, "k").map(str::to_string);
    let (kid, kid_var) = match (&key.kid, team.as_ref().map(|t| &t.kid)) {
        (Some(k), _) => (k.clone(), None),
        (None, Some(Kid::Env(var))) => match env.get(var).filter(|v| !v.is_empty()) {
            Some(kid) => (kid.to_string(), None),
            None => (
                keys::generate(Alg::HS256, 0)?.default_kid()?,
                Some(var.clone()),
            ),
        },
        _ => {
            return Err(Error::usage(
                "the HMAC key this secret belongs to has no kid".to_string(),
                "give the key a `kid` in the config".to_string(),
            ));
        }
    };
    if let Some(t) = &team {
        refuse_blank_in_environment(t)?;
    }
    Ok(Adoption {
        kid,
        alg: key.alg.unwrap_or(Alg::HS256),
        imported: Some(given.source),
        given: var
            .filter(|v| undefined(env, v))
            .map(|v| (v, secret))
            .into_iter()
            .collect(),
        kid_var,
        ..Adoption::empty()
    })
}

/// An HMAC secret as the JWK `k` (base64url): the text itself, or an oct JWK's `k`.
fn hmac_secret(text: &str) -> Option<String> {
    let text = text.trim();
    let text = ['"', '\'']
        .iter()
        .find_map(|q| text.strip_prefix(*q)?.strip_suffix(*q))
        .unwrap_or(text);
    let k = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(jwk))
            if jwk.get("kty").and_then(|v| v.as_str()) == Some("oct") =>
        {
            jwk.get("k")?.as_str()?.to_string()
        }
        _ => text.to_string(),
    };
    let base64url = !k.is_empty()
        && k.trim_end_matches('=')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    base64url.then_some(k)
}
