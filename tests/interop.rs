//! Interop: the service's own verification stack (node, jose 4.15, yaml 2 with the `!env`
//! tag; see tests/interop/verify.mjs) must accept what `init` + `mint` produce for every
//! algorithm, and reject tokens with another key, a wrong audience or a >24 h lifetime.
//! `.ci/run` installs its packages with `npm ci`; missing node or packages fail the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::{Project, node_verify};
use pskeys::keys::{Alg, PrivateKey};
use pskeys::token::{self, TokenSpec};

fn env_value(p: &Project, key: &str) -> Option<String> {
    dotenvy::from_path_iter(p.path(".env"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The signing key `init` stored, loaded through the library.
fn stored_key(p: &Project, alg: Alg) -> PrivateKey {
    if alg.is_hmac() {
        PrivateKey::from_hmac_k(alg, &env_value(p, "PS_CLIENT_AUTH_KEY").unwrap()).unwrap()
    } else {
        PrivateKey::from_pem(alg, &env_value(p, "PSKEYS_PRIVATE_KEY").unwrap()).unwrap()
    }
}

#[test]
fn the_services_jose_accepts_every_algorithm_and_rejects_the_negatives() {
    for alg in Alg::ALL {
        let p = Project::new();
        p.ok(&["init", "--alg", alg.as_str(), "--kid", "k1"]);
        let good = p
            .ok(&[
                "mint",
                "--sub",
                "user-1",
                "--parameters",
                r#"{"team":"a"}"#,
                "--endpoint",
                "http://localhost:8080",
            ])
            .trim()
            .to_string();

        // Another key with the same kid: the signature must fail.
        let other = Project::new();
        other.ok(&["init", "--alg", alg.as_str(), "--kid", "k1"]);
        let foreign = other.ok(&["mint", "--sub", "user-1"]).trim().to_string();

        // The right key, but claims the service rejects.
        let key = stored_key(&p, alg);
        let now = token::now();
        let spec = |aud: &str, lifetime| TokenSpec {
            sub: "u".into(),
            audiences: vec![aud.into()],
            issued_at: now,
            lifetime,
            extra: vec![],
        };
        let wrong_aud = token::sign(&key, "k1", &spec("nope", 600).claims())
            .unwrap()
            .0;
        let too_long = token::sign(&key, "k1", &spec("powersync", 86_401).claims())
            .unwrap()
            .0;
        let exactly_24h = token::sign(&key, "k1", &spec("powersync", 86_400).claims())
            .unwrap()
            .0;

        let r = node_verify(
            &p,
            "powersync.yaml",
            None,
            &[good, foreign, wrong_aud, too_long, exactly_24h],
        );
        assert_eq!(r[0]["ok"], true, "{alg}: good token rejected: {}", r[0]);
        assert_eq!(r[0]["kid"], "k1");
        assert_eq!(
            (r[1]["ok"].as_bool(), r[1]["code"].as_str()),
            (Some(false), Some("PSYNC_S2101")),
            "{alg}: foreign key: {}",
            r[1]
        );
        assert_eq!(r[2]["code"], "PSYNC_S2105", "{alg}: wrong aud: {}", r[2]);
        assert_eq!(r[3]["code"], "PSYNC_S2104", "{alg}: lifetime: {}", r[3]);
        assert_eq!(r[4]["ok"], true, "{alg}: 86400 s must pass: {}", r[4]);
    }
}

#[test]
fn patched_real_world_layouts_load_in_the_service_loader() {
    for case in [
        "long-comments",
        "keys-with-comments",
        "anchors",
        "crlf",
        "bom",
        "markers",
        "flow-audience",
    ] {
        let p = Project::fixture(case);
        p.ok(&["init", "--kid", "k1", "--audience", "powersync"]);
        // Variables the fixtures reference for other keys or services.
        let mut env = p.read(".env");
        for var in [
            "PS_DATA_SOURCE_URI=x",
            "PS_JWKS_URL=http://localhost/jwks",
            "PS_JWK_N=x",
            "PS_JWK_E=AQAB",
            "PS_OLD_KEY=c2VjcmV0",
            "PS_PROD_KEY=c2VjcmV0",
            "PS_OTHER=c2VjcmV0",
        ] {
            env.push_str(var);
            env.push('\n');
        }
        p.write(".env", env);
        let tok = p
            .ok(&["mint", "--sub", "u", "--aud", "powersync"])
            .trim()
            .to_string();
        if case == "keys-with-comments" {
            // The RSA placeholder key cannot be imported; the service would refuse it too.
            continue;
        }
        let r = node_verify(&p, "powersync.yaml", None, &[tok]);
        assert_eq!(r[0]["ok"], true, "{case}: {}", r[0]);
    }
}

#[test]
fn json_configs_verify() {
    let p = Project::fixture("json-4");
    p.ok(&["init", "--alg", "ES384", "--kid", "k1"]);
    let tok = p.ok(&["mint", "--sub", "u"]).trim().to_string();
    let r = node_verify(&p, "config.json", None, &[tok]);
    assert_eq!(r[0]["ok"], true, "{}", r[0]);
}
