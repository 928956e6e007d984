//! Property tests for the two lossless editors: for generated inputs, every byte outside
//! the change is kept and the result reads back to the intended value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod shapes;

use std::path::Path;

use proptest::prelude::*;
use pskeys::config::{Config, Field, NewKey, Patch, apply};
use pskeys::envfile::EnvFile;

fn env_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "# [a-z ]{0,12}".prop_map(|s| s),
        ("[A-Z][A-Z0-9_]{0,6}", "[a-z0-9]{0,8}").prop_map(|(k, v)| format!("{k}={v}")),
        ("[A-Z][A-Z0-9_]{0,6}", "[a-z0-9 ]{0,8}").prop_map(|(k, v)| format!("export {k}='{v}'")),
        ("[A-Z][A-Z0-9_]{0,6}", "[a-z0-9 ]{0,8}").prop_map(|(k, v)| format!("{k}=\"{v}\"")),
    ]
}

proptest! {
    #[test]
    fn env_set_keeps_other_lines(lines in prop::collection::vec(env_line(), 0..8), crlf: bool, value in "[ -~]{0,40}") {
        let nl = if crlf { "\r\n" } else { "\n" };
        let text: String = lines.iter().map(|l| format!("{l}{nl}")).collect();
        let mut env = EnvFile::parse(Path::new(".env"), text.clone(), true).unwrap();
        let original = env.clone();
        env.set("PSKEYS_TEST_VAR", &value).unwrap();
        // The old text is a prefix: only lines were appended.
        prop_assert!(env.text.starts_with(&text));
        prop_assert_eq!(env.get("PSKEYS_TEST_VAR"), Some(value.as_str()));
        // Read back with dotenvy from scratch: every other variable is unchanged.
        let again = EnvFile::parse(Path::new(".env"), env.text.clone(), true).unwrap();
        for (k, _) in original.vars() {
            prop_assert_eq!(again.get(k), original.get(k));
        }
        if crlf && !text.is_empty() {
            prop_assert!(!env.text.replace("\r\n", "").contains('\n'));
        }
    }

    #[test]
    fn env_update_changes_only_that_value(lines in prop::collection::vec(env_line(), 1..8), value in "[a-zA-Z0-9+/=]{1,30}") {
        let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        text.push_str("PSKEYS_KID=old # keep me\n");
        let mut env = EnvFile::parse(Path::new(".env"), text.clone(), true).unwrap();
        env.set("PSKEYS_KID", &value).unwrap();
        prop_assert_eq!(env.text, text.replace("PSKEYS_KID=old # keep me", &format!("PSKEYS_KID={value} # keep me")));
    }
}

/// Generated YAML configs: sections with comments, blank lines and various audiences
/// (the grammar is `tests/shapes`, which `tests/yaml_edit_api.rs` enumerates).
fn yaml_config() -> impl Strategy<Value = String> {
    let comment = prop_oneof![Just(String::new()), "# [a-z ]{1,20}\n".prop_map(|s| s)];
    (
        comment.clone(),
        1u16..9000,
        comment,
        prop::sample::select(&shapes::KEYS[..]),
        prop::sample::select(&shapes::AUDIENCES[..]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(c1, port, c2, keys, aud, has_auth, crlf)| {
            shapes::config(&c1, port, &c2, keys, aud, has_auth, crlf)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn yaml_patch_keeps_every_original_line(text in yaml_config()) {
        let config = Config::parse(Path::new("powersync.yaml"), text.clone()).unwrap();
        let patch = Patch {
            remove_kid: None,
            add_key: Some(NewKey { fields: vec![
                ("kty".into(), Field::Str("oct".into())),
                ("alg".into(), Field::Str("HS256".into())),
                ("kid".into(), Field::Str("new-kid".into())),
                ("k".into(), Field::Env { name: "PS_NEW".into(), value: "x".into() }),
            ]}),
            audiences: vec!["powersync".into()],
            ..Patch::default()
        };
        let out = apply(&config, &patch).unwrap();
        let patched = Config::parse(Path::new("powersync.yaml"), out.clone()).unwrap();
        // The intended value.
        prop_assert!(patched.key_by_kid("new-kid").is_some());
        prop_assert!(patched.audiences(&|_| None).unwrap().unwrap().contains(&"powersync".to_string()));
        let old_keys: Vec<_> = config.static_keys().iter().map(|k| k.node.clone()).collect();
        let new_keys: Vec<_> = patched.static_keys().iter().map(|k| k.node.clone()).collect();
        prop_assert_eq!(&new_keys[..old_keys.len()], &old_keys[..]);
        prop_assert_eq!(patched.root.get("port"), config.root.get("port"));
        // Every original line is still there, in order (lines that grew keep their start).
        let mut rest = out.as_str();
        for line in text.split_inclusive('\n') {
            let stem = line.trim_end().trim_end_matches([']', '}']);
            let at = rest.find(stem);
            prop_assert!(at.is_some(), "lost line {:?} in\n{}", line, out);
            rest = &rest[at.unwrap() + stem.len()..];
        }
        if text.contains("\r\n") {
            prop_assert!(!out.replace("\r\n", "").contains('\n'));
        }
    }
}
