//! `pskeys doctor`: one case per finding, and `--fix` with before/after snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::Project;
use predicates::prelude::*;

/// Runs doctor --json and returns the finding ids with their severities and lines.
fn findings(p: &Project) -> Vec<(String, String, Option<u64>)> {
    let out = p.run(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let errors = v["errors"].as_u64().unwrap();
    assert_eq!(out.status.code(), Some(if errors > 0 { 1 } else { 0 }));
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["file"]["line"].as_u64(),
            )
        })
        .collect()
}

fn has(p: &Project, id: &str, severity: &str, line: Option<u64>) {
    let all = findings(p);
    assert!(
        all.iter()
            .any(|(i, s, l)| i == id && s == severity && (line.is_none() || *l == line)),
        "expected {severity}[{id}] at {line:?}, got {all:?}"
    );
}

const GOOD_AUD: &str = "  audience: ['powersync']\n";

#[test]
fn each_finding() {
    let cases: &[(&str, &str, &str, &str, Option<u64>)] = &[
        (
            "port: ${PS_PORT}\nclient_auth:\n  audience: [a]\n",
            "",
            "dollar-placeholder",
            "error",
            Some(1),
        ),
        (
            "port: !env PORT\nclient_auth:\n  audience: [a]\n",
            "",
            "env-prefix",
            "error",
            Some(1),
        ),
        (
            "port: !env PS_PORT\nclient_auth:\n  audience: [a]\n",
            "",
            "env-undefined",
            "error",
            Some(1),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: RSA, n: AQAB, e: AQAB}\n  audience: [a]\n",
            "",
            "rsa-no-kid",
            "error",
            Some(4),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: oct, kid: a, k: c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI}\n  audience: [a]\n",
            "",
            "key-no-alg",
            "error",
            Some(4),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: oct, kid: a, alg: RS256, k: c2VjcmV0}\n  audience: [a]\n",
            "",
            "alg-kty-mismatch",
            "error",
            Some(4),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: RSA, kid: a, alg: RS256, n: AQAB, e: AQAB}\n  audience: [a]\n",
            "",
            "rsa-too-small",
            "error",
            Some(4),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: oct, kid: a, alg: HS256, k: 'not base64!'}\n  audience: [a]\n",
            "",
            "k-invalid",
            "error",
            Some(4),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: oct, kid: a, alg: HS256, k: c2VjcmV0}\n  audience: [a]\n",
            "",
            "k-short",
            "warning",
            Some(4),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: oct, kid: a, alg: HS256, k: c2VjcmV0}\n      - {kty: oct, kid: a, alg: HS256, k: c2VjcmV0}\n  audience: [a]\n",
            "",
            "duplicate-kid",
            "warning",
            Some(5),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - kty: oct\n        kid: 123\n        alg: HS256\n        k: c2VjcmV0\n  audience: [a]\n",
            "",
            "kid-not-string",
            "error",
            Some(5),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: EC, kid: a, alg: ES256, crv: P-256, x: AA, y: AA, d: AA}\n  audience: [a]\n",
            "",
            "private-fields",
            "error",
            Some(4),
        ),
        (
            "client_auth:\n  jwks_uri: https://x\n",
            "",
            "audience-missing",
            "error",
            Some(2),
        ),
        ("port: 1\n", "", "audience-missing", "error", None),
        (
            "client_auth:\n  audience: []\n",
            "",
            "audience-empty",
            "error",
            Some(2),
        ),
        (
            "client_auth:\n  audience: powersync\n",
            "",
            "audience-not-list",
            "error",
            Some(2),
        ),
        (
            "client_auth:\n  supabase: true\n  audience: ['my-app']\n",
            "",
            "supabase-audience",
            "warning",
            Some(3),
        ),
        (
            "client_auth:\n  block_local_jwks: true\n  audience: [a]\n",
            "",
            "block-local-jwks",
            "warning",
            Some(2),
        ),
        (
            "client_auth:\n  audience: [a]\n",
            "PSKEYS_KID=gone\nPSKEYS_ALG=HS256\n",
            "env-kid-missing",
            "error",
            Some(1),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - just-a-string\n  audience: [a]\n",
            "",
            "key-not-mapping",
            "error",
            Some(4),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: DSA, kid: a, alg: HS256}\n  audience: [a]\n",
            "",
            "kty-invalid",
            "error",
            Some(4),
        ),
        (
            "client_auth:\n  jwks:\n    keys:\n      - {kty: EC, kid: a, alg: ES256, crv: P-256, x: AA, y: AA}\n  audience: [a]\n",
            "PSKEYS_KID=a\nPSKEYS_ALG=ES256\nPSKEYS_PRIVATE_KEY=not-a-pem\n",
            "env-key-invalid",
            "error",
            Some(3),
        ),
        ("client_auth: [\n", "", "syntax", "error", None),
        ("port: 1\n", "A=1\nnot valid\n", "syntax", "error", Some(2)),
    ];
    for (config, env, id, severity, line) in cases {
        let p = Project::new();
        p.write("powersync.yaml", config);
        if !env.is_empty() {
            p.write(".env", env);
        }
        let before = p.snapshot_files();
        has(&p, id, severity, *line);
        assert_eq!(
            before,
            p.snapshot_files(),
            "doctor without --fix changed a file"
        );
    }
}

