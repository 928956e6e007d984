//! Plan, then write: what a command will change in the config and `.env`, decided before
//! anything is written, applied by one all-or-nothing writer and shown by one renderer
//! (`--dry-run` diffs with every secret masked).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::envfile::{ALG_VAR, EnvFile, KID_VAR, encode_value};
use crate::error::Result;
use crate::fsutil::{self, Write};

/// A secret value: `Debug` and `Display` print `<secret>`, so no log line, error or diff
/// shows it by accident. [`Secret::expose`] is the one way to the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for writing it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// The new text of one file.
#[derive(Debug, Clone)]
pub struct Change {
    /// The file.
    pub path: PathBuf,
    /// Its text now (`None`: it does not exist yet).
    pub before: Option<String>,
    /// Its text after the change.
    pub after: String,
    /// Unix mode for a new file (an existing file keeps its own).
    pub new_mode: u32,
    /// What a diff shows instead of `before` and `after` (`.env` with its values masked).
    pub shown: Option<(String, String)>,
}

impl Change {
    /// A change, or `None` when the text stays the same (and the file exists).
    pub fn of(path: &Path, before: Option<&str>, after: String, new_mode: u32) -> Option<Change> {
        (before != Some(after.as_str())).then(|| Change {
            path: path.to_path_buf(),
            before: before.map(str::to_string),
            after,
            new_mode,
            shown: None,
        })
    }

    /// The change from one `.env` to another (mode 0600 when created), shown with every
    /// value but the public ones masked; `None` when nothing changes or nothing would be
    /// written to a file that does not exist.
    pub fn env(before: &EnvFile, after: &EnvFile) -> Option<Change> {
        if !before.existed && after.text().is_empty() {
            return None;
        }
        let old = before.existed.then_some(before.text());
        let mut change = Change::of(&after.path, old, after.text().to_string(), 0o600)?;
        let keep = is_public_var;
        let shown_before = if before.existed {
            before.masked(keep, |_| MASK)
        } else {
            String::new()
        };
        // A secret that changes shows as a changed line (`-…masked>`, `+<new secret
        // masked>`), never as an unchanged one.
        let new_or_same = |key: &str| match before.get(key) {
            Some(old) if after.get(key) == Some(old) => MASK,
            _ if before.existed => NEW_MASK,
            _ => MASK,
        };
        change.shown = Some((shown_before, after.masked(keep, new_or_same)));
        Some(change)
    }

    /// Whether the file is created.
    pub fn creates(&self) -> bool {
        self.before.is_none()
    }
}

/// Everything one command will write.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The `.env` file (written first: a key in `.env` that the config lacks is repaired by
    /// the next run, a config key without its secret is not).
    pub env: Option<Change>,
    /// The service config.
    pub config: Option<Change>,
    /// Files the config names, created beside it (the template's sync config).
    pub extra: Vec<Change>,
    /// Values masked in every view of the plan.
    pub secrets: Vec<Secret>,
}

/// What a masked secret reads as.
const MASK: &str = "<secret masked>";
/// What a masked secret reads as where the run changes it.
const NEW_MASK: &str = "<new secret masked>";

/// Whether a `.env` variable's value is never secret, so diffs show it: the kid, the
/// algorithm, the port, and the public key members `init --public-in-env` writes.
fn is_public_var(name: &str) -> bool {
    const PUBLIC_JWK: [&str; 9] = ["KID", "KTY", "ALG", "USE", "CRV", "X", "Y", "N", "E"];
    [KID_VAR, ALG_VAR, "PS_PORT"].contains(&name)
        || name
            .strip_prefix("PS_JWK_")
            .is_some_and(|m| PUBLIC_JWK.contains(&m))
}

