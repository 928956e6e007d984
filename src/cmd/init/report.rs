//! `init`'s report: one line per file on stderr, or a JSON summary on stdout; the
//! `--dry-run` diffs with every secret masked.

use std::path::Path;

use serde_json::{Value as J, json};

use crate::cmd::{env_of, show};
use crate::config::{Config, Field, Found};
use crate::fsutil::{self, GitStatus};
use crate::keys::Alg;
use crate::service::rules::{self, Finding, FindingId};

use super::plan::{KeyAction, Planned};
use super::request::{Mode, Request};
use super::state::Inputs;

/// The key `mint` signs with after the run, if any.
fn final_key(req: &Request, planned: &Planned) -> (Option<String>, Alg) {
    match &planned.action {
        KeyAction::New { key, kid, .. } => (Some(kid.clone()), key.alg()),
        KeyAction::Keep { kid, alg } => (Some(kid.clone()), *alg),
        KeyAction::Adopt(a) => (Some(a.kid.clone()), a.alg),
        KeyAction::Nothing => (None, req.alg),
    }
}

/// The summary `--json` prints (with the masked diff on a dry run).
fn summary(req: &Request, inputs: &Inputs, planned: &Planned, warnings: &[String]) -> J {
    let (kid, alg) = final_key(req, planned);
    let audience = planned
        .final_config
        .audiences(&env_of(&planned.final_env).lookup())
        .ok()
        .flatten()
        .unwrap_or_default();
    let plan = &planned.plan;
    let mut out = json!({
        "already_set_up": matches!(planned.action, KeyAction::Keep { .. }) && plan.is_empty(),
        "kid": kid,
        "alg": alg.as_str(),
        "audience": audience,
        "config": {"path": inputs.config.path, "created": inputs.created, "changed": plan.config.is_some()},
        "env_file": {"path": inputs.env.path, "changed": plan.env.is_some(), "variables": planned.env_vars},
        "rotated": req.mode == Mode::Rotate && matches!(planned.action, KeyAction::New { .. }),
        "replaced": planned.patch.remove_kid,
        "adopted": match &planned.action {
            KeyAction::Adopt(a) => Some(&a.kid),
            _ => None,
        },
        "created": plan.extra.iter().map(|c| json!({"path": show(&c.path)})).collect::<Vec<_>>(),
        "warnings": warnings,
    });
    if let Some((port, place)) = req.serve {
        let uri = super::plan::serve_jwks_uri(&inputs.config.path, port, place);
        let docker = uri.contains("host.docker.internal");
        out["serve"] = json!({"port": port, "service_in": if docker { "docker" } else { "host" }, "jwks_uri": uri});
    }
    let generated = generated_kid(req, planned);
    out["kid_generated"] = J::Bool(generated.is_some());
    if req.dry_run {
        out["dry_run"] = J::Bool(true);
        out["diff"] = J::String(dry_diff(req, planned));
        if generated.is_some() {
            out["kid"] = J::Null;
            if !out["adopted"].is_null() {
                out["adopted"] = J::String(hide_generated(
                    req,
                    planned,
                    out["adopted"].as_str().unwrap_or_default(),
                ));
            }
        }
    }
    out
}

/// The kid of the key this run generates, unless `--kid` named it: a dry run cannot know
/// it (the real run draws a new key), so it is shown as a placeholder, never a wrong value.
fn generated_kid<'a>(req: &Request, planned: &'a Planned) -> Option<&'a str> {
    match &planned.action {
        KeyAction::New { kid, .. } if req.kid.is_none() => Some(kid),
        // A pair made here for a key whose members come from `.env` (`--public-in-env`):
        // its kid is the new pair's thumbprint, unless the environment names it.
        KeyAction::Adopt(a)
            if a.pair.is_some()
                && a.imported.is_none()
                && std::env::var(crate::envfile::KID_VAR).ok().as_deref()
                    != Some(a.kid.as_str()) =>
        {
            Some(&a.kid)
        }
        _ => None,
    }
}

/// `text` with a kid the dry run cannot know written as its placeholder.
fn hide_generated(req: &Request, planned: &Planned, text: &str) -> String {
    match generated_kid(req, planned) {
        Some(kid) => {
            let shown = match kid.strip_prefix("powersync-") {
                Some(_) => "powersync-<generated>",
                None => "<generated>",
            };
            text.replace(kid, shown)
        }
        None => text.to_string(),
    }
}

/// The dry run's diffs, secrets masked and a generated kid as `powersync-<generated>`.
fn dry_diff(req: &Request, planned: &Planned) -> String {
    hide_generated(req, planned, &planned.plan.diff(show))
}

