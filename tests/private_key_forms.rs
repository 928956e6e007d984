//! `PSKEYS_PRIVATE_KEY` in the forms people paste into CI secrets: the `.env` line, real
//! line breaks, spaces for line breaks, the PEM in base64, a private JWK as JSON or base64
//! JSON (converted by jose, as the self-host demo's backend keeps it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use base64::Engine as _;
use common::{Project, node_verify};

/// The private JWK of a PKCS#8 PEM, exported by jose (node).
fn jwk_of(pem: &str, alg: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        root.join("node_modules/jose").is_dir(),
        "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop` (.ci/run does)"
    );
    let script = "import * as jose from 'jose'; const { PEM: pem, ALG: alg } = process.env; \
                  const key = await jose.importPKCS8(pem, alg, { extractable: true }); \
                  process.stdout.write(JSON.stringify(await jose.exportJWK(key)));";
    let out = std::process::Command::new("node")
        .current_dir(&root)
        .args(["--input-type=module", "-e", script])
        .env("PEM", pem)
        .env("ALG", alg)
        .output()
        .expect("node is required for the interop tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_form_mints_a_token_the_service_accepts() {
    for alg in ["ES256", "ES512", "EdDSA", "RS256"] {
        let p = Project::new();
        p.ok(&["init", "--alg", alg, "--kid", "k"]);
        let env = p.read(".env");
        let pem = dotenvy::from_read_iter(env.as_bytes())
            .map(Result::unwrap)
            .find(|(k, _)| k == "PSKEYS_PRIVATE_KEY")
            .unwrap()
            .1;
        let line = env
            .lines()
            .find_map(|l| l.strip_prefix("PSKEYS_PRIVATE_KEY="))
            .unwrap()
            .to_string();
        let jwk = jwk_of(&pem, alg);
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        // The key comes only from the environment; the service's other variables stay.
        let rest: String = env
            .lines()
            .filter(|l| !l.starts_with("PSKEYS_"))
            .map(|l| format!("{l}\n"))
            .collect();
        p.write(".env", rest);
        for (form, value) in [
            ("the .env line", line.clone()),
            ("real line breaks", pem.clone()),
            ("spaces", pem.trim_end().replace('\n', " ")),
            ("base64 PEM", b64(&pem)),
            ("JWK JSON", jwk.clone()),
            ("base64 JWK", b64(&jwk)),
        ] {
            let out = p
                .cmd(&["mint", "--sub", "ci"])
                .env("PSKEYS_KID", "k")
                .env("PSKEYS_ALG", alg)
                .env("PSKEYS_PRIVATE_KEY", &value)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{alg}, {form}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
            let r = node_verify(&p, "powersync.yaml", None, &[token]);
            assert_eq!(r[0]["ok"], true, "{alg}, {form}: {}", r[0]);
        }
    }
}
