//! A team: one developer runs `init` and commits the config; a teammate clones and runs
//! `init`. The shared config stays byte-identical, the teammate's `.env` defines every
//! variable it reads, and the teammate's tokens pass the service's own loader and verifier.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::{Project, node_verify};
use predicates::prelude::*;

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git is required for the team tests");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first developer's repository, committed, and a teammate's fresh clone of it.
fn committed_and_cloned(init_args: &[&str]) -> (Project, Project) {
    let first = Project::new();
    first.write(".gitignore", ".env\n");
    first.ok(init_args);
    git(first.dir.path(), &["init", "-q"]);
    git(first.dir.path(), &["add", "."]);
    git(first.dir.path(), &["commit", "-qm", "powersync"]);
    let mate = Project::new();
    let target = mate.dir.path().join("repo");
    git(
        mate.dir.path(),
        &["clone", "-q", first.dir.path().to_str().unwrap(), "repo"],
    );
    // The teammate works in the clone.
    for entry in std::fs::read_dir(&target).unwrap() {
        let entry = entry.unwrap();
        let to = mate.dir.path().join(entry.file_name());
        std::fs::rename(entry.path(), to).unwrap();
    }
    (first, mate)
}

#[test]
fn a_teammate_init_completes_env_and_leaves_the_shared_config_alone() {
    for alg in ["HS256", "HS512"] {
        let (first, mate) = committed_and_cloned(&["init", "--alg", alg]);
        let shared = mate.read("powersync.yaml");
        assert!(!mate.path(".env").exists());
        let out = mate.run(&["init"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("; the config is unchanged"), "{stderr}");
        assert_eq!(
            mate.read("powersync.yaml"),
            shared,
            "{alg}: the shared config changed"
        );
        // The teammate signs with the committed kid, with a secret of their own.
        let kid = |p: &Project| {
            p.read(".env")
                .lines()
                .find_map(|l| l.strip_prefix("PSKEYS_KID=").map(str::to_string))
                .unwrap()
        };
        assert_eq!(kid(&mate), kid(&first));
        let secret = |p: &Project| {
            p.read(".env")
                .lines()
                .find(|l| l.starts_with("PS_CLIENT_AUTH_KEY="))
                .unwrap()
                .to_string()
        };
        assert_ne!(secret(&mate), secret(&first));
        let token = mate.ok(&["mint", "--sub", "mate"]).trim().to_string();
        let r = node_verify(&mate, "powersync.yaml", None, &[token]);
        assert_eq!(r[0]["ok"], true, "{alg}: {}", r[0]);
        // A second run changes nothing.
        let files = mate.snapshot_files();
        mate.ok(&["init"]);
        assert_eq!(files, mate.snapshot_files());
    }
}

#[test]
fn adopting_refuses_another_algorithm_without_rotate() {
    let (_, mate) = committed_and_cloned(&["init"]);
    let shared = mate.read("powersync.yaml");
    mate.cmd(&["init", "--alg", "ES256"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("--rotate"));
    assert_eq!(mate.read("powersync.yaml"), shared);
    assert!(!mate.path(".env").exists());
}

#[test]
fn an_asymmetric_team_key_is_not_silently_joined_by_another() {
    let (first, mate) = committed_and_cloned(&["init", "--alg", "ES256", "--kid", "team"]);
    let shared = mate.read("powersync.yaml");
    mate.cmd(&["init"]).assert().code(3).stderr(
        predicates::str::contains("`team` (ES256)")
            .and(predicates::str::contains("PSKEYS_PRIVATE_KEY"))
            .and(predicates::str::contains("--rotate")),
    );
    assert_eq!(mate.read("powersync.yaml"), shared);
    // doctor names the way out too (a warning: the service itself is fine).
    let out = mate.run(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "env-no-signing-key")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        finding["fix"].as_str().unwrap().contains("--private-key"),
        "{finding}"
    );
    // With the team's private key in the environment, mint signs with the shared key.
    let env = first.read(".env");
    let value = |k: &str| {
        dotenvy::from_read_iter(env.as_bytes())
            .map(Result::unwrap)
            .find(|(n, _)| n == k)
            .unwrap()
            .1
    };
    let token = mate
        .cmd(&["mint", "--sub", "mate"])
        .env("PSKEYS_KID", "team")
        .env("PSKEYS_ALG", "ES256")
        .env("PSKEYS_PRIVATE_KEY", value("PSKEYS_PRIVATE_KEY"))
        .env("PS_DATA_SOURCE_URI", "x")
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    // --private-key imports the team's key, checked against the config first.
    let stranger = Project::new();
    stranger.ok(&["init", "--alg", "ES256"]);
    let wrong = dotenvy::from_read_iter(stranger.read(".env").as_bytes())
        .map(Result::unwrap)
        .find(|(n, _)| n == "PSKEYS_PRIVATE_KEY")
        .unwrap()
        .1;
    mate.cmd(&["init", "--private-key", "-"])
        .write_stdin(wrong)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not the pair of any key"));
    assert!(!mate.path(".env").exists());
    mate.cmd(&["init", "--private-key", "-"])
        .write_stdin(value("PSKEYS_PRIVATE_KEY").replace('\n', "\\n"))
        .assert()
        .success();
    assert_eq!(mate.read("powersync.yaml"), shared);
    let token = mate.ok(&["mint", "--sub", "mate"]).trim().to_string();
    assert_eq!(
        node_verify(&mate, "powersync.yaml", None, &[token])[0]["ok"],
        true
    );
    // --rotate is the explicit way to add this machine's own key.
    mate.ok(&["init", "--rotate"]);
    assert_ne!(mate.read("powersync.yaml"), shared);
}

#[test]
fn a_fresh_checkout_takes_other_variables_from_the_example_file_and_names_the_rest() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "replication:\n  connections:\n    - type: mysql\n      uri: !env PS_MYSQL_URI\nstorage:\n  type: postgresql\n  uri: !env PS_STORAGE_URI\nclient_auth:\n  jwks:\n    keys:\n      - {kty: oct, alg: HS256, kid: team, k: !env PS_CLIENT_AUTH_KEY}\n  audience: [powersync]\n",
    );
    p.write(
        ".env.example",
        "# the source database\nPS_MYSQL_URI=mysql://user:pass@localhost/app\n",
    );
    let out = p.run(&["init", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = p.read(".env");
    assert!(
        env.contains("PS_MYSQL_URI=mysql://user:pass@localhost/app"),
        "{env}"
    );
    assert!(env.contains("PS_CLIENT_AUTH_KEY="));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("storage.uri") && warnings.contains("powersync.yaml:7"),
        "{warnings}"
    );
}

