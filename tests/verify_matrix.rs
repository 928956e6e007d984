//! `pskeys verify` must agree with the service. Every case here is judged twice, by
//! `pskeys verify --json` and by tests/interop/verify.mjs (jose 4.15 + yaml 2, the service's
//! stack), at the same instant; both verdicts must match each other and the expected code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use base64::Engine as _;
use common::{Project, node_verify};
use pskeys::keys::{Alg, PrivateKey, generate};
use serde_json::{Map, Value, json};

const NOW: u64 = 1_800_000_000;

/// Signs any header and claims with `key` (the header's `alg` set from it).
fn sign_raw(
    key: &PrivateKey,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> Result<String, pskeys::keys::KeyError> {
    pskeys::jws::sign_raw(&key.signing_key()?, header, claims)
}
const ACCEPTED: &str = "accepted";

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn claims(
    sub: Option<&str>,
    iat: Option<u64>,
    exp: Option<u64>,
    aud: Option<Value>,
) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(s) = sub {
        m.insert("sub".into(), s.into());
    }
    if let Some(i) = iat {
        m.insert("iat".into(), i.into());
    }
    if let Some(e) = exp {
        m.insert("exp".into(), e.into());
    }
    if let Some(a) = aud {
        m.insert("aud".into(), a);
    }
    m
}

/// A token whose payload starts with a UTF-8 BOM (jose's TextDecoder drops it).
fn bom_token(key: &PrivateKey) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = json!({"alg": key.alg().as_str(), "kid": "HS256", "typ": "JWT"});
    let mut payload = b"\xef\xbb\xbf".to_vec();
    payload.extend(serde_json::to_vec(&Value::Object(std_claims())).unwrap());
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut token = format!("{input}.");
    key.signing_key()
        .unwrap()
        .sign_into(input.as_bytes(), &mut token)
        .unwrap();
    token
}

/// `sub`, `aud: powersync` and the given `iat` and `exp`.
fn timed(iat: u64, exp: u64) -> Map<String, Value> {
    claims(Some("u"), Some(iat), Some(exp), Some(json!("powersync")))
}

fn std_claims() -> Map<String, Value> {
    claims(
        Some("user-1"),
        Some(NOW - 100),
        Some(NOW + 3600),
        Some(json!("powersync")),
    )
}

fn with(mut c: Map<String, Value>, key: &str, v: Value) -> Map<String, Value> {
    c.insert(key.into(), v);
    c
}

fn kid(k: &str) -> Map<String, Value> {
    obj(json!({"typ": "JWT", "kid": k}))
}

fn public_jwk(key: &PrivateKey, kid: Option<&str>) -> Value {
    match key.public_jwk().unwrap() {
        Some(jwk) => {
            let mut v = jwk.to_json(kid.unwrap_or(""));
            if kid.is_none() {
                v.as_object_mut().unwrap().remove("kid");
            }
            v
        }
        None => {
            let mut v =
                json!({"kty": "oct", "alg": key.alg().as_str(), "k": key.hmac_k().unwrap()});
            if let Some(k) = kid {
                v["kid"] = k.into();
            }
            v
        }
    }
}

struct Verdict {
    pskeys: (String, Option<String>),
    jose: (String, Option<String>),
}

