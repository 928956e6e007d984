//! Install paths, tested locally.
//!
//! The npm packages (biome/esbuild style: the `pskeys` launcher, npm/pskeys/, and one
//! `@pskeys/<os>-<arch>[-<libc>]` package per platform with the binary, both assembled by
//! npm/build.mjs) are built from this test binary, packed, installed offline, and run: the
//! launcher must pass arguments, stdin, stdout, stderr, exit codes and signals through.
//! `npx pskeys init` then runs as a user's does, from a registry (tests/install/registry.mjs
//! on loopback), which must fetch this platform's package and no other.
//!
//! And the release metadata must agree: Cargo.toml's version, the npm versions, the
//! cargo-binstall URLs, the dist config (`[workspace.metadata.dist]`) and its workflows.
//! `dist` itself is not needed here. Node and npm are (.ci/run checks for them): a missing
//! tool fails these tests, never skips them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_pskeys");
const INSTALL_LINE: &str = "AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo install --locked pskeys";

fn root() -> &'static Path {
    Path::new(ROOT)
}

/// The Rust target this test runs on, as npm/build.mjs names them.
fn host_target() -> &'static str {
    let musl = cfg!(target_env = "musl");
    match (std::env::consts::OS, std::env::consts::ARCH, musl) {
        ("linux", "x86_64", false) => "x86_64-unknown-linux-gnu",
        ("linux", "x86_64", true) => "x86_64-unknown-linux-musl",
        ("linux", "aarch64", false) => "aarch64-unknown-linux-gnu",
        ("linux", "aarch64", true) => "aarch64-unknown-linux-musl",
        ("macos", "x86_64", _) => "x86_64-apple-darwin",
        ("macos", "aarch64", _) => "aarch64-apple-darwin",
        ("windows", "x86_64", _) => "x86_64-pc-windows-msvc",
        other => panic!("no npm package is built for {other:?}"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// Runs a command to its end; a tool that cannot start fails the test with what to install.
fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?} ({e}): the install tests need Node.js 18+ with npm on PATH",
            cmd.get_program()
        )
    })
}

fn ok(what: &str, cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{}", show(what, &out));
    text(&out.stdout)
}

/// Clears pskeys' variables and the launcher's override from the environment.
fn clean(cmd: &mut Command) -> &mut Command {
    for var in [
        "POWERSYNC_CONFIG_PATH",
        "PSKEYS_KID",
        "PSKEYS_ALG",
        "PSKEYS_PRIVATE_KEY",
        "PS_CLIENT_AUTH_KEY",
        "PSKEYS_BINARY",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `clean`, and npm's user config (registry, proxy) and cache set aside.
fn hermetic<'a>(cmd: &'a mut Command, cache: &Path) -> &'a mut Command {
    clean(cmd);
    let npmrc = cache.with_extension("npmrc");
    if !npmrc.exists() {
        std::fs::write(&npmrc, "").unwrap();
    }
    cmd.env("npm_config_userconfig", &npmrc)
        .env("npm_config_cache", cache)
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_loglevel", "warn")
}

fn node(cache: &Path) -> Command {
    let mut cmd = Command::new("node");
    hermetic(&mut cmd, cache);
    cmd
}

fn npm(cache: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" });
    hermetic(&mut cmd, cache).current_dir(dir);
    cmd
}

fn npx(cache: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(if cfg!(windows) { "npx.cmd" } else { "npx" });
    hermetic(&mut cmd, cache).current_dir(dir);
    cmd
}

fn direct(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    clean(&mut cmd).current_dir(dir);
    cmd
}

fn read_json(path: &Path) -> Value {
    let raw = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cargo_version() -> String {
    metadata()["packages"][0]["version"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `cargo metadata` of this package: Cargo's own reading of Cargo.toml.
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = ok(
        "cargo metadata",
        Command::new(cargo)
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--offline",
            ])
            .arg("--manifest-path")
            .arg(root().join("Cargo.toml")),
    );
    serde_json::from_str(&out).unwrap()
}

