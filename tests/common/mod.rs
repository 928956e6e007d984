//! A small fluent harness: a temp project folder, files in it, and the real binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A temporary project folder.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A project holding a copy of `tests/fixtures/<case>/`.
    pub fn fixture(case: &str) -> Self {
        let p = Project::new();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(case);
        for entry in std::fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), p.path(&entry.file_name().to_string_lossy())).unwrap();
        }
        p
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> &Self {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    /// Removes `NAME=…` lines from `.env`, as a hand edit would.
    pub fn remove_env_var(&self, name: &str) {
        let prefix = format!("{name}=");
        let env: String = self
            .read(".env")
            .lines()
            .filter(|l| !l.starts_with(&prefix))
            .map(|l| format!("{l}\n"))
            .collect();
        self.write(".env", env);
    }

    pub fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(name)).ok()
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("pskeys").unwrap();
        cmd.current_dir(self.dir.path()).args(args);
        for var in [
            "POWERSYNC_CONFIG_PATH",
            "PSKEYS_KID",
            "PSKEYS_ALG",
            "PSKEYS_PRIVATE_KEY",
            "PS_CLIENT_AUTH_KEY",
            // Output is compared byte for byte: no colour or wrapping from the caller's shell.
            "CLICOLOR_FORCE",
            "CLICOLOR",
            "NO_COLOR",
            "COLUMNS",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "pskeys {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every file in the folder with its bytes, to prove nothing changed.
    pub fn snapshot_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                if e.path().is_dir() {
                    if e.file_name() != ".git" {
                        stack.push(e.path());
                    }
                } else {
                    out.push((e.path(), std::fs::read(e.path()).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

/// Replaces generated values (kids, key material, secrets) with stable placeholders.
pub fn redact(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        for (prefix, keep) in [
            ("PS_CLIENT_AUTH_KEY", 0),
            ("PSKEYS_PRIVATE_KEY", 0),
            ("PSKEYS_KID", 0),
            ("PS_ADMIN_TOKEN", 0),
        ] {
            let _ = keep;
            if let Some(rest) = l.strip_prefix(&format!("{prefix}=")) {
                let nl = &rest[rest.trim_end_matches(['\r', '\n']).len()..];
                l = format!("{prefix}=[redacted]{nl}");
            }
        }
        out.push_str(&l);
    }
    out
}

/// Judges tokens with tests/interop/verify.mjs (node, jose 4.15, yaml 2: the service's
/// stack) against the project's config and .env, optionally at unix time `at`.
/// One JSON verdict per token: `{"ok": true, …}` or `{"ok": false, "code": …}`.
pub fn node_verify(
    p: &Project,
    config: &str,
    at: Option<u64>,
    tokens: &[String],
) -> Vec<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/interop/node_modules/jose").is_dir(),
        "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop` (.ci/run does)"
    );
    let mut cmd = std::process::Command::new("node");
    cmd.arg(root.join("tests/interop/verify.mjs"));
    if let Some(at) = at {
        cmd.args(["--at", &at.to_string()]);
    }
    let out = cmd
        .arg(p.path(config))
        .arg(p.path(".env"))
        .args(tokens)
        .output()
        .expect("node is required for the interop tests (install Node.js 18+)");
    let verdicts: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        verdicts.len(),
        tokens.len(),
        "verify.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    verdicts
}

/// Loads each `(config, env file)` with tests/interop/config-check.mjs: the service's own
/// codec and JSON schema (npm @powersync/service-types, ajv 8 as the service sets it up),
/// its `!env` tag, jose's importJWK and the jwks_uri checks, in the service's order.
/// One verdict per config: `{"loads": true}` or `{"loads": false, "stage": …, "message": …}`.
/// A missing node or node_modules fails the calling test: this judge is never skipped.
pub fn node_config_check(configs: &[(PathBuf, PathBuf)]) -> Vec<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for module in [
        "@powersync/service-types",
        "ajv",
        "ipaddr.js",
        "jose",
        "yaml",
    ] {
        assert!(
            root.join("tests/interop/node_modules")
                .join(module)
                .is_dir(),
            "tests/interop/node_modules/{module} is missing: run `npm ci --prefix tests/interop` (.ci/run does)"
        );
    }
    let mut cmd = std::process::Command::new("node");
    cmd.arg(root.join("tests/interop/config-check.mjs"));
    for (config, env) in configs {
        cmd.arg(config).arg(env);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run node ({e}): the config matrix needs Node.js 18+ and `npm ci --prefix tests/interop`"
        )
    });
    let verdicts: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        verdicts.len(),
        configs.len(),
        "config-check.mjs exited with {:?}: {}\n(run `npm ci --prefix tests/interop` if a module is missing)",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    verdicts
}

/// `docker run --env-file` (docker's `parseKeyValueFile`): lines split at LF (a CR before
/// it dropped), leading white space trimmed, blank and `#` lines skipped, `KEY=VALUE` taken
/// literally.
pub fn docker_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|l| l.trim_start())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// GitHub Actions' env file, as the runner's `SetEnvFileCommand` reads it on Linux: lines
/// split at LF only; `NAME=value`, or `NAME<<DELIMITER`, the value's lines, `DELIMITER`
/// (whichever of `=` and `<<` comes first); the value is the text between, exactly.
pub fn github_env_file(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
    while let Some(line) = lines.next() {
        let eq = line.find('=');
        let heredoc = line.find("<<");
        match (eq, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                out.insert(line[..e].to_string(), line[e + 1..].to_string());
            }
            (_, Some(h)) => {
                let delimiter = &line[h + 2..];
                let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
                out.insert(line[..h].to_string(), value.join("\n"));
            }
            _ => assert!(line.is_empty(), "the runner refuses the line {line:?}"),
        }
    }
    out
}

/// Validates each `(schema, output)` pair against `schemas/<schema>.schema.json` with ajv 8
/// (tests/interop/schema-check.mjs); panics naming every output that does not match.
/// Returns the schema names the repository has.
pub fn schema_check(pairs: &[(&str, serde_json::Value)]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/interop/node_modules/ajv").is_dir(),
        "tests/interop/node_modules/ajv is missing: run `npm ci --prefix tests/interop` (.ci/run does)"
    );
    let input: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(schema, instance)| serde_json::json!({"schema": schema, "instance": instance}))
        .collect();
    let mut child = std::process::Command::new("node")
        .arg(root.join("tests/interop/schema-check.mjs"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): the schema tests need Node.js 18+"));
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(&serde_json::to_vec(&input).unwrap())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "schema-check.mjs failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let failures: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(pairs)
        .filter(|(r, _)| r["ok"] != true)
        .map(|(r, (schema, instance))| format!("{schema}: {}\n{instance:#}", r["errors"]))
        .collect();
    assert!(
        failures.is_empty(),
        "outputs that do not match their schema:\n{}",
        failures.join("\n\n")
    );
    report["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}
