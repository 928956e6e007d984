//! `pskeys mint` on the real binary: output shape, claims, and the service's rules checked
//! before anything is printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use base64::Engine as _;
use common::Project;
use predicates::prelude::*;

fn claims(token: &str) -> serde_json::Value {
    let part = token.trim().split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn header(token: &str) -> serde_json::Value {
    let part = token.trim().split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn setup() -> Project {
    let p = Project::new();
    p.ok(&["init", "--kid", "dev"]);
    p
}

#[test]
fn prints_the_token_alone_with_the_service_claims() {
    let p = setup();
    let out = p.ok(&["mint", "--sub", "user-1"]);
    assert!(out.ends_with('\n') && out.lines().count() == 1);
    let h = header(&out);
    assert_eq!(
        (h["alg"].as_str(), h["kid"].as_str(), h["typ"].as_str()),
        (Some("HS256"), Some("dev"), Some("JWT"))
    );
    let c = claims(&out);
    assert_eq!(c["sub"], "user-1");
    assert_eq!(c["aud"], serde_json::json!(["powersync-dev", "powersync"]));
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        43_200
    );
}

#[test]
fn options_shape_the_claims() {
    let p = setup();
    let out = p.ok(&[
        "mint",
        "--sub",
        "u",
        "--expires-in",
        "15m",
        "--aud",
        "powersync",
        "--endpoint",
        "http://localhost:8080",
        "--claim",
        "role=admin",
        "--claim",
        "n=3",
        "--parameters",
        r#"{"team":"a"}"#,
    ]);
    let c = claims(&out);
    assert_eq!(
        c["aud"],
        serde_json::json!(["http://localhost:8080", "powersync"])
    );
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 900);
    assert_eq!(c["role"], "admin");
    assert_eq!(c["n"], 3);
    assert_eq!(c["parameters"], serde_json::json!({"team": "a"}));
}

/// The token inside a Diagnostics app link.
fn linked_token(link: &str) -> &str {
    link.trim().split_once("/?token=").unwrap().1
}

#[test]
fn diagnostics_prints_the_link_with_the_endpoint_first_in_aud() {
    let p = setup();
    let out = p.ok(&["mint", "--sub", "josé?", "--diagnostics"]);
    assert_eq!(out.lines().count(), 1);
    assert!(out.starts_with("https://diagnostics-app.powersync.com/?token="));
    let token = linked_token(&out);
    // The app reads the payload with `atob`, which refuses base64url's `-` and `_`.
    assert!(!token.split('.').nth(1).unwrap().contains(['-', '_']));
    let c = claims(token);
    assert_eq!(c["sub"], "josé?");
    // The template's port (PS_PORT=8080 in .env), first: the app takes the first URL.
    assert_eq!(
        c["aud"],
        serde_json::json!(["http://localhost:8080", "powersync-dev", "powersync"])
    );
    p.cmd(&["verify", token]).assert().success();

    let out = p.ok(&["mint", "--sub", "u", "--diagnostics", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["endpoint"], "http://localhost:8080");
    let url = v["diagnostics_url"].as_str().unwrap();
    assert_eq!(linked_token(url), v["token"]);
}

#[test]
fn diagnostics_follows_the_port_and_warns_about_plain_http_elsewhere() {
    let p = setup();
    let out = p
        .cmd(&["mint", "--sub", "u", "--diagnostics"])
        .env("PS_PORT", "9090")
        .output()
        .unwrap();
    let c = claims(linked_token(std::str::from_utf8(&out.stdout).unwrap()));
    assert_eq!(c["aud"][0], "http://localhost:9090");

    p.cmd(&[
        "mint",
        "--sub",
        "u",
        "--diagnostics",
        "--endpoint",
        "http://192.168.1.20:8080",
    ])
    .assert()
    .success()
    .stdout(predicate::str::starts_with("http://localhost:8082/?token="))
    .stderr(predicate::str::contains(
        "docker run --pull always -p 8082:80 journeyapps/powersync-diagnostics-app",
    ));

    // A configured audience the app prefers (one on journeyapps.com) is named.
    let q = Project::new();
    q.ok(&["init", "--audience", "https://x.journeyapps.com"]);
    q.cmd(&["mint", "--sub", "u", "--diagnostics"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "the app would connect to https://x.journeyapps.com",
        ));

    p.cmd(&["mint", "--sub", "u", "--diagnostics"])
        .env("PS_PORT", "none")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("powersync.yaml"))
        .stderr(predicate::str::contains("--endpoint http://HOST:PORT"));
    p.cmd(&["mint", "--sub", "u", "--diagnostics=ftp://x"])
        .assert()
        .code(2);
}

