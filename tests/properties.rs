//! Property tests for the two lossless editors: for generated inputs, every byte outside
//! the change is kept and the result reads back to the intended value. The `.env` reader is
//! judged against dotenvy (the oracle) over the whole dotenv grammar, and what `set` writes
//! is read back by dotenvy and by node's dotenv (tests/interop/dotenv-read.mjs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod shapes;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use pskeys::config::{Config, Field, NewKey, Patch, apply};
use pskeys::envfile::{EnvFile, HEADER, encode_value};

/// Names, repeated across lines. `$` references also name `HOME`, normally set in the
/// process environment, where dotenvy (and so the reader) looks first.
const NAMES: [&str; 6] = ["A", "B_1", "K.x", "_u", "export", "PS_CLIENT_AUTH_KEY"];
const REFS: [&str; 6] = ["A", "B_1", "K", "_u", "HOME", "PSKT_UNSET"];

fn name() -> impl Strategy<Value = String> {
    select(NAMES.to_vec()).prop_map(str::to_string)
}

/// `$NAME`, `${NAME}`, a name `_` ends, a lone `$`, an unclosed `${`.
fn reference() -> impl Strategy<Value = String> {
    (select(REFS.to_vec()), 0..10u8).prop_map(|(n, form)| match form {
        0..=2 => format!("${n}"),
        3..=5 => format!("${{{n}}}"),
        6 | 7 => format!("${n}_x"),
        8 => "$".into(),
        _ => "${".into(),
    })
}

/// The inside of a quoted value: plain text, every escape (and a bad one), references,
/// both quotes, and raw line breaks (multi-line values).
fn quoted_inner() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        4 => "[a-z #'`\"]{1,3}",
        2 => select(vec!["\\n", "\\\\", "\\\"", "\\$", "\\'", "\\ ", "\\t", "\\"]).prop_map(String::from),
        1 => reference(),
        1 => select(vec!["\n", "\r\n"]).prop_map(String::from),
    ];
    prop::collection::vec(part, 0..5).prop_map(|v| v.concat())
}

/// A piece of a value; a value is up to three, so `"x"y`, `'a'$B` and `a\ b` all occur.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_./:+=,@%-]{1,5}",
        1 => "[!*?&;<>(){}|~^`\u{a0}\u{0b}\u{3000}]{1,2}",
        1 => "[a-z]{0,2}#[a-z]{0,2}",
        3 => quoted_inner().prop_map(|s| format!("'{s}'")),
        3 => quoted_inner().prop_map(|s| format!("\"{s}\"")),
        2 => reference(),
        1 => select(vec!["\\ ", "\\$", "\\n", "\\\\", "\\q", "\\"]).prop_map(String::from),
        1 => select(vec![" x", "\tx"]).prop_map(String::from),
    ]
}

/// What may follow a value: blanks, comments with and without a blank before `#`, and
/// comments holding quotes (which dotenvy's line joiner sees when no blank precedes `#`).
fn suffix() -> impl Strategy<Value = &'static str> {
    select(vec![
        "", "", "", " # c", "  # c", "\t#c", "#c", " #it's", "  #\"q", " #", " ", "  ", "\u{a0}#c",
    ])
}

fn assignment() -> impl Strategy<Value = String> {
    (
        select(vec!["", "", " ", "\t"]),
        select(vec!["", "", "export ", "export\t", "export  "]),
        name(),
        select(vec!["=", "=", " =", "= ", " = ", "=  "]),
        prop::collection::vec(piece(), 0..3),
        suffix(),
    )
        .prop_map(|(indent, export, name, eq, value, suffix)| {
            format!("{indent}{export}{name}{eq}{}{suffix}", value.concat())
        })
}

fn line(with_bad_lines: bool) -> impl Strategy<Value = String> {
    let bad = if with_bad_lines { 1 } else { 0 };
    prop_oneof![
        1 => select(vec!["", "  ", "\t"]).prop_map(String::from),
        1 => "[ ]{0,2}#[a-z '\"]{0,8}",
        6 => assignment(),
        bad => select(vec!["not a var", "1A=x", "=x", "A B=1", "-A=1", "export", "A", ".A=1", "A-B=1"])
            .prop_map(String::from),
    ]
}