/// Prints the dry run: the diffs (or the JSON summary); nothing is written.
pub(super) fn dry_run(req: &Request, inputs: &Inputs, planned: &Planned) {
    let warnings: Vec<String> = warnings(req, planned)
        .iter()
        .map(|w| hide_generated(req, planned, w))
        .collect();
    if req.json {
        let out = summary(req, inputs, planned, &warnings);
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return;
    }
    let diff = dry_diff(req, planned);
    if diff.is_empty() {
        errln!("pskeys: nothing to change (dry run)");
    } else {
        out!("{}", crate::term::diff(&diff, crate::term::Stream::Stdout));
        errln!("pskeys: dry run, nothing written");
    }
    if generated_kid(req, planned).is_some() {
        errln!(
            "note: the real run generates the key and its kid (`powersync-<generated>` above); pass --kid NAME to choose the kid"
        );
    }
    for w in &warnings {
        errln!("warning: {w}");
    }
}

/// Prints what was written.
pub(super) fn written(req: &Request, inputs: &Inputs, planned: &Planned) {
    let warnings = warnings(req, planned);
    if req.json {
        let out = summary(req, inputs, planned, &warnings);
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return;
    }
    let plan = &planned.plan;
    let cfg = show(&inputs.config.path);
    let changes = changes(planned).join("; ");
    if inputs.created {
        created(inputs, &cfg, &changes);
    } else if plan.config.is_some() {
        errln!("patched `{cfg}`: {changes}");
    }
    if let Some((carried, from)) = &inputs.carried
        && !carried.is_empty()
    {
        errln!(
            "copied {} from `{}` to `{}`: since `powersync docker configure` made `powersync/docker/`, the service and pskeys read that file, not `{1}`",
            carried.join(", "),
            show(from),
            show(&inputs.env.path)
        );
    }
    match (&planned.action, &inputs.current) {
        (KeyAction::Adopt(a), _) => adopted(a, &cfg, plan.config.is_some()),
        (KeyAction::Keep { kid, alg }, Some(cur)) if cur.from_process && !plan.is_empty() => {
            errln!("signing with key `{kid}` ({alg}) from the environment (PSKEYS_KID)")
        }
        _ => {}
    }
    for extra in &plan.extra {
        errln!(
            "created `{}`: empty sync rules (the config names this file); add your buckets",
            show(&extra.path)
        );
    }
    if plan.env.is_some() {
        errln!(
            "wrote `{}`: {}",
            show(&inputs.env.path),
            planned.env_vars.join(", ")
        );
    }
    match (plan.is_empty(), final_key(req, planned)) {
        (true, (None, _)) => {
            errln!("already set up: `{cfg}` has everything asked for; nothing changed")
        }
        (true, (Some(kid), alg)) => errln!(
            "already set up: `{cfg}` has key `{kid}` ({alg}) from {}; nothing changed",
            match &inputs.current {
                Some(cur) if cur.from_process => "the environment (PSKEYS_KID)".to_string(),
                _ => format!("`{}`", show(&inputs.env.path)),
            }
        ),
        (false, _) => {}
    }
    for w in &warnings {
        errln!("warning: {w}");
    }
    if inputs.created {
        start_steps(
            &inputs.config.path,
            matches!(planned.action, KeyAction::Nothing),
        );
    } else if !plan.is_empty() {
        next_steps(matches!(planned.action, KeyAction::Nothing));
    }
    if let Some((port, place)) = req.serve {
        serve_steps(&inputs.config.path, port, place);
    }
}

/// How to run the server `--serve` pointed the config at.
fn serve_steps(config: &std::path::Path, port: u16, place: Option<crate::cli::ServiceIn>) {
    let uri = super::plan::serve_jwks_uri(config, port, place);
    let port_flag = if port == 6060 {
        String::new()
    } else {
        format!(" --port {port}")
    };
    errln_pre!("  then, while you develop: pskeys serve{port_flag}");
    errln_pre!("     (the service fetches the JWKS at {uri};");
    errln_pre!(
        "     fetchCredentials() gets {{endpoint, token}} from http://127.0.0.1:{port}/api/auth/token?user_id=…)"
    );
    if uri.contains("host.docker.internal") {
        errln_pre!(
            "     on Linux a container reaches this machine through the Docker bridge: give the service"
        );
        errln_pre!(
            "     --add-host=host.docker.internal:host-gateway (compose: extra_hosts: [\"host.docker.internal:host-gateway\"])"
        );
        errln_pre!(
            "     and start `pskeys serve --host 0.0.0.0{port_flag}`; with --network host use `--service-in host`"
        );
    }
}

