//! Interop: the service's own verification stack (node, jose 4.15, yaml 2 with the `!env`
//! tag; see tests/interop/verify.mjs) must accept what `init` + `mint` produce for every
//! algorithm, and reject tokens with another key, a wrong audience or a >24 h lifetime.
//! `.ci/run` installs its packages with `npm ci`; missing node or packages fail the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::{Project, node_verify};
use pskeys::keys::Alg;
use pskeys::{Minter, TokenSpec};

/// The minter the library builds from what `init` wrote (process environment left out).
fn minter(p: &Project) -> Minter {
    let env_file = pskeys::envfile::EnvFile::load(&p.path(".env")).unwrap();
    let config = pskeys::config::Config::load(&p.path("powersync.yaml")).unwrap();
    let vars = env_file
        .vars()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let env = pskeys::Env::with_process(vars, std::iter::empty());
    Minter::new(&config, &env, None).unwrap()
}

/// Signs raw claims with the stored key, for tokens `mint` refuses to make.
fn raw_token(p: &Project, alg: Alg, lifetime: u64, aud: &str) -> String {
    let env = std::fs::read_to_string(p.path(".env")).unwrap();
    let value = |key: &str| {
        dotenvy::from_read_iter(env.as_bytes())
            .filter_map(Result::ok)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap()
    };
    let key = if alg.is_hmac() {
        pskeys::keys::PrivateKey::from_hmac_k(alg, &value("PS_CLIENT_AUTH_KEY")).unwrap()
    } else {
        pskeys::keys::PrivateKey::from_pem(alg, &value("PSKEYS_PRIVATE_KEY")).unwrap()
    };
    let now = pskeys::now();
    let claims = serde_json::json!({"sub": "u", "iat": now, "exp": now + lifetime, "aud": aud});
    let header = serde_json::json!({"typ": "JWT", "kid": "k1"});
    pskeys::jws::sign_raw(
        &key.signing_key().unwrap(),
        header.as_object().unwrap(),
        claims.as_object().unwrap(),
    )
    .unwrap()
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

        // The library's minter on the same files, and raw tokens the service rejects.
        let from_library = minter(&p)
            .mint(&TokenSpec::new("lib-user").lifetime(600), pskeys::now())
            .unwrap()
            .token;
        let wrong_aud = raw_token(&p, alg, 600, "nope");
        let too_long = raw_token(&p, alg, 86_401, "powersync");
        let exactly_24h = raw_token(&p, alg, 86_400, "powersync");

        let r = node_verify(
            &p,
            "powersync.yaml",
            None,
            &[
                good,
                foreign,
                wrong_aud,
                too_long,
                exactly_24h,
                from_library,
            ],
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
        assert_eq!(r[5]["ok"], true, "{alg}: library token rejected: {}", r[5]);
        assert_eq!(r[5]["sub"], "lib-user");
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