#[test]
fn public_members_read_from_env_get_a_pair_made_on_each_machine() {
    for (kty, members, alg) in [
        ("RSA", "n: !env PS_JWK_N\n        e: !env PS_JWK_E", "RS256"),
        (
            "EC",
            "crv: P-256\n        x: !env PS_JWK_X\n        y: !env PS_JWK_Y",
            "ES256",
        ),
        ("OKP", "crv: Ed25519\n        x: !env PS_JWK_X", "EdDSA"),
    ] {
        let p = Project::new();
        let config = format!(
            "storage: {{type: mongodb}}\nclient_auth:\n  jwks:\n    keys:\n      - kty: {kty}\n        {members}\n        alg: {alg}\n        kid: !env PS_JWK_KID\n  audience: ['powersync-dev', 'powersync']\n"
        );
        p.write("powersync.yaml", &config);
        let out = p.run(&["init"]);
        assert!(
            out.status.success(),
            "{kty}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            p.read("powersync.yaml"),
            config,
            "{kty}: the shared config changed"
        );
        let env = p.read(".env");
        assert!(
            env.contains("PS_JWK_KID=powersync-") && env.contains("PSKEYS_PRIVATE_KEY="),
            "{env}"
        );
        let token = p.ok(&["mint", "--sub", "u"]).trim().to_string();
        let r = node_verify(&p, "powersync.yaml", None, &[token]);
        assert_eq!(r[0]["ok"], true, "{kty}: {}", r[0]);
        // A second machine makes its own pair.
        let q = Project::new();
        q.write("powersync.yaml", &config);
        q.ok(&["init"]);
        assert_ne!(
            q.read(".env").lines().find(|l| l.starts_with("PS_JWK_KID")),
            env.lines().find(|l| l.starts_with("PS_JWK_KID"))
        );
    }
}

