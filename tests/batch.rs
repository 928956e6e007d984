//! Batch minting: `mint --subs FILE|-` and `mint --count N --sub-prefix P`: one JSON line
//! per subject, in input order, each token accepted by the service's verifier; a bad line
//! stops the run with its number before anything is printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use std::collections::HashSet;

use common::{Project, node_verify};
use serde_json::Value;

fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&pskeys::jws::decode_lenient(part)).unwrap()
}

#[test]
fn every_subject_gets_a_token_the_service_accepts() {
    for alg in ["HS256", "ES256", "EdDSA"] {
        let p = Project::new();
        p.ok(&["init", "--alg", alg]);
        let subjects: Vec<String> = (0..300).map(|i| format!("tenant-{i}/user ü{i}")).collect();
        p.write("subs.txt", subjects.join("\n") + "\n");
        let out = lines(&p.ok(&["mint", "--subs", "subs.txt", "--expires-in", "1h"]));
        assert_eq!(out.len(), subjects.len());
        let tokens: Vec<String> = out
            .iter()
            .map(|l| l["token"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), tokens.len());
        for (line, sub) in out.iter().zip(&subjects) {
            assert_eq!(line["sub"], sub.as_str());
            let c = claims(line["token"].as_str().unwrap());
            assert_eq!(c["sub"], sub.as_str());
            assert_eq!(
                c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
                3600
            );
            assert_eq!(
                line["expires_at"].as_str().unwrap(),
                pskeys::clock::rfc3339(c["exp"].as_u64().unwrap())
            );
        }
        let verdicts = node_verify(&p, "powersync.yaml", None, &tokens);
        for (v, sub) in verdicts.iter().zip(&subjects) {
            assert_eq!(v["ok"], true, "{alg}: {v}");
            assert_eq!(v["sub"], sub.as_str());
        }
    }
}

#[test]
fn order_is_kept_across_blocks_and_workers() {
    let p = Project::new();
    p.ok(&["init"]);
    let out = p.ok(&["mint", "--count", "20000", "--sub-prefix", "load-"]);
    let out = lines(&out);
    assert_eq!(out.len(), 20_000);
    for (i, line) in out.iter().enumerate() {
        let sub = format!("load-{}", i + 1);
        assert_eq!(line["sub"], sub.as_str());
        assert_eq!(claims(line["token"].as_str().unwrap())["sub"], sub.as_str());
    }
    // stdin, CRLF lines, the same order.
    let input: String = (0..9000).map(|i| format!("s{i}\r\n")).collect();
    let out = p
        .cmd(&["mint", "--subs", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(out.len(), 9000);
    assert!(
        out.iter()
            .enumerate()
            .all(|(i, l)| l["sub"] == format!("s{i}").as_str())
    );
}

#[test]
fn bad_lines_stop_before_anything_is_printed() {
    let p = Project::new();
    p.ok(&["init"]);
    let many: String = (0..10_000).map(|i| format!("u{i}\n")).collect();
    let cases = [
        (format!("{many}\n"), "line 10001: empty"),
        (format!("{many}bad\u{1b}[31m\n"), "line 10001"),
        (format!("a\nb\tc\n{many}"), "line 2"),
        ("\u{202e}evil\n".to_string(), "line 1"),
        (String::new(), "holds no subject"),
    ];
    for (input, says) in cases {
        p.write("subs.txt", &input);
        let out = p.run(&["mint", "--subs", "subs.txt"]);
        assert_eq!(out.status.code(), Some(2), "{says}");
        assert!(out.stdout.is_empty(), "{says}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(says), "{says}: {err}");
        assert!(err.contains("subs.txt"), "{err}");
    }
    p.write("subs.bin", b"ok\n\xff\n");
    let out = p.run(&["mint", "--subs", "subs.bin", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2: not UTF-8")
    );
    // A byte order mark is not part of the first subject.
    p.write("bom.txt", "\u{feff}first\nsecond\n");
    let out = lines(&p.ok(&["mint", "--subs", "bom.txt"]));
    assert_eq!(out[0]["sub"], "first");
    // A rejected spec is refused before anything is printed too.
    let out = p.run(&["mint", "--count", "5", "--aud", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    // Subjects are short identifiers; invisible characters are refused like control ones.
    let long = "x".repeat(4097);
    assert_eq!(p.run(&["mint", "--sub", &long]).status.code(), Some(2));
    assert_eq!(
        p.run(&["mint", "--count", "2", "--sub-prefix", &long])
            .status
            .code(),
        Some(2)
    );
    for invisible in ["a\u{200b}b", "a\u{061c}b", "a\u{feff}b", "a\u{2060}b"] {
        assert_eq!(
            p.run(&["mint", "--sub", invisible]).status.code(),
            Some(2),
            "{invisible:?}"
        );
    }
    // Flags that do not go together.
    for args in [
        &["mint", "--sub", "a", "--count", "2"][..],
        &["mint", "--count", "0"],
        &["mint", "--sub-prefix", "x", "--sub", "a"],
        &["mint", "--count", "2", "--diagnostics"],
        &["mint"],
    ] {
        assert_eq!(p.run(args).status.code(), Some(2), "{args:?}");
    }
}
