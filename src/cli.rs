//! The command line: clap derive types, one Args struct per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::keys::Alg;
use crate::service::keystore::MAX_LIFETIME_SECS;

/// Examples and exit codes, after `pskeys --help`.
const HELP_FOOTER: &str = "\
Examples:
  pskeys init                         key in .env, public key in the config
  TOKEN=$(pskeys mint --sub user-1)   a 12 h token for user-1
  pskeys mint --sub user-1 --diagnostics
  pskeys verify \"$TOKEN\"              would the service accept it? why not?
  pskeys doctor --fix                 the traps that make the service fail
  pskeys serve                        a JWKS and a token endpoint

Exit codes:
  0  success
  1  verify, mint: the service would reject the token; doctor: errors
  2  bad usage or an invalid input file; nothing changed
  3  a conflict that needs your decision (--force, --rotate,
     --private-key); nothing changed
  4  a file could not be read or written; nothing changed
  5  verify: offline checks passed, the key is behind a jwks_uri
  6  a write was interrupted after its files were complete; the
     next run finishes it";

/// `pskeys --version` (`-V` prints the short form): the build's commit, crypto backend and
/// features.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit:   ",
    env!("PSKEYS_COMMIT"),
    "\ncrypto:   aws-lc-rs (AWS-LC); CPU jitter entropy ",
    env!("PSKEYS_JITTER"),
    "\nfeatures: ",
    env!("PSKEYS_FEATURES"),
);

/// Bootstrap PowerSync client auth: generate a signing key, patch it losslessly into the
/// service config, and mint development tokens the service accepts.
#[derive(Debug, Parser)]
#[command(name = "pskeys", version, long_version = LONG_VERSION, about, long_about = None, propagate_version = true, after_help = HELP_FOOTER)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Colour on terminals: auto (default; honours NO_COLOR and CLICOLOR_FORCE), always,
    /// never. Piped output is never coloured or wrapped under auto.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// Colour where a terminal reads it, unless NO_COLOR is set (CLICOLOR_FORCE forces it).
    Auto,
    /// Always colour, piped output too.
    Always,
    /// Never colour.
    Never,
}

impl From<ColorWhen> for anstream::ColorChoice {
    fn from(c: ColorWhen) -> Self {
        match c {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }
}

/// The `--color` value among raw arguments (the last one wins, as clap takes it), for the
/// output clap itself prints before the command line is parsed; auto when absent or
/// invalid (clap then reports it).
pub fn color_arg(args: impl IntoIterator<Item = std::ffi::OsString>) -> anstream::ColorChoice {
    let mut choice = ColorWhen::Auto;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--") => break,
            Some("--color") => args.next(),
            Some(a) => a.strip_prefix("--color=").map(Into::into),
            None => None,
        };
        if let Some(v) = value.as_ref().and_then(|v| v.to_str()) {
            use clap::ValueEnum as _;
            choice = ColorWhen::from_str(v, false).unwrap_or(choice);
        }
    }
    choice.into()
}