#[test]
fn a_partly_env_asymmetric_key_is_not_joined_by_a_new_key() {
    // `e` literal, `n` from the environment: not a pair init can make here, and still the
    // team's signing key, so a plain init refuses to add an HMAC key beside it.
    let p = Project::new();
    let config = "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: RSA\n        n: !env PS_JWK_N\n        e: AQAB\n        alg: RS256\n        kid: team\n  audience: ['powersync-dev', 'powersync']\n";
    p.write("powersync.yaml", config);
    p.cmd(&["init"]).assert().code(3).stderr(
        predicate::str::contains("`team` (RS256)").and(predicate::str::contains("--rotate")),
    );
    assert_eq!(p.read("powersync.yaml"), config);
    assert!(!p.path(".env").exists());
}

#[test]
fn an_hmac_key_whose_kid_is_env_gets_a_kid_here() {
    let p = Project::new();
    let config = "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: oct\n        alg: HS256\n        k: !env PS_SECRET\n        kid: !env PS_KID\n  audience: ['powersync-dev', 'powersync']\n";
    p.write("powersync.yaml", config);
    p.ok(&["init"]);
    assert_eq!(p.read("powersync.yaml"), config);
    let env: std::collections::HashMap<String, String> =
        dotenvy::from_read_iter(p.read(".env").as_bytes())
            .map(Result::unwrap)
            .collect();
    assert!(env["PS_KID"].starts_with("powersync-"), "{env:?}");
    assert_eq!(env["PS_KID"], env["PSKEYS_KID"]);
    let token = p.ok(&["mint", "--sub", "u"]).trim().to_string();
    let r = node_verify(&p, "powersync.yaml", None, &[token]);
    assert_eq!(r[0]["ok"], true, "{}", r[0]);
    // A second run keeps both.
    let before = p.read(".env");
    p.ok(&["init"]);
    assert_eq!(p.read(".env"), before);
    // With the kid's variable already set (CI), `--kid` picks that key by its value; it
    // is not added a second time.
    let q = Project::new();
    q.write("powersync.yaml", config);
    q.cmd(&["init", "--kid", "x"])
        .env("PS_KID", "x")
        .assert()
        .success()
        .stderr(predicate::str::contains("signing with key `x`"));
    assert_eq!(q.read("powersync.yaml"), config);
    q.cmd(&["mint", "--sub", "u"])
        .env("PS_KID", "x")
        .assert()
        .success();
}

#[test]
fn a_crv_that_disagrees_with_alg_stops_init_before_writing() {
    let p = Project::new();
    let config = "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: EC\n        crv: P-384\n        x: !env PS_X\n        y: !env PS_Y\n        alg: ES256\n        kid: team\n  audience: ['powersync']\n";
    p.write("powersync.yaml", config);
    p.cmd(&["init"]).assert().code(2).stderr(
        predicate::str::contains("`powersync.yaml` line 6")
            .and(predicate::str::contains("`alg: ES384` for P-384")),
    );
    assert_eq!(p.read("powersync.yaml"), config);
    assert!(!p.path(".env").exists());
}