/// A whole file: lines with LF, CRLF or mixed breaks, with or without a final break, and
/// sometimes a BOM.
fn env_file(with_bad_lines: bool) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (line(with_bad_lines), select(vec!["\n", "\n", "\r\n"])),
            0..7,
        ),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(lines, crlf, final_break, bom)| {
            let mut text = String::from(if bom { "\u{feff}" } else { "" });
            for (i, (line, nl)) in lines.iter().enumerate() {
                text.push_str(line);
                if i + 1 < lines.len() || final_break {
                    text.push_str(if crlf { "\r\n" } else { nl });
                }
            }
            text
        })
}

/// Files dotenvy accepts, to edit.
fn valid_env_file() -> impl Strategy<Value = String> {
    env_file(false).prop_filter("dotenvy rejects it", |t| dotenvy_read(t).is_some())
}

/// Values to set: any printable ASCII with line breaks, the awkward characters more often,
/// and what pskeys writes in practice (base64url, hex, PEM, URLs).
fn new_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~\n]{0,40}",
        "[a-z $#'\"\\\\\n]{0,12}",
        "[a-z]{0,3}[$#'\"\\\\ \n]{1,2}[a-z]{0,3}",
        "[A-Za-z0-9_-]{43}",
        "[0-9a-f]{16}",
        "[A-Za-z0-9+/=]{10,60}"
            .prop_map(|b| format!("-----BEGIN PRIVATE KEY-----\n{b}\n-----END PRIVATE KEY-----\n")),
        "https://[a-z.]{1,10}/[a-z?=&#]{0,10}",
    ]
}

fn name_or_new() -> impl Strategy<Value = String> {
    prop_oneof![3 => name(), 1 => Just("PSKT_NEW".to_string())]
}

/// What dotenvy reads, or `None` when it rejects the file (a BOM skipped, as its file
/// loaders do).
fn dotenvy_read(text: &str) -> Option<Vec<(String, String)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    dotenvy::from_read_iter(text.as_bytes())
        .collect::<Result<_, _>>()
        .ok()
}

fn parse(text: &str) -> Result<EnvFile, pskeys::Error> {
    EnvFile::parse(Path::new(".env"), text.to_string(), true)
}

/// The values `set` must write, restating `encode_value`'s rules: no carriage return, and
/// either none of `"`, `$`, `\` (double quotes), or no `'`, line break or final `\` (single).
fn writable(value: &str) -> bool {
    !value.contains('\r')
        && (!value.contains(['"', '$', '\\'])
            || (!value.contains(['\'', '\n']) && !value.ends_with('\\')))
}

/// Where `span`'s text ends before its line break.
fn before_break(text: &str, span: &Range<usize>) -> usize {
    let t = &text[..span.end];
    let t = t
        .strip_suffix('\n')
        .map_or(t, |t| t.strip_suffix('\r').unwrap_or(t));
    t.len()
}

