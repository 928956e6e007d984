//! `pskeys export`: every format reads back, through a faithful reader of its consumer, to
//! the values pskeys holds, and the token `mint` signs from those values alone passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use std::collections::BTreeMap;

use common::{Project, docker_env_file, github_env_file};
use predicates::prelude::*;

fn setup() -> (Project, BTreeMap<String, String>) {
    let p = Project::new();
    p.ok(&["init", "--alg", "ES256", "--kid", "k1"]);
    let env = p.read(".env");
    let values = dotenvy::from_read_iter(env.as_bytes())
        .map(Result::unwrap)
        .collect();
    (p, values)
}

/// `mint` with these variables in the environment and no `.env` at all.
fn mints_with(p: &Project, vars: &BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(p.path("powersync.yaml"), dir.path().join("powersync.yaml")).unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("pskeys").unwrap();
    cmd.current_dir(dir.path()).args(["mint", "--sub", "ci"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_format_reads_back() {
    let (p, values) = setup();
    let dotenv: BTreeMap<String, String> = dotenvy::from_read_iter(p.ok(&["export"]).as_bytes())
        .map(Result::unwrap)
        .collect();
    assert_eq!(dotenv, values);

    let json: BTreeMap<String, String> =
        serde_json::from_str(&p.ok(&["export", "--format", "json"])).unwrap();
    assert_eq!(json, values);

    let shell = p.ok(&["export", "--format", "shell"]);
    let script = format!("{shell}\nprintf %s \"$PSKEYS_PRIVATE_KEY\"");
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        values["PSKEYS_PRIVATE_KEY"]
    );

    // docker is for the service container: pskeys' own variables (the private key above
    // all) stay out unless named.
    let docker = docker_env_file(&p.ok(&["export", "--format", "docker"]));
    assert!(
        docker.contains_key("PS_DATA_SOURCE_URI") && !docker.contains_key("PSKEYS_PRIVATE_KEY")
    );
    // Values stay literal: a PEM named with --var travels as `\n` escapes, which mint reads.
    let own = docker_env_file(&p.ok(&[
        "export",
        "--format",
        "docker",
        "--var",
        "PSKEYS_KID",
        "--var",
        "PSKEYS_ALG",
        "--var",
        "PSKEYS_PRIVATE_KEY",
    ]));
    assert!(own.values().all(|v| !v.contains('\n')));
    mints_with(&p, &own);
    p.cmd(&["export", "--var", "NOPE"]).assert().code(2);
    mints_with(&p, &json);
}

#[test]
fn github_appends_multi_line_values_and_masks_secrets() {
    let (p, values) = setup();
    let github_env = p.path("github_env");
    std::fs::write(&github_env, "EARLIER=1\n").unwrap();
    let out = p
        .cmd(&["export", "--format", "github"])
        .env("GITHUB_ENV", &github_env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut read = github_env_file(&std::fs::read_to_string(&github_env).unwrap());
    assert_eq!(read.remove("EARLIER").as_deref(), Some("1"));
    // A trailing line break of the PEM is kept as GitHub joins the lines.
    let pem = read.get("PSKEYS_PRIVATE_KEY").unwrap();
    assert_eq!(pem.trim_end(), values["PSKEYS_PRIVATE_KEY"].trim_end());
    mints_with(&p, &read);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let masked: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    for line in values["PSKEYS_PRIVATE_KEY"]
        .lines()
        .filter(|l| !l.is_empty())
    {
        assert!(masked.contains(&line), "{line} is not masked");
    }
    assert!(!masked.contains(&values["PSKEYS_KID"].as_str()));
    // Outside GitHub Actions it says so and writes nothing.
    p.cmd(&["export", "--format", "github"])
        .env_remove("GITHUB_ENV")
        .assert()
        .code(2);
}

#[test]
fn docker_refuses_a_multi_line_value_without_printing_it() {
    let (p, _) = setup();
    p.cmd(&["export", "--format", "docker", "--var", "MY_CA"])
        .env(
            "MY_CA",
            "-----BEGIN CERTIFICATE-----\nsecretline\n-----END CERTIFICATE-----\n",
        )
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicates::str::contains("MY_CA has several lines")
                .and(predicates::str::contains("secretline").not()),
        );
}

#[test]
fn dotenv_refuses_a_value_no_reader_agrees_on() {
    let (p, _) = setup();
    p.cmd(&["export", "--format", "dotenv", "--var", "MY_TOKEN"])
        .env("MY_TOKEN", "a$b \"c\" it's")
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicates::str::contains("the value of MY_TOKEN has a `'`")
                .and(predicates::str::contains("it's").not()),
        );
    // The same value travels as JSON.
    p.cmd(&["export", "--format", "json", "--var", "MY_TOKEN"])
        .env("MY_TOKEN", "a$b \"c\" it's")
        .assert()
        .success();
}

#[test]
fn a_name_that_is_not_portable_is_refused_not_printed() {
    let (p, _) = setup();
    let config = p.read("powersync.yaml");
    p.write(
        "powersync.yaml",
        format!("{config}prometheus_port: !env \"PS_X;touch PWNED;Y\"\n"),
    );
    for format in ["shell", "dotenv", "docker"] {
        p.cmd(&["export", "--format", format])
            .env("PS_X;touch PWNED;Y", "9090")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicates::str::contains("is not a portable name"));
    }
    // JSON reports the error as JSON, like every --json error.
    p.cmd(&["export", "--format", "json"])
        .env("PS_X;touch PWNED;Y", "9090")
        .assert()
        .code(2)
        .stdout(
            predicates::str::contains("\"kind\": \"usage\"")
                .and(predicates::str::contains("9090").not()),
        );
    assert!(!p.path("PWNED").exists());
}

#[test]
fn docker_refuses_a_carriage_return() {
    let (p, _) = setup();
    p.cmd(&["export", "--format", "docker", "--var", "MY_TOKEN"])
        .env("MY_TOKEN", "abc\r")
        .assert()
        .code(2)
        .stdout("");
}

#[test]
fn only_names_the_service_reads_are_exported_or_taken_from_an_example() {
    // A hostile repository: its config reads BASH_ENV and LD_PRELOAD (the service would
    // refuse it), its example file sets them.
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb, uri: !env BASH_ENV}\nport: !env LD_PRELOAD\nreplication: {connections: [{type: postgresql, uri: !env PS_DATA_SOURCE_URI}]}\n",
    );
    p.write(
        ".env.example",
        "BASH_ENV=./hook.sh\nLD_PRELOAD=./evil.so\nPS_DATA_SOURCE_URI=postgresql://localhost/db\n",
    );
    let out = p.run(&["init"]);
    let env = p.read(".env");
    assert!(
        !env.contains("BASH_ENV") && !env.contains("LD_PRELOAD"),
        "{env}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.contains("PS_DATA_SOURCE_URI=postgresql://localhost/db"),
        "{env}"
    );
    for format in ["shell", "dotenv", "json"] {
        let out = p
            .cmd(&["export", "--format", format])
            .env("BASH_ENV", "./hook.sh")
            .env("LD_PRELOAD", "./evil.so")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains("BASH_ENV") && !stdout.contains("LD_PRELOAD"),
            "{format}: {stdout}"
        );
        assert!(stdout.contains("PS_DATA_SOURCE_URI"), "{format}: {stdout}");
    }
}
