//! `pskeys keys list`, `pskeys keys retire KID` and `pskeys jwks`: the key lifecycle after
//! `init`: what the config holds, taking a key out, publishing the public keys.

use serde_json::{Value as J, json};

use crate::cli::{Files, JwksArgs, KeysListArgs, KeysRetireArgs};
use crate::cmd::{env_of, open, show};
use crate::config::{self, Config, Patch, StaticKey, node::Value};
use crate::envfile::{ALG_VAR, EnvFile, KID_VAR, PRIVATE_KEY_VAR, kept_key_var};
use crate::error::{Error, Result};
use crate::keys::{Alg, PrivateKey};
use crate::plan::{Change, Plan};
use crate::service::rules::{KeyMatch, private_matches};

/// One key as `keys list` shows it.
struct Row {
    kid: Option<String>,
    /// The variable a `kid: !env NAME` reads, for a kid not defined here.
    kid_var: Option<String>,
    kty: String,
    alg: String,
    line: usize,
    /// Where the verifying part is: `public key`, `secret in .env (PS_…)`, `secret inline`.
    public: String,
    /// Whether .env (or the environment) holds what signs with it.
    can_sign: bool,
    /// Whether `mint` signs with it.
    signing: bool,
}

fn load(files: &Files) -> Result<(Config, EnvFile)> {
    let project = open(files)?;
    Ok((project.config().clone(), project.env_file().clone()))
}

/// The private key .env holds (asymmetric), with its kid.
fn env_private(env: &EnvFile) -> Option<(String, PrivateKey)> {
    let env = env_of(env);
    let kid = env.get(KID_VAR)?;
    let alg = Alg::parse(env.get(ALG_VAR)?)?;
    let pem = env.get(PRIVATE_KEY_VAR)?;
    PrivateKey::from_pem(alg, pem)
        .ok()
        .map(|k| (kid.to_string(), k))
}

fn rows(config: &Config, env: &EnvFile) -> Vec<Row> {
    let env_vars = env_of(env);
    let get = env_vars.lookup();
    let signing_kid = get(KID_VAR);
    let private = env_private(env);
    config
        .static_keys()
        .iter()
        .map(|k: &StaticKey<'_>| {
            // A kid read with `!env` (the docs' `kid: !env PS_JWK_KID`) shows as its value.
            let kid = k.kid.clone().or_else(|| {
                k.field("kid")?
                    .resolve(&get)
                    .ok()?
                    .as_str()
                    .map(str::to_string)
            });
            let kty = k.kty.map_or("?", |k| k.as_str()).to_string();
            let (public, can_sign) = match k.field("k").map(|n| &n.value) {
                Some(Value::Env { name, .. }) => match env_vars.source(name) {
                    Some(crate::env::Source::File) => (format!("secret in .env ({name})"), true),
                    Some(crate::env::Source::Process) => {
                        (format!("secret in the environment ({name})"), true)
                    }
                    None => (
                        format!("secret in {name}, not defined here (`pskeys init` writes it)"),
                        false,
                    ),
                },
                Some(Value::Str(_)) => ("secret inline in the config".to_string(), true),
                _ => {
                    let resolved = k.node.resolve(&get).unwrap_or(J::Null);
                    let jwk = resolved.as_object().cloned().unwrap_or_default();
                    let matches = match (&private, &kid) {
                        (Some((kid, key)), Some(this)) if kid == this => {
                            private_matches(key, &jwk) == KeyMatch::Same
                        }
                        _ => false,
                    };
                    // A key rotated out keeps its private key until it is retired.
                    let kept = kid
                        .as_deref()
                        .is_some_and(|this| kept_private(env, this, k, &jwk));
                    let mut public = public_where(k, &env_vars);
                    if kept {
                        public.push_str(&format!(
                            "; private key kept in .env ({})",
                            kept_key_var(kid.as_deref().unwrap_or_default())
                        ));
                    }
                    (public, matches || kept)
                }
            };
            let kid_var = match k.field("kid").map(|n| &n.value) {
                Some(Value::Env { name, .. }) if kid.is_none() => Some(name.clone()),
                _ => None,
            };
            Row {
                signing: kid.is_some() && kid == signing_kid,
                kid,
                kid_var,
                kty,
                alg: k.alg.map_or("-", |a| a.as_str()).to_string(),
                line: k.node.line,
                public,
                can_sign,
            }
        })
        .collect()
}

