//! `init`'s decision: from the request and the files as read, which key to add (or keep),
//! which provider settings and audiences the config needs, and which `.env` variables
//! change. Nothing is written here.

use crate::cmd::{env_of, show};
use crate::config::{self, Config, DEFAULT_AUDIENCES, Field, Format, NewKey, Patch, node::Value};
use crate::envfile::{
    ALG_VAR, EnvFile, HMAC_VAR, KID_VAR, PRIVATE_KEY_VAR, SUPABASE_SECRET_VAR, kept_key_var,
};
use crate::error::{Error, Result};
use crate::keys::{self, Alg, PrivateKey};
use crate::plan::{Change, Plan, Secret};
use crate::service::keystore::FIREBASE_JWKS_URI;

use super::adopt::{Adoption, adoption, import};
use super::request::{Mode, Request};
use super::state::{Inputs, State};

/// What happens to the signing key.
pub(super) enum KeyAction {
    /// Nothing (`--no-dev-key`).
    Nothing,
    /// `.env`'s key is in the config and matches.
    Keep { kid: String, alg: Alg },
    /// Keys of the shared config this machine takes over (a fresh checkout).
    Adopt(Adoption),
    /// A new key, replacing `replaces` in the config when set.
    New {
        key: PrivateKey,
        kid: String,
        replaces: Option<String>,
    },
}

/// The plan and what the report needs to say about it.
pub(super) struct Planned {
    pub plan: Plan,
    pub action: KeyAction,
    pub patch: Patch,
    /// The `.env` variables written.
    pub env_vars: Vec<String>,
    /// The config as it will be.
    pub final_config: Config,
    /// `.env` as it will be.
    pub final_env: EnvFile,
    /// A string audience the patch turns into a list (it keeps the value).
    pub scalar_audience: Option<String>,
}