#[test]
fn a_fresh_init_is_clean() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256"]);
    std::fs::write(p.path(".gitignore"), ".env\n").unwrap();
    // The sync config the template names is created with it.
    assert!(
        p.read("sync-config.yaml")
            .contains("bucket_definitions: {}")
    );
    let out = p.run(&["doctor"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no problems found"));
}

#[test]
fn env_key_mismatch_and_modes() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--kid", "k"]);
    let other = Project::new();
    other.ok(&["init", "--alg", "ES256", "--kid", "k"]);
    let mine = p.read(".env");
    let theirs = other.read(".env");
    let key_line = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("PSKEYS_PRIVATE_KEY="))
            .unwrap()
            .to_string()
    };
    p.write(".env", mine.replace(&key_line(&mine), &key_line(&theirs)));
    has(&p, "env-key-mismatch", "error", None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(p.path(".env"), std::fs::Permissions::from_mode(0o644)).unwrap();
        has(&p, "env-file-mode", "warning", None);
        p.run(&["doctor", "--fix"]);
        assert_eq!(
            std::fs::metadata(p.path(".env"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
}

#[test]
fn git_tracking() {
    let p = Project::new();
    p.ok(&["init"]);
    let git = |args: &[&str]| {
        assert!(
            std::process::Command::new("git")
                .args(args)
                .current_dir(p.dir.path())
                .output()
                .unwrap()
                .status
                .success()
        );
    };
    git(&["init", "-q"]);
    has(&p, "env-file-not-ignored", "warning", None);
    git(&["-c", "user.email=t@t", "-c", "user.name=t", "add", ".env"]);
    has(&p, "env-file-tracked", "error", None);
}

#[test]
fn fix_rewrites_only_what_it_fixes() {
    let p = Project::fixture("doctor-legacy");
    p.write(
        ".env",
        "PS_PG_URI=postgres://x\nPS_MONGO_URI=mongodb://x\nPS_PORT=8080\n",
    );
    let before = p.read("powersync.yaml");
    let ids: Vec<String> = findings(&p).into_iter().map(|f| f.0).collect();
    for id in [
        "dollar-placeholder",
        "audience-not-list",
        "block-local-jwks",
    ] {
        assert!(ids.contains(&id.to_string()), "{ids:?}");
    }
    let out = p.run(&["doctor", "--fix"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fixed: powersync.yaml:5: dollar-placeholder"),
        "{stderr}"
    );
    let after = p.read("powersync.yaml");
    insta::assert_snapshot!("doctor_fix_before", before);
    insta::assert_snapshot!("doctor_fix_after", after);
    // `${JWKS_URL}` has no PS_ prefix: reported, not auto-fixed.
    assert!(after.contains("jwks_uri: ${JWKS_URL}"));
    assert!(
        stderr.contains("rename the variable to `PS_JWKS_URL`"),
        "{stderr}"
    );
    // What remains: the unfixable placeholder, the service's S3102 for that text as a
    // jwks_uri (errors) and the deprecated flag (warning).
    let left: Vec<String> = findings(&p).into_iter().map(|f| f.0).collect();
    assert_eq!(
        left,
        vec![
            "dollar-placeholder".to_string(),
            "jwks-uri-invalid".to_string(),
            "block-local-jwks".to_string()
        ]
    );
    // A second --fix changes nothing.
    p.run(&["doctor", "--fix"]);
    assert_eq!(after, p.read("powersync.yaml"));
}

#[test]
fn human_output_names_file_line_and_fix() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        format!("port: ${{PS_PORT}}\nclient_auth:\n{GOOD_AUD}"),
    );
    p.cmd(&["doctor"]).assert().code(1).stderr(
        predicate::str::contains("error[dollar-placeholder] powersync.yaml:1:").and(
            predicate::str::contains(
                "fix: define `PS_PORT` in .env, then write `port: !env PS_PORT`",
            ),
        ),
    );
    // Once the variable is defined, --fix writes the tag.
    p.write(".env", "PS_PORT=8080\n");
    p.cmd(&["doctor"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "fix: write `port: !env PS_PORT` (`pskeys doctor --fix` does)\n",
        ));
}

#[test]
fn values_from_the_environment_never_reach_a_message() {
    let p = Project::new();
    let secret = "SUPERSECRETVALUE_abc123XYZ";
    p.write(
        "powersync.yaml",
        "storage:\n  type: mongodb\nport: !env PS_PORT_SECRET::number\nsync_config:\n  path: !env PS_PATH_SECRET\nclient_auth:\n  audience: [!env PS_AUD_SECRET::number]\n  jwks_uri: !env PS_URI_SECRET\n  jwks:\n    keys:\n      - {kty: oct, alg: !env PS_ALG_SECRET, kid: !env PS_KID_SECRET, k: !env PS_K}\n",
    );
    let mut env = String::new();
    for var in [
        "PS_PORT_SECRET",
        "PS_PATH_SECRET",
        "PS_AUD_SECRET",
        "PS_URI_SECRET",
        "PS_ALG_SECRET",
        "PS_KID_SECRET",
        "PS_K",
    ] {
        env.push_str(&format!("{var}={secret}\n"));
    }
    env.push_str(&format!("PSKEYS_KID={secret}\n"));
    p.write(".env", env);
    for args in [
        &["doctor"][..],
        &["doctor", "--json"][..],
        &["verify", "a.b.c"][..],
        &["verify", "--json", "a.b.c"][..],
        &["mint", "--sub", "u"][..],
        &["mint", "--sub", "u", "--json"][..],
        &["init", "--dry-run"][..],
    ] {
        let out = p.run(args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(secret), "{args:?} printed the value: {all}");
    }
}

#[test]
fn a_dollar_in_a_value_the_config_reads_is_a_warning() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - {kty: oct, alg: HS256, kid: a, k: !env PS_K}\n  audience: [a]\n",
    );
    p.write(
        ".env",
        "PS_K=abcdefghijklmnop$qrstuvwxyz0123456789abcdef\nOTHER=$x\n",
    );
    has(&p, "env-dollar", "warning", Some(1));
    p.write(
        ".env",
        "PS_K='abcdefghijklmnop$qrstuvwxyz0123456789abcdef'\nOTHER=$x\n",
    );
    assert!(!findings(&p).iter().any(|(id, _, _)| id == "env-dollar"));
}

