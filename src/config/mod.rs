//! The PowerSync service config: finding it, reading `client_auth` as the service does,
//! and patching it losslessly (YAML through yaml-edit's CST, JSON through byte spans).

pub(crate) mod json_patch;
pub mod node;
pub(crate) mod yaml_patch;

use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};
use crate::jws::{Alg, Kty};
use node::{Node, Value};

/// The embedded template `init` writes when no config exists.
pub const TEMPLATE: &str = include_str!("../../templates/powersync.yaml");

/// The sync config the template names (`sync_config.path`), created beside it when missing:
/// valid and empty, so the service's sync runner starts.
pub const SYNC_CONFIG_TEMPLATE: (&str, &str) = (
    "sync-config.yaml",
    include_str!("../../templates/sync-config.yaml"),
);

/// The variables the template reads and the local-development values `init` gives them in
/// .env when it creates the config (never overwriting a value already there).
pub const TEMPLATE_VARS: [(&str, &str); 3] = [
    (
        "PS_DATA_SOURCE_URI",
        "postgresql://postgres:postgres@localhost:5432/postgres",
    ),
    (
        "PS_MONGO_URI",
        "mongodb://localhost:27017/powersync_storage",
    ),
    ("PS_PORT", "8080"),
];

/// A variable, the setting that reads it, and the setting and value its default needs.
pub type TemplateSlot = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

/// Where the template reads each of [`TEMPLATE_VARS`] (and its admin token), with the
/// setting that must hold the template's value for its default to fit: a config read the
/// same way (the template's, or one shaped like it on a fresh checkout) gets the defaults.
pub const TEMPLATE_SLOTS: [TemplateSlot; 4] = [
    (
        "PS_DATA_SOURCE_URI",
        "replication.connections[0].uri",
        Some(("replication.connections[0].type", "postgresql")),
    ),
    (
        "PS_MONGO_URI",
        "storage.uri",
        Some(("storage.type", "mongodb")),
    ),
    ("PS_PORT", "port", None),
    ("PS_ADMIN_TOKEN", "api.tokens[0]", None),
];

/// Where pskeys looks for a config, in order, after `--config` and `POWERSYNC_CONFIG_PATH`.
pub const CANDIDATES: [&str; 5] = [
    "powersync.yaml",
    "config.yaml",
    "config.json",
    "config/powersync.yaml",
    "powersync/service.yaml",
];

/// The audiences `init` configures when the config has none.
pub const DEFAULT_AUDIENCES: [&str; 2] = ["powersync-dev", "powersync"];

/// How a config file is parsed: by extension, as the service does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yaml`, `.yml` and anything else that is not `.json`.
    Yaml,
    /// `.json`.
    Json,
}

impl Format {
    /// The format for a path.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// How the config path was chosen, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// `--config`.
    Flag,
    /// `POWERSYNC_CONFIG_PATH`.
    EnvVar,
    /// One of [`CANDIDATES`].
    Discovered,
    /// Nothing exists: the default path `init` creates.
    Missing,
}

/// Resolves the config path: `--config`, then `POWERSYNC_CONFIG_PATH`, then the candidates
/// in `dir`. When nothing exists, returns `dir/powersync.yaml` with [`Found::Missing`].
pub fn locate(flag: Option<&Path>, env_path: Option<&str>, dir: &Path) -> (PathBuf, Found) {
    if let Some(p) = flag {
        return (p.to_path_buf(), Found::Flag);
    }
    if let Some(p) = env_path.filter(|p| !p.is_empty()) {
        return (dir.join(p), Found::EnvVar);
    }
    for c in CANDIDATES {
        let p = dir.join(c);
        if p.is_file() && (!GENERIC.contains(&c) || looks_like_powersync(&p)) {
            return (p, Found::Discovered);
        }
    }
    (dir.join(CANDIDATES[0]), Found::Missing)
}

