//! In-process minting throughput: `Minter::mint` per algorithm next to the bare aws-lc-rs
//! signature over an input of the same size, so the cost of the claim checks, the JSON and
//! the base64 shows as the gap between the two; and `Minter::new`, the per-process setup.
//!
//! `cargo bench --bench mint` (short runs: the CI machine has 2 shared cores). Times are
//! the benchmark thread's CPU time, so other processes on a shared machine do not inflate
//! them: the throughput is what one otherwise idle core gives. `PSKEYS_BENCH_WALL=1`
//! measures wall time instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: a panic is a broken setup

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use pskeys::config::Config;
use pskeys::jws::Alg;
use pskeys::keys::{self, PrivateKey};
use pskeys::{Env, Minter, TokenSpec};
use serde_json::json;

/// A fixed clock: the rules compare times, so the result does not depend on it.
const NOW: u64 = 1_750_000_000;
const KID: &str = "k1";
const AUDIENCES: &str = "[powersync-dev, powersync]";

/// A config and `.env` with one key, as `pskeys init` would write them.
struct Project {
    config: Config,
    env: Env,
    key: PrivateKey,
}

fn project(alg: Alg) -> Project {
    let key = keys::generate(alg, 2048).unwrap();
    let mut vars = vec![("PSKEYS_KID".to_string(), KID.to_string())];
    let jwk = match key.public_jwk().unwrap() {
        // The secret stays in the environment, as `init` leaves it.
        None => {
            vars.push(("PS_CLIENT_AUTH_KEY".into(), key.hmac_k().unwrap()));
            format!("{{kty: oct, alg: {alg}, kid: {KID}, k: !env PS_CLIENT_AUTH_KEY}}")
        }
        Some(public) => {
            vars.push(("PSKEYS_ALG".into(), alg.to_string()));
            vars.push(("PSKEYS_PRIVATE_KEY".into(), key.to_pem().unwrap()));
            public.to_json(KID).to_string()
        }
    };
    let text = format!(
        "storage: {{type: mongodb}}\nclient_auth:\n  jwks:\n    keys:\n      - {jwk}\n  audience: {AUDIENCES}\n"
    );
    let config = Config::parse(Path::new("powersync.yaml"), text).unwrap();
    let file = vars.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let env = Env::with_process(file, std::iter::empty());
    Project { config, env, key }
}

/// A typical token: the config's audiences, 12 h, and sync-rule parameters.
fn spec() -> TokenSpec {
    TokenSpec::new("user-1").claim("parameters", json!({"team": "a", "role": "member"}))
}

/// The bare aws-lc-rs signer of a key, parsed once: what `Minter::mint` cannot beat.
enum RawSigner {
    Hmac(Box<hmac::Key>),
    Rsa(RsaKeyPair, Vec<u8>),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl RawSigner {
    fn new(key: &PrivateKey) -> RawSigner {
        match key {
            PrivateKey::Hmac { secret, .. } => {
                RawSigner::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret)))
            }
            PrivateKey::Pkcs8 { alg, der } => match alg {
                Alg::RS256 => {
                    let pair = RsaKeyPair::from_pkcs8(der).unwrap();
                    let sig = vec![0u8; pair.public_modulus_len()];
                    RawSigner::Rsa(pair, sig)
                }
                Alg::ES256 => RawSigner::Ecdsa(
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                        .unwrap(),
                ),
                Alg::ES512 => RawSigner::Ecdsa(
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P521_SHA512_FIXED_SIGNING, der)
                        .unwrap(),
                ),
                Alg::EdDSA => RawSigner::Ed25519(Ed25519KeyPair::from_pkcs8(der).unwrap()),
                other => panic!("no raw signer for {other}"),
            },
        }
    }

    /// Signs `input`; returns the signature's length so the work cannot be optimised away.
    fn sign(&mut self, rng: &SystemRandom, input: &[u8]) -> usize {
        match self {
            RawSigner::Hmac(key) => hmac::sign(key, input).as_ref().len(),
            RawSigner::Rsa(pair, sig) => {
                pair.sign(&signature::RSA_PKCS1_SHA256, rng, input, sig)
                    .unwrap();
                sig.len()
            }
            RawSigner::Ecdsa(pair) => pair.sign(rng, input).unwrap().as_ref().len(),
            RawSigner::Ed25519(pair) => pair.sign(input).as_ref().len(),
        }
    }
}

fn mint<M: Measurement>(c: &mut Criterion<M>) {
    for alg in [Alg::HS256, Alg::ES256, Alg::ES512, Alg::EdDSA, Alg::RS256] {
        let p = project(alg);
        let minter = Minter::new(&p.config, &p.env, None).unwrap();
        let spec = spec();
        let token = minter.mint(&spec, NOW).unwrap().token;
        // The signing input (`header.claims`) of a real token: the raw signer hashes as much.
        let input = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();
        let mut raw = RawSigner::new(&p.key);
        let rng = SystemRandom::new();
        let mut group = c.benchmark_group(format!("mint/{alg}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("Minter::mint", |b| {
            b.iter(|| minter.mint(black_box(&spec), black_box(NOW)).unwrap())
        });
        group.bench_function("aws-lc-rs sign", |b| {
            b.iter(|| raw.sign(&rng, black_box(&input)))
        });
        group.finish();
    }
}

fn setup<M: Measurement>(c: &mut Criterion<M>) {
    let mut group = c.benchmark_group("Minter::new");
    for alg in [Alg::HS256, Alg::RS256] {
        let p = project(alg);
        group.bench_function(alg.to_string(), |b| {
            b.iter(|| Minter::new(black_box(&p.config), black_box(&p.env), None).unwrap())
        });
    }
    group.finish();
}

/// The CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), shown as wall time is.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = cpu_time::ThreadTime;
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        cpu_time::ThreadTime::now()
    }
    fn end(&self, start: Self::Intermediate) -> Self::Value {
        start.elapsed()
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Both are durations in nanoseconds, so criterion's own units and rates apply.
        WallTime.formatter()
    }
}

fn run<M: Measurement>(criterion: Criterion<M>) {
    // Short runs: enough for stable medians on a shared 2-core machine.
    let mut c = criterion
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args();
    mint(&mut c);
    setup(&mut c);
    c.final_summary();
}

fn main() {
    if std::env::var_os("PSKEYS_BENCH_WALL").is_some() {
        run(Criterion::default());
    } else {
        run(Criterion::default().with_measurement(ThreadCpuTime));
    }
}
