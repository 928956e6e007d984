//! `pskeys doctor`: render every finding of the service's rules for the config and .env;
//! with `--fix`, turn the safe fixes into one plan over the text read once, write it
//! (lossless, all-or-nothing), and check again. Exit 1 while any error remains.

use std::path::Path;

use serde_json::json;

use crate::cli::DoctorArgs;
use crate::cmd::{env_path, locate_config, require_config_path, show};
use crate::config::{self, Config, Patch};
use crate::env::Env;
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::plan::{Change, Plan};
use crate::service::rules::{self, Finding, FindingId, Fix, Impact, Severity};

/// Runs `doctor`.
pub fn run(args: DoctorArgs) -> Result<()> {
    let DoctorArgs { files, fix, json } = args;
    let path = require_config_path(files.config.as_deref())?;
    let (_, found) = locate_config(files.config.as_deref())?;
    let env_file = env_path(&files, &path, &found);
    // A `.env` named on the command line that is not there is a typo, not a fresh clone.
    if files.env_file.is_some() && !env_file.exists() {
        return Err(Error::usage(
            format!("`{}` (--env-file) does not exist", show(&env_file)),
            "check the path; without --env-file doctor reads the `.env` beside the config"
                .to_string(),
        ));
    }
    let mut findings = examine(&path, &env_file)?;
    let mut fixed = Vec::new();
    if fix && findings.iter().any(|f| f.autofix.is_some()) {
        let lock = crate::cmd::lock_project(&path)?;
        fixed = apply_fixes(&lock, &path, &env_file)?;
        drop(lock);
        findings = examine(&path, &env_file)?;
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity() == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    if json {
        let out = json!({
            "config": {"path": show(&path)},
            "env_file": {"path": show(&env_file)},
            "errors": errors,
            "warnings": warnings,
            "fixed": fixed,
            "findings": findings.iter().map(to_json).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        render(&findings, &fixed, fix, &path, &env_file);
    }
    match errors {
        0 => Ok(()),
        _ if json => Err(Error::Reported(Box::new(Error::Findings {
            errors,
            warnings,
        }))),
        _ => Err(Error::Findings { errors, warnings }),
    }
}

fn to_json(f: &Finding) -> serde_json::Value {
    json!({
        "id": f.id.as_str(),
        "severity": f.severity().as_str(),
        "impact": impact_name(f.impact),
        "file": {"path": show(&f.file), "line": f.line},
        "setting": (!f.setting.is_empty()).then_some(&f.setting),
        "message": f.message,
        "fix": f.fix,
        "fixable": f.autofix.is_some(),
    })
}

fn impact_name(i: Impact) -> &'static str {
    match i {
        Impact::Refused => "config_refused",
        Impact::TokensFail => "tokens_fail",
        Impact::SyncFails => "sync_fails",
        Impact::ConnectionFails => "connection_fails",
        Impact::Misread => "misread",
        Impact::Leak => "leak",
        Impact::Local => "local",
        Impact::Trap => "trap",
    }
}

fn render(findings: &[Finding], fixed: &[String], fix: bool, path: &Path, env_file: &Path) {
    for f in fixed {
        errln!("fixed: {f}");
    }
    for f in findings {
        let at = match f.line {
            Some(l) => format!("{}:{l}", show(&f.file)),
            None => show(&f.file),
        };
        errln!(
            "{}[{}] {at}: {}",
            f.severity().as_str(),
            f.id.as_str(),
            f.message
        );
        let hint = if f.autofix.is_some() && !fix && !f.fix.contains("--fix") {
            " [--fix]"
        } else {
            ""
        };
        errln!("  fix: {}{hint}", f.fix);
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity() == Severity::Error)
        .count();
    if findings.is_empty() && env_file.exists() {
        errln!(
            "no problems found in `{}` and `{}`",
            show(path),
            show(env_file)
        );
    } else if findings.is_empty() {
        errln!(
            "no problems found in `{}` (there is no `{}`)",
            show(path),
            show(env_file)
        );
    } else if errors == 0 {
        let n = findings.len();
        errln!(
            "{n} {}, no errors",
            if n == 1 { "warning" } else { "warnings" }
        );
    }
    if fix && fixed.is_empty() && !findings.is_empty() {
        errln!(
            "--fix changed nothing: none of these has a safe automatic fix yet (a `${{…}}` placeholder gets one once its variable is defined); follow each `fix:` line"
        );
    }
}

/// The files as read once, and their findings; a file that does not parse is itself one.
/// Both files and their findings, or the one syntax finding that stops the rest.
type Read = std::result::Result<(Config, EnvFile, Vec<Finding>), Finding>;

fn read(path: &Path, env_file: &Path) -> Result<Read> {
    let syntax = |file: &Path, e: Error| match e {
        Error::Config {
            location,
            message,
            hint,
        }
        | Error::EnvFile {
            location,
            message,
            hint,
        } => Ok(Err(Finding {
            id: FindingId::Syntax,
            impact: Impact::Refused,
            file: file.to_path_buf(),
            line: location.line,
            setting: String::new(),
            message,
            fix: hint.unwrap_or_default(),
            autofix: None,
        })),
        other => Err(other),
    };
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return syntax(path, e),
    };
    let env_file_read = match EnvFile::load(env_file) {
        Ok(e) => e,
        Err(e) => return syntax(env_file, e),
    };
    let env = Env::new(
        env_file_read
            .vars()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let mut findings = rules::config_findings(&config, &env);
    findings.extend(rules::env_findings(&config, &env_file_read, &env));
    if let Some(compose) = crate::cmd::service_container(path) {
        findings.extend(rules::container_findings(&config, &env, &compose));
    }
    findings.sort_by_key(|f| (f.severity(), f.file.clone(), f.line));
    Ok(Ok((config, env_file_read, findings)))
}

fn examine(path: &Path, env_file: &Path) -> Result<Vec<Finding>> {
    Ok(match read(path, env_file)? {
        Ok((_, _, findings)) => findings,
        Err(syntax) => vec![syntax],
    })
}

/// Applies every safe fix, planned on one read of the files; returns what was fixed.
fn apply_fixes(lock: &crate::fsutil::Lock, path: &Path, env_file: &Path) -> Result<Vec<String>> {
    let Ok((config, _, findings)) = read(path, env_file)? else {
        return Ok(Vec::new());
    };
    let (text, mut done) = fixed_config(&config, &findings)?;
    let plan = Plan {
        config: Change::of(path, Some(config.text()), text, 0o644),
        ..Plan::default()
    };
    plan.apply(lock, &crate::cmd::project_dir(path))?;
    if findings.iter().any(|f| f.autofix == Some(Fix::EnvMode)) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(env_file, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io("chmod", env_file, e))?;
            done.push(format!("{}: mode 600", show(env_file)));
        }
    }
    Ok(done)
}