/// Whether `.env` keeps the private key of the rotated-out key `kid` (its pair).
fn kept_private(
    env: &EnvFile,
    kid: &str,
    key: &StaticKey<'_>,
    jwk: &serde_json::Map<String, J>,
) -> bool {
    let Some(pem) = env_of(env).get(&kept_key_var(kid)).map(str::to_string) else {
        return false;
    };
    let Some(alg) = key.alg else {
        return false;
    };
    PrivateKey::from_pem(alg, &pem).is_ok_and(|p| private_matches(&p, jwk) == KeyMatch::Same)
}

/// The configured `jwks_uri`s as written (`!env NAME` for a variable).
fn jwks_uris(config: &Config) -> Vec<String> {
    let shown = |n: &crate::config::node::Node| match &n.value {
        Value::Str(s) => s.clone(),
        Value::Env { name, .. } => format!("!env {name}"),
        _ => "?".into(),
    };
    match config.client_auth().and_then(|a| a.get("jwks_uri")) {
        Some(n) => match &n.value {
            Value::Seq(items) => items.iter().map(shown).collect(),
            Value::Null => Vec::new(),
            _ => vec![shown(n)],
        },
        None => Vec::new(),
    }
}

/// Runs `keys list`.
pub fn list(args: KeysListArgs) -> Result<()> {
    let KeysListArgs { files, json } = args;
    let (config, env) = load(&files)?;
    let rows = rows(&config, &env);
    let auth = config
        .client_auth()
        .and_then(|a| a.resolve(&|_| Some(String::new())).ok())
        .unwrap_or(J::Null);
    let uris: Vec<String> = jwks_uris(&config)
        .iter()
        .map(|u| crate::service::rules::mask_url_passwords(u))
        .collect();
    let supabase = auth.get("supabase").and_then(J::as_bool).unwrap_or(false);
    let audiences = config
        .audiences(&env_of(&env).lookup())
        .ok()
        .flatten()
        .unwrap_or_default();
    if json {
        let keys: Vec<J> = rows
            .iter()
            .map(|r| json!({"kid": r.kid, "kty": r.kty, "alg": r.alg, "line": r.line, "where": r.public, "private_in_env": r.can_sign, "signing": r.signing}))
            .collect();
        let out = json!({"config": {"path": show(&config.path)}, "keys": keys, "jwks_uri": uris, "supabase": supabase, "audience": audiences});
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(());
    }
    sayln!("keys in `{}` (client_auth.jwks.keys):", show(&config.path));
    if rows.is_empty() {
        sayln!("  (none; `pskeys init` adds one)");
    }
    for r in &rows {
        let undefined = r.kid_var.as_ref().map(|v| format!("(${v}, undefined)"));
        let kid = r
            .kid
            .as_deref()
            .or(undefined.as_deref())
            .unwrap_or("(no kid)");
        let sign = match (r.signing, r.can_sign) {
            (true, true) => "signing key (pskeys mint uses it)",
            (true, false) => "signing key, but .env cannot sign with it: run `pskeys doctor`",
            (false, true) => "can sign (pskeys mint --kid)",
            (false, false) => "verify only",
        };
        sayln!(
            "  {kid:<24} {:<4} {:<6} line {:<4} {}; {sign}",
            r.kty,
            r.alg,
            r.line,
            r.public
        );
    }
    if !uris.is_empty() {
        sayln!("jwks_uri: {}", uris.join(", "));
    }
    if supabase {
        sayln!(
            "supabase: true{}",
            if auth.get("supabase_jwt_secret").is_some() {
                " (with the legacy JWT secret)"
            } else {
                " (keys from the Supabase project's JWKS)"
            }
        );
    }
    sayln!(
        "audience: {}",
        if audiences.is_empty() {
            "(none: every token fails)".to_string()
        } else {
            audiences.join(", ")
        }
    );
    Ok(())
}