fn judge(p: &Project, config: &str, tokens: &[String]) -> Vec<Verdict> {
    let jose = node_verify(p, config, Some(NOW), tokens);
    tokens
        .iter()
        .zip(jose)
        .map(|(t, j)| {
            let out = p.run(&[
                "verify",
                "--json",
                "--config",
                config,
                "--at",
                &NOW.to_string(),
                t,
            ]);
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
                panic!(
                    "verify --json printed no JSON: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
            let exit = out.status.code().unwrap();
            let verdict = v["verdict"].as_str().unwrap().to_string();
            assert_eq!(
                exit,
                if verdict == ACCEPTED { 0 } else { 1 },
                "exit code for {verdict}"
            );
            Verdict {
                pskeys: (verdict, v["code"].as_str().map(str::to_string)),
                jose: (
                    if j["ok"] == true {
                        ACCEPTED.to_string()
                    } else {
                        "rejected".to_string()
                    },
                    j["code"].as_str().map(str::to_string),
                ),
            }
        })
        .collect()
}

fn check(p: &Project, config: &str, cases: Vec<(&str, String, Option<&str>)>) {
    let tokens: Vec<String> = cases.iter().map(|c| c.1.clone()).collect();
    let verdicts = judge(p, config, &tokens);
    let mut failures = Vec::new();
    for ((name, _, expected), v) in cases.iter().zip(verdicts) {
        let want = match expected {
            None => (ACCEPTED.to_string(), None),
            Some(code) => ("rejected".to_string(), Some(code.to_string())),
        };
        if v.pskeys != want || v.jose != want {
            failures.push(format!(
                "{name}: expected {want:?}, pskeys {:?}, jose {:?}",
                v.pskeys, v.jose
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
}

#[test]
fn verify_agrees_with_the_service_on_every_case() {
    let p = Project::new();
    let mut keys: Vec<(Alg, PrivateKey)> = Vec::new();
    let mut jwks = Vec::new();
    for alg in Alg::ALL {
        let key = generate(alg, 2048).unwrap();
        jwks.push(public_jwk(&key, Some(alg.as_str())));
        keys.push((alg, key));
    }
    let wildcard = generate(Alg::HS256, 0).unwrap();
    jwks.push(public_jwk(&wildcard, None));
    // Measured against service v1.25: a JWK still holding private members verifies; `k`
    // in standard base64 with padding decodes; of two keys with one kid the first wins.
    let leaked = generate(Alg::ES256, 0).unwrap();
    let mut with_d = public_jwk(&leaked, Some("with-d"));
    with_d["d"] = json!("AAAA");
    jwks.push(with_d);
    let std_secret: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(250))
        .collect();
    let std_b64 = PrivateKey::Hmac {
        alg: Alg::HS256,
        secret: std_secret.clone(),
    };
    jwks.push(json!({"kty": "oct", "alg": "HS256", "kid": "std-b64",
        "k": base64::engine::general_purpose::STANDARD.encode(&std_secret)}));
    // Kid-less keys are tried in order and a key jose cannot use for the token stops the
    // search: a P-256 key with alg ES384 before the P-384 key that signed.
    let p256 = generate(Alg::ES256, 0).unwrap();
    let mut p256_as_es384 = public_jwk(&p256, None);
    p256_as_es384["alg"] = json!("ES384");
    jwks.push(p256_as_es384);
    let p384 = generate(Alg::ES384, 0).unwrap();
    jwks.push(public_jwk(&p384, None));
    // A number kid meets a string kid as JavaScript's `==` does.
    let numbered = generate(Alg::HS512, 0).unwrap();
    jwks.push(public_jwk(&numbered, Some("5")));
    let first = generate(Alg::HS256, 0).unwrap();
    let second = generate(Alg::HS256, 0).unwrap();
    jwks.push(public_jwk(&first, Some("dup")));
    jwks.push(public_jwk(&second, Some("dup")));
    let config = json!({"storage": {"type": "mongodb"}, "client_auth": {"jwks": {"keys": jwks}, "audience": ["powersync-dev", "powersync"]}});
    p.write(
        "powersync.yaml",
        serde_json::to_string_pretty(&config).unwrap(),
    );

    let key = |alg: Alg| &keys.iter().find(|(a, _)| *a == alg).unwrap().1;
    let hs = key(Alg::HS256);
    let sign =
        |k: &PrivateKey, h: Map<String, Value>, c: Map<String, Value>| sign_raw(k, &h, &c).unwrap();
    let mut cases: Vec<(&str, String, Option<&str>)> = Vec::new();
    for alg in Alg::ALL {
        cases.push((
            alg.as_str(),
            sign(key(alg), kid(alg.as_str()), std_claims()),
            None,
        ));
    }
    let other = generate(Alg::HS256, 0).unwrap();
    let PrivateKey::Hmac { secret, .. } = hs.clone() else {
        unreachable!()
    };
    let hs384_same_secret = PrivateKey::Hmac {
        alg: Alg::HS384,
        secret,
    };
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "kid": "HS256"})),
        b64(Value::Object(std_claims()))
    );
    let none_no_kid = format!(
        "{}.{}.",
        b64(json!({"alg": "none"})),
        b64(Value::Object(std_claims()))
    );
    cases.extend([
        (
            "wrong kid",
            sign(hs, kid("nope"), std_claims()),
            Some("PSYNC_S2101"),
        ),
        (
            "no kid, only kid'd RSA keys",
            sign(key(Alg::RS256), obj(json!({"typ": "JWT"})), std_claims()),
            Some("PSYNC_S2101"),
        ),
        (
            "kid-less wildcard key",
            sign(&wildcard, obj(json!({"typ": "JWT"})), std_claims()),
            None,
        ),
        (
            "wildcard secret with a kid",
            sign(&wildcard, kid("HS256"), std_claims()),
            Some("PSYNC_S2101"),
        ),
        (
            "wrong secret",
            sign(&other, kid("HS256"), std_claims()),
            Some("PSYNC_S2101"),
        ),
        (
            "alg mismatch in family (HS384 on an HS256 key)",
            sign(&hs384_same_secret, kid("HS256"), std_claims()),
            Some("PSYNC_S2101"),
        ),
        (
            "alg mismatch across families",
            sign(key(Alg::ES256), kid("RS256"), std_claims()),
            Some("PSYNC_S2101"),
        ),
        ("alg none", none, Some("PSYNC_S2101")),
        ("alg none without kid", none_no_kid, Some("PSYNC_S2101")),
        (
            "missing sub",
            sign(
                hs,
                kid("HS256"),
                claims(None, Some(NOW), Some(NOW + 60), Some(json!("powersync"))),
            ),
            Some("PSYNC_S2101"),
        ),
        (
            "missing iat",
            sign(
                hs,
                kid("HS256"),
                claims(Some("u"), None, Some(NOW + 60), Some(json!("powersync"))),
            ),
            Some("PSYNC_S2101"),
        ),
        (
            "missing exp",
            sign(
                hs,
                kid("HS256"),
                claims(Some("u"), Some(NOW), None, Some(json!("powersync"))),
            ),
            Some("PSYNC_S2101"),
        ),
        (
            "missing aud",
            sign(
                hs,
                kid("HS256"),
                claims(Some("u"), Some(NOW), Some(NOW + 60), None),
            ),
            Some("PSYNC_S2105"),
        ),
        (
            "aud string",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "aud", json!("powersync-dev")),
            ),
            None,
        ),
        (
            "aud list with one match",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "aud", json!(["x", "powersync"])),
            ),
            None,
        ),
        (
            "aud list without a match",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "aud", json!(["x", "y"])),
            ),
            Some("PSYNC_S2105"),
        ),
        (
            "aud wrong string",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "aud", json!("powersync-prod")),
            ),
            Some("PSYNC_S2105"),
        ),
        (
            "expired 30 s ago (tolerated)",
            sign(hs, kid("HS256"), timed(NOW - 600, NOW - 30)),
            None,
        ),
        (
            "expired exactly 60 s ago",
            sign(hs, kid("HS256"), timed(NOW - 600, NOW - 60)),
            Some("PSYNC_S2103"),
        ),
        (
            "expired 61 s ago",
            sign(hs, kid("HS256"), timed(NOW - 600, NOW - 61)),
            Some("PSYNC_S2103"),
        ),
        (
            "nbf 30 s ahead (tolerated)",
            sign(hs, kid("HS256"), with(std_claims(), "nbf", json!(NOW + 30))),
            None,
        ),
        (
            "nbf 61 s ahead",
            sign(hs, kid("HS256"), with(std_claims(), "nbf", json!(NOW + 61))),
            Some("PSYNC_S2101"),
        ),
        (
            "future iat is not checked",
            sign(hs, kid("HS256"), timed(NOW + 500, NOW + 600)),
            None,
        ),
        (
            "lifetime exactly 86400",
            sign(hs, kid("HS256"), timed(NOW - 100, NOW - 100 + 86_400)),
            None,
        ),
        (
            "lifetime 86401",
            sign(hs, kid("HS256"), timed(NOW - 100, NOW - 100 + 86_401)),
            Some("PSYNC_S2104"),
        ),
        (
            "parameters object",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "parameters", json!({"team": "a"})),
            ),
            None,
        ),
        (
            "parameters list",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "parameters", json!(["a"])),
            ),
            Some("PSYNC_S2101"),
        ),
        (
            "parameters string",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "parameters", json!("a")),
            ),
            Some("PSYNC_S2101"),
        ),
        ("garbage", "not-a-token".to_string(), Some("PSYNC_S2101")),
        (
            "unknown kid falls back to a kid-less key",
            sign(&wildcard, kid("nope"), std_claims()),
            None,
        ),
        (
            "parameters null",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "parameters", Value::Null),
            ),
            None,
        ),
        (
            "aud null counts as missing",
            sign(hs, kid("HS256"), with(std_claims(), "aud", Value::Null)),
            Some("PSYNC_S2105"),
        ),
        (
            "aud items that are not strings never match",
            sign(
                hs,
                kid("HS256"),
                with(std_claims(), "aud", json!([5, true])),
            ),
            Some("PSYNC_S2105"),
        ),
        (
            "crit with an unknown extension",
            sign(
                hs,
                obj(json!({"kid": "HS256", "crit": ["exp2"], "exp2": 1})),
                std_claims(),
            ),
            Some("PSYNC_S2101"),
        ),
        (
            "crit b64 false",
            sign(
                hs,
                obj(json!({"kid": "HS256", "crit": ["b64"], "b64": false})),
                std_claims(),
            ),
            Some("PSYNC_S2101"),
        ),
        (
            "crit empty",
            sign(hs, obj(json!({"kid": "HS256", "crit": []})), std_claims()),
            Some("PSYNC_S2101"),
        ),
        (
            "b64 false without crit is an ordinary header",
            sign(hs, obj(json!({"kid": "HS256", "b64": false})), std_claims()),
            None,
        ),
        (
            "a JWK with private members still verifies",
            sign(&leaked, kid("with-d"), std_claims()),
            None,
        ),
        (
            "k in standard base64 with padding",
            sign(&std_b64, kid("std-b64"), std_claims()),
            None,
        ),
        (
            "duplicate kid: the first key wins",
            sign(&first, kid("dup"), std_claims()),
            None,
        ),
        (
            "duplicate kid: the second key is never used",
            sign(&second, kid("dup"), std_claims()),
            Some("PSYNC_S2101"),
        ),
        (
            "a kid-less key jose cannot use stops the search",
            sign(&p384, obj(json!({"typ": "JWT"})), std_claims()),
            Some("PSYNC_S2101"),
        ),
        (
            "a number kid matches a string kid",
            sign(&numbered, obj(json!({"kid": 5})), std_claims()),
            None,
        ),
        ("a payload with a BOM", bom_token(hs), None),
        (
            "lifetime as a float",
            sign(
                hs,
                kid("HS256"),
                with(
                    timed(NOW - 100, NOW + 3600),
                    "exp",
                    json!(NOW as f64 + 3600.5),
                ),
            ),
            None,
        ),
    ]);
    check(&p, "powersync.yaml", cases);
}

