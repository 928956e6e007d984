//! `mint` and `export`, the commands CI steps run, against hostile input: whatever the
//! flags and the values in the environment, they change no file, never crash, print no
//! secret they were not asked for, and what they do print is right: a token the service
//! accepts with exactly the claims asked for, or variables that read back unchanged
//! through each format's consumer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64::Engine as _;
use common::{Project, docker_env_file, github_env_file};
use proptest::prelude::*;

/// One HS256 and one ES256 project; neither command writes, so every case shares them.
fn projects() -> &'static [Project; 2] {
    static PROJECTS: OnceLock<[Project; 2]> = OnceLock::new();
    PROJECTS.get_or_init(|| {
        let hs = Project::new();
        hs.ok(&["init", "--kid", "dev"]);
        let es = Project::new();
        es.ok(&["init", "--alg", "ES256", "--kid", "dev"]);
        [hs, es]
    })
}

/// The values `.env` holds that are secret.
fn secrets(p: &Project) -> Vec<String> {
    dotenvy::from_read_iter(p.read(".env").as_bytes())
        .map(Result::unwrap)
        .filter(|(k, _)| {
            ["PS_CLIENT_AUTH_KEY", "PSKEYS_PRIVATE_KEY", "PS_ADMIN_TOKEN"].contains(&k.as_str())
        })
        .flat_map(|(_, v)| {
            // A PEM's body lines, each long enough to be recognisable.
            v.replace("\\n", "\n")
                .lines()
                .filter(|l| l.len() > 16 && !l.starts_with("-----"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Text with the characters that break formats: quotes, `$`, backslashes, line breaks,
/// control characters, unicode, JSON and shell syntax (no NUL: neither argv nor the
/// environment can carry it).
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^\u{0}]{0,24}",
        "[ -~\t\n\r\u{1}\u{1b}\u{7f}é€😀]{0,24}",
        prop::sample::select(vec![
            "",
            " ",
            "$(id)",
            "`id`",
            "${PS_X}",
            "'",
            "\"",
            "\\",
            "\\n",
            "a\nb",
            "a\r\nb",
            "EOF",
            "ghadelimiter",
            "::add-mask::x",
            "::set-output name=x::y",
            "{\"a\":1}",
            "[1,2]",
            "null",
            "=",
            "a=b",
            "--sub",
            "-",
            "\u{feff}",
        ])
        .prop_map(str::to_string),
    ]
}

fn claims_of(token: &str) -> serde_json::Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[derive(Debug, Clone)]
struct MintCase {
    project: usize,
    sub: String,
    claim: Option<(String, String)>,
    parameters: Option<String>,
    endpoint: Option<String>,
    diagnostics: bool,
    expires_in: &'static str,
}

fn mint_case() -> impl Strategy<Value = MintCase> {
    (
        0..2usize,
        hostile(),
        prop::option::of((hostile(), hostile())),
        prop::option::of(hostile()),
        prop::option::of(prop_oneof![
            hostile(),
            prop::sample::select(vec![
                "http://localhost:8080",
                "https://ps.example.com",
                "http://10.1.2.3:8080/a?b#c",
                "http://[::1]:1",
                "http://",
                "https://:80",
            ])
            .prop_map(str::to_string),
        ]),
        any::<bool>(),
        prop::sample::select(vec![
            "12h", "0s", "1s", "24h", "25h", "1d", "-1h", "x", "", "10",
        ]),
    )
        .prop_map(
            |(project, sub, claim, parameters, endpoint, diagnostics, expires_in)| MintCase {
                project,
                sub,
                claim,
                parameters,
                endpoint,
                diagnostics,
                expires_in,
            },
        )
}

impl MintCase {
    fn args(&self) -> Vec<String> {
        let mut args = vec!["mint".to_string(), format!("--sub={}", self.sub)];
        args.push(format!("--expires-in={}", self.expires_in));
        if let Some((k, v)) = &self.claim {
            args.push(format!("--claim={k}={v}"));
        }
        if let Some(p) = &self.parameters {
            args.push(format!("--parameters={p}"));
        }
        if let Some(e) = &self.endpoint {
            args.push(format!("--endpoint={e}"));
        }
        if self.diagnostics {
            args.push("--diagnostics".to_string());
        }
        args
    }

    /// Checks a printed token: the service's verdict, and the claims asked for.
    fn check_token(&self, p: &Project, token: &str) -> Result<(), TestCaseError> {
        p.cmd(&["verify", token]).assert().success();
        prop_assert!(!token.split('.').nth(1).unwrap().contains(['-', '_']));
        let claims = claims_of(token);
        prop_assert_eq!(claims["sub"].as_str(), Some(self.sub.as_str()));
        if let Some(e) = &self.endpoint {
            prop_assert_eq!(claims["aud"][0].as_str(), Some(e.as_str()));
        }
        // The claim's name is trimmed; `--parameters` wins over `--claim parameters=`.
        let arg = self.claim.as_ref().map(|(k, v)| format!("{k}={v}"));
        if let Some((k, v)) = arg.as_deref().and_then(|a| a.split_once('='))
            && !(k.trim() == "parameters" && self.parameters.is_some())
        {
            let expected =
                serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.to_string()));
            prop_assert_eq!(&claims[k.trim()], &expected);
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct ExportCase {
    project: usize,
    format: &'static str,
    /// A variable the config reads (`PS_DATA_SOURCE_URI`) set in the environment.
    value: String,
}

/// What each format's consumer reads back from `export`'s output.
fn read_back(format: &str, out: &str) -> BTreeMap<String, String> {
    match format {
        "dotenv" => dotenvy::from_read_iter(out.as_bytes())
            .map(Result::unwrap)
            .collect(),
        "json" => serde_json::from_str(out).unwrap(),
        "docker" => docker_env_file(out),
        "github" => github_env_file(out),
        "shell" => {
            // bash evaluates it, then prints each variable NUL-separated.
            let script = format!(
                "{out}\nfor v in $(compgen -e | grep -E '^(PS_|PSKEYS_)'); do printf '%s=%s\\0' \"$v\" \"${{!v}}\"; done"
            );
            let run = std::process::Command::new("bash")
                .args(["--norc", "--noprofile", "-c", &script])
                .env_clear()
                .output()
                .expect("bash is needed by this test");
            String::from_utf8(run.stdout)
                .unwrap()
                .split('\0')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        }
        other => panic!("unknown format {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mint_prints_an_accepted_token_or_refuses_cleanly(case in mint_case()) {
        let p = &projects()[case.project];
        let before = p.snapshot_files();
        let args = case.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = p.cmd(&args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        prop_assert_eq!(&p.snapshot_files(), &before);
        for s in secrets(p) {
            prop_assert!(!stdout.contains(&s) && !stderr.contains(&s), "a secret in the output");
        }
        match out.status.code() {
            Some(0) => {
                prop_assert_eq!(stdout.lines().count(), 1, "{}", stdout);
                let line = stdout.trim_end_matches('\n');
                let token = match line.split_once("/?token=") {
                    Some((_, t)) if case.diagnostics => t,
                    _ => {
                        prop_assert!(!case.diagnostics, "no link: {}", line);
                        line
                    }
                };
                case.check_token(p, token)?;
            }
            Some(1..=4) => {
                prop_assert!(stdout.is_empty(), "{}", stdout);
                prop_assert!(stderr.starts_with("error:"), "{}", stderr);
            }
            other => prop_assert!(false, "exit {:?}, a crash? {}", other, stderr),
        }
    }
}

fn export_case() -> impl Strategy<Value = ExportCase> {
    (
        0..2usize,
        prop::sample::select(vec!["dotenv", "shell", "json", "docker", "github"]),
        hostile(),
    )
        .prop_map(|(project, format, value)| ExportCase {
            project,
            format,
            value,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn export_reads_back_unchanged_or_refuses_without_the_value(case in export_case()) {
        let p = &projects()[case.project];
        let before = p.snapshot_files();
        let value = case.value.clone();
        let github = tempfile::NamedTempFile::new().unwrap();
        let out = p
            .cmd(&["export", "--format", case.format])
            .env("PS_DATA_SOURCE_URI", &value)
            .env("GITHUB_ENV", github.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        prop_assert_eq!(&p.snapshot_files(), &before);
        for s in secrets(p) {
            prop_assert!(!stderr.contains(&s), "a secret on stderr");
        }
        match out.status.code() {
            Some(0) => {
                let read = if case.format == "github" {
                    // Only masks reach the log: one workflow command per line, none other.
                    prop_assert!(stdout.lines().all(|l| l.starts_with("::add-mask::")), "{}", stdout);
                    read_back("github", &std::fs::read_to_string(github.path()).unwrap())
                } else {
                    read_back(case.format, &stdout)
                };
                prop_assert_eq!(read.get("PS_DATA_SOURCE_URI"), Some(&value), "{}", stdout);
                // Nothing else appeared: the names read back are the names pskeys holds.
                let held: BTreeMap<String, String> =
                    dotenvy::from_read_iter(p.read(".env").as_bytes()).map(Result::unwrap).collect();
                for name in read.keys() {
                    prop_assert!(held.contains_key(name), "{} injected by {:?}", name, value);
                }
            }
            Some(2) => {
                prop_assert!(stdout.is_empty() || case.format == "github", "{}", stdout);
                if value.len() > 3 {
                    prop_assert!(!stderr.contains(&value), "the value in the error: {}", stderr);
                }
            }
            other => prop_assert!(false, "exit {:?}, a crash? {}", other, stderr),
        }
    }
}
