//! `pskeys init`: generate a signing key, store its private part in .env and patch its
//! public part (or an `!env` reference to the HMAC secret) into the service config.
//! Idempotent; all-or-nothing; `--rotate`, `--force` and `--dry-run`.

use std::path::Path;

use serde_json::json;

use crate::cli::InitArgs;
use crate::cmd::{diff, env_of, locate_config, show};
use crate::config::{
    self, Config, DEFAULT_AUDIENCES, Field, Format, Found, NewKey, Patch, node::Value,
};
use crate::envfile::{ALG_VAR, EnvFile, HMAC_VAR, KID_VAR, PRIVATE_KEY_VAR, SUPABASE_SECRET_VAR};
use crate::error::{Error, Result};
use crate::fsutil::{self, GitStatus, Write};
use crate::keys::{self, Alg, PrivateKey};
use crate::service::keystore::FIREBASE_JWKS_URI;
use crate::service::keystore::Refused;
use crate::service::rules::{self, Finding, FindingId, KeyMatch, private_matches};

/// What .env says the signing key is.
struct EnvKey {
    kid: String,
    alg: Option<Alg>,
    private: Option<PrivateKey>,
}

/// How the .env key relates to the config.
enum State {
    /// No key in .env: a fresh setup.
    Fresh,
    /// .env's key is in the config and matches.
    SetUp { kid: String, alg: Alg },
    /// .env names a kid the config lacks.
    Missing { kid: String },
    /// The config holds a different key under that kid.
    Different { kid: String, why: String },
}

