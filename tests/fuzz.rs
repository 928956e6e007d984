//! Fuzz targets, property-based: the YAML and JSON readers and patchers, the `.env`
//! editor and the token parser, on mutations of real inputs (this repository's fixtures,
//! a real config, real tokens). No input panics; the editors, whenever they accept an
//! input, keep every other byte and read back what they wrote.
//!
//! `.ci/run` runs 10,000 cases per target with a fixed seed. For a longer local run:
//! `PSKEYS_FUZZ_CASES=1000000 PROPTEST_RNG_SEED=$RANDOM cargo test --release --test fuzz`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use pskeys::config::{Config, Field, NewKey, Patch, apply};
use pskeys::envfile::EnvFile;

/// Cases per target: `PSKEYS_FUZZ_CASES`, 10,000 by default.
fn cases() -> u32 {
    std::env::var("PSKEYS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // Mutations that the readers refuse are the point, not a reason to stop.
        max_global_rejects: u32::MAX,
        ..ProptestConfig::default()
    }
}

/// Every fixture config, YAML and JSON.
fn seeds(json: bool) -> &'static [String] {
    static YAML: OnceLock<Vec<String>> = OnceLock::new();
    static JSON: OnceLock<Vec<String>> = OnceLock::new();
    let cell = if json { &JSON } else { &YAML };
    cell.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut out = Vec::new();
        for dir in std::fs::read_dir(root).unwrap().flatten() {
            for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                let path = f.path();
                let is_json = path.extension().is_some_and(|e| e == "json");
                if is_json == json
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    out.push(text);
                }
            }
        }
        if !json {
            out.push(include_str!("../templates/powersync.yaml").to_string());
        }
        assert!(!out.is_empty());
        out
    })
}

/// One edit of a text: insert, delete or replace a piece at a position.
#[derive(Debug, Clone)]
enum Edit {
    Insert(f64, String),
    Delete(f64, usize),
    Replace(f64, usize, String),
}

fn pieces(json: bool) -> impl Strategy<Value = String> {
    let syntax: Vec<&str> = if json {
        vec![
            "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u00", "null", "1e999", "-", " ", "\n",
            "\t", "\u{feff}", "\"a\": 1", "\u{0}",
        ]
    } else {
        vec![
            ":",
            "- ",
            "  ",
            "\n",
            "\t",
            "#",
            "'",
            "\"",
            "!env ",
            "!env PS_X",
            "&a ",
            "*a",
            "[",
            "]",
            "{",
            "}",
            ",",
            "? ",
            "|",
            ">-",
            "---",
            "...",
            "%YAML 1.2\n",
            "<<: *a",
            "\r\n",
            "\u{feff}",
            "${PS_X}",
            "kid: ",
            "k: ",
            "audience: ",
            "\u{0}",
            "!!str ",
        ]
    };
    prop_oneof![
        4 => prop::sample::select(syntax).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ]
}

fn edits(json: bool) -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (0.0..1.0f64, pieces(json)).prop_map(|(f, s)| Edit::Insert(f, s)),
            (0.0..1.0f64, 1usize..12).prop_map(|(f, n)| Edit::Delete(f, n)),
            (0.0..1.0f64, 1usize..6, pieces(json)).prop_map(|(f, n, s)| Edit::Replace(f, n, s)),
        ],
        0..4,
    )
}

