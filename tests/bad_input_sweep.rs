//! The team flows (`init` on a fresh checkout: adopting, importing, rotating) against bad
//! input: whatever the config, `.env`, `--private-key` file and flags, a failed `init`
//! leaves every file byte-identical, a successful one leaves a pair `mint` signs with, and
//! neither prints a secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use std::sync::OnceLock;

use common::Project;
use proptest::prelude::*;

/// Shared configs as a first developer commits them, and a private key that matches none.
struct Seeds {
    configs: Vec<String>,
    foreign_key: String,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut configs = vec![
            "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: oct\n        alg: HS256\n        k: !env PS_SECRET\n        kid: team\n  audience: ['powersync-dev', 'powersync']\n".to_string(),
            "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: oct\n        alg: HS256\n        k: !env PS_SECRET\n        kid: !env PS_KID\n  audience: ['powersync']\n".to_string(),
            "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - kty: RSA\n        n: !env PS_JWK_N\n        e: !env PS_JWK_E\n        alg: RS256\n        kid: !env PS_JWK_KID\n  audience: ['powersync']\n".to_string(),
        ];
        for args in [&["init", "--alg", "ES256", "--kid", "team"][..], &["init", "--alg", "EdDSA"][..]] {
            let first = Project::new();
            first.ok(args);
            configs.push(first.read("powersync.yaml"));
        }
        let other = Project::new();
        other.ok(&["init", "--alg", "ES256"]);
        let foreign_key = dotenvy::from_read_iter(other.read(".env").as_bytes())
            .map(Result::unwrap)
            .find(|(k, _)| k == "PSKEYS_PRIVATE_KEY")
            .unwrap()
            .1;
        Seeds {
            configs,
            foreign_key,
        }
    })
}

#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Cut the config at this fraction of its length.
    Truncate(f64),
    /// Insert a snippet at this fraction of its length.
    Insert(f64, &'static str),
    /// Add a line to `.env` (created if missing).
    EnvLine(&'static str),
    /// Set a variable to this in the process environment (CI: secrets only there).
    Environment(&'static str, &'static str),
}

fn damage() -> impl Strategy<Value = Damage> {
    let snippets = prop::sample::select(vec![
        "\t", ":", "- ", "!env ", "\"", "{", "\0", "&a ", "*a", "\u{feff}", "\n  x: [", "'",
        "${PS_X}", "\r",
    ]);
    let lines = prop::sample::select(vec![
        "BAD LINE",
        "X=\"unterminated",
        "export",
        "=v",
        "PS_SECRET=",
        "PSKEYS_KID=nope",
        "PSKEYS_ALG=ES256",
        "PSKEYS_PRIVATE_KEY=garbage",
        "K=${",
        "PS_JWK_N=AQAB",
    ]);
    prop_oneof![
        Just(Damage::None),
        (0.0..1.0f64).prop_map(Damage::Truncate),
        (0.0..1.0f64, snippets).prop_map(|(f, s)| Damage::Insert(f, s)),
        lines.prop_map(Damage::EnvLine),
        (
            prop::sample::select(vec![
                "PS_SECRET",
                "PS_KID",
                "PS_JWK_N",
                "PS_JWK_KID",
                "PSKEYS_KID"
            ]),
            prop::sample::select(vec!["", "  ", "x", "team"]),
        )
            .prop_map(|(k, v)| Damage::Environment(k, v)),
    ]
}

#[derive(Debug, Clone, Copy)]
enum KeyFile {
    None,
    Foreign,
    Garbage,
    TruncatedPem,
    PartialJwk,
}

fn flags() -> impl Strategy<Value = Vec<&'static [&'static str]>> {
    prop::sample::subsequence(
        vec![
            &["--rotate"][..],
            &["--force"][..],
            &["--alg", "ES384"][..],
            &["--kid", "x"][..],
            &["--public-in-env"][..],
            &["--inline"][..],
        ],
        0..=2,
    )
}

