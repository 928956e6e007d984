//! The service's rules for a config and the environment it starts with, each written
//! once: what makes it refuse the config, what makes every token fail, what leaks a
//! secret. `doctor` renders these findings; the key store is built only when no finding
//! refuses the client-auth part; `init` and `mint` ask the same functions.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as J};

use crate::config::node::{EnvProblem, Node, Value};
use crate::config::{Config, Format};
use crate::env::Env;
use crate::envfile::{ALG_VAR, EnvFile, KID_VAR, PRIVATE_KEY_VAR};
use crate::fsutil::{self, GitStatus};
use crate::jws::{Alg, Curve, Kty, MIN_RSA_BITS, VerifyingKey, decode_lenient, is_base64_text};
use crate::keys::PrivateKey;
use crate::service::net::{self, Host, UrlProblem};
use crate::service::schema;

/// What a finding does to the service and its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// The service refuses to load the config (it does not start).
    Refused,
    /// The config loads, but every token for some key (or every token) fails.
    TokensFail,
    /// The API starts, but the sync runner exits at start.
    SyncFails,
    /// The config loads, but a storage or replication connection setting does not work:
    /// its module stops the service when it starts, or connecting fails.
    ConnectionFails,
    /// A setting does not hold the value its author meant.
    Misread,
    /// A secret is where others can read it.
    Leak,
    /// pskeys' own state (.env) does not match the config: `mint` cannot sign.
    Local,
    /// Works today, but is a trap.
    Trap,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The service refuses the config, tokens fail, a secret leaks, or mint cannot sign.
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

macro_rules! finding_ids {
    ($($variant:ident = $id:literal, $impact:ident;)*) => {
        /// Every kind of finding, with its stable id (the README lists them all).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FindingId { $(#[doc = $id] $variant,)* }

        impl FindingId {
            /// Every id, in the README's order.
            pub const ALL: &'static [FindingId] = &[$(FindingId::$variant,)*];

            /// The stable id, e.g. `dollar-placeholder`.
            pub fn as_str(self) -> &'static str {
                match self { $(FindingId::$variant => $id,)* }
            }

            /// What it usually does (a placeholder's impact depends on where it is).
            pub fn impact(self) -> Impact {
                match self { $(FindingId::$variant => Impact::$impact,)* }
            }
        }
    };
}

finding_ids! {
    DollarPlaceholder = "dollar-placeholder", Misread;
    EnvPrefix = "env-prefix", Refused;
    EnvUndefined = "env-undefined", Refused;
    EnvNotNumber = "env-not-number", Refused;
    EnvNotBoolean = "env-not-boolean", Refused;
    EnvTypeInvalid = "env-type-invalid", Refused;
    StorageMissing = "storage-missing", Refused;
    SyncConfigBoth = "sync-config-both", Refused;
    SyncConfigMissing = "sync-config-missing", SyncFails;
    ReplicationConnections = "replication-connections", Refused;
    ApiParameterInvalid = "api-parameter-invalid", Refused;
    ClientAuthShape = "client-auth-shape", Refused;
    SchemaInvalid = "schema-invalid", Refused;
    KeyNotMapping = "key-not-mapping", Refused;
    KtyInvalid = "kty-invalid", Refused;
    RsaNoKid = "rsa-no-kid", Refused;
    KeyNoAlg = "key-no-alg", Refused;
    KeyMissingMember = "key-missing-member", Refused;
    AlgKtyMismatch = "alg-kty-mismatch", Refused;
    CrvInvalid = "crv-invalid", Refused;
    KidNotString = "kid-not-string", Refused;
    KeyImport = "key-import", Refused;
    AlgCurveMismatch = "alg-curve-mismatch", TokensFail;
    RsaTooSmall = "rsa-too-small", TokensFail;
    KInvalid = "k-invalid", TokensFail;
    KShort = "k-short", Trap;
    DuplicateKid = "duplicate-kid", Trap;
    PrivateFields = "private-fields", Leak;
    AudienceMissing = "audience-missing", TokensFail;
    AudienceEmpty = "audience-empty", TokensFail;
    NoKeys = "no-keys", TokensFail;
    AudienceNotList = "audience-not-list", Refused;
    SupabaseAudience = "supabase-audience", Trap;
    BlockLocalJwks = "block-local-jwks", Trap;
    JwksUriInvalid = "jwks-uri-invalid", Refused;
    JwksLocalBlocked = "jwks-local-blocked", Refused;
    JwksLocalName = "jwks-local-name", TokensFail;
    JwksLocalhostInContainer = "jwks-localhost-in-container", Trap;
    EnvKidMissing = "env-kid-missing", Local;
    EnvAlgInvalid = "env-alg-invalid", Local;
    EnvKeyInvalid = "env-key-invalid", Local;
    EnvKeyMismatch = "env-key-mismatch", Local;
    EnvNoSigningKey = "env-no-signing-key", Trap;
    EnvFileMode = "env-file-mode", Trap;
    EnvFileTracked = "env-file-tracked", Leak;
    EnvFileNotIgnored = "env-file-not-ignored", Trap;
    EnvDollar = "env-dollar", Trap;
    Syntax = "syntax", Refused;
}

/// A change `doctor --fix` can make safely.
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

/// One problem, where it is, and the fix.
#[derive(Debug, Clone)]
pub struct Finding {
    /// What kind.
    pub id: FindingId,
    /// What it does (usually `id.impact()`).
    pub impact: Impact,
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when it has one.
    pub line: Option<usize>,
    /// The setting, e.g. `client_auth.jwks.keys[0].kid` (empty for .env findings).
    pub setting: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
    /// The safe automatic fix, if any.
    pub autofix: Option<Fix>,
}

