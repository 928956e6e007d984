//! Signing keys: the algorithms pskeys supports, key generation (aws-lc-rs), the public
//! JWK the service verifies with, RFC 7638 thumbprints and default key ids, and the
//! PKCS#8 PEM form a private key takes in `.env`.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};

use crate::error::{Error, Result};

/// A JWS algorithm pskeys can generate keys for and sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// HMAC with SHA-256 (the PowerSync docs' dev-token default).
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

/// The key families of RFC 7518, which decide what a kid-less or alg-less key accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kty {
    /// Symmetric (HMAC).
    Oct,
    /// RSA.
    Rsa,
    /// Elliptic curve (ECDSA).
    Ec,
    /// Octet key pair (EdDSA).
    Okp,
}

impl Kty {
    /// The JWK `kty` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kty::Oct => "oct",
            Kty::Rsa => "RSA",
            Kty::Ec => "EC",
            Kty::Okp => "OKP",
        }
    }

    /// Parses a JWK `kty` value (exact, as jose does).
    pub fn parse(s: &str) -> Option<Kty> {
        match s {
            "oct" => Some(Kty::Oct),
            "RSA" => Some(Kty::Rsa),
            "EC" => Some(Kty::Ec),
            "OKP" => Some(Kty::Okp),
            _ => None,
        }
    }
}

impl Alg {
    /// Every algorithm, in the order the README lists them.
    pub const ALL: [Alg; 9] = [
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::ES256,
        Alg::ES384,
        Alg::EdDSA,
    ];

    /// The JWS name, e.g. `RS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The key family.
    pub fn kty(self) -> Kty {
        match self {
            Alg::HS256 | Alg::HS384 | Alg::HS512 => Kty::Oct,
            Alg::RS256 | Alg::RS384 | Alg::RS512 => Kty::Rsa,
            Alg::ES256 | Alg::ES384 => Kty::Ec,
            Alg::EdDSA => Kty::Okp,
        }
    }

    /// True for the HMAC algorithms, whose one key both signs and verifies.
    pub fn is_hmac(self) -> bool {
        self.kty() == Kty::Oct
    }

    /// The HMAC secret length pskeys generates and expects at least: the hash size.
    pub fn hmac_len(self) -> usize {
        match self {
            Alg::HS384 => 48,
            Alg::HS512 => 64,
            _ => 32,
        }
    }

    /// The curve name for EC and OKP keys.
    pub fn curve(self) -> Option<&'static str> {
        match self {
            Alg::ES256 => Some("P-256"),
            Alg::ES384 => Some("P-384"),
            Alg::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }

    /// The matching jsonwebtoken algorithm.
    pub fn jwt(self) -> Algorithm {
        match self {
            Alg::HS256 => Algorithm::HS256,
            Alg::HS384 => Algorithm::HS384,
            Alg::HS512 => Algorithm::HS512,
            Alg::RS256 => Algorithm::RS256,
            Alg::RS384 => Algorithm::RS384,
            Alg::RS512 => Algorithm::RS512,
            Alg::ES256 => Algorithm::ES256,
            Alg::ES384 => Algorithm::ES384,
            Alg::EdDSA => Algorithm::EdDSA,
        }
    }

    fn ecdsa(self) -> Option<&'static signature::EcdsaSigningAlgorithm> {
        match self {
            Alg::ES256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            Alg::ES384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            _ => None,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Alg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Alg::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown algorithm `{s}`; expected one of {}",
                    Alg::ALL.map(Alg::as_str).join(", ")
                )
            })
    }
}

/// RSA modulus sizes pskeys generates.
pub const RSA_BITS: [u32; 3] = [2048, 3072, 4096];