/// Candidate names other tools use too: taken only when the file looks like a PowerSync
/// config, so `init` never patches another tool's `config.yaml`.
pub const GENERIC: [&str; 2] = ["config.yaml", "config.json"];

/// Whether a file has one of the PowerSync Service's own top-level settings.
pub fn looks_like_powersync(path: &Path) -> bool {
    use std::io::Read as _;
    const KEYS: [&str; 5] = [
        "replication",
        "storage",
        "client_auth",
        "sync_rules",
        "sync_config",
    ];
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|f| f.take(1 << 20).read_to_string(&mut text));
    if read.is_err() {
        return false;
    }
    match Format::of(path) {
        Format::Json => KEYS.iter().any(|k| text.contains(&format!("\"{k}\""))),
        Format::Yaml => text.lines().any(|l| {
            KEYS.iter().any(|k| {
                l.strip_prefix(k)
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
        }),
    }
}

/// A loaded config: the original text (kept byte for byte) and its parsed view.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file.
    pub path: PathBuf,
    /// Its exact text (private: the parsed `root` must always be of this text).
    text: String,
    /// YAML or JSON.
    pub format: Format,
    /// The parsed document (`Null` for an empty YAML file).
    pub root: Node,
}

/// A static key of `client_auth.jwks.keys`, as the service will import it.
#[derive(Debug, Clone)]
pub struct StaticKey<'a> {
    /// Position in the list.
    pub index: usize,
    /// The `kid`, when it is a plain string (an `!env` kid resolves through [`StaticKey::field`]).
    pub kid: Option<String>,
    /// The `kty`.
    pub kty: Option<Kty>,
    /// The `alg`.
    pub alg: Option<Alg>,
    /// The whole JWK node.
    pub node: &'a Node,
}

impl StaticKey<'_> {
    /// A field of the JWK.
    pub fn field(&self, name: &str) -> Option<&Node> {
        self.node.get(name)
    }

    /// An RSA, EC or OKP key: one whose private half signs elsewhere than in the config.
    pub fn is_asymmetric(&self) -> bool {
        self.kty.is_some_and(|t| t != crate::keys::Kty::Oct)
    }
}

fn text_of(node: Option<&Node>) -> Option<String> {
    node.and_then(|n| match &n.value {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    })
}

impl Config {
    /// The exact text the config was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Parses `text` as the config at `path` (YAML or JSON by extension, as the service
    /// does). What the service thinks of its settings is [`crate::service::rules`]' job.
    pub fn parse(path: &Path, text: String) -> Result<Config> {
        let format = Format::of(path);
        let root = match format {
            Format::Yaml => node::parse_yaml(&text).map_err(|e| {
                let (line, column, end) = within(&text, &e);
                Error::config(
                    Location::at(path, line, column),
                    format!("this is not valid YAML{end}: {}", e.message),
                    format!(
                        "{} (the service refuses to start on it too)",
                        yaml_fix(&e.message)
                    ),
                )
            })?,
            Format::Json => {
                node::parse_json(&text)
                    .map_err(|e| {
                        let (line, column, end) = within(&text, &e);
                        Error::config(
                            Location::at(path, line, column),
                            format!("this is not valid JSON{end}: {}", e.message),
                            "fix the JSON syntax".to_string(),
                        )
                    })?
                    .0
            }
        };
        Ok(Config {
            path: path.to_path_buf(),
            text,
            format,
            root,
        })
    }