impl Finding {
    /// Error or warning.
    pub fn severity(&self) -> Severity {
        match self.impact {
            Impact::Trap => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Whether the service refuses to start with this config.
    pub fn refuses_config(&self) -> bool {
        self.impact == Impact::Refused
    }

    /// Whether it concerns `client_auth` (and so the key store `verify` and `mint` use).
    pub fn in_client_auth(&self) -> bool {
        self.setting == "client_auth" || self.setting.starts_with("client_auth.")
    }
}

/// Private JWK members: in a shared config they are a leak.
pub const PRIVATE_FIELDS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

struct Checker<'a> {
    config: &'a Config,
    env: &'a Env,
    out: Vec<Finding>,
}

impl Checker<'_> {
    fn push(&mut self, id: FindingId, node: &Node, setting: &str, message: String, fix: String) {
        self.push_with(id, id.impact(), node, setting, message, fix, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_with(
        &mut self,
        id: FindingId,
        impact: Impact,
        node: &Node,
        setting: &str,
        message: String,
        fix: String,
        autofix: Option<Fix>,
    ) {
        self.out.push(Finding {
            id,
            impact,
            file: self.config.path.clone(),
            line: Some(node.line),
            setting: setting.to_string(),
            message,
            fix,
            autofix,
        });
    }
}

/// The config's `jwks_uri` values, resolved.
pub fn jwks_uris(config: &Config, env: &Env) -> Vec<String> {
    let Some(node) = config.client_auth().and_then(|a| a.get("jwks_uri")) else {
        return Vec::new();
    };
    match node.resolve(&env.lookup()) {
        Ok(J::String(u)) => vec![u],
        Ok(J::Array(items)) => items
            .into_iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether the service refuses `jwks_uri`s on local addresses: `local` in
/// `jwks_reject_ip_ranges`, or `block_local_jwks: true`.
pub fn rejects_local_jwks(config: &Config, env: &Env) -> bool {
    let Some(auth) = config.client_auth() else {
        return false;
    };
    let lookup = env.lookup();
    let block = auth
        .get("block_local_jwks")
        .and_then(|n| n.resolve(&lookup).ok())
        == Some(J::Bool(true));
    let ranges = auth
        .get("jwks_reject_ip_ranges")
        .and_then(|n| n.resolve(&lookup).ok());
    block
        || ranges
            .as_ref()
            .and_then(J::as_array)
            .is_some_and(|a| a.iter().any(|r| r == "local"))
}

/// When the service runs in a container (`compose` names the file that says so): each
/// `jwks_uri` on `localhost`/`127.0.0.1`, which there is the container itself, so the
/// fetch fails (PSYNC_S2204) and no token of its keys verifies.
pub fn container_findings(config: &Config, env: &Env, compose: &Path) -> Vec<Finding> {
    let Some(node) = config.client_auth().and_then(|a| a.get("jwks_uri")) else {
        return Vec::new();
    };
    jwks_uris(config, env)
        .iter()
        .filter(|u| net::http_host(u).is_ok_and(|h| net::is_loopback_host(&h)))
        .map(|uri| {
            let there = uri
                .replacen("localhost", "host.docker.internal", 1)
                .replacen("127.0.0.1", "host.docker.internal", 1)
                .replacen("[::1]", "host.docker.internal", 1);
            Finding {
                id: FindingId::JwksLocalhostInContainer,
                impact: FindingId::JwksLocalhostInContainer.impact(),
                file: config.path.clone(),
                line: Some(node.line),
                setting: "client_auth.jwks_uri".into(),
                message: format!(
                    "`jwks_uri` {uri} is this machine's loopback, but the service seems to run in a container (`{}` mentions PowerSync), where it is the container itself: the fetch fails (PSYNC_S2204), and tokens signed by keys only it publishes fail",
                    compose.display()
                ),
                fix: format!(
                    "use {there} (on Linux run the service with `extra_hosts: [\"host.docker.internal:host-gateway\"]` and `pskeys serve --host 0.0.0.0`)"
                ),
                autofix: None,
            }
        })
        .collect()
}

/// Every rule over the config and the environment it would start with.
pub fn config_findings(config: &Config, env: &Env) -> Vec<Finding> {
    let mut c = Checker {
        config,
        env,
        out: Vec::new(),
    };
    if !matches!(config.root.value, Value::Map(_) | Value::Null) {
        let message = format!(
            "the document is {}, expected a mapping of service settings",
            config.root.type_name()
        );
        c.push(
            FindingId::ClientAuthShape,
            &config.root,
            "client_auth",
            message,
            "a PowerSync config starts with keys such as `replication:` and `client_auth:`".into(),
        );
        return c.out;
    }
    c.placeholders_and_env();
    c.storage_and_sync();
    c.collect_config();
    if c.client_auth_shape() {
        c.keys();
        c.audience();
        c.providers();
        c.no_keys();
    }
    c.schema();
    c.out.sort_by_key(|f| (f.severity(), f.line));
    redact_env_values(config, env, &mut c.out);
    c.out
}

/// Findings describe settings by their resolved values; a value that came from the
/// environment may be a secret, so it is shown as `<value of NAME>` instead.
/// So are secrets written into the config itself (a `supabase_jwt_secret`, an admin token,
/// a key's `k`), and the password of any URL (`postgresql://user:***@host`).
fn redact_env_values(config: &Config, env: &Env, findings: &mut [Finding]) {
    let mut values: Vec<(String, String)> = Vec::new();
    config
        .root
        .visit(&mut String::new(), &mut |path, node| match &node.value {
            Value::Env { name, .. } => {
                if let Some(v) = env.get(name).filter(|v| v.trim().len() >= 3) {
                    values.push((v.to_string(), format!("<value of {name}>")));
                }
            }
            Value::Str(s) if secret_setting(path) && s.trim().len() >= 3 => {
                values.push((s.clone(), format!("<the {path} value>")));
            }
            _ => {}
        });
    // Longest first, so a value is replaced before a shorter one inside it; each value
    // once (10,000 keys sharing one `k` are one pattern), all in one pass per text.
    values.sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    values.dedup_by(|(a, _), (b, _)| a == b);
    let matcher = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(values.iter().map(|(v, _)| v.as_str()))
        .ok();
    let shown: Vec<&str> = values.iter().map(|(_, s)| s.as_str()).collect();
    for f in findings.iter_mut() {
        if let Some(m) = &matcher {
            f.message = m.replace_all(&f.message, &shown);
            f.fix = m.replace_all(&f.fix, &shown);
        }
        f.message = mask_url_passwords(&f.message);
        f.fix = mask_url_passwords(&f.fix);
    }
}

/// Settings whose value is a secret.
fn secret_setting(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    ["k", "d", "p", "q", "dp", "dq", "qi"].contains(&last)
        || last.contains("secret")
        || last.contains("password")
        || last.contains("token")
        || path.starts_with("api.tokens")
}

/// Text with the password of every `scheme://user:password@host`, and the value of every
/// `password=`/`token=`/`secret=`-like parameter (a URL's query, a keyword connection
/// string), as `***`.
pub fn mask_url_passwords(text: &str) -> String {
    mask_secret_parameters(&mask_userinfo(text))
}

fn mask_secret_parameters(text: &str) -> String {
    const NAMES: [&str; 6] = ["password=", "passwd=", "pwd=", "secret=", "token=", "key="];
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        // `api_key=`, `access_token=` match too (by their ends): masking a harmless value
        // now and then is the safe side.
        let hit = NAMES.iter().find(|n| lower[i..].starts_with(*n));
        match hit {
            Some(name) => {
                let start = i + name.len();
                let end = text[start..]
                    .find(|c: char| c.is_whitespace() || "&;#'\"`<>)]".contains(c))
                    .map_or(text.len(), |e| start + e);
                out.push_str(&text[i..start]);
                // `PS_ADMIN_TOKEN=…` in a fix is a placeholder, not a value.
                match &text[start..end] {
                    "" => {}
                    "…" => out.push('…'),
                    _ => out.push_str("***"),
                }
                i = end;
            }
            None => {
                let c = text[i..].chars().next().unwrap_or_default();
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

fn mask_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || "/?#`'\"<>)".contains(c))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority
            .rfind('@')
            .and_then(|a| Some((a, authority[..a].find(':')?)))
        {
            Some((a, colon)) => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[a..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
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
                Value::Str(s) => self.placeholder(&path, node, s),
                Value::Env { name, .. } => self.env_tag(&path, node, name),
                _ => {}
            }
        }
    }

    fn placeholder(&mut self, path: &str, node: &Node, s: &str) {
        let Some(name) = placeholder_in(s) else {
            return;
        };
        let whole = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) == Some(name);
        // Only when the variable is defined: `!env` of an undefined one stops the service.
        let defined = self.env.get(name).is_some();
        let autofix =
            (whole && defined && self.config.format == Format::Yaml && name.starts_with("PS_"))
                .then(|| placeholder_edit(self.config.text(), node, s, name))
                .flatten();
        let json = self.config.format == Format::Json;
        let fix = match (whole, name.starts_with("PS_")) {
            _ if json => "JSON configs cannot read the environment (`!env` is a YAML tag): write the value itself, or use a YAML config with `!env PS_…`".to_string(),
            (true, true) if !defined => format!(
                "define `{name}` in .env, then write `{path}: !env {name}` (`pskeys doctor --fix` does once it is defined)"
            ),
            (true, true)
                if offset(self.config.text(), node.line, node.column)
                    .is_some_and(|at| in_block_scalar(self.config.text(), at)) =>
            {
                format!(
                    "write `{path}: !env {name}` in place of the block scalar (`|`/`>`), by hand"
                )
            }
            (true, true) => format!("write `{path}: !env {name}` (`pskeys doctor --fix` does)"),
            (true, false) => {
                format!("rename the variable to `PS_{name}` and write `{path}: !env PS_{name}`")
            }
            (false, _) => "put the whole value in a `PS_…` variable and write `!env PS_…`".into(),
        };
        let impact = placeholder_impact(path, s);
        let effect = match impact {
            Impact::Refused => "; the service refuses to start with it",
            Impact::TokensFail if path.ends_with("jwks_uri") || path.contains("jwks_uri[") => {
                "; the keys behind it are never fetched, so their tokens fail"
            }
            Impact::TokensFail => "; tokens for this key fail",
            Impact::ConnectionFails => {
                "; the config loads, but the service stops when the module reads it (PSYNC_S1109 for a value without its scheme) or cannot connect"
            }
            _ => "",
        };
        let message = format!(
            "`{path}` is the literal text `{s}`: the service never substitutes `${{…}}`{effect}"
        );
        let id = FindingId::DollarPlaceholder;
        self.push_with(id, impact, node, path, message, fix, autofix);
    }

    /// The fix for a key's undefined variable: `pskeys init` where it fills it (a fresh
    /// clone, or the key this machine signs with); else the key is another's (a rotated
    /// or production key): define it, or retire the key.
    fn key_var_fix(&self, path: &str, name: &str) -> String {
        let what = if path.ends_with(".k") {
            "secret"
        } else {
            "key pair's public value"
        };
        let kid = self.config.key_at(path).and_then(|k| k.kid);
        let signing = self.env.get(crate::envfile::KID_VAR);
        match (signing, &kid) {
            (Some(s), Some(k)) if s != k => format!(
                "this machine signs with `{s}`, so `pskeys init` leaves key `{k}` alone: define `{name}` as where that key was made has it, or, if it is lost, `pskeys keys retire {k}` (tokens signed with it then fail)"
            ),
            _ => format!(
                "on a fresh checkout, run `pskeys init`: it writes this machine's {what} for `{name}` and leaves the config as it is"
            ),
        }
    }

    fn env_tag(&mut self, path: &str, node: &Node, name: &str) {
        let problem = match node.resolve(&self.env.lookup()) {
            Ok(_) => return,
            Err(e) => e.problem,
        };
        let (id, message, fix) = match problem {
            EnvProblem::NoPrefix => (
                FindingId::EnvPrefix,
                format!(
                    "`{path}: !env {name}`: the service only reads variables whose names start with `PS_` and refuses this config"
                ),
                format!("rename it to `PS_{name}` here and in .env"),
            ),
            EnvProblem::Undefined if path.starts_with("client_auth.jwks.keys[") => (
                FindingId::EnvUndefined,
                format!(
                    "`{path}: !env {name}` is defined neither in .env nor in the environment; the service will not start"
                ),
                self.key_var_fix(path, name),
            ),
            EnvProblem::Undefined => (
                FindingId::EnvUndefined,
                format!(
                    "`{path}: !env {name}` is defined neither in .env nor in the environment; the service will not start"
                ),
                format!("add `{name}=…` to .env (or export it)"),
            ),
            EnvProblem::NotNumber(_) => (
                FindingId::EnvNotNumber,
                format!(
                    "`{path}: !env {name}::number`: the variable is not a number; the service refuses this config"
                ),
                format!("set `{name}` to a number"),
            ),
            EnvProblem::NotBoolean(_) => (
                FindingId::EnvNotBoolean,
                format!(
                    "`{path}: !env {name}::boolean`: the variable is neither `true` nor `false`; the service refuses this config"
                ),
                format!("set `{name}` to `true` or `false`"),
            ),
            EnvProblem::UnknownType(t) => (
                FindingId::EnvTypeInvalid,
                format!(
                    "`{path}: !env {name}::{t}`: the service knows only `::string`, `::number` and `::boolean` and refuses this config"
                ),
                "use one of those suffixes, or none".to_string(),
            ),
        };
        self.push(id, node, path, message, fix);
    }

    fn storage_and_sync(&mut self) {
        let root = &self.config.root;
        if root.get("storage").is_none_or(|n| n.value == Value::Null) {
            self.push(
                FindingId::StorageMissing,
                root,
                "storage",
                "there is no `storage:` section; the service's schema requires one and it refuses to start".into(),
                "add `storage:` with `type: mongodb` or `type: postgresql` and its `uri`".into(),
            );
        }
        let (config, rules) = (root.get("sync_config"), root.get("sync_rules"));
        if let (Some(_), Some(n)) = (config, rules) {
            self.push(
                FindingId::SyncConfigBoth,
                n,
                "sync_rules",
                "both `sync_config` and `sync_rules` are set; the service refuses to start".into(),
                "keep only `sync_config` (`sync_rules` is its deprecated name)".into(),
            );
        }
        let Some((key, section)) = config
            .map(|n| ("sync_config", n))
            .or(rules.map(|n| ("sync_rules", n)))
        else {
            return;
        };
        let Some(node) = section.get("path") else {
            return;
        };
        let Ok(J::String(rel)) = node.resolve(&self.env.lookup()) else {
            return;
        };
        let dir = self.config.path.parent().unwrap_or(Path::new(""));
        if !dir.join(&rel).exists() {
            let message = format!(
                "`{key}.path` names `{rel}`, which does not exist next to the config: the sync runner exits at start"
            );
            let fix = format!("create `{rel}` with your sync streams or rules, or fix the path");
            self.push(
                FindingId::SyncConfigMissing,
                node,
                &format!("{key}.path"),
                message,
                fix,
            );
        }
    }

    /// CompoundConfigCollector.collectConfig's own checks after the schema: one
    /// replication connection at most ("Only a single replication data source is
    /// supported currently"); `api.parameters.bucket_count_cache_ttl_minutes` and
    /// `checkpoint_request_retention_minutes` positive integers (non-numbers are the
    /// schema's). The service refuses to start on either.
    fn collect_config(&mut self) {
        let root = &self.config.root;
        let lookup = self.env.lookup();
        if let Some(node) = root.get("replication").and_then(|r| r.get("connections"))
            && let Some(items) = node.as_seq()
            && items.len() > 1
        {
            let message = format!(
                "`replication.connections` has {} entries; the service supports a single replication data source and does not start",
                items.len()
            );
            let fix = "keep one connection (run one service per source database)".to_string();
            self.push(
                FindingId::ReplicationConnections,
                &items[1],
                "replication.connections",
                message,
                fix,
            );
        }
        let params = root.get("api").and_then(|a| a.get("parameters"));
        for name in [
            "bucket_count_cache_ttl_minutes",
            "checkpoint_request_retention_minutes",
        ] {
            let Some(node) = params.and_then(|p| p.get(name)) else {
                continue;
            };
            let Ok(J::Number(n)) = node.resolve(&lookup) else {
                continue;
            };
            let value = n.as_f64().unwrap_or_default();
            if value.fract() != 0.0 || value < 1.0 {
                let setting = format!("api.parameters.{name}");
                let message = format!(
                    "`{setting}` is {n}; the service wants a positive integer and does not start"
                );
                self.push(
                    FindingId::ApiParameterInvalid,
                    node,
                    &setting,
                    message,
                    "set a whole number of minutes, 1 or more (default 60)".into(),
                );
            }
        }
    }

    /// Checks the types of `client_auth`'s own settings; false when it is not a mapping.
    fn client_auth_shape(&mut self) -> bool {
        let Some(auth) = self.config.client_auth() else {
            return true;
        };
        if auth.as_map().is_none() {
            let message = format!("`client_auth` is {}, expected a mapping", auth.type_name());
            self.push(
                FindingId::ClientAuthShape,
                auth,
                "client_auth",
                message,
                "fix `client_auth`".into(),
            );
            return false;
        }
        let resolved = auth.resolve(&self.env.lookup()).unwrap_or(J::Null);
        let expect: [TypeCheck; 5] = [
            ("jwks_uri", "a string or a list of strings", |v| {
                v.is_string() || strings(v)
            }),
            ("block_local_jwks", "true or false", J::is_boolean),
            ("jwks_reject_ip_ranges", "a list of strings", strings),
            ("supabase", "true or false", J::is_boolean),
            ("supabase_jwt_secret", "a string", J::is_string),
        ];
        for (name, want, ok) in expect {
            if let (Some(node), Some(v)) = (auth.get(name), resolved.get(name))
                && !v.is_null()
                && !ok(v)
            {
                let setting = format!("client_auth.{name}");
                let message = format!(
                    "`{setting}` is {}, expected {want}; the service refuses the config",
                    node.type_name()
                );
                self.push(
                    FindingId::ClientAuthShape,
                    node,
                    &setting,
                    message,
                    format!("make it {want}"),
                );
            }
        }
        let Some(jwks) = auth.get("jwks").filter(|n| n.value != Value::Null) else {
            return true;
        };
        let keys = jwks.get("keys");
        let (node, setting, want) = match keys {
            _ if jwks.as_map().is_none() => {
                (jwks, "client_auth.jwks", "a mapping with a `keys` list")
            }
            Some(k) if k.as_seq().is_none() => (k, "client_auth.jwks.keys", "a list of JWKs"),
            Some(_) => return true,
            None => (jwks, "client_auth.jwks", "a mapping with a `keys` list"),
        };
        let message = format!(
            "`{setting}` is {}, expected {want}; the service refuses the config",
            node.type_name()
        );
        self.push(
            FindingId::ClientAuthShape,
            node,
            setting,
            message,
            "write `jwks:` with `keys:` and a list of JWKs under it".into(),
        );
        true
    }
}

impl Checker<'_> {
    /// The service's JSON schema (after its decoding of ports): what no finding above
    /// already refuses at that setting. `!env` problems are reported on their own.
    fn schema(&mut self) {
        let Ok(resolved) = self.config.root.resolve(&self.env.lookup()) else {
            return;
        };
        for e in schema::validate(&resolved) {
            let known = self
                .out
                .iter()
                .any(|f| f.refuses_config() && overlaps(&f.setting, &e.path));
            if known {
                continue;
            }
            let node = node_at(&self.config.root, &e.path);
            let message = format!(
                "`{}` {}: the service's schema refuses the config",
                e.path, e.problem
            );
            let fix = if e.problem.starts_with("is null") {
                "in YAML an empty `key:` is null: give it a value or remove the line".to_string()
            } else {
                format!("change `{}` to what the schema expects", e.path)
            };
            self.push(FindingId::SchemaInvalid, node, &e.path, message, fix);
        }
    }
}

/// Whether one setting is the other or holds it (`a.b` and `a.b[0].c`).
fn overlaps(a: &str, b: &str) -> bool {
    let under = |x: &str, parent: &str| {
        x.strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with(['.', '[']))
    };
    a == b || under(a, b) || under(b, a)
}

/// The node at a setting path (`client_auth.jwks.keys[0].kid`), or its nearest ancestor.
fn node_at<'a>(root: &'a Node, path: &str) -> &'a Node {
    let mut node = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part.split_once('[').unwrap_or((part, ""));
        let Some(next) = node.get(key) else {
            return node;
        };
        node = next;
        for index in indexes.split('[').map(|i| i.trim_end_matches(']')) {
            match (index.parse::<usize>(), node.as_seq()) {
                (Ok(i), Some(items)) if i < items.len() => node = &items[i],
                _ => break,
            }
        }
    }
    node
}

