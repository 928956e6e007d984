//! A fresh checkout: the shared config's keys read their material with `!env`, which this
//! machine does not define yet. HMAC keys (`k: !env PS_X`) get a secret of the right size
//! for each such variable; an asymmetric key whose public members are `!env` references
//! (the PowerSync docs' `n: !env PS_JWK_N`, `e: !env PS_JWK_E`, `kid: !env PS_JWK_KID`)
//! gets a pair generated here, its public members and private key written to `.env`.
//! `init` signs with one of them; the config stays byte-identical.

use crate::cmd::env_of;
use crate::config::StaticKey;
use crate::config::node::Value;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::keys::{self, Alg, Kty, PrivateKey};

use super::request::Request;
use super::state::Inputs;

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
        Some(kid) => keys.iter().find(|k| k.kid_text() == Some(kid.as_str())),
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
                "drop --alg to use `{name}` on this machine, or pass --rotate to add a {alg} key (the shared config changes)"
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
    let public = key
        .public_jwk()?
        .ok_or(keys::KeyError::BadPrivateKey { alg: chosen.alg })?;
    let mut vars: Vec<(String, String)> = members
        .iter()
        .filter_map(|(member, var)| Some((var.clone(), public.param(member)?.to_string())))
        .collect();
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

/// `--private-key`: the shared config's key whose public members this private key matches
/// (tried as each asymmetric key's algorithm), to sign with on this machine.
pub(super) fn import(inputs: &Inputs, pem: &str) -> Result<Adoption> {
    let lookup = env_of(&inputs.env);
    let lookup = lookup.lookup();
    let mut parsed = false;
    for key in inputs.config.static_keys() {
        let (Some(kid), Some(kty)) = (&key.kid, key.kty) else {
            continue;
        };
        let alg = key.alg.unwrap_or(match kty {
            Kty::Rsa => Alg::RS256,
            Kty::Ec => Alg::ES256,
            _ => Alg::EdDSA,
        });
        if kty == Kty::Oct || alg.kty() != kty {
            continue;
        }
        let Ok(serde_json::Value::Object(jwk)) = key.node.resolve(&lookup) else {
            continue;
        };
        let Ok(private) = PrivateKey::from_pem_unchecked(alg, pem) else {
            continue;
        };
        if private.signing_key().is_err() {
            continue;
        }
        parsed = true;
        if crate::service::rules::private_matches(&private, &jwk)
            == crate::service::rules::KeyMatch::Same
        {
            return Ok(Adoption {
                kid: kid.clone(),
                alg,
                generate: Vec::new(),
                pair: Some(Pair {
                    key: private,
                    vars: Vec::new(),
                }),
                kid_var: None,
            });
        }
    }
    if !parsed {
        return Err(Error::usage(
            "the text from --private-key is not a private key of any of the config's key types",
            "give a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the `PSKEYS_PRIVATE_KEY=…` line of a teammate's .env, its base64, or a private JWK; convert `BEGIN EC PRIVATE KEY` or `BEGIN RSA PRIVATE KEY` with `openssl pkcs8 -topk8 -nocrypt`".to_string(),
        ));
    }
    Err(Error::usage(
        format!(
            "the private key from --private-key is not the pair of any key in `{}`",
            crate::cmd::show(&inputs.config.path)
        ),
        "check that it is the team's key for this config (a PKCS#8 PEM); `pskeys keys list` shows the config's keys".to_string(),
    ))
}
