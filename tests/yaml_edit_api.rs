//! yaml-edit's own editing API (`Mapping::set`, `Sequence::push`, `Sequence::remove`)
//! against pskeys' `config::apply`, edit kind by edit kind (remove a key, add a key,
//! audiences, `jwks_uri`, scalar settings), on every fixture, every real-world config in
//! `../shared/fixtures/real-world`, every shape `tests/properties.rs` generates and some
//! hand-made layouts. Each output, ours and the library's, must be lossless (every original
//! line still there, in order) and read back to the intended value. Where the two differ,
//! the difference must be one of the layouts yaml-edit 0.3.6 gets wrong ([`Known`]; for
//! those `src/config/yaml_patch.rs` splices by hand), and each of those must still show
//! somewhere, so a yaml-edit upgrade that fixes one fails here and says so.
//!
//! `cargo test --test yaml_edit_api -- --nocapture` prints, per edit kind, how many cases
//! agree and one diff for each kind of difference; `CASE=<part of a name> cargo test --test
//! yaml_edit_api show -- --ignored --nocapture` prints the outputs for matching inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod shapes;

use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr as _;

use pskeys::config::{Config, Field, NewKey, Patch, apply};
use yaml_edit::{Mapping, ScalarValue, Sequence, YamlFile, YamlNode};

/// The real-world configs (third-party files: read in place, never copied in).
const REAL_WORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real-world");

// ---------------------------------------------------------------------------------------
// Inputs

fn read_dir_yaml(dir: &Path, file: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let path = match file {
            Some(f) => path.join(f),
            None if path.extension().is_some_and(|e| e == "yaml") => path,
            None => continue,
        };
        if path.is_file() {
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    out.sort();
    out
}

/// Every input: fixtures, real-world configs, generated shapes, and a few hand-made ones.
fn inputs() -> Vec<(String, String)> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut all: Vec<(String, String)> = read_dir_yaml(&fixtures, Some("powersync.yaml"))
        .into_iter()
        .map(|(n, t)| (format!("fixture {n}"), t))
        .collect();
    let real = Path::new(REAL_WORLD);
    assert!(
        real.is_dir(),
        "`{REAL_WORLD}` is missing: this test reads the real-world configs from shared/ \
         beside the repository (CI lays a copy there)"
    );
    let real = read_dir_yaml(real, None);
    assert!(!real.is_empty(), "no .yaml file in `{REAL_WORLD}`");
    all.extend(
        real.into_iter()
            .map(|(n, t)| (format!("real-world {n}"), t)),
    );
    all.extend(
        shapes::all()
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("generated #{i}"), t)),
    );
    for (name, text) in [
        ("client_auth: ~", "port: 1\nclient_auth: ~\napi: {}\n"),
        ("client_auth: null", "port: 1\nclient_auth: null\n"),
        ("flow root", "{port: 1, client_auth: {audience: [a]}}\n"),
        ("no final newline", "port: 1\nclient_auth:\n  audience: a"),
        (
            "dash at key column",
            "client_auth:\n  jwks:\n    keys:\n    - kty: oct\n      kid: 'x1'\n  audience:\n  - a\n",
        ),
        (
            "flow keys, trailing comma",
            "client_auth:\n  jwks:\n    keys: [{kid: 'x1', kty: oct}, ]\n  audience: [\"a\",]\n",
        ),
        (
            "jwks_uri list",
            "client_auth:\n  jwks_uri:\n    - 'https://a.example/jwks'\n",
        ),
        (
            "supabase false",
            "client_auth:\n  supabase: false # off for now\n  audience: ['authenticated']\n",
        ),
        ("client_auth: {}", "port: 1\nclient_auth: {}\n"),
        (
            "flow client_auth",
            "client_auth: {audience: [a], jwks: {keys: [{kid: 'a', kty: oct}, {kid: 'b', kty: oct}]}}\n",
        ),
        (
            "three-space indent, key-line comments",
            "client_auth: # auth\n   jwks: # keys\n      keys: # list\n         - kid: 'a' # first\n           kty: oct\n   audience: a # one\n",
        ),
        (
            "wide dash gap at indent 4",
            "client_auth:\n    jwks:\n        keys:\n        # first\n        -   kty: oct\n            kid: 'old'\n            k: abc\n    audience: [\"powersync\"]  # trailing\nport: 8080\n",
        ),
        (
            "comments after client_auth's last entry",
            "client_auth:\n  audience: [a]\n  # more auth later\n\n# the API\napi:\n  tokens: [t]\n",
        ),
        (
            "null keys with a comment",
            "client_auth:\n  jwks:\n    keys:\n    # none yet\n  audience: [a]\n",
        ),
        (
            "quoted keys",
            "'client_auth':\n  \"audience\": a\n  \"jwks\": {\"keys\": []}\n",
        ),
        (
            "env audience",
            "client_auth:\n  audience: [!env PS_AUD]\n  jwks_uri: !env PS_JWKS\n",
        ),
        (
            "three keys, comments between, blank line after",
            "client_auth:\n  jwks:\n    keys:\n      - kid: 'a'\n        kty: oct\n      # b\n      - kid: 'b'\n        kty: oct\n\n      - kid: 'c'\n        kty: oct\n\n  audience: [a]\n",
        ),
        (
            "flow keys over lines",
            "client_auth:\n  jwks:\n    keys: [\n      {kid: 'a', kty: oct},\n      {kid: 'b', kty: oct}\n    ]\n",
        ),
        (
            "bom and crlf",
            "\u{feff}# c\r\nport: 1\r\nclient_auth:\r\n  audience: a\r\n",
        ),
        (
            "wide dash gap in a block audience",
            "client_auth:\n  audience:\n    -   a\n    -   b\n",
        ),
        (
            "indent 4, block keys",
            "client_auth:\n    jwks:\n        keys:\n            - kty: oct\n              kid: 'a'\n    audience:\n        - a\n",
        ),
        (
            "indent 4, audience only",
            "storage:\n    type: mongodb\nclient_auth:\n    audience: [a]\n",
        ),
        ("indent 4, no client_auth", "storage:\n    type: mongodb\n"),
        ("flow root, null client_auth", "{port: 1, client_auth: ~}\n"),
        (
            "null audience, jwks, supabase",
            "client_auth:\n  audience: ~\n  jwks:\n  # later\n  supabase:\napi: {}\n",
        ),
        ("null keys", "client_auth:\n  jwks:\n    keys: ~ # none\n"),
        ("document start", "---\nport: 1\n"),
        ("template", pskeys::config::TEMPLATE),
    ] {
        all.push((format!("hand-made {name}"), text.to_string()));
    }
    all
}

