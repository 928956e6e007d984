//! Auth providers in `init` (Supabase, Firebase, custom JWKS) and the key lifecycle:
//! `keys list`, `keys retire`, `jwks`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::Project;
use predicates::prelude::*;

const FIREBASE: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

#[test]
fn firebase_next_to_a_dev_key() {
    let p = Project::new();
    p.write("powersync.yaml", "# my service\nport: 8080\n");
    let out = p.run(&["init", "--firebase", "my-app-123", "--kid", "dev"]);
    assert!(out.status.success());
    // The dev key and audiences are said out loud: a production config should not keep them.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: --firebase also set up a development key: the config also accepts tokens signed with `dev`")
            && err.contains("the audiences powersync-dev, powersync")
            && err.contains("--no-dev-key"),
        "{err}"
    );
    let config = p.read("powersync.yaml");
    insta::assert_snapshot!("firebase", config);
    assert!(config.contains(&format!("jwks_uri: '{FIREBASE}'")));
    // Idempotent, and the dev key still mints.
    let files = p.snapshot_files();
    p.ok(&["init", "--firebase", "my-app-123"]);
    assert_eq!(files, p.snapshot_files());
    p.ok(&["mint", "--sub", "u", "--aud", "powersync"]);
    // With --no-dev-key there is nothing to warn about.
    let prod = Project::new();
    let out = prod.run(&["init", "--firebase", "my-app-123", "--no-dev-key"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("also set up a development key"));
}

#[test]
fn custom_jwks_uris_keep_existing_ones_and_become_a_list_on_the_second() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "client_auth:\n  jwks_uri: https://a.example/jwks.json # Auth0\n  audience: [\"api-a\"]\n",
    );
    p.ok(&[
        "init",
        "--no-dev-key",
        "--jwks-uri",
        "https://a.example/jwks.json",
    ]);
    assert_eq!(
        p.read("powersync.yaml"),
        "client_auth:\n  jwks_uri: https://a.example/jwks.json # Auth0\n  audience: [\"api-a\"]\n"
    );
    p.ok(&[
        "init",
        "--no-dev-key",
        "--jwks-uri",
        "https://b.example/jwks.json",
        "--audience",
        "api-b",
    ]);
    assert_eq!(
        p.read("powersync.yaml"),
        "client_auth:\n  jwks_uri: [https://a.example/jwks.json, 'https://b.example/jwks.json'] # Auth0\n  audience: [\"api-a\", \"api-b\"]\n"
    );
    // A new config needs the provider's audience.
    let q = Project::new();
    q.cmd(&["init", "--jwks-uri", "https://x.example/jwks"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--audience"));
    q.cmd(&["init", "--no-dev-key"]).assert().code(2);
    q.cmd(&["init", "--jwks-uri", "ftp://x"]).assert().code(2);
}

#[test]
fn supabase_with_the_legacy_secret() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  audience: ['powersync']\n",
    );
    p.cmd(&[
        "init",
        "--no-dev-key",
        "--supabase-jwt-secret-env",
        "SB_SECRET",
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains("SB_SECRET"));
    p.cmd(&[
        "init",
        "--no-dev-key",
        "--supabase-jwt-secret-env",
        "SB_SECRET",
    ])
    .env("SB_SECRET", "my-legacy-supabase-jwt-secret-0123456789")
    .assert()
    .success();
    let config = p.read("powersync.yaml");
    assert_eq!(
        config,
        "storage: {type: mongodb}\nclient_auth:\n  audience: ['powersync', 'authenticated']\n  supabase: true\n  supabase_jwt_secret: !env PS_SUPABASE_JWT_SECRET\n"
    );
    assert!(
        p.read(".env")
            .contains("PS_SUPABASE_JWT_SECRET=my-legacy-supabase-jwt-secret-0123456789")
    );
    // The secret never reaches the output, and a token signed with it verifies.
    let key = pskeys::keys::PrivateKey::Hmac {
        alg: pskeys::keys::Alg::HS256,
        secret: b"my-legacy-supabase-jwt-secret-0123456789".to_vec(),
    };
    let now = pskeys::now();
    let claims =
        serde_json::json!({"sub": "u", "iat": now, "exp": now + 3600, "aud": "authenticated"});
    let token = pskeys::jws::sign_raw(
        &key.signing_key().unwrap(),
        &serde_json::Map::new(),
        claims.as_object().unwrap(),
    )
    .unwrap();
    p.ok(&["verify", &token]);
    // doctor is happy with it.
    p.ok(&["doctor"]);
}

