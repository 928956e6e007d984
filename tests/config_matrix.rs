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

/// Storage, then these top-level settings.
fn top(name: &'static str, want: Want, settings: &str) -> Case {
    raw(
        name,
        want,
        "powersync.yaml",
        &format!("{STORAGE}{settings}"),
    )
}

fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(whole_config());
    all.extend(env_tags());
    all.extend(client_auth());
    all.extend(static_keys());
    all.extend(jwks_uris());
    all.extend(json_files());
    all
}

/// Storage, port, sync config, replication and the other top-level settings: the
/// service's codec and JSON schema, then collectConfig's own checks.
fn whole_config() -> Vec<Case> {
    Vec::from([
        keys("minimal good config", Loads, HS_ITEM),
        raw(
            "no storage",
            Refused,
            "powersync.yaml",
            "client_auth:\n  audience: [powersync]\n",
        ),
        raw(
            "storage: null",
            Refused,
            "powersync.yaml",
            "storage: null\n",
        ),
        raw(
            "storage: {} (no type)",
            Refused,
            "powersync.yaml",
            "storage: {}\n",
        ),
        top("port: '${PS_PORT}'", Refused, "port: '${PS_PORT}'\n"),
        top("port: '8080'", Loads, "port: '8080'\n"),
        top("port: true", Refused, "port: true\n"),
        top("port: .inf", Refused, "port: .inf\n"),
        top(
            "both sync_config and sync_rules",
            Refused,
            "sync_config:\n  path: sync.yaml\nsync_rules:\n  path: sync.yaml\n",
        ),
        top("sync_config.path: 5", Refused, "sync_config:\n  path: 5\n"),
        // The loader keeps a connection uri as text; the Postgres module refuses one
        // without its `postgresql:` scheme (PSYNC_S1109) only when it initialises, after
        // the config has loaded (config-check.mjs does not run the modules; pskeys
        // reports it as connection_fails, not as a refused config).
        top(
            "a replication uri '${PS_PG_URI}'",
            Loads,
            "replication:\n  connections:\n    - type: postgresql\n      uri: '${PS_PG_URI}'\n",
        ),
        top(
            "two replication connections",
            Refused,
            "replication:\n  connections:\n    - type: postgresql\n    - type: postgresql\n",
        ),
        top(
            "api.parameters.bucket_count_cache_ttl_minutes: 0",
            Refused,
            "api:\n  parameters:\n    bucket_count_cache_ttl_minutes: 0\n",
        ),
        top(
            "telemetry without disable_telemetry_sharing",
            Refused,
            "telemetry:\n  prometheus_port: 9090\n",
        ),
        top(
            "metadata with a number",
            Refused,
            "metadata: {region: eu, shard: 1}\n",
        ),
        top(
            "parameters with a list",
            Refused,
            "parameters: {tenants: [1, 2]}\n",
        ),
        top(
            "unknown settings",
            Loads,
            "dashboard: true\nclient_auth:\n  extra: 1\n  audience: [powersync]\n",
        ),
    ])
}

/// The `!env` tag, as the service's yaml-env.ts resolves it while parsing.
fn env_tags() -> Vec<Case> {
    let port = "port: !env PS_PORT::number\n";
    let supabase = "  supabase: !env PS_SUPABASE::boolean\n";
    Vec::from([
        top("port: !env PS_PORT::number", Loads, port).env("PS_PORT=8080\n"),
        top("!env ::number of '0x1F90'", Loads, port).env("PS_PORT=0x1F90\n"),
        top("!env ::number of 'eighty'", Refused, port).env("PS_PORT=eighty\n"),
        yaml("!env ::boolean of 'yes'", Refused, supabase).env("PS_SUPABASE=yes\n"),
        yaml("!env ::boolean of 'FALSE'", Loads, supabase).env("PS_SUPABASE=FALSE\n"),
        yaml(
            "!env ::string",
            Loads,
            "  audience: [!env PS_AUD::string]\n",
        )
        .env("PS_AUD=powersync\n"),
        yaml(
            "!env ::int (no such type)",
            Refused,
            "  audience: [!env PS_AUD::int]\n",
        )
        .env("PS_AUD=powersync\n"),
        yaml(
            "!env without the PS_ prefix",
            Refused,
            "  audience: [!env AUDIENCE]\n",
        )
        .env("AUDIENCE=powersync\n"),
        yaml(
            "!env of an undefined variable",
            Refused,
            "  audience: [!env PS_UNDEFINED]\n",
        ),
    ])
}