/// A `client_auth` setting, the type the schema wants, and the test for it.
type TypeCheck = (&'static str, &'static str, fn(&J) -> bool);

fn strings(v: &J) -> bool {
    v.as_array().is_some_and(|a| a.iter().all(J::is_string))
}

/// The `${NAME}` inside a string, if any.
fn placeholder_in(s: &str) -> Option<&str> {
    let start = s.find("${")?;
    let rest = &s[start + 2..];
    let name = &rest[..rest.find('}')?];
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// What `${…}` text does where it is (service v1.25 and its code). `port` and
/// `telemetry.prometheus_port` are read with `parseInt`: a NaN fails the schema, `80${X}`
/// is port 80. A `jwks_uri` that is still a URL is fetched as written, so its keys'
/// tokens fail (one that is not a URL is `jwks-uri-invalid`). The loader keeps the storage
/// or a replication connection `uri` as text; the module refuses it when it starts
/// (PSYNC_S1109 without a scheme) or connecting fails. In a key, its tokens fail.
fn placeholder_impact(path: &str, value: &str) -> Impact {
    let field = path.rsplit('.').next().unwrap_or(path);
    let field = field.split('[').next().unwrap_or(field);
    let connection = path == "storage.uri"
        || (path.starts_with("replication.connections[") && path.ends_with("].uri"));
    if path == "port" || path == "telemetry.prometheus_port" {
        match schema::js_parse_int(value) {
            Some(_) => Impact::Misread,
            None => Impact::Refused,
        }
    } else if connection {
        Impact::ConnectionFails
    } else if field == "jwks_uri" || path.starts_with("client_auth.jwks.") {
        Impact::TokensFail
    } else {
        Impact::Misread
    }
}

/// The edit turning the scalar `${NAME}` (plain or quoted) at `node` into `!env NAME`.
fn placeholder_edit(text: &str, node: &Node, value: &str, name: &str) -> Option<Fix> {
    let at = offset(text, node.line, node.column)?;
    if in_block_scalar(text, at) {
        // `>-` / `|` content: `!env` there would be literal text, not a tag.
        return None;
    }
    let rest = &text[at..];
    [
        format!("'{value}'"),
        format!("\"{value}\""),
        value.to_string(),
    ]
    .into_iter()
    .find(|source| rest.starts_with(source.as_str()))
    .map(|source| Fix::ConfigEdit {
        start: at,
        end: at + source.len(),
        with: format!("!env {name}"),
    })
}

/// The bytes of `!env NAME` for this node, on its line.
fn env_tag_span(text: &str, node: &Node, name: &str) -> Option<(usize, usize)> {
    let line_start = offset(text, node.line, 1)?;
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let tag = format!("!env {name}");
    let at = line_start + text[line_start..line_end].find(&tag)?;
    let end = at + tag.len();
    // Not a longer name that starts with this one.
    let next = text[end..].chars().next();
    next.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .then_some((at, end))
}

/// Whether the value at `at` is the content of a block scalar (`key: >-` or `key: |`
/// on the line above).
fn in_block_scalar(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..at].trim().is_empty() {
        return false;
    }
    let header = text[..line_start]
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let header = header.split(" #").next().unwrap_or(header);
    let indicator = header.split_whitespace().last().unwrap_or_default();
    indicator.starts_with(['|', '>'])
        && indicator[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
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

/// What the schema requires of each key type, and the algorithms and curves it allows.
fn schema(kty: Kty) -> (&'static [&'static str], &'static [Alg], &'static [Curve]) {
    match kty {
        Kty::Rsa => (
            &["kid", "n", "e"],
            &[Alg::RS256, Alg::RS384, Alg::RS512],
            &[],
        ),
        Kty::Oct => (&["k", "alg"], &[Alg::HS256, Alg::HS384, Alg::HS512], &[]),
        Kty::Ec => (
            &["crv", "x", "y", "alg"],
            &[Alg::ES256, Alg::ES384, Alg::ES512],
            &[Curve::P256, Curve::P384, Curve::P521],
        ),
        Kty::Okp => (
            &["crv", "x", "alg"],
            &[Alg::EdDSA],
            &[Curve::Ed25519, Curve::Ed448],
        ),
    }
}

/// What the service hands jose for a static key: `configFile.powerSyncConfig.decode`
/// (ts-codec) keeps only the members of the JWK form the key matches (kty, kid, alg,
/// use and its own: k; n, e; crv, x, y; crv, x), so private members (`d`, …) and RSA
/// `oth` never reach `importJWK`.
pub fn decoded_jwk(jwk: &Map<String, J>) -> Map<String, J> {
    let Some(kty) = jwk.get("kty").and_then(J::as_str).and_then(Kty::parse) else {
        return jwk.clone();
    };
    let (own, _, _) = schema(kty);
    let mut out = jwk.clone();
    out.retain(|name, _| {
        ["kty", "kid", "alg", "use", "crv"].contains(&name.as_str()) || own.contains(&name.as_str())
    });
    if kty == Kty::Rsa || kty == Kty::Oct {
        out.remove("crv");
    }
    out
}

/// A key's name in messages: `key `kid`` or `key #2`.
pub fn key_name(index: usize, jwk: &Map<String, J>) -> String {
    match jwk.get("kid").and_then(J::as_str) {
        Some(k) => format!("key `{k}`"),
        None => format!("key #{}", index + 1),
    }
}

impl Checker<'_> {
    fn keys(&mut self) {
        let keys = self.config.static_keys();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for key in keys {
            let setting = format!("client_auth.jwks.keys[{}]", key.index);
            if key.node.as_map().is_none() {
                let message = format!("`{setting}` is {}, not a JWK", key.node.type_name());
                self.push(
                    FindingId::KeyNotMapping,
                    key.node,
                    &setting,
                    message,
                    "each key is a mapping with kty, kid, alg, …".into(),
                );
                continue;
            }
            let Ok(J::Object(jwk)) = key.node.resolve(&self.env.lookup()) else {
                continue; // an `!env` problem, reported on its own
            };
            if let Some(kid) = jwk.get("kid").and_then(J::as_str) {
                if let Some((_, first)) = seen.iter().find(|(k, _)| k == kid) {
                    let message = format!(
                        "kid `{kid}` is used twice: the service uses the first key (line {first}) for tokens with that kid, and never this one"
                    );
                    self.push(
                        FindingId::DuplicateKid,
                        key.node,
                        &setting,
                        message,
                        "give each key its own kid, or remove the stale one (`pskeys keys retire`)"
                            .into(),
                    );
                }
                seen.push((kid.to_string(), key.node.line));
            }
            self.key(key.index, key.node, &setting, &jwk);
        }
    }

    fn key(&mut self, index: usize, node: &Node, setting: &str, jwk: &Map<String, J>) {
        let name = key_name(index, jwk);
        if let Some(f) = PRIVATE_FIELDS.iter().find(|f| jwk.contains_key(**f)) {
            let message = format!(
                "{name} holds the private field `{f}`: the private key is in a shared config (the service still verifies with it)"
            );
            self.push(FindingId::PrivateFields, node, setting, message, "remove d, p, q, dp, dq, qi from the config (keep only the public part), then rotate the key: `pskeys init --rotate`".into());
        }
        if let Some(problem) = schema_problem(&name, jwk) {
            let (id, message, fix) = problem;
            let at = node
                .get("kid")
                .filter(|_| id == FindingId::KidNotString)
                .unwrap_or(node);
            self.push(id, at, setting, message, fix);
            return;
        }
        match VerifyingKey::from_jwk(&decoded_jwk(jwk)) {
            Ok(key) => self.usable(&name, node, setting, jwk, &key),
            Err(why) => {
                let message =
                    format!("{name} cannot be imported: {why}; the service refuses the config");
                self.push(
                    FindingId::KeyImport,
                    node,
                    setting,
                    message,
                    "fix the key, or remove it".into(),
                );
            }
        }
    }

    /// Keys that load but whose tokens fail (or are weak).
    fn usable(
        &mut self,
        name: &str,
        node: &Node,
        setting: &str,
        jwk: &Map<String, J>,
        key: &VerifyingKey,
    ) {
        let text = |n: &str| jwk.get(n).and_then(J::as_str);
        let alg = text("alg").and_then(Alg::parse);
        let curve = text("crv").and_then(Curve::parse);
        if let (Some(alg), Some(curve)) = (alg, curve)
            && curve.kty() == Kty::Ec
            && curve.alg() != alg
        {
            let message = format!(
                "{name} is a {curve} key with alg {alg}: the config loads, but every token for it fails with PSYNC_S2101"
            );
            self.push(
                FindingId::AlgCurveMismatch,
                node,
                setting,
                message,
                format!("set `alg: {}` (the algorithm of {curve})", curve.alg()),
            );
        }
        if let Some(bits) = key.rsa_bits().filter(|b| *b < MIN_RSA_BITS) {
            let message = format!(
                "{name} is a {bits}-bit RSA key; jose refuses RSA keys under 2048 bits, so its tokens fail"
            );
            self.push(
                FindingId::RsaTooSmall,
                node,
                setting,
                message,
                "generate a 2048-bit or larger key: `pskeys init --rotate --alg RS256`".into(),
            );
        }
        if let Some(k) = text("k") {
            if !is_base64_text(k) {
                let message = format!(
                    "{name}: `k` is not base64 text; the service decodes it leniently and tokens signed with the intended secret fail"
                );
                self.push(
                    FindingId::KInvalid,
                    node,
                    setting,
                    message,
                    "set `k` to the base64url secret (`pskeys init --force` writes a fresh one)"
                        .into(),
                );
            } else {
                let want = alg.map_or(32, Alg::hmac_len);
                let len = decode_lenient(k).len();
                if len < want {
                    let message = format!(
                        "{name}: the secret is {len} bytes, less than the {want} bytes of its hash"
                    );
                    self.push(
                        FindingId::KShort,
                        node,
                        setting,
                        message,
                        "use a longer random secret: `pskeys init --rotate`".into(),
                    );
                }
            }
        }
    }
}