#[test]
fn supabase_flag_alone() {
    let p = Project::new();
    p.ok(&["init", "--supabase", "--kid", "dev"]);
    let config = p.read("powersync.yaml");
    assert!(
        config.contains("  supabase: true\n")
            && config.contains("audience: ['powersync-dev', 'powersync', 'authenticated']"),
        "{config}"
    );
}

#[test]
fn keys_list_json() {
    let p = Project::new();
    p.ok(&["init", "--kid", "one"]);
    p.ok(&["init", "--rotate", "--alg", "EdDSA", "--kid", "two"]);
    let v: serde_json::Value = serde_json::from_str(&p.ok(&["keys", "list", "--json"])).unwrap();
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (
            keys[0]["kid"].as_str(),
            keys[0]["signing"].as_bool(),
            keys[0]["private_in_env"].as_bool()
        ),
        (Some("one"), Some(false), Some(true))
    );
    assert_eq!(
        (
            keys[1]["kid"].as_str(),
            keys[1]["signing"].as_bool(),
            keys[1]["private_in_env"].as_bool()
        ),
        (Some("two"), Some(true), Some(true))
    );
    assert_eq!(
        v["audience"],
        serde_json::json!(["powersync-dev", "powersync"])
    );
    let human = p.ok(&["keys", "list"]);
    assert!(
        human.contains("signing key (pskeys mint uses it)"),
        "{human}"
    );
}

#[test]
fn retire_hands_signing_over_or_refuses() {
    let p = Project::new();
    p.ok(&["init", "--kid", "one"]);
    p.ok(&["init", "--rotate", "--kid", "two"]);
    // Retiring the signing key hands over to another key .env can sign with.
    p.ok(&["keys", "retire", "two"]);
    let config = p.read("powersync.yaml");
    assert!(!config.contains("kid: 'two'") && config.contains("kid: 'one'"));
    let env = p.read(".env");
    assert!(
        env.contains("PSKEYS_KID=one") && !env.contains("PS_CLIENT_AUTH_KEY_2"),
        "{env}"
    );
    p.ok(&["mint", "--sub", "u"]);
    // The last key: refused without --force, and nothing changes.
    let files = p.snapshot_files();
    p.cmd(&["keys", "retire", "one"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--rotate"));
    assert_eq!(files, p.snapshot_files());
    p.cmd(&["keys", "retire", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("one"));
    p.ok(&["keys", "retire", "one", "--force"]);
    assert!(!p.read(".env").contains("PSKEYS_KID"));
    p.cmd(&["mint", "--sub", "u"]).assert().code(2);
}

#[test]
fn jwks_publishes_public_keys_only() {
    let p = Project::new();
    p.ok(&["init", "--kid", "hmac"]);
    p.cmd(&["jwks"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HMAC"));
    p.ok(&["init", "--rotate", "--alg", "RS256", "--kid", "rsa"]);
    let out = p.ok(&["jwks"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], "rsa");
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(keys[0].get(private).is_none());
    }
    // Served at a jwks_uri, it verifies minted tokens.
    p.write("jwks.json", &out);
    let q = Project::new();
    q.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  jwks_uri: https://backend.example/jwks.json\n  audience: ['powersync']\n",
    );
    let token = p.ok(&["mint", "--sub", "u", "--aud", "powersync"]);
    q.ok(&[
        "verify",
        "--jwks",
        p.path("jwks.json").to_str().unwrap(),
        token.trim(),
    ]);
}

#[test]
fn providers_in_a_json_config() {
    let p = Project::new();
    p.write(
        "config.json",
        "{\n  \"port\": 8080,\n  \"storage\": {\"type\": \"mongodb\"}\n}\n",
    );
    p.ok(&[
        "init",
        "--firebase",
        "my-app",
        "--alg",
        "ES256",
        "--kid",
        "dev",
    ]);
    let v: serde_json::Value = serde_json::from_str(&p.read("config.json")).unwrap();
    assert_eq!(v["client_auth"]["jwks_uri"], FIREBASE);
    assert_eq!(
        v["client_auth"]["audience"],
        serde_json::json!(["powersync-dev", "powersync", "my-app"])
    );
    assert!(
        p.read("config.json")
            .starts_with("{\n  \"port\": 8080,\n  \"storage\": {\"type\": \"mongodb\"},\n  \"client_auth\": {\n    \"jwks\": {")
    );
    p.ok(&[
        "init",
        "--no-dev-key",
        "--jwks-uri",
        "https://b.example/jwks",
        "--supabase",
    ]);
    let v: serde_json::Value = serde_json::from_str(&p.read("config.json")).unwrap();
    assert_eq!(
        v["client_auth"]["jwks_uri"],
        serde_json::json!([FIREBASE, "https://b.example/jwks"])
    );
    assert_eq!(v["client_auth"]["supabase"], true);
    // JSON cannot reference .env: the legacy secret needs YAML.
    p.cmd(&["init", "--no-dev-key", "--supabase-jwt-secret-env", "X"])
        .env("X", "s")
        .assert()
        .code(2);
}

#[test]
fn retire_keeps_a_variable_the_config_still_reads() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  supabase: true\n  supabase_jwt_secret: !env PS_SHARED\n  jwks:\n    keys:\n      - {kty: oct, alg: HS256, kid: old, k: !env PS_SHARED}\n  audience: [authenticated]\n",
    );
    p.write(
        ".env",
        "PS_SHARED=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI\n",
    );
    p.ok(&["keys", "retire", "old"]);
    assert!(p.read(".env").contains("PS_SHARED="), "{}", p.read(".env"));
    assert!(!p.read("powersync.yaml").contains("kid: old"));
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly() {
    use std::process::Stdio;
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256"]);
    let token = p.ok(&["mint", "--sub", "u"]).trim().to_string();
    for args in [
        &["init", "--rotate"][..],
        &["keys", "list"][..],
        &["doctor"][..],
        &["verify", &token][..],
        &["decode", &token][..],
        &["init", "--dry-run"][..],
        &["export"][..],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pskeys"))
            .current_dir(p.dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Both pipes closed before the child writes a byte.
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_ne!(status.code(), Some(101), "{args:?} panicked");
    }
    // The rotation went through although nobody read its report.
    let keys = p.ok(&["keys", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&keys).unwrap();
    assert_eq!(v["keys"].as_array().unwrap().len(), 2, "{keys}");
}

#[test]
fn a_rotated_out_key_keeps_signing_until_it_is_retired() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--kid", "one"]);
    let old_token = p.ok(&["mint", "--sub", "u"]).trim().to_string();
    p.ok(&["init", "--rotate", "--alg", "ES256", "--kid", "two"]);
    // Its private key is kept: mint --kid signs with it, jwks publishes both keys, and
    // its earlier tokens still verify.
    assert!(p.read(".env").contains("PSKEYS_PRIVATE_KEY_ONE_"));
    let again = p
        .ok(&["mint", "--sub", "u", "--kid", "one"])
        .trim()
        .to_string();
    p.cmd(&["verify", &again]).assert().success();
    p.cmd(&["verify", &old_token]).assert().success();
    let jwks: serde_json::Value = serde_json::from_str(&p.ok(&["jwks"])).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["two", "one"]);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none())
    );
    // Retiring the new key hands signing back to the old one, with its private key.
    p.cmd(&["keys", "retire", "two"])
        .assert()
        .success()
        .stderr(predicates::str::contains("now signs with `one` again"));
    let env = p.read(".env");
    assert!(
        env.contains("PSKEYS_KID=one") && !env.contains("PSKEYS_PRIVATE_KEY_ONE_"),
        "{env}"
    );
    p.ok(&["mint", "--sub", "u"]);
    // Rotating to HMAC keeps it too; retiring it removes what was kept for it.
    p.ok(&["init", "--rotate", "--alg", "HS256", "--kid", "three"]);
    assert!(p.read(".env").contains("PSKEYS_PRIVATE_KEY_ONE_"));
    p.ok(&["keys", "retire", "one"]);
    assert!(!p.read(".env").contains("PRIVATE_KEY"));
}

