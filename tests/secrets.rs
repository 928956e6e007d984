//! No secret reaches stdout or stderr unless the user asked for it: every subcommand, on
//! its success and failure paths, with `--dry-run`, `--json` and `RUST_BACKTRACE=1`, on
//! projects whose secrets are known. No 16-character piece of any secret may appear;
//! only `export` prints them (on stdout, asked for) and `mint` prints a token (no secret).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::Project;

const DB_PASSWORD: &str = "Db-Passw0rd-7c1e9a4f2b";
const SUPABASE_SECRET: &str = "supabase-legacy-jwt-secret-0123456789abcdef";

/// Every 16-character piece of every secret the project holds.
fn pieces(p: &Project) -> Vec<String> {
    let mut secrets: Vec<String> = dotenvy::from_read_iter(p.read(".env").as_bytes())
        .map(Result::unwrap)
        .filter(|(k, _)| {
            !["PSKEYS_KID", "PSKEYS_ALG", "PS_PORT", "PS_MONGO_URI"].contains(&k.as_str())
        })
        .map(|(_, v)| v)
        .collect();
    secrets.extend([DB_PASSWORD.to_string(), SUPABASE_SECRET.to_string()]);
    let mut out = Vec::new();
    for s in secrets {
        // A PEM: its base64 body, whatever its line breaks.
        let body: String = s
            .replace("\\n", "\n")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let chars: Vec<char> = body.chars().collect();
        for w in chars.windows(16).step_by(4) {
            out.push(w.iter().collect());
        }
    }
    out
}

fn project(alg: &str) -> Project {
    let p = Project::new();
    p.ok(&["init", "--alg", alg]);
    // A database URI with a real password, and Supabase's legacy secret.
    let env = p.read(".env").replace(
        "postgresql://postgres:postgres@localhost",
        &format!("postgresql://app:{DB_PASSWORD}@localhost"),
    );
    p.write(".env", env);
    p.cmd(&["init", "--supabase-jwt-secret-env", "SUPA"])
        .env("SUPA", SUPABASE_SECRET)
        .assert()
        .success();
    p
}

fn check(p: &Project, pieces: &[String], args: &[&str], stdout_asked: bool) {
    let out = p.cmd(args).env("RUST_BACKTRACE", "1").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {stderr}");
    for piece in pieces {
        assert!(
            !stderr.contains(piece.as_str()),
            "{args:?} printed a secret on stderr:\n{stderr}"
        );
        if !stdout_asked {
            assert!(
                !stdout.contains(piece.as_str()),
                "{args:?} printed a secret on stdout:\n{stdout}"
            );
        }
    }
}

#[test]
fn no_command_prints_a_secret_it_was_not_asked_for() {
    for alg in ["HS256", "ES256"] {
        let p = project(alg);
        let pieces = pieces(&p);
        assert!(pieces.len() > 20);
        let token = p.ok(&["mint", "--sub", "u"]).trim().to_string();
        let runs: Vec<Vec<&str>> = vec![
            vec!["init"],
            vec!["init", "--json"],
            vec!["init", "--dry-run"],
            vec!["init", "--dry-run", "--json"],
            vec!["init", "--rotate", "--dry-run"],
            vec!["init", "--force", "--dry-run", "--json"],
            vec!["init", "--alg", "RS256"],
            vec!["init", "--kid", "other"],
            vec!["mint", "--sub", "u", "--json"],
            vec!["mint", "--sub", "u", "--diagnostics", "--json"],
            vec!["mint", "--sub", "u", "--kid", "nope"],
            vec!["mint", "--sub", "u", "--aud", "wrong", "--json"],
            vec!["verify", &token],
            vec!["verify", &token, "--json"],
            vec!["verify", "not-a-token", "--json"],
            vec!["decode", &token],
            vec!["doctor"],
            vec!["doctor", "--json"],
            vec!["keys", "list"],
            vec!["keys", "list", "--json"],
            vec!["keys", "retire", "nope"],
            vec!["jwks"],
            vec!["export", "--format", "nope"],
        ];
        for args in &runs {
            check(&p, &pieces, args, false);
        }
        // Asked for: export's stdout; its messages still hold none (and the pieces are
        // real: most are in it, as JSON writes them).
        let exported = p.ok(&["export", "--format", "json"]);
        assert!(
            pieces
                .iter()
                .filter(|x| exported.contains(x.as_str()))
                .count()
                > pieces.len() / 2
        );
        for format in ["dotenv", "shell", "json", "docker"] {
            check(&p, &pieces, &["export", "--format", format], true);
        }
        // The failure paths of a damaged .env: the line that does not parse is named,
        // never shown (here the private key's or the secret's line, quote left open).
        let env = p.read(".env");
        let damaged: String = env
            .lines()
            .map(|l| {
                if l.starts_with("PSKEYS_PRIVATE_KEY=") || l.starts_with("PS_CLIENT_AUTH_KEY=") {
                    format!("{l} x\"\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        p.write(".env", &damaged);
        for args in &runs {
            check(&p, &pieces, args, false);
        }
        check(&p, &pieces, &["doctor", "--fix", "--json"], false);
        p.write(".env", env);
        check(&p, &pieces, &["doctor", "--fix"], false);
        check(&p, &pieces, &["init", "--rotate"], false);
    }
}