fn key_file() -> impl Strategy<Value = KeyFile> {
    prop::sample::select(vec![
        KeyFile::None,
        KeyFile::Foreign,
        KeyFile::Garbage,
        KeyFile::TruncatedPem,
        KeyFile::PartialJwk,
    ])
}

fn at(text: &str, fraction: f64) -> usize {
    let mut i = ((text.len() as f64) * fraction) as usize;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn secrets_in(p: &Project) -> Vec<String> {
    let Some(env) = p.bytes(".env") else {
        return Vec::new();
    };
    dotenvy::from_read_iter(env.as_slice())
        .filter_map(Result::ok)
        .filter(|(k, v)| (k == "PS_SECRET" || k == "PSKEYS_PRIVATE_KEY") && v.len() > 8)
        .map(|(_, v)| v)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_failed_init_changes_nothing_and_a_successful_one_mints(
        config in 0..5usize,
        damage in damage(),
        flags in flags(),
        key in key_file(),
    ) {
        let seeds = seeds();
        let p = Project::new();
        let mut text = seeds.configs[config].clone();
        match damage {
            Damage::None => {}
            Damage::Truncate(f) => text.truncate(at(&text, f)),
            Damage::Insert(f, s) => text.insert_str(at(&text, f), s),
            Damage::EnvLine(l) => {
                p.write(".env", format!("{l}\n"));
            }
            Damage::Environment(..) => {}
        }
        let environment: Vec<(&str, &str)> = match damage {
            Damage::Environment(k, v) => vec![(k, v)],
            _ => Vec::new(),
        };
        p.write("powersync.yaml", &text);
        let mut args: Vec<&str> = vec!["init"];
        args.extend(flags.iter().flat_map(|f| f.iter().copied()));
        let key_text = match key {
            KeyFile::None => None,
            KeyFile::Foreign => Some(seeds.foreign_key.clone()),
            KeyFile::Garbage => Some("\u{1}\u{2}not a key at all\n".to_string()),
            KeyFile::TruncatedPem => Some(seeds.foreign_key[..seeds.foreign_key.len() / 2].to_string()),
            KeyFile::PartialJwk => Some("{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"AAAA\"}".to_string()),
        };
        if let Some(k) = &key_text {
            p.write("team.key", k);
            args.extend(["--private-key", "team.key"]);
        }
        let before = p.snapshot_files();
        let out = p.cmd(&args).envs(environment.iter().copied()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        // A PEM body (hints may name the `-----BEGIN PRIVATE KEY-----` form itself).
        prop_assert!(!stderr.contains("KEY-----\nMI") && !stdout.contains("KEY-----\nMI"), "{stderr}");
        for secret in secrets_in(&p).iter().chain(key_text.iter().filter(|k| k.len() > 16)) {
            for line in secret.lines().filter(|l| l.len() > 16 && !l.starts_with("-----")) {
                prop_assert!(!stderr.contains(line) && !stdout.contains(line), "a secret in the output: {stderr}");
            }
        }
        match out.status.code() {
            // Success: mint signs, unless init warned that the service refuses the config
            // or every token, for a reason init leaves to the team (the shared audience).
            Some(0)
                if !stderr.contains("the service would still refuse")
                    && !stderr.contains("every token fails")
                    && !stderr.contains("tokens signed with the intended secret fail")
                    && !stderr.contains("and the environment wins") =>
            {
                let mint = p
                    .cmd(&["mint", "--sub", "u"])
                    .envs(environment.iter().copied())
                    .output()
                    .unwrap();
                prop_assert!(
                    mint.status.success(),
                    "init {args:?} succeeded on\n{text}\nbut mint failed: {}",
                    String::from_utf8_lossy(&mint.stderr)
                );
            }
            Some(0) => {}
            Some(1..=4) => prop_assert_eq!(
                p.snapshot_files(),
                before,
                "init {:?} failed and changed files: {}",
                args,
                stderr
            ),
            other => prop_assert!(false, "init {args:?}: exit {other:?}, a crash? {stderr}"),
        }
    }
}
