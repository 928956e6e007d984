//! `pskeys verify` must say "the service refuses this config" exactly when the service's
//! own loader does. Every case is judged twice: by `pskeys verify --json` (exit 2 with a
//! refused config, anything else: it loads) and by tests/interop/config-check.mjs, which
//! loads it with the service's own codec and JSON schema (npm @powersync/service-types,
//! validated by ajv as the service does), its `!env` tag, jose's importJWK and the
//! jwks_uri checks of its key store. Both must agree with each other and with the case.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use base64::Engine as _;
use common::{Project, node_config_check};
use pskeys::keys::{Alg, PrivateKey, generate};
use serde_json::{Value, json};

/// What the service does with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Loads,
    Refused,
}
use Want::{Loads, Refused};

struct Case {
    name: &'static str,
    want: Want,
    file: &'static str,
    text: String,
    env: String,
}

const STORAGE: &str = "storage:\n  type: mongodb\n  uri: mongodb://localhost:27017/powersync\n";
const HS_KEY: &str = "PS_CLIENT_AUTH_KEY=u3Y2Ppq3AX0ZbyZ5CWp5xAxjkV7TcvbQHS0rxMXMnxI\n";
const AUDIENCE: &str = "  audience: ['powersync-dev', 'powersync']\n";

/// A YAML config: storage, then `client_auth:` with these lines (already indented).
fn yaml(name: &'static str, want: Want, client_auth: &str) -> Case {
    Case {
        name,
        want,
        file: "powersync.yaml",
        text: format!("{STORAGE}client_auth:\n{client_auth}"),
        env: HS_KEY.to_string(),
    }
}

/// A YAML config with the standard audience and these static keys (already indented
/// as list items under `keys:`).
fn keys(name: &'static str, want: Want, items: &str) -> Case {
    yaml(
        name,
        want,
        &format!("{AUDIENCE}  jwks:\n    keys:\n{items}"),
    )
}

/// A config written out in full.
fn raw(name: &'static str, want: Want, file: &'static str, text: &str) -> Case {
    Case {
        name,
        want,
        file,
        text: text.to_string(),
        env: HS_KEY.to_string(),
    }
}

impl Case {
    fn env(mut self, lines: &str) -> Case {
        self.env.push_str(lines);
        self
    }
}

const HS_ITEM: &str = "      - kty: oct\n        kid: powersync-1\n        alg: HS256\n        k: !env PS_CLIENT_AUTH_KEY\n";

/// A JWK as one flow-style YAML list item.
fn item(jwk: &Value) -> String {
    format!("      - {jwk}\n")
}

fn public_jwk(key: &PrivateKey, kid: &str) -> Value {
    key.public_jwk().unwrap().unwrap().to_json(kid)
}

fn without(mut jwk: Value, member: &str) -> Value {
    jwk.as_object_mut().unwrap().remove(member);
    jwk
}

fn with(mut jwk: Value, member: &str, value: Value) -> Value {
    jwk[member] = value;
    jwk
}