impl Cli {
    /// Whether the command asked for JSON output (errors are then JSON on stdout too).
    pub fn wants_json(&self) -> bool {
        match &self.command {
            Command::Init(a) => a.json,
            Command::Mint(a) => a.json,
            Command::Verify(a) => a.json,
            Command::Decode(a) => a.json,
            Command::Doctor(a) => a.json,
            Command::Keys(KeysCommand::List(a)) => a.json,
            Command::Keys(KeysCommand::Retire(a)) => a.json,
            Command::Jwks(a) => a.json,
            Command::Export(a) => a.format == ExportFormat::Json,
            #[cfg(feature = "serve")]
            Command::Serve(a) => a.json,
            Command::Completions(_) | Command::Man(_) => false,
        }
    }
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
    /// Print the public JWKS of the config's asymmetric keys and .env's (for a `jwks_uri`).
    Jwks(JwksArgs),
    /// Print the variables the config and pskeys read, for another tool: a CI step's env
    /// file, `docker run --env-file`, a shell, JSON (prints secrets: it is asked for).
    Export(ExportArgs),
    /// Print a shell completion script, e.g. `pskeys completions bash >
    /// ~/.local/share/bash-completion/completions/pskeys`.
    Completions(CompletionsArgs),
    /// Print the man page (roff) of pskeys or of one command: `pskeys man mint | man -l -`.
    Man(ManArgs),
    /// Run a local auth backend: the JWKS for a `jwks_uri` and a token endpoint for
    /// `fetchCredentials()`, from the keys `init` wrote (reloaded when they change).
    #[cfg(feature = "serve")]
    #[command(
        after_help = "Endpoints:\n  GET  /.well-known/jwks.json, /api/auth/keys   the public keys (for a jwks_uri)\n  GET  /.well-known/openid-configuration       issuer and jwks_uri\n  GET  /api/auth/token?user_id=ID              a token and the endpoint, for fetchCredentials()\n  POST /token {\"sub\": ID, ...}                 the same; also parameters, claims, expires_in, aud\n  GET  /healthz"
    )]
    Serve(ServeArgs),
}

/// `pskeys completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `pskeys man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`mint`, `keys retire`, …) [default: pskeys itself].
    #[arg(value_name = "COMMAND", num_args = 0..)]
    pub command: Vec<String>,
}

/// `pskeys serve`.
#[cfg(feature = "serve")]
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Which files.
    #[command(flatten)]
    pub files: Files,
    /// Address to listen on; anything but a loopback address lets other machines (and
    /// containers) fetch tokens for any user.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1", value_parser = parse_listen_addr)]
    pub host: std::net::IpAddr,
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, value_name = "PORT", default_value_t = 6060)]
    pub port: u16,
    /// The PowerSync Service URL returned with each token as `endpoint` and
    /// `powersync_url` [default: http://localhost:<the config's port>].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Token lifetime when a request names none: 90s, 15m, 12h (at most 24h).
    #[arg(long, value_name = "DURATION", default_value = "12h", value_parser = parse_lifetime, allow_hyphen_values = true)]
    pub expires_in: u64,
    /// Browser origin allowed to call the server (repeatable; `*` for any) [default:
    /// http(s) on localhost, *.localhost, 127.0.0.1 and [::1], any port].
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// A `Host` name to serve besides localhost, 127.0.0.1 and host.docker.internal
    /// (repeatable). With --host 0.0.0.0, IP addresses and one-label names (a compose
    /// service) are served too; any other name is refused (DNS rebinding).
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
    /// Log one JSON object per request (and per event) on stderr instead of text.
    #[arg(long)]
    pub json: bool,
    /// No per-request log lines (start, reload and stop are still logged).
    #[arg(long)]
    pub quiet: bool,
}

/// `pskeys export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Which files.
    #[command(flatten)]
    pub files: Files,
    /// dotenv (as .env holds them), shell (`export K='v'`), json, docker (`docker run
    /// --env-file`: one line each, no quotes), github (appended to $GITHUB_ENV with its
    /// multi-line syntax; `::add-mask::` for each secret on stdout).
    #[arg(long, value_enum, default_value = "dotenv")]
    pub format: ExportFormat,
    /// Only this variable (repeatable) [default: every defined variable the config reads,
    /// and PSKEYS_KID, PSKEYS_ALG, PSKEYS_PRIVATE_KEY except for docker, which is for the
    /// service container].
    #[arg(long = "var", value_name = "NAME")]
    pub vars: Vec<String>,
}

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// `KEY=value`, quoted as pskeys quotes `.env`.
    Dotenv,
    /// `export KEY='value'` for a POSIX shell.
    Shell,
    /// One JSON object.
    Json,
    /// `docker run --env-file` for the service: `KEY=value`, literal, line breaks as `\n`.
    Docker,
    /// GitHub Actions' `$GITHUB_ENV`.
    Github,
}

/// Where the PowerSync Service runs, for `init --serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceIn {
    /// In a container: this machine is `host.docker.internal`.
    Docker,
    /// On this machine: `127.0.0.1`.
    Host,
}