#[test]
fn blank_values_and_env_curves_on_a_fresh_checkout() {
    let config = "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: EC\n        crv: !env PS_CRV\n        x: !env PS_JWK_X\n        y: !env PS_JWK_Y\n        alg: ES256\n        kid: !env PS_KID\n  audience: ['powersync']\n";
    let p = Project::new();
    p.write("powersync.yaml", config);
    // Blank in the environment: it would override .env, so nothing is written.
    p.cmd(&["init"])
        .env("PS_JWK_X", "")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PS_JWK_X is set but blank"));
    assert!(!p.path(".env").exists());
    // `crv: !env` gets the pair's curve like the other members.
    p.ok(&["init"]);
    assert!(p.read(".env").contains("PS_CRV=P-256"));
    let token = p.ok(&["mint", "--sub", "u"]).trim().to_string();
    let r = node_verify(&p, "powersync.yaml", None, &[token]);
    assert_eq!(r[0]["ok"], true, "{}", r[0]);
    // A blank (whitespace) shared secret in .env counts as undefined and is filled.
    let q = Project::new();
    q.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: oct\n        alg: HS256\n        k: !env PS_SECRET\n        kid: team\n  audience: ['powersync']\n",
    );
    q.write(".env", "PS_SECRET=\"  \"\n");
    q.ok(&["init"]);
    q.ok(&["mint", "--sub", "u"]);
    // --private-key refuses what is not a regular file, and binary, without hanging.
    q.cmd(&["init", "--private-key", "."]).assert().code(2);
    q.write("r.bin", [0xffu8, 0xfe, 0x00, 0x80]);
    q.cmd(&["init", "--private-key", "r.bin"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not text"));
}

#[test]
fn public_in_env_lets_every_machine_make_its_own_pair() {
    let (first, mate) = committed_and_cloned(&["init", "--alg", "ES256", "--public-in-env"]);
    let shared = mate.read("powersync.yaml");
    assert!(
        shared.contains("kid: !env PS_JWK_KID")
            && shared.contains("x: !env PS_JWK_X")
            && shared.contains("y: !env PS_JWK_Y")
            && shared.contains("crv: 'P-256'"),
        "{shared}"
    );
    let token = first.ok(&["mint", "--sub", "first"]).trim().to_string();
    assert_eq!(
        node_verify(&first, "powersync.yaml", None, &[token])[0]["ok"],
        true
    );
    mate.ok(&["init"]);
    assert_eq!(mate.read("powersync.yaml"), shared);
    let token = mate.ok(&["mint", "--sub", "mate"]).trim().to_string();
    assert_eq!(
        node_verify(&mate, "powersync.yaml", None, &[token])[0]["ok"],
        true
    );
    // A second run finds its own pair and changes nothing.
    let files = mate.snapshot_files();
    mate.ok(&["init"]);
    assert_eq!(files, mate.snapshot_files());
}

#[test]
fn private_key_takes_the_env_line_and_never_echoes_a_key_given_inline() {
    let (first, mate) = committed_and_cloned(&["init", "--alg", "ES256", "--kid", "team"]);
    let line = first
        .read(".env")
        .lines()
        .find(|l| l.starts_with("PSKEYS_PRIVATE_KEY="))
        .unwrap()
        .to_string();
    let pem = dotenvy::from_read_iter(first.read(".env").as_bytes())
        .map(Result::unwrap)
        .find(|(k, _)| k == "PSKEYS_PRIVATE_KEY")
        .unwrap()
        .1;
    // The key itself where a file is wanted: refused without printing it.
    let out = mate.run(&["init", "--private-key", &pem]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("BEGIN PRIVATE KEY"));
    mate.write("garbage.txt", "not a key\n");
    mate.cmd(&["init", "--private-key", "garbage.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a private key"));
    // A huge file (or an endless pipe) is refused after 1 MiB, and nothing is written.
    mate.write("huge.txt", "A".repeat(3 << 20));
    mate.cmd(&["init", "--private-key", "huge.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("more than 1 MiB"));
    assert!(!mate.path(".env").exists());
    for form in [line.clone(), format!("export {line}")] {
        mate.write("key.env", format!("{form}\n"));
        mate.ok(&["init", "--private-key", "key.env"]);
        mate.ok(&["mint", "--sub", "mate"]);
        std::fs::remove_file(mate.path(".env")).unwrap();
    }
}

/// A value of the first developer's `.env`.
fn value_of(p: &Project, var: &str) -> String {
    dotenvy::from_read_iter(p.read(".env").as_bytes())
        .map(Result::unwrap)
        .find(|(k, _)| k == var)
        .unwrap()
        .1
}

/// `mint` on `mate` signs a token `first`'s service (config and `.env`) accepts: they share
/// the key.
fn shares_the_key(first: &Project, mate: &Project) {
    let token = mate.ok(&["mint", "--sub", "mate"]).trim().to_string();
    first.cmd(&["verify", &token]).assert().success();
    assert_eq!(
        node_verify(mate, "powersync.yaml", None, &[token])[0]["ok"],
        true
    );
}

#[test]
fn the_team_key_imports_into_public_in_env_and_hmac_configs() {
    // Public members in .env: the import writes them (and the kid pskeys derives) from the
    // private key, so a shared staging service's tokens work here too.
    let (first, mate) = committed_and_cloned(&["init", "--alg", "ES256", "--public-in-env"]);
    let shared = mate.read("powersync.yaml");
    mate.write("team.key", value_of(&first, "PSKEYS_PRIVATE_KEY"));
    mate.cmd(&["init", "--private-key", "team.key"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "its public members in PS_JWK_X, PS_JWK_Y, PS_JWK_KID",
        ));
    assert_eq!(mate.read("powersync.yaml"), shared);
    for var in ["PS_JWK_X", "PS_JWK_Y", "PS_JWK_KID", "PSKEYS_KID"] {
        assert_eq!(value_of(&mate, var), value_of(&first, var), "{var}");
    }
    shares_the_key(&first, &mate);

    // HMAC: the `.env` line, the bare secret or an oct JWK.
    let (first, mate) = committed_and_cloned(&["init"]);
    let secret = value_of(&first, "PS_CLIENT_AUTH_KEY");
    for form in [
        format!("PS_CLIENT_AUTH_KEY={secret}\n"),
        format!("{secret}\n"),
        format!(r#"{{"kty":"oct","k":"{secret}"}}"#),
    ] {
        mate.write("team.key", &form);
        mate.ok(&["init", "--private-key", "team.key"]);
        assert_eq!(mate.read("powersync.yaml"), first.read("powersync.yaml"));
        shares_the_key(&first, &mate);
        std::fs::remove_file(mate.path(".env")).unwrap();
    }
    // A secret that is not this machine's, once it has one: refused, nothing written.
    mate.ok(&["init"]);
    mate.write("team.key", format!("{secret}\n"));
    let files = mate.snapshot_files();
    mate.cmd(&["init", "--private-key", "team.key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("belongs to no HMAC key"));
    assert_eq!(mate.snapshot_files(), files);
}

#[test]
fn a_ci_job_with_the_team_key_in_its_environment_needs_no_flag() {
    let (first, mate) = committed_and_cloned(&["init", "--alg", "ES256"]);
    let shared = mate.read("powersync.yaml");
    let pem = value_of(&first, "PSKEYS_PRIVATE_KEY");
    let kid = value_of(&first, "PSKEYS_KID");
    // All three secrets, as `pskeys export` gives them: set up already, the key stays
    // in the environment.
    mate.cmd(&["init"])
        .env("PSKEYS_PRIVATE_KEY", &pem)
        .env("PSKEYS_KID", &kid)
        .env("PSKEYS_ALG", "ES256")
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "signing with key `{kid}` (ES256) from the environment"
        )));
    assert!(!mate.read(".env").contains("PRIVATE KEY"));
    std::fs::remove_file(mate.path(".env")).unwrap();
    // The private key alone: its kid found in the config, written to .env; the key is not.
    mate.cmd(&["init"])
        .env("PSKEYS_PRIVATE_KEY", &pem)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "its private key stays in the environment",
        ));
    assert_eq!(value_of(&mate, "PSKEYS_KID"), kid);
    assert!(!mate.read(".env").contains("PRIVATE"));
    assert_eq!(mate.read("powersync.yaml"), shared);
    let token = mate
        .cmd(&["mint", "--sub", "ci"])
        .env("PSKEYS_PRIVATE_KEY", &pem)
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap();
    first.cmd(&["verify", token.trim()]).assert().success();
    std::fs::remove_file(mate.path(".env")).unwrap();
    // Another key in the environment: the refusal says it is the pair of none.
    let other = Project::new();
    other.ok(&["init", "--alg", "ES256"]);
    mate.cmd(&["init"])
        .env("PSKEYS_PRIVATE_KEY", value_of(&other, "PSKEYS_PRIVATE_KEY"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "PSKEYS_PRIVATE_KEY in the environment is the pair of none of them",
        ));
    assert!(!mate.path(".env").exists());
    // mint without a key says how to get the team's, never to replace it.
    mate.cmd(&["mint", "--sub", "u"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pskeys init --private-key FILE"))
        .stderr(predicate::str::contains("--force").not());
    // A key in the wrong PEM form: how to convert it, never `--force`.
    mate.cmd(&["mint", "--sub", "u"])
        .env("PSKEYS_KID", &kid)
        .env("PSKEYS_ALG", "ES256")
        .env(
            "PSKEYS_PRIVATE_KEY",
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----",
        )
        .assert()
        .code(2)
        .stderr(predicate::str::contains("openssl pkcs8 -topk8 -nocrypt"))
        .stderr(predicate::str::contains("--force").not());
}

#[test]
fn a_secret_lost_from_env_is_made_again_like_on_a_fresh_clone() {
    let p = Project::new();
    p.ok(&["init"]);
    let config = p.read("powersync.yaml");
    p.remove_env_var("PS_CLIENT_AUTH_KEY");
    // doctor names the one real problem, with the fix that works.
    let out = p.run(&["doctor"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[env-undefined]"), "{err}");
    assert!(!err.contains("env-kid-missing"), "{err}");
    let out = p.run(&["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("a new secret for PS_CLIENT_AUTH_KEY"));
    assert_eq!(p.read("powersync.yaml"), config);
    p.ok(&["mint", "--sub", "u"]);
    assert!(p.run(&["doctor"]).status.success());
}

#[test]
fn an_older_keys_lost_secret_and_an_empty_one() {
    // After a rotation, the older key's secret deleted: init fills it, signing key kept.
    let p = Project::new();
    p.ok(&["init"]);
    p.ok(&["init", "--rotate"]);
    let kid = p
        .read(".env")
        .lines()
        .find_map(|l| l.strip_prefix("PSKEYS_KID="))
        .unwrap()
        .to_string();
    p.remove_env_var("PS_CLIENT_AUTH_KEY");
    // `init` keeps to the signing key; doctor does not send the user round in circles.
    let out = p.run(&["doctor"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "this machine signs with `{kid}`, so `pskeys init` leaves key"
        )) && err.contains("pskeys keys retire"),
        "{err}"
    );
    // A secret present but empty counts as missing.
    let q = Project::new();
    q.ok(&["init"]);
    let emptied: String = q
        .read(".env")
        .lines()
        .map(|l| {
            if l.starts_with("PS_CLIENT_AUTH_KEY=") {
                "PS_CLIENT_AUTH_KEY=".to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    q.write(".env", emptied);
    q.ok(&["init"]);
    q.ok(&["mint", "--sub", "u"]);
    assert!(q.run(&["doctor"]).status.success());
}

#[test]
fn force_on_a_shared_env_kid_key_says_how_to_get_a_new_pair() {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--public-in-env"]);
    let files = p.snapshot_files();
    p.cmd(&["init", "--force"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "delete PSKEYS_PRIVATE_KEY, PSKEYS_KID and the PS_JWK_",
        ));
    assert_eq!(files, p.snapshot_files());
}