#[test]
fn supabase_legacy_secret_rules() {
    let p = Project::new();
    p.write("powersync.yaml", "storage: {type: mongodb}\nclient_auth:\n  supabase: true\n  supabase_jwt_secret: !env PS_SUPABASE_JWT_SECRET\n  audience: ['powersync']\n");
    p.write(
        ".env",
        "PS_SUPABASE_JWT_SECRET=super-secret-jwt-token-with-at-least-32-characters\n",
    );
    // The legacy secret is raw text, not base64.
    let key = PrivateKey::Hmac {
        alg: Alg::HS256,
        secret: b"super-secret-jwt-token-with-at-least-32-characters".to_vec(),
    };
    let h = obj(json!({"typ": "JWT"}));
    let c = |aud: &str, lifetime: u64| {
        claims(
            Some("u"),
            Some(NOW - 100),
            Some(NOW - 100 + lifetime),
            Some(json!(aud)),
        )
    };
    let sign = |c: Map<String, Value>| sign_raw(&key, &h, &c).unwrap();
    check(
        &p,
        "powersync.yaml",
        vec![
            ("aud authenticated", sign(c("authenticated", 3600)), None),
            (
                "a Supabase token's kid matches no key: the legacy secret still takes it",
                sign_raw(&key, &kid("supabase-kid"), &c("authenticated", 3600)).unwrap(),
                None,
            ),
            (
                "configured aud is not enough",
                sign(c("powersync", 3600)),
                Some("PSYNC_S2105"),
            ),
            (
                "7 days + 20 min",
                sign(c("authenticated", 7 * 86_400 + 1_200)),
                None,
            ),
            (
                "7 days + 21 min",
                sign(c("authenticated", 7 * 86_400 + 1_260)),
                Some("PSYNC_S2104"),
            ),
        ],
    );
}