type Problem = (FindingId, String, String);

/// The schema's checks of one JWK (the service refuses the config on any).
fn schema_problem(name: &str, jwk: &Map<String, J>) -> Option<Problem> {
    if let Some(kid) = jwk.get("kid").filter(|k| !k.is_string()) {
        let what = if kid.is_number() {
            "a number"
        } else {
            "not a string"
        };
        return Some((
            FindingId::KidNotString,
            format!(
                "{name}: the kid {kid} is {what} (YAML reads unquoted digits and true/false as such); the service refuses a non-string kid"
            ),
            "quote it: kid: '…'".into(),
        ));
    }
    let Some(kty) = jwk.get("kty").and_then(J::as_str).and_then(Kty::parse) else {
        let shown = jwk.get("kty").map_or("(none)".to_string(), J::to_string);
        return Some((
            FindingId::KtyInvalid,
            format!(
                "{name} has kty {shown}, expected oct, RSA, EC or OKP; the service refuses the config"
            ),
            "fix `kty`".into(),
        ));
    };
    let (required, algs, curves) = schema(kty);
    for member in required {
        if jwk.get(*member).and_then(J::as_str).is_some() {
            continue;
        }
        return Some(match *member {
            "kid" => (
                FindingId::RsaNoKid,
                format!("{name} is an RSA key without a kid; the service's schema requires one"),
                "add `kid: '…'` and mint with that kid".into(),
            ),
            "alg" => (
                FindingId::KeyNoAlg,
                format!("{name} ({kty} key) has no `alg`; the service's schema requires one"),
                format!("add `alg: {}`", algs[0]),
            ),
            m => (
                FindingId::KeyMissingMember,
                format!("{name} ({kty} key) has no `{m}` string; the service refuses the config"),
                format!("add `{m}`, or remove the key"),
            ),
        });
    }
    if let Some(a) = jwk.get("alg").and_then(J::as_str)
        && !Alg::parse(a).is_some_and(|a| algs.contains(&a))
    {
        let allowed: Vec<&str> = algs.iter().map(|a| a.as_str()).collect();
        return Some((
            FindingId::AlgKtyMismatch,
            format!(
                "{name} has alg {a}, which a {kty} key cannot use; the service refuses the config"
            ),
            format!("use one of {}", allowed.join(", ")),
        ));
    }
    if let Some(c) = jwk
        .get("crv")
        .and_then(J::as_str)
        .filter(|_| !curves.is_empty())
        && !Curve::parse(c).is_some_and(|c| curves.contains(&c))
    {
        let allowed: Vec<&str> = curves.iter().map(|c| c.as_str()).collect();
        return Some((
            FindingId::CrvInvalid,
            format!("{name} has crv {c}, not a curve the service allows for {kty} keys"),
            format!("use one of {}", allowed.join(", ")),
        ));
    }
    None
}