/// A private signing key: an HMAC secret or a PKCS#8 private key.
#[derive(Clone, PartialEq, Eq)]
pub enum PrivateKey {
    /// The shared secret of an HS* key (raw bytes).
    Hmac {
        /// The algorithm.
        alg: Alg,
        /// The secret bytes.
        secret: Vec<u8>,
    },
    /// An asymmetric private key, PKCS#8 v1 DER.
    Pkcs8 {
        /// The algorithm.
        alg: Alg,
        /// The DER bytes.
        der: Vec<u8>,
    },
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material, even in debug output.
        f.debug_struct("PrivateKey")
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

fn crypto_err(what: &str) -> Error {
    Error::Key {
        message: format!("could not {what}: the crypto library refused"),
        hint: None,
    }
}

/// Generates a new key for `alg`; `bits` applies to RSA only.
pub fn generate(alg: Alg, bits: u32) -> Result<PrivateKey> {
    match alg.kty() {
        Kty::Oct => {
            let mut secret = vec![0u8; alg.hmac_len()];
            aws_lc_rs::rand::fill(&mut secret)
                .map_err(|_| crypto_err("read the OS random generator"))?;
            Ok(PrivateKey::Hmac { alg, secret })
        }
        Kty::Rsa => {
            let size = match bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                other => {
                    return Err(Error::usage(
                        format!("--bits {other} is not supported"),
                        "use 2048 (default), 3072 or 4096; the service's jose refuses RSA keys under 2048 bits"
                            .to_string(),
                    ));
                }
            };
            let pair = RsaKeyPair::generate(size).map_err(|_| crypto_err("generate an RSA key"))?;
            let der: Pkcs8V1Der<'_> = pair
                .as_der()
                .map_err(|_| crypto_err("encode the RSA key"))?;
            Ok(PrivateKey::Pkcs8 {
                alg,
                der: der.as_ref().to_vec(),
            })
        }
        Kty::Ec => {
            let signing = alg.ecdsa().ok_or_else(|| crypto_err("pick the EC curve"))?;
            let pair =
                EcdsaKeyPair::generate(signing).map_err(|_| crypto_err("generate an EC key"))?;
            let doc = pair
                .to_pkcs8v1()
                .map_err(|_| crypto_err("encode the EC key"))?;
            Ok(PrivateKey::Pkcs8 {
                alg,
                der: doc.as_ref().to_vec(),
            })
        }
        Kty::Okp => {
            let pair =
                Ed25519KeyPair::generate().map_err(|_| crypto_err("generate an Ed25519 key"))?;
            let doc = pair
                .to_pkcs8v1()
                .map_err(|_| crypto_err("encode the Ed25519 key"))?;
            Ok(PrivateKey::Pkcs8 {
                alg,
                der: doc.as_ref().to_vec(),
            })
        }
    }
}

/// The public half of an asymmetric key, as the service's `jwks.keys` entry wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    /// The algorithm.
    pub alg: Alg,
    /// `n`/`e` (RSA) or `crv`/`x`/`y` (EC) or `crv`/`x` (OKP), in JWK field order.
    pub params: Vec<(&'static str, String)>,
}

impl PublicJwk {
    /// The value of one parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The RFC 7638 thumbprint (SHA-256 over the required members in lexicographic order).
    pub fn thumbprint(&self) -> [u8; 32] {
        let kty = self.alg.kty().as_str();
        let mut members: Vec<(&str, &str)> = vec![("kty", kty)];
        members.extend(self.params.iter().map(|(k, v)| (*k, v.as_str())));
        members.sort_by(|a, b| a.0.cmp(b.0));
        let body: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        let canonical = format!("{{{}}}", body.join(","));
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    /// The public JWK as a JSON object with `kty`, `kid`, `alg`, the key parameters and `use`.
    pub fn to_json(&self, kid: &str) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("kty".into(), self.alg.kty().as_str().into());
        map.insert("kid".into(), kid.into());
        map.insert("alg".into(), self.alg.as_str().into());
        for (k, v) in &self.params {
            map.insert((*k).into(), v.clone().into());
        }
        map.insert("use".into(), "sig".into());
        serde_json::Value::Object(map)
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random hex of `n` bytes from the OS CSPRNG.
pub fn random_hex(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| crypto_err("read the OS random generator"))?;
    Ok(hex(&buf))
}

impl PrivateKey {
    /// The algorithm this key signs with.
    pub fn alg(&self) -> Alg {
        match self {
            PrivateKey::Hmac { alg, .. } | PrivateKey::Pkcs8 { alg, .. } => *alg,
        }
    }

