//! `pskeys init`: generate a signing key, store its private part in .env and patch its
//! public part (or an `!env` reference to the HMAC secret) into the service config.
//! The story: flags checked into a request, both files read once, a plan decided without
//! writing, the plan written all or nothing, a report. Idempotent; `--rotate`, `--force`,
//! `--dry-run`.

mod adopt;
mod plan;
mod report;
mod request;
mod state;

use crate::cli::InitArgs;
use crate::error::Result;

/// Runs `init`.
pub fn run(args: InitArgs) -> Result<()> {
    let req = request::Request::from_args(args)?;
    // The lock is held from reading the files to writing them: concurrent runs take turns.
    let (config, _) = crate::cmd::locate_config(req.files.config.as_deref())?;
    let lock = if req.dry_run {
        None
    } else {
        Some(crate::cmd::lock_project(&config)?)
    };
    let inputs = state::Inputs::read(&req)?;
    if lock.is_some() {
        crate::cmd::clean_env_folder(&inputs.env.path);
    }
    let planned = plan::plan(&req, &inputs)?;
    let Some(lock) = lock else {
        report::dry_run(&req, &inputs, &planned);
        return Ok(());
    };
    planned
        .plan
        .apply(&lock, &crate::cmd::project_dir(&inputs.config.path))?;
    report::written(&req, &inputs, &planned);
    Ok(())
}