/// The line for a config made from the template.
fn created(inputs: &Inputs, cfg: &str, changes: &str) {
    let why = match inputs.found {
        Found::Missing => " (no config found here)",
        // A typo in a variable should not go unnoticed as a second setup.
        Found::EnvVar => {
            " (POWERSYNC_CONFIG_PATH names it and it did not exist: check the variable if you meant an existing config)"
        }
        _ => "",
    };
    errln!("created `{cfg}` from the built-in template{why}: {changes}");
    let dir = inputs.config.path.parent().unwrap_or(Path::new(""));
    for name in crate::config::GENERIC {
        if dir.join(name).is_file() {
            errln!(
                "note: `{}` has none of the service's settings (storage, replication, client_auth, sync_config): another tool's file, left alone; pass --config {0} if it is the PowerSync config",
                show(&dir.join(name))
            );
        }
    }
}

/// The line for a shared key taken over on this machine.
fn adopted(a: &super::adopt::Adoption, cfg: &str, patched: bool) {
    let fresh: Vec<&str> = a.generate.iter().map(|(v, _)| v.as_str()).collect();
    let mut secrets = if fresh.is_empty() {
        String::new()
    } else {
        let what = if fresh.len() == 1 {
            "a new secret"
        } else {
            "new secrets"
        };
        format!("; {what} for {} on this machine", fresh.join(", "))
    };
    for (var, _) in &a.given {
        let from = a.imported.unwrap_or_default();
        secrets.push_str(&format!("; its secret (from {from}) in {var}"));
    }
    if let (Some(pair), Some(from)) = (&a.pair, a.imported) {
        let vars: Vec<&str> = pair.vars.iter().map(|(v, _)| v.as_str()).collect();
        if !vars.is_empty() {
            secrets.push_str(&format!("; its public members in {}", vars.join(", ")));
        }
        if from == super::state::FROM_ENVIRONMENT {
            secrets.push_str(&format!(
                "; its private key stays in the environment ({from})"
            ));
        } else {
            secrets.push_str(&format!(
                "; its private key (from {from}) in PSKEYS_PRIVATE_KEY"
            ));
        }
    } else if let Some(pair) = &a.pair {
        let vars: Vec<&str> = pair.vars.iter().map(|(v, _)| v.as_str()).collect();
        secrets.push_str(&format!(
            "; a new {} key pair for this machine: {} and PSKEYS_PRIVATE_KEY",
            a.alg,
            vars.join(", ")
        ));
    }
    // The key is taken as the config has it; the line above says what else was patched.
    let config = if patched {
        "the key as the config has it"
    } else {
        "the config is unchanged"
    };
    errln!(
        "signing with key `{}` ({}) of `{cfg}`; {config}{secrets}",
        a.kid,
        a.alg
    );
}

