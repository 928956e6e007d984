//! Signing keys: the algorithms pskeys supports, key generation (aws-lc-rs), the public
//! JWK the service verifies with, RFC 7638 thumbprints and default key ids, and the
//! PKCS#8 PEM form a private key takes in `.env`.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub use crate::jws::KeyError;
pub use crate::jws::{Alg, Curve, Kty};
use crate::jws::{SigningKey, b64url, decode_lenient, is_base64_text};

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

/// Generates a new key for `alg`; `bits` applies to RSA only (2048, 3072 or 4096).
pub fn generate(alg: Alg, bits: u32) -> Result<PrivateKey, KeyError> {
    let der = match alg.kty() {
        Kty::Oct => {
            let mut secret = vec![0u8; alg.hmac_len()];
            aws_lc_rs::rand::fill(&mut secret)
                .map_err(|_| KeyError::Crypto("read the OS random generator"))?;
            return Ok(PrivateKey::Hmac { alg, secret });
        }
        Kty::Rsa => {
            let size = match bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                other => return Err(KeyError::RsaBits(other)),
            };
            let pair =
                RsaKeyPair::generate(size).map_err(|_| KeyError::Crypto("generate an RSA key"))?;
            let der: Pkcs8V1Der<'_> = pair
                .as_der()
                .map_err(|_| KeyError::Crypto("encode the RSA key"))?;
            der.as_ref().to_vec()
        }
        Kty::Ec => {
            let signing = alg
                .ecdsa_signing()
                .ok_or(KeyError::Crypto("pick the EC curve"))?;
            let pair = EcdsaKeyPair::generate(signing)
                .map_err(|_| KeyError::Crypto("generate an EC key"))?;
            let doc = pair
                .to_pkcs8v1()
                .map_err(|_| KeyError::Crypto("encode the EC key"))?;
            doc.as_ref().to_vec()
        }
        Kty::Okp => {
            let pair = Ed25519KeyPair::generate()
                .map_err(|_| KeyError::Crypto("generate an Ed25519 key"))?;
            let doc = pair
                .to_pkcs8v1()
                .map_err(|_| KeyError::Crypto("encode the Ed25519 key"))?;
            doc.as_ref().to_vec()
        }
    };
    Ok(PrivateKey::Pkcs8 { alg, der })
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
        crate::jws::sha256(canonical.as_bytes())
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Random hex of `n` bytes from the OS CSPRNG.
pub fn random_hex(n: usize) -> Result<String, KeyError> {
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut buf)
        .map_err(|_| KeyError::Crypto("read the OS random generator"))?;
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
    pub fn public_jwk(&self) -> Result<Option<PublicJwk>, KeyError> {
        let params = self.signing_key()?.public_params()?;
        Ok((!params.is_empty()).then_some(PublicJwk {
            alg: self.alg(),
            params,
        }))
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
    pub fn default_kid(&self) -> Result<String, KeyError> {
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
    pub fn from_pem(alg: Alg, pem: &str) -> Result<PrivateKey, KeyError> {
        let key = PrivateKey::from_pem_unchecked(alg, pem)?;
        // Parse once now so a broken key fails here, not at signing time.
        key.public_jwk()?;
        Ok(key)
    }

    /// Like [`PrivateKey::from_pem`] without the up-front parse: RSA key validation costs
    /// milliseconds, and preparing the key to sign parses it anyway.
    pub fn from_pem_unchecked(alg: Alg, pem: &str) -> Result<PrivateKey, KeyError> {
        if alg.is_hmac() {
            return Err(KeyError::NotPem("HMAC keys have no PEM form"));
        }
        // The forms a PEM takes after a trip through a CI secret or `. .env`: surrounding
        // quotes kept, line breaks as literal `\n`.
        let unquoted = pem.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| unquoted.strip_prefix(*q)?.strip_suffix(*q))
            .unwrap_or(unquoted);
        let mut normalized = unquoted.replace("\\n", "\n").replace("\\r", "");
        // The whole PEM in base64 (a common way to keep it on one line in a secret store).
        if !normalized.trim_start().starts_with("-----") {
            let compact: String = normalized.chars().filter(|c| !c.is_whitespace()).collect();
            if let Some(pem) = STANDARD
                .decode(compact)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|t| t.trim_start().starts_with("-----BEGIN PRIVATE KEY-----"))
            {
                normalized = pem;
            }
        }
        if let Some(jwk) = private_jwk(&normalized) {
            return from_private_jwk(alg, &jwk);
        }
        let inner = normalized
            .trim()
            .strip_prefix("-----BEGIN PRIVATE KEY-----")
            .and_then(|s| s.strip_suffix("-----END PRIVATE KEY-----"))
            .ok_or(KeyError::NotPem(
                "expected -----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----",
            ))?;
        let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|_| KeyError::NotPem("the base64 body does not decode"))?;
        Ok(PrivateKey::Pkcs8 { alg, der })
    }

    /// Builds an HMAC key from a JWK `k` as the service decodes it (base64 or base64url,
    /// padded or not); `None` for text that is not base64 at all.
    pub fn from_hmac_k(alg: Alg, k: &str) -> Option<PrivateKey> {
        is_base64_text(k).then(|| PrivateKey::Hmac {
            alg,
            secret: decode_lenient(k),
        })
    }

    /// The key parsed once for signing.
    pub fn signing_key(&self) -> Result<SigningKey, KeyError> {
        match self {
            PrivateKey::Hmac { alg, secret } => SigningKey::hmac(*alg, secret),
            PrivateKey::Pkcs8 { alg, der } => SigningKey::pkcs8(*alg, der),
        }
    }
}

