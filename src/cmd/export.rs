//! `pskeys export`: the variables the config and pskeys read, as another tool wants them: a
//! CI step's env file, `docker run --env-file`, a shell, JSON. It prints secrets, which is
//! what it is asked for; `github` masks them in the job's log first.

use std::io::Write as _;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::cli::{ExportArgs, ExportFormat};
use crate::cmd::open;
use crate::config::node::Value as Node;
use crate::envfile::{ALG_VAR, KID_VAR, PRIVATE_KEY_VAR, encode_value};
use crate::error::{Error, Result};
use crate::keys::random_hex;

/// Variables whose values are not secret (`github` does not mask them).
const PUBLIC: [&str; 3] = [KID_VAR, ALG_VAR, "PS_PORT"];

/// Runs `export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let ExportArgs {
        files,
        format,
        vars,
    } = args;
    let project = open(&files)?;
    let env = project.env();
    if let Some(missing) = vars.iter().find(|v| env.get(v).is_none()) {
        return Err(Error::usage(
            format!("--var {missing}: it is defined neither in .env nor in the environment"),
            "check the name; `pskeys export` without --var exports every defined variable"
                .to_string(),
        ));
    }
    let names = if vars.is_empty() {
        let mut names = default_names(&project);
        // The service container needs none of pskeys' own (the private key least of all).
        if format == ExportFormat::Docker {
            names.retain(|n| ![KID_VAR, ALG_VAR, PRIVATE_KEY_VAR].contains(&n.as_str()));
        }
        names
    } else {
        vars
    };
    // A name from the config (`!env "A;rm -rf ~"`) reaches a shell's eval or a CI's env
    // file as it is: only portable names (what a shell and every env-file reader accept).
    if let Some(bad) = names.iter().find(|n| !portable_name(n)) {
        return Err(Error::usage(
            format!(
                "the variable name {bad:?} is not a portable name (letters, digits, `_`, not starting with a digit)"
            ),
            "rename it in the config's `!env` tag; pskeys exports only such names".to_string(),
        ));
    }
    let pairs: Vec<(String, String)> = names
        .into_iter()
        .filter_map(|n| env.get(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    carriable(format, &pairs)?;
    match format {
        ExportFormat::Dotenv => lines(&pairs, |k, v| format!("{k}={}", encode_value(v))),
        ExportFormat::Shell => lines(&pairs, |k, v| format!("export {k}={}", shell_quote(v))),
        ExportFormat::Docker => lines(&pairs, |k, v| format!("{k}={}", v.replace('\n', "\\n"))),
        ExportFormat::Json => {
            let map: Map<String, Value> = pairs
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            outln!("{}", serde_json::to_string_pretty(&map).unwrap_or_default());
        }
        ExportFormat::Github => github(&pairs)?,
    }
    Ok(())
}

/// Stops at a value the format cannot carry so its reader gets it back unchanged, naming
/// the variable, never the value.
fn carriable(format: ExportFormat, pairs: &[(String, String)]) -> Result<()> {
    match format {
        ExportFormat::Docker => {
            // `--env-file` has no multi-line values; `\n` would reach the service literally.
            // (mint reads PSKEYS_PRIVATE_KEY with `\n` escapes, so that one travels.)
            if let Some((name, _)) = pairs
                .iter()
                .find(|(k, v)| v.contains(['\n', '\r']) && k != PRIVATE_KEY_VAR)
            {
                return Err(Error::usage(
                    format!(
                        "{name} has several lines (or a carriage return), which `docker run --env-file` cannot carry"
                    ),
                    format!(
                        "pass it with `docker run -e {name}` (docker copies it from the environment), or use --format dotenv for a compose file's `env_file` (quoted multi-line values)"
                    ),
                ));
            }
        }
        ExportFormat::Dotenv => {
            // Only text every reader (dotenvy, node's dotenv, compose) reads back the same.
            if let Some((name, why)) = pairs
                .iter()
                .find_map(|(k, v)| crate::envfile::encode(v).err().map(|why| (k, why)))
            {
                return Err(Error::usage(
                    format!("the value of {name} {why}"),
                    "use --format json or shell for it, or change the value".to_string(),
                ));
            }
        }
        ExportFormat::Shell | ExportFormat::Json | ExportFormat::Github => {}
    }
    Ok(())
}

/// Every variable the config reads with `!env`, and pskeys' own, in that order. Only
/// `PS_` names: the service reads no other (a config naming one is refused), and a hostile
/// config's `!env BASH_ENV` or `!env LD_PRELOAD` must not reach a shell or `$GITHUB_ENV`.
fn default_names(project: &crate::Project) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    project
        .config()
        .root
        .visit(&mut String::new(), &mut |_, node| {
            if let Node::Env { name, .. } = &node.value
                && name.starts_with("PS_")
                && !names.contains(name)
            {
                names.push(name.clone());
            }
        });
    for own in [KID_VAR, ALG_VAR, PRIVATE_KEY_VAR] {
        if !names.iter().any(|n| n == own) {
            names.push(own.to_string());
        }
    }
    names
}

fn lines(pairs: &[(String, String)], line: impl Fn(&str, &str) -> String) {
    for (k, v) in pairs {
        outln!("{}", line(k, v));
    }
}

/// `'…'` for a POSIX shell: literal but for `'`, written `'\''`.
fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

/// `[A-Za-z_][A-Za-z0-9_]*`: a name `export`, `--env-file` and `$GITHUB_ENV` all take.
fn portable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A workflow command's value as the runner unescapes it, so the mask is the value itself.
fn escape_command_value(v: &str) -> String {
    v.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Appends to `$GITHUB_ENV` with its `NAME<<DELIMITER` syntax (multi-line values intact),
/// and prints `::add-mask::` for each line of each secret first, so later steps' logs hide
/// them.
fn github(pairs: &[(String, String)]) -> Result<()> {
    let path = std::env::var_os("GITHUB_ENV")
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::usage(
                "GITHUB_ENV is not set: --format github runs inside a GitHub Actions step",
                "use --format dotenv or docker elsewhere".to_string(),
            )
        })?;
    for (k, v) in pairs {
        if !PUBLIC.contains(&k.as_str()) {
            for line in v.lines().filter(|l| !l.trim().is_empty()) {
                outln!("::add-mask::{}", escape_command_value(line));
            }
        }
    }
    let mut text = String::new();
    for (k, v) in pairs {
        // A delimiter no value can contain: GitHub ends the value at the first line equal to it.
        let delimiter = format!("PSKEYS_EOF_{}", random_hex(8)?);
        text.push_str(&format!("{k}<<{delimiter}\n{v}\n{delimiter}\n"));
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| Error::io("append to", &path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("append to", &path, e))?;
    errln!("appended {} variables to $GITHUB_ENV", pairs.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::escape_command_value;

    #[test]
    fn mask_values_are_escaped_as_the_runner_unescapes_them() {
        assert_eq!(escape_command_value("p%0Aw%d"), "p%250Aw%25d");
        assert_eq!(escape_command_value("a\rb"), "a%0Db");
        assert_eq!(escape_command_value("plain"), "plain");
    }
}