fn changes(planned: &Planned) -> Vec<String> {
    let patch = &planned.patch;
    let mut changes = Vec::new();
    if let Some(old) = &patch.remove_kid {
        changes.push(format!("removed key `{old}`"));
    }
    if let KeyAction::New { key, kid, .. } = &planned.action {
        changes.push(format!(
            "added key `{kid}` ({}) to client_auth.jwks.keys",
            key.alg()
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
    if let Some(old) = &planned.scalar_audience {
        changes.push(format!("audience `{old}` is now a list"));
    }
    let added: Vec<&str> = patch
        .audiences
        .iter()
        .map(String::as_str)
        .filter(|a| Some(*a) != planned.scalar_audience.as_deref())
        .collect();
    if !added.is_empty() {
        changes.push(format!("audience += {}", added.join(", ")));
    }
    changes
}

/// After creating a config from the template: how to run the service on this folder, then
/// the token.
fn start_steps(config: &std::path::Path, no_dev_key: bool) {
    let name = config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    errln_pre!();
    errln_pre!("next steps:");
    errln_pre!(
        "  1. start PostgreSQL (the source, with wal_level=logical) and MongoDB (bucket storage, a"
    );
    errln_pre!("     replica set: --replSet rs0, then rs.initiate()) as `.env` names them, then");
    errln_pre!(
        "     the PowerSync Service on this folder (the template's values are for a local setup):"
    );
    errln_pre!(
        "       docker run --rm --network host --env-file <(pskeys export --format docker) \\"
    );
    errln_pre!("         -v \"$PWD:/config\" \\");
    errln_pre!("         -e POWERSYNC_CONFIG_PATH=/config/{name} \\");
    errln_pre!("         journeyapps/powersync-service:latest start -r unified");
    errln_pre!(
        "     (without --network host, `localhost` in a container is the container itself: point"
    );
    errln_pre!("     PS_DATA_SOURCE_URI and PS_MONGO_URI at host.docker.internal and add");
    errln_pre!("     --add-host=host.docker.internal:host-gateway -p 8080:8080)");
    if no_dev_key {
        errln_pre!(
            "  2. sign in through your auth provider; `pskeys verify \"$TOKEN\"` checks one of its tokens"
        );
        errln_pre!(
            "     (no development key: `pskeys mint` has nothing to sign with; `pskeys init` adds one)"
        );
        return;
    }
    errln_pre!(
        "  2. pskeys mint --sub user-1 --diagnostics   # a link that signs the Diagnostics app in"
    );
    errln_pre!(
        "  3. TOKEN=$(pskeys mint --sub user-1)        # return it from fetchCredentials, with"
    );
    errln_pre!("     endpoint http://localhost:8080");
}

fn next_steps(no_dev_key: bool) {
    errln_pre!();
    errln_pre!("next steps:");
    if no_dev_key {
        errln_pre!(
            "  1. start the PowerSync Service, or restart it: it reads the new settings at startup"
        );
        errln_pre!(
            "  2. sign in through your auth provider; `pskeys verify \"$TOKEN\"` checks one of its tokens"
        );
        return;
    }
    errln_pre!("  1. start the PowerSync Service, or restart it: it reads keys at startup");
    errln_pre!(
        "  2. pskeys mint --sub user-1 --diagnostics   # a link that signs the Diagnostics app in"
    );
    errln_pre!("  3. TOKEN=$(pskeys mint --sub user-1)        # return it from fetchCredentials()");
}

fn warnings(req: &Request, planned: &Planned) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if req.inline && matches!(planned.action, KeyAction::New { .. }) {
        out.push(
            "the HMAC secret is written into the config itself (--inline): do not commit that file"
                .to_string(),
        );
    }
    if let (Some(_), (Some(kid), alg)) = (req.serve, final_key(req, planned))
        && alg.is_hmac()
    {
        out.push(format!(
            "`{kid}` is an HMAC key, which `pskeys serve` never publishes: its JWKS is empty; add an asymmetric key with `pskeys init --rotate --alg ES256`"
        ));
    }
    let env = env_of(&planned.final_env);
    if let Some((port, place)) = req.serve {
        let ours = super::plan::serve_jwks_uri(&planned.final_config.path, port, place);
        for old in rules::jwks_uris(&planned.final_config, &env) {
            if old != ours && crate::service::net::serve_jwks_port(&old).is_some() {
                out.push(format!(
                    "the config still has jwks_uri {old} (an earlier `--serve`?): the service keeps fetching it; remove it from `client_auth.jwks_uri` if nothing serves there"
                ));
            }
        }
    }
    if let Some(compose) = crate::cmd::service_container(&planned.final_config.path) {
        for f in rules::container_findings(&planned.final_config, &env, &compose) {
            out.push(format!("{} (fix: {})", f.message, f.fix));
        }
    }
    out.extend(provider_dev_key(req, planned));
    out.extend(env_file_warnings(&planned.final_env.path));
    let findings = rules::config_findings(&planned.final_config, &env);
    out.extend(service_refusal(&planned.final_config, &findings));
    out.extend(tokens_fail(&planned.final_config, &findings));
    out.extend(shadowed(planned));
    out.extend(undefined_vars(&findings));
    out
}

/// A provider (`--firebase`, `--supabase`, `--jwks-uri`) set up together with a new
/// development key: the config then also accepts tokens anyone holding `.env` signs, with
/// the dev audiences, which a production config should not.
fn provider_dev_key(req: &Request, planned: &Planned) -> Option<String> {
    let KeyAction::New { kid, .. } = &planned.action else {
        return None;
    };
    let config = &planned.final_config;
    let env = env_of(&planned.final_env);
    // The flags of this run (with the command that leaves the dev key out), else what the
    // config already trusts: `init` with no flag on a Supabase or Auth0 config adds the dev
    // key all the same.
    let supabase = config
        .client_auth()
        .and_then(|a| a.get("supabase"))
        .and_then(|n| n.resolve(&|_| Some(String::new())).ok())
        == Some(J::Bool(true));
    let (done, instead) = match (&req.firebase, req.supabase, req.jwks_uris.first()) {
        (Some(p), _, _) => flag_dev_key("--firebase", &format!("--firebase {p}")),
        (None, true, _) => flag_dev_key("--supabase", "--supabase"),
        (None, false, Some(u)) => flag_dev_key("--jwks-uri", &format!("--jwks-uri {u}")),
        _ if supabase => config_dev_key("the config's `supabase: true`"),
        _ if !rules::jwks_uris(config, &env).is_empty() => {
            config_dev_key("the config's `jwks_uri`")
        }
        _ => return None,
    };
    let dev: Vec<String> = config
        .audiences(&env.lookup())
        .ok()
        .flatten()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| crate::config::DEFAULT_AUDIENCES.contains(&a.as_str()))
        .collect();
    let audiences = match dev.is_empty() {
        true => String::new(),
        false => format!(" and the audiences {}", dev.join(", ")),
    };
    Some(format!(
        "{done}: the config also accepts tokens signed with `{kid}` (its secret is in .env){audiences}; {instead}"
    ))
}

/// What [`provider_dev_key`] says of a provider this run's flag added, and the command
/// that leaves the dev key out.
fn flag_dev_key(flag: &str, rerun: &str) -> (String, String) {
    (
        format!("{flag} also set up a development key"),
        format!(
            "for a production config run `pskeys init {rerun} --no-dev-key` instead, or remove them before deploying"
        ),
    )
}

/// What [`provider_dev_key`] says of a provider the config already had.
fn config_dev_key(provider: &str) -> (String, String) {
    (
        format!("added a development key next to {provider}"),
        "a production config should not: remove the key before deploying (`pskeys init --no-dev-key` adds none)".to_string(),
    )
}

/// Variables the config reads that nothing defines after the run, with where: the service
/// does not start without them.
fn undefined_vars(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.id == FindingId::EnvUndefined)
        .map(|f| {
            let at = match f.line {
                Some(l) => format!("{}:{l}", show(&f.file)),
                None => show(&f.file),
            };
            format!(
                "`{}` ({at}) reads a variable nothing defines here: {} (the service does not start without it)",
                f.setting, f.fix
            )
        })
        .collect()
}