/// A private JWK given as JSON or as base64 of the JSON (how the self-host demo's backend
/// keeps `POWERSYNC_PRIVATE_KEY`).
fn private_jwk(text: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let text = text.trim();
    let json = if text.starts_with('{') {
        text.to_string()
    } else {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8(decode_lenient(&compact)).ok()?
    };
    match serde_json::from_str(json.trim()) {
        Ok(serde_json::Value::Object(m)) if m.contains_key("d") => Some(m),
        _ => None,
    }
}

/// The PKCS#8 form of a private JWK of `alg`'s type.
fn from_private_jwk(
    alg: Alg,
    jwk: &serde_json::Map<String, serde_json::Value>,
) -> Result<PrivateKey, KeyError> {
    let bad = KeyError::NotPem("the private JWK is not a key of this algorithm");
    let member = |name: &str| {
        jwk.get(name)
            .and_then(serde_json::Value::as_str)
            .map(decode_lenient)
            .ok_or(KeyError::NotPem(
                "the private JWK lacks a member its key type needs",
            ))
    };
    if jwk.get("kty").and_then(serde_json::Value::as_str) != Some(alg.kty().as_str()) {
        return Err(bad);
    }
    let der = match alg.kty() {
        Kty::Ec => {
            let mut point = vec![4u8];
            point.extend(member("x")?);
            point.extend(member("y")?);
            let signing = alg.ecdsa_signing().ok_or(bad.clone())?;
            let pair =
                EcdsaKeyPair::from_private_key_and_public_key(signing, &member("d")?, &point)
                    .map_err(|_| bad.clone())?;
            pair.to_pkcs8v1()
                .map_err(|_| bad.clone())?
                .as_ref()
                .to_vec()
        }
        Kty::Okp => {
            let pair = Ed25519KeyPair::from_seed_and_public_key(&member("d")?, &member("x")?)
                .map_err(|_| bad.clone())?;
            pair.to_pkcs8v1()
                .map_err(|_| bad.clone())?
                .as_ref()
                .to_vec()
        }
        Kty::Rsa => {
            let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
            let mut body = der_integer(&[0]);
            for name in names {
                body.extend(der_integer(&member(name)?));
            }
            let pkcs1 = der_tlv(0x30, &body);
            let pair = RsaKeyPair::from_der(&pkcs1).map_err(|_| bad.clone())?;
            let der: Pkcs8V1Der<'_> = pair.as_der().map_err(|_| bad.clone())?;
            der.as_ref().to_vec()
        }
        Kty::Oct => return Err(bad),
    };
    Ok(PrivateKey::Pkcs8 { alg, der })
}

/// DER: a tag, its length, its content.
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend(content);
    out
}

/// DER INTEGER of an unsigned big-endian number.
fn der_integer(n: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = if trimmed.first().is_some_and(|b| b & 0x80 != 0) || trimmed.is_empty() {
        vec![0u8]
    } else {
        Vec::new()
    };
    content.extend(trimmed);
    der_tlv(0x02, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_generates_and_round_trips_through_pem() {
        for alg in Alg::ALL {
            let key = generate(alg, 2048).unwrap();
            assert_eq!(key.alg(), alg);
            key.signing_key().unwrap();
            if alg.is_hmac() {
                assert_eq!(decode_lenient(&key.hmac_k().unwrap()).len(), alg.hmac_len());
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
            b64url(&jwk.thumbprint()),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn pem_survives_quotes_and_escaped_newlines() {
        let key = generate(Alg::ES256, 0).unwrap();
        let pem = key.to_pem().unwrap();
        let escaped = pem.replace('\n', "\\n");
        let spaced = pem.trim_end().replace('\n', " ");
        let base64_pem = STANDARD.encode(&pem);
        for form in [
            pem.clone(),
            escaped.clone(),
            format!("\"{escaped}\""),
            format!("'{pem}'"),
            spaced,
            base64_pem,
        ] {
            assert_eq!(
                PrivateKey::from_pem(Alg::ES256, &form).unwrap(),
                key,
                "{form}"
            );
        }
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