    /// Reads and parses the config at `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let bytes =
            crate::fsutil::read_regular(path, crate::fsutil::CONFIG_LIMIT)?.ok_or_else(|| {
                Error::io(
                    "read",
                    path,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                )
            })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::config(
                Location::file(path),
                format!(
                    "the file is not UTF-8 (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
                "save it as UTF-8".to_string(),
            )
        })?;
        Config::parse(path, text)
    }

    fn at(&self, node: &Node) -> Location {
        Location::at(&self.path, node.line, node.column)
    }

    /// The `client_auth` mapping, if present and not null.
    pub fn client_auth(&self) -> Option<&Node> {
        self.root
            .get("client_auth")
            .filter(|n| n.value != Value::Null)
    }

    /// Secrets written into the config itself (diffs mask them): static keys' inline `k`
    /// and private members (`d`, `p`, `q`, `dp`, `dq`, `qi`), an inline
    /// `supabase_jwt_secret`, inline `api.tokens`.
    pub fn inline_secrets(&self) -> Vec<String> {
        self.secret_fields()
            .into_iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// The variables those secret settings read (`k: !env PS_JWK_N`): their values are
    /// secret whatever the variable is called.
    pub fn secret_vars(&self) -> Vec<String> {
        self.secret_fields()
            .into_iter()
            .filter_map(|v| match v {
                Value::Env { name, .. } => Some(name),
                _ => None,
            })
            .collect()
    }

    fn secret_fields(&self) -> Vec<Value> {
        const PRIVATE: [&str; 7] = ["k", "d", "p", "q", "dp", "dq", "qi"];
        let mut out = Vec::new();
        self.root.visit(&mut String::new(), &mut |path, node| {
            let member = path.rsplit('.').next().unwrap_or_default();
            let secret = (path.starts_with("client_auth.jwks.keys[") && PRIVATE.contains(&member))
                || path == "client_auth.supabase_jwt_secret"
                || path
                    .strip_prefix("api.tokens[")
                    .is_some_and(|item| !item.contains('.'));
            if secret {
                out.push(node.value.clone());
            }
        });
        out
    }

    /// How many `!env NAME` tags the config holds for `name`.
    pub fn env_references(&self, name: &str) -> usize {
        let mut n = 0;
        self.root.visit(&mut String::new(), &mut |_, node| {
            if matches!(&node.value, Value::Env { name: v, .. } if v == name) {
                n += 1;
            }
        });
        n
    }

    /// The variable a static key's `k` reads (`k: !env NAME`), if any.
    pub fn key_secret_var(&self, kid: &str) -> Option<String> {
        match self.key_by_kid(kid)?.field("k").map(|n| &n.value) {
            Some(Value::Env { name, .. }) => Some(name.clone()),
            _ => None,
        }
    }

    /// The static key a setting path is in: `client_auth.jwks.keys[N]`, or a member of it
    /// (`client_auth.jwks.keys[N].k`), as findings name settings.
    pub fn key_at(&self, setting: &str) -> Option<StaticKey<'_>> {
        let index = setting
            .strip_prefix("client_auth.jwks.keys[")
            .and_then(|r| r.split(']').next())
            .and_then(|n| n.parse::<usize>().ok())?;
        self.static_keys().into_iter().nth(index)
    }

    /// The static keys of `client_auth.jwks.keys`.
    pub fn static_keys(&self) -> Vec<StaticKey<'_>> {
        let Some(items) = self
            .client_auth()
            .and_then(|a| a.get("jwks"))
            .and_then(|j| j.get("keys"))
            .and_then(Node::as_seq)
        else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .map(|(index, node)| StaticKey {
                index,
                kid: text_of(node.get("kid")),
                kty: text_of(node.get("kty")).as_deref().and_then(Kty::parse),
                alg: text_of(node.get("alg")).as_deref().and_then(Alg::parse),
                node,
            })
            .collect()
    }

    /// The key with this kid.
    pub fn key_by_kid(&self, kid: &str) -> Option<StaticKey<'_>> {
        self.static_keys()
            .into_iter()
            .find(|k| k.kid.as_deref() == Some(kid))
    }

    /// The first key whose kid is `kid`, also when the kid is read with `!env`.
    pub fn key_by_resolved_kid(
        &self,
        kid: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Option<StaticKey<'_>> {
        self.static_keys().into_iter().find(|k| {
            k.kid.as_deref() == Some(kid)
                || k.field("kid")
                    .and_then(|n| n.resolve(lookup).ok())
                    .is_some_and(|v| v.as_str() == Some(kid))
        })
    }

    /// The configured audience list, resolving `!env` through `lookup`.
    /// `Ok(None)` when absent; an error when it is not a list of strings.
    pub fn audiences(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Vec<String>>> {
        let Some(node) = self.client_auth().and_then(|a| a.get("audience")) else {
            return Ok(None);
        };
        if node.value == Value::Null {
            return Ok(None);
        }
        let value = node.resolve(lookup).map_err(|e| self.env_error(&e))?;
        match value {
            serde_json::Value::Array(items) => Ok(Some(
                items
                    .into_iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect(),
            )),
            _ => Err(Error::config(
                self.at(node),
                format!("`client_auth.audience` is {}, expected a list; the service refuses to load this config", node.type_name()),
                "write it as a list, e.g. `audience: ['powersync-dev', 'powersync']` (`pskeys init` does this)".to_string(),
            )),
        }
    }

    /// Turns an unresolved `!env` into a config error.
    pub fn env_error(&self, e: &node::EnvError) -> Error {
        let loc = Location::at(&self.path, e.line, e.column);
        match &e.problem {
            node::EnvProblem::NoPrefix => Error::config(
                loc,
                format!(
                    "`!env {}`: the service only reads variables whose names start with `PS_` and refuses this config",
                    e.name
                ),
                format!(
                    "rename the variable to `PS_{}` in the config and in .env",
                    e.name
                ),
            ),
            node::EnvProblem::Undefined => Error::config(
                loc,
                format!(
                    "`!env {}` is not defined in .env or the environment",
                    e.name
                ),
                format!(
                    "add `{}=…` to .env (or export it), or run `pskeys init` to write it",
                    e.name
                ),
            ),
            node::EnvProblem::NotNumber(_) => Error::config(
                loc,
                format!("`!env {}::number`: the variable is not a number", e.name),
                "set the variable to a number".to_string(),
            ),
            node::EnvProblem::NotBoolean(_) => Error::config(
                loc,
                format!(
                    "`!env {}::boolean`: the variable is neither true nor false",
                    e.name
                ),
                "set the variable to `true` or `false`".to_string(),
            ),
            node::EnvProblem::UnknownType(t) => Error::config(
                loc,
                format!(
                    "`!env {}::{t}`: the service knows only `::string`, `::number` and `::boolean` and refuses this config",
                    e.name
                ),
                "use one of those suffixes, or none".to_string(),
            ),
        }
    }
}