/// `client_auth`'s own settings (its schema), and the Supabase secret's import.
fn client_auth() -> Vec<Case> {
    Vec::from([
        yaml("audience: a string", Refused, "  audience: powersync\n"),
        yaml(
            "audience: a list with a number",
            Refused,
            "  audience: [powersync, 123]\n",
        ),
        yaml("audience: []", Loads, "  audience: []\n"),
        yaml("audience missing", Loads, "  jwks:\n    keys: []\n"),
        yaml("audience: (null)", Refused, "  audience:\n"),
        top("client_auth: (null)", Refused, "client_auth:\n"),
        yaml("jwks: (null)", Refused, &format!("{AUDIENCE}  jwks:\n")),
        yaml("jwks: {keys: {}}", Refused, "  jwks: {keys: {}}\n"),
        yaml("supabase: 'yes'", Refused, "  supabase: 'yes'\n"),
        yaml(
            "supabase with supabase_jwt_secret",
            Loads,
            "  supabase: true\n  supabase_jwt_secret: !env PS_SUPABASE_SECRET\n",
        )
        .env("PS_SUPABASE_SECRET=super-secret-jwt-token-with-at-least-32-characters\n"),
        yaml(
            "supabase with supabase_jwt_secret: ''",
            Refused,
            "  supabase: true\n  supabase_jwt_secret: ''\n",
        ),
    ])
}

/// `jwks.keys`: the schema's JWK forms, then jose's importJWK of what the codec keeps.
fn static_keys() -> Vec<Case> {
    let rsa = public_jwk(&generate(Alg::RS256, 2048).unwrap(), "rsa-1");
    let ec = public_jwk(&generate(Alg::ES256, 0).unwrap(), "ec-1");
    let ed = public_jwk(&generate(Alg::EdDSA, 0).unwrap(), "ed-1");
    let secret: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(250))
        .collect();
    let std_b64 = base64::engine::general_purpose::STANDARD.encode(&secret);
    let hs = |members: &str| format!("      - {{kty: oct, {members}}}\n");
    Vec::from([
        keys(
            "a key without kty",
            Refused,
            &item(&without(rsa.clone(), "kty")),
        ),
        keys(
            "kty: DSA",
            Refused,
            &item(&with(rsa.clone(), "kty", json!("DSA"))),
        ),
        keys(
            "an RSA key without kid",
            Refused,
            &item(&without(rsa.clone(), "kid")),
        ),
        keys(
            "an RSA key without alg",
            Loads,
            &item(&without(rsa.clone(), "alg")),
        ),
        // The codec keeps only a JWK's schema members: `oth` never reaches jose.
        keys(
            "an RSA key with oth",
            Loads,
            &item(&with(rsa.clone(), "oth", json!([]))),
        ),
        // node imports any RSA n and e; the 0-bit key's tokens fail at verification.
        keys(
            "an RSA key with n: ''",
            Loads,
            &item(&with(rsa.clone(), "n", json!(""))),
        ),
        keys(
            "an oct key without alg",
            Refused,
            &hs("kid: h, k: !env PS_CLIENT_AUTH_KEY"),
        ),
        keys(
            "oct with alg RS256",
            Refused,
            &hs("kid: h, alg: RS256, k: !env PS_CLIENT_AUTH_KEY"),
        ),
        keys(
            "an oct key with k: ''",
            Refused,
            &hs("kid: e, alg: HS256, k: ''"),
        ),
        keys(
            "kid: 123 (a number)",
            Refused,
            &hs("kid: 123, alg: HS256, k: !env PS_CLIENT_AUTH_KEY"),
        ),
        keys(
            "a duplicate kid",
            Loads,
            &format!(
                "{HS_ITEM}{}",
                hs(&format!("kid: powersync-1, alg: HS256, k: '{std_b64}'"))
            ),
        ),
        keys(
            "k in standard base64 with padding",
            Loads,
            &hs(&format!("kid: std, alg: HS256, k: '{std_b64}'")),
        ),
        keys(
            "k: 'not base64!'",
            Loads,
            &hs("kid: nb, alg: HS256, k: 'not base64!'"),
        ),
        keys(
            "EC with crv P-999",
            Refused,
            &item(&with(ec.clone(), "crv", json!("P-999"))),
        ),
        keys(
            "EC P-256 with alg ES384",
            Loads,
            &item(&with(ec.clone(), "alg", json!("ES384"))),
        ),
        keys(
            "an EC point not on the curve",
            Refused,
            &item(&with(ec.clone(), "y", ec["x"].clone())),
        ),
        keys(
            "a JWK with d",
            Loads,
            &item(&with(ec.clone(), "d", json!("AAAA"))),
        ),
        keys("an OKP Ed25519 key", Loads, &item(&ed)),
        keys(
            "an Ed25519 x of 3 bytes",
            Refused,
            &item(&with(ed, "x", json!("abcd"))),
        ),
    ])
}

