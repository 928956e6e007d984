//! A fresh checkout: the shared config's HMAC keys read their secrets with `k: !env PS_X`,
//! which this machine does not define yet. `init` writes a secret of the right size for
//! each such variable and signs with one of those keys; the config stays byte-identical.

use crate::cmd::env_of;
use crate::config::node::Value;
use crate::error::{Error, Result};
use crate::keys::{Alg, Kty};

use super::request::Request;
use super::state::Inputs;

/// The shared keys this machine takes over.
pub(super) struct Adoption {
    /// The key `mint` signs with from now on.
    pub kid: String,
    /// Its algorithm.
    pub alg: Alg,
    /// The variables that get a fresh secret, each with the algorithm that sizes it.
    pub generate: Vec<(String, Alg)>,
}

/// An HMAC key of the config whose secret is an `!env` variable.
struct TeamKey {
    kid: String,
    alg: Alg,
    var: String,
}

fn team_keys(inputs: &Inputs) -> Vec<TeamKey> {
    inputs
        .config
        .static_keys()
        .iter()
        .filter_map(|k| {
            let (Some(kid), Some(Kty::Oct), Some(alg)) = (&k.kid, k.kty, k.alg) else {
                return None;
            };
            match &k.field("k")?.value {
                Value::Env { name, .. } => Some(TeamKey {
                    kid: kid.clone(),
                    alg,
                    var: name.clone(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// What a plain `init` on a fresh checkout takes over, if the config has such keys: the
/// last one (or `--kid`) signs; every undefined secret variable gets a value.
pub(super) fn adoption(req: &Request, inputs: &Inputs) -> Result<Option<Adoption>> {
    let keys = team_keys(inputs);
    let chosen = match &req.kid {
        Some(kid) => keys.iter().find(|k| &k.kid == kid),
        None => keys.last(),
    };
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    if let Some(alg) = req.requested_alg.filter(|a| *a != chosen.alg) {
        return Err(Error::Conflict {
            message: format!(
                "the shared config's key `{}` is {}; --alg {alg} would add a second key to it",
                chosen.kid, chosen.alg
            ),
            hint: format!(
                "drop --alg to use `{}` on this machine, or pass --rotate to add a {alg} key (the shared config changes)",
                chosen.kid
            ),
        });
    }
    let env = env_of(&inputs.env);
    let mut generate: Vec<(String, Alg)> = Vec::new();
    for key in &keys {
        if env.get(&key.var).is_none() && !generate.iter().any(|(v, _)| *v == key.var) {
            generate.push((key.var.clone(), key.alg));
        }
    }
    Ok(Some(Adoption {
        kid: chosen.kid.clone(),
        alg: chosen.alg,
        generate,
    }))
}