    /// The public JWK parameters, or `None` for an HMAC secret.
    pub fn public_jwk(&self) -> Result<Option<PublicJwk>> {
        let (alg, der) = match self {
            PrivateKey::Hmac { .. } => return Ok(None),
            PrivateKey::Pkcs8 { alg, der } => (*alg, der.as_slice()),
        };
        let bad = || Error::Key {
            message: format!(
                "the stored {alg} private key is not a valid PKCS#8 {} key",
                alg.kty().as_str()
            ),
            hint: Some("run `pskeys init --force` to generate a new key".into()),
        };
        let params = match alg.kty() {
            Kty::Rsa => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(|_| bad())?;
                let parts = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                vec![("n", b64url(&parts.n)), ("e", b64url(&parts.e))]
            }
            Kty::Ec => {
                let signing = alg.ecdsa().ok_or_else(bad)?;
                let pair = EcdsaKeyPair::from_pkcs8(signing, der).map_err(|_| bad())?;
                let point = pair.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || x || y.
                if point.first() != Some(&4) || point.len() % 2 != 1 {
                    return Err(bad());
                }
                let half = (point.len() - 1) / 2;
                let crv = alg.curve().ok_or_else(bad)?;
                vec![
                    ("crv", crv.to_string()),
                    ("x", b64url(&point[1..=half])),
                    ("y", b64url(&point[1 + half..])),
                ]
            }
            Kty::Okp => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|_| bad())?;
                vec![
                    ("crv", "Ed25519".to_string()),
                    ("x", b64url(pair.public_key().as_ref())),
                ]
            }
            Kty::Oct => return Ok(None),
        };
        Ok(Some(PublicJwk { alg, params }))
    }

    /// The RSA modulus size in bits (None for other keys).
    pub fn rsa_bits(&self) -> Option<usize> {
        match self {
            PrivateKey::Pkcs8 { alg, der } if alg.kty() == Kty::Rsa => RsaKeyPair::from_pkcs8(der)
                .ok()
                .map(|p| p.public_modulus_len() * 8),
            _ => None,
        }
    }

    /// A default key id: `powersync-` plus 10 hex digits, from the RFC 7638 thumbprint for
    /// asymmetric keys (stable for the key) and random for HMAC (never derived from the secret).
    pub fn default_kid(&self) -> Result<String> {
        match self.public_jwk()? {
            Some(jwk) => Ok(format!("powersync-{}", hex(&jwk.thumbprint()[..5]))),
            None => Ok(format!("powersync-{}", random_hex(5)?)),
        }
    }

    /// The HMAC secret as base64url (the JWK `k`), or None.
    pub fn hmac_k(&self) -> Option<String> {
        match self {
            PrivateKey::Hmac { secret, .. } => Some(b64url(secret)),
            PrivateKey::Pkcs8 { .. } => None,
        }
    }

    /// The private key as a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), or None for HMAC.
    pub fn to_pem(&self) -> Option<String> {
        let PrivateKey::Pkcs8 { der, .. } = self else {
            return None;
        };
        let body = STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Some(pem)
    }

    /// Reads a PKCS#8 PEM private key for an asymmetric `alg`, checking that it parses.
    pub fn from_pem(alg: Alg, pem: &str) -> Result<PrivateKey> {
        let key = PrivateKey::from_pem_unchecked(alg, pem)?;
        // Parse once now so a broken key fails here, not at signing time.
        key.public_jwk()?;
        Ok(key)
    }

    /// Like [`PrivateKey::from_pem`] without the up-front parse: RSA key validation costs
    /// tens of milliseconds, and `mint` proves the key by verifying its own signature.
    pub fn from_pem_unchecked(alg: Alg, pem: &str) -> Result<PrivateKey> {
        let bad = |why: &str| Error::Key {
            message: format!("the stored private key is not a PKCS#8 PEM {alg} key: {why}"),
            hint: Some("run `pskeys init --force` to generate a new key".into()),
        };
        if alg.is_hmac() {
            return Err(bad("HMAC keys have no PEM form"));
        }
        let inner = pem
            .trim()
            .strip_prefix("-----BEGIN PRIVATE KEY-----")
            .and_then(|s| s.strip_suffix("-----END PRIVATE KEY-----"))
            .ok_or_else(|| {
                bad("expected -----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----")
            })?;
        let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|_| bad("the base64 body does not decode"))?;
        Ok(PrivateKey::Pkcs8 { alg, der })
    }

    /// Builds an HMAC key from the JWK `k` (base64url).
    pub fn from_hmac_k(alg: Alg, k: &str) -> Option<PrivateKey> {
        decode_b64url(k).map(|secret| PrivateKey::Hmac { alg, secret })
    }

    /// The jsonwebtoken signing key.
    pub fn encoding_key(&self) -> Result<EncodingKey> {
        match self {
            PrivateKey::Hmac { secret, .. } => Ok(EncodingKey::from_secret(secret)),
            PrivateKey::Pkcs8 { alg, der } => match alg.kty() {
                Kty::Rsa => {
                    // jsonwebtoken's RSA signer wants the inner PKCS#1 RSAPrivateKey.
                    let pem = self.to_pem().unwrap_or_default();
                    EncodingKey::from_rsa_pem(pem.as_bytes())
                        .map_err(|_| crypto_err("load the RSA key"))
                }
                Kty::Ec => Ok(EncodingKey::from_ec_der(der)),
                Kty::Okp => Ok(EncodingKey::from_ed_der(der)),
                Kty::Oct => Err(crypto_err("load the key")),
            },
        }
    }
}