fn cases() -> Vec<Case> {
    let rsa = public_jwk(&generate(Alg::RS256, 2048).unwrap(), "rsa-1");
    let ec = public_jwk(&generate(Alg::ES256, 0).unwrap(), "ec-1");
    let ed = public_jwk(&generate(Alg::EdDSA, 0).unwrap(), "ed-1");
    let secret: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(250))
        .collect();
    let std_b64 = base64::engine::general_purpose::STANDARD.encode(&secret);
    let good_json = json!({
        "storage": {"type": "mongodb"},
        "client_auth": {"audience": ["powersync"], "jwks": {"keys": [rsa]}}
    });
    vec![
        // The whole config: storage, replication, sync config, port.
        keys("minimal good config", Loads, HS_ITEM),
        raw("no storage", Refused, "powersync.yaml", "client_auth:\n  audience: ['powersync']\n"),
        raw("storage: null", Refused, "powersync.yaml", "storage: null\n"),
        raw("port: '${PS_PORT}'", Refused, "powersync.yaml", &format!("{STORAGE}port: '${{PS_PORT}}'\n")),
        raw("port: !env PS_PORT::number", Loads, "powersync.yaml", &format!("{STORAGE}port: !env PS_PORT::number\n"))
            .env("PS_PORT=8080\n"),
        raw(
            "both sync_config and sync_rules",
            Refused,
            "powersync.yaml",
            &format!("{STORAGE}sync_config:\n  path: sync.yaml\nsync_rules:\n  path: sync.yaml\n"),
        ),
        // `!env`.
        yaml("!env without the PS_ prefix", Refused, "  audience: [!env AUDIENCE]\n").env("AUDIENCE=powersync\n"),
        yaml("!env of an undefined variable", Refused, "  audience: [!env PS_UNDEFINED_AUDIENCE]\n"),
        // client_auth settings.
        yaml("audience: a string", Refused, "  audience: powersync\n"),
        yaml("audience: a list with a number", Refused, "  audience: [powersync, 123]\n"),
        yaml("audience: []", Loads, "  audience: []\n"),
        yaml("audience missing", Loads, "  jwks:\n    keys: []\n"),
        yaml("supabase: 'yes'", Refused, "  supabase: 'yes'\n"),
        yaml("jwks_uri: 5", Refused, "  jwks_uri: 5\n"),
        yaml("jwks: {keys: {}}", Refused, "  jwks: {keys: {}}\n"),
        yaml("jwks_uri: '${PS_JWKS_URI}'", Refused, "  jwks_uri: '${PS_JWKS_URI}'\n"),
        // Static keys: the schema, then jose's importJWK.
        keys("a key without kty", Refused, &item(&without(rsa.clone(), "kty"))),
        keys("kty: DSA", Refused, &item(&with(rsa.clone(), "kty", json!("DSA")))),
        keys("an RSA key without kid", Refused, &item(&without(rsa.clone(), "kid"))),
        keys("an oct key without alg", Refused, "      - {kty: oct, kid: h, k: !env PS_CLIENT_AUTH_KEY}\n"),
        keys("oct with alg RS256", Refused, "      - {kty: oct, kid: h, alg: RS256, k: !env PS_CLIENT_AUTH_KEY}\n"),
        keys("EC with crv P-999", Refused, &item(&with(ec.clone(), "crv", json!("P-999")))),
        keys("EC P-256 with alg ES384", Loads, &item(&with(ec.clone(), "alg", json!("ES384")))),
        keys("an EC point not on the curve", Refused, &item(&with(ec.clone(), "y", ec["x"].clone()))),
        keys("kid: 123 (a number)", Refused, "      - {kty: oct, kid: 123, alg: HS256, k: !env PS_CLIENT_AUTH_KEY}\n"),
        keys(
            "a duplicate kid",
            Loads,
            &format!("{HS_ITEM}      - {{kty: oct, kid: powersync-1, alg: HS256, k: '{std_b64}'}}\n"),
        ),
        keys("a JWK with d", Loads, &item(&with(ec.clone(), "d", json!("AAAA")))),
        keys(
            "k in standard base64 with padding",
            Loads,
            &format!("      - {{kty: oct, kid: std, alg: HS256, k: '{std_b64}'}}\n"),
        ),
        keys("k: 'not base64!'", Loads, "      - {kty: oct, kid: nb, alg: HS256, k: 'not base64!'}\n"),
        keys("an OKP Ed25519 key", Loads, &item(&ed)),
        // jwks_uri and the IP ranges its key store rejects.
        yaml(
            "block_local_jwks with http://127.0.0.1:8080/jwks",
            Refused,
            "  block_local_jwks: true\n  jwks_uri: http://127.0.0.1:8080/jwks\n",
        ),
        yaml(
            "jwks_reject_ip_ranges [local] with http://10.0.0.1/…",
            Refused,
            "  jwks_reject_ip_ranges: ['local']\n  jwks_uri: http://10.0.0.1/.well-known/jwks.json\n",
        ),
        // A hostname is only resolved (and rejected) when the keys are fetched.
        yaml(
            "jwks_reject_ip_ranges [local] with http://localhost:…",
            Loads,
            "  jwks_reject_ip_ranges: ['local']\n  jwks_uri: http://localhost:8080/jwks\n",
        ),
        yaml(
            "jwks_reject_ip_ranges [10.0.0.0/8] with 10.1.2.3",
            Refused,
            "  jwks_reject_ip_ranges: ['10.0.0.0/8']\n  jwks_uri: http://10.1.2.3/jwks\n",
        ),
        yaml(
            "jwks_reject_ip_ranges [10.0.0.0/8] with 11.1.2.3",
            Loads,
            "  jwks_reject_ip_ranges: ['10.0.0.0/8']\n  jwks_uri: http://11.1.2.3/jwks\n",
        ),
        // Disagreements found by this matrix, each fixed in pskeys' rules.
        yaml("!env ::boolean of 'yes'", Refused, "  supabase: !env PS_SUPABASE::boolean\n").env("PS_SUPABASE=yes\n"),
        yaml("!env ::boolean of 'FALSE'", Loads, "  supabase: !env PS_SUPABASE::boolean\n").env("PS_SUPABASE=FALSE\n"),
        raw("!env ::number of '0x1F90'", Loads, "powersync.yaml", &format!("{STORAGE}port: !env PS_PORT::number\n"))
            .env("PS_PORT=0x1F90\n"),
        raw("!env ::number of 'eighty'", Refused, "powersync.yaml", &format!("{STORAGE}port: !env PS_PORT::number\n"))
            .env("PS_PORT=eighty\n"),
        yaml("!env ::string", Loads, "  audience: [!env PS_AUDIENCE::string]\n").env("PS_AUDIENCE=powersync\n"),
        yaml("!env ::int (no such type)", Refused, "  audience: [!env PS_AUDIENCE::int]\n").env("PS_AUDIENCE=powersync\n"),
        yaml("audience: (null)", Refused, "  audience:\n"),
        raw("client_auth: (null)", Refused, "powersync.yaml", &format!("{STORAGE}client_auth:\n")),
        yaml("jwks: (null)", Refused, &format!("{AUDIENCE}  jwks:\n")),
        raw("storage: {} (no type)", Refused, "powersync.yaml", "storage: {}\n"),
        raw(
            "telemetry without disable_telemetry_sharing",
            Refused,
            "powersync.yaml",
            &format!("{STORAGE}telemetry:\n  prometheus_port: 9090\n"),
        ),
        raw("sync_config.path: 5", Refused, "powersync.yaml", &format!("{STORAGE}sync_config:\n  path: 5\n")),
        raw("port: true", Refused, "powersync.yaml", &format!("{STORAGE}port: true\n")),
        raw("port: .inf", Refused, "powersync.yaml", &format!("{STORAGE}port: .inf\n")),
        raw("port: '8080'", Loads, "powersync.yaml", &format!("{STORAGE}port: '8080'\n")),
        raw(
            "unknown settings",
            Loads,
            "powersync.yaml",
            &format!("{STORAGE}dashboard: true\nclient_auth:\n  extra: 1\n  audience: [powersync]\n"),
        ),
        keys("an oct key with k: ''", Refused, "      - {kty: oct, kid: e, alg: HS256, k: ''}\n"),
        keys("an RSA key without alg", Loads, &item(&without(rsa.clone(), "alg"))),
        yaml(
            "supabase with supabase_jwt_secret",
            Loads,
            "  supabase: true\n  supabase_jwt_secret: !env PS_SUPABASE_SECRET\n",
        )
        .env("PS_SUPABASE_SECRET=super-secret-jwt-token-with-at-least-32-characters\n"),
        // JSON configs: parsed as JSON only, no `!env`.
        raw("JSON: a good config", Loads, "powersync.json", &good_json.to_string()),
        raw(
            "JSON: audience a string",
            Refused,
            "powersync.json",
            &json!({"storage": {"type": "mongodb"}, "client_auth": {"audience": "powersync"}}).to_string(),
        ),
        raw(
            "JSON: port '${PS_PORT}'",
            Refused,
            "powersync.json",
            &json!({"storage": {"type": "mongodb"}, "port": "${PS_PORT}"}).to_string(),
        ),
        raw(
            "JSON: kid a number",
            Refused,
            "powersync.json",
            &json!({"storage": {"type": "mongodb"}, "client_auth": {"jwks": {"keys": [with(rsa.clone(), "kid", json!(7))]}}}).to_string(),
        ),
    ]
}

