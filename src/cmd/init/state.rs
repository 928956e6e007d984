//! What `init` finds: the config (or the template), `.env`, and how the signing key `.env`
//! names relates to the config.

use crate::cmd::{env_of, env_path, locate_config, superseded_env};
use crate::config::node::Value;
use crate::config::{self, Config, Format, Found};
use crate::env::Source;
use crate::envfile::{ALG_VAR, EnvFile, KID_VAR, PRIVATE_KEY_VAR};
use crate::error::{Error, Result};
use crate::keys::{Alg, PrivateKey};
use crate::service::keystore::Refused;
use crate::service::rules::{self, Finding, FindingId, KeyMatch, private_matches};

use super::request::Request;

/// The most static keys `init` works on.
const MAX_KEYS: usize = 1000;

/// What .env (or the process environment, which wins) says the signing key is.
pub(super) struct EnvKey {
    pub kid: String,
    pub alg: Option<Alg>,
    pub private: Option<PrivateKey>,
    /// The kid comes from the process environment (CI secrets), not from `.env`.
    pub from_process: bool,
}

/// How the .env key relates to the config.
pub(super) enum State {
    /// No key in .env: a fresh setup.
    Fresh,
    /// .env's key is in the config and matches.
    SetUp { kid: String, alg: Alg },
    /// .env names a kid the config lacks.
    Missing { kid: String },
    /// The config holds a different key under that kid.
    Different { kid: String, why: String },
}

/// The files as read, once.
pub(super) struct Inputs {
    /// The config, or the template when none exists.
    pub config: Config,
    /// How the config path was chosen.
    pub found: Found,
    /// Whether the config is created from the template.
    pub created: bool,
    /// `.env` as read, with what [`Inputs::carried`] copied into it.
    pub env: EnvFile,
    /// `.env` as it is on disk.
    pub disk_env: EnvFile,
    /// Variables copied from the root `.env` the official CLI's layout superseded, and
    /// that file.
    pub carried: Option<(Vec<String>, std::path::PathBuf)>,
    /// The key `.env` names, if any.
    pub current: Option<EnvKey>,
    /// How that key relates to the config.
    pub state: State,
    /// The team's key to sign with: `--private-key`'s text, or `PSKEYS_PRIVATE_KEY` from the
    /// environment when nothing names a kid.
    pub import: Option<Imported>,
}

/// [`Imported::source`] of `PSKEYS_PRIVATE_KEY` taken from the environment.
pub(super) const FROM_ENVIRONMENT: &str = "PSKEYS_PRIVATE_KEY in the environment";

/// A key given to `init` to sign with, as read.
pub(super) struct Imported {
    /// The text: a private key in any form `PSKEYS_PRIVATE_KEY` takes, or an HMAC secret.
    pub text: crate::plan::Secret,
    /// The variable a `.env` line assigned it to (`PS_CLIENT_AUTH_KEY=…`), if any.
    pub var: Option<String>,
    /// Where it came from, for messages.
    pub source: &'static str,
}

impl Inputs {
    /// Reads the config (or the template) and `.env`; refuses a config whose keys the
    /// service refuses (a patch would keep it broken).
    pub fn read(req: &Request) -> Result<Inputs> {
        let (config_path, found) = locate_config(req.files.config.as_deref())?;
        if found == Found::Missing
            && let Some(above) = crate::cmd::config_above()
        {
            let above = above.display();
            return Err(Error::usage(
                format!(
                    "`{above}` is in a parent folder, but outside a git repository pskeys looks only here: init would start a second project in this folder"
                ),
                format!(
                    "pass --config {above} to set up that one, or --config powersync.yaml to start a new one here"
                ),
            ));
        }
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
        let disk_env = EnvFile::load(&env_path(&req.files, &config_path, &found))?;
        let (env, carried) = match superseded_env(&req.files, &config_path, &disk_env) {
            Some(old) => carry_over(&config, &disk_env, &old)?,
            None => (disk_env.clone(), None),
        };
        // Bounded work: `.env` is rewritten (and checked) once per variable written.
        if config.static_keys().len() > MAX_KEYS {
            return Err(Error::config(
                crate::error::Location::file(&config.path),
                format!(
                    "`client_auth.jwks.keys` holds more than {MAX_KEYS} keys; no PowerSync setup needs that many"
                ),
                "retire the keys no token uses any more (`pskeys keys retire KID`)".to_string(),
            ));
        }
        refuse_broken_keys(&config, &env)?;
        let current = read_env_key(&env)?;
        let state = match &current {
            None => State::Fresh,
            Some(cur) => compare(&config, cur, &env)?,
        };
        let import = match req.private_key.as_deref() {
            Some(path) => Some(read_private_key(path)?),
            // CI: the team's private key among the job's secrets, without its kid.
            None if current.is_none() => std::env::var(PRIVATE_KEY_VAR)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|text| Imported {
                    text: crate::plan::Secret::new(text),
                    var: None,
                    source: FROM_ENVIRONMENT,
                }),
            None => None,
        };
        Ok(Inputs {
            config,
            found,
            created,
            env,
            disk_env,
            carried,
            current,
            state,
            import,
        })
    }
}