#[test]
fn retiring_a_key_keeps_a_variable_something_else_reads() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  supabase_jwt_secret: !env PS_SHARED\n  jwks:\n    keys:\n      - {kty: oct, alg: HS256, kid: a, k: !env PS_SHARED}\n      - {kty: oct, alg: HS256, kid: b, k: !env PS_B}\n  audience: [powersync]\n",
    );
    p.write(
        ".env",
        "PS_SHARED=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\nPS_B=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\nPSKEYS_KID=b\nPSKEYS_ALG=HS256\n",
    );
    p.ok(&["keys", "retire", "a"]);
    assert!(p.read(".env").contains("PS_SHARED="));
}

#[test]
fn kids_that_look_alike_keep_their_own_private_keys() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--kid", "k-1"]);
    p.ok(&["init", "--rotate", "--kid", "k.1"]);
    p.ok(&["init", "--rotate", "--kid", "k2"]);
    p.ok(&["mint", "--sub", "u", "--kid", "k-1"]);
    p.ok(&["mint", "--sub", "u", "--kid", "k.1"]);
    p.ok(&["keys", "retire", "k-1"]);
    p.ok(&["mint", "--sub", "u", "--kid", "k.1"]);
    // A path through a missing folder never replaces the real .env.
    let env = p.read(".env");
    p.cmd(&["init", "--rotate", "--env-file", "nosuch/../.env"])
        .assert()
        .code(4);
    assert_eq!(p.read(".env"), env);
}