/// A well-formed token (its signature matches no key; only the config's verdict counts).
fn token() -> String {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(json!({"alg": "HS256", "typ": "JWT", "kid": "powersync-1"}));
    let claims = b64(
        json!({"sub": "u", "iat": 1_800_000_000u64, "exp": 1_800_003_600u64, "aud": "powersync"}),
    );
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

/// pskeys' verdict: `Refused` when `verify` exits 2 for a refused (or unparsable) config.
fn pskeys_verdict(p: &Project, case: &Case) -> (Want, String) {
    let out = p.run(&[
        "verify",
        "--json",
        "--config",
        case.file,
        "--at",
        "1800000100",
        &token(),
    ]);
    let stdout: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}: verify --json printed no JSON: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    match out.status.code() {
        Some(2) => {
            let kind = stdout["error"]["kind"].as_str().unwrap_or_default();
            assert!(
                kind == "config_refused" || kind == "config",
                "{}: exit 2 for another reason ({kind}): {stdout}",
                case.name
            );
            (
                Refused,
                stdout["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        }
        _ => (
            Loads,
            stdout["verdict"].as_str().unwrap_or_default().to_string(),
        ),
    }
}

#[test]
fn pskeys_refuses_exactly_the_configs_the_service_refuses() {
    let cases = cases();
    assert!(cases.len() >= 30, "the matrix has {} cases", cases.len());
    let projects: Vec<Project> = cases
        .iter()
        .map(|c| {
            let p = Project::new();
            p.write(c.file, &c.text).write(".env", &c.env);
            p
        })
        .collect();
    let pairs: Vec<_> = cases
        .iter()
        .zip(&projects)
        .map(|(c, p)| (p.path(c.file), p.path(".env")))
        .collect();
    let service = node_config_check(&pairs);
    let mut failures = Vec::new();
    for ((case, p), node) in cases.iter().zip(&projects).zip(service) {
        let (ours, why) = pskeys_verdict(p, case);
        let theirs = if node["loads"] == true {
            Loads
        } else {
            Refused
        };
        if ours != case.want || theirs != case.want {
            failures.push(format!(
                "{}: expected {:?}; pskeys {ours:?} ({why}); service {theirs:?} ({})",
                case.name,
                case.want,
                node["message"]
                    .as_str()
                    .map_or(String::new(), |m| format!("{}: {m}", node["stage"]))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// pskeys validates with a copy of the service's JSON schema; it must be the one the
/// pinned @powersync/service-types generates.
#[test]
fn the_embedded_schema_is_the_services() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let interop = root.join("tests/interop");
    assert!(
        interop
            .join("node_modules/@powersync/service-types")
            .is_dir(),
        "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop` (.ci/run does)"
    );
    let out = std::process::Command::new("node")
        .current_dir(&interop)
        .args([
            "--input-type=module",
            "-e",
            "import { configFile } from '@powersync/service-types'; console.log(JSON.stringify(configFile.PowerSyncConfigJSONSchema))",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): run `npm ci --prefix tests/interop` with Node.js 18+"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        &theirs,
        pskeys::service::schema::schema(),
        "src/service/powersync-config.schema.json differs from @powersync/service-types' schema: regenerate it"
    );
}