#[test]
fn json_output() {
    let p = setup();
    let out = p.ok(&["mint", "--sub", "u", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["token"].as_str().unwrap().split('.').count() == 3);
    assert_eq!(v["header"]["kid"], "dev");
    assert_eq!(v["claims"]["sub"], "u");
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn refuses_what_the_service_would_reject() {
    let p = setup();
    p.cmd(&["mint", "--sub", "u", "--expires-in", "25h"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PSYNC_S2104"));
    // `10` alone could be seconds or minutes: the unit is asked for, nothing is signed.
    p.cmd(&["mint", "--sub", "u", "--expires-in", "10"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "`10` has no unit; write 10s for seconds, 10m",
        ));
    p.cmd(&["mint", "--sub", "u", "--aud", "other"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("PSYNC_S2105").and(predicate::str::contains("powersync-dev")),
        );
    p.cmd(&["mint", "--sub", "u", "--parameters", "[1]"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("must be an object"));
    p.cmd(&["mint", "--sub", "u", "--claim", "parameters=[1]"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "PSYNC_S2101 Payload parameters must be an object",
        ));
    p.cmd(&["mint", "--sub", "u", "--claim", "nbf=9999999999"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "\"nbf\" claim timestamp check failed",
        ));
    // `parameters: null` is what the service ignores.
    p.ok(&["mint", "--sub", "u", "--parameters", "null"]);
    p.cmd(&["mint", "--sub", "u", "--kid", "nope"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("Could not find an appropriate key")
                .and(predicate::str::contains("dev")),
        );
    p.cmd(&["mint", "--sub", "u", "--claim", "exp=1"])
        .assert()
        .code(2);
    // No audience configured: every token would fail.
    let config = p
        .read("powersync.yaml")
        .replace("  audience: ['powersync-dev', 'powersync']\n", "");
    p.write("powersync.yaml", config);
    p.cmd(&["mint", "--sub", "u"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("PSYNC_S2105"));
}

#[test]
fn detects_a_config_key_that_does_not_match_env() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--kid", "k"]);
    let other = Project::new();
    other.ok(&["init", "--alg", "ES256", "--kid", "k"]);
    p.write(".env", other.read(".env"));
    p.cmd(&["mint", "--sub", "u"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not the pair of key `k`"));
}

#[test]
fn process_environment_wins_and_needs_no_env_file() {
    let p = setup();
    let env = p.read(".env");
    let get = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_string()
    };
    std::fs::remove_file(p.path(".env")).unwrap();
    let out = p
        .cmd(&["mint", "--sub", "ci"])
        .env("PSKEYS_KID", get("PSKEYS_KID"))
        .env("PSKEYS_ALG", "HS256")
        .env("PS_CLIENT_AUTH_KEY", get("PS_CLIENT_AUTH_KEY"))
        .env("PS_DATA_SOURCE_URI", "x")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_init_it_says_what_to_run() {
    let p = Project::new();
    p.cmd(&["mint", "--sub", "u"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pskeys init"));
    p.write("powersync.yaml", "port: 1\n");
    p.cmd(&["mint", "--sub", "u"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pskeys init"));
}

#[test]
fn warns_about_private_members_the_service_still_verifies_with() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--kid", "k"]);
    let config = p.read("powersync.yaml").replace(
        "        use: 'sig'\n",
        "        use: 'sig'\n        d: 'AAAA'\n",
    );
    p.write("powersync.yaml", config);
    // The service's jose verifies with such a key; the leak is a warning here and an
    // error in doctor.
    p.cmd(&["mint", "--sub", "u"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: key `k` holds the private field `d`",
        ));
}

#[test]
fn json_failures_are_one_error_object_on_stdout() {
    let p = setup();
    let out = p.run(&["mint", "--sub", "u", "--aud", "other", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &v["error"];
    assert_eq!(e["kind"], "rejected");
    assert_eq!(e["code"], "PSYNC_S2105");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Unexpected \"aud\" claim value")
    );
    assert!(e["hint"].as_str().unwrap().contains("--aud"));
    // A config the service refuses names the file and line.
    p.write("powersync.yaml", "client_auth:\n  audience: [a]\n");
    let out = p.run(&["verify", "--json", "a.b.c"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "config_refused");
    assert_eq!(
        v["error"]["file"],
        serde_json::json!({"path": "powersync.yaml", "line": 1})
    );
    // Without --json, stdout stays empty.
    let out = p.run(&["mint", "--sub", "u"]);
    assert!(out.stdout.is_empty());
}

#[test]
fn argument_errors_are_json_too_and_missing_files_are_named() {
    let p = setup();
    let out = p.run(&["mint", "--sub", "u", "--expires-in", "25h", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "usage");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PSYNC_S2104")
    );
    p.cmd(&["mint", "--sub", "u", "--config", "nope.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`nope.yaml` (from --config) does not exist",
        ));
    p.cmd(&["mint", "--sub", "u", "--env-file", "nope.env"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`nope.env` does not exist"));
    // A refused config names its file and line on stderr too.
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  audience: powersync\n",
    );
    p.cmd(&["verify", "a.b.c"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`powersync.yaml` line 3:"));
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let p = setup();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pskeys"))
        .current_dir(p.dir.path())
        .args(["mint", "--sub", "u", "--json"])
        .env_remove("PSKEYS_KID")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "{:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn verify_in_an_env_only_job_needs_only_what_client_auth_reads() {
    let p = setup();
    let token = p.ok(&["mint", "--sub", "ci"]).trim().to_string();
    let env = p.read(".env");
    let value = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_string()
    };
    std::fs::remove_file(p.path(".env")).unwrap();
    // The template reads PS_DATA_SOURCE_URI, PS_MONGO_URI, PS_PORT and PS_ADMIN_TOKEN too:
    // the job defines none of them.
    p.cmd(&["verify", &token])
        .env("PS_CLIENT_AUTH_KEY", value("PS_CLIENT_AUTH_KEY"))
        .assert()
        .success();
    // Without the key's own variable the service would not load client_auth.
    p.cmd(&["verify", &token]).assert().code(2);
}

#[test]
fn the_config_is_found_from_subfolders_up_to_the_repository_root() {
    let p = setup();
    std::fs::create_dir_all(p.path("src/deep")).unwrap();
    // Outside a repository only the current folder is searched.
    p.cmd(&["mint", "--sub", "u"])
        .current_dir(p.path("src/deep"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no PowerSync config found"));
    std::fs::create_dir_all(p.path(".git")).unwrap();
    let out = p
        .cmd(&["mint", "--sub", "u", "--json"])
        .current_dir(p.path("src/deep"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = p
        .cmd(&["keys", "list"])
        .current_dir(p.path("src"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("`../powersync.yaml`"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A repository inside stops the search at its root.
    std::fs::create_dir_all(p.path("vendored/.git")).unwrap();
    std::fs::create_dir_all(p.path("vendored/lib")).unwrap();
    p.cmd(&["mint", "--sub", "u"])
        .current_dir(p.path("vendored/lib"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no PowerSync config found"));
}

#[test]
fn outside_a_repository_a_config_above_is_named_not_used() {
    let p = setup();
    std::fs::create_dir_all(p.path("sub")).unwrap();
    p.cmd(&["mint", "--sub", "u"])
        .current_dir(p.path("sub"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`../powersync.yaml` is in a parent folder",
        ));
    // init refuses too, before making anything, and says how to choose.
    let before = p.snapshot_files();
    for args in [&["init"][..], &["init", "--dry-run", "--json"][..]] {
        p.cmd(args)
            .current_dir(p.path("sub"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "`../powersync.yaml` is in a parent folder",
            ))
            .stderr(predicate::str::contains("pass --config ../powersync.yaml"));
    }
    assert_eq!(p.snapshot_files(), before);
    p.cmd(&["init", "--config", "powersync.yaml"])
        .current_dir(p.path("sub"))
        .assert()
        .success();
    assert!(p.path("sub/powersync.yaml").exists());
}

#[test]
fn another_tools_config_yaml_is_never_taken_for_the_service_config() {
    let p = Project::new();
    std::fs::create_dir_all(p.path(".git")).unwrap();
    p.write("config.yaml", "log_level: debug\n");
    std::fs::create_dir_all(p.path("newproj")).unwrap();
    p.cmd(&["init"])
        .current_dir(p.path("newproj"))
        .assert()
        .success()
        .stderr(predicate::str::contains("created `powersync.yaml`"));
    assert_eq!(p.read("config.yaml"), "log_level: debug\n");
    assert!(!p.path(".env").exists() && p.path("newproj/.env").exists());
    // Here too: a note says why it was left alone.
    let q = Project::new();
    q.write("config.yaml", "log_level: debug\n");
    q.cmd(&["init"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "`config.yaml` has none of the service's settings",
        ));
    assert_eq!(q.read("config.yaml"), "log_level: debug\n");
}

#[test]
fn an_argument_that_is_not_utf8_is_a_usage_error_not_a_crash() {
    use std::os::unix::ffi::OsStrExt as _;
    let p = setup();
    for json in [false, true] {
        let mut cmd = p.cmd(&["mint", "--sub"]);
        cmd.arg(std::ffi::OsStr::from_bytes(b"\xff"));
        if json {
            cmd.arg("--json");
        }
        cmd.assert()
            .code(2)
            .stderr(predicate::str::contains("invalid UTF-8"));
    }
}