/// The config text with every config fix applied (offsets from the same read), checked to
/// parse; and what was fixed.
fn fixed_config(config: &Config, findings: &[Finding]) -> Result<(String, Vec<String>)> {
    let path = &config.path;
    let mut text = config.text().to_string();
    let mut done = Vec::new();
    let mut edits: Vec<(usize, usize, &str, &Finding)> = findings
        .iter()
        .filter_map(|f| match &f.autofix {
            Some(Fix::ConfigEdit { start, end, with }) => Some((*start, *end, with.as_str(), f)),
            _ => None,
        })
        .collect();
    // Back to front, so earlier offsets stay valid.
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (start, end, with, f) in edits {
        text.replace_range(start..end, with);
        done.push(format!(
            "{}:{}: {} -> `{with}`",
            show(path),
            f.line.unwrap_or(0),
            f.id.as_str()
        ));
    }
    done.reverse();
    if findings
        .iter()
        .any(|f| f.autofix == Some(Fix::AudienceToList))
    {
        let current = Config::parse(path, text.clone())?;
        if let Some(aud) = current
            .client_auth()
            .and_then(|a| a.get("audience"))
            .and_then(|n| n.as_str())
        {
            let patch = Patch {
                audiences: vec![aud.to_string()],
                ..Patch::default()
            };
            text = config::apply(&current, &patch)?;
            done.push(format!(
                "{}: client_auth.audience is now a list",
                show(path)
            ));
        }
    }
    // Never write a config that no longer parses.
    Config::parse(path, text.clone())?;
    Ok((text, done))
}