/// npm/build.mjs's target table: triple -> {key, os, cpu, libc?, package}.
fn targets(cache: &Path) -> serde_json::Map<String, Value> {
    let out = ok(
        "node npm/build.mjs targets",
        node(cache).arg(root().join("npm/build.mjs")).arg("targets"),
    );
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

/// `npm pack` of a staged package into `dest`; returns the tarball.
fn pack(cache: &Path, dir: &Path, dest: &Path) -> (PathBuf, Value) {
    let out = ok(
        &format!("npm pack {}", dir.display()),
        npm(cache, dir)
            .args(["pack", "--json", "--pack-destination"])
            .arg(dest),
    );
    let info: Value = serde_json::from_str(&out).unwrap();
    let info = info[0].clone();
    (dest.join(info["filename"].as_str().unwrap()), info)
}

/// Lines of a child's stream, read on a thread.
fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects lines until one contains `needle`; panics after `secs`.
fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, secs: u64, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(needle);
                seen.push(line);
                if hit {
                    return;
                }
            }
            Err(_) => panic!(
                "no line with {needle:?} within {secs} s; got:\n{}",
                seen.join("\n")
            ),
        }
    }
}

/// The remaining lines, until the stream's writers are gone (at most `secs`).
fn drain(rx: &mpsc::Receiver<String>, secs: u64, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        seen.push(line);
    }
}

/// Waits for a child; after `secs` kills its process group (unix) or itself, and panics.
fn wait_or_kill(child: &mut Child, secs: u64, what: &str) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            #[cfg(unix)]
            signal(&format!("-{}", child.id()), "KILL");
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {secs} s (killed)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `kill -s SIG -- TARGET` (a pid, or `-pgid` for a process group).
#[cfg(unix)]
fn signal(target: &str, sig: &str) {
    let status = Command::new("sh")
        .args(["-c", "kill -s \"$1\" -- \"$2\"", "sh", sig, target])
        .status()
        .unwrap();
    assert!(status.success(), "kill -s {sig} -- {target}: {status:?}");
}

