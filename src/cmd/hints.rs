//! The command line's advice for domain errors: the only place that turns a rejection's
//! data into the flags and commands that fix it.

use crate::clock::{human_duration, rfc3339};
use crate::envfile::{KID_VAR, PRIVATE_KEY_VAR};
use crate::keys::KeyError;
use crate::minter::MintError;
use crate::service::verify::{Reason, Rejection};

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// What to change so the service accepts the token.
pub fn rejection(r: &Rejection) -> String {
    match &r.reason {
        Reason::Malformed(_) | Reason::PayloadNotObject => {
            "pass the whole token (three base64url parts separated by dots)".into()
        }
        Reason::CritInvalid | Reason::CritUnknown(_) | Reason::CritMissing(_) | Reason::B64NotBool | Reason::UnencodedPayload => {
            "drop `crit` and `b64` from the token header: jose (the service's verifier) knows only `b64`, and JWTs must use an encoded payload".into()
        }
        Reason::AlgMissing | Reason::AlgNotAllowed(_) => {
            "sign with HS256/384/512, RS256/384/512, ES256/384/512 or EdDSA; `none` is never accepted".into()
        }
        Reason::UnexpectedAlg { key, key_accepts, .. } => {
            format!("{key} is {key_accepts}; sign with that algorithm, or fix the key's `alg`")
        }
        Reason::NoKey { kid: Some(kid), known, .. } => format!(
            "the token's kid is `{kid}`; the config's kids are: {}. Mint with one of them (`pskeys mint`), add the key (`pskeys init`), or restart the service if you just changed keys",
            list_or_none(known)
        ),
        Reason::NoKey { kid: None, alg, known } => format!(
            "the token has no kid, and no kid-less {alg} key is configured (kids: {}); sign with a kid (`pskeys mint` always sets one)",
            list_or_none(known)
        ),
        Reason::Signature { key } => format!(
            "the signature does not match {key}; the token was signed with another key (a different secret or key pair under the same kid). Mint a new token with `pskeys mint`, or run `pskeys doctor`"
        ),
        Reason::KeyCannotVerify { key, .. } => {
            format!("{key} cannot check this token; `pskeys doctor` shows what is wrong with the key")
        }
        Reason::MissingClaim(c) => format!("add `{c}` (`pskeys mint` always sets sub, iat and exp)"),
        Reason::NotNumber(c) => format!("`{c}` must be unix seconds (a JSON number)"),
        Reason::NotYetValid { nbf, now } => format!(
            "the token is not valid before {} ({}s from now, beyond the 60 s tolerance)",
            rfc3339(nbf.max(0.0) as u64),
            (*nbf - *now as f64) as i64
        ),
        Reason::Expired { exp, now } => format!(
            "it expired at {} ({} ago; the service allows 60 s of clock skew). Mint a fresh one: `pskeys mint --sub …`",
            rfc3339(exp.max(0.0) as u64),
            human_duration((*now as f64 - exp).max(0.0) as u64)
        ),
        Reason::AudMissing { accepted } => {
            format!("add `aud` with one of: {}", list_or_none(accepted))
        }
        Reason::AudUnexpected { key_audience: true, .. } => {
            "tokens signed with the Supabase legacy secret must have aud `authenticated`".into()
        }
        Reason::AudUnexpected { accepted, .. } if accepted.is_empty() => {
            "the config has no client_auth.audience, so every token fails: add one with `pskeys init --audience <aud>`".into()
        }
        Reason::AudUnexpected { aud, accepted, .. } => {
            let first = match aud {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).unwrap_or("<aud>").to_string(),
                _ => "<aud>".into(),
            };
            format!(
                "the token's aud is {aud}; the config accepts {}. Either mint with a configured one (`pskeys mint --aud {}`), or add the token's to the config (`pskeys init --audience {}`) and restart the service",
                accepted.join(", "),
                shell_word(&accepted[0]),
                shell_word(&first)
            )
        }
        Reason::Lifetime { secs, cap } => format!(
            "its lifetime (exp - iat) is {} ({}s); the cap is {} ({cap}s). Mint shorter tokens: `pskeys mint --expires-in 12h`",
            human_duration(secs.max(0.0) as u64),
            *secs as i64,
            human_duration(*cap)
        ),
        Reason::Parameters => {
            "make `parameters` a JSON object, e.g. {\"team\":\"a\"} (`pskeys mint --parameters`)".into()
        }
    }
}