#[test]
fn tokens_from_mint_verify_and_rejections_explain_themselves() {
    let p = Project::new();
    p.ok(&["init", "--kid", "dev"]);
    let token = p.ok(&["mint", "--sub", "user-1", "--parameters", r#"{"team":"a"}"#]);
    let out = p
        .cmd(&["verify"])
        .write_stdin(format!("Bearer {token}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("subject:  user-1") && stdout.contains("expires in 11h 59m")
            || stdout.contains("expires in 12h 0m"),
        "{stdout}"
    );
    assert!(stdout.contains(r#""parameters":{"team":"a"}"#), "{stdout}");
    // A whole header line, as copied from a browser's network panel.
    for line in [
        format!("Authorization: Bearer {token}"),
        format!("authorization:Token {}", token.trim()),
    ] {
        assert!(p.run(&["verify", &line]).status.success(), "{line}");
    }
    // S2105 names both sides and both ways out.
    let key = PrivateKey::from_hmac_k(
        Alg::HS256,
        p.read(".env")
            .lines()
            .find_map(|l| l.strip_prefix("PS_CLIENT_AUTH_KEY="))
            .unwrap(),
    )
    .unwrap();
    let now = pskeys::now();
    let bad = sign_raw(
        &key,
        &kid("dev"),
        &claims(Some("u"), Some(now), Some(now + 60), Some(json!("other"))),
    )
    .unwrap();
    let out = p.run(&["verify", &bad]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("PSYNC_S2105")
            && stderr.contains("other")
            && stderr.contains("powersync-dev")
            && stderr.contains("--audience"),
        "{stderr}"
    );
    // Unknown kid lists the config's kids.
    let bad = sign_raw(&key, &kid("gone"), &std_claims()).unwrap();
    let stderr = String::from_utf8_lossy(&p.run(&["verify", &bad]).stderr).to_string();
    assert!(stderr.contains("kids are: dev"), "{stderr}");
    // S2104 gives the lifetime and the cap.
    let bad = sign_raw(&key, &kid("dev"), &timed(now, now + 90_000)).unwrap();
    let stderr = String::from_utf8_lossy(&p.run(&["verify", &bad]).stderr).to_string();
    assert!(
        stderr.contains("PSYNC_S2104") && stderr.contains("90000s") && stderr.contains("86400"),
        "{stderr}"
    );
}

#[test]
fn jwks_uri_keys_are_checked_offline_with_jwks() {
    let p = Project::new();
    let key = generate(Alg::RS256, 2048).unwrap();
    p.write("powersync.yaml", "storage: {type: mongodb}\nclient_auth:\n  jwks_uri: https://example.com/.well-known/jwks.json\n  audience: ['app']\n");
    let token = sign_raw(
        &key,
        &kid("remote-1"),
        &with(std_claims(), "aud", json!("app")),
    )
    .unwrap();
    let at = NOW.to_string();
    let out = p.run(&["verify", "--at", &at, &token]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("https://example.com/.well-known/jwks.json")
    );
    p.write(
        "jwks.json",
        json!({"keys": [public_jwk(&key, Some("remote-1"))]}).to_string(),
    );
    p.ok(&["verify", "--at", &at, "--jwks", "jwks.json", &token]);
    // Offline checks still reject what they can.
    let expired = sign_raw(
        &key,
        &kid("remote-1"),
        &claims(
            Some("u"),
            Some(NOW - 9000),
            Some(NOW - 8000),
            Some(json!("app")),
        ),
    )
    .unwrap();
    p.cmd(&["verify", "--at", &at, &expired]).assert().code(1);
}

#[test]
fn a_config_the_service_refuses_is_exit_2() {
    let p = Project::new();
    p.write("powersync.yaml", "client_auth:\n  audience: powersync\n");
    let token = sign_raw(&generate(Alg::HS256, 0).unwrap(), &kid("x"), &std_claims()).unwrap();
    p.cmd(&["verify", &token]).assert().code(2);
    p.write("powersync.yaml", "client_auth:\n  jwks:\n    keys:\n      - {kty: oct, alg: HS256, kid: a, k: !env NOT_PS}\n  audience: [a]\n");
    p.cmd(&["verify", &token]).assert().code(2);
}

#[test]
fn decode_labels_itself_unverified() {
    let p = Project::new();
    let token = sign_raw(&generate(Alg::HS256, 0).unwrap(), &kid("x"), &std_claims()).unwrap();
    let out = p.ok(&["decode", &token]);
    assert!(out.starts_with("UNVERIFIED"));
    assert!(
        out.contains("\"kid\": \"x\"") && out.contains("lifetime: 1h 1m"),
        "{out}"
    );
    let v: Value = serde_json::from_str(&p.ok(&["decode", "--json", &token])).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["claims"]["sub"], "user-1");
}