#[test]
fn npm_packages_run_the_binary_from_tarballs_and_from_a_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("npm-cache");
    let version = cargo_version();
    let target = host_target();
    let table = targets(&cache);
    let host = &table[target];
    let key = host["key"].as_str().unwrap();
    let package = host["package"].as_str().unwrap();

    // Assemble both packages from this test binary, as the release does from dist's.
    let stage = tmp.path().join("stage");
    let build = root().join("npm/build.mjs");
    let platform_dir = ok(
        "build.mjs platform",
        node(&cache)
            .arg(&build)
            .args(["platform", "--target", target, "--binary", BIN, "--out"])
            .arg(&stage),
    );
    let platform_dir = PathBuf::from(platform_dir.trim());
    assert_eq!(platform_dir, stage.join(key));
    let manifest = read_json(&platform_dir.join("package.json"));
    assert_eq!(manifest["name"], package);
    assert_eq!(
        manifest["version"],
        version.as_str(),
        "platform package version"
    );
    assert_eq!(manifest["os"], serde_json::json!([host["os"]]));
    assert_eq!(manifest["cpu"], serde_json::json!([host["cpu"]]));
    match host.get("libc") {
        Some(libc) => assert_eq!(manifest["libc"], serde_json::json!([libc])),
        None => assert!(manifest.get("libc").is_none()),
    }
    assert!(
        manifest.get("scripts").is_none(),
        "no install scripts: {manifest}"
    );

    let launcher_dir = ok(
        "build.mjs launcher",
        node(&cache)
            .arg(&build)
            .args(["launcher", "--out"])
            .arg(&stage),
    );
    let launcher_dir = PathBuf::from(launcher_dir.trim());
    let launcher = read_json(&launcher_dir.join("package.json"));
    assert_eq!(launcher["version"], version.as_str());
    assert_eq!(launcher["bin"]["pskeys"], "bin/pskeys.js");
    assert!(launcher.get("scripts").is_none(), "no install scripts");
    assert_eq!(
        launcher["optionalDependencies"][package],
        version.as_str(),
        "{launcher}"
    );

    let tgz = tmp.path().join("tgz");
    std::fs::create_dir_all(&tgz).unwrap();
    let (launcher_tgz, launcher_info) = pack(&cache, &launcher_dir, &tgz);
    let (platform_tgz, platform_info) = pack(&cache, &platform_dir, &tgz);
    let files = |info: &Value| -> BTreeSet<String> {
        info["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    };
    let exe = if cfg!(windows) {
        "bin/pskeys.exe"
    } else {
        "bin/pskeys"
    };
    for license in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(files(&launcher_info).contains(license), "{launcher_info}");
        assert!(files(&platform_info).contains(license), "{platform_info}");
    }
    assert!(files(&launcher_info).contains("bin/pskeys.js"));
    let binary = platform_info["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == exe)
        .unwrap_or_else(|| panic!("no {exe} in the platform package: {platform_info}"));
    #[cfg(unix)]
    assert_eq!(
        binary["mode"].as_u64().unwrap() & 0o111,
        0o111,
        "the binary must stay executable in the tarball: {binary}"
    );
    let _ = binary;

    // Both tarballs into a project, offline: the other platforms' optional packages are
    // skipped, the launcher resolves this one.
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("package.json"), r#"{"private": true}"#).unwrap();
    ok(
        "npm install --offline",
        npm(&cache, &project)
            .args(["install", "--offline", "--no-audit", "--no-fund"])
            .arg(&launcher_tgz)
            .arg(&platform_tgz),
    );
    let installed: Vec<String> = std::fs::read_dir(project.join("node_modules/@pskeys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(installed, [key]);

    let app = project.join("app");
    std::fs::create_dir_all(&app).unwrap();

    // --version: the binary's output, byte for byte.
    let via_npx = run(npx(&cache, &app).args(["--offline", "pskeys", "--version"]));
    let via_bin = run(direct(&app).arg("--version"));
    assert!(
        via_npx.status.success(),
        "{}",
        show("npx pskeys --version", &via_npx)
    );
    assert_eq!(text(&via_npx.stdout), text(&via_bin.stdout));
    assert_eq!(
        text(&via_npx.stderr),
        "",
        "npx pskeys --version wrote to stderr"
    );
    assert!(text(&via_npx.stdout).starts_with(&format!("pskeys {version}\n")));
    assert!(
        text(&via_npx.stdout).contains("jitter entropy off"),
        "the test binary is built with .cargo/config.toml's AWS_LC_SYS_NO_JITTER_ENTROPY=1: {}",
        text(&via_npx.stdout)
    );

    // init --json in the empty folder: stdout is JSON alone, the files land in the cwd.
    let init = run(npx(&cache, &app).args(["--offline", "pskeys", "init", "--json"]));
    assert!(
        init.status.success(),
        "{}",
        show("npx pskeys init --json", &init)
    );
    let report: Value = serde_json::from_slice(&init.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON alone ({e}): {}", show("init", &init)));
    assert_eq!(report["config"]["created"], true, "{report}");
    assert!(app.join(".env").is_file() && app.join("powersync.yaml").is_file());
    assert!(
        !project.join(".env").exists(),
        "init ran in npm's prefix, not the cwd"
    );

    // Exit codes and streams pass through unchanged: 1 (rejected), 2 (usage), 3 (conflict).
    for (args, code) in [
        (&["verify", "not-a-token"][..], 1),
        (&["--no-such-flag"][..], 2),
        (&["init", "--alg", "ES256"][..], 3),
    ] {
        let via_npx = run(npx(&cache, &app).args(["--offline", "pskeys"]).args(args));
        let via_bin = run(direct(&app).args(args));
        assert_eq!(
            via_bin.status.code(),
            Some(code),
            "{}",
            show("binary", &via_bin)
        );
        assert_eq!(
            via_npx.status.code(),
            Some(code),
            "{}",
            show(&format!("npx pskeys {args:?}"), &via_npx)
        );
        assert_eq!(
            text(&via_npx.stdout),
            text(&via_bin.stdout),
            "stdout of {args:?}"
        );
        assert_eq!(
            text(&via_npx.stderr),
            text(&via_bin.stderr),
            "stderr of {args:?}"
        );
    }

    // stdin passes through: a token minted through npx, verified from stdin.
    let token = ok(
        "npx pskeys mint",
        npx(&cache, &app).args(["--offline", "pskeys", "mint", "--sub", "user-1"]),
    );
    assert_eq!(token.trim().split('.').count(), 3, "{token}");
    let mut verify = npx(&cache, &app)
        .args(["--offline", "pskeys", "verify", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    verify
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let verified = verify.wait_with_output().unwrap();
    assert!(
        verified.status.success(),
        "{}",
        show("verify - (stdin)", &verified)
    );

    #[cfg(unix)]
    signals(&cache, &project, &app);

    // A launcher whose override points nowhere: 127 and the path.
    let missing = run(npx(&cache, &app)
        .args(["--offline", "pskeys", "--version"])
        .env("PSKEYS_BINARY", tmp.path().join("no-such-binary")));
    assert_eq!(
        missing.status.code(),
        Some(127),
        "{}",
        show("bad PSKEYS_BINARY", &missing)
    );
    assert!(text(&missing.stderr).contains("no-such-binary"));

    // The launcher alone (npm skipped the platform package): 127, naming the platform, the
    // package it wanted and the cargo install line; nothing on stdout.
    let bare = tmp.path().join("launcher-only");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(bare.join("package.json"), r#"{"private": true}"#).unwrap();
    ok(
        "npm install --offline (launcher only)",
        npm(&cache, &bare)
            .args(["install", "--offline", "--no-audit", "--no-fund"])
            .arg(&launcher_tgz),
    );
    assert!(!bare.join("node_modules/@pskeys").exists());
    let none = run(npx(&cache, &bare).args(["--offline", "pskeys", "init"]));
    let err = text(&none.stderr);
    assert_eq!(
        none.status.code(),
        Some(127),
        "{}",
        show("launcher only", &none)
    );
    assert_eq!(text(&none.stdout), "");
    let platform_name = format!(
        "{}-{}",
        host["os"].as_str().unwrap(),
        host["cpu"].as_str().unwrap()
    );
    for needle in [platform_name.as_str(), package, INSTALL_LINE] {
        assert!(err.contains(needle), "{needle:?} missing from:\n{err}");
    }
    assert!(!bare.join(".env").exists() && !bare.join("powersync.yaml").exists());

    from_a_registry(
        &cache,
        tmp.path(),
        &table,
        target,
        &launcher_tgz,
        &platform_tgz,
    );
}

/// Signals: the launcher passes SIGTERM on and waits; it leaves the terminal's SIGINT to
/// the binary (which gets its own copy: a second one makes `serve` stop without waiting);
/// and it ends the way the binary ended.
#[cfg(unix)]
fn signals(cache: &Path, project: &Path, app: &Path) {
    use std::os::unix::process::{CommandExt, ExitStatusExt};

    let launcher = project.join("node_modules/.bin/pskeys");

    // SIGTERM to the launcher alone (kill, a process manager): serve stops gracefully, and
    // the launcher exits with its code. (npx itself does not pass SIGTERM on.)
    let mut serve = node(cache)
        .arg(&launcher)
        .args(["serve", "--port", "0", "--json"])
        .current_dir(app)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(serve.stderr.take().unwrap());
    let mut seen = Vec::new();
    wait_for_line(&log, r#""event":"listening""#, 30, &mut seen);
    signal(&serve.id().to_string(), "TERM");
    let status = wait_or_kill(&mut serve, 30, "launcher after SIGTERM");
    drain(&log, 30, &mut seen);
    let stopped: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains(r#""event":"stopped""#))
        .collect();
    assert_eq!(stopped.len(), 1, "{}", seen.join("\n"));
    assert!(
        stopped[0].contains(r#""signal":"SIGTERM""#),
        "{}",
        stopped[0]
    );
    assert_eq!(
        status.code(),
        Some(0),
        "the binary's exit code after a graceful stop"
    );

    // Ctrl-C: SIGINT to the whole process group of `npx pskeys serve`. One SIGINT reaches
    // the binary: it stops after the requests in flight, not "again: stopping without waiting".
    let mut serve = npx(cache, app)
        .args(["--offline", "pskeys", "serve", "--port", "0", "--json"])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(serve.stderr.take().unwrap());
    let mut seen = Vec::new();
    wait_for_line(&log, r#""event":"listening""#, 30, &mut seen);
    signal(&format!("-{}", serve.id()), "INT");
    wait_or_kill(&mut serve, 30, "npx pskeys serve after Ctrl-C");
    // The log's writers are gone once the binary has exited: read to the end.
    drain(&log, 30, &mut seen);
    let all = seen.join("\n");
    assert!(
        all.contains(r#""event":"stopped","signal":"SIGINT""#),
        "no graceful stop on SIGINT:\n{all}"
    );
    assert!(
        !all.contains("stopped_early"),
        "SIGINT arrived twice:\n{all}"
    );

    // The same, counted: a stand-in binary (node) counts the SIGINTs it gets in half a
    // second after the first. Ctrl-C on the launcher's group must deliver exactly one.
    let counter = project.join("count-sigint.js");
    std::fs::write(
        &counter,
        "#!/usr/bin/env node\n\
         let n = 0;\n\
         process.on('SIGINT', () => {\n\
           if (++n === 1) setTimeout(() => { console.error(`sigint=${n}`); process.exit(0); }, 500);\n\
         });\n\
         console.error('ready');\n\
         setInterval(() => {}, 1000);\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&counter)
        .status()
        .unwrap();
    let mut count = node(cache)
        .arg(&launcher)
        .current_dir(app)
        .env("PSKEYS_BINARY", &counter)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(count.stderr.take().unwrap());
    let mut seen = Vec::new();
    wait_for_line(&log, "ready", 30, &mut seen);
    signal(&format!("-{}", count.id()), "INT");
    let status = wait_or_kill(&mut count, 30, "launcher after Ctrl-C");
    drain(&log, 30, &mut seen);
    assert!(
        seen.iter().any(|l| l == "sigint=1"),
        "the binary must get one SIGINT: {seen:?}"
    );
    assert_eq!(status.code(), Some(0), "{seen:?}");

    // A binary killed by a signal: the launcher dies of the same signal (shells see 128+N).
    let suicide = project.join("suicide.sh");
    std::fs::write(&suicide, "#!/bin/sh\nkill -s TERM $$\nsleep 5\n").unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&suicide)
        .status()
        .unwrap();
    let out = run(node(cache)
        .arg(&launcher)
        .arg("--version")
        .current_dir(app)
        .env("PSKEYS_BINARY", &suicide));
    assert_eq!(
        out.status.signal(),
        Some(15),
        "{}",
        show("binary killed by SIGTERM", &out)
    );
}

/// `npx pskeys init` in an empty folder with nothing installed, from a registry holding
/// the launcher and a package for every target (the others hold a stand-in file): npm
/// must pick this platform's package by os/cpu/libc and fetch no other tarball.
fn from_a_registry(
    cache: &Path,
    tmp: &Path,
    table: &serde_json::Map<String, Value>,
    target: &str,
    launcher_tgz: &Path,
    platform_tgz: &Path,
) {
    let registry_dir = tmp.join("registry");
    std::fs::create_dir_all(&registry_dir).unwrap();
    for tgz in [launcher_tgz, platform_tgz] {
        std::fs::copy(tgz, registry_dir.join(tgz.file_name().unwrap())).unwrap();
    }
    let others = tmp.join("others");
    for other in table.keys().filter(|t| *t != target) {
        let dir = ok(
            "build.mjs platform (stand-in)",
            node(cache)
                .arg(root().join("npm/build.mjs"))
                .args(["platform", "--target", other, "--binary"])
                .arg(root().join("LICENSE-MIT"))
                .arg("--out")
                .arg(&others),
        );
        pack(cache, Path::new(dir.trim()), &registry_dir);
    }
    assert_eq!(
        std::fs::read_dir(&registry_dir).unwrap().count(),
        table.len() + 1
    );

    let mut server = node(cache)
        .arg(root().join("tests/install/registry.mjs"))
        .arg(&registry_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let urls = lines_of(server.stdout.take().unwrap());
    let requests = lines_of(server.stderr.take().unwrap());
    let url = urls
        .recv_timeout(Duration::from_secs(30))
        .expect("the registry did not start");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let empty = tmp.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let fresh_cache = tmp.join("npx-cache");
    let npx_registry = |args: &[&str]| {
        let mut cmd = npx(&fresh_cache, &empty);
        cmd.args(["--yes", "--registry", &url, "pskeys"]).args(args);
        run(&mut cmd)
    };
    let init = npx_registry(&["init", "--json"]);
    let rejected = npx_registry(&["verify", "not-a-token"]);
    drop(server.stdin.take());
    let _ = server.kill();
    let _ = server.wait();
    let log: Vec<String> = requests.try_iter().collect();

    assert!(
        init.status.success(),
        "{}\nregistry log:\n{}",
        show("npx pskeys init", &init),
        log.join("\n")
    );
    let report: Value = serde_json::from_slice(&init.stdout).unwrap();
    assert_eq!(report["config"]["created"], true);
    assert!(empty.join(".env").is_file() && empty.join("powersync.yaml").is_file());
    assert_eq!(
        rejected.status.code(),
        Some(1),
        "{}",
        show("npx pskeys verify", &rejected)
    );

    let tarballs: BTreeSet<&str> = log
        .iter()
        .filter_map(|l| l.strip_prefix("GET /-/"))
        .collect();
    let platform_file = platform_tgz.file_name().unwrap().to_str().unwrap();
    let launcher_file = launcher_tgz.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        tarballs,
        BTreeSet::from([launcher_file, platform_file]),
        "npm must fetch the launcher and this platform's package only:\n{}",
        log.join("\n")
    );
}

#[test]
fn versions_binstall_npm_and_dist_config_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("npm-cache");
    let meta = metadata();
    let package = &meta["packages"][0];
    let version = package["version"].as_str().unwrap();
    let repo = package["repository"].as_str().unwrap();
    assert_eq!(repo, "https://github.com/pskeys/pskeys");
    let table = targets(&cache);

    // npm: the launcher's version and optionalDependencies follow Cargo.toml.
    let launcher = read_json(&root().join("npm/pskeys/package.json"));
    assert_eq!(
        launcher["version"], version,
        "npm/pskeys/package.json: run `node npm/build.mjs sync`"
    );
    let optional = launcher["optionalDependencies"].as_object().unwrap();
    let packages: BTreeSet<&str> = table
        .values()
        .map(|t| t["package"].as_str().unwrap())
        .collect();
    assert_eq!(
        optional.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        packages
    );
    for (name, v) in optional {
        assert_eq!(v, version, "{name}");
    }
    ok(
        "node npm/build.mjs check",
        node(&cache)
            .arg(root().join("npm/build.mjs"))
            .args(["check", "--version", version]),
    );
    let stale =
        run(node(&cache)
            .arg(root().join("npm/build.mjs"))
            .args(["check", "--version", "99.0.0"]));
    assert_eq!(
        stale.status.code(),
        Some(1),
        "check must refuse another version"
    );
    // The launcher's own table names the same packages.
    let js = std::fs::read_to_string(root().join("npm/pskeys/bin/pskeys.js")).unwrap();
    let in_js: BTreeSet<&str> = js
        .split('"')
        .filter(|s| s.starts_with("@pskeys/"))
        .collect();
    assert_eq!(in_js, packages, "PACKAGES in npm/pskeys/bin/pskeys.js");
    assert!(js.contains(INSTALL_LINE));

    // dist: the targets are the npm targets; shell, PowerShell and Homebrew installers; npm
    // through the custom publish job (no postinstall download), not dist's own installer.
    let dist = &meta["metadata"]["dist"];
    assert!(
        dist.is_object(),
        "no [workspace.metadata.dist] in Cargo.toml"
    );
    let dist_targets: BTreeSet<&str> = dist["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(dist_targets, table.keys().map(String::as_str).collect());
    // dist writes one-element lists as a bare string (`ci = "github"`).
    let strings = |v: &Value| -> BTreeSet<String> {
        match v {
            Value::String(s) => BTreeSet::from([s.clone()]),
            _ => v
                .as_array()
                .unwrap_or_else(|| panic!("not a list: {v}"))
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect(),
        }
    };
    assert_eq!(
        strings(&dist["installers"]),
        BTreeSet::from(["shell", "powershell", "homebrew"].map(String::from))
    );
    assert_eq!(
        strings(&dist["publish-jobs"]),
        BTreeSet::from(["homebrew", "./publish-npm"].map(String::from))
    );
    assert_eq!(dist["tap"], "pskeys/homebrew-tap");
    assert_eq!(strings(&dist["ci"]), BTreeSet::from(["github".to_string()]));
    assert_eq!(
        strings(&dist["hosting"]),
        BTreeSet::from(["github".to_string()])
    );
    assert_eq!(dist["install-path"], "CARGO_HOME");
    let dist_version = dist["cargo-dist-version"].as_str().unwrap();

    // The workflows parse, dist's release.yml is the one this dist version generated and
    // it calls the npm publish job; both builds get AWS-LC without jitter entropy.
    let workflows = parse_yaml(
        &cache,
        &[
            ".github/workflows/release.yml",
            ".github/workflows/publish-npm.yml",
            ".github/build-setup.yml",
        ],
    );
    let release_yml =
        std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    assert!(
        release_yml.contains(&format!("/v{dist_version}/cargo-dist-installer.sh")),
        "release.yml is not the one dist {dist_version} generates: run `dist generate`"
    );
    let jobs = &workflows[0]["jobs"];
    // `$/` (GitHub's same-repository prefix, what dist 0.34 writes) or `./`.
    let uses = jobs["custom-publish-npm"]["uses"]
        .as_str()
        .unwrap_or_default();
    assert!(
        ["$/", "./"]
            .map(|p| format!("{p}.github/workflows/publish-npm.yml"))
            .contains(&uses.to_string()),
        "release.yml does not call publish-npm.yml: {uses:?}"
    );
    assert!(jobs["publish-homebrew-formula"].is_object());
    assert!(workflows[1]["on"]["workflow_call"]["inputs"]["plan"].is_object());
    let publish_npm =
        std::fs::read_to_string(root().join(".github/workflows/publish-npm.yml")).unwrap();
    assert!(publish_npm.contains("node npm/build.mjs check --version"));
    assert!(
        workflows[2]
            .as_array()
            .is_some_and(|steps| !steps.is_empty())
    );
    let setup = std::fs::read_to_string(root().join(".github/build-setup.yml")).unwrap();
    assert!(setup.contains("AWS_LC_SYS_NO_JITTER_ENTROPY=1"));
    let cargo_config = std::fs::read_to_string(root().join(".cargo/config.toml")).unwrap();
    assert!(
        cargo_config.contains("[env]\nAWS_LC_SYS_NO_JITTER_ENTROPY = \"1\""),
        "dist builds from the checkout: .cargo/config.toml must keep AWS_LC_SYS_NO_JITTER_ENTROPY=1"
    );

    // cargo-binstall: the URLs and paths dist's archives have, for every target.
    let binstall = &package["metadata"]["binstall"];
    let name = package["name"].as_str().unwrap();
    // QuickInstall's builds lack AWS_LC_SYS_NO_JITTER_ENTROPY=1.
    assert_eq!(
        binstall["disabled-strategies"],
        serde_json::json!(["quick-install"])
    );
    for target in table.keys() {
        let windows = target.contains("windows");
        let over = &binstall["overrides"][target.as_str()];
        let field = |k: &str| {
            over.get(k)
                .unwrap_or(&binstall[k])
                .as_str()
                .unwrap()
                .to_string()
        };
        let (fmt, suffix) = (field("pkg-fmt"), if windows { ".zip" } else { ".tar.xz" });
        assert_eq!(fmt, if windows { "zip" } else { "txz" }, "{target}");
        let render = |template: &str| {
            template
                .replace("{ repo }", repo)
                .replace("{ version }", version)
                .replace("{ name }", name)
                .replace("{ target }", target)
                .replace("{ archive-suffix }", suffix)
                .replace("{ bin }", name)
                .replace("{ binary-ext }", if windows { ".exe" } else { "" })
        };
        assert_eq!(
            render(&field("pkg-url")),
            format!("{repo}/releases/download/v{version}/{name}-{target}{suffix}")
        );
        // dist: tarballs hold one folder named like the archive; zips hold the files.
        let inside = if windows {
            format!("{name}.exe")
        } else {
            format!("{name}-{target}/{name}")
        };
        assert_eq!(render(&field("bin-dir")), inside, "{target}");
    }
}

/// Parses YAML files with the `yaml` package of tests/interop (the service's parser).
fn parse_yaml(cache: &Path, files: &[&str]) -> Vec<Value> {
    assert!(
        root().join("tests/interop/node_modules/yaml").is_dir(),
        "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop` (.ci/run does)"
    );
    let script = "const { createRequire } = require('node:module');\
        const fs = require('node:fs');\
        const YAML = createRequire(process.argv[1] + '/tests/interop/')('yaml');\
        const out = process.argv.slice(2).map((f) => {\
          const doc = YAML.parseDocument(fs.readFileSync(process.argv[1] + '/' + f, 'utf8'));\
          if (doc.errors.length) throw new Error(f + ': ' + doc.errors.join('; '));\
          return doc.toJS();\
        });\
        console.log(JSON.stringify(out));";
    let out = ok(
        "node (yaml)",
        node(cache).args(["-e", script]).arg(ROOT).args(files),
    );
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}