#[test]
fn fix_says_when_it_changed_nothing() {
    let p = Project::new();
    let config = "storage: {type: mongodb}\nclient_auth:\n  jwks_uri: ${PS_JWKS_URL}\n  audience: ['powersync']\n";
    p.write("powersync.yaml", config);
    p.cmd(&["doctor", "--fix"]).assert().code(1).stderr(
        predicate::str::contains("jwks-uri-invalid")
            .and(predicate::str::contains(
                "`pskeys doctor --fix` makes that edit once",
            ))
            .and(predicate::str::contains("--fix changed nothing")),
    );
    assert_eq!(p.read("powersync.yaml"), config);
}

#[test]
fn fix_makes_an_env_audience_and_leaves_a_block_scalar_alone() {
    let p = Project::new();
    let config = "storage: {type: mongodb}\nport: >-\n  ${PS_PORT}\nclient_auth:\n  jwks:\n    keys:\n      - {kty: oct, alg: HS256, kid: k, k: !env PS_K}\n  audience: !env PS_AUD # one audience\n";
    p.write("powersync.yaml", config);
    p.write(
        ".env",
        "PS_K=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\nPS_AUD=powersync\nPS_PORT=8080\n",
    );
    p.cmd(&["doctor", "--fix"])
        .assert()
        .stderr(predicate::str::contains(
            "fixed: powersync.yaml:8: audience-not-list -> `[!env PS_AUD]`",
        ))
        .stderr(predicate::str::contains("in place of the block scalar"));
    assert_eq!(
        p.read("powersync.yaml"),
        config.replace("audience: !env PS_AUD", "audience: [!env PS_AUD]")
    );
    let ids: Vec<String> = findings(&p).into_iter().map(|f| f.0).collect();
    assert!(!ids.contains(&"audience-not-list".to_string()), "{ids:?}");
}