/// Runs `keys retire KID`: plan the removal, then write it (or show it).
pub fn retire(args: KeysRetireArgs) -> Result<()> {
    let KeysRetireArgs {
        kid,
        files,
        force,
        dry_run,
        json,
    } = args;
    let lock = if dry_run {
        None
    } else {
        let config = crate::cmd::require_config_path(files.config.as_deref())?;
        Some(crate::cmd::lock_project(&config)?)
    };
    let (config, env) = load(&files)?;
    let (plan, notes) = plan_retire(&config, &env, &kid, force)?;
    let summary = |dry_run: bool| {
        let mut out = json!({
            "retired": kid,
            "config": {"path": show(&config.path), "changed": plan.config.is_some()},
            "env_file": {"path": show(&env.path), "changed": plan.env.is_some()},
            "notes": notes,
            "dry_run": dry_run,
        });
        if dry_run {
            out["diff"] = plan.diff(show).into();
        }
        serde_json::to_string_pretty(&out).unwrap_or_default()
    };
    let Some(lock) = lock else {
        if json {
            outln!("{}", summary(true));
        } else {
            let diff = plan.diff(show);
            out!("{}", crate::term::diff(&diff, crate::term::Stream::Stdout));
        }
        errln!("pskeys: dry run, nothing written");
        return Ok(());
    };
    plan.apply(&lock, &crate::cmd::project_dir(&config.path))?;
    if json {
        outln!("{}", summary(false));
    }
    errln!("patched `{}`: removed key `{kid}`", show(&config.path));
    if plan.env.is_some() {
        errln!("wrote `{}`", show(&env.path));
    }
    for n in notes {
        errln!("{n}");
    }
    errln!("restart the PowerSync Service: tokens signed with `{kid}` are rejected from then on");
    Ok(())
}