/// What to do when `mint` cannot sign.
pub fn mint(e: &MintError) -> String {
    match e {
        MintError::Refused(r) => r
            .findings
            .first()
            .map_or_else(|| "run `pskeys doctor`".into(), |f| f.fix.clone()),
        MintError::NoSigningKey => "run `pskeys init` first, or pass --kid / --env-file".into(),
        MintError::KidNotInConfig { known, .. } => format!(
            "the config has: {}; run `pskeys init` to add the .env key, or `pskeys init --force` for a fresh pair",
            if known.is_empty() {
                "no static keys".to_string()
            } else {
                known.join(", ")
            }
        ),
        MintError::KeyUnusable { finding } => finding.fix.clone(),
        MintError::PrivateKeyElsewhere { .. } => {
            "pskeys keeps only the current signing key's private part; mint with it (drop --kid)"
                .into()
        }
        MintError::PrivateKeyMissing => format!(
            "set {PRIVATE_KEY_VAR} to the private key of {KID_VAR}'s key (in .env or the environment; `pskeys init --private-key FILE` writes it to .env)"
        ),
        MintError::KeyMismatch { kid, .. } => format!(
            "set {PRIVATE_KEY_VAR} to the private key of `{kid}` (the team's, for a shared config); only for a key of your own, `pskeys init --force` makes a fresh pair (it replaces the config's key)"
        ),
        MintError::NoAudience => {
            "add the audiences tokens carry to the config: `pskeys init --audience powersync-dev --audience powersync`"
                .into()
        }
        MintError::ReservedClaim(c) => format!(
            "use {} instead",
            match c.as_str() {
                "sub" => "--sub",
                "aud" => "--aud",
                _ => "--expires-in",
            }
        ),
        MintError::ZeroLifetime => "use --expires-in 1s or more".into(),
        MintError::TimeOutOfRange => "check the system clock".into(),
        MintError::Rejected(r) => rejection(r),
        MintError::Key(k) => key(k),
    }
}

/// What to do about a key that cannot be used.
pub fn key(e: &KeyError) -> String {
    match e {
        KeyError::RsaBits(_) => "use --bits 2048 (default), 3072 or 4096".into(),
        KeyError::Crypto(_) => "please report this as a pskeys bug".into(),
        KeyError::NotPem(_) | KeyError::BadPrivateKey { .. } => format!(
            "{PRIVATE_KEY_VAR} (from .env or the environment) must be a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`; one line with `\\n` escapes, real line breaks, quoted or not, or its base64) or a private JWK; convert `BEGIN EC PRIVATE KEY` or `BEGIN RSA PRIVATE KEY` with `openssl pkcs8 -topk8 -nocrypt -in key.pem`"
        ),
        _ => "run `pskeys init --force` to generate a new key".into(),
    }
}

/// `text` as one shell word: as is when it is plain, else single-quoted (a hint's command
/// must paste as written).
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    match plain {
        true => text.to_string(),
        false => format!("'{}'", text.replace('\'', "'\\''")),
    }
}

#[cfg(test)]
mod shell_word_tests {
    #[test]
    fn hints_quote_what_a_shell_would_split() {
        assert_eq!(super::shell_word("powersync-dev"), "powersync-dev");
        assert_eq!(super::shell_word("https://api.x.com"), "https://api.x.com");
        assert_eq!(super::shell_word("my app"), "'my app'");
        assert_eq!(super::shell_word("it's"), "'it'\\''s'");
        assert_eq!(super::shell_word(""), "''");
    }
}