fn env_file_warnings(env_file: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(mode) = fsutil::mode(env_file).filter(|m| m & 0o077 != 0) {
        out.push(format!(
            "`{}` is readable by other users (mode {mode:o}); run `chmod 600 {}`",
            show(env_file),
            show(env_file)
        ));
    }
    let name = env_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match fsutil::git_status(env_file) {
        GitStatus::NotIgnored => out.push(format!(
            "`{}` is not git-ignored: add `{name}` (and `.pskeys-*`, the temporary files a crashed run may leave) to .gitignore so the key is never committed",
            show(env_file)
        )),
        GitStatus::Tracked => out.push(format!(
            "`{}` is tracked by git: run `git rm --cached {}` and add it to .gitignore, then replace the key (`pskeys init --force`)",
            show(env_file),
            show(env_file)
        )),
        GitStatus::Ignored | GitStatus::NoRepo => {}
    }
    out
}

/// Variables init wrote to `.env` that this shell's environment sets to something else:
/// `mint` (and a service started from here) read the environment's value.
fn shadowed(planned: &Planned) -> Option<String> {
    let names: Vec<&str> = planned
        .env_vars
        .iter()
        .filter(|v| {
            std::env::var_os(v.as_str()).is_some_and(|x| {
                Some(x.to_string_lossy().as_ref()) != planned.final_env.get(v.as_str())
            })
        })
        .map(String::as_str)
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "this shell's environment sets {} to other values than init wrote to `{}`, and the environment wins: unset them (or start a new shell) before `pskeys mint`",
            names.join(", "),
            show(&planned.final_env.path)
        )
    })
}

/// After the change: a config the service loads but that fails every token of a key (or
/// every token), for a reason `init` left alone (a shared config, a secret defined here).
fn tokens_fail(config: &Config, findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.impact == crate::service::Impact::TokensFail && f.in_client_auth())
        .map(|f| match f.id {
            FindingId::AudienceMissing | FindingId::AudienceEmpty => format!(
                "{}; `pskeys init --audience powersync-dev --audience powersync` adds them to `{}` (the shared config changes)",
                f.message,
                show(&config.path)
            ),
            _ => format!("{}; {}", f.message, f.fix),
        })
        .collect()
}

/// After the change: whether the service would still refuse to start with the config.
/// Undefined variables are left to `doctor`: they may be defined where the service runs.
fn service_refusal(config: &Config, findings: &[Finding]) -> Option<String> {
    let refusals: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.refuses_config() && f.id != FindingId::EnvUndefined)
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
