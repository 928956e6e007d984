//! Every JSON output validates against its JSON Schema in `schemas/` (ajv 8, draft
//! 2020-12, strict; tests/interop/schema-check.mjs): each command with `--json`, in its
//! success, dry-run and error forms. `serve`'s responses and log lines are checked in
//! tests/serve.rs. Every schema is exercised and the README lists them all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::{Project, schema_check};
use serde_json::Value;

fn json(p: &Project, args: &[&str]) -> Value {
    let out = p.run(args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pskeys {args:?} printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Outputs of one project's life: init, mint, verify, decode, doctor, keys, jwks, export.
fn lifecycle_outputs() -> Vec<(&'static str, Value)> {
    let p = Project::new();
    let mut out = vec![
        ("init", json(&p, &["init", "--alg", "ES256", "--json"])),
        ("init", json(&p, &["init", "--json"])),
        (
            "init",
            json(&p, &["init", "--rotate", "--dry-run", "--json"]),
        ),
        (
            "init",
            json(&p, &["init", "--rotate", "--kid", "k2", "--json"]),
        ),
        (
            "init",
            json(&p, &["init", "--serve", "--json", "--dry-run"]),
        ),
    ];
    let minted = json(&p, &["mint", "--sub", "user-1", "--json"]);
    let token = minted["token"].as_str().unwrap().to_string();
    out.push(("mint", minted));
    out.push((
        "mint",
        json(
            &p,
            &[
                "mint",
                "--sub",
                "u",
                "--diagnostics",
                "--json",
                "--parameters",
                r#"{"team":"a"}"#,
            ],
        ),
    ));
    let batch = p.run(&["mint", "--count", "3", "--json"]);
    for line in String::from_utf8(batch.stdout).unwrap().lines() {
        out.push(("mint-batch-line", serde_json::from_str(line).unwrap()));
    }
    out.push(("verify", json(&p, &["verify", &token, "--json"])));
    out.push(("verify", json(&p, &["verify", "not-a-token", "--json"])));
    out.push((
        "verify",
        json(
            &p,
            &["verify", &token, "--json", "--at", "2099-01-01T00:00:00Z"],
        ),
    ));
    out.push(("decode", json(&p, &["decode", &token, "--json"])));
    out.push(("doctor", json(&p, &["doctor", "--json"])));
    out.push(("keys-list", json(&p, &["keys", "list", "--json"])));
    out.push(("jwks", json(&p, &["jwks", "--json"])));
    out.push(("export", json(&p, &["export", "--format", "json"])));
    let old = out
        .iter()
        .find(|(s, v)| *s == "keys-list" && v["keys"].is_array())
        .and_then(|(_, v)| {
            v["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["signing"] == false)
                .cloned()
        })
        .unwrap();
    let old = old["kid"].as_str().unwrap().to_string();
    out.push((
        "keys-retire",
        json(&p, &["keys", "retire", &old, "--dry-run", "--json"]),
    ));
    out.push(("keys-retire", json(&p, &["keys", "retire", &old, "--json"])));
    out
}

/// Findings of every severity, and a JWKS-only config for verify's `unverified` verdict.
fn findings_outputs() -> Vec<(&'static str, Value)> {
    let p = Project::new();
    p.ok(&["init"]);
    let env = p.read(".env");
    let key = env
        .lines()
        .find(|l| l.starts_with("PS_CLIENT_AUTH_KEY="))
        .unwrap();
    p.write(".env", env.replace(key, "PS_CLIENT_AUTH_KEY=short"));
    let config = p
        .read("powersync.yaml")
        .replace("client_auth:\n", "client_auth:\n  block_local_jwks: true\n");
    p.write("powersync.yaml", config);
    let mut out = vec![("doctor", json(&p, &["doctor", "--json"]))];
    let remote = Project::new();
    remote.write(
        "powersync.yaml",
        "storage:\n  type: mongodb\n  uri: mongodb://x/y\nclient_auth:\n  jwks_uri: https://example.com/jwks.json\n  audience: [a]\n",
    );
    let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIn0.eyJzdWIiOiJ1IiwiYXVkIjoiYSIsImlhdCI6MTc2NDAwMDAwMCwiZXhwIjoxNzY0MDAzNjAwfQ.c2ln";
    out.push((
        "verify",
        json(
            &remote,
            &["verify", token, "--json", "--at", "2025-11-24T16:30:00Z"],
        ),
    ));
    out
}

/// Errors of each kind that can be reached from an empty or broken folder.
fn error_outputs() -> Vec<(&'static str, Value)> {
    let p = Project::new();
    let mut out = vec![
        ("error", json(&p, &["mint", "--sub", "u", "--json"])),
        ("error", json(&p, &["mint", "--json"])),
        ("error", json(&p, &["init", "--alg", "XS256", "--json"])),
        // `export --format json` is a JSON command too: its usage errors are JSON.
        (
            "error",
            json(&p, &["export", "--format", "json", "--bogus"]),
        ),
    ];
    p.write("powersync.yaml", "client_auth:\n  audience: [a\n");
    out.push(("doctor", json(&p, &["doctor", "--json", "--fix"])));
    out.push(("error", json(&p, &["keys", "list", "--json"])));
    out.push(("error", json(&p, &["jwks", "--json"])));
    out.push(("error", json(&p, &["init", "--json"])));
    out
}

#[test]
fn every_json_output_matches_its_schema() {
    let mut pairs = lifecycle_outputs();
    pairs.extend(findings_outputs());
    pairs.extend(error_outputs());
    // The cases above reach what they mean to: a refusal, an unverified verdict, findings.
    let verdicts: Vec<&str> = pairs
        .iter()
        .filter(|(s, _)| *s == "verify")
        .map(|(_, v)| v["verdict"].as_str().unwrap())
        .collect();
    for v in ["accepted", "rejected", "unverified"] {
        assert!(verdicts.contains(&v), "no `{v}` verdict among {verdicts:?}");
    }
    assert!(pairs.iter().any(|(s, v)| *s == "doctor"
        && v["errors"].as_u64() > Some(0)
        && v["warnings"].as_u64() > Some(0)));
    let schemas = schema_check(&pairs);
    // Every schema is exercised here or in tests/serve.rs (serve-*), but `defs`.
    let serve_tests = include_str!("serve.rs");
    for name in schemas.iter().filter(|n| *n != "defs") {
        let here = pairs.iter().any(|(s, _)| s == name);
        let in_serve = serve_tests.contains(&format!("\"{name}\""));
        assert!(
            here || in_serve,
            "schemas/{name}.schema.json is not exercised by any test"
        );
    }
}

#[test]
fn every_command_with_json_has_a_schema_and_the_readme_lists_them() {
    let readme = include_str!("../README.md");
    let commands: [(&[&str], &str); 9] = [
        (&["init"], "init"),
        (&["mint"], "mint"),
        (&["verify"], "verify"),
        (&["decode"], "decode"),
        (&["doctor"], "doctor"),
        (&["keys", "list"], "keys-list"),
        (&["keys", "retire"], "keys-retire"),
        (&["jwks"], "jwks"),
        (&["serve"], "serve-log"),
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    for (args, schema) in commands {
        let help = assert_cmd::Command::cargo_bin("pskeys")
            .unwrap()
            .args(args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&help.stdout).contains("--json"),
            "{args:?} has no --json"
        );
        assert!(
            root.join(format!("{schema}.schema.json")).is_file(),
            "no schemas/{schema}.schema.json"
        );
    }
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            readme.contains(&format!("`schemas/{name}`")),
            "README does not list `schemas/{name}`"
        );
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(&name)).unwrap()).unwrap();
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        assert!(
            schema["$id"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/schemas/{name}")),
            "{name}"
        );
    }
}