/// Runs `init`.
pub fn run(args: InitArgs) -> Result<()> {
    let InitArgs {
        alg,
        bits,
        kid,
        files,
        audiences,
        rotate,
        force,
        inline,
        dry_run,
        json,
        supabase,
        supabase_jwt_secret_env,
        firebase,
        jwks_uris,
        no_dev_key,
    } = args;
    let supabase = supabase || supabase_jwt_secret_env.is_some();
    let any_provider = supabase || firebase.is_some() || !jwks_uris.is_empty();
    if no_dev_key && !any_provider {
        return Err(Error::usage(
            "--no-dev-key leaves nothing to set up",
            "add --supabase, --firebase PROJECT_ID or --jwks-uri URL, or drop --no-dev-key"
                .to_string(),
        ));
    }
    if no_dev_key && (rotate || force || alg.is_some() || kid.is_some() || inline || bits.is_some())
    {
        return Err(Error::usage(
            "--no-dev-key does not go with key flags (--alg, --kid, --bits, --rotate, --force, --inline)",
            None,
        ));
    }
    for uri in &jwks_uris {
        if !(uri.starts_with("https://") || uri.starts_with("http://")) {
            return Err(Error::usage(
                format!("--jwks-uri `{uri}` is not an http(s) URL"),
                "e.g. --jwks-uri https://YOUR_DOMAIN/.well-known/jwks.json".to_string(),
            ));
        }
    }
    if let Some(p) = &firebase
        && (p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        return Err(Error::usage(
            format!("--firebase `{p}` is not a Firebase project id"),
            "use the project id from the Firebase console (lowercase letters, digits and -)"
                .to_string(),
        ));
    }

    // 1. Check the flags.
    let requested_alg = alg;
    let alg = alg.unwrap_or(Alg::HS256);
    if let Some(b) = bits {
        if alg.kty() != keys::Kty::Rsa {
            return Err(Error::usage(
                format!("--bits applies to RSA keys, not {alg}"),
                "drop --bits, or use --alg RS256".to_string(),
            ));
        }
        if !keys::RSA_BITS.contains(&b) {
            let why = if b < 2048 {
                "the service's jose refuses RSA keys under 2048 bits"
            } else {
                "pskeys generates 2048, 3072 or 4096"
            };
            return Err(Error::usage(
                format!("--bits {b} is not supported: {why}"),
                "use --bits 2048 (default), 3072 or 4096".to_string(),
            ));
        }
    }
    if inline && !alg.is_hmac() {
        return Err(Error::usage(
            "--inline applies to HMAC keys only",
            "asymmetric keys put only their public part in the config; drop --inline".to_string(),
        ));
    }
    if let Some(k) = &kid
        && (k.trim().is_empty() || k.chars().any(char::is_control))
    {
        return Err(Error::usage(
            format!("--kid `{k}` is not a usable key id"),
            "use letters, digits, `-` and `_`".to_string(),
        ));
    }
    for a in &audiences {
        if a.trim().is_empty() {
            return Err(Error::usage("--audience cannot be empty", None));
        }
    }

    let crate::cli::Files { config, env_file } = files;

    // 2. Read both files (or the template).
    let (config_path, found) = locate_config(config.as_deref())?;
    let created = !config_path.exists();
    let config = if created {
        let template = match Format::of(&config_path) {
            Format::Yaml => config::TEMPLATE.to_string(),
            Format::Json => "{}\n".to_string(),
        };
        Config::parse(&config_path, template)?
    } else {
        Config::load(&config_path)?
    };
    let mut env = EnvFile::load(&env_file)?;
    refuse_broken_keys(&config, &env)?;
    let original_env = env.text.clone();
    let current = read_env_key(&env)?;
    let state = match &current {
        None => State::Fresh,
        Some(cur) => compare(&config, cur, &env)?,
    };

    // 3. Decide.
    let mut patch = Patch::default();
    let mut provider_vars: Vec<String> = Vec::new();
    let mut provider_secrets: Vec<String> = Vec::new();
    let mut new_key: Option<(PrivateKey, String)> = None;
    let mut already = None;
    match (&state, rotate, force) {
        _ if no_dev_key => {}
        (
            State::SetUp {
                kid: have,
                alg: have_alg,
            },
            false,
            false,
        ) => {
            if requested_alg.is_some_and(|a| a != *have_alg)
                || kid.as_ref().is_some_and(|k| k != have)
            {
                return Err(Error::Conflict {
                    message: format!("already set up with {have_alg} key `{have}`, not the key you asked for"),
                    hint: "pass --rotate to add the new key next to it (tokens signed with the old one keep working), or --force to replace it".to_string(),
                });
            }
            already = Some((have.clone(), *have_alg));
        }
        (State::Missing { kid: have }, false, false) => {
            let kids: Vec<String> = config
                .static_keys()
                .iter()
                .filter_map(|k| k.kid.clone())
                .collect();
            return Err(Error::Conflict {
                message: format!(
                    "`{}` names signing key `{have}`, but `{}` has no key with that kid (it has: {})",
                    show(&env_file),
                    show(&config_path),
                    if kids.is_empty() { "none".to_string() } else { kids.join(", ") }
                ),
                hint: "pass --force to replace the .env key with a new one added to the config, or --rotate to add a new key; or point --config/--env-file at the matching pair".to_string(),
            });
        }
        (State::Different { kid: have, why }, false, false) => {
            return Err(Error::Conflict {
                message: format!("the config's key `{have}` is not the key in `{}`: {why}", show(&env_file)),
                hint: "pass --force to replace both with a new key, or --rotate to add a new key and keep the config's".to_string(),
            });
        }
        _ => {
            if config.format == Format::Json && alg.is_hmac() && !inline {
                return Err(Error::usage(
                    format!("`{}` is JSON, which cannot reference .env (`!env` is a YAML tag)", show(&config_path)),
                    "use an asymmetric key (`pskeys init --alg ES256`: only the public key goes in the config), or --inline to write the HMAC secret into the config".to_string(),
                ));
            }
            let key = keys::generate(alg, bits.unwrap_or(2048))?;
            let new_kid = match &kid {
                Some(k) => k.clone(),
                None => key.default_kid()?,
            };
            if force
                && let Some(cur) = &current
                && config.key_by_kid(&cur.kid).is_some()
            {
                patch.remove_kid = Some(cur.kid.clone());
            }
            if config.key_by_kid(&new_kid).is_some()
                && patch.remove_kid.as_deref() != Some(new_kid.as_str())
            {
                return Err(Error::usage(
                    format!(
                        "`{}` already has a key with kid `{new_kid}`",
                        show(&config_path)
                    ),
                    "choose another --kid (kids must be unique), or drop --kid for a generated one"
                        .to_string(),
                ));
            }
            new_key = Some((key, new_kid));
        }
    }

    // 4. Plan the edits.
    // A string audience (which the service refuses to load) counts as none: the patch turns
    // it into a list that keeps its value.
    let audience_is_scalar = config
        .client_auth()
        .and_then(|a| a.get("audience"))
        .is_some_and(|n| matches!(n.value, Value::Str(_) | Value::Env { .. }));
    let configured = match config.audiences(&env_of(&env).lookup()) {
        Ok(a) => a.unwrap_or_default(),
        Err(_) if audience_is_scalar => Vec::new(),
        Err(e) => return Err(e),
    };
    // Auth providers.
    // Explicit --audience values; else, for a dev key on a config with no audience yet,
    // the defaults; then whatever the providers need.
    let mut requested = audiences.clone();
    if requested.is_empty() && configured.is_empty() && !no_dev_key {
        requested.extend(DEFAULT_AUDIENCES.iter().map(|s| s.to_string()));
    }
    if supabase {
        patch.set.push(("supabase".into(), Field::Bool(true)));
        requested.push("authenticated".into());
    }
    if let Some(var) = &supabase_jwt_secret_env {
        if config.format == Format::Json {
            return Err(Error::usage(
                format!(
                    "`{}` is JSON, which cannot reference .env (`!env` is a YAML tag)",
                    show(&config_path)
                ),
                "write supabase_jwt_secret into the JSON config by hand, or use a YAML config"
                    .to_string(),
            ));
        }
        let secret = env_of(&env).get(var).map(str::to_string).filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::usage(
                format!("--supabase-jwt-secret-env {var}: `{var}` is set neither in the environment nor in `{}`", show(&env_file)),
                format!("export {var}='<the legacy JWT secret from Supabase: Project Settings > API>' and run again"),
            )
        })?;
        if env.get(SUPABASE_SECRET_VAR) != Some(secret.as_str()) {
            env.set(SUPABASE_SECRET_VAR, &secret)?;
            provider_vars.push(SUPABASE_SECRET_VAR.to_string());
        }
        provider_secrets.push(secret.clone());
        patch.set.push((
            "supabase_jwt_secret".into(),
            Field::Env {
                name: SUPABASE_SECRET_VAR.into(),
                value: secret,
            },
        ));
    }
    if let Some(project) = &firebase {
        patch.jwks_uris.push(FIREBASE_JWKS_URI.into());
        requested.push(project.clone());
    }
    patch.jwks_uris.extend(jwks_uris.iter().cloned());
    if !jwks_uris.is_empty() && audiences.is_empty() && configured.is_empty() {
        return Err(Error::usage(
            "--jwks-uri needs the audience your provider puts in its tokens",
            "add --audience <aud> (for Auth0: your API identifier)".to_string(),
        ));
    }
    let mut seen = Vec::new();
    requested.retain(|a| {
        !configured.contains(a) && !seen.contains(a) && {
            seen.push(a.clone());
            true
        }
    });
    patch.audiences = requested;

    let mut secrets: Vec<String> = provider_secrets;
    let mut env_vars: Vec<String> = provider_vars;
    if let Some((key, new_kid)) = &new_key {
        let mut fields: Vec<(String, Field)> = vec![
            ("kty".into(), Field::Str(key.alg().kty().as_str().into())),
            ("alg".into(), Field::Str(key.alg().as_str().into())),
            ("kid".into(), Field::Str(new_kid.clone())),
        ];
        if let Some(k) = key.hmac_k() {
            secrets.push(k.clone());
            if inline {
                fields.push(("k".into(), Field::Str(k)));
            } else {
                let var = hmac_var_name(&config, patch.remove_kid.as_deref());
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
                fields.push(((*name).to_string(), Field::Str(value.clone())));
            }
            fields.push(("use".into(), Field::Str("sig".into())));
            secrets.extend(
                crate::envfile::encode_value(&pem)
                    .split("\\n")
                    .filter(|l| l.len() > 20)
                    .map(str::to_string),
            );
            env.set(PRIVATE_KEY_VAR, &pem)?;
            env_vars.push(PRIVATE_KEY_VAR.to_string());
        }
        env.set(KID_VAR, new_kid)?;
        env.set(ALG_VAR, key.alg().as_str())?;
        env_vars.extend([KID_VAR.to_string(), ALG_VAR.to_string()]);
        patch.add_key = Some(NewKey { fields });
    }
    if created && config.format == Format::Yaml {
        // The template reads these with `!env`; give them local values so the service starts.
        for (name, value) in config::TEMPLATE_VARS {
            if env.get(name).is_none() {
                env.set(name, value)?;
                env_vars.push(name.to_string());
            }
        }
        if env.get("PS_ADMIN_TOKEN").is_none() {
            let token = keys::random_hex(24)?;
            secrets.push(token.clone());
            env.set("PS_ADMIN_TOKEN", &token)?;
            env_vars.push("PS_ADMIN_TOKEN".to_string());
        }
    }
    let new_config = if patch.is_empty() && !created {
        config.text.clone()
    } else {
        config::apply(&config, &patch)?
    };
    let config_changed = created || new_config != config.text;
    let env_changed = env.text != original_env || (!env.existed && new_key.is_some());

    // 5. Dry run: diffs only.
    if dry_run {
        let mut out = String::new();
        if config_changed {
            let before = if created { "" } else { config.text.as_str() };
            out.push_str(&diff(before, &new_config, &show(&config_path), created));
        }
        if env_changed {
            out.push_str(&diff(
                &original_env,
                &env.text,
                &show(&env_file),
                !env.existed,
            ));
        }
        for s in &secrets {
            out = out.replace(s.as_str(), "<secret masked>");
        }
        if json {
            let summary = json!({"dry_run": true, "diff": out, "config": {"path": config_path, "changed": config_changed, "created": created}, "env_file": {"path": env_file, "changed": env_changed}});
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).unwrap_or_default()
            );
        } else if out.is_empty() {
            eprintln!("pskeys: nothing to change (dry run)");
        } else {
            print!("{out}");
            eprintln!("pskeys: dry run, nothing written");
        }
        return Ok(());
    }

    // 6. Write both files, all or nothing.
    let mut writes = Vec::new();
    if env_changed {
        writes.push(Write {
            path: env_file.clone(),
            content: env.text.clone(),
            new_mode: 0o600,
        });
    }
    if config_changed {
        writes.push(Write {
            path: config_path.clone(),
            content: new_config.clone(),
            new_mode: 0o644,
        });
    }
    fsutil::write_all(&writes)?;

    // 7. Report.
    let (final_kid, final_alg) = match (&new_key, &already) {
        (Some((k, kid)), _) => (kid.clone(), k.alg()),
        (None, Some((kid, alg))) => (kid.clone(), *alg),
        (None, None) => (String::new(), alg),
    };
    let final_config = Config::parse(&config_path, new_config)?;
    let final_aud = final_config
        .audiences(&env_of(&env).lookup())
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut warnings = warnings(&env_file, inline && new_key.is_some());
    warnings.extend(service_refusal(&final_config, &env));
    if json {
        let summary = json!({
            "already_set_up": already.is_some() && !config_changed && !env_changed,
            "kid": (!final_kid.is_empty()).then_some(&final_kid),
            "alg": final_alg.as_str(),
            "audience": final_aud,
            "config": {"path": config_path, "created": created, "changed": config_changed},
            "env_file": {"path": env_file, "changed": env_changed, "variables": env_vars},
            "rotated": rotate && new_key.is_some(),
            "replaced": patch.remove_kid,
            "warnings": warnings,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
        return Ok(());
    }
    let cfg = show(&config_path);
    let mut changes = Vec::new();
    if let Some(old) = &patch.remove_kid {
        changes.push(format!("removed key `{old}`"));
    }
    if new_key.is_some() {
        changes.push(format!(
            "added key `{final_kid}` ({final_alg}) to client_auth.jwks.keys"
        ));
    }
    for (key, value) in &patch.set {
        let shown = match value {
            Field::Bool(b) => b.to_string(),
            Field::Env { name, .. } => format!("!env {name}"),
            Field::Str(_) => "…".to_string(),
        };
        changes.push(format!("{key}: {shown}"));
    }
    if !patch.jwks_uris.is_empty() {
        changes.push(format!("jwks_uri += {}", patch.jwks_uris.join(", ")));
    }
    if !patch.audiences.is_empty() {
        changes.push(format!("audience += {}", patch.audiences.join(", ")));
    }
    if created {
        let why = if found == Found::Missing {
            " (no config found here)"
        } else {
            ""
        };
        eprintln!(
            "created `{cfg}` from the built-in template{why}: {}",
            changes.join("; ")
        );
    } else if config_changed {
        eprintln!("patched `{cfg}`: {}", changes.join("; "));
    }
    if env_changed {
        eprintln!("wrote `{}`: {}", show(&env_file), env_vars.join(", "));
    }
    if !config_changed && !env_changed && final_kid.is_empty() {
        eprintln!("already set up: `{cfg}` has everything asked for; nothing changed");
    } else if !config_changed && !env_changed {
        eprintln!(
            "already set up: `{cfg}` has key `{final_kid}` ({final_alg}) from `{}`; nothing changed",
            show(&env_file)
        );
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if config_changed || env_changed {
        eprintln!();
        eprintln!("next steps:");
        eprintln!(
            "  1. restart the PowerSync Service so it loads the new key (it reads keys at startup)"
        );
        eprintln!("  2. TOKEN=$(pskeys mint --sub user-1)");
        eprintln!(
            "  3. paste the token into the Diagnostics app (https://diagnostics-app.powersync.com) or return it"
        );
        eprintln!(
            "     from fetchCredentials with endpoint http://localhost:8080 (add --endpoint to put it in the token)"
        );
    }
    Ok(())
}

fn read_env_key(env: &EnvFile) -> Result<Option<EnvKey>> {
    let Some(kid) = env.get(KID_VAR).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    let alg = match env.get(ALG_VAR) {
        Some(a) => Some(a.parse::<Alg>().map_err(|e| Error::EnvFile {
            location: crate::error::Location {
                path: env.path.clone(),
                line: env.line_of(ALG_VAR),
                column: None,
            },
            message: format!("{ALG_VAR}: {e}"),
            hint: Some("fix the value, or run `pskeys init --force` for a new key".into()),
        })?),
        None => None,
    };
    let private = match (alg, env.get(PRIVATE_KEY_VAR)) {
        (Some(a), Some(pem)) if !a.is_hmac() => Some(PrivateKey::from_pem(a, pem)?),
        _ => None,
    };
    Ok(Some(EnvKey {
        kid: kid.to_string(),
        alg,
        private,
    }))
}

fn compare(config: &Config, cur: &EnvKey, env: &EnvFile) -> Result<State> {
    let Some(key) = config.key_by_kid(&cur.kid) else {
        return Ok(State::Missing {
            kid: cur.kid.clone(),
        });
    };
    let different = |why: String| {
        Ok(State::Different {
            kid: cur.kid.clone(),
            why,
        })
    };
    let config_alg = key.alg.as_deref().and_then(|a| a.parse::<Alg>().ok());
    let Some(alg) = cur.alg.or(config_alg) else {
        return different("neither .env nor the config says its algorithm".into());
    };
    if config_alg.is_some_and(|c| c != alg) {
        return different(format!(
            "the config says {}, .env says {alg}",
            key.alg.as_deref().unwrap_or("?")
        ));
    }
    if alg.is_hmac() {
        return match key.field("k").map(|n| &n.value) {
            Some(Value::Env { name, .. }) if env_of(env).get(name).is_some() => Ok(State::SetUp {
                kid: cur.kid.clone(),
                alg,
            }),
            Some(Value::Env { name, .. }) => different(format!(
                "its `k` reads `{name}`, which .env does not define"
            )),
            Some(Value::Str(_)) => Ok(State::SetUp {
                kid: cur.kid.clone(),
                alg,
            }),
            _ => different("it has no `k`".into()),
        };
    }
    let Some(private) = &cur.private else {
        return different(format!("{PRIVATE_KEY_VAR} is missing from .env"));
    };
    let resolved = key
        .node
        .resolve(&env_of(env).lookup())
        .map_err(|e| config.env_error(&e))?;
    let jwk = resolved.as_object().cloned().unwrap_or_default();
    match private_matches(private, &jwk) {
        KeyMatch::Same => Ok(State::SetUp {
            kid: cur.kid.clone(),
            alg,
        }),
        KeyMatch::Differs(name) => different(format!("their `{name}` values differ")),
        KeyMatch::Invalid => different("the .env key is not an asymmetric key".into()),
    }
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

/// Keys and `client_auth` settings the service refuses, which a patch would keep broken:
/// `init` stops before writing (a string audience is not among them: the patch fixes it).
fn refuse_broken_keys(config: &Config, env: &EnvFile) -> Result<()> {
    let findings: Vec<Finding> = rules::config_findings(config, &env_of(env))
        .into_iter()
        .filter(|f| f.refuses_config() && f.in_client_auth())
        .filter(|f| {
            !matches!(
                f.id,
                FindingId::AudienceNotList
                    | FindingId::EnvUndefined
                    | FindingId::EnvPrefix
                    | FindingId::EnvNotNumber
                    | FindingId::DollarPlaceholder
                    | FindingId::JwksLocalBlocked
            )
        })
        .collect();
    if findings.is_empty() {
        return Ok(());
    }
    Err(Error::Refused {
        path: config.path.clone(),
        refused: Refused { findings },
    })
}

/// After the change: whether the service would still refuse to start with the config.
fn service_refusal(config: &Config, env: &EnvFile) -> Option<String> {
    let refusals: Vec<Finding> = rules::config_findings(config, &env_of(env))
        .into_iter()
        .filter(Finding::refuses_config)
        .collect();
    let first = refusals.first()?;
    let more = match refusals.len() {
        1 => String::new(),
        n => format!(" ({} more)", n - 1),
    };
    Some(format!(
        "the service would still refuse to start with `{}`: {}{more}; run `pskeys doctor` (and `pskeys doctor --fix` for `${{…}}` placeholders and string audiences)",
        show(&config.path),
        first.message
    ))
}

fn warnings(env_file: &Path, inline: bool) -> Vec<String> {
    let mut out = Vec::new();
    if inline {
        out.push(
            "the HMAC secret is written into the config itself (--inline): do not commit that file"
                .to_string(),
        );
    }
    if let Some(mode) = fsutil::mode(env_file)
        && mode & 0o077 != 0
    {
        out.push(format!(
            "`{}` is readable by other users (mode {mode:o}); run `chmod 600 {}`",
            show(env_file),
            show(env_file)
        ));
    }
    match fsutil::git_status(env_file) {
        GitStatus::NotIgnored => out.push(format!(
            "`{}` is not git-ignored: add `{}` to .gitignore so the key is never committed",
            show(env_file),
            env_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        )),
        GitStatus::Tracked => out.push(format!(
            "`{}` is tracked by git: run `git rm --cached {}` and add it to .gitignore, then rotate the key (`pskeys init --rotate`)",
            show(env_file),
            show(env_file)
        )),
        GitStatus::Ignored | GitStatus::NoRepo => {}
    }
    out
}
