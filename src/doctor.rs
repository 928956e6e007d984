//! `doctor`'s checks: the traps that make the service refuse a config or reject every
//! token (POWERSYNC_AUTH.md section 6), found in the config and .env together, each with
//! an id, a severity, a place, and the fix. Safe fixes come as lossless edits.

use std::path::PathBuf;

use serde_json::{Value as J, json};

use crate::config::node::{Node, Value};
use crate::config::{Config, Format};
use crate::envfile::{ALG_VAR, EnvFile, KID_VAR, PRIVATE_KEY_VAR};
use crate::fsutil::{self, GitStatus};
use crate::keys::{Alg, Kty, PrivateKey, decode_b64url};
use crate::keystore::{PRIVATE_FIELDS, family_of};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The service refuses the config, or tokens fail.
    Error,
    /// Works today, but is a trap.
    Warning,
}

impl Severity {
    /// `error` / `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A change `--fix` can make safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Replace bytes `start..end` of the config with `with`.
    ConfigEdit {
        /// Byte offset.
        start: usize,
        /// Byte offset.
        end: usize,
        /// New text.
        with: String,
    },
    /// Turn `client_auth.audience` from a string into a list.
    AudienceToList,
    /// `chmod 600` the .env file.
    EnvMode,
}

/// One problem.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Stable id, e.g. `dollar-placeholder`.
    pub id: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when it has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
    /// The safe automatic fix, if any.
    pub autofix: Option<Fix>,
}

impl Finding {
    /// As JSON for `--json`.
    pub fn to_json(&self) -> J {
        json!({
            "id": self.id,
            "severity": self.severity.as_str(),
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "fix": self.fix,
            "fixable": self.autofix.is_some(),
        })
    }
}

struct Checker<'a> {
    config: &'a Config,
    env: &'a EnvFile,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    out: Vec<Finding>,
}

impl Checker<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        file: &std::path::Path,
        id: &'static str,
        severity: Severity,
        line: Option<usize>,
        message: String,
        fix: String,
        autofix: Option<Fix>,
    ) {
        self.out.push(Finding {
            id,
            severity,
            file: file.to_path_buf(),
            line,
            message,
            fix,
            autofix,
        });
    }

    fn config_finding(
        &mut self,
        id: &'static str,
        severity: Severity,
        node: &Node,
        message: String,
        fix: String,
        autofix: Option<Fix>,
    ) {
        let path = self.config.path.clone();
        self.push(&path, id, severity, Some(node.line), message, fix, autofix);
    }

    fn env_finding(
        &mut self,
        id: &'static str,
        severity: Severity,
        line: Option<usize>,
        message: String,
        fix: String,
        autofix: Option<Fix>,
    ) {
        let path = self.env.path.clone();
        self.push(&path, id, severity, line, message, fix, autofix);
    }
}

/// Byte offset of a 1-based line and (character) column.
fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut start = 0;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    let line_text = &text[start..];
    let col = line_text
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line_text.len(), |(i, _)| i);
    Some(start + col)
}