/// `pskeys keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every key: kid, algorithm, where it lives, whether .env can sign with it.
    List(KeysListArgs),
    /// Remove a key from the config and .env.
    Retire(KeysRetireArgs),
}

/// The config and .env every command that reads them takes.
#[derive(Debug, Clone, Args)]
pub struct Files {
    /// Service config [default: $POWERSYNC_CONFIG_PATH, then powersync.yaml, config.yaml,
    /// config.json, config/powersync.yaml, powersync/service.yaml here or in a parent
    /// folder up to the repository root; `init` creates one from its template when none
    /// exists].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The .env file with the private parts and the config's `!env` values (the process
    /// environment overrides it) [default: .env in the folder the config was found from].
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
}

/// An extra claim from `--claim KEY=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The claim name.
    pub name: String,
    /// VALUE parsed as JSON when it parses, else the string.
    pub value: Value,
}

/// Claims `mint` sets itself, with the flag that sets each.
const RESERVED: [(&str, &str); 4] = [
    ("sub", "--sub"),
    ("aud", "--aud"),
    ("iat", "--expires-in"),
    ("exp", "--expires-in"),
];

/// Parses `KEY=VALUE`; VALUE is JSON when it parses as JSON, else a string.
pub fn parse_claim(text: &str) -> Result<Claim, String> {
    let (name, raw) = text
        .split_once('=')
        .ok_or("expected KEY=VALUE, e.g. --claim role=admin")?;
    let name = name.trim();
    if name.is_empty() {
        return Err("the claim name is empty".into());
    }
    if let Some((_, flag)) = RESERVED.iter().find(|(c, _)| *c == name) {
        return Err(format!("`{name}` is set by mint; use {flag} instead"));
    }
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    Ok(Claim {
        name: name.to_string(),
        value,
    })
}

/// Parses a lifetime such as `90s`, `15m`, `12h`, `1d` or `1h30m`, at least 1 s and at
/// most the service's 24 h cap. A bare number is refused: `10` could mean seconds (JWT)
/// or minutes, so the unit is asked for.
pub fn parse_lifetime(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err("must be positive; use e.g. 90s, 15m, 12h or 1d".into());
    }
    if t.parse::<u64>() == Ok(0) {
        return Err("must be at least 1s".into());
    }
    // The value is not repeated in these messages: a secret pasted here must not be shown.
    if t.contains('M') {
        return Err("`M` is months; write `m` for minutes (e.g. 15m), at most 24h".into());
    }
    if let Ok(n) = t.parse::<u64>() {
        return Err(format!(
            "`{n}` has no unit; write {n}s for seconds, {n}m for minutes or {n}h for hours"
        ));
    }
    let secs = humantime::parse_duration(t)
        .map_err(|_| "not a duration; use e.g. 90s, 15m, 12h or 1d".to_string())?
        .as_secs();
    if secs == 0 {
        return Err("must be at least 1s".into());
    }
    if secs > MAX_LIFETIME_SECS {
        return Err(format!(
            "{secs} s is longer than the service accepts: it rejects tokens living longer than {MAX_LIFETIME_SECS} s (24 h) with PSYNC_S2104; use 24h or less"
        ));
    }
    Ok(secs)
}

/// Parses `serve --host`: an IP address, or `localhost` (127.0.0.1).
pub fn parse_listen_addr(text: &str) -> Result<std::net::IpAddr, String> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(std::net::IpAddr::from([127, 0, 0, 1]));
    }
    text.trim_matches(['[', ']']).parse().map_err(|_| {
        "not an IP address; use 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or an address of this machine".to_string()
    })
}

/// Parses the `parameters` claim: a JSON object (or `null`, which the service ignores).
pub fn parse_parameters(text: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("not JSON ({e}); pass an object, e.g. '{{\"team\":\"a\"}}'"))?;
    if v.is_object() || v.is_null() {
        Ok(v)
    } else {
        Err(
            "PSYNC_S2101 Payload parameters must be an object; pass one, e.g. '{\"team\":\"a\"}'"
                .into(),
        )
    }
}

