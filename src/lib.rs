//! pskeys: from nothing to a working PowerSync client login.
//!
//! `init` generates a signing key, keeps its private part in `.env` and patches the public
//! part losslessly into the PowerSync Service config; `mint` signs tokens the service
//! accepts; `verify` and `doctor` say what the service would say.
//!
//! As a library: open the config and `.env` a project uses with [`Project`], build a
//! [`Minter`] once (it holds the prepared signing key, the audiences and the service's key
//! store), then [`Minter::mint`] as many tokens as needed. [`service`] holds the service's
//! rules: [`service::rules`] for configs, [`service::verify()`] for tokens.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pskeys::{Minter, Project, TokenSpec};
//! let project = Project::open(None, ".env".as_ref())?;
//! let minter = Minter::new(project.config(), project.env(), None)?;
//! let spec = TokenSpec::new("user-1")
//!     .lifetime(3600)
//!     .claim("parameters", serde_json::json!({"team": "a"}));
//! let minted = minter.mint(&spec, pskeys::now())?;
//! assert!(minter.verify(&minted.token, pskeys::now()).outcome == pskeys::service::Outcome::Accepted);
//! # Ok(()) }
//! ```

pub mod cli;
pub mod clock;
mod cmd;
pub mod config;
pub mod env;
pub mod envfile;
pub mod error;
pub(crate) mod fsutil;
pub mod jws;
pub mod keys;
pub mod minter;
pub(crate) mod plan;
pub mod service;
pub mod term;

use std::path::Path;

pub use clock::now;
pub use env::Env;
pub use error::{Error, ExitCode, Result};
pub use minter::{MintError, Minted, Minter, TokenSpec};

use config::Config;
use envfile::EnvFile;

/// A project's config and `.env`, found and read once.
#[derive(Debug, Clone)]
pub struct Project {
    config: Config,
    env_file: EnvFile,
    env: Env,
}

impl Project {
    /// Finds the config (`config`, else `$POWERSYNC_CONFIG_PATH`, else the usual places in
    /// the current folder) and reads it with `env_file` (missing: empty) and the process
    /// environment.
    pub fn open(config: Option<&Path>, env_file: &Path) -> Result<Project> {
        let config = cmd::require_config_path(config)?;
        // Both files read as one pair: a pskeys writing them meanwhile is waited for.
        let _reading = fsutil::Lock::shared(&cmd::project_dir(&config))?;
        let env_file = EnvFile::load(env_file)?;
        let config = Config::load(&config)?;
        Ok(Project::from_parts(config, env_file))
    }

    /// A project from files already read.
    pub fn from_parts(config: Config, env_file: EnvFile) -> Project {
        let env = Env::new(
            env_file
                .vars()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        Project {
            config,
            env_file,
            env,
        }
    }

    /// The service config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The `.env` file as read.
    pub fn env_file(&self) -> &EnvFile {
        &self.env_file
    }

    /// The process environment over `.env`.
    pub fn env(&self) -> &Env {
        &self.env
    }
}

/// Runs one parsed command line.
pub fn run(cli: cli::Cli) -> Result<()> {
    match cli.command {
        cli::Command::Init(args) => cmd::init::run(args),
        cli::Command::Mint(args) => cmd::mint::run(args),
        cli::Command::Verify(args) => cmd::verify::run(args),
        cli::Command::Decode(args) => cmd::decode::run(args),
        cli::Command::Doctor(args) => cmd::doctor::run(args),
        cli::Command::Keys(cli::KeysCommand::List(args)) => cmd::keys::list(args),
        cli::Command::Keys(cli::KeysCommand::Retire(args)) => cmd::keys::retire(args),
        cli::Command::Jwks(args) => cmd::keys::jwks(args),
        cli::Command::Export(args) => cmd::export::run(args),
        cli::Command::Completions(args) => cmd::shell::completions(&args),
        cli::Command::Man(args) => cmd::shell::man(&args),
        #[cfg(feature = "serve")]
        cli::Command::Serve(args) => cmd::serve::run(args),
    }
}