impl Checker<'_> {
    fn audience(&mut self) {
        let root = &self.config.root;
        let Some(auth) = self.config.client_auth() else {
            let message = "there is no `client_auth` section: no audience is configured, so every token fails (PSYNC_S2105)".to_string();
            self.push(
                FindingId::AudienceMissing,
                root,
                "client_auth",
                message,
                "run `pskeys init` (adds a key and the audiences powersync-dev, powersync)".into(),
            );
            return;
        };
        let setting = "client_auth.audience";
        let Some(node) = auth.get("audience").filter(|n| n.value != Value::Null) else {
            self.push(
                FindingId::AudienceMissing,
                auth,
                setting,
                "`client_auth.audience` is missing: every token fails with PSYNC_S2105".into(),
                "add `audience: ['powersync-dev', 'powersync']` (`pskeys init` does)".into(),
            );
            return;
        };
        let resolved = node.resolve(&self.env.lookup());
        match (&node.value, &resolved) {
            (Value::Seq(items), _) if items.is_empty() => self.push(
                FindingId::AudienceEmpty,
                node,
                setting,
                "`client_auth.audience` is empty: every token fails with PSYNC_S2105".into(),
                "add the audiences your tokens carry (`pskeys init --audience <aud>`)".into(),
            ),
            (Value::Seq(_), Ok(J::Array(values))) => {
                if let Some(bad) = values.iter().find(|v| !v.is_string()) {
                    let message = format!(
                        "`client_auth.audience` holds {bad}, which is not a string; the service refuses to load this config"
                    );
                    self.push(
                        FindingId::AudienceNotList,
                        node,
                        setting,
                        message,
                        "quote it: `'…'`".into(),
                    );
                }
            }
            (Value::Seq(_), Err(_)) => {} // an `!env` problem, reported on its own
            (Value::Str(_), _) => self.audience_not_list(
                node,
                "is a string; the service wants a list",
                "make it a list: `audience: ['…']` (`pskeys doctor --fix` does)".into(),
                Some(Fix::AudienceToList),
            ),
            (Value::Env { name, .. }, _) if self.config.format == Format::Yaml => {
                self.env_audience(node, name);
            }
            _ => self.audience_not_list(
                node,
                &format!(
                    "is {}; the service wants a list of strings",
                    node.type_name()
                ),
                "make it a list: `audience: ['…']` (an `!env` item per entry is fine)".into(),
                None,
            ),
        }
    }

    /// `audience: !env PS_AUD`: refused; `doctor --fix` makes it `[!env PS_AUD]`, one entry
    /// read the same way.
    fn env_audience(&mut self, node: &Node, name: &str) {
        let autofix =
            env_tag_span(self.config.text(), node, name).map(|(start, end)| Fix::ConfigEdit {
                start,
                end,
                with: format!("[!env {name}]"),
            });
        let by = if autofix.is_some() {
            " (`pskeys doctor --fix` does)"
        } else {
            ""
        };
        let fix = format!("make it a list: `audience: [!env {name}]`{by}");
        let what = "is an `!env` value; the service wants a list of strings";
        self.audience_not_list(node, what, fix, autofix);
    }

    /// A scalar audience the service refuses, with the fix (and the edit) that lists it.
    fn audience_not_list(&mut self, node: &Node, what: &str, fix: String, autofix: Option<Fix>) {
        let message = format!("`client_auth.audience` {what} and refuses to load this config");
        self.push_with(
            FindingId::AudienceNotList,
            Impact::Refused,
            node,
            "client_auth.audience",
            message,
            fix,
            autofix,
        );
    }

    /// `client_auth` with nothing that verifies a token: no static key, no `jwks_uri`, no
    /// Supabase (after `keys retire --force` of the last key, say).
    fn no_keys(&mut self) {
        let Some(auth) = self.config.client_auth() else {
            return;
        };
        let has = |name: &str| auth.get(name).is_some_and(|n| n.value != Value::Null);
        let supabase = matches!(
            auth.get("supabase").map(|n| &n.value),
            Some(Value::Bool(true))
        );
        if !self.config.static_keys().is_empty()
            || has("jwks_uri")
            || supabase
            || has("supabase_jwt_secret")
        {
            return;
        }
        self.push(
            FindingId::NoKeys,
            auth,
            "client_auth",
            "`client_auth` has no key, no `jwks_uri` and no Supabase: the service verifies no token (PSYNC_S2101 for every one)".into(),
            "add a key: `pskeys init` (or `pskeys init --rotate` to add one next to what is there)".into(),
        );
    }

    fn providers(&mut self) {
        let Some(auth) = self.config.client_auth() else {
            return;
        };
        let resolved = auth.resolve(&self.env.lookup()).unwrap_or(J::Null);
        if resolved.get("supabase") == Some(&J::Bool(true))
            && let Some(J::Array(auds)) = resolved.get("audience")
            && !auds.is_empty()
            && !auds.iter().any(|a| a == "authenticated")
        {
            let node = auth.get("audience").unwrap_or(auth);
            let shown: Vec<String> = auds
                .iter()
                .map(|a| a.as_str().map_or(a.to_string(), str::to_string))
                .collect();
            let message = format!(
                "`supabase: true` with audience {}: Supabase tokens carry aud `authenticated`, which the service requires for Supabase keys regardless",
                shown.join(", ")
            );
            self.push(FindingId::SupabaseAudience, node, "client_auth.audience", message, "add `authenticated` to the audience (`pskeys init --supabase` does); keep the others only for your other keys".into());
        }
        // collectConfig imports the legacy secret as an HS256 key: jose refuses an empty `k`.
        if resolved.get("supabase") == Some(&J::Bool(true))
            && resolved.get("supabase_jwt_secret") == Some(&J::String(String::new()))
        {
            let node = auth.get("supabase_jwt_secret").unwrap_or(auth);
            let message = "`supabase_jwt_secret` is empty: the service imports it as an HS256 key, jose refuses an empty key, and the service does not start".to_string();
            self.push(
                FindingId::KeyImport,
                node,
                "client_auth.supabase_jwt_secret",
                message,
                "set it to the project's JWT secret (Supabase dashboard: JWT Keys), or remove it"
                    .into(),
            );
        }
        if let Some(n) = auth.get("block_local_jwks") {
            self.push(
                FindingId::BlockLocalJwks,
                n,
                "client_auth.block_local_jwks",
                "`block_local_jwks` is deprecated".into(),
                "use `jwks_reject_ip_ranges: ['local']` instead".into(),
            );
        }
        self.jwks_uris(auth, &resolved);
    }

    /// RemoteJWKSCollector's constructor, for each `jwks_uri` when the key store is built
    /// (compound-config-collector.ts): `new URL` (else PSYNC_S3102), `http:`/`https:`
    /// only (S3103), then lib-services' `validateIpHostname` for an IP-literal host:
    /// every `jwks_reject_ip_ranges` entry but `local` must parse as CIDR (ipaddr.js
    /// throws otherwise), IPv6 is refused under `block_local_jwks` (S2202), then a listed
    /// range (S2203), then with `local` (or `block_local_jwks`) anything ipaddr.js does
    /// not call unicast (S2203). A hostname is only checked when resolved, at fetch time.
    fn jwks_uris(&mut self, auth: &Node, resolved: &J) {
        let mut ranges: Vec<&str> = resolved
            .get("jwks_reject_ip_ranges")
            .and_then(J::as_array)
            .map(|a| a.iter().filter_map(J::as_str).collect())
            .unwrap_or_default();
        let block_local = resolved.get("block_local_jwks") == Some(&J::Bool(true));
        if block_local {
            ranges.push("local");
        }
        let uris: Vec<&str> = match resolved.get("jwks_uri") {
            Some(J::String(u)) => vec![u.as_str()],
            Some(J::Array(items)) => items.iter().filter_map(J::as_str).collect(),
            _ => Vec::new(),
        };
        let node = auth.get("jwks_uri").unwrap_or(auth);
        let mut ips = Vec::new();
        for uri in uris {
            match net::http_host(uri) {
                Ok(Host::Ip(ip)) => ips.push((uri, ip)),
                Ok(Host::Domain(name)) => self.local_name_blocked(node, uri, &name, &ranges),
                Err(problem) => self.jwks_uri_invalid(node, uri, &problem),
            }
        }
        if ips.is_empty() {
            return;
        }
        let mut cidrs = Vec::new();
        for range in ranges.iter().filter(|r| **r != "local") {
            match net::parse_cidr(range) {
                Some(c) => cidrs.push(c),
                None => {
                    let at = auth.get("jwks_reject_ip_ranges").unwrap_or(auth);
                    let message = format!(
                        "`jwks_reject_ip_ranges` entry `{range}` is not an `address/bits` range: with an IP-literal `jwks_uri` the service's ipaddr.js throws and it does not start"
                    );
                    let fix = format!("write it as a CIDR range, e.g. `{range}/32`, or `local`");
                    self.push(
                        FindingId::ClientAuthShape,
                        at,
                        "client_auth.jwks_reject_ip_ranges",
                        message,
                        fix,
                    );
                    return;
                }
            }
        }
        for (uri, ip) in ips {
            let why = if block_local && ip.is_ipv6() {
                Some("PSYNC_S2202: `block_local_jwks` refuses every IPv6 address".to_string())
            } else if let Some(c) = cidrs.iter().find(|c| net::in_subnet(ip, c.ip, c.bits)) {
                Some(format!("PSYNC_S2203: it is in `{}/{}`", c.ip, c.bits))
            } else if ranges.contains(&"local") && !net::is_unicast(ip) {
                Some(format!(
                    "PSYNC_S2203: `{ip}` is not a public unicast address and `local` (or `block_local_jwks`) rejects it"
                ))
            } else {
                None
            };
            if let Some(why) = why {
                let message = format!(
                    "`jwks_uri` {uri} is refused when the service builds its key store ({why}): it does not start"
                );
                self.push(FindingId::JwksLocalBlocked, node, "client_auth.jwks_uri", message, "serve the JWKS from a public address, or remove that range (and `block_local_jwks`) for local development".into());
            }
        }
    }

    /// A `jwks_uri` whose host name resolves to this machine or a private network
    /// (`localhost`, `host.docker.internal`, a compose service name) is checked when it is
    /// fetched: with `local` in `jwks_reject_ip_ranges` (or `block_local_jwks`) the fetch is
    /// refused and no token of its keys verifies.
    fn local_name_blocked(&mut self, node: &Node, uri: &str, name: &str, ranges: &[&str]) {
        if !ranges.contains(&"local") || !net::is_local_name(name) {
            return;
        }
        let message = format!(
            "`jwks_uri` {uri} names `{name}`, which resolves to a local or private address: with `local` in `jwks_reject_ip_ranges` (or `block_local_jwks`) the service refuses to fetch it (PSYNC_S2204), and tokens signed by keys only it publishes fail"
        );
        self.push(
            FindingId::JwksLocalName,
            node,
            "client_auth.jwks_uri",
            message,
            "for local development remove `local` from `jwks_reject_ip_ranges` (and `block_local_jwks`), or serve the JWKS from a public address".into(),
        );
    }

    fn jwks_uri_invalid(&mut self, node: &Node, uri: &str, problem: &UrlProblem) {
        let why = match problem {
            UrlProblem::Invalid(what) => {
                format!("is not a URL ({what}): PSYNC_S3102 Invalid jwks_uri")
            }
            UrlProblem::NotHttp(scheme) => {
                format!("is a `{scheme}:` URL: PSYNC_S3103 Only http(s) is supported for jwks_uri")
            }
        };
        let message = format!("`jwks_uri` `{uri}` {why}; the service does not start");
        let fix = if placeholder_in(uri).is_some() {
            "`${…}` is never substituted: put the URL in a `PS_…` variable and write `jwks_uri: !env PS_…` (`pskeys doctor --fix` makes that edit once the variable is defined)".to_string()
        } else {
            "write the full http(s) URL of the JWKS, e.g. `https://auth.example.com/.well-known/jwks.json`".to_string()
        };
        self.push(
            FindingId::JwksUriInvalid,
            node,
            "client_auth.jwks_uri",
            message,
            fix,
        );
    }
}