#[test]
fn retire_and_jwks_speak_json() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256"]);
    let old = p
        .read(".env")
        .lines()
        .find_map(|l| l.strip_prefix("PSKEYS_KID="))
        .unwrap()
        .trim_matches('\'')
        .to_string();
    p.ok(&["init", "--rotate"]);
    let before = p.snapshot_files();
    let dry: serde_json::Value =
        serde_json::from_str(&p.ok(&["keys", "retire", &old, "--json", "--dry-run"])).unwrap();
    assert_eq!(dry["retired"], old.as_str());
    assert_eq!(dry["dry_run"], true);
    assert!(dry["diff"].as_str().unwrap().contains(&old));
    assert_eq!(before, p.snapshot_files());
    let done: serde_json::Value =
        serde_json::from_str(&p.ok(&["keys", "retire", &old, "--json"])).unwrap();
    assert_eq!(done["config"]["changed"], true);
    assert_eq!(done["dry_run"], false);
    assert!(!p.read("powersync.yaml").contains(&old));
    let out = p.run(&["keys", "retire", "nosuch", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["kind"], "usage");
    let jwks: serde_json::Value = serde_json::from_str(&p.ok(&["jwks", "--json"])).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

#[test]
fn decode_json_has_machine_times() {
    let p = Project::new();
    p.ok(&["init"]);
    let token = p.ok(&["mint", "--sub", "u", "--expires-in", "1h"]);
    let out: serde_json::Value =
        serde_json::from_str(&p.ok(&["decode", token.trim(), "--json"])).unwrap();
    let t = &out["timestamps"];
    let (iat, exp) = (
        t["iat"]["unix"].as_u64().unwrap(),
        t["exp"]["unix"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert_eq!(t["lifetime"], 3600);
    assert_eq!(t["exp"]["rfc3339"], pskeys::clock::rfc3339(exp).as_str());
    let from_now = t["exp"]["from_now"].as_i64().unwrap();
    assert!((3590..=3600).contains(&from_now), "{from_now}");
    assert!(
        out["times"]["exp"].as_str().unwrap().contains("in 59m")
            || out["times"]["exp"].as_str().unwrap().contains("in 1h")
    );
}

#[test]
fn every_command_names_files_as_objects_with_a_path() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256"]);
    let token = p.ok(&["mint", "--sub", "u"]);
    let json = |args: &[&str]| -> serde_json::Value {
        let out = p.run(args);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    for args in [
        &["init", "--json"][..],
        &["doctor", "--json"],
        &["keys", "list", "--json"],
        &["verify", token.trim(), "--json"],
    ] {
        let v = json(args);
        assert_eq!(v["config"]["path"], "powersync.yaml", "{args:?}: {v}");
    }
    assert_eq!(json(&["doctor", "--json"])["env_file"]["path"], ".env");
}

#[test]
fn a_dev_key_next_to_a_provider_the_config_already_has_is_said_out_loud() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "client_auth:\n  supabase: true\n  jwks_uri: http://kong:8000/auth/v1/.well-known/jwks.json\n  audience: [\"authenticated\"]\n",
    );
    let out = p.run(&["init"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: added a development key next to the config's `supabase: true`")
            && err.contains("--no-dev-key"),
        "{err}"
    );
}

#[test]
fn a_provider_is_added_next_to_a_key_the_service_would_refuse() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "client_auth:\n  jwks:\n    keys:\n      - kty: oct\n        alg: HS256\n        kid: hs-weird\n        k: !env MY_WEIRD_VAR\n  audience: [powersync]\n",
    );
    p.write(
        ".env",
        "MY_WEIRD_VAR=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI\n",
    );
    let out = p.run(&["init", "--jwks-uri", "https://x.example/jwks"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("internal error"), "{err}");
    assert!(
        p.read("powersync.yaml")
            .contains("jwks_uri: 'https://x.example/jwks'")
    );
}

#[test]
fn taking_the_configs_key_while_patching_a_provider_says_so() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "client_auth:\n  jwks:\n    keys:\n      - kty: oct\n        alg: HS256\n        kid: hs1\n        k: !env PS_K1\n  audience: [powersync]\n",
    );
    let out = p.run(&["init", "--jwks-uri", "https://x.example/jwks"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("patched `powersync.yaml`: jwks_uri += https://x.example/jwks"),
        "{err}"
    );
    assert!(
        err.contains("the key as the config has it") && !err.contains("the config is unchanged"),
        "{err}"
    );
}