/// Whether assignment `j` of `env` may read differently once an earlier one changed: only
/// through a `$` reference.
fn may_refer(env: &EnvFile, j: usize) -> bool {
    env.text()[env.assignments()[j].line_span.clone()].contains('$')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn env_reader_agrees_with_dotenvy(text in env_file(true)) {
        match (dotenvy_read(&text), parse(&text)) {
            (Some(theirs), Ok(ours)) => prop_assert_eq!(ours.vars(), &theirs[..]),
            (None, Err(pskeys::Error::EnvFile { location, .. })) => {
                prop_assert!(location.line.is_some() && location.column.is_some());
            }
            (theirs, ours) => prop_assert!(
                false,
                "dotenvy read {:?}, pskeys {:?}",
                theirs,
                ours.map(|e| e.vars().to_vec())
            ),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn env_set_reads_back_and_keeps_every_other_byte(
        text in valid_env_file(),
        key in name_or_new(),
        value in new_value(),
    ) {
        let old = parse(&text).unwrap();
        let mut env = old.clone();
        let target = old.assignments().iter().rposition(|a| a.key == key);
        if let Err(e) = env.set(&key, &value) {
            // Refused: a value no quoting reads back the same in both readers, or a quoted
            // value whose comment dotenvy joins the next lines to (it reads the quote as
            // open where its value reader does not).
            let joined = target.is_some_and(|i| {
                let a = &old.assignments()[i];
                text[a.value_span.clone()].contains(['\'', '"'])
                    && text[a.value_span.end..before_break(&text, &a.line_span)].contains('\n')
            });
            prop_assert!(!writable(&value) || joined, "{}", e);
            prop_assert_eq!(env.text(), &text);
            return Ok(());
        }
        if old.get(&key) == Some(value.as_str()) {
            prop_assert_eq!(env.text(), &text);
            return Ok(());
        }
        prop_assert!(writable(&value));
        let read = dotenvy_read(env.text());
        prop_assert!(read.is_some(), "dotenvy rejects {:?}", env.text());
        let read = read.unwrap();
        prop_assert_eq!(&read[..], env.vars());
        let last = read.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v);
        prop_assert_eq!(last, Some(&value));
        let before = dotenvy_read(&text).unwrap();
        let encoded = encode_value(&value);
        match target {
            Some(i) => {
                // Only the value's span changed, plus a blank or two before what followed
                // it where dotenvy's line joiner needs them to read that text as before.
                let a = &old.assignments()[i];
                let head = &text[..a.value_span.start];
                let old_tail = &text[a.value_span.end..];
                prop_assert!(env.text().starts_with(head) && env.text()[head.len()..].starts_with(&encoded));
                let tail = &env.text()[head.len() + encoded.len()..];
                let gap = tail.strip_suffix(old_tail);
                let max_gap = 1 + usize::from(old_tail.starts_with('#'));
                prop_assert!(
                    gap.is_some_and(|g| g.len() <= max_gap && g.chars().all(|c| c == ' ')),
                    "{:?} became {:?}", text, env.text()
                );
                prop_assert_eq!(read.len(), before.len());
                for (j, (new, old_var)) in read.iter().zip(&before).enumerate() {
                    prop_assert_eq!(&new.0, &old_var.0);
                    if j < i || (j > i && !may_refer(&old, j)) {
                        prop_assert_eq!(&new.1, &old_var.1);
                    }
                }
            }
            None => {
                // Appended: the old text is a prefix, then at most a break and the header.
                prop_assert!(env.text().starts_with(&text));
                let added = &env.text()[text.len()..];
                let line = format!("{key}={encoded}");
                prop_assert!(added.trim_start_matches(['\r', '\n']).trim_start_matches(HEADER).trim_start_matches(['\r', '\n']).trim_end_matches(['\r', '\n']) == line, "{:?}", added);
                prop_assert_eq!(&read[..before.len()], &before[..]);
                if text.contains("\r\n") {
                    prop_assert!(!added.replace("\r\n", "").contains('\n'));
                }
            }
        }
    }

    #[test]
    fn env_remove_takes_whole_lines_and_keeps_every_other_byte(text in valid_env_file(), key in name()) {
        let old = parse(&text).unwrap();
        let mut env = old.clone();
        env.remove(&key).unwrap();
        let mut expected = text.clone();
        for a in old.assignments().iter().rev().filter(|a| a.key == key) {
            let start_ok = a.line_span.start == 0 || text[..a.line_span.start].ends_with(['\n', '\u{feff}']);
            prop_assert!(start_ok && (a.line_span.end == text.len() || text[..a.line_span.end].ends_with('\n')));
            expected.replace_range(a.line_span.clone(), "");
        }
        prop_assert_eq!(&env.text(), &expected);
        let read = dotenvy_read(env.text());
        prop_assert!(read.is_some(), "dotenvy rejects {:?}", env.text());
        let read = read.unwrap();
        prop_assert_eq!(&read[..], env.vars());
        let first = old.assignments().iter().position(|a| a.key == key).unwrap_or(usize::MAX);
        let kept: Vec<_> = dotenvy_read(&text).unwrap().into_iter().enumerate().filter(|(_, (k, _))| *k != key).collect();
        prop_assert_eq!(read.len(), kept.len());
        for (new, (j, old_var)) in read.iter().zip(&kept) {
            prop_assert_eq!(&new.0, &old_var.0);
            if *j < first || !may_refer(&old, *j) {
                prop_assert_eq!(&new.1, &old_var.1);
            }
        }
    }
}

/// A line whose value text is known without parsing: a value that is plain, quoted, or
/// quoted with text after the quote, then blanks and comments (some holding quotes that
/// dotenvy's line joiner opens).
fn known_span_line() -> impl Strategy<Value = (String, String, String)> {
    let value = prop_oneof![
        "[a-zA-Z0-9_./:+=,@%-]{1,6}",
        "'[a-z #\"$]{0,5}'",
        "\"[a-z #']{0,5}\"",
        "\"[a-z]{0,3}\"[a-z]{1,3}",
        "[a-z]{1,3}'[a-z ]{0,3}'",
        "[a-z]{1,2}\\\\ [a-z]{1,2}",
    ];
    // (`#` right after a value, even after a closing quote, is part of the value.)
    let suffix = select(vec![
        "", " # c", "  # c", "\t#c", " #it's", "  #\"q", " ", "  ",
    ]);
    (
        select(vec!["", " ", "export ", "export  "]),
        name(),
        select(vec!["=", " = ", "=  "]),
        value,
        suffix,
    )
        .prop_map(|(indent, name, eq, value, suffix)| {
            (format!("{indent}{name}{eq}"), value, suffix.to_string())
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn env_value_spans_are_the_value_and_not_the_comment(
        before in select(vec!["", "# c\n", "\n", "Z=1 # z\r\n"]),
        (head, value, suffix) in known_span_line(),
        after in select(vec!["", "\n", "\nZ=2\n", "\r\nZ='x'\r\n"]),
    ) {
        let text = format!("{before}{head}{value}{suffix}{after}");
        if dotenvy_read(&text).is_none() {
            return Ok(());
        }
        let env = parse(&text).unwrap();
        let start = before.len() + head.len();
        let a = env.assignments().iter().find(|a| a.value_span.start >= before.len());
        prop_assert_eq!(a.map(|a| a.value_span.clone()), Some(start..start + value.len()));
    }
}

/// Files both dotenvy and node's dotenv read the same way: comments, blank lines, bare and
/// quoted values without `$` or `\`, `export`, blanks around `=`, `KEY=`, `KEY= # c`,
/// `KEY=#old`, inline comments, LF or CRLF.
fn common_env_file() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[a-zA-Z0-9_./:+=,@%-]{0,8}",
        "'[a-z #\"`]{0,6}'",
        "\"[a-z #'`]{0,6}\"",
        Just("#old".to_string()),
    ];
    let assignment = (
        select(vec!["", "export "]),
        name(),
        select(vec!["=", " = "]),
        value,
        select(vec!["", " # c", "  # note"]),
    )
        .prop_map(|(export, name, eq, value, comment)| {
            let comment = if value == "#old" { "" } else { comment };
            format!("{export}{name}{eq}{value}{comment}")
        });
    let line = prop_oneof![
        1 => Just(String::new()),
        1 => "# [a-z '\"]{0,8}",
        4 => assignment,
    ];
    (prop::collection::vec(line, 0..6), any::<bool>()).prop_map(|(lines, crlf)| {
        let nl = if crlf { "\r\n" } else { "\n" };
        lines.iter().map(|l| format!("{l}{nl}")).collect()
    })
}

/// Reads files with node's dotenv: one JSON object per file. Needs node and the packages
/// of tests/interop; without them the test fails, it does not skip.
fn node_dotenv_read(paths: &[std::path::PathBuf]) -> Vec<serde_json::Value> {
    let interop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        interop.join("node_modules/dotenv").is_dir(),
        "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop` (.ci/run does)"
    );
    let out = std::process::Command::new("node")
        .arg(interop.join("dotenv-read.mjs"))
        .args(paths)
        .output()
        .expect("node is required for the interop tests (install Node.js 18+)");
    assert!(
        out.status.success(),
        "dotenv-read.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        objects.len(),
        paths.len(),
        "dotenv-read.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    objects
}

#[test]
fn env_values_set_read_back_the_same_in_nodes_dotenv() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::deterministic();
    let cases = (common_env_file(), name_or_new(), new_value());
    let mut written = Vec::new();
    for i in 0..200 {
        let (text, key, value) = cases.new_tree(&mut runner).unwrap().current();
        let mut env = parse(&text).unwrap();
        if env.set(&key, &value).is_err() {
            assert!(!writable(&value), "set refused {value:?}");
            continue;
        }
        let path = dir.path().join(format!("{i}.env"));
        std::fs::write(&path, env.text()).unwrap();
        written.push((path, key, value, env));
    }
    assert!(
        written.len() >= 100,
        "only {} of 200 values were writable",
        written.len()
    );
    let paths: Vec<_> = written.iter().map(|w| w.0.clone()).collect();
    for ((_, key, value, env), node) in written.iter().zip(node_dotenv_read(&paths)) {
        assert_eq!(
            node[key],
            serde_json::json!(value),
            "{key} in {:?}",
            env.text()
        );
        // And node reads every other line of these files as dotenvy does.
        let ours: BTreeMap<_, _> = env.vars().iter().cloned().collect();
        let theirs: BTreeMap<String, String> = serde_json::from_value(node).unwrap();
        assert_eq!(theirs, ours, "{:?}", env.text());
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
