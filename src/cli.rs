//! The command line: clap derive types, one Args struct per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::keys::Alg;

/// Bootstrap PowerSync client auth: generate a signing key, patch it losslessly into the
/// service config, and mint development tokens the service accepts.
#[derive(Debug, Parser)]
#[command(name = "pskeys", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a signing key: private part to .env, public JWK into the service config.
    Init(InitArgs),
    /// Sign a token the PowerSync Service accepts (printed alone on stdout).
    Mint(MintArgs),
    /// Check a token exactly as the PowerSync Service would, and explain a rejection.
    Verify(VerifyArgs),
    /// Print a token's header and claims without verifying anything.
    Decode(DecodeArgs),
    /// Check the config and .env together for the traps that make the service fail.
    Doctor(DoctorArgs),
    /// List or retire the keys the config knows.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the public JWKS of the keys whose private part is in .env (for a `jwks_uri`).
    Jwks(JwksArgs),
}

/// `pskeys keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every key: kid, algorithm, where it lives, whether .env can sign with it.
    List(KeysListArgs),
    /// Remove a key from the config and .env.
    Retire(KeysRetireArgs),
}

/// The config and .env a key command works on.
#[derive(Debug, Args)]
pub struct Files {
    /// Service config [default: discovered as for `init`].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The .env file with the private parts.
    #[arg(long, value_name = "PATH", default_value = ".env")]
    pub env_file: PathBuf,
}

/// `pskeys keys list`.
#[derive(Debug, Args)]
pub struct KeysListArgs {
    /// Which files.
    #[command(flatten)]
    pub files: Files,
    /// Print the list as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `pskeys keys retire`.
#[derive(Debug, Args)]
pub struct KeysRetireArgs {
    /// The kid of the key to remove.
    #[arg(value_name = "KID")]
    pub kid: String,
    /// Which files.
    #[command(flatten)]
    pub files: Files,
    /// Remove the signing key even when no other key could take over (mint stops working
    /// until the next `pskeys init`).
    #[arg(long)]
    pub force: bool,
    /// Show the changes as unified diffs (secrets masked) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `pskeys jwks`.
#[derive(Debug, Args)]
pub struct JwksArgs {
    /// Which files.
    #[command(flatten)]
    pub files: Files,
}

/// `pskeys init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Algorithm: HS256 (default), HS384, HS512, RS256, RS384, RS512, ES256, ES384, EdDSA.
    #[arg(long, value_name = "ALG")]
    pub alg: Option<Alg>,
    /// RSA modulus size: 2048 (default), 3072 or 4096.
    #[arg(long, value_name = "BITS")]
    pub bits: Option<u32>,
    /// Key id to use instead of the default `powersync-<10 hex>`.
    #[arg(long, value_name = "KID")]
    pub kid: Option<String>,
    /// Service config to patch [default: $POWERSYNC_CONFIG_PATH, then powersync.yaml,
    /// config.yaml, config.json, config/powersync.yaml, powersync/service.yaml; created from
    /// the built-in template when none exists].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The .env file holding the private key.
    #[arg(long, value_name = "PATH", default_value = ".env")]
    pub env_file: PathBuf,
    /// Audience the service accepts (repeatable) [default when the config has none:
    /// powersync-dev and powersync].
    #[arg(long = "audience", value_name = "AUD")]
    pub audiences: Vec<String>,
    /// Add a new key (new kid) and sign with it from now on; older public keys stay.
    #[arg(long, conflicts_with = "force")]
    pub rotate: bool,
    /// Replace the key .env names (and its entry in the config) with a new one.
    #[arg(long)]
    pub force: bool,
    /// HMAC only: write the secret into the config itself instead of `k: !env PS_…`.
    #[arg(long)]
    pub inline: bool,
    /// Show the changes as unified diffs (secrets masked) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a machine-readable summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// Supabase Auth: `supabase: true` and the audience `authenticated`.
    #[arg(long)]
    pub supabase: bool,
    /// Supabase's legacy JWT secret, read from this environment variable (or .env), goes
    /// to .env as PS_SUPABASE_JWT_SECRET and the config gets
    /// `supabase_jwt_secret: !env PS_SUPABASE_JWT_SECRET` (implies --supabase).
    #[arg(long, value_name = "VAR")]
    pub supabase_jwt_secret_env: Option<String>,
    /// Firebase Auth: Google's securetoken JWKS URI and the project id as audience.
    #[arg(long, value_name = "PROJECT_ID")]
    pub firebase: Option<String>,
    /// A custom JWKS endpoint (Auth0, your backend; repeatable); give its audience with
    /// --audience. URIs already configured are kept.
    #[arg(long = "jwks-uri", value_name = "URL")]
    pub jwks_uris: Vec<String>,
    /// Set up only the auth provider flags, without a development signing key.
    #[arg(long)]
    pub no_dev_key: bool,
}

/// `pskeys mint`.
#[derive(Debug, Args)]
pub struct MintArgs {
    /// The user id (`sub`) that sync rules see as `request.user_id()`.
    #[arg(long, value_name = "ID")]
    pub sub: String,
    /// Service config [default: discovered as for `init`].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The .env file with the signing key (the process environment overrides it).
    #[arg(long, value_name = "PATH", default_value = ".env")]
    pub env_file: PathBuf,
    /// Sign with this key instead of $PSKEYS_KID.
    #[arg(long, value_name = "KID")]
    pub kid: Option<String>,
    /// Lifetime: 90s, 15m, 12h, 1d (at most 24h: the service's limit).
    #[arg(long, value_name = "DURATION", default_value = "12h")]
    pub expires_in: String,
    /// Audience to put in `aud` (repeatable) [default: the config's audience list].
    #[arg(long = "aud", value_name = "AUD")]
    pub aud: Vec<String>,
    /// Service URL to add to `aud`, where the Diagnostics app finds it
    /// (e.g. http://localhost:8080).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Extra claim KEY=VALUE (repeatable); VALUE is parsed as JSON when it parses, else a string.
    #[arg(long = "claim", value_name = "KEY=VALUE")]
    pub claims: Vec<String>,
    /// The `parameters` claim, a JSON object (token_parameters in sync rules).
    #[arg(long, value_name = "JSON")]
    pub parameters: Option<String>,
    /// Print token, header, claims and expiry as JSON instead of the bare token.
    #[arg(long)]
    pub json: bool,
}

/// `pskeys verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The token (a leading `Bearer `/`Token ` is ignored); `-` or nothing reads stdin.
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
    /// Service config [default: discovered as for `init`].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The .env file the config's `!env` values come from (the process environment overrides it).
    #[arg(long, value_name = "PATH", default_value = ".env")]
    pub env_file: PathBuf,
    /// Check at another instant: RFC 3339 (2026-01-02T03:04:05Z) or unix seconds.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// A JWKS file (`{"keys": [...]}`) standing in for the config's `jwks_uri` keys, so
    /// their signatures can be checked offline.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// Print the verdict as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `pskeys decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The token (a leading `Bearer `/`Token ` is ignored); `-` or nothing reads stdin.
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
    /// Print header and claims as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `pskeys doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Service config [default: discovered as for `init`].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The .env file to check with it.
    #[arg(long, value_name = "PATH", default_value = ".env")]
    pub env_file: PathBuf,
    /// Apply the safe fixes (`${PS_…}` to `!env PS_…`, audience string to list,
    /// chmod 600 .env), keeping every other byte.
    #[arg(long)]
    pub fix: bool,
    /// Print the findings as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn clap_definition_is_valid() {
        super::Cli::command().debug_assert();
    }
}