/// A parse error's position inside the file: an error at the end of the text (an
/// unclosed `[`, `{` or quote) is on the last line rather than one past it.
fn within(text: &str, e: &node::ParseError) -> (usize, usize, &'static str) {
    let lines = text.lines().count().max(1);
    if e.line <= lines {
        return (e.line, e.column, "");
    }
    let last = text.lines().last().unwrap_or_default();
    (lines, last.chars().count() + 1, " (at the end of the file)")
}

/// What to do about a YAML syntax error, from the parser's message.
fn yaml_fix(message: &str) -> &'static str {
    const FIXES: [(&[&str], &str); 11] = [
        (
            &["tabs disallowed"],
            "indent with spaces: YAML does not allow tabs in indentation",
        ),
        (
            &["flow sequence"],
            "close the `[` list with `]`, and separate its items with `,`",
        ),
        (
            &["flow mapping"],
            "close the `{` mapping with `}`, and separate its entries with `,`",
        ),
        (
            &["misplaced bracket"],
            "remove the extra `]` or `}`, or open it where it belongs",
        ),
        (&["end of stream"], "close the quote this value opens"),
        (
            &["unknown escape"],
            "in double quotes write a backslash as `\\\\`, or use single quotes",
        ),
        (
            &["mapping values are not allowed"],
            "quote a value that holds `: ` (e.g. 'a: b'), or give the key its own line",
        ),
        (
            &[
                "did not find expected key",
                "expected '-' indicator",
                "simple key expect",
            ],
            "indent this line like its siblings above (the same number of spaces)",
        ),
        (&["duplicate key"], "keep one of the two entries"),
        (
            &["unknown anchor"],
            "define the anchor (`&name`) before the alias (`*name`) that uses it",
        ),
        (
            &["unexpected character"],
            "quote the value: YAML reserves this character at its start",
        ),
    ];
    FIXES
        .iter()
        .find(|(needles, _)| needles.iter().any(|n| message.contains(n)))
        .map_or("fix the YAML syntax", |(_, fix)| fix)
}

