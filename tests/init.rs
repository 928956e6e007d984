//! `pskeys init` on the real binary: fixtures, idempotency, rotation, dry runs, errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::{Project, redact};
use predicates::prelude::*;

/// Lines of `before` that the patch lost. The patch only adds lines, or grows a line by
/// inserting before its closing brackets (`[a]` -> `[a, b]`, `}` -> `},`): a changed line
/// must reappear whole but for those last brackets.
fn removed_lines(before: &str, after: &str) -> Vec<String> {
    let diff = similar::TextDiff::from_lines(before, after);
    let inserted: Vec<&str> = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Insert)
        .map(|c| c.value())
        .collect();
    diff.iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
        .map(|c| c.value().to_string())
        .filter(|d| {
            let kept = d.trim_end().trim_end_matches([']', '}', ' ']);
            !inserted
                .iter()
                .any(|i| i.starts_with(kept) || i.replacen('[', "", 1).starts_with(kept))
        })
        .collect()
}

fn check_fixture(case: &str, file: &str, extra: &[&str]) {
    let p = Project::fixture(case);
    let before = p.read(file);
    let mut args = vec!["init", "--kid", "test-kid"];
    args.extend_from_slice(extra);
    p.ok(&args);
    let after = p.read(file);
    assert_eq!(
        removed_lines(&before, &after),
        Vec::<String>::new(),
        "{case}: bytes outside the change were lost"
    );
    assert!(
        after.starts_with(before.split('\n').next().unwrap_or("")),
        "{case}: first line changed"
    );
    insta::with_settings!({filters => vec![(r#"(["']?(?:x|y|n)["']?: ["'])[A-Za-z0-9_-]{20,}"#, "$1[public key]")]}, {
        insta::assert_snapshot!(format!("{case}__{file}"), after.replace('\r', "␍"));
    });
    // The result is something mint can sign for.
    p.ok(&["mint", "--sub", "u1"]);
    // And a second run changes nothing.
    let files = p.snapshot_files();
    let out = p.run(&["init"]);
    assert!(
        out.status.success(),
        "{case}: second init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already set up"));
    assert_eq!(
        files,
        p.snapshot_files(),
        "{case}: second init changed files"
    );
}

#[test]
fn fixture_long_comments() {
    check_fixture("long-comments", "powersync.yaml", &[]);
}
#[test]
fn fixture_comments_only() {
    check_fixture("comments-only", "powersync.yaml", &[]);
}
#[test]
fn fixture_empty() {
    check_fixture("empty", "powersync.yaml", &[]);
}
#[test]
fn fixture_yaml_markers() {
    check_fixture("markers", "powersync.yaml", &[]);
}
#[test]
fn fixture_bom() {
    check_fixture("bom", "powersync.yaml", &[]);
    let p = Project::fixture("bom");
    p.ok(&["init"]);
    assert!(
        p.bytes("powersync.yaml")
            .unwrap()
            .starts_with(b"\xef\xbb\xbf")
    );
}
#[test]
fn fixture_crlf() {
    check_fixture("crlf", "powersync.yaml", &[]);
}
#[test]
fn fixture_indent_4() {
    check_fixture("indent-4", "powersync.yaml", &[]);
}
#[test]
fn fixture_flow_audience() {
    check_fixture(
        "flow-audience",
        "powersync.yaml",
        &["--audience", "powersync"],
    );
}
#[test]
fn fixture_anchors() {
    check_fixture("anchors", "powersync.yaml", &[]);
}
#[test]
fn fixture_keys_with_comments() {
    check_fixture("keys-with-comments", "powersync.yaml", &[]);
}
#[test]
fn fixture_null_client_auth() {
    check_fixture("null-client-auth", "powersync.yaml", &[]);
}
#[test]
fn fixture_audience_string() {
    check_fixture("audience-string", "powersync.yaml", &[]);
}
#[test]
fn fixture_commented_section() {
    check_fixture("commented-section", "powersync.yaml", &[]);
}
#[test]
fn fixture_json_4_spaces() {
    check_fixture("json-4", "config.json", &["--alg", "ES256"]);
}
#[test]
fn fixture_json_tabs() {
    check_fixture("json-tab", "config.json", &["--alg", "EdDSA"]);
}

#[test]
fn empty_folder_gets_config_and_env() {
    let p = Project::new();
    let out = p.run(&["init", "--kid", "test-kid"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("created `powersync.yaml` from the built-in template (no config found here)"),
        "{stderr}"
    );
    insta::assert_snapshot!("empty_folder__powersync.yaml", p.read("powersync.yaml"));
    // How to start the service on this folder is said exactly.
    assert!(
        stderr
            .contains("docker run --rm --network host --env-file <(pskeys export --format docker)")
            && stderr.contains("POWERSYNC_CONFIG_PATH=/config/powersync.yaml"),
        "{stderr}"
    );
    // The sync config the template names comes with it, valid and empty.
    assert!(stderr.contains("created `sync-config.yaml`"), "{stderr}");
    assert!(
        p.read("sync-config.yaml")
            .ends_with("bucket_definitions: {}\n")
    );
    insta::assert_snapshot!("empty_folder__env", redact(&p.read(".env")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(p.path(".env"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn every_algorithm_writes_only_public_parts_to_the_config() {
    for alg in [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA",
    ] {
        let p = Project::new();
        p.ok(&["init", "--alg", alg]);
        let config = p.read("powersync.yaml");
        let env = p.read(".env");
        assert!(config.contains(&format!("alg: '{alg}'")), "{alg}: {config}");
        for private in ["d:", "p:", "q:", "dp:", "dq:", "qi:", "PRIVATE KEY"] {
            assert!(
                !config.contains(&format!(" {private}")),
                "{alg}: private field {private} in config"
            );
        }
        if alg.starts_with("HS") {
            assert!(config.contains("k: !env PS_CLIENT_AUTH_KEY"));
            assert!(env.contains("PS_CLIENT_AUTH_KEY="));
        } else {
            assert!(config.contains("use: 'sig'"));
            assert!(env.contains("PSKEYS_PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\\n"));
        }
        let token = p.ok(&["mint", "--sub", "u"]);
        assert_eq!(token.trim().split('.').count(), 3);
    }
}

#[test]
fn secrets_never_reach_stdout_or_stderr() {
    let p = Project::new();
    let out = p.run(&["init", "--alg", "HS256"]);
    let env = p.read(".env");
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("PS_CLIENT_AUTH_KEY="))
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    let dry = Project::new();
    let out = dry.run(&["init", "--dry-run"]);
    assert!(out.status.success());
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("<secret masked>"), "{diff}");
    assert!(diff.contains("+++ b/powersync.yaml"));
}

#[test]
fn dry_run_writes_nothing() {
    let p = Project::fixture("long-comments");
    let files = p.snapshot_files();
    let out = p.run(&["init", "--dry-run", "--alg", "RS256"]);
    assert!(out.status.success());
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("+      - kty: 'RSA'"), "{diff}");
    assert!(!diff.contains("BEGIN PRIVATE KEY") || diff.contains("<secret masked>"));
    assert_eq!(files, p.snapshot_files());
}

#[test]
fn dry_run_masks_every_secret_old_and_new() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256"]);
    // A secret of the user's own, quoted their way, right next to what changes.
    let env = p.read(".env").replace(
        "PSKEYS_KID=",
        "DB_PASSWORD='hunter2 with spaces'\nPSKEYS_KID=",
    );
    p.write(".env", &env);
    let secret_values: Vec<String> = dotenvy::from_read_iter(env.as_bytes())
        .map(Result::unwrap)
        .filter(|(k, _)| !["PSKEYS_KID", "PSKEYS_ALG", "PS_PORT"].contains(&k.as_str()))
        .flat_map(|(_, v)| v.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for args in [
        &["init", "--force", "--dry-run"][..],
        &["init", "--force", "--dry-run", "--json"][..],
        &["init", "--rotate", "--alg", "HS256", "--dry-run"][..],
    ] {
        let out = p.run(args);
        assert!(out.status.success());
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(shown.contains("<secret masked>"), "{shown}");
        for v in &secret_values {
            assert!(
                !shown.contains(v.as_str()),
                "{args:?} printed a secret line: {shown}"
            );
        }
    }
}

#[test]
fn rotation_keeps_old_public_keys_and_mints_with_the_new_one() {
    let p = Project::new();
    p.ok(&["init", "--kid", "one"]);
    p.ok(&["init", "--rotate", "--kid", "two", "--alg", "ES256"]);
    let config = p.read("powersync.yaml");
    assert!(config.contains("kid: 'one'") && config.contains("kid: 'two'"));
    let json = p.ok(&["mint", "--sub", "u", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["header"]["kid"], "two");
    assert_eq!(v["header"]["alg"], "ES256");
    // The old HMAC key still verifies: its secret stays in .env.
    p.ok(&["mint", "--sub", "u", "--kid", "one"]);
    // `--rotate` alone keeps the current key's algorithm.
    p.ok(&["init", "--rotate", "--kid", "four"]);
    let json = p.ok(&["mint", "--sub", "u", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["header"]["kid"].as_str(), v["header"]["alg"].as_str()),
        (Some("four"), Some("ES256"))
    );
    // A second HMAC rotation gets its own variable.
    p.ok(&["init", "--rotate", "--kid", "three", "--alg", "HS256"]);
    assert!(
        p.read("powersync.yaml")
            .contains("k: !env PS_CLIENT_AUTH_KEY_2")
    );
    p.ok(&["mint", "--sub", "u", "--kid", "one"]);
    p.ok(&["mint", "--sub", "u"]);
}

#[test]
fn force_replaces_the_key() {
    let p = Project::new();
    p.ok(&["init", "--kid", "one"]);
    p.ok(&["init", "--force", "--kid", "two", "--alg", "EdDSA"]);
    let config = p.read("powersync.yaml");
    assert!(
        !config.contains("kid: 'one'") && config.contains("kid: 'two'"),
        "{config}"
    );
    assert!(!p.read(".env").contains("PSKEYS_KID=one"));
    p.ok(&["mint", "--sub", "u"]);
}

#[test]
fn conflicts_stop_with_both_ways_out() {
    let p = Project::new();
    p.ok(&["init", "--kid", "one"]);
    let files = p.snapshot_files();
    p.cmd(&["init", "--alg", "RS256"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--rotate").and(predicate::str::contains("--force")));
    // .env names a kid the config lacks.
    let config = p
        .read("powersync.yaml")
        .replace("kid: 'one'", "kid: 'other'");
    p.write("powersync.yaml", &config);
    let files2 = p.snapshot_files();
    p.cmd(&["init"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("has no key with that kid"));
    assert_eq!(files2, p.snapshot_files());
    assert_ne!(files, files2);
}

#[test]
fn foreign_keys_are_not_a_conflict() {
    let p = Project::fixture("keys-with-comments");
    p.ok(&["init", "--kid", "mine"]);
    let config = p.read("powersync.yaml");
    assert!(config.contains("kid: \"backend-2024\"") && config.contains("kid: 'mine'"));
}

#[test]
fn bad_inputs_change_no_file() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "powersync.yaml",
            "client_auth:\n  audience: [a\n",
            "",
            "line",
        ),
        ("powersync.yaml", "a: b: c\n", "", "line 1"),
        ("powersync.yaml", "- a\n- b\n", "", "expected a mapping"),
        (
            "powersync.yaml",
            "client_auth: [1]\n",
            "",
            "`client_auth` is a list",
        ),
        (
            "powersync.yaml",
            "client_auth:\n  jwks: [1]\n",
            "",
            "`client_auth.jwks` is a list",
        ),
        (
            "powersync.yaml",
            "client_auth:\n  jwks:\n    keys:\n      a: 1\n",
            "",
            "`client_auth.jwks.keys` is a mapping, expected a list",
        ),
        (
            "powersync.yaml",
            "client_auth:\n  jwks:\n    keys:\n      - kid: x\n      - kid: x\n",
            "",
            "key `x` has kty (none)",
        ),
        (
            "powersync.yaml",
            "port: 1\n",
            "GOOD=1\nthis is not a variable\n",
            "line 2",
        ),
        ("config.json", "{\"client_auth\": [}", "", "not valid JSON"),
    ];
    for (file, config, env, needle) in cases {
        let p = Project::new();
        p.write(file, config);
        if !env.is_empty() {
            p.write(".env", env);
        }
        let files = p.snapshot_files();
        let out = p.run(&["init", "--alg", "ES256"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{config:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{config:?}: expected {needle:?} in {stderr}"
        );
        assert!(stderr.contains("hint:"), "{stderr}");
        assert_eq!(files, p.snapshot_files(), "{config:?} changed a file");
    }
}

#[test]
fn a_failed_second_write_restores_the_first() {
    let p = Project::new();
    p.write("blocker", "a file where a folder should be");
    p.write(".env", "# mine\nA=1\n");
    let files = p.snapshot_files();
    let out = p.run(&["init", "--config", "blocker/powersync.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files, p.snapshot_files());
}

#[test]
fn discovery_order() {
    let p = Project::new();
    p.write("config/powersync.yaml", "port: 1\n");
    p.ok(&["init"]);
    assert!(p.read("config/powersync.yaml").contains("client_auth:"));
    assert!(!p.path("powersync.yaml").exists());
    let q = Project::new();
    q.write("powersync/service.yaml", "port: 1\n")
        .write("elsewhere.yaml", "port: 2\n");
    q.cmd(&["init"])
        .env("POWERSYNC_CONFIG_PATH", "elsewhere.yaml")
        .assert()
        .success();
    assert!(q.read("elsewhere.yaml").contains("client_auth:"));
    assert_eq!(q.read("powersync/service.yaml"), "port: 1\n");
    // A variable naming a missing file creates it, and says so.
    Project::new()
        .cmd(&["init"])
        .env("POWERSYNC_CONFIG_PATH", "typo.yaml")
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "POWERSYNC_CONFIG_PATH names it and it did not exist",
        ));
}

#[test]
fn json_summary() {
    let p = Project::new();
    let out = p.ok(&["init", "--json", "--kid", "k1", "--audience", "app"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kid"], "k1");
    assert_eq!(v["alg"], "HS256");
    assert_eq!(v["audience"], serde_json::json!(["app"]));
    assert_eq!(v["config"]["created"], true);
}

#[test]
fn env_file_edits_are_lossless() {
    let p = Project::new();
    let env = "# my settings\r\nexport PS_DATA_SOURCE_URI='postgres://x'  # db\r\nPSKEYS_KID=\r\n";
    p.write(".env", env).write("powersync.yaml", "port: 1\n");
    p.ok(&["init", "--kid", "k"]);
    let after = p.read(".env");
    assert!(
        after.starts_with(
            "# my settings\r\nexport PS_DATA_SOURCE_URI='postgres://x'  # db\r\nPSKEYS_KID=k\r\n"
        ),
        "{after:?}"
    );
    assert!(!after.replace("\r\n", "").contains('\n'));
}

#[test]
fn flag_errors() {
    let p = Project::new();
    p.cmd(&["init", "--alg", "RS256", "--bits", "1024"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("2048"));
    p.cmd(&["init", "--bits", "4096"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RSA"));
    p.cmd(&["init", "--alg", "ES256", "--inline"])
        .assert()
        .code(2);
    p.cmd(&["init", "--alg", "none"]).assert().code(2);
    p.cmd(&["init", "--rotate", "--force"]).assert().code(2);
    assert!(p.snapshot_files().is_empty());
}

#[test]
fn an_unreadable_config_is_an_io_error() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("powersync.yaml")).unwrap();
    p.cmd(&["init"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "`powersync.yaml`: not a regular file",
        ));
    assert!(!p.path(".env").exists());
}

#[test]
fn a_json_string_audience_becomes_a_list_in_init_and_doctor_fix() {
    let p = Project::new();
    let config = "{\n  \"storage\": {\"type\": \"mongodb\"},\n  \"client_auth\": {\"audience\": \"powersync\"}\n}\n";
    p.write("config.json", config);
    let out = p.run(&["init", "--alg", "ES256"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("audience `powersync` is now a list")
            && stderr.contains("audience += powersync-dev"),
        "{stderr}"
    );
    assert!(
        p.read("config.json")
            .contains("\"audience\": [\"powersync\",\"powersync-dev\"]")
    );
    p.ok(&["mint", "--sub", "u"]);
    let q = Project::new();
    q.write("config.json", config);
    q.run(&["doctor", "--fix"]);
    assert!(
        q.read("config.json")
            .contains("\"audience\": [\"powersync\"]"),
        "{}",
        q.read("config.json")
    );
}

#[test]
fn force_replaces_in_the_list_style_and_drops_the_old_secret() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: oct\n        alg: HS256\n        kid: old\n        k: !env PS_CLIENT_AUTH_KEY\n  audience: [a]\n",
    );
    p.write(
        ".env",
        "PS_CLIENT_AUTH_KEY=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI\nPSKEYS_KID=old\nPSKEYS_ALG=HS256\n",
    );
    p.ok(&["init", "--force", "--alg", "ES256", "--kid", "new"]);
    let config = p.read("powersync.yaml");
    assert!(
        config.contains("    keys:\n      - kty: 'EC'\n"),
        "{config}"
    );
    assert!(!config.contains("old"), "{config}");
    assert!(
        !p.read(".env").contains("PS_CLIENT_AUTH_KEY"),
        "{}",
        p.read(".env")
    );
    p.ok(&["mint", "--sub", "u"]);
    // HMAC to HMAC reuses the variable in place.
    let q = Project::new();
    q.ok(&["init", "--kid", "one"]);
    let before = q.read(".env");
    q.ok(&["init", "--force", "--kid", "two"]);
    let after = q.read(".env");
    let line = |s: &str| {
        s.lines()
            .position(|l| l.starts_with("PS_CLIENT_AUTH_KEY="))
            .unwrap()
    };
    assert_eq!(line(&before), line(&after));
}

#[test]
fn dry_run_masks_inline_secrets_and_commented_out_values() {
    let p = Project::new();
    p.ok(&["init", "--inline", "--kid", "one"]);
    let config = p.read("powersync.yaml");
    let old_k = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("k: '"))
        .unwrap()
        .trim_end_matches('\'')
        .to_string();
    let env = p.read(".env").replace(
        "PSKEYS_KID=",
        "# OLD_SECRET=retired-secret-value-0123456789\nPSKEYS_KID=",
    );
    p.write(".env", &env);
    for args in [
        &["init", "--force", "--inline", "--dry-run"][..],
        &["init", "--rotate", "--inline", "--dry-run"][..],
        &["keys", "retire", "one", "--force", "--dry-run"][..],
    ] {
        let out = p.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(
            !shown.contains(&old_k),
            "{args:?} printed the inline secret: {shown}"
        );
        assert!(!shown.contains("retired-secret-value"), "{args:?}: {shown}");
    }
}

#[test]
fn the_official_cli_layout_uses_the_env_file_its_docker_setup_reads() {
    let p = Project::new();
    // What `npx powersync init self-hosted` and `powersync docker configure` leave.
    p.write("powersync/cli.yaml", "type: self-hosted\n");
    p.write(
        "powersync/service.yaml",
        "storage:\n  type: mongodb\n  uri: mongodb://mongo:27017/powersync\nclient_auth:\n  audience: [powersync]\n",
    );
    p.write("powersync/docker/docker-compose.yaml", "services: {}\n");
    p.write("powersync/docker/.env", "PS_PORT=8080\n");
    p.ok(&["init", "--alg", "ES256"]);
    let env = p.read("powersync/docker/.env");
    assert!(
        env.starts_with("PS_PORT=8080\n") && env.contains("PSKEYS_PRIVATE_KEY="),
        "{env}"
    );
    assert!(!p.path(".env").exists());
    p.ok(&["mint", "--sub", "u"]);
    // Without the docker folder, .env stays at the project's root.
    let q = Project::new();
    q.write(
        "powersync/service.yaml",
        "storage:\n  type: mongodb\n  uri: mongodb://mongo:27017/powersync\nclient_auth:\n  audience: [powersync]\n",
    );
    q.ok(&["init"]);
    assert!(q.path(".env").exists());
    // `powersync docker configure` after that: mint names both files, init copies the key
    // to the one the service reads, and the root `.env` stays as it was.
    let root_env = q.read(".env");
    q.write("powersync/docker/.env", "PS_PORT=8080\n");
    q.cmd(&["mint", "--sub", "u"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no signing key in `powersync/docker/.env`",
        ))
        .stderr(predicate::str::contains(
            "run `pskeys init` to copy it there",
        ));
    q.cmd(&["init"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "copied PSKEYS_KID, PSKEYS_ALG, PS_CLIENT_AUTH_KEY from `.env` to `powersync/docker/.env`",
        ));
    assert_eq!(q.read(".env"), root_env);
    let docker = q.read("powersync/docker/.env");
    assert!(docker.starts_with("PS_PORT=8080\n"), "{docker}");
    let secret = |text: &str| {
        dotenvy::from_read_iter(text.as_bytes())
            .map(Result::unwrap)
            .find(|(k, _)| k == "PS_CLIENT_AUTH_KEY")
            .map(|(_, v)| v)
    };
    assert_eq!(secret(&docker), secret(&root_env));
    q.ok(&["mint", "--sub", "u"]);
}

#[test]
fn syntax_errors_name_the_line_and_a_fix_and_change_nothing() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "storage: {type: mongodb}\nclient_auth:\n  audience: [a, b\n",
            "line 3, column 18: this is not valid YAML (at the end of the file)",
            "close the `[` list with `]`",
        ),
        (
            "storage:\n\ttype: mongodb\n",
            "line 2, column 2",
            "indent with spaces",
        ),
        (
            "storage:\n  type: mongodb\n type: x\n",
            "line 3",
            "indent this line like its siblings above",
        ),
        (
            "storage: {type: mongodb}\nport: 1\nport: 2\n",
            "line 3, column 1: this is not valid YAML: duplicate key `port`",
            "keep one of the two entries",
        ),
        (
            "storage: {type: mongodb}\nx: 'open\n",
            "line 2",
            "close the quote",
        ),
        (
            "storage: {type: mongodb}\nx: a: b\n",
            "line 2, column 5",
            "quote a value that holds `: `",
        ),
    ];
    for (text, at, fix) in cases {
        let p = Project::new();
        p.write("powersync.yaml", text);
        let before = p.snapshot_files();
        p.cmd(&["init"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("`powersync.yaml` {at}")))
            .stderr(predicate::str::contains(fix))
            .stderr(predicate::str::contains(
                "the service refuses to start on it too",
            ));
        assert_eq!(p.snapshot_files(), before, "{text}");
    }
}

#[test]
fn flag_values_are_checked_at_the_door() {
    let p = Project::new();
    for args in [
        &["init", "--audience", "a\nb"][..],
        &["init", "--kid", "k\u{1b}]0;x\u{7}"][..],
        &[
            "init",
            "--no-dev-key",
            "--audience",
            "x",
            "--jwks-uri",
            "http://a b",
        ][..],
        &[
            "init",
            "--no-dev-key",
            "--audience",
            "x",
            "--jwks-uri",
            "http://",
        ][..],
        &["init", "--firebase", "proj\r"][..],
    ] {
        let out = p.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Shown escaped: nothing reaches the terminal raw.
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\r'),
            "{stderr:?}"
        );
        assert!(!p.path("powersync.yaml").exists(), "{args:?}");
    }
    p.ok(&["init"]);
    for sub in ["a\u{1}b", "x\ny"] {
        p.cmd(&["mint", "--sub", sub])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("control character"));
    }
}

#[test]
fn dry_run_shows_a_generated_kid_as_a_placeholder_never_a_wrong_one() {
    let p = Project::new();
    p.ok(&["init"]);
    let out = p.run(&["init", "--force", "--dry-run", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kid"], serde_json::Value::Null, "{v}");
    assert_eq!(v["kid_generated"], true);
    let diff = v["diff"].as_str().unwrap();
    assert!(
        diff.contains("+        kid: 'powersync-<generated>'"),
        "{diff}"
    );
    assert!(diff.contains("+PSKEYS_KID=powersync-<generated>"), "{diff}");
    // The text form says why, on stderr; the real run then writes a real kid.
    let out = p.run(&["init", "--force", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pass --kid NAME to choose the kid"),
        "{stderr}"
    );
    let real: serde_json::Value =
        serde_json::from_str(&p.ok(&["init", "--force", "--json"])).unwrap();
    assert_eq!(real["kid_generated"], true);
    assert!(real["kid"].as_str().unwrap().starts_with("powersync-"));
    // A kid the user names is known in advance: shown as it will be written.
    let named: serde_json::Value =
        serde_json::from_str(&p.ok(&["init", "--force", "--kid", "mine", "--dry-run", "--json"]))
            .unwrap();
    assert_eq!(
        (named["kid"].as_str(), named["kid_generated"].as_bool()),
        (Some("mine"), Some(false))
    );
    assert!(
        named["diff"]
            .as_str()
            .unwrap()
            .contains("+        kid: 'mine'")
    );
}

#[test]
fn dry_run_shows_public_key_members_kept_in_env() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--public-in-env"]);
    let env = p.read(".env");
    let x = env
        .lines()
        .find_map(|l| l.strip_prefix("PS_JWK_X="))
        .unwrap()
        .to_string();
    let out = p.run(&["init", "--rotate", "--dry-run"]);
    let diff = String::from_utf8_lossy(&out.stdout);
    // The public coordinate is not a secret: the diff shows it; the private key stays masked.
    assert!(diff.contains(&format!("PS_JWK_X={x}")), "{diff}");
    assert!(!diff.contains("BEGIN PRIVATE KEY"), "{diff}");
}

#[test]
fn force_without_alg_keeps_the_replaced_keys_algorithm() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256"]);
    let v: serde_json::Value = serde_json::from_str(&p.ok(&["init", "--force", "--json"])).unwrap();
    assert_eq!(v["alg"], "ES256", "{v}");
    assert!(p.read(".env").contains("PSKEYS_ALG=ES256"));
    let v: serde_json::Value =
        serde_json::from_str(&p.ok(&["init", "--force", "--alg", "HS256", "--json"])).unwrap();
    assert_eq!(v["alg"], "HS256");
    // A flag that picks a family wins over the key being replaced.
    let v: serde_json::Value =
        serde_json::from_str(&p.ok(&["init", "--force", "--serve", "--dry-run", "--json"]))
            .unwrap();
    assert_eq!(v["alg"], "ES256");
    // A JSON config (no `!env`) keeps its ES256 key through --force.
    let j = Project::new();
    j.write("config.json", "{}\n");
    j.ok(&["init", "--alg", "ES256", "--config", "config.json"]);
    let v: serde_json::Value =
        serde_json::from_str(&j.ok(&["init", "--force", "--config", "config.json", "--json"]))
            .unwrap();
    assert_eq!(v["alg"], "ES256");
}

#[test]
fn dry_run_shows_a_replaced_secret_as_a_change() {
    let p = Project::new();
    p.ok(&["init"]);
    let diff = p.ok(&["init", "--force", "--dry-run"]);
    assert!(
        diff.contains("\n-PS_CLIENT_AUTH_KEY=<secret masked>\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n+PS_CLIENT_AUTH_KEY=<new secret masked>\n"),
        "{diff}"
    );
    // Secrets the run keeps stay unchanged context lines.
    assert!(
        diff.contains("\n PS_DATA_SOURCE_URI=<secret masked>\n"),
        "{diff}"
    );
}

#[test]
fn no_dry_run_output_names_a_kid_the_real_run_would_not_write() {
    let p = Project::new();
    let out = p.run(&["init", "--firebase", "my-app", "--dry-run"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("powersync-<generated>"), "{all}");
    assert!(
        !all.contains("`powersync-") || all.contains("`powersync-<generated>`"),
        "{all}"
    );
    // A teammate's clone of a --public-in-env config: this machine's pair, and its kid, are
    // made by the real run.
    let first = Project::new();
    first.ok(&["init", "--alg", "ES256", "--public-in-env"]);
    let clone = Project::new();
    clone.write("powersync.yaml", first.read("powersync.yaml"));
    let v: serde_json::Value =
        serde_json::from_str(&clone.ok(&["init", "--dry-run", "--json"])).unwrap();
    assert_eq!(v["kid"], serde_json::Value::Null, "{v}");
    assert_eq!(v["kid_generated"], true);
    assert_eq!(v["adopted"], "powersync-<generated>");
    assert!(
        v["diff"]
            .as_str()
            .unwrap()
            .contains("+PSKEYS_KID=powersync-<generated>")
    );
}

#[test]
fn dry_runs_mask_secrets_by_where_the_config_reads_them_not_by_name() {
    let p = Project::new();
    p.ok(&["init", "--kid", "k1"]);
    let config = p
        .read("powersync.yaml")
        .replace("- !env PS_ADMIN_TOKEN", "- 'AdminTokenSecret123'")
        .replace(
            "        k: !env PS_CLIENT_AUTH_KEY\n",
            "        k: !env PS_CLIENT_AUTH_KEY\n      - kty: 'oct'\n        alg: 'HS256'\n        kid: 'other'\n        k: !env PS_JWK_N\n",
        );
    p.write("powersync.yaml", config);
    p.write(
        ".env",
        format!("{}PS_JWK_N=TopSecretHmacValue0123456789\n", p.read(".env")),
    );
    for args in [
        &["keys", "retire", "other", "--dry-run", "--force"][..],
        &["keys", "retire", "other", "--dry-run", "--force", "--json"][..],
        &["init", "--rotate", "--dry-run"][..],
        &["init", "--rotate", "--dry-run", "--json"][..],
    ] {
        let out = p.run(args);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("TopSecretHmac") && !all.contains("AdminTokenSecret"),
            "{args:?}: {all}"
        );
    }
}

#[test]
fn a_usage_error_never_echoes_a_long_value() {
    let p = Project::new();
    let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKkVQZtq3dN0ZcJ9mqHcnKXb0Hc0e2C9jL6pV4xS7q1N\n-----END PRIVATE KEY-----\n";
    for json in [false, true] {
        let mut args = vec!["init", pem];
        if json {
            args.push("--json");
        }
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(2));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("MC4CAQAw") && all.contains("characters hidden"),
            "{all}"
        );
    }
}

#[test]
fn a_usage_error_shows_control_characters_escaped() {
    let p = Project::new();
    let out = p.run(&["mint", "--sub", "u", "--expires-in", "short\nFAKE"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("short\\nFAKE") && !err.lines().any(|l| l.starts_with("FAKE")),
        "{err}"
    );
}