/// The config without `kid`, and `.env` without what only it used; signing handed over to
/// another key `.env` can sign with (or refused without `force`).
fn plan_retire(
    config: &Config,
    env_file: &EnvFile,
    kid: &str,
    force: bool,
) -> Result<(Plan, Vec<String>)> {
    let mut env = env_file.clone();
    let all = rows(config, &env);
    let Some(row) = all.iter().find(|r| r.kid.as_deref() == Some(kid)) else {
        let kids: Vec<String> = all.iter().filter_map(|r| r.kid.clone()).collect();
        let has = if kids.is_empty() {
            "none".into()
        } else {
            kids.join(", ")
        };
        return Err(Error::usage(
            format!("`{}` has no key `{kid}`", show(&config.path)),
            format!("the config's kids: {has}"),
        ));
    };
    if config.key_by_kid(kid).is_none() {
        return Err(Error::usage(
            format!("key `{kid}` takes its kid from an `!env` variable: every machine has its own, so retiring it here would not say which entry of the shared config goes"),
            "remove the entry from the config by hand if the whole team is done with it, and its variables from .env".to_string(),
        ));
    }
    let mut notes = Vec::new();
    if row.signing {
        notes.push(hand_over(&all, row, kid, force, &mut env)?);
    }
    // The HMAC secret's variable goes too, unless anything else in the config reads it;
    // so does a private key kept for it since a rotation.
    if let Some(name) = config.key_secret_var(kid)
        && config.env_references(&name) == 1
    {
        env.remove(&name)?;
    }
    env.remove(&kept_key_var(kid))?;
    let patch = Patch {
        remove_kid: Some(kid.to_string()),
        ..Patch::default()
    };
    let new_config = config::apply(config, &patch)?;
    let mut plan = Plan {
        config: Change::of(&config.path, Some(config.text()), new_config, 0o644),
        env: Change::env(env_file, &env),
        extra: Vec::new(),
        secrets: Vec::new(),
    };
    plan.mask_config_secrets(config, &[env_file]);
    plan.mask_env_values(
        env_file
            .vars()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    Ok((plan, notes))
}

/// Retiring the signing key: `.env` signs with the next key it can sign with, or with
/// none (`force`), or the retirement is refused.
fn hand_over(all: &[Row], row: &Row, kid: &str, force: bool, env: &mut EnvFile) -> Result<String> {
    let successor = all
        .iter()
        .find(|r| r.kid.is_some() && r.kid != row.kid && r.can_sign);
    let note = match (successor, force) {
        (Some(next), _) => {
            let next_kid = next.kid.clone().unwrap_or_default();
            env.set(KID_VAR, &next_kid)?;
            env.set(ALG_VAR, &next.alg)?;
            // A rotated-out asymmetric key signs again with the private key kept for it.
            let kept = kept_key_var(&next_kid);
            if let Some(pem) = env.get(&kept).map(str::to_string) {
                env.set(PRIVATE_KEY_VAR, &pem)?;
                env.remove(&kept)?;
                return Ok(format!("`pskeys mint` now signs with `{next_kid}` again"));
            }
            format!("`pskeys mint` now signs with `{next_kid}`")
        }
        (None, true) => {
            env.remove(KID_VAR)?;
            env.remove(ALG_VAR)?;
            "no signing key is left: run `pskeys init` before the next `pskeys mint`".to_string()
        }
        (None, false) => {
            return Err(Error::Conflict {
                message: format!("`{kid}` is the signing key and no other key could take over"),
                hint: format!(
                    "add a new key first (`pskeys init --rotate`), then retire `{kid}`; or pass --force"
                ),
            });
        }
    };
    env.remove(PRIVATE_KEY_VAR)?;
    Ok(note)
}

/// Runs `jwks`.
pub fn jwks(args: JwksArgs) -> Result<()> {
    let JwksArgs { files, json: _ } = args;
    let (config, env) = load(&files)?;
    let Published { keys, hmac } = published(&config, &env)?;
    if keys.is_empty() {
        return Err(Error::usage(
            format!("neither `{}` nor `{}` has an asymmetric key, so there is no public key to publish", show(&config.path), show(&env.path)),
            "HMAC secrets are never published (the service skips oct keys from a jwks_uri); add one with `pskeys init --rotate --alg ES256`".to_string(),
        ));
    }
    if hmac > 0 {
        let keys = if hmac == 1 { "key" } else { "keys" };
        errln!("note: {hmac} HMAC {keys} left out: secrets are never published");
    }
    outln!(
        "{}",
        serde_json::to_string_pretty(&json!({ "keys": keys })).unwrap_or_default()
    );
    Ok(())
}

/// The public keys `jwks` and `serve` publish.
#[derive(Debug)]
pub(crate) struct Published {
    /// Public JWKs (`kty`, `kid`, `alg`, the public members, `use: sig`).
    pub keys: Vec<J>,
    /// HMAC keys .env can sign with, left out.
    pub hmac: usize,
}

/// Every asymmetric key of the config the service accepts tokens from (a key rotated out
/// stays until it is retired), public members only; `.env`'s own key first.
pub(crate) fn published(config: &Config, env: &EnvFile) -> Result<Published> {
    let mut keys = Vec::new();
    if let Some((kid, key)) = env_private(env)
        && let Some(public) = key.public_jwk()?
    {
        keys.push(public.to_json(&kid));
    }
    let lookup = env_of(env);
    let lookup = lookup.lookup();
    for k in config.static_keys().iter().filter(|k| k.is_asymmetric()) {
        let Ok(J::Object(jwk)) = k.node.resolve(&lookup) else {
            continue;
        };
        let published: serde_json::Map<String, J> =
            ["kty", "kid", "alg", "crv", "x", "y", "n", "e"]
                .iter()
                .filter_map(|m| Some((m.to_string(), jwk.get(*m)?.clone())))
                .chain(std::iter::once(("use".to_string(), J::from("sig"))))
                .collect();
        let kid = published.get("kid").cloned();
        if kid.is_some() && !keys.iter().any(|p| p.get("kid") == kid.as_ref()) {
            keys.push(J::Object(published));
        }
    }
    let hmac = rows(config, env)
        .iter()
        .filter(|r| r.kty == "oct" && r.can_sign)
        .count();
    Ok(Published { keys, hmac })
}

/// Where an asymmetric key's public members are: in the config, or `!env` variables (the
/// `--public-in-env` layout), each in `.env`, the environment or not defined here.
fn public_where(key: &crate::config::StaticKey<'_>, env: &crate::env::Env) -> String {
    let vars: Vec<&str> = ["n", "e", "x", "y"]
        .iter()
        .filter_map(|m| match key.field(m).map(|n| &n.value) {
            Some(Value::Env { name, .. }) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    if vars.is_empty() {
        return "public key in the config".to_string();
    }
    let names = vars.join(", ");
    let sources: Vec<_> = vars.iter().map(|v| env.source(v)).collect();
    match sources.as_slice() {
        s if s.iter().all(|x| *x == Some(crate::env::Source::File)) => {
            format!("public key in .env ({names})")
        }
        s if s.iter().all(Option::is_some) => format!("public key in the environment ({names})"),
        _ => format!("public key in {names}, not all defined here (`pskeys init` writes them)"),
    }
}