fn at(text: &str, fraction: f64) -> usize {
    let mut i = ((text.len() as f64) * fraction) as usize;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutate(mut text: String, edits: &[Edit]) -> String {
    for e in edits {
        match e {
            Edit::Insert(f, s) => {
                let i = at(&text, *f);
                text.insert_str(i, s);
            }
            Edit::Delete(f, n) | Edit::Replace(f, n, _) => {
                let i = at(&text, *f);
                let mut j = (i + n).min(text.len());
                while !text.is_char_boundary(j) {
                    j += 1;
                }
                let with = match e {
                    Edit::Replace(_, _, s) => s.as_str(),
                    _ => "",
                };
                text.replace_range(i..j, with);
            }
        }
    }
    text
}

/// The patch `init` makes most: a key and the audiences.
fn patch() -> Patch {
    Patch {
        add_key: Some(NewKey {
            fields: vec![
                ("kty".into(), Field::Str("oct".into())),
                ("alg".into(), Field::Str("HS256".into())),
                ("kid".into(), Field::Str("fuzz-kid".into())),
                (
                    "k".into(),
                    Field::Env {
                        name: "PS_FUZZ".into(),
                        value: "x".into(),
                    },
                ),
            ],
        }),
        audiences: vec!["powersync".into()],
        ..Patch::default()
    }
}

/// A parsed value without its positions (`!env NAME` kept as that text).
fn shape(node: &pskeys::config::node::Node) -> serde_json::Value {
    use pskeys::config::node::Value as V;
    use serde_json::Value as J;
    match &node.value {
        V::Null => J::Null,
        V::Bool(b) => J::Bool(*b),
        V::Int(i) => J::from(*i),
        V::Float(f) => J::String(f.to_string()),
        V::Str(s) => J::String(s.clone()),
        V::Env { name, conv } => J::String(format!("!env {name} {conv:?}")),
        V::Seq(items) => J::Array(items.iter().map(shape).collect()),
        V::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Whenever a config parses, the patch is refused or keeps every original line in order,
/// parses back, and holds the key and the audience.
fn check_patch(name: &str, text: &str) -> Result<(), TestCaseError> {
    let Ok(config) = Config::parse(Path::new(name), text.to_string()) else {
        return Ok(());
    };
    let env = pskeys::env::Env::with_process(std::iter::empty(), std::iter::empty());
    let _ = pskeys::service::rules::config_findings(&config, &env);
    let Ok(out) = apply(&config, &patch()) else {
        return Ok(());
    };
    let patched = Config::parse(Path::new(name), out.clone());
    prop_assert!(patched.is_ok(), "the patch does not parse:\n{}", out);
    let patched = patched.unwrap();
    prop_assert!(patched.key_by_kid("fuzz-kid").is_some(), "{}", out);
    // (an `!env` entry reads as its own name here)
    let audiences = patched.audiences(&|name| Some(name.to_string()));
    prop_assert!(
        matches!(&audiences, Ok(Some(a)) if a.contains(&"powersync".to_string())),
        "{:?}\n{}",
        audiences,
        out
    );
    // Nothing else changes: every setting outside `client_auth`, every other member of
    // it, and the keys already there read back the same (line-exact losslessness is
    // proved on the generated shapes in `yaml_edit_api.rs` and `properties.rs`).
    let values = |c: &Config| shape(&c.root);
    let (mut before, mut after) = (values(&config), values(&patched));
    // An empty file (null) gains its first mapping.
    if before.is_null() {
        before = serde_json::json!({});
    }
    let (old_auth, new_auth) = (
        before.as_object_mut().and_then(|m| m.remove("client_auth")),
        after.as_object_mut().and_then(|m| m.remove("client_auth")),
    );
    prop_assert_eq!(
        &before,
        &after,
        "settings outside client_auth changed:\n{}",
        out
    );
    if let (Some(serde_json::Value::Object(mut old)), Some(serde_json::Value::Object(mut new))) =
        (old_auth, new_auth)
    {
        let keys = |m: &mut serde_json::Map<String, serde_json::Value>| {
            m.get_mut("jwks")
                .and_then(|j| j.as_object_mut())
                .and_then(|j| j.remove("keys"))
                .and_then(|k| k.as_array().cloned())
                .unwrap_or_default()
        };
        let (old_keys, new_keys) = (keys(&mut old), keys(&mut new));
        for m in [&mut old, &mut new] {
            if m.get("jwks")
                .is_some_and(|j| j.is_null() || j.as_object().is_some_and(|o| o.is_empty()))
            {
                m.remove("jwks");
            }
        }
        prop_assert!(new_keys.starts_with(&old_keys), "keys changed:\n{}", out);
        old.remove("audience");
        new.remove("audience");
        prop_assert_eq!(old, new, "client_auth changed:\n{}", out);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn yaml_reader_and_patcher(seed in 0..64usize, edits in edits(false)) {
        let seeds = seeds(false);
        let text = mutate(seeds[seed % seeds.len()].clone(), &edits);
        check_patch("powersync.yaml", &text)?;
    }

    #[test]
    fn json_reader_and_patcher(seed in 0..64usize, edits in edits(true)) {
        let seeds = seeds(true);
        let text = mutate(seeds[seed % seeds.len()].clone(), &edits);
        check_patch("config.json", &text)?;
    }

    #[test]
    fn env_editor(
        lines in prop::collection::vec(
            prop_oneof![
                "[A-Z_]{1,6}=[ -~]{0,12}",
                "export [A-Z_]{1,4}='[ -~]{0,8}'",
                "[A-Z_]{1,4}=\"[ -~\\n]{0,8}\"",
                "# [ -~]{0,10}",
                "\\PC{0,10}",
                Just(String::new()),
            ],
            0..8,
        ),
        crlf in any::<bool>(),
        key in "[A-Z_][A-Z0-9_]{0,5}",
        value in "\\PC{0,16}",
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let text = lines.join(eol);
        let Ok(env) = EnvFile::parse(Path::new(".env"), text.clone(), true) else {
            return Ok(());
        };
        let mut edited = env.clone();
        if edited.set(&key, &value).is_ok() {
            let back = EnvFile::parse(Path::new(".env"), edited.text().to_string(), true);
            prop_assert!(back.is_ok(), "{:?}", edited.text());
            let back = back.unwrap();
            prop_assert_eq!(back.get(&key), Some(value.as_str()));
            for (k, v) in env.vars() {
                if k != &key {
                    prop_assert_eq!(back.get(k), env.get(k), "{} changed", k);
                    let _ = v;
                }
            }
        } else {
            prop_assert_eq!(edited.text(), text.as_str());
        }
    }

    #[test]
    fn token_parser(token in token(), edits in edits(true)) {
        let token = mutate(token, &edits);
        let _ = pskeys::jws::Jws::parse(&token);
        let store = store();
        let _ = pskeys::service::verify::verify(store, &token, 1_750_000_000);
    }
}

/// A real token, or text shaped like one.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(real_token().to_string()),
        "[A-Za-z0-9_-]{0,30}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,40}",
        "\\PC{0,40}",
    ]
}

fn minter() -> &'static pskeys::minter::Minter {
    static MINTER: OnceLock<pskeys::minter::Minter> = OnceLock::new();
    MINTER.get_or_init(|| {
        let text = "client_auth:\n  jwks:\n    keys:\n      - {kty: oct, alg: HS256, kid: k1, k: c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0}\n  audience: [powersync]\n";
        let config = Config::parse(Path::new("powersync.yaml"), text.to_string()).unwrap();
        let env = pskeys::env::Env::with_process(std::iter::empty(), std::iter::empty());
        pskeys::minter::Minter::new(&config, &env, Some("k1")).unwrap()
    })
}

fn store() -> &'static pskeys::service::keystore::KeyStore {
    minter().store()
}

fn real_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let spec = pskeys::minter::TokenSpec::new("user-1")
            .claim("parameters", serde_json::json!({"team": "a"}));
        minter().mint(&spec, 1_750_000_000).unwrap().token
    })
}