/// Parses a time: RFC 3339 (`2026-01-02T03:04:05Z`) or unix seconds.
pub fn parse_time(t: &str) -> Result<u64, String> {
    if let Ok(n) = t.trim().parse::<u64>() {
        return Ok(n);
    }
    humantime::parse_rfc3339_weak(t.trim())
        .ok()
        .and_then(|st| st.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| "not a time; use RFC 3339 (2026-01-02T03:04:05Z) or unix seconds".into())
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
    /// Print a machine-readable summary on stdout (errors too).
    #[arg(long)]
    pub json: bool,
}

/// `pskeys jwks`.
#[derive(Debug, Args)]
pub struct JwksArgs {
    /// Which files.
    #[command(flatten)]
    pub files: Files,
    /// The output is JSON already; with --json errors are JSON on stdout too.
    #[arg(long)]
    pub json: bool,
}

/// `pskeys init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Algorithm: HS256 (default), HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512,
    /// EdDSA.
    #[arg(long, value_name = "ALG")]
    pub alg: Option<Alg>,
    /// RSA modulus size: 2048 (default), 3072 or 4096.
    #[arg(long, value_name = "BITS")]
    pub bits: Option<u32>,
    /// Key id to use instead of the default `powersync-<10 hex>`.
    #[arg(long, value_name = "KID")]
    pub kid: Option<String>,
    /// Which files.
    #[command(flatten)]
    pub files: Files,
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
    /// Point the config at `pskeys serve` on PORT (6060 unless given): a `jwks_uri` where
    /// the service reaches it (see --service-in), with an asymmetric key (ES256 unless
    /// --alg) that the server publishes.
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "6060", require_equals = true, conflicts_with = "no_dev_key", value_parser = clap::value_parser!(u16).range(1..))]
    pub serve: Option<u16>,
    /// With --serve: where the PowerSync Service runs: `docker` (the jwks_uri names
    /// host.docker.internal) or `host` (127.0.0.1) [default: docker when a compose file
    /// at or above the config mentions PowerSync, else host].
    #[arg(long, value_enum, value_name = "WHERE", requires = "serve")]
    pub service_in: Option<ServiceIn>,
    /// Asymmetric keys only (ES256 unless --alg): write the new key's kid and public
    /// members as `!env PS_JWK_…` (values in .env), so a team commits the config and every
    /// machine's `init` makes its own pair.
    #[arg(long)]
    pub public_in_env: bool,
    /// Sign with a key the shared config already holds: its private key (PKCS#8 PEM, in any
    /// form PSKEYS_PRIVATE_KEY takes) from this file, or `-` for stdin; checked against the
    /// config's public keys before anything is written.
    #[arg(long, value_name = "FILE", allow_hyphen_values = true, conflicts_with_all = ["rotate", "force", "no_dev_key", "alg", "inline", "public_in_env"])]
    pub private_key: Option<PathBuf>,
}