/// Quotes a string for YAML with single quotes (safe for any content but line breaks).
pub fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A value to write into a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A boolean.
    Bool(bool),
    /// A literal string.
    Str(String),
    /// `!env NAME` in YAML (JSON configs cannot express it: the literal is written instead).
    Env {
        /// The variable.
        name: String,
        /// The value, for JSON configs and for checking.
        value: String,
    },
}

/// A key to add to `client_auth.jwks.keys`, fields in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The fields.
    pub fields: Vec<(String, Field)>,
}

impl NewKey {
    /// The kid field's value.
    pub fn kid(&self) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == "kid")
            .and_then(|(_, f)| match f {
                Field::Str(s) => Some(s.as_str()),
                Field::Env { .. } | Field::Bool(_) => None,
            })
    }
}

/// What to change in `client_auth`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patch {
    /// Remove the key with this kid first (`--force`).
    pub remove_kid: Option<String>,
    /// Add this key.
    pub add_key: Option<NewKey>,
    /// Make sure `audience` is a list holding these.
    pub audiences: Vec<String>,
    /// Make sure `jwks_uri` holds these (a single one may stay a string).
    pub jwks_uris: Vec<String>,
    /// Set these `client_auth` keys (`supabase: true`, `supabase_jwt_secret: !env …`).
    pub set: Vec<(String, Field)>,
}

impl Patch {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.remove_kid.is_none()
            && self.add_key.is_none()
            && self.audiences.is_empty()
            && self.jwks_uris.is_empty()
            && self.set.is_empty()
    }
}

/// Applies `patch` to the config's text, keeping every other byte, and checks the result
/// parses back to what was meant.
pub fn apply(config: &Config, patch: &Patch) -> Result<String> {
    // Settings live in a mapping; anything else at the top (a scalar, a list, a tagged
    // value) would change meaning once a `client_auth:` is added to it.
    if !matches!(config.root.value, Value::Null | Value::Map(_)) {
        return Err(Error::config(
            Location::at(&config.path, config.root.line, config.root.column),
            format!(
                "the top level is {}, not a mapping of settings; the service refuses it",
                config.root.type_name()
            ),
            "make the file a mapping (`storage:`, `replication:`, `client_auth:` …)".to_string(),
        ));
    }
    let text = match config.format {
        Format::Yaml => yaml_patch::apply(&config.text, patch),
        Format::Json => json_patch::apply(&config.text, patch),
    }
    .map_err(|message| {
        Error::config(
            Location::file(&config.path),
            format!("cannot patch this file: {message}"),
            "edit `client_auth` by hand, or report this file as a pskeys bug".to_string(),
        )
    })?;
    let patched = Config::parse(&config.path, text.clone()).map_err(|e| Error::Config {
        location: Location::file(&config.path),
        message: format!(
            "internal error: the patched file does not parse ({e}); nothing was written"
        ),
        hint: Some("please report this file as a pskeys bug".into()),
    })?;
    if let Some(what) = missing_after_patch(config, &patched, patch) {
        return Err(Error::Config {
            location: Location::file(&config.path),
            message: format!("internal error: after patching, {what}; nothing was written"),
            hint: Some("please report this file as a pskeys bug".into()),
        });
    }
    Ok(text)
}

