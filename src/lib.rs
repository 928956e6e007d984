//! pskeys: from nothing to a working PowerSync client login.
//!
//! `init` generates a signing key, keeps its private part in `.env` and patches the public
//! part losslessly into the PowerSync Service config; `mint` signs tokens the service
//! accepts. The modules are usable as a library: [`keys`] to generate keys, [`config`] to
//! read and patch configs, [`envfile`] to edit `.env`, [`token`] to sign and check tokens.

pub mod cli;
mod cmd;
pub mod config;
pub mod doctor;
pub mod envfile;
pub mod error;
pub mod fsutil;
pub mod keys;
pub mod keystore;
pub mod token;

pub use error::{Error, ExitCode, Result};

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
    }
}