// ---------------------------------------------------------------------------------------
// The edits

/// One edit of one kind, as a pskeys patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    RemoveKey,
    AddKey,
    Audience,
    JwksUri,
    SetScalar,
}

const KINDS: [Kind; 5] = [
    Kind::RemoveKey,
    Kind::AddKey,
    Kind::Audience,
    Kind::JwksUri,
    Kind::SetScalar,
];

fn new_key(kid: &str) -> NewKey {
    NewKey {
        fields: vec![
            ("kty".into(), Field::Str("oct".into())),
            ("alg".into(), Field::Str("HS256".into())),
            ("kid".into(), Field::Str(kid.into())),
            (
                "k".into(),
                Field::Env {
                    name: "PS_CLIENT_AUTH_KEY".into(),
                    value: "x".into(),
                },
            ),
        ],
    }
}

fn config(text: &str) -> Config {
    Config::parse(Path::new("powersync.yaml"), text.to_string()).unwrap()
}

/// The patches of one kind worth trying on `text`.
fn patches(kind: Kind, text: &str) -> Vec<Patch> {
    let c = config(text);
    let p = Patch::default;
    match kind {
        Kind::RemoveKey => c
            .static_keys()
            .iter()
            .filter_map(|k| k.kid.clone())
            .map(|kid| Patch {
                remove_kid: Some(kid),
                ..p()
            })
            .collect(),
        Kind::AddKey => vec![Patch {
            add_key: Some(new_key("new-kid")),
            ..p()
        }],
        Kind::Audience => {
            let mut v = vec![
                vec!["powersync-dev".to_string(), "powersync".to_string()],
                vec!["authenticated".to_string()],
            ];
            // doctor's fix: a scalar audience becomes a list of itself.
            if let Some(aud) = c
                .client_auth()
                .and_then(|a| a.get("audience"))
                .and_then(|n| n.as_str())
            {
                v.push(vec![aud.to_string()]);
            }
            v.into_iter()
                .map(|audiences| Patch { audiences, ..p() })
                .collect()
        }
        Kind::JwksUri => [
            vec!["https://example.com/jwks.json".to_string()],
            vec![
                "https://a.example/jwks".to_string(),
                "https://b.example/jwks".to_string(),
            ],
        ]
        .into_iter()
        .map(|jwks_uris| Patch { jwks_uris, ..p() })
        .collect(),
        Kind::SetScalar => [
            ("supabase", Field::Bool(true)),
            (
                "supabase_jwt_secret",
                Field::Env {
                    name: "PS_SUPABASE_JWT_SECRET".into(),
                    value: "s".into(),
                },
            ),
        ]
        .into_iter()
        .map(|(k, f)| Patch {
            set: vec![(k.to_string(), f)],
            ..p()
        })
        .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// The same edits through yaml-edit's API only: find, then set/push/remove; no splicing.

mod yaml_edit_only {
    use super::*;

    /// A field as a yaml-edit value: strings single-quoted, `!env NAME` tagged, bools plain.
    pub fn field(f: &Field) -> ScalarValue {
        match f {
            Field::Bool(b) => ScalarValue::from(*b),
            Field::Str(s) => ScalarValue::single_quoted(s.clone()),
            Field::Env { name, .. } => ScalarValue::plain(name.clone()).with_tag("!env"),
        }
    }

    /// A string item in the quote style of `like` (the list's first item), as ours does:
    /// plain only where a plain scalar reads back as that string, else single quotes.
    pub fn string_like(s: &str, like: Option<&YamlNode>) -> ScalarValue {
        let first = like.map(|n| n.to_string());
        let plain_safe = s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            && !matches!(
                s,
                "true" | "false" | "null" | "True" | "False" | "Null" | "TRUE" | "FALSE" | "NULL"
            );
        match first.as_deref().and_then(|t| t.chars().next()) {
            Some('"') => ScalarValue::double_quoted(s),
            Some('\'') | None => ScalarValue::single_quoted(s),
            Some(_) if plain_safe => ScalarValue::plain(s),
            Some(_) => ScalarValue::single_quoted(s),
        }
    }

    fn is_null(n: &YamlNode) -> bool {
        n.as_scalar().is_some_and(|s| s.is_null())
    }

    /// The mapping under `key`, created (block style) when missing or null.
    fn child(map: &Mapping, key: &str) -> Result<Mapping, String> {
        match map.get(key) {
            Some(v) if !is_null(&v) => v
                .as_mapping()
                .cloned()
                .ok_or_else(|| format!("`{key}` is not a mapping")),
            _ => {
                map.set(key, Mapping::new());
                map.get_mapping(key)
                    .ok_or_else(|| "set did not stick".into())
            }
        }
    }

    fn client_auth(file: &YamlFile) -> Result<Mapping, String> {
        let doc = file.ensure_document();
        if doc.as_mapping().is_none() && !doc.set("client_auth", Mapping::new()) {
            return Err("the root is not a mapping".into());
        }
        child(&doc.as_mapping().ok_or("no root mapping")?, "client_auth")
    }

    fn remove_key(file: &YamlFile, kid: &str) -> Result<(), String> {
        let keys = client_auth(file)?
            .get_mapping("jwks")
            .and_then(|j| j.get_sequence("keys"))
            .ok_or("no keys")?;
        let at = keys
            .values()
            .position(|k| {
                k.get("kid")
                    .and_then(|v| v.as_scalar().map(|s| s.as_string()))
                    .as_deref()
                    == Some(kid)
            })
            .ok_or("no such kid")?;
        keys.remove(at);
        Ok(())
    }

    fn add_key(file: &YamlFile, key: &NewKey) -> Result<(), String> {
        let jwks = child(&client_auth(file)?, "jwks")?;
        let keys = match jwks.get("keys") {
            Some(v) if !is_null(&v) => v.as_sequence().cloned().ok_or("keys is not a list")?,
            _ => {
                jwks.set("keys", Sequence::new());
                jwks.get_sequence("keys").ok_or("set did not stick")?
            }
        };
        let jwk = Mapping::new();
        for (name, value) in &key.fields {
            jwk.set(name.as_str(), field(value));
        }
        keys.push(&jwk);
        Ok(())
    }

    /// `name` holds every string of `items`: pushed onto a list, a scalar turned into a
    /// list that keeps it first, or a new flow list (a lone scalar when `scalar_ok`).
    fn strings(
        file: &YamlFile,
        name: &str,
        items: &[String],
        scalar_ok: bool,
    ) -> Result<(), String> {
        let auth = client_auth(file)?;
        let current = auth.get(name).filter(|v| !is_null(v));
        let text_of = |n: &YamlNode| n.as_scalar().map(|s| s.as_string());
        match current {
            Some(v) if v.is_sequence() => {
                let seq = v.as_sequence().cloned().ok_or("not a list")?;
                let have: Vec<String> = seq.values().filter_map(|n| text_of(&n)).collect();
                let first = seq.first();
                for item in items.iter().filter(|i| !have.contains(i)) {
                    seq.push(string_like(item, first.as_ref()));
                }
            }
            Some(v) => {
                let old = text_of(&v).unwrap_or_default();
                let missing: Vec<&String> = items.iter().filter(|i| **i != old).collect();
                if missing.is_empty() && scalar_ok {
                    return Ok(());
                }
                let list = Sequence::new_flow();
                list.push(&v);
                for item in missing {
                    list.push(string_like(item, Some(&v)));
                }
                auth.set(name, &list);
            }
            None if scalar_ok && items.len() == 1 => {
                auth.set(name, ScalarValue::single_quoted(items[0].clone()));
            }
            None => {
                let list = Sequence::new_flow();
                for item in items {
                    list.push(ScalarValue::single_quoted(item.clone()));
                }
                auth.set(name, &list);
            }
        }
        Ok(())
    }

    /// The patch, edit by edit in `apply`'s order.
    pub fn apply(text: &str, patch: &Patch) -> Result<String, String> {
        let file = YamlFile::from_str(text).map_err(|e| e.to_string())?;
        if let Some(kid) = &patch.remove_kid {
            remove_key(&file, kid)?;
        }
        if let Some(key) = &patch.add_key {
            add_key(&file, key)?;
        }
        if !patch.audiences.is_empty() {
            strings(&file, "audience", &patch.audiences, false)?;
        }
        if !patch.jwks_uris.is_empty() {
            strings(&file, "jwks_uri", &patch.jwks_uris, true)?;
        }
        for (key, value) in &patch.set {
            client_auth(&file)?.set(key.as_str(), field(value));
        }
        Ok(file.to_string())
    }
}

// ---------------------------------------------------------------------------------------
// Judging one output

/// Every original line is still there, in order, as `tests/properties.rs` checks: whole,
/// or grown by insertions only (`a: x # c` -> `a: [x, y] # c`). A removal may take out one
/// span holding the removed kid, leaving at most `[]`, commas and white space in its place.
fn lossless(before: &str, after: &str, patch: &Patch) -> Result<(), String> {
    let removed = patch.remove_kid.as_deref();
    if before.contains("\r\n") && after.replace("\r\n", "").contains('\n') {
        return Err("CRLF lost: a bare LF in the output".into());
    }
    if before.starts_with('\u{feff}') && !after.starts_with('\u{feff}') {
        return Err("BOM lost".into());
    }
    if let Some(kid) = removed {
        // Words, ignoring white space, commas and brackets: the output's must be the
        // input's less one run that holds the kid.
        let words = |t: &str| -> Vec<String> {
            t.replace(['[', ']', ','], " ")
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        let (a, b) = (words(before), words(after));
        let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let tail = a[head..]
            .iter()
            .rev()
            .zip(b[head..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        if head + tail != b.len() {
            return Err(format!(
                "changed beyond the removed key: {:?}",
                &b[head..b.len() - tail]
            ));
        }
        let gone = &a[head..a.len() - tail];
        if !gone.iter().any(|w| w.contains(kid)) {
            return Err(format!("removed {gone:?}, which does not hold the kid"));
        }
        return Ok(());
    }
    let out: Vec<&str> = after.lines().collect();
    let mut j = 0;
    for line in before.lines() {
        let grown = |o: &str| {
            if line.trim().is_empty() {
                return o == line;
            }
            // A value the patch sets may change: the key and a comment after it stay.
            let (code, comment) = line.split_once(" #").unwrap_or((line, ""));
            if let Some((key, _)) = code.split_once(':')
                && patch.set.iter().any(|(k, _)| k == key.trim())
            {
                return o.starts_with(&format!("{key}:")) && o.ends_with(comment);
            }
            // An explicit null gives way to the value put there.
            [
                line.to_string(),
                line.replacen(": ~", ":", 1),
                line.replacen(": null", ":", 1),
            ]
            .iter()
            .any(|l| {
                let stem = l.trim_end().trim_end_matches([']', '}']);
                let mut rest = o.chars();
                o.starts_with(stem) || l.chars().all(|c| rest.any(|x| x == c))
            })
        };
        match out[j..].iter().position(|o| grown(o)) {
            Some(at) => j += at + 1,
            None => return Err(format!("lost line {line:?}")),
        }
    }
    Ok(())
}

/// The output reads back to what the patch meant.
fn correct(before: &str, after: &str, patch: &Patch) -> Result<(), String> {
    let old = config(before);
    let new = Config::parse(Path::new("powersync.yaml"), after.to_string())
        .map_err(|e| format!("does not parse: {e}"))?;
    if let Some(kid) = &patch.remove_kid {
        if new.key_by_kid(kid).is_some() {
            return Err(format!("key {kid} still there"));
        }
        let kept = |c: &Config| {
            c.static_keys()
                .iter()
                .filter(|k| k.kid.as_deref() != Some(kid))
                .map(|k| k.node.resolve(&|_| Some("v".into())).ok())
                .collect::<Vec<_>>()
        };
        if kept(&old) != kept(&new) {
            return Err("other keys changed".into());
        }
    }
    if let Some(key) = &patch.add_key {
        let old_keys: Vec<_> = old.static_keys().iter().map(|k| k.node.clone()).collect();
        let new_keys: Vec<_> = new.static_keys().iter().map(|k| k.node.clone()).collect();
        if new_keys.len() != old_keys.len() + 1 || new_keys[..old_keys.len()] != old_keys[..] {
            return Err("the old keys are not kept, in order, with one more".into());
        }
        if new.key_by_kid(key.kid().unwrap_or("")).is_none() {
            return Err("new key missing".into());
        }
    }
    if !patch.audiences.is_empty() {
        let got = new
            .audiences(&|_| Some("v".into()))
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let had = old
            .audiences(&|_| Some("v".into()))
            .ok()
            .flatten()
            .unwrap_or_default();
        if let Some(a) = patch
            .audiences
            .iter()
            .chain(&had)
            .find(|a| !got.contains(a))
        {
            return Err(format!("audience {a} missing"));
        }
    }
    let auth = |c: &Config| {
        c.client_auth()
            .and_then(|a| a.resolve(&|_| Some("v".into())).ok())
            .unwrap_or_else(|| serde_json::json!({}))
    };
    if !patch.jwks_uris.is_empty() {
        let uris: Vec<String> = match auth(&new).get("jwks_uri") {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        if let Some(u) = patch.jwks_uris.iter().find(|u| !uris.contains(u)) {
            return Err(format!("jwks_uri {u} missing"));
        }
    }
    for (key, value) in &patch.set {
        let node = new.client_auth().and_then(|a| a.get(key)).map(|n| &n.value);
        let ok = match value {
            Field::Bool(b) => node == Some(&pskeys::config::node::Value::Bool(*b)),
            Field::Env { name, .. } => {
                matches!(node, Some(pskeys::config::node::Value::Env { name: n, .. }) if n == name)
            }
            Field::Str(s) => node == Some(&pskeys::config::node::Value::Str(s.clone())),
        };
        if !ok {
            return Err(format!("{key} not set"));
        }
    }
    // Nothing else in client_auth, nor outside it, changed.
    let strip = |c: &Config| {
        let mut a = auth(c);
        if let Some(m) = a.as_object_mut() {
            for k in ["jwks", "audience", "jwks_uri"]
                .into_iter()
                .chain(patch.set.iter().map(|(k, _)| k.as_str()))
            {
                m.remove(k);
            }
        }
        a
    };
    if strip(&old) != strip(&new) {
        return Err("another client_auth setting changed".into());
    }
    let others = |c: &Config| {
        let mut root = c.root.resolve(&|_| Some("v".into())).unwrap_or_default();
        if root.is_null() {
            root = serde_json::json!({});
        }
        if let Some(m) = root.as_object_mut() {
            m.remove("client_auth");
        }
        root
    };
    if others(&old) != others(&new) {
        return Err("a setting outside client_auth changed".into());
    }
    Ok(())
}

/// The layouts yaml-edit 0.3.6 gets wrong, where `yaml_patch.rs` therefore splices (its
/// module doc names them): the only ways the library's output may differ from ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// A new top-level section goes right under the last line, with no blank line first.
    NoBlankLine,
    /// A new block collection is indented 2 columns past its key, whatever the file uses.
    IndentTwo,
    /// A new block list item is written `- item`, whatever the list's dash gap.
    DashGapOne,
    /// Removing the last item of a flow list also takes the line break before its `]`.
    BracketPulledUp,
}

const KNOWN: [Known; 4] = [
    Known::NoBlankLine,
    Known::IndentTwo,
    Known::DashGapOne,
    Known::BracketPulledUp,
];

impl Known {
    /// `text` with this layout made the same whoever wrote it.
    fn undo(self, text: &str) -> String {
        let each_line = |f: &dyn Fn(&str) -> String| -> String {
            text.lines().map(|l| format!("{}\n", f(l))).collect()
        };
        match self {
            Known::NoBlankLine => text
                .replace("\r\n", "\n")
                .replace("\n\nclient_auth:", "\nclient_auth:"),
            Known::IndentTwo => each_line(&|l| l.trim_start().to_string()),
            Known::DashGapOne => each_line(&|l| match l.trim_start().strip_prefix('-') {
                Some(item) => format!("- {}", item.trim_start()),
                None => l.trim_start().to_string(),
            }),
            Known::BracketPulledUp => {
                let mut out = String::new();
                for c in text.chars() {
                    if c == ']' {
                        out.truncate(out.trim_end().len());
                    }
                    out.push(c);
                }
                out
            }
        }
    }
}

/// The known layouts that explain the library's output differing from ours: the fewest
/// whose undoing makes the two the same (empty when identical, `None` when nothing does).
fn explain(ours: &str, theirs: &str) -> Option<Vec<Known>> {
    let mut subsets: Vec<Vec<Known>> = (0..1u32 << KNOWN.len())
        .map(|bits| {
            KNOWN
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, k)| *k)
                .collect()
        })
        .collect();
    subsets.sort_by_key(Vec::len);
    subsets.into_iter().find(|known| {
        let undo = |t: &str| known.iter().fold(t.to_string(), |t, k| k.undo(&t));
        undo(ours) == undo(theirs)
    })
}

/// How the library's output differs from ours, in words.
fn difference(ours: &str, theirs: &str) -> String {
    let norm = |s: &str| s.replace("\r\n", "\n");
    if norm(ours) == norm(theirs) {
        return "line endings".into();
    }
    let lines = |s: &str| -> Vec<String> { norm(s).lines().map(str::to_string).collect() };
    let (a, b) = (lines(ours), lines(theirs));
    let non_blank = |v: &[String]| -> Vec<String> {
        v.iter().filter(|l| !l.trim().is_empty()).cloned().collect()
    };
    if non_blank(&a) == non_blank(&b) {
        return "blank lines".into();
    }
    let trimmed = |v: &[String]| -> Vec<String> {
        non_blank(v).iter().map(|l| l.trim().to_string()).collect()
    };
    if trimmed(&a) == trimmed(&b) {
        return "indentation".into();
    }
    let unquoted = |v: &[String]| -> Vec<String> {
        trimmed(v)
            .iter()
            .map(|l| l.replace(['\'', '"'], ""))
            .collect()
    };
    if unquoted(&a) == unquoted(&b) {
        return "quoting".into();
    }
    let mut sa = trimmed(&a);
    let mut sb = trimmed(&b);
    sa.sort();
    sb.sort();
    if sa == sb {
        return "order (entries or comments moved)".into();
    }
    let flowish = |v: &[String]| v.iter().any(|l| l.contains('[') || l.contains('{'));
    if a.len() != b.len() && flowish(&a) != flowish(&b) {
        return "flow vs block".into();
    }
    "other".into()
}

fn unified(ours: &str, theirs: &str) -> String {
    similar::TextDiff::from_lines(ours, theirs)
        .unified_diff()
        .context_radius(2)
        .header("ours", "yaml-edit")
        .to_string()
}

// ---------------------------------------------------------------------------------------
// The comparison

/// What the checks say of one output (ours or the library's).
#[derive(Debug)]
struct Verdict {
    /// The output, or why there is none.
    text: Result<String, String>,
    lossless: Result<(), String>,
    correct: Result<(), String>,
}

impl Verdict {
    fn of(before: &str, patch: &Patch, text: Result<String, String>) -> Verdict {
        let (lossless, correct) = match &text {
            Ok(after) => (
                lossless(before, after, patch),
                correct(before, after, patch),
            ),
            Err(e) => (Err(e.clone()), Err(e.clone())),
        };
        Verdict {
            text,
            lossless,
            correct,
        }
    }

    fn good(&self) -> bool {
        self.lossless.is_ok() && self.correct.is_ok()
    }

    fn summary(&self) -> String {
        match (&self.text, &self.lossless, &self.correct) {
            (Err(e), _, _) => format!("failed ({e})"),
            (Ok(_), Ok(()), Ok(())) => "lossless and correct".into(),
            (Ok(_), l, c) => format!(
                "{}; {}",
                l.as_ref().err().map_or("lossless", |e| e.as_str()),
                c.as_ref().err().map_or("correct", |e| e.as_str())
            ),
        }
    }
}

#[derive(Debug)]
struct Case {
    kind: Kind,
    input: String,
    patch: Patch,
    ours: Verdict,
    theirs: Verdict,
}

impl Case {
    fn identical(&self) -> bool {
        matches!((&self.ours.text, &self.theirs.text), (Ok(a), Ok(b)) if a == b)
    }

    /// The library's output against ours: the kind of difference and the changed lines.
    fn difference(&self) -> (String, String) {
        match (&self.ours.text, &self.theirs.text) {
            (Ok(a), Ok(b)) if a == b => ("identical".into(), String::new()),
            (Ok(a), Ok(b)) => {
                let diff = similar::TextDiff::from_lines(a.as_str(), b.as_str());
                let changed: String = diff
                    .iter_all_changes()
                    .filter(|c| c.tag() != similar::ChangeTag::Equal)
                    .map(|c| format!("{}{}", c.tag(), c.value().replace("new-kid", "…")))
                    .collect();
                let known = explain(a, b).map_or("not a known layout".into(), |k| format!("{k:?}"));
                (format!("{} ({known})", difference(a, b)), changed)
            }
            (Err(_), Ok(_)) => ("ours failed".into(), String::new()),
            (_, Err(_)) => ("yaml-edit failed".into(), String::new()),
        }
    }
}

fn compare() -> Vec<Case> {
    let mut cases = Vec::new();
    for (name, text) in inputs() {
        for kind in KINDS {
            for patch in patches(kind, &text) {
                cases.push(one(kind, &name, &text, &patch));
            }
        }
        // Removing the key we add, as `--force` and `keys retire` do after an `init`.
        let added = apply(
            &config(&text),
            &Patch {
                add_key: Some(new_key("new-kid")),
                ..Patch::default()
            },
        )
        .unwrap();
        let patch = Patch {
            remove_kid: Some("new-kid".into()),
            ..Patch::default()
        };
        cases.push(one(
            Kind::RemoveKey,
            &format!("{name} + added key"),
            &added,
            &patch,
        ));
    }
    cases
}

fn one(kind: Kind, name: &str, text: &str, patch: &Patch) -> Case {
    let ours = apply(&config(text), patch).map_err(|e| e.to_string());
    let theirs = std::panic::catch_unwind(|| yaml_edit_only::apply(text, patch))
        .unwrap_or_else(|_| Err("yaml-edit panicked".into()));
    Case {
        kind,
        input: name.to_string(),
        patch: patch.clone(),
        ours: Verdict::of(text, patch, ours),
        theirs: Verdict::of(text, patch, theirs),
    }
}

/// Per edit kind: counts, then each distinct outcome once with an example and its diff.
fn report(cases: &[Case]) -> String {
    let mut out = String::new();
    for kind in KINDS {
        let of: Vec<&Case> = cases.iter().filter(|c| c.kind == kind).collect();
        let count = |f: &dyn Fn(&Case) -> bool| of.iter().filter(|c| f(c)).count();
        writeln!(
            out,
            "{kind:?}: {} cases; yaml-edit: {} lossless and correct, {} identical to ours; \
             ours: {} lossless and correct",
            of.len(),
            count(&|c| c.theirs.good()),
            count(&|c| c.identical()),
            count(&|c| c.ours.good()),
        )
        .unwrap();
        let keys: Vec<_> = of
            .iter()
            .map(|c| {
                let (what, changed) = c.difference();
                (what, changed, c.ours.summary(), c.theirs.summary())
            })
            .collect();
        let mut seen = Vec::new();
        for (c, k) in of.iter().zip(&keys) {
            if (k.0 == "identical" && c.ours.good() && c.theirs.good()) || seen.contains(&k) {
                continue;
            }
            let n = keys.iter().filter(|o| *o == k).count();
            let example = match (&c.ours.text, &c.theirs.text) {
                (Ok(a), Ok(b)) if a != b => unified(a, b),
                (_, Ok(b)) => b.clone(),
                (Ok(a), _) => a.clone(),
                _ => String::new(),
            };
            writeln!(
                out,
                "  - {}: {n} cases; ours {}; yaml-edit {}; e.g. {} {:?}\n{example}",
                k.0, k.2, k.3, c.input, c.patch
            )
            .unwrap();
            seen.push(k);
        }
    }
    out
}

/// Every edit, both ways: ours and the library's outputs are lossless and correct, and
/// differ only in the known layouts, each of which still shows somewhere.
#[test]
fn yaml_edit_api_against_ours() {
    let cases = compare();
    println!("{}", report(&cases));
    let mut seen = Vec::new();
    for c in &cases {
        let what = format!("{:?} on {} ({:?})", c.kind, c.input, c.patch);
        assert!(c.ours.good(), "{what}: ours is {}", c.ours.summary());
        assert!(
            c.theirs.good(),
            "{what}: yaml-edit's output is {}",
            c.theirs.summary()
        );
        let (Ok(ours), Ok(theirs)) = (&c.ours.text, &c.theirs.text) else {
            unreachable!("both are good");
        };
        let Some(known) = explain(ours, theirs) else {
            panic!(
                "{what}: yaml-edit's output differs from ours beyond the known layouts:\n{}",
                unified(ours, theirs)
            );
        };
        seen.extend(known);
    }
    for k in KNOWN {
        assert!(
            seen.contains(&k),
            "no case shows {k:?} any more: yaml-edit may lay it out right now; \
             see `known_layouts` and use the library for it in yaml_patch.rs"
        );
    }
}

fn add_key() -> Patch {
    Patch {
        add_key: Some(new_key("new-kid")),
        ..Patch::default()
    }
}

fn both(text: &str, patch: &Patch) -> (String, String) {
    (
        apply(&config(text), patch).unwrap(),
        yaml_edit_only::apply(text, patch).unwrap(),
    )
}

const NEW_KEY_LINES: [&str; 4] = [
    "kty: 'oct'",
    "alg: 'HS256'",
    "kid: 'new-kid'",
    "k: !env PS_CLIENT_AUTH_KEY",
];

/// Block lines of the new key, the dash at `dash`, the fields at `fields`.
fn key_lines(dash: usize, fields: usize) -> String {
    NEW_KEY_LINES
        .iter()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!(
                "{}-{}{l}\n",
                " ".repeat(dash),
                " ".repeat(fields - dash - 1)
            ),
            _ => format!("{}{l}\n", " ".repeat(fields)),
        })
        .collect()
}

/// What yaml-edit 0.3.6 lays out wrong, exactly, next to what `yaml_patch.rs` writes
/// instead. A failure here means yaml-edit changed: if it now writes what we write, use it
/// for that case in `yaml_patch.rs` and drop the splice (and the case from [`Known`]).
#[test]
fn known_layouts() {
    // IndentTwo: in a file indented by 4, a new `jwks:` holds `keys:` 2 columns in.
    let text = "storage:\n    type: mongodb\nclient_auth:\n    audience: [a]\n";
    let (ours, theirs) = both(text, &add_key());
    let head = "storage:\n    type: mongodb\nclient_auth:\n    audience: [a]\n    jwks:\n";
    assert_eq!(ours, format!("{head}        keys:\n{}", key_lines(12, 14)));
    assert_eq!(theirs, format!("{head}      keys:\n{}", key_lines(8, 10)));

    // NoBlankLine: a new top-level section sits right under a commented-out one.
    let text = "port: 8080\n\n## MIGRATIONS\n#migrations:\n#  disable_auto_migration: false\n";
    let (ours, theirs) = both(text, &add_key());
    let tail = format!("client_auth:\n  jwks:\n    keys:\n{}", key_lines(6, 8));
    assert_eq!(ours, format!("{text}\n{tail}"));
    assert_eq!(theirs, format!("{text}{tail}"));

    // DashGapOne: a list written `-   item` gets `- item`.
    let text = "client_auth:\n  audience:\n    -   a\n";
    let patch = Patch {
        audiences: vec!["b".into()],
        ..Patch::default()
    };
    let (ours, theirs) = both(text, &patch);
    assert_eq!(ours, format!("{text}    -   b\n"));
    assert_eq!(theirs, format!("{text}    - b\n"));
    let text = "client_auth:\n  jwks:\n    keys:\n      -   kid: 'a'\n          kty: oct\n";
    let (ours, theirs) = both(text, &add_key());
    assert_eq!(ours, format!("{text}{}", key_lines(6, 10)));
    assert_eq!(theirs, format!("{text}{}", key_lines(6, 8)));

    // BracketPulledUp: removing the last item of a flow list whose `]` has its own line.
    let text = "client_auth:\n  jwks:\n    keys: [\n      {kid: 'a'},\n      {kid: 'b'}\n    ]\n";
    let patch = Patch {
        remove_kid: Some("b".into()),
        ..Patch::default()
    };
    let (ours, theirs) = both(text, &patch);
    assert_eq!(
        ours,
        "client_auth:\n  jwks:\n    keys: [\n      {kid: 'a'}\n    ]\n"
    );
    assert_eq!(
        theirs,
        "client_auth:\n  jwks:\n    keys: [\n      {kid: 'a'}]\n"
    );
}