impl Plan {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.env.is_none() && self.config.is_none() && self.extra.is_empty()
    }

    /// Masks the config's secrets: those written into it, and the values `envs` give the
    /// variables its secret settings read (`k: !env PS_JWK_N`: secret whatever the name).
    pub fn mask_config_secrets(&mut self, config: &crate::config::Config, envs: &[&EnvFile]) {
        self.secrets
            .extend(config.inline_secrets().into_iter().map(Secret::new));
        for var in config.secret_vars() {
            for env in envs {
                self.secrets.extend(env.get(&var).map(Secret::new));
            }
        }
    }

    /// Masks every value of `vars` except the public ones (old and new values alike).
    pub fn mask_env_values<'a>(&mut self, vars: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (name, value) in vars {
            if !is_public_var(name) && value.len() >= 6 {
                self.secrets.push(Secret::new(value));
            }
        }
    }

    /// Writes the plan, all or nothing, with the project's lock (taken before the files
    /// were read) held; `project_dir` keeps the intent record of the write.
    pub fn apply(&self, _lock: &fsutil::Lock, project_dir: &Path) -> Result<()> {
        let writes: Vec<Write> = [&self.env, &self.config]
            .into_iter()
            .flatten()
            .chain(&self.extra)
            .map(|c| Write {
                path: c.path.clone(),
                before: c.before.clone(),
                content: c.after.clone(),
                new_mode: c.new_mode,
            })
            .collect();
        fsutil::write_all(&writes, project_dir)
    }

    /// Unified diffs of both files (names as `show` gives them), secrets masked.
    pub fn diff(&self, show: impl Fn(&Path) -> String) -> String {
        let mut out = String::new();
        for change in [&self.config, &self.env]
            .into_iter()
            .flatten()
            .chain(&self.extra)
        {
            let name = show(&change.path);
            let old = if change.creates() {
                "/dev/null".to_string()
            } else {
                format!("a/{name}")
            };
            let (before, after) = match &change.shown {
                Some((b, a)) => (b.as_str(), a.as_str()),
                None => (
                    change.before.as_deref().unwrap_or(""),
                    change.after.as_str(),
                ),
            };
            out.push_str(
                &similar::TextDiff::from_lines(before, after)
                    .unified_diff()
                    .context_radius(3)
                    .header(&old, &format!("b/{name}"))
                    .to_string(),
            );
        }
        self.mask(&out)
    }

    /// `text` with every secret (raw, and as `.env` encodes it) replaced, and every diff
    /// line that is one line of a multi-line secret (a PEM body line of any length).
    pub fn mask(&self, text: &str) -> String {
        let mut whole: Vec<String> = Vec::new();
        let mut lines: Vec<&str> = Vec::new();
        for s in &self.secrets {
            whole.push(encode_value(s.expose()));
            whole.push(s.expose().to_string());
            if s.expose().contains('\n') {
                lines.extend(s.expose().lines().filter(|l| !l.starts_with("-----")));
            }
        }
        whole.retain(|s| s.len() >= 6);
        // Longest first, so a whole value is masked before its parts.
        whole.sort_by_key(|s| std::cmp::Reverse(s.len()));
        whole.dedup();
        let mut out = text.to_string();
        for s in whole {
            out = out.replace(&s, "<secret masked>");
        }
        out.split_inclusive('\n')
            .map(|line| {
                let body = line.get(1..).unwrap_or("").trim_end_matches(['\r', '\n']);
                if !body.is_empty() && lines.contains(&body) {
                    format!("{}<secret masked>{}", &line[..1], &line[1 + body.len()..])
                } else {
                    line.to_string()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{s} {s:?}"), "<secret> <secret>");
    }

    #[test]
    fn masks_pem_lines_and_encoded_values() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIBabc\nshort\n-----END PRIVATE KEY-----\n";
        let plan = Plan {
            secrets: vec![Secret::new(pem)],
            ..Plan::default()
        };
        let shown = plan.mask(&format!("+K={}\n MIIBabc\n-short\n", encode_value(pem)));
        assert_eq!(
            shown,
            "+K=<secret masked>\n <secret masked>\n-<secret masked>\n"
        );
    }
}