/// The signing key (its kid, algorithm, private key) and the variables `client_auth`
/// reads, copied from the root `.env` into the service's `powersync/docker/.env` where
/// that one lacks them.
type Carried = (EnvFile, Option<(Vec<String>, std::path::PathBuf)>);

fn carry_over(config: &Config, env: &EnvFile, old: &EnvFile) -> Result<Carried> {
    let mut names: Vec<String> = vec![KID_VAR.into(), ALG_VAR.into(), PRIVATE_KEY_VAR.into()];
    if let Some(auth) = config.client_auth() {
        auth.visit(&mut String::new(), &mut |_, node| {
            if let Value::Env { name, .. } = &node.value
                && !names.contains(name)
            {
                names.push(name.clone());
            }
        });
    }
    let mut env = env.clone();
    let mut carried = Vec::new();
    for name in names {
        if let (Some(value), None) = (old.get(&name), env.get(&name)) {
            let value = value.to_string();
            env.set(&name, &value)?;
            carried.push(name);
        }
    }
    Ok((env, Some((carried, old.path.clone()))))
}

/// The signing key `.env` and the process environment name (the environment wins, as for
/// `mint`: a CI job's secrets need no `.env`).
pub(super) fn read_env_key(file: &EnvFile) -> Result<Option<EnvKey>> {
    let env = env_of(file);
    let Some(kid) = env.get(KID_VAR).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    let in_process = |var| env.source(var) == Some(Source::Process);
    let alg = match env.get(ALG_VAR) {
        Some(a) => Some(a.parse::<Alg>().map_err(|e| {
            if in_process(ALG_VAR) {
                return Error::usage(
                    format!("{ALG_VAR} in the environment: {e}"),
                    "set it to the algorithm of the config's key (e.g. ES256), or unset it"
                        .to_string(),
                );
            }
            Error::EnvFile {
                location: crate::error::Location {
                    path: file.path.clone(),
                    line: file.line_of(ALG_VAR),
                    column: None,
                },
                message: format!("{ALG_VAR}: {e}"),
                hint: Some("fix the value, or run `pskeys init --force` for a new key".into()),
            }
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
        from_process: in_process(KID_VAR),
    }))
}

fn compare(config: &Config, cur: &EnvKey, env: &EnvFile) -> Result<State> {
    let Some(key) = config.key_by_resolved_kid(&cur.kid, &env_of(env).lookup()) else {
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
    let config_alg = key.alg;
    let Some(alg) = cur.alg.or(config_alg) else {
        return different("neither .env nor the config says its algorithm".into());
    };
    if config_alg.is_some_and(|c| c != alg) {
        return different(format!(
            "the config says {}, .env says {alg}",
            key.alg.map_or("?", Alg::as_str)
        ));
    }
    if alg.is_hmac() {
        return match key.field("k").map(|n| &n.value) {
            Some(Value::Env { name, .. })
                if env_of(env).get(name).is_some_and(|v| !v.trim().is_empty()) =>
            {
                Ok(State::SetUp {
                    kid: cur.kid.clone(),
                    alg,
                })
            }
            // The secret is gone from this machine (a hand-edited .env): as on a fresh
            // clone, this machine gets a new one; the config stays as it is.
            Some(Value::Env { .. }) if !cur.from_process => Ok(State::Fresh),
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

/// Settings the patch writes, so a wrong type there (an empty `client_auth:`) is fixed.
const INIT_FILLS: [&str; 4] = [
    "client_auth",
    "client_auth.jwks",
    "client_auth.jwks.keys",
    "client_auth.audience",
];

/// Keys and `client_auth` settings the service refuses, which a patch would keep broken:
/// `init` stops before writing (a string audience is not among them: the patch fixes it).
fn refuse_broken_keys(config: &Config, env: &EnvFile) -> Result<()> {
    let findings: Vec<Finding> = rules::config_findings(config, &env_of(env))
        .into_iter()
        .filter(|f| f.refuses_config() && f.in_client_auth())
        .filter(|f| !(f.id == FindingId::SchemaInvalid && INIT_FILLS.contains(&f.setting.as_str())))
        .filter(|f| !(f.id == FindingId::KeyImport && empty_secret(config, env, &f.setting)))
        .filter(|f| {
            !matches!(
                f.id,
                FindingId::AudienceNotList
                    | FindingId::EnvUndefined
                    | FindingId::EnvPrefix
                    | FindingId::EnvNotNumber
                    | FindingId::EnvNotBoolean
                    | FindingId::EnvTypeInvalid
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

/// Whether the key at `setting` (`client_auth.jwks.keys[N]`) reads its `k` from a
/// variable `.env` leaves empty: `init` fills it, as it fills an undefined one.
fn empty_secret(config: &Config, env: &EnvFile, setting: &str) -> bool {
    let key = config.key_at(setting);
    match key.as_ref().and_then(|k| k.field("k")).map(|n| &n.value) {
        Some(Value::Env { name, .. }) => env.get(name).is_some_and(|v| v.trim().is_empty()),
        _ => false,
    }
}

/// The text of `--private-key FILE` (`-`: stdin); a `.env` line (`PSKEYS_PRIVATE_KEY=…`,
/// `PS_CLIENT_AUTH_KEY=…`, `export` or not) gives its value and names its variable.
fn read_private_key(path: &std::path::Path) -> Result<Imported> {
    use std::io::Read as _;
    let shown = path.to_string_lossy();
    // A key pasted in place of its file (a PEM, a JWK, its base64, a PEM line, an HMAC
    // secret) is never echoed: a path that does not exist is shown only when it looks like
    // one (a `.` or `/`, or short; no JSON, no spaces).
    let base64ish = shown.len() >= 48
        && shown
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(c));
    let pathlike = shown.len() <= 200
        && !base64ish
        && !shown.contains(['{', '"', '\n', ' '])
        && (shown.len() < 32 || shown.contains(['.', '/']));
    if shown.contains("PRIVATE KEY") || (!pathlike && !path.exists()) {
        // Never echo it: it is the key itself, not a path.
        return Err(Error::usage(
            "--private-key takes a file that holds the key (or - for stdin), not the key itself",
            "write the key to a file that is not committed, or pipe it: `... | pskeys init --private-key -`".to_string(),
        ));
    }
    // The largest key pskeys reads (an RSA-4096 JWK) is a few KiB; stop long before a
    // stray file or an endless pipe fills memory.
    const LIMIT: u64 = 1 << 20;
    let mut text = String::new();
    let read = if path == std::path::Path::new("-") {
        std::io::stdin()
            .take(LIMIT + 1)
            .read_to_string(&mut text)
            .map_err(|e| Error::io("read", std::path::Path::new("<stdin>"), e))
    } else {
        // Only a regular file: a FIFO or a device would block or never end.
        let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
        if !meta.is_file() {
            return Err(Error::usage(
                format!("--private-key {shown}: not a regular file"),
                "pass a file that holds the key, or pipe it to `--private-key -`".to_string(),
            ));
        }
        std::fs::File::open(path)
            .and_then(|f| f.take(LIMIT + 1).read_to_string(&mut text))
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => Error::usage(
                    format!("--private-key {shown}: not text, not a private key"),
                    "pass the file that holds only the key (a PEM, a JWK or a .env line)"
                        .to_string(),
                ),
                _ => Error::io("read", path, e),
            })
    }?;
    if read as u64 > LIMIT {
        return Err(Error::usage(
            format!("--private-key {shown}: more than 1 MiB, not a private key"),
            "pass the file that holds only the key (a PEM, a JWK or a .env line)".to_string(),
        ));
    }
    let line = text.trim_start();
    if !line.starts_with("-----")
        && !line.starts_with('{')
        && line.contains('=')
        && let Ok(env) = EnvFile::parse(std::path::Path::new("--private-key"), text.clone(), true)
        && let Some((var, value)) = env
            .vars()
            .iter()
            .find(|(k, _)| k == PRIVATE_KEY_VAR)
            .or_else(|| env.vars().first())
    {
        return Ok(Imported {
            text: crate::plan::Secret::new(value),
            var: Some(var.clone()),
            source: "--private-key",
        });
    }
    Ok(Imported {
        text: crate::plan::Secret::new(text),
        var: None,
        source: "--private-key",
    })
}