/// How `.env`'s private key differs from the config's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch {
    /// Same key.
    Same,
    /// This public parameter differs.
    Differs(&'static str),
    /// The private key does not parse.
    Invalid,
}

/// The one rule for ".env's private key is the config's public key": every public
/// parameter decodes (as the service decodes it) to the same bytes.
pub fn private_matches(private: &PrivateKey, jwk: &Map<String, J>) -> KeyMatch {
    match private.signing_key().and_then(|k| k.public_params()) {
        Ok(params) if !params.is_empty() => params_match(&params, jwk),
        _ => KeyMatch::Invalid,
    }
}

/// [`private_matches`] for public parameters already derived from a prepared key.
pub fn params_match(params: &[(&'static str, String)], jwk: &Map<String, J>) -> KeyMatch {
    for (name, value) in params {
        let theirs = jwk.get(*name).and_then(J::as_str);
        let same = match *name {
            "crv" => theirs == Some(value.as_str()),
            _ => theirs.is_some_and(|t| decode_lenient(t) == decode_lenient(value)),
        };
        if !same {
            return KeyMatch::Differs(name);
        }
    }
    KeyMatch::Same
}

/// The rules for `.env` beside the config: the signing key it names must be in the config
/// and be its pair; the file must be private and out of git.
pub fn env_findings(config: &Config, env_file: &EnvFile, env: &Env) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |id: FindingId, line: Option<usize>, message: String, fix: String, autofix| {
        out.push(Finding {
            id,
            impact: id.impact(),
            file: env_file.path.clone(),
            line,
            setting: String::new(),
            message,
            fix,
            autofix,
        });
    };
    if let Some((id, var, message, fix)) = signing_key_problem(config, env) {
        // A value from the process environment has no line in `.env`.
        let line = match env.source(var) {
            Some(crate::env::Source::File) => env_file.line_of(var),
            _ => None,
        };
        push(id, line, message, fix, None);
    }
    if let Some((message, fix)) = no_signing_key(config, env) {
        push(FindingId::EnvNoSigningKey, None, message, fix, None);
    }
    for (var, line) in dollar_values(config, env_file) {
        push(
            FindingId::EnvDollar,
            Some(line),
            format!(
                "`{var}` holds a `$` outside single quotes: dotenv readers disagree on it (dotenvy, which pskeys follows, and docker compose expand `$NAME`; node's dotenv and `docker run --env-file` keep it), so the service may see another value than pskeys reads"
            ),
            format!("write the value in single quotes: {var}='…'"),
            None,
        );
    }
    if !env_file.existed {
        return out;
    }
    let path = &env_file.path;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(mode) = fsutil::mode(path).filter(|m| m & 0o077 != 0) {
        push(
            FindingId::EnvFileMode,
            None,
            format!("the file is readable by other users (mode {mode:o}) and holds secrets"),
            format!("chmod 600 {} (`pskeys doctor --fix` does)", path.display()),
            Some(Fix::EnvMode),
        );
    }
    match fsutil::git_status(path) {
        GitStatus::Tracked => push(
            FindingId::EnvFileTracked,
            None,
            "the file is tracked by git: its secrets are in the repository history".into(),
            format!(
                "git rm --cached {}, add it to .gitignore, then replace every key in it (`pskeys init --force`) and restart the service",
                path.display()
            ),
            None,
        ),
        GitStatus::NotIgnored => push(
            FindingId::EnvFileNotIgnored,
            None,
            "the file is not git-ignored: one `git add .` away from committing its secrets".into(),
            format!("add `{name}` to .gitignore"),
            None,
        ),
        GitStatus::Ignored | GitStatus::NoRepo => {}
    }
    out
}

/// The variables the config or pskeys reads whose `.env` text has a `$` that is not inside
/// single quotes, with their lines.
fn dollar_values(config: &Config, env_file: &EnvFile) -> Vec<(String, usize)> {
    let mut read: Vec<String> = [KID_VAR, ALG_VAR, PRIVATE_KEY_VAR]
        .map(String::from)
        .to_vec();
    config.root.visit(&mut String::new(), &mut |_, node| {
        if let Value::Env { name, .. } = &node.value {
            read.push(name.clone());
        }
    });
    env_file
        .assignments()
        .iter()
        .filter(|a| read.contains(&a.key))
        .filter(|a| {
            let raw = &env_file.text()[a.value_span.clone()];
            raw.contains('$') && !raw.starts_with('\'')
        })
        .map(|a| (a.key.clone(), a.line))
        .collect()
}

/// A config with keys and nothing here naming one to sign with (a teammate's fresh clone):
/// the service is fine, but `pskeys mint` cannot sign on this machine.
/// No kid names a signing key while the config has static keys: the message, and the way
/// out for this config (import the team's key, or let `init` complete `.env`).
pub fn no_signing_key(config: &Config, env: &Env) -> Option<(String, String)> {
    if env.get(KID_VAR).is_some_and(|k| !k.is_empty()) {
        return None;
    }
    let keys = config.static_keys();
    if keys.is_empty() {
        return None;
    }
    let message = format!(
        "nothing here names a signing key ({KID_VAR} is not set in .env or the environment): `pskeys mint` cannot sign for `{}` on this machine",
        config.path.display()
    );
    // A literal public key was made elsewhere; `!env` members and HMAC secrets are made
    // here by a plain `init`.
    let literal_public = keys.iter().any(|k| {
        k.is_asymmetric()
            && ["n", "x"]
                .iter()
                .any(|m| matches!(k.field(m).map(|n| &n.value), Some(Value::Str(_))))
    });
    let fix = if literal_public {
        "import the team's private key with `pskeys init --private-key FILE` (or set PSKEYS_PRIVATE_KEY in the environment and run `pskeys init`), or add this machine's own key with `pskeys init --rotate` (the shared config changes)"
    } else {
        "`pskeys init` completes .env with this machine's secret or key pair for the config's key (the config is unchanged); `pskeys init --private-key FILE` takes the team's instead"
    };
    Some((message, fix.to_string()))
}

/// Whether `PSKEYS_KID`/`PSKEYS_ALG`/`PSKEYS_PRIVATE_KEY` can sign for the config.
fn signing_key_problem(
    config: &Config,
    env: &Env,
) -> Option<(FindingId, &'static str, String, String)> {
    let kid = env.get(KID_VAR).filter(|k| !k.is_empty())?;
    let lookup = env.lookup();
    let jwk = config
        .static_keys()
        .iter()
        .find_map(|k| match k.node.resolve(&lookup) {
            Ok(J::Object(jwk)) if jwk.get("kid").and_then(J::as_str) == Some(kid) => Some(jwk),
            _ => None,
        });
    let Some(jwk) = jwk else {
        // The key is there but reads a variable nothing defines: `env-undefined` says so
        // (with its fix); "no key" would be false.
        if config
            .static_keys()
            .iter()
            .any(|k| k.kid.as_deref() == Some(kid) && k.node.resolve(&lookup).is_err())
        {
            return None;
        }
        // Kids as the service reads them: `kid: !env PS_JWK_KID` resolved.
        let kids: Vec<String> = config
            .static_keys()
            .iter()
            .filter_map(|k| match k.node.resolve(&lookup) {
                Ok(J::Object(jwk)) => jwk.get("kid").and_then(J::as_str).map(str::to_string),
                _ => k.kid.clone(),
            })
            .collect();
        let has = if kids.is_empty() {
            "none".to_string()
        } else {
            kids.join(", ")
        };
        return Some((FindingId::EnvKidMissing, KID_VAR, format!("{KID_VAR}={kid}, but `{}` has no key `{kid}` (it has: {has}); `pskeys mint` cannot sign", config.path.display()), "`pskeys init --force` adds a fresh key to both files; or point --config at the config it belongs to".into()));
    };
    let alg_text = env.get(ALG_VAR);
    let alg = match alg_text.map(Alg::parse) {
        Some(None) => {
            return Some((
                FindingId::EnvAlgInvalid,
                ALG_VAR,
                format!("{ALG_VAR} is not one of the algorithms the service accepts"),
                "fix it, or run `pskeys init --force` for a new key".into(),
            ));
        }
        Some(Some(a)) => a,
        None => return None,
    };
    if alg.is_hmac() {
        return None;
    }
    let pem = env.get(PRIVATE_KEY_VAR)?;
    let problem = match PrivateKey::from_pem_unchecked(alg, pem).map(|p| private_matches(&p, &jwk))
    {
        Ok(KeyMatch::Same) => return None,
        Ok(KeyMatch::Differs(param)) => (
            FindingId::EnvKeyMismatch,
            format!(
                "the private key in .env does not match key `{kid}` in the config (their `{param}` differ): every minted token fails with PSYNC_S2101 signature verification failed"
            ),
            "`pskeys init --force` replaces both with a fresh matching pair",
        ),
        Ok(KeyMatch::Invalid) | Err(_) => (
            FindingId::EnvKeyInvalid,
            format!("{PRIVATE_KEY_VAR} is not a valid {alg} PKCS#8 key"),
            "`pskeys init --force` writes a fresh key pair",
        ),
    };
    Some((problem.0, PRIVATE_KEY_VAR, problem.1, problem.2.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scalar_content_is_recognised() {
        let text = "a: >-\n  ${PS_A}\nb:\n  ${PS_B}\nc: |2 # note\n    ${PS_C}\nd: ${PS_D}\n";
        let at = |s: &str| text.find(s).unwrap();
        assert!(in_block_scalar(text, at("${PS_A}")));
        assert!(!in_block_scalar(text, at("${PS_B}")));
        assert!(in_block_scalar(text, at("${PS_C}")));
        assert!(!in_block_scalar(text, at("${PS_D}")));
    }

    #[test]
    fn secret_parameters_are_masked() {
        assert_eq!(
            mask_url_passwords("host=db password=S3cret! user=u"),
            "host=db password=*** user=u"
        );
        assert_eq!(
            mask_url_passwords("add `PS_ADMIN_TOKEN=…` to .env"),
            "add `PS_ADMIN_TOKEN=…` to .env"
        );
        assert_eq!(
            mask_url_passwords("`https://a.b/jwks?access_token=abc&x=1`"),
            "`https://a.b/jwks?access_token=***&x=1`"
        );
        assert_eq!(
            mask_url_passwords("postgresql://h/db?sslmode=require"),
            "postgresql://h/db?sslmode=require"
        );
    }

    #[test]
    fn url_passwords_are_masked_and_the_rest_kept() {
        assert_eq!(
            mask_url_passwords("`uri` is `postgresql://u:p@ss@db:5432/x`; and https://a.b/c"),
            "`uri` is `postgresql://u:***@db:5432/x`; and https://a.b/c"
        );
        assert_eq!(
            mask_url_passwords("mongodb://user@h/x"),
            "mongodb://user@h/x"
        );
        assert_eq!(mask_url_passwords("a://"), "a://");
    }

    #[test]
    fn secrets_written_into_the_config_never_reach_a_finding() {
        let text = "storage: {type: mongodb}\nreplication:\n  connections:\n    - type: postgresql\n      uri: 'postgresql://u:CFGPASSWORD77@db/${PS_DB}'\nclient_auth:\n  supabase_jwt_secret: 'SECRET-${PS_X}'\n  audience: [a]\n";
        let config = Config::parse(std::path::Path::new("c.yaml"), text.to_string()).unwrap();
        let env = Env::with_process(std::iter::empty(), std::iter::empty());
        let findings = config_findings(&config, &env);
        assert!(
            findings
                .iter()
                .any(|f| f.id == FindingId::DollarPlaceholder)
        );
        for f in &findings {
            let shown = format!("{} {}", f.message, f.fix);
            assert!(
                !shown.contains("CFGPASSWORD77") && !shown.contains("SECRET-"),
                "{shown}"
            );
        }
    }

    #[test]
    fn placeholders_are_found_anywhere_in_a_string() {
        assert_eq!(placeholder_in("${PS_X}"), Some("PS_X"));
        assert_eq!(placeholder_in("x${PS_X}y"), Some("PS_X"));
        assert_eq!(placeholder_in("${}"), None);
        assert_eq!(placeholder_in("$PS_X"), None);
    }

    #[test]
    fn offsets_count_characters() {
        assert_eq!(offset("a\nbé: c\n", 2, 5), Some(7));
    }

    #[test]
    fn every_id_is_unique() {
        let mut ids: Vec<&str> = FindingId::ALL.iter().map(|i| i.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), FindingId::ALL.len());
    }
}