/// `pskeys mint`.
#[derive(Debug, Args)]
pub struct MintArgs {
    /// The user id (`sub`) that sync rules see as `request.user_id()`.
    #[arg(long, value_name = "ID", required_unless_present_any = ["subs", "count"], conflicts_with_all = ["subs", "count"])]
    pub sub: Option<String>,
    /// Batch: a token for each subject in FILE (one per line; `-` for stdin), printed as
    /// one JSON line each (`sub`, `token`, `expires_at`) in input order.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["count", "diagnostics"])]
    pub subs: Option<PathBuf>,
    /// Batch: N tokens for the subjects PREFIX1 … PREFIXN (see --sub-prefix), as --subs
    /// prints them.
    #[arg(long, value_name = "N", conflicts_with = "diagnostics", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// With --count: what comes before each number [default: user-].
    #[arg(long, value_name = "PREFIX", requires = "count", conflicts_with_all = ["sub", "subs"])]
    pub sub_prefix: Option<String>,
    /// Which files.
    #[command(flatten)]
    pub files: Files,
    /// Sign with this key instead of $PSKEYS_KID.
    #[arg(long, value_name = "KID")]
    pub kid: Option<String>,
    /// Lifetime: 90s, 15m, 12h, 1d (at most 24h: the service's limit).
    #[arg(long, value_name = "DURATION", default_value = "12h", value_parser = parse_lifetime, allow_hyphen_values = true)]
    pub expires_in: u64,
    /// Audience to put in `aud` (repeatable) [default: the config's audience list].
    #[arg(long = "aud", value_name = "AUD")]
    pub aud: Vec<String>,
    /// Service URL to put first in `aud`, where the Diagnostics app and the test client
    /// find it (e.g. http://localhost:8080).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Print the Diagnostics app link that signs in with the token instead of the token;
    /// the endpoint (--endpoint, else http://localhost:<the config's port>) goes into
    /// `aud`. APP_URL is another copy of the app, e.g. a local one.
    #[arg(long, value_name = "APP_URL", num_args = 0..=1, require_equals = true)]
    pub diagnostics: Option<Option<String>>,
    /// Extra claim KEY=VALUE (repeatable); VALUE is parsed as JSON when it parses, else a string.
    #[arg(long = "claim", value_name = "KEY=VALUE", value_parser = parse_claim)]
    pub claims: Vec<Claim>,
    /// The `parameters` claim, a JSON object (token_parameters in sync rules).
    #[arg(long, value_name = "JSON", value_parser = parse_parameters)]
    pub parameters: Option<Value>,
    /// Print token, header, claims and expiry as JSON instead of the bare token.
    #[arg(long)]
    pub json: bool,
}

/// `pskeys verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The token (a leading `Authorization:`, `Bearer `/`Token ` is ignored); `-` or
    /// nothing reads stdin.
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
    /// Which files.
    #[command(flatten)]
    pub files: Files,
    /// Check at another instant: RFC 3339 (2026-01-02T03:04:05Z) or unix seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<u64>,
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
    /// The token (a leading `Authorization:`, `Bearer `/`Token ` is ignored); `-` or
    /// nothing reads stdin.
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
    /// Print header and claims as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `pskeys doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Which files.
    #[command(flatten)]
    pub files: Files,
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

    #[test]
    fn value_parsers() {
        use super::*;
        assert_eq!(parse_lifetime("90s"), Ok(90));
        assert_eq!(parse_lifetime("1h30m"), Ok(5_400));
        assert_eq!(parse_lifetime("600s"), Ok(600));
        let bare = parse_lifetime("10").unwrap_err();
        assert!(bare.contains("no unit") && bare.contains("10s") && bare.contains("10m"));
        assert!(
            parse_lifetime("10M")
                .unwrap_err()
                .contains("write `m` for minutes")
        );
        assert!(
            !parse_lifetime("12hSECRETxyz")
                .unwrap_err()
                .contains("SECRET")
        );
        assert_eq!(parse_lifetime("0").unwrap_err(), "must be at least 1s");
        assert!(parse_lifetime("25h").unwrap_err().contains("PSYNC_S2104"));
        assert!(parse_lifetime("0s").is_err() && parse_lifetime("soon").is_err());
        assert!(
            parse_lifetime("-5m")
                .unwrap_err()
                .contains("must be positive")
        );
        assert_eq!(parse_claim("n=3").unwrap().value, serde_json::json!(3));
        assert_eq!(
            parse_claim("s=abc").unwrap().value,
            serde_json::json!("abc")
        );
        assert!(parse_claim("exp=1").unwrap_err().contains("--expires-in"));
        assert!(parse_claim("novalue").is_err());
        assert_eq!(parse_parameters("null"), Ok(Value::Null));
        assert!(parse_parameters("[1]").is_err());
        assert_eq!(parse_time("2026-01-02T03:04:05Z"), Ok(1_767_323_045));
    }
}