/// Whether a key that was there (but the one removed) is gone or no longer as it was.
fn existing_keys_changed(config: &Config, patched: &Config, patch: &Patch) -> bool {
    // Every key that was there stays (but the one removed), in order, as it was.
    let mut removed = false;
    let kept: Vec<&Node> = config
        .static_keys()
        .into_iter()
        .filter(|k| {
            // Of duplicates, the first goes.
            let goes = !removed && patch.remove_kid.is_some() && k.kid == patch.remove_kid;
            removed |= goes;
            !goes
        })
        .map(|k| k.node)
        .collect();
    let now: Vec<&Node> = patched.static_keys().into_iter().map(|k| k.node).collect();
    let same = |a: &Node, b: &Node| {
        let any = |_: &str| Some(String::new());
        a.resolve(&any).ok() == b.resolve(&any).ok()
    };
    kept.len() > now.len() || kept.iter().zip(&now).any(|(a, b)| !same(a, b))
}

/// What the patched config lacks of what the patch meant (`None`: all there).
fn missing_after_patch(config: &Config, patched: &Config, patch: &Patch) -> Option<String> {
    if existing_keys_changed(config, patched, patch) {
        return Some("an existing key changed or is missing".to_string());
    }
    if let Some(key) = &patch.add_key
        && let Some(kid) = key.kid()
        && patched.key_by_kid(kid).is_none()
    {
        return Some(format!("key `{kid}` is missing"));
    }
    if let Some(kid) = &patch.remove_kid {
        // One key with that kid goes (of duplicates, the first); one comes back when the
        // new key reuses the kid.
        let count = |c: &Config| {
            c.static_keys()
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                .count()
        };
        let added = usize::from(patch.add_key.as_ref().and_then(NewKey::kid) == Some(kid.as_str()));
        if count(patched) + 1 != count(config) + added {
            return Some(format!("key `{kid}` is still there"));
        }
    }
    if !patch.audiences.is_empty() {
        // `!env` audiences cannot be checked without values; treat them as opaque.
        let got = patched
            .audiences(&|_| Some(String::new()))
            .ok()
            .flatten()
            .unwrap_or_default();
        if let Some(missing) = patch.audiences.iter().find(|a| !got.contains(a)) {
            return Some(format!("audience `{missing}` is missing"));
        }
    }
    if !patch.jwks_uris.is_empty() || !patch.set.is_empty() {
        // Only `jwks_uri` itself: another setting may not resolve (a key reading a
        // variable without the `PS_` prefix), which is doctor's business, not the patch's.
        let uri = patched
            .client_auth()
            .and_then(|a| a.get("jwks_uri"))
            .and_then(|n| n.resolve(&|_| Some(String::new())).ok());
        let uris: Vec<&str> = match uri.as_ref() {
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            Some(serde_json::Value::Array(items)) => {
                items.iter().filter_map(|v| v.as_str()).collect()
            }
            _ => Vec::new(),
        };
        if let Some(missing) = patch.jwks_uris.iter().find(|u| !uris.contains(&u.as_str())) {
            return Some(format!("jwks_uri `{missing}` is missing"));
        }
        for (key, value) in &patch.set {
            let node = patched
                .client_auth()
                .and_then(|a| a.get(key))
                .map(|n| &n.value);
            let ok = match value {
                Field::Bool(b) => node == Some(&Value::Bool(*b)),
                Field::Str(s) => node == Some(&Value::Str(s.clone())),
                Field::Env { name, value } => match (config.format, node) {
                    (Format::Yaml, Some(Value::Env { name: n, .. })) => n == name,
                    (Format::Json, Some(Value::Str(v))) => v == value,
                    _ => false,
                },
            };
            if !ok {
                return Some(format!("`client_auth.{key}` was not set"));
            }
        }
    }
    None
}
