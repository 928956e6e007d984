//! `pskeys doctor`: list every finding in the config and .env, apply the safe fixes
//! with `--fix` (lossless, all-or-nothing), exit 1 while any error remains.

use serde_json::json;

use crate::cli::DoctorArgs;
use crate::cmd::{lookup, require_config_path, show};
use crate::config::{self, Config, Patch};
use crate::doctor::{self, Finding, Fix, Severity};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::fsutil::{self, Write};

/// Runs `doctor`.
pub fn run(args: DoctorArgs) -> Result<()> {
    let DoctorArgs {
        config,
        env_file,
        fix,
        json,
    } = args;
    let path = require_config_path(config.as_deref())?;
    let mut fixed: Vec<String> = Vec::new();
    let mut findings = examine(&path, &env_file)?;
    if fix && findings.iter().any(|f| f.autofix.is_some()) {
        fixed = apply_fixes(&path, &env_file, &findings)?;
        findings = examine(&path, &env_file)?;
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    if json {
        let out = json!({
            "config": show(&path),
            "env_file": show(&env_file),
            "errors": errors,
            "warnings": warnings,
            "fixed": fixed,
            "findings": findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        for f in &fixed {
            eprintln!("fixed: {f}");
        }
        for f in &findings {
            let at = match f.line {
                Some(l) => format!("{}:{l}", show(&f.file)),
                None => show(&f.file),
            };
            eprintln!("{}[{}] {at}: {}", f.severity.as_str(), f.id, f.message);
            eprintln!(
                "  fix: {}{}",
                f.fix,
                if f.autofix.is_some() && !fix {
                    " [--fix]"
                } else {
                    ""
                }
            );
        }
        if findings.is_empty() {
            eprintln!(
                "no problems found in `{}` and `{}`",
                show(&path),
                show(&env_file)
            );
        } else if errors == 0 {
            eprintln!("{warnings} warning(s), no errors");
        }
    }
    if errors > 0 {
        return Err(Error::rejected(
            None,
            format!("doctor found {errors} error(s) and {warnings} warning(s)"),
            None,
        ));
    }
    Ok(())
}

/// Loads both files and runs the checks; a file that does not parse is itself a finding.
fn examine(path: &std::path::Path, env_file: &std::path::Path) -> Result<Vec<Finding>> {
    let syntax = |file: &std::path::Path, e: Error| -> Result<Vec<Finding>> {
        match e {
            Error::Config {
                location,
                message,
                hint,
            }
            | Error::EnvFile {
                location,
                message,
                hint,
            } => Ok(vec![Finding {
                id: "syntax",
                severity: Severity::Error,
                file: file.to_path_buf(),
                line: location.line,
                message,
                fix: hint.unwrap_or_default(),
                autofix: None,
            }]),
            other => Err(other),
        }
    };
    let config = match Config::load_syntax(path) {
        Ok(c) => c,
        Err(e) => return syntax(path, e),
    };
    let env = match EnvFile::load(env_file) {
        Ok(e) => e,
        Err(e) => return syntax(env_file, e),
    };
    Ok(doctor::check(&config, &env, &lookup(&env)))
}

/// Applies every safe fix; returns what was fixed.
fn apply_fixes(
    path: &std::path::Path,
    env_file: &std::path::Path,
    findings: &[Finding],
) -> Result<Vec<String>> {
    let config = Config::load_syntax(path)?;
    let mut text = config.text.clone();
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
            f.id
        ));
    }
    done.reverse();
    if findings
        .iter()
        .any(|f| f.autofix == Some(Fix::AudienceToList))
    {
        let current = Config::parse_syntax(path, text.clone())?;
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
    let mut writes = Vec::new();
    if text != config.text {
        // Never write a config that no longer parses.
        Config::parse_syntax(path, text.clone())?;
        writes.push(Write {
            path: path.to_path_buf(),
            content: text,
            new_mode: 0o644,
        });
    }
    fsutil::write_all(&writes)?;
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
