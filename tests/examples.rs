//! The CI examples run here as far as a machine without the service can: every `pskeys`
//! command line in them parses, and the steps that need no network run on a fresh
//! checkout of a committed config, in order, with the files they hand on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use clap::Parser as _;
use common::Project;

/// Every `pskeys …` command line in a file (up to a `)`, `|`, `>` or the line's end).
fn pskeys_lines(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(at) = rest.find("pskeys ") {
            let tail = &rest[at + "pskeys ".len()..];
            let end = tail.find([')', '|', '>', '#']).unwrap_or(tail.len());
            let args: Vec<String> = std::iter::once("pskeys".to_string())
                .chain(
                    tail[..end]
                        .split_whitespace()
                        .map(|a| a.trim_matches('"').to_string()),
                )
                .collect();
            out.push(args);
            rest = &tail[end..];
        }
    }
    out
}

#[test]
fn every_pskeys_command_in_the_examples_parses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for name in ["github-actions.yml", "gitlab-ci.yml", "ci-setup.sh"] {
        let text = std::fs::read_to_string(root.join(name)).unwrap();
        if name.ends_with(".yml") {
            pskeys::config::Config::parse(std::path::Path::new(name), text.clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for args in pskeys_lines(&text) {
            pskeys::cli::Cli::try_parse_from(&args)
                .unwrap_or_else(|e| panic!("{name}: `{}`: {e}", args.join(" ")));
            seen += 1;
        }
    }
    assert!(seen >= 10, "{seen}");
}

#[test]
fn the_github_steps_run_on_a_fresh_checkout() {
    // A committed config as `pskeys init` writes it, and no .env: the job's checkout.
    let committed = Project::new();
    committed.ok(&["init"]);
    let p = Project::new();
    std::fs::copy(committed.path("powersync.yaml"), p.path("powersync.yaml")).unwrap();
    std::fs::copy(
        committed.path("sync-config.yaml"),
        p.path("sync-config.yaml"),
    )
    .unwrap();
    let github_env = p.path("github_env");
    p.ok(&["init"]);
    p.ok(&["doctor"]);
    p.cmd(&["export", "--format", "github"])
        .env("GITHUB_ENV", &github_env)
        .assert()
        .success();
    let docker = p.ok(&["export", "--format", "docker"]);
    assert!(docker.contains("PS_DATA_SOURCE_URI=postgresql://") && docker.contains("PS_PORT=8080"));
    let token = p
        .ok(&[
            "mint",
            "--sub",
            "ci-user",
            "--expires-in",
            "30m",
            "--endpoint",
            "http://localhost:8080",
        ])
        .trim()
        .to_string();
    p.ok(&["verify", &token]);
    assert!(
        std::fs::read_to_string(&github_env)
            .unwrap()
            .contains("PS_CLIENT_AUTH_KEY<<")
    );
}