#[test]
fn a_client_auth_without_any_key_is_an_error() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys: []\n  audience: [powersync]\n",
    );
    has(&p, "no-keys", "error", Some(3));
    p.ok(&["init"]);
    let ids: Vec<String> = findings(&p).into_iter().map(|f| f.0).collect();
    assert!(!ids.contains(&"no-keys".to_string()), "{ids:?}");
}

#[cfg(unix)]
#[test]
fn the_summary_counts_in_words() {
    use std::os::unix::fs::PermissionsExt as _;
    let p = Project::new();
    p.ok(&["init"]);
    std::fs::set_permissions(p.path(".env"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = p.run(&["doctor"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("1 warning, no errors"), "{stderr}");
    assert!(!stderr.contains("(s)"), "{stderr}");
}

#[test]
fn a_clean_report_names_only_the_files_that_exist() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage:\n  type: mongodb\n  uri: mongodb://localhost/x\nclient_auth:\n  jwks_uri: https://example.com/jwks.json\n  audience: [a]\n",
    );
    let out = p.run(&["doctor"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        "no problems found in `powersync.yaml` (there is no `.env`)\n"
    );
    p.write(".env", "# nothing yet\n");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p.path(".env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = p.run(&["doctor"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no problems found in `powersync.yaml` and `.env`"),
        "{err}"
    );
}

#[test]
fn public_in_env_keys_are_named_as_the_service_reads_them() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--public-in-env"]);
    let env = p.read(".env");
    let kid = env
        .lines()
        .find_map(|l| l.strip_prefix("PS_JWK_KID="))
        .unwrap()
        .to_string();
    // A kid that names no key: the config's kid, read through `!env PS_JWK_KID`, is listed.
    p.write(
        ".env",
        env.replace(&format!("PSKEYS_KID={kid}"), "PSKEYS_KID=other"),
    );
    let out = p.run(&["doctor"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("(it has: {kid})")), "{err}");
    // A public member missing on a fresh clone is not called a secret.
    let without_x: String = env
        .lines()
        .filter(|l| !l.starts_with("PS_JWK_X="))
        .map(|l| format!("{l}\n"))
        .collect();
    p.write(".env", without_x);
    let err = String::from_utf8_lossy(&p.run(&["doctor"]).stderr).to_string();
    assert!(
        err.contains("this machine's key pair's public value for `PS_JWK_X`"),
        "{err}"
    );
}

#[test]
fn a_missing_env_file_named_on_the_command_line_is_a_usage_error() {
    let p = Project::new();
    p.ok(&["init"]);
    p.cmd(&["doctor", "--env-file", "typo.env"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`typo.env` (--env-file) does not exist",
        ));
}
