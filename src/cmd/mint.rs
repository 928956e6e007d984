//! `pskeys mint`: sign a token with the key `init` wrote, after checking that the service
//! would accept it against this config. Prints the token alone on stdout.

use serde_json::{Value, json};

use crate::Project;
use crate::cli::Files;
use crate::cli::MintArgs;
use crate::clock::{now, rfc3339};
use crate::cmd::batch::Subjects;
use crate::cmd::{diagnostics, open, show, superseded_env};
use crate::envfile::KID_VAR;
use crate::error::{Error, Result};
use crate::jws::Jws;
use crate::minter::{MintError, Minted, Minter, TokenSpec};
use crate::service::rules::no_signing_key;
use crate::service::verify::Outcome;

/// Runs `mint`.
pub fn run(args: MintArgs) -> Result<()> {
    let MintArgs {
        sub,
        subs,
        count,
        sub_prefix,
        files,
        kid,
        expires_in,
        aud,
        endpoint,
        diagnostics,
        claims,
        parameters,
        json,
    } = args;
    let batch = batch_subjects(subs, count, sub_prefix);
    let sub = sub.unwrap_or_default();
    check_args(
        &sub,
        batch.is_some(),
        kid.as_deref(),
        &aud,
        endpoint.as_deref(),
        &diagnostics,
    )?;

    let project = open(&files)?;
    let minter = prepare(&project, &files, kid.as_deref())?;
    let endpoint = match (endpoint, &diagnostics) {
        (None, Some(_)) => Some(diagnostics::local_endpoint(&project)?),
        (endpoint, _) => endpoint,
    };
    let mut spec = TokenSpec::new(sub).lifetime(expires_in);
    spec.audiences = if aud.is_empty() {
        minter.audiences().to_vec()
    } else {
        aud
    };
    for claim in claims {
        spec.claims.insert(claim.name, claim.value);
    }
    if let Some(p) = parameters {
        spec.claims.insert("parameters".into(), p);
    }
    // The endpoint goes first into `aud`, next to a configured audience, where the
    // Diagnostics app and the test client look for it.
    if let Some(url) = &endpoint {
        spec.audiences.retain(|a| a != url);
        spec.audiences.insert(0, url.clone());
    }
    if let Some(subjects) = batch {
        return crate::cmd::batch::run(&minter, &spec, subjects);
    }
    let issued = now();
    let minted = minter.mint(&spec, issued)?;

    // The very check `pskeys verify` makes, on the token itself.
    let report = minter.verify(&minted.token, issued);
    if let Outcome::Rejected(r) = report.outcome {
        return Err(Error::Rejected(r));
    }
    let link = match (&diagnostics, &endpoint) {
        (Some(app), Some(endpoint)) => {
            let link = diagnostics::link(&minted.token, endpoint, app.as_deref());
            for w in &link.warnings {
                errln!("warning: {w}");
            }
            Some((endpoint.as_str(), link.url))
        }
        _ => None,
    };
    print(&minted, spec.lifetime, link, json);
    Ok(())
}

/// The subjects of a batch (`--subs`, `--count`), if it is one.
fn batch_subjects(
    subs: Option<std::path::PathBuf>,
    count: Option<u64>,
    prefix: Option<String>,
) -> Option<Subjects> {
    match (subs, count) {
        (Some(path), _) => Some(Subjects::Lines(path)),
        (None, Some(n)) => Some(Subjects::Count {
            n,
            prefix: prefix.unwrap_or_else(|| "user-".to_string()),
        }),
        (None, None) => None,
    }
}

/// Checks the text flags before anything is read.
fn check_args(
    sub: &str,
    batch: bool,
    kid: Option<&str>,
    aud: &[String],
    endpoint: Option<&str>,
    diagnostics: &Option<Option<String>>,
) -> Result<()> {
    if sub.is_empty() && !batch {
        return Err(Error::usage(
            "--sub cannot be empty",
            "pass the user id, e.g. --sub user-1".to_string(),
        ));
    }
    if !batch {
        crate::cmd::check_text("--sub", sub)?;
    }
    if sub.len() > crate::cmd::batch::MAX_SUBJECT {
        return Err(Error::usage(
            format!(
                "--sub is longer than {} bytes",
                crate::cmd::batch::MAX_SUBJECT
            ),
            "a user id is a short identifier; the token carries it in every request's header"
                .to_string(),
        ));
    }
    if let Some(k) = kid {
        crate::cmd::check_text("--kid", k)?;
    }
    for a in aud {
        crate::cmd::check_text("--aud", a)?;
    }
    if let Some(url) = endpoint {
        crate::cmd::check_url("--endpoint", url, "--endpoint http://localhost:8080")?;
    }
    if let Some(Some(app)) = diagnostics {
        check_app(app)?;
    }
    Ok(())
}