/// The `${NAME}` a string is, if it is nothing else.
fn dollar_placeholder(s: &str) -> Option<&str> {
    let name = s.strip_prefix("${")?.strip_suffix('}')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// Runs every check.
pub fn check(
    config: &Config,
    env: &EnvFile,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Vec<Finding> {
    let mut c = Checker {
        config,
        env,
        lookup,
        out: Vec::new(),
    };
    c.placeholders_and_env();
    c.audience();
    c.keys();
    c.supabase();
    c.signing_key();
    c.env_file();
    c.out.sort_by_key(|f| (f.severity, f.file.clone(), f.line));
    c.out
}

impl Checker<'_> {
    fn placeholders_and_env(&mut self) {
        let config = self.config;
        let mut nodes: Vec<(String, &Node)> = Vec::new();
        config.root.visit(&mut String::new(), &mut |path, node| {
            nodes.push((path.to_string(), node))
        });
        for (path, node) in nodes {
            match &node.value {
                Value::Str(s) => {
                    let Some(name) = dollar_placeholder(s) else {
                        continue;
                    };
                    let autofix = (config.format == Format::Yaml && name.starts_with("PS_"))
                        .then(|| placeholder_edit(&config.text, node, s, name))
                        .flatten();
                    let fix = if name.starts_with("PS_") {
                        format!("write `{path}: !env {name}` (`pskeys doctor --fix` does)")
                    } else {
                        format!("rename the variable to `PS_{name}` and write `!env PS_{name}`")
                    };
                    self.config_finding("dollar-placeholder", Severity::Error, node, format!("`{path}` is the literal text `{s}`: the service never substitutes `${{…}}`"), fix, autofix);
                }
                Value::Env { name, .. } => {
                    if !name.starts_with("PS_") {
                        self.config_finding("env-prefix", Severity::Error, node, format!("`{path}: !env {name}`: the service only reads `PS_` variables and refuses to load this config"), format!("rename it to `PS_{name}` here and in .env"), None);
                    } else if (self.lookup)(name).is_none() {
                        self.config_finding("env-undefined", Severity::Error, node, format!("`{path}: !env {name}` is defined neither in `{}` nor in the environment; the service will not start", self.env.path.display()), format!("add `{name}=…` to {}", self.env.path.display()), None);
                    }
                }
                _ => {}
            }
        }
    }

    fn audience(&mut self) {
        let Some(auth) = self.config.client_auth() else {
            let path = self.config.path.clone();
            self.push(
                &path,
                "audience-missing",
                Severity::Error,
                None,
                "there is no `client_auth` section: no audience is configured, so every token fails (PSYNC_S2105)".into(),
                "run `pskeys init` (adds a key and the audiences powersync-dev, powersync)".into(),
                None,
            );
            return;
        };
        match auth.get("audience").map(|n| (n, &n.value)) {
            None | Some((_, Value::Null)) => self.config_finding("audience-missing", Severity::Error, auth, "`client_auth.audience` is missing: every token fails with PSYNC_S2105".into(), "add `audience: ['powersync-dev', 'powersync']` (`pskeys init` does)".into(), None),
            Some((n, Value::Seq(items))) if items.is_empty() => self.config_finding("audience-empty", Severity::Error, n, "`client_auth.audience` is empty: every token fails with PSYNC_S2105".into(), "add the audiences your tokens carry (`pskeys init --audience <aud>`)".into(), None),
            Some((_, Value::Seq(_))) => {}
            Some((n, Value::Str(_))) => self.config_finding("audience-not-list", Severity::Error, n, "`client_auth.audience` is a string; the service wants a list and refuses to load this config".into(), "make it a list: `audience: ['…']` (`pskeys doctor --fix` does)".into(), (self.config.format == Format::Yaml).then_some(Fix::AudienceToList)),
            Some((n, Value::Env { .. })) => self.config_finding("audience-not-list", Severity::Error, n, "`client_auth.audience` is an `!env` string; the service wants a list and refuses to load this config".into(), "make it a list: `audience: [!env PS_…]`".into(), None),
            Some((n, _)) => self.config_finding("audience-not-list", Severity::Error, n, format!("`client_auth.audience` is {}; the service wants a list of strings", n.type_name()), "make it a list of strings".into(), None),
        }
    }

    fn keys(&mut self) {
        let Some(keys) = self
            .config
            .client_auth()
            .and_then(|a| a.get("jwks"))
            .and_then(|j| j.get("keys"))
            .and_then(Node::as_seq)
        else {
            return;
        };
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (i, node) in keys.iter().enumerate() {
            if node.as_map().is_none() {
                self.config_finding(
                    "key-not-mapping",
                    Severity::Error,
                    node,
                    format!(
                        "`client_auth.jwks.keys[{i}]` is {}, not a JWK",
                        node.type_name()
                    ),
                    "each key is a mapping with kty, kid, alg, …".into(),
                    None,
                );
                continue;
            }
            let jwk = node.resolve(self.lookup).unwrap_or(J::Null);
            let text = |n: &str| jwk.get(n).and_then(J::as_str).map(str::to_string);
            let kid_node = node.get("kid");
            let name = text("kid").map_or(format!("key #{}", i + 1), |k| format!("key `{k}`"));
            if let Some(Value::Int(_) | Value::Float(_) | Value::Bool(_)) =
                kid_node.map(|n| &n.value)
            {
                let n = kid_node.unwrap_or(node);
                self.config_finding("kid-not-string", Severity::Error, n, format!("{name}: the unquoted kid is read as {} (YAML core schema); the service refuses a non-string kid", n.type_name()), "quote it: kid: '…'".into(), None);
            }
            if let Some(kid) = text("kid") {
                if let Some((_, first)) = seen.iter().find(|(k, _)| *k == kid) {
                    self.config_finding("duplicate-kid", Severity::Error, node, format!("kid `{kid}` is used twice (first at line {first}); tokens may be checked against the wrong key"), "give each key its own kid, or remove the stale one (`pskeys keys retire`)".into(), None);
                }
                seen.push((kid, node.line));
            }
            if let Some(f) = PRIVATE_FIELDS.iter().find(|f| node.get(f).is_some()) {
                self.config_finding("private-fields", Severity::Error, node, format!("{name} holds the private field `{f}`: a secret leak, and jose imports it as a private key that cannot verify tokens"), "remove d, p, q, dp, dq, qi from the config (keep only the public part), then rotate the key: `pskeys init --rotate`".into(), None);
            }
            let kty = text("kty");
            let kty_parsed = kty.as_deref().and_then(Kty::parse);
            let alg = text("alg");
            match (kty_parsed, &alg) {
                (None, _) => self.config_finding("kty-invalid", Severity::Error, node, format!("{name} has kty {}, expected oct, RSA, EC or OKP", kty.as_deref().unwrap_or("(none)")), "fix `kty`".into(), None),
                (Some(Kty::Rsa), _) if text("kid").is_none() => self.config_finding("rsa-no-kid", Severity::Error, node, format!("{name} is an RSA key without a kid; the service's schema requires one"), "add `kid: '…'` and mint with that kid".into(), None),
                (Some(k), None) if k != Kty::Rsa => self.config_finding("key-no-alg", Severity::Error, node, format!("{name} ({} key) has no `alg`; the service's schema requires one", k.as_str()), format!("add `alg: {}`", match k { Kty::Oct => "HS256", Kty::Ec => "ES256", _ => "EdDSA" }), None),
                (Some(k), Some(a)) if family_of(a) != Some(k) => self.config_finding("alg-kty-mismatch", Severity::Error, node, format!("{name} has alg {a}, which a {} key cannot use: every token for it fails with PSYNC_S2101", k.as_str()), "fix `alg` or `kty`".into(), None),
                _ => {}
            }
            if kty_parsed == Some(Kty::Rsa)
                && let Some(n) = text("n").as_deref().and_then(decode_b64url)
            {
                let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
                if bits < 2048 {
                    self.config_finding("rsa-too-small", Severity::Error, node, format!("{name} is a {bits}-bit RSA key; jose refuses RSA keys under 2048 bits, so its tokens fail"), "generate a 2048-bit or larger key: `pskeys init --rotate --alg RS256`".into(), None);
                }
            }
            if kty_parsed == Some(Kty::Oct)
                && let Some(k) = text("k")
            {
                match decode_b64url(&k) {
                        None => self.config_finding("k-invalid", Severity::Error, node, format!("{name}: `k` is not base64url, so the key cannot be imported"), "set `k` to the base64url secret (`pskeys init --force` writes a fresh one)".into(), None),
                        Some(bytes) => {
                            let want = alg.as_deref().and_then(|a| a.parse::<Alg>().ok()).map_or(32, Alg::hmac_len);
                            if bytes.len() < want {
                                self.config_finding("k-short", Severity::Warning, node, format!("{name}: the secret is {} bytes, less than the {want} bytes of its hash", bytes.len()), "use a longer random secret: `pskeys init --rotate`".into(), None);
                            }
                        }
                    }
            }
        }
    }

    fn supabase(&mut self) {
        let Some(auth) = self.config.client_auth() else {
            return;
        };
        let supabase = auth
            .get("supabase")
            .is_some_and(|n| n.value == Value::Bool(true));
        if supabase {
            let custom: Vec<String> = auth
                .get("audience")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(|n| n.as_str())
                .filter(|a| *a != "authenticated")
                .map(str::to_string)
                .collect();
            if !custom.is_empty() {
                let node = auth.get("audience").unwrap_or(auth);
                self.config_finding("supabase-audience", Severity::Warning, node, format!("`supabase: true` with audience {}: Supabase tokens carry aud `authenticated`, which the service requires for Supabase keys regardless", custom.join(", ")), "add `authenticated` to the audience (`pskeys init --supabase` does); keep the others only for your other keys".into(), None);
            }
        }
        if let Some(n) = auth.get("block_local_jwks") {
            self.config_finding(
                "block-local-jwks",
                Severity::Warning,
                n,
                "`block_local_jwks` is deprecated".into(),
                "use `jwks_reject_ip_ranges: ['local']` instead".into(),
                None,
            );
        }
    }

    fn signing_key(&mut self) {
        let Some(kid) = self.env.get(KID_VAR).filter(|k| !k.is_empty()) else {
            return;
        };
        let line = self.env.line_of(KID_VAR);
        let Some(key) = self.config.key_by_kid(kid) else {
            let kids: Vec<String> = self
                .config
                .static_keys()
                .iter()
                .filter_map(|k| k.kid.clone())
                .collect();
            self.env_finding("env-kid-missing", Severity::Error, line, format!("{KID_VAR}={kid}, but `{}` has no key `{kid}` (it has: {}); `pskeys mint` cannot sign", self.config.path.display(), if kids.is_empty() { "none".into() } else { kids.join(", ") }), "`pskeys init --force` adds a fresh key to both files; or point --config at the config it belongs to".into(), None);
            return;
        };
        let alg = self.env.get(ALG_VAR).and_then(|a| a.parse::<Alg>().ok());
        let (Some(alg), Some(pem)) = (alg, self.env.get(PRIVATE_KEY_VAR)) else {
            return;
        };
        if alg.is_hmac() {
            return;
        }
        let Ok(private) = PrivateKey::from_pem(alg, pem) else {
            self.env_finding(
                "env-key-invalid",
                Severity::Error,
                self.env.line_of(PRIVATE_KEY_VAR),
                format!("{PRIVATE_KEY_VAR} is not a valid {alg} PKCS#8 key"),
                "`pskeys init --force` writes a fresh key pair".into(),
                None,
            );
            return;
        };
        let Ok(Some(public)) = private.public_jwk() else {
            return;
        };
        let resolved = key.node.resolve(self.lookup).unwrap_or(J::Null);
        if let Some((param, _)) = public
            .params
            .iter()
            .find(|(n, v)| resolved.get(*n).and_then(J::as_str) != Some(v.as_str()))
        {
            self.env_finding("env-key-mismatch", Severity::Error, self.env.line_of(PRIVATE_KEY_VAR), format!("the private key in .env does not match key `{kid}` in the config (their `{param}` differ): every minted token fails with PSYNC_S2101 signature verification failed"), "`pskeys init --force` replaces both with a fresh matching pair".into(), None);
        }
    }

    fn env_file(&mut self) {
        let path = &self.env.path;
        if !self.env.existed {
            return;
        }
        if let Some(mode) = fsutil::mode(path)
            && mode & 0o077 != 0
        {
            self.env_finding(
                "env-file-mode",
                Severity::Warning,
                None,
                format!("the file is readable by other users (mode {mode:o}) and holds secrets"),
                format!("chmod 600 {} (`pskeys doctor --fix` does)", path.display()),
                Some(Fix::EnvMode),
            );
        }
        match fsutil::git_status(path) {
            GitStatus::Tracked => self.env_finding("env-file-tracked", Severity::Error, None, "the file is tracked by git: its secrets are in the repository history".into(), format!("git rm --cached {}, add it to .gitignore, then rotate every key in it (`pskeys init --rotate`)", path.display()), None),
            GitStatus::NotIgnored => self.env_finding("env-file-not-ignored", Severity::Warning, None, "the file is not git-ignored: one `git add .` away from committing its secrets".into(), format!("add `{}` to .gitignore", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()), None),
            GitStatus::Ignored | GitStatus::NoRepo => {}
        }
    }
}

/// The edit turning the scalar `${NAME}` (plain or quoted) at `node` into `!env NAME`.
fn placeholder_edit(text: &str, node: &Node, value: &str, name: &str) -> Option<Fix> {
    let at = offset(text, node.line, node.column)?;
    let rest = &text[at..];
    for source in [
        format!("'{value}'"),
        format!("\"{value}\""),
        value.to_string(),
    ] {
        if rest.starts_with(&source) {
            return Some(Fix::ConfigEdit {
                start: at,
                end: at + source.len(),
                with: format!("!env {name}"),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        assert_eq!(dollar_placeholder("${PS_X}"), Some("PS_X"));
        assert_eq!(dollar_placeholder("x${PS_X}"), None);
        assert_eq!(dollar_placeholder("${}"), None);
    }

    #[test]
    fn offsets_count_characters() {
        assert_eq!(offset("a\nbé: c\n", 2, 5), Some(7));
    }
}