/// Decides everything `init` will write.
pub(super) fn plan(req: &Request, inputs: &Inputs) -> Result<Planned> {
    super::adopt::refuse_blank(&[KID_VAR, ALG_VAR, PRIVATE_KEY_VAR])?;
    let action = decide_key(req, inputs)?;
    let mut env = inputs.env.clone();
    let mut patch = Patch::default();
    let (mut env_vars, mut secrets) = carried(inputs);
    providers(
        req,
        inputs,
        matches!(action, KeyAction::Adopt(_)),
        &mut env,
        &mut patch,
        &mut env_vars,
        &mut secrets,
    )?;
    if let KeyAction::Adopt(adoption) = &action {
        adopt_edits(adoption, &mut env, &mut env_vars, &mut secrets)?;
    }
    if let KeyAction::New { key, kid, replaces } = &action {
        patch.remove_kid = replaces.clone();
        let mut out = (&mut env, &mut env_vars, &mut secrets);
        patch.add_key = Some(new_key_edits(
            req,
            inputs,
            key,
            kid,
            replaces.as_deref(),
            &mut out,
        )?);
    }
    if inputs.config.format == Format::Yaml {
        // The project's own example first: its values are meant for this project; the
        // template's local defaults fill what it leaves undefined.
        example_vars(&inputs.config, &mut env, &mut env_vars)?;
        template_vars(&inputs.config, &mut env, &mut env_vars, &mut secrets)?;
    }
    let config = &inputs.config;
    let new_config = if patch.is_empty() && !inputs.created {
        config.text().to_string()
    } else {
        config::apply(config, &patch)?
    };
    let before = (!inputs.created).then_some(config.text());
    let mut plan = Plan {
        config: Change::of(&config.path, before, new_config.clone(), 0o644),
        env: Change::env(&inputs.disk_env, &env),
        extra: sync_config_stub(inputs),
        secrets,
    };
    plan.mask_config_secrets(&inputs.config, &[&inputs.env, &inputs.disk_env]);
    plan.mask_env_values(
        inputs
            .env
            .vars()
            .iter()
            .chain(env.vars())
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    Ok(Planned {
        plan,
        action,
        patch,
        env_vars,
        final_config: Config::parse(&config.path, new_config)?,
        final_env: env,
        scalar_audience: scalar_audience(&inputs.config),
    })
}

/// A new key's config entry and `.env` variables, the rotated-out key's private key kept,
/// and the replaced key's secret removed unless something still reads it (the new key
/// reuses the variable, or another setting reads it too).
fn new_key_edits(
    req: &Request,
    inputs: &Inputs,
    key: &PrivateKey,
    kid: &str,
    replaces: Option<&str>,
    (env, env_vars, secrets): &mut (&mut EnvFile, &mut Vec<String>, &mut Vec<Secret>),
) -> Result<NewKey> {
    keep_rotated_key(inputs, replaces, env, env_vars, secrets)?;
    let new = key_edits(req, inputs, key, kid, env, env_vars, secrets)?;
    if let Some(name) = replaces.and_then(|r| inputs.config.key_secret_var(r))
        && inputs.config.env_references(&name) == 1
        && !env_vars.contains(&name)
    {
        env.remove(&name)?;
    }
    Ok(new)
}

/// The variables copied from a superseded root `.env` (already in `inputs.env`), as
/// written names and, but the kid and algorithm, secrets.
fn carried(inputs: &Inputs) -> (Vec<String>, Vec<Secret>) {
    let (mut names, mut secrets) = (Vec::new(), Vec::new());
    for name in inputs.carried.iter().flat_map(|(names, _)| names) {
        names.push(name.clone());
        if ![KID_VAR, ALG_VAR].contains(&name.as_str()) {
            secrets.push(Secret::new(inputs.env.get(name).unwrap_or_default()));
        }
    }
    (names, secrets)
}

/// The template's sync config, when the config is created from the template and the
/// file it names is not there yet.
fn sync_config_stub(inputs: &Inputs) -> Vec<Change> {
    let (name, text) = config::SYNC_CONFIG_TEMPLATE;
    let dir = inputs
        .config
        .path
        .parent()
        .unwrap_or(std::path::Path::new(""));
    let path = dir.join(name);
    if !inputs.created || inputs.config.format != Format::Yaml || path.exists() {
        return Vec::new();
    }
    Change::of(&path, None, text.to_string(), 0o644)
        .into_iter()
        .collect()
}

/// Keep, add or replace the signing key, or stop with the ways out.
fn decide_key(req: &Request, inputs: &Inputs) -> Result<KeyAction> {
    let config = &inputs.config;
    if let Some(given) = &inputs.import {
        // `--private-key` must fit; `PSKEYS_PRIVATE_KEY` in the environment is used when it
        // does, for a plain `init`.
        if given.source != super::state::FROM_ENVIRONMENT {
            return Ok(KeyAction::Adopt(import(req, inputs, given)?));
        }
        if req.mode == Mode::Ensure
            && req.requested_alg.is_none()
            && let Ok(adoption) = import(req, inputs, given)
        {
            return Ok(KeyAction::Adopt(adoption));
        }
    }
    match (&inputs.state, req.mode) {
        (_, Mode::NoKey) => Ok(KeyAction::Nothing),
        (State::SetUp { kid, alg }, Mode::Ensure) => {
            if req.requested_alg.is_some_and(|a| a != *alg) || req.kid.as_ref().is_some_and(|k| k != kid) {
                return Err(Error::Conflict {
                    message: format!("already set up with {alg} key `{kid}`, not the key you asked for"),
                    hint: "pass --rotate to add the new key next to it (tokens signed with the old one keep working), or --force to replace it".to_string(),
                });
            }
            Ok(KeyAction::Keep { kid: kid.clone(), alg: *alg })
        }
        (State::Missing { kid }, Mode::Ensure) => {
            let kids: Vec<String> = config.static_keys().iter().filter_map(|k| k.kid.clone()).collect();
            Err(Error::Conflict {
                message: format!(
                    "{} names signing key `{kid}`, but `{}` has no key with that kid (it has: {})",
                    key_source(inputs),
                    show(&config.path),
                    if kids.is_empty() { "none".to_string() } else { kids.join(", ") }
                ),
                hint: "pass --force to replace the .env key with a new one added to the config, or --rotate to add a new key; or point --config/--env-file at the matching pair".to_string(),
            })
        }
        (State::Different { kid, why }, Mode::Ensure) => Err(Error::Conflict {
            message: format!(
                "the config's key `{kid}` is not the key {}: {why}",
                match &inputs.current {
                    Some(cur) if cur.from_process => "in the environment (PSKEYS_KID, PSKEYS_PRIVATE_KEY)".to_string(),
                    _ => format!("in `{}`", show(&inputs.env.path)),
                }
            ),
            hint: "pass --force to replace both with a new key, or --rotate to add a new key and keep the config's".to_string(),
        }),
        (State::Fresh, Mode::Ensure) => match adoption(req, inputs)? {
            Some(a) => Ok(KeyAction::Adopt(a)),
            None if req.kid.is_none() => {
                refuse_foreign_signing_keys(inputs)?;
                new_key(req, inputs)
            }
            None => new_key(req, inputs),
        },
        _ => new_key(req, inputs),
    }
}

/// Where the signing key init found is named: `.env`, or PSKEYS_KID in the environment.
fn key_source(inputs: &Inputs) -> String {
    match &inputs.current {
        Some(cur) if cur.from_process => "PSKEYS_KID in the environment".to_string(),
        _ => format!("`{}`", show(&inputs.env.path)),
    }
}

/// A fresh checkout of a config whose asymmetric keys were made elsewhere: this machine has
/// no private key for them, and a plain `init` must not add a key to the shared config.
fn refuse_foreign_signing_keys(inputs: &Inputs) -> Result<()> {
    // Any asymmetric key counts, whatever form its members take: one that `adoption` could
    // not take over (members partly literal, partly `!env`) is still the team's key.
    let keys: Vec<String> = inputs
        .config
        .static_keys()
        .iter()
        .filter(|k| k.is_asymmetric())
        .map(|k| {
            let alg = k.alg.map_or("?", |a| a.as_str());
            match k.kid.as_deref() {
                Some(kid) => format!("`{kid}` ({alg})"),
                None => format!("a key with an `!env` kid ({alg})"),
            }
        })
        .collect();
    let Some(first) = keys.first() else {
        return Ok(());
    };
    let from_env = if inputs.import.is_some() {
        format!(
            " ({} is the pair of none of them)",
            super::state::FROM_ENVIRONMENT
        )
    } else {
        String::new()
    };
    Err(Error::Conflict {
        message: format!(
            "`{}` already has signing keys set up elsewhere ({}), and this machine has no private key for them{from_env}",
            show(&inputs.config.path),
            keys.join(", ")
        ),
        hint: format!(
            "to sign with {first} here, import the team's private key (`pskeys init --private-key FILE`, or set PSKEYS_PRIVATE_KEY with PSKEYS_KID and PSKEYS_ALG in the environment); or pass --rotate to add this machine's own key to the shared config"
        ),
    })
}

fn new_key(req: &Request, inputs: &Inputs) -> Result<KeyAction> {
    if inputs.config.format == Format::Json && req.public_in_env {
        return Err(Error::usage(
            format!(
                "`{}` is JSON, which cannot reference .env (`!env` is a YAML tag)",
                show(&inputs.config.path)
            ),
            "drop --public-in-env: only the public key goes in the config anyway".to_string(),
        ));
    }
    let config = &inputs.config;
    // `--rotate` and `--force` without `--alg` keep the algorithm of the key they rotate
    // away from or replace (an ES256 project stays ES256: its `jwks` keeps publishing the
    // signing key), unless a flag chose a family (`--serve`, `--public-in-env`: ES256;
    // `--inline`: HMAC).
    let family_chosen = req.serve.is_some() || req.public_in_env || req.inline;
    let alg = match (
        req.mode,
        req.requested_alg,
        inputs.current.as_ref().and_then(|c| c.alg),
    ) {
        (Mode::Rotate | Mode::Force, None, Some(current)) if !family_chosen => current,
        _ => req.alg,
    };
    if config.format == Format::Json && alg.is_hmac() && !req.inline {
        return Err(Error::usage(
            format!("`{}` is JSON, which cannot reference .env (`!env` is a YAML tag)", show(&config.path)),
            "use an asymmetric key (`pskeys init --alg ES256`: only the public key goes in the config), or --inline to write the HMAC secret into the config".to_string(),
        ));
    }
    let key = keys::generate(alg, req.bits)?;
    let kid = match &req.kid {
        Some(k) => k.clone(),
        None => key.default_kid()?,
    };
    let lookup = env_of(&inputs.env);
    let replaces = match (&inputs.current, req.mode) {
        (Some(cur), Mode::Force) if config.key_by_kid(&cur.kid).is_some() => Some(cur.kid.clone()),
        // A shared key whose kid and public members are `!env` (`--public-in-env`) is the
        // same entry on every machine: --force cannot take it out of the shared config.
        (Some(cur), Mode::Force)
            if config
                .key_by_resolved_kid(&cur.kid, &lookup.lookup())
                .is_some() =>
        {
            return Err(Error::Conflict {
                message: format!(
                    "key `{}` is the shared config's `kid: !env` entry, which every machine fills from its own .env; --force would add a second key instead of replacing it",
                    cur.kid
                ),
                hint: "for a new pair on this machine, delete PSKEYS_PRIVATE_KEY, PSKEYS_KID and the PS_JWK_… lines from .env and run `pskeys init` (the shared config stays the same); or pass --rotate to add a key to the shared config".to_string(),
            });
        }
        _ => None,
    };
    if config.key_by_resolved_kid(&kid, &lookup.lookup()).is_some()
        && replaces.as_deref() != Some(kid.as_str())
    {
        return Err(Error::usage(
            format!(
                "`{}` already has a key with kid `{kid}`",
                show(&config.path)
            ),
            "choose another --kid (kids must be unique), or drop --kid for a generated one"
                .to_string(),
        ));
    }
    Ok(KeyAction::New { key, kid, replaces })
}

/// The value of a string `audience` (which the service refuses to load).
fn scalar_audience(config: &Config) -> Option<String> {
    let node = config.client_auth()?.get("audience")?;
    node.as_str().map(str::to_string)
}

/// The audiences the config has (a string audience, which the service refuses, counts as
/// none: the patch turns it into a list that keeps its value).
fn configured_audiences(inputs: &Inputs) -> Result<Vec<String>> {
    let config = &inputs.config;
    let scalar = config
        .client_auth()
        .and_then(|a| a.get("audience"))
        .is_some_and(|n| matches!(n.value, Value::Str(_) | Value::Env { .. }));
    match config.audiences(&env_of(&inputs.env).lookup()) {
        Ok(a) => Ok(a.unwrap_or_default()),
        Err(_) if scalar => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The `jwks_uri` of `pskeys serve` on `port` as the service reaches it: from a container
/// (`--service-in docker`, or a compose file near the config that mentions PowerSync) this
/// machine is `host.docker.internal`, else `127.0.0.1`.
pub(super) fn serve_jwks_uri(
    config: &std::path::Path,
    port: u16,
    place: Option<crate::cli::ServiceIn>,
) -> String {
    let docker = match place {
        Some(p) => p == crate::cli::ServiceIn::Docker,
        None => crate::cmd::service_container(config).is_some(),
    };
    let host = if docker {
        "host.docker.internal"
    } else {
        "127.0.0.1"
    };
    format!("http://{host}:{port}/.well-known/jwks.json")
}

/// Supabase, Firebase and `jwks_uri` settings, and the audiences to add.
#[allow(clippy::too_many_arguments)]
fn providers(
    req: &Request,
    inputs: &Inputs,
    adopting: bool,
    env: &mut EnvFile,
    patch: &mut Patch,
    env_vars: &mut Vec<String>,
    secrets: &mut Vec<Secret>,
) -> Result<()> {
    let configured = configured_audiences(inputs)?;
    // Explicit --audience values; else, for a dev key on a config with no audience yet,
    // the defaults; then whatever the providers need.
    let mut wanted = req.audiences.clone();
    // Adopting a shared config leaves it byte-identical.
    if wanted.is_empty() && configured.is_empty() && req.mode != Mode::NoKey && !adopting {
        wanted.extend(DEFAULT_AUDIENCES.iter().map(|s| s.to_string()));
    }
    if req.supabase {
        patch.set.push(("supabase".into(), Field::Bool(true)));
        wanted.push("authenticated".into());
    }
    if let Some(var) = &req.supabase_secret_env {
        let secret = supabase_secret(inputs, var)?;
        if env.get(SUPABASE_SECRET_VAR) != Some(secret.expose()) {
            env.set(SUPABASE_SECRET_VAR, secret.expose())?;
            env_vars.push(SUPABASE_SECRET_VAR.to_string());
        }
        let field = Field::Env {
            name: SUPABASE_SECRET_VAR.into(),
            value: secret.expose().to_string(),
        };
        patch.set.push(("supabase_jwt_secret".into(), field));
        secrets.push(secret);
    }
    if let Some(project) = &req.firebase {
        patch.jwks_uris.push(FIREBASE_JWKS_URI.into());
        wanted.push(project.clone());
    }
    patch.jwks_uris.extend(req.jwks_uris.iter().cloned());
    if let Some((port, place)) = req.serve {
        let uri = serve_jwks_uri(&inputs.config.path, port, place);
        if crate::service::rules::rejects_local_jwks(&inputs.config, &env_of(&inputs.env)) {
            return Err(Error::usage(
                format!(
                    "`{}` rejects local JWKS addresses (`local` in `jwks_reject_ip_ranges`, or `block_local_jwks`): the service would not fetch {uri}",
                    show(&inputs.config.path)
                ),
                "for local development remove `local` (and `block_local_jwks`) from client_auth, then run `pskeys init --serve` again".to_string(),
            ));
        }
        patch.jwks_uris.push(uri);
    }
    if !req.jwks_uris.is_empty() && req.audiences.is_empty() && configured.is_empty() {
        return Err(Error::usage(
            "--jwks-uri needs the audience your provider puts in its tokens",
            "add --audience <aud> (for Auth0: your API identifier)".to_string(),
        ));
    }
    let mut seen = Vec::new();
    wanted.retain(|a| {
        !configured.contains(a) && !seen.contains(a) && {
            seen.push(a.clone());
            true
        }
    });
    patch.audiences = wanted;
    Ok(())
}

fn supabase_secret(inputs: &Inputs, var: &str) -> Result<Secret> {
    if inputs.config.format == Format::Json {
        return Err(Error::usage(
            format!(
                "`{}` is JSON, which cannot reference .env (`!env` is a YAML tag)",
                show(&inputs.config.path)
            ),
            "write supabase_jwt_secret into the JSON config by hand, or use a YAML config"
                .to_string(),
        ));
    }
    let env = env_of(&inputs.env);
    env.get(var).filter(|s| !s.is_empty()).map(Secret::new).ok_or_else(|| {
        Error::usage(
            format!("--supabase-jwt-secret-env {var}: `{var}` is set neither in the environment nor in `{}`", show(&inputs.env.path)),
            format!("export {var}='<the legacy JWT secret from Supabase: Project Settings > API>' and run again"),
        )
    })
}

/// The new key's config entry and `.env` variables.
#[allow(clippy::too_many_arguments)]
fn key_edits(
    req: &Request,
    inputs: &Inputs,
    key: &PrivateKey,
    kid: &str,
    env: &mut EnvFile,
    env_vars: &mut Vec<String>,
    secrets: &mut Vec<Secret>,
) -> Result<NewKey> {
    // With --public-in-env the kid and public members are `!env PS_JWK_…`, set here.
    let mut env_field = |member: &str, value: &str| -> Result<Field> {
        if !req.public_in_env || member == "crv" {
            return Ok(Field::Str(value.to_string()));
        }
        let name = format!("PS_JWK_{}", member.to_uppercase());
        if inputs.config.env_references(&name) > 0 {
            return Err(Error::usage(
                format!(
                    "`{}` already reads `{name}`: --public-in-env would make two keys share it",
                    show(&inputs.config.path)
                ),
                "add this key without --public-in-env, or retire the other key first".to_string(),
            ));
        }
        env.set(&name, value)?;
        env_vars.push(name.clone());
        Ok(Field::Env {
            name,
            value: value.to_string(),
        })
    };
    let mut fields: Vec<(String, Field)> = vec![
        ("kty".into(), Field::Str(key.alg().kty().as_str().into())),
        ("alg".into(), Field::Str(key.alg().as_str().into())),
        (
            "kid".into(),
            if key.hmac_k().is_some() {
                Field::Str(kid.to_string())
            } else {
                env_field("kid", kid)?
            },
        ),
    ];
    if let Some(k) = key.hmac_k() {
        secrets.push(Secret::new(k.clone()));
        if req.inline {
            fields.push(("k".into(), Field::Str(k)));
        } else {
            let replaced = match &req.mode {
                Mode::Force => inputs.current.as_ref().map(|c| c.kid.as_str()),
                _ => None,
            };
            let var = hmac_var_name(&inputs.config, replaced);
            fields.push((
                "k".into(),
                Field::Env {
                    name: var.clone(),
                    value: k.clone(),
                },
            ));
            env.set(&var, &k)?;
            env_vars.push(var);
        }
        env.remove(PRIVATE_KEY_VAR)?;
    } else if let (Some(jwk), Some(pem)) = (key.public_jwk()?, key.to_pem()) {
        for (name, value) in &jwk.params {
            fields.push(((*name).to_string(), env_field(name, value)?));
        }
        fields.push(("use".into(), Field::Str("sig".into())));
        env.set(PRIVATE_KEY_VAR, &pem)?;
        env_vars.push(PRIVATE_KEY_VAR.to_string());
        secrets.push(Secret::new(pem));
    }
    env.set(KID_VAR, kid)?;
    env.set(ALG_VAR, key.alg().as_str())?;
    env_vars.extend([KID_VAR.to_string(), ALG_VAR.to_string()]);
    Ok(NewKey { fields })
}

/// `--rotate` away from an asymmetric key the config keeps: its private key stays in `.env`
/// under [`kept_key_var`] until `keys retire` (its tokens stay live, `mint --kid` and a
/// hand-back on retiring the new key still need it).
fn keep_rotated_key(
    inputs: &Inputs,
    replaced: Option<&str>,
    env: &mut EnvFile,
    env_vars: &mut Vec<String>,
    secrets: &mut Vec<Secret>,
) -> Result<()> {
    let (Some(current), State::SetUp { .. }) = (&inputs.current, &inputs.state) else {
        return Ok(());
    };
    let (Some(_), Some(pem), false) = (
        &current.private,
        env.get(PRIVATE_KEY_VAR).map(str::to_string),
        current.from_process || replaced == Some(current.kid.as_str()),
    ) else {
        return Ok(());
    };
    let var = kept_key_var(&current.kid);
    env.set(&var, &pem)?;
    env_vars.push(var);
    secrets.push(Secret::new(pem));
    Ok(())
}

/// A fresh secret for every undefined variable the shared keys read, and the kid `mint`
/// signs with.
fn adopt_edits(
    adoption: &Adoption,
    env: &mut EnvFile,
    env_vars: &mut Vec<String>,
    secrets: &mut Vec<Secret>,
) -> Result<()> {
    for (var, secret) in &adoption.given {
        env.set(var, secret)?;
        env_vars.push(var.clone());
        secrets.push(Secret::new(secret.clone()));
    }
    for (var, alg) in &adoption.generate {
        let key = keys::generate(*alg, 0)?;
        let k = key.hmac_k().unwrap_or_default();
        env.set(var, &k)?;
        env_vars.push(var.clone());
        secrets.push(Secret::new(k));
    }
    if let Some(pair) = &adoption.pair {
        for (var, value) in &pair.vars {
            env.set(var, value)?;
            env_vars.push(var.clone());
        }
        // A private key the job's environment provides stays there: not copied to disk.
        if adoption.imported != Some(super::state::FROM_ENVIRONMENT) {
            let pem = pair.key.to_pem().unwrap_or_default();
            env.set(PRIVATE_KEY_VAR, &pem)?;
            env_vars.push(PRIVATE_KEY_VAR.to_string());
            secrets.push(Secret::new(pem));
        }
    }
    if let Some(var) = &adoption.kid_var {
        env.set(var, &adoption.kid)?;
        env_vars.push(var.clone());
    }
    env.set(KID_VAR, &adoption.kid)?;
    env.set(ALG_VAR, adoption.alg.as_str())?;
    env_vars.extend([KID_VAR.to_string(), ALG_VAR.to_string()]);
    Ok(())
}

/// Local-development values for the variables the config reads where the template does
/// (`replication.connections[0].uri` of a postgresql source, a mongodb `storage.uri`,
/// `port`, the admin token), when nothing defines them yet; never overwriting a value.
fn template_vars(
    config: &Config,
    env: &mut EnvFile,
    env_vars: &mut Vec<String>,
    secrets: &mut Vec<Secret>,
) -> Result<()> {
    let mut settings: Vec<(String, Value)> = Vec::new();
    config.root.visit(&mut String::new(), &mut |path, node| {
        settings.push((path.to_string(), node.value.clone()))
    });
    let at = |path: &str| settings.iter().find(|(p, _)| p == path).map(|(_, v)| v);
    let defined = env_of(env);
    let mut wanted: Vec<&str> = Vec::new();
    for (name, path, shape) in config::TEMPLATE_SLOTS {
        let reads = matches!(at(path), Some(Value::Env { name: n, .. }) if n == name);
        let fits = shape.is_none_or(|(p, v)| at(p) == Some(&Value::Str(v.to_string())));
        if reads && fits && defined.get(name).is_none() {
            wanted.push(name);
        }
    }
    for name in wanted {
        let value = match config::TEMPLATE_VARS.iter().find(|(n, _)| *n == name) {
            Some((_, default)) => default.to_string(),
            None => {
                let token = keys::random_hex(24)?;
                secrets.push(Secret::new(token.clone()));
                token
            }
        };
        env.set(name, &value)?;
        env_vars.push(name.to_string());
    }
    Ok(())
}

/// The example files a project keeps beside its config or `.env`, in the order they are
/// looked for.
const EXAMPLES: [&str; 3] = [".env.example", ".env.template", ".env.sample"];

/// Variables the config reads that nothing defines yet, from the first example file beside
/// the config or `.env` that defines them (a fresh checkout of a project that ships one).
fn example_vars(config: &Config, env: &mut EnvFile, env_vars: &mut Vec<String>) -> Result<()> {
    // Not client_auth's: a key's secret from a committed example would be public (it
    // gets a fresh value, or stays undefined and listed). Only `PS_` names, the only ones
    // the service reads: a committed example must not plant `BASH_ENV` or `LD_PRELOAD`.
    let mut names: Vec<String> = Vec::new();
    config.root.visit(&mut String::new(), &mut |path, node| {
        if let Value::Env { name, .. } = &node.value
            && name.starts_with("PS_")
            && !path.starts_with("client_auth")
            && !names.contains(name)
        {
            names.push(name.clone());
        }
    });
    let defined = env_of(env);
    names.retain(|n| defined.get(n).is_none());
    if names.is_empty() {
        return Ok(());
    }
    let dir = |p: &std::path::Path| {
        p.parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default()
    };
    let dirs = [dir(&config.path), dir(&env.path)];
    let example = dirs
        .iter()
        .flat_map(|d| EXAMPLES.iter().map(move |f| d.join(f)))
        .find(|p| p.is_file() && p.metadata().is_ok_and(|m| m.len() <= 1 << 20));
    // An example file that does not parse is not this run's business: nothing is taken.
    let Some(example) = example.and_then(|p| EnvFile::load(&p).ok()) else {
        return Ok(());
    };
    for name in names {
        // Taken literally only: `$NAME` would pull values from this machine's environment.
        let literal = example
            .assignments()
            .iter()
            .rev()
            .find(|a| a.key == name)
            .filter(|a| !example.text()[a.value_span.clone()].contains('$'));
        if let Some(a) = literal {
            env.set(&name, &a.value)?;
            env_vars.push(name);
        }
    }
    Ok(())
}

/// `PS_CLIENT_AUTH_KEY`, or `PS_CLIENT_AUTH_KEY_2`, … when a remaining key already reads it.
fn hmac_var_name(config: &Config, removed_kid: Option<&str>) -> String {
    let used: Vec<String> = config
        .static_keys()
        .iter()
        .filter(|k| k.kid.as_deref() != removed_kid || removed_kid.is_none())
        .filter_map(|k| match k.field("k").map(|n| &n.value) {
            Some(Value::Env { name, .. }) => Some(name.clone()),
            _ => None,
        })
        .collect();
    (1..)
        .map(|i| {
            if i == 1 {
                HMAC_VAR.to_string()
            } else {
                format!("{HMAC_VAR}_{i}")
            }
        })
        .find(|n| !used.contains(n))
        .unwrap_or_else(|| HMAC_VAR.to_string())
}