/// Checks `--diagnostics=APP_URL`.
fn check_app(app: &str) -> Result<()> {
    let example = format!("--diagnostics={}", diagnostics::LOCAL_APP);
    crate::cmd::check_url("--diagnostics", app, &example)
}

/// The minter for the project's key, with its warnings printed.
fn prepare(project: &Project, files: &Files, kid: Option<&str>) -> Result<Minter> {
    let (minter, warnings) = minter_for(project, files, kid)?;
    for w in warnings {
        errln!("warning: {w}");
    }
    Ok(minter)
}

/// The minter for the project's key (`kid`, else `PSKEYS_KID`), and what the service
/// would hold against the config although it accepts the key's tokens.
pub(crate) fn minter_for(
    project: &Project,
    files: &Files,
    kid: Option<&str>,
) -> Result<(Minter, Vec<String>)> {
    let minter = Minter::new(project.config(), project.env(), kid).map_err(|e| match e {
        MintError::NoSigningKey => no_key(project, files),
        other => other.into(),
    })?;
    let warnings = minter
        .warnings()
        .iter()
        .map(|w| {
            let what = if w.refuses_config() {
                format!("the service would not load `{}`: ", show(&w.file))
            } else {
                String::new()
            };
            format!("{what}{} (fix: {})", w.message, w.fix)
        })
        .collect();
    Ok((minter, warnings))
}

/// Why there is no signing key here, and the way out for this config and layout.
fn no_key(project: &Project, files: &Files) -> Error {
    if let Some(old) = superseded_env(files, &project.config().path, project.env_file()) {
        return Error::usage(
            format!(
                "no signing key in `{}`, the `.env` the service reads since `powersync docker configure` made `powersync/docker/`; `{}` holds key `{}`",
                show(&project.env_file().path),
                show(&old.path),
                old.get(KID_VAR).unwrap_or_default()
            ),
            format!(
                "run `pskeys init` to copy it there (or pass --env-file {})",
                show(&old.path)
            ),
        );
    }
    let fix = no_signing_key(project.config(), project.env()).map(|(_, fix)| fix);
    let file = show(&project.env_file().path);
    Error::usage(
        if project.env_file().existed {
            format!(
                "no signing key: {KID_VAR} is blank or set neither in `{file}` nor in the environment"
            )
        } else {
            format!(
                "no signing key: `{file}` does not exist and {KID_VAR} is not in the environment"
            )
        },
        fix.unwrap_or_else(|| "check --env-file, or run `pskeys init` first".to_string()),
    )
}

/// The token (or the Diagnostics link) alone on stdout, or with its header, claims and
/// expiry as JSON.
fn print(minted: &Minted, lifetime: u64, link: Option<(&str, String)>, json: bool) {
    if json {
        let jws = Jws::parse(&minted.token).ok();
        let mut out = json!({
            "token": minted.token,
            "header": jws.as_ref().map_or(Value::Null, |j| Value::Object(j.header.clone())),
            "claims": jws.as_ref().map_or(Value::Null, |j| Value::Object(j.claims.clone())),
            "issued": crate::clock::time_json(minted.issued_at, minted.issued_at),
            "expires": crate::clock::time_json(minted.expires_at, minted.issued_at),
            // As `serve` returns them, for a fetchCredentials() that passes them on.
            "expires_at": rfc3339(minted.expires_at),
            "expires_in": lifetime,
        });
        if let Some((endpoint, url)) = link {
            out["endpoint"] = endpoint.into();
            out["diagnostics_url"] = url.into();
        }
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else if let Some((_, url)) = link {
        outln!("{url}");
    } else {
        outln!("{}", minted.token);
    }
}
