//! `init`'s flags checked into a request, before any file is read.

use crate::cli::{Files, InitArgs};
use crate::error::{Error, Result};
use crate::keys::{Alg, Kty, RSA_BITS};

/// What to do with the signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Add a key when there is none; otherwise check the one there.
    Ensure,
    /// Add a new key next to the current one and sign with it.
    Rotate,
    /// Replace the current key.
    Force,
    /// No development key (`--no-dev-key`).
    NoKey,
}

/// `init`'s flags, checked.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub alg: Alg,
    /// `--alg` as given (a set-up key of another algorithm is then a conflict).
    pub requested_alg: Option<Alg>,
    pub bits: u32,
    pub kid: Option<String>,
    pub files: Files,
    pub audiences: Vec<String>,
    pub mode: Mode,
    pub inline: bool,
    pub dry_run: bool,
    pub json: bool,
    pub supabase: bool,
    pub supabase_secret_env: Option<String>,
    pub firebase: Option<String>,
    pub jwks_uris: Vec<String>,
    /// `--serve`: the port of `pskeys serve`, and where the service runs.
    pub serve: Option<(u16, Option<crate::cli::ServiceIn>)>,
    pub public_in_env: bool,
    /// `--private-key`: where the team's private key comes from.
    pub private_key: Option<std::path::PathBuf>,
}

impl Request {
    /// Checks the flags; no I/O.
    pub fn from_args(args: InitArgs) -> Result<Request> {
        let InitArgs {
            alg,
            bits,
            kid,
            files,
            audiences,
            rotate,
            force,
            inline,
            dry_run,
            json,
            supabase,
            supabase_jwt_secret_env,
            firebase,
            jwks_uris,
            no_dev_key,
            serve,
            service_in,
            public_in_env,
            private_key,
        } = args;
        let mode = match (no_dev_key, rotate, force) {
            (true, _, _) => Mode::NoKey,
            (_, true, _) => Mode::Rotate,
            (_, _, true) => Mode::Force,
            _ => Mode::Ensure,
        };
        let req = Request {
            // Keys with public members in .env, and keys `serve` publishes, are asymmetric:
            // ES256 unless --alg says.
            alg: alg.unwrap_or(if public_in_env || serve.is_some() {
                Alg::ES256
            } else {
                Alg::HS256
            }),
            requested_alg: alg,
            bits: bits.unwrap_or(2048),
            kid,
            files,
            audiences,
            mode,
            inline,
            dry_run,
            json,
            supabase: supabase || supabase_jwt_secret_env.is_some(),
            supabase_secret_env: supabase_jwt_secret_env,
            firebase,
            jwks_uris,
            serve: serve.map(|port| (port, service_in)),
            public_in_env,
            private_key,
        };
        req.check_no_dev_key(rotate || force || alg.is_some() || bits.is_some())?;
        req.check_providers()?;
        req.check_key_flags(bits)?;
        Ok(req)
    }

    fn any_provider(&self) -> bool {
        self.supabase || self.firebase.is_some() || !self.jwks_uris.is_empty()
    }

    fn check_no_dev_key(&self, key_flags: bool) -> Result<()> {
        if self.mode != Mode::NoKey {
            return Ok(());
        }
        if !self.any_provider() {
            return Err(Error::usage(
                "--no-dev-key leaves nothing to set up",
                "add --supabase, --firebase PROJECT_ID or --jwks-uri URL, or drop --no-dev-key"
                    .to_string(),
            ));
        }
        if key_flags || self.kid.is_some() || self.inline {
            return Err(Error::usage(
                "--no-dev-key does not go with key flags (--alg, --kid, --bits, --rotate, --force, --inline)",
                None,
            ));
        }
        Ok(())
    }

    fn check_providers(&self) -> Result<()> {
        // A secret pasted where its variable's name belongs is never echoed.
        if let Some(var) = &self.supabase_secret_env
            && !(var.len() <= 64
                && var.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(Error::usage(
                "--supabase-jwt-secret-env takes the name of the variable that holds the secret, and this is not a variable name (not shown: it may be the secret itself)",
                "export SUPABASE_JWT_SECRET='…' and pass --supabase-jwt-secret-env SUPABASE_JWT_SECRET".to_string(),
            ));
        }
        for uri in &self.jwks_uris {
            crate::cmd::check_url(
                "--jwks-uri",
                uri,
                "--jwks-uri https://YOUR_DOMAIN/.well-known/jwks.json",
            )?;
        }
        for aud in &self.audiences {
            crate::cmd::check_text("--audience", aud)?;
        }
        if let Some(p) = &self.firebase {
            crate::cmd::check_text("--firebase", p)?;
        }
        if let Some(p) = &self.firebase
            && (p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(Error::usage(
                format!("--firebase `{p}` is not a Firebase project id"),
                "use the project id from the Firebase console (lowercase letters, digits and -)"
                    .to_string(),
            ));
        }
        if self.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(Error::usage("--audience cannot be empty", None));
        }
        Ok(())
    }

    fn check_key_flags(&self, bits: Option<u32>) -> Result<()> {
        let alg = self.alg;
        if let Some(b) = bits {
            if alg.kty() != Kty::Rsa {
                return Err(Error::usage(
                    format!("--bits applies to RSA keys, not {alg}"),
                    "drop --bits, or use --alg RS256".to_string(),
                ));
            }
            if !RSA_BITS.contains(&b) {
                let why = if b < 2048 {
                    "the service's jose refuses RSA keys under 2048 bits"
                } else {
                    "pskeys generates 2048, 3072 or 4096"
                };
                return Err(Error::usage(
                    format!("--bits {b} is not supported: {why}"),
                    "use --bits 2048 (default), 3072 or 4096".to_string(),
                ));
            }
        }
        if self.public_in_env && (alg.is_hmac() || self.inline) {
            return Err(Error::usage(
                "--public-in-env applies to asymmetric keys (RS*, ES*, EdDSA)",
                "HMAC keys already keep their secret in .env (`k: !env PS_CLIENT_AUTH_KEY`); drop --public-in-env, or pass --alg ES256".to_string(),
            ));
        }
        if self.inline && !alg.is_hmac() {
            return Err(Error::usage(
                "--inline applies to HMAC keys only",
                "asymmetric keys put only their public part in the config; drop --inline"
                    .to_string(),
            ));
        }
        if let Some(k) = &self.kid
            && (k.trim().is_empty()
                || k.chars().any(|c| c.is_control() || c.is_whitespace())
                || k.contains("${"))
        {
            return Err(Error::usage(
                format!("--kid \"{}\" is not a usable key id", k.escape_debug()),
                "use letters, digits, `-` and `_`".to_string(),
            ));
        }
        Ok(())
    }
}