/// Decodes base64url (with or without padding), as jose's JWK import does.
pub fn decode_b64url(s: &str) -> Option<Vec<u8>> {
    let trimmed = s.trim_end_matches('=');
    if trimmed
        .bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        return None;
    }
    URL_SAFE_NO_PAD.decode(trimmed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_generates_and_round_trips_through_pem() {
        for alg in Alg::ALL {
            let key = generate(alg, 2048).unwrap();
            assert_eq!(key.alg(), alg);
            key.encoding_key().unwrap();
            if alg.is_hmac() {
                assert_eq!(
                    decode_b64url(&key.hmac_k().unwrap()).unwrap().len(),
                    alg.hmac_len()
                );
                assert!(key.public_jwk().unwrap().is_none());
            } else {
                let pem = key.to_pem().unwrap();
                let back = PrivateKey::from_pem(alg, &pem).unwrap();
                assert_eq!(back, key);
                let jwk = key.public_jwk().unwrap().unwrap();
                assert!(jwk.param("d").is_none());
            }
        }
    }

    #[test]
    fn default_kid_is_stable_for_asymmetric_keys() {
        let key = generate(Alg::ES256, 0).unwrap();
        let kid = key.default_kid().unwrap();
        assert!(kid.starts_with("powersync-") && kid.len() == 20, "{kid}");
        assert_eq!(kid, key.default_kid().unwrap());
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 section 3.1.
        let jwk = PublicJwk {
            alg: Alg::RS256,
            params: vec![
                ("n", "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into()),
                ("e", "AQAB".into()),
            ],
        };
        assert_eq!(
            URL_SAFE_NO_PAD.encode(jwk.thumbprint()),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rsa_bits_are_checked() {
        assert!(generate(Alg::RS256, 1024).is_err());
        assert_eq!(generate(Alg::RS256, 2048).unwrap().rsa_bits(), Some(2048));
    }

    #[test]
    fn alg_parses_case_insensitively() {
        assert_eq!("eddsa".parse::<Alg>().unwrap(), Alg::EdDSA);
        assert!("none".parse::<Alg>().is_err());
    }
}