/// RemoteJWKSCollector's constructor: new URL, http(s) only, and the IP-literal check.
fn jwks_uris() -> Vec<Case> {
    let uri = |name, want, uri: &str| yaml(name, want, &format!("  jwks_uri: '{uri}'\n"));
    let local = |name, want, uri: &str| {
        let ranges = "  jwks_reject_ip_ranges: ['local']\n";
        yaml(name, want, &format!("{ranges}  jwks_uri: '{uri}'\n"))
    };
    let ranges = |name, want, range: &str, uri: &str| {
        let text = format!("  jwks_reject_ip_ranges: ['{range}']\n  jwks_uri: '{uri}'\n");
        yaml(name, want, &text)
    };
    let block = "  block_local_jwks: true\n";
    Vec::from([
        yaml("jwks_uri: 5", Refused, "  jwks_uri: 5\n"),
        uri("jwks_uri: '${PS_JWKS_URI}'", Refused, "${PS_JWKS_URI}"),
        // new URL accepts `$`, `{`, `}` in a host: the fetch fails later, not the load.
        uri(
            "jwks_uri: 'https://${PS_AUTH_HOST}/jwks'",
            Loads,
            "https://${PS_AUTH_HOST}/jwks",
        ),
        uri(
            "jwks_uri: ftp://… (S3103)",
            Refused,
            "ftp://example.com/jwks",
        ),
        uri("jwks_uri without a scheme", Refused, "localhost:8080/jwks"),
        uri(
            "jwks_uri with a space in the host",
            Refused,
            "http://exa mple.com/jwks",
        ),
        uri("jwks_uri with 1.2.3.256", Refused, "http://1.2.3.256/jwks"),
        yaml(
            "jwks_uri list with one invalid entry",
            Refused,
            "  jwks_uri: ['https://auth.example.com/jwks', '${PS_JWKS_URI}']\n",
        ),
        yaml(
            "block_local_jwks with http://127.0.0.1:8080/jwks",
            Refused,
            &format!("{block}  jwks_uri: http://127.0.0.1:8080/jwks\n"),
        ),
        yaml(
            "block_local_jwks with a public IPv6 literal (S2202)",
            Refused,
            &format!("{block}  jwks_uri: 'https://[2606:4700::1111]/jwks'\n"),
        ),
        local(
            "[local] with http://10.0.0.1/…",
            Refused,
            "http://10.0.0.1/.well-known/jwks.json",
        ),
        // A hostname is only resolved (and rejected) when the keys are fetched.
        local(
            "[local] with http://localhost:…",
            Loads,
            "http://localhost:8080/jwks",
        ),
        local(
            "[local] with a public IPv4 literal",
            Loads,
            "https://8.8.8.8/jwks",
        ),
        local(
            "[local] with 100.64.0.1 (carrier-grade NAT)",
            Refused,
            "http://100.64.0.1/jwks",
        ),
        local(
            "[local] with [::ffff:127.0.0.1]",
            Refused,
            "http://[::ffff:127.0.0.1]/jwks",
        ),
        local(
            "[local] with http://2130706433/ (127.0.0.1)",
            Refused,
            "http://2130706433/jwks",
        ),
        ranges(
            "[10.0.0.0/8] with 10.1.2.3",
            Refused,
            "10.0.0.0/8",
            "http://10.1.2.3/jwks",
        ),
        ranges(
            "[10.0.0.0/8] with 11.1.2.3",
            Loads,
            "10.0.0.0/8",
            "http://11.1.2.3/jwks",
        ),
        // ipaddr.js parses the ranges only for an IP-literal host, and throws on these.
        ranges(
            "a range that is not CIDR, with an IP",
            Refused,
            "10.0.0.1",
            "https://8.8.8.8/jwks",
        ),
        ranges(
            "a range that is not CIDR, with a hostname",
            Loads,
            "10.0.0.1",
            "https://a.example/jwks",
        ),
    ])
}

/// JSON configs: parsed as JSON only (no `!env`), then the same codec and schema.
fn json_files() -> Vec<Case> {
    let rsa = public_jwk(&generate(Alg::RS256, 2048).unwrap(), "rsa-1");
    let json_case =
        |name, want, config: Value| raw(name, want, "powersync.json", &config.to_string());
    let storage = json!({"type": "mongodb"});
    Vec::from([
        json_case(
            "JSON: a good config",
            Loads,
            json!({"storage": storage, "client_auth": {"audience": ["powersync"], "jwks": {"keys": [rsa]}}}),
        ),
        json_case(
            "JSON: audience a string",
            Refused,
            json!({"storage": storage, "client_auth": {"audience": "powersync"}}),
        ),
        json_case(
            "JSON: port '${PS_PORT}'",
            Refused,
            json!({"storage": storage, "port": "${PS_PORT}"}),
        ),
        json_case(
            "JSON: kid a number",
            Refused,
            json!({"storage": storage, "client_auth": {"jwks": {"keys": [with(rsa.clone(), "kid", json!(7))]}}}),
        ),
    ])
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
        "src/service/powersync-config.schema.json differs from @powersync/service-types' schema: regenerate it (src/service/schema.rs says how)"
    );
}
