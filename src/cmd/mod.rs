//! One module per subcommand; each turns its args into a plan, then acts.

pub mod init;
pub mod mint;

use std::path::{Path, PathBuf};

use crate::config::{self, Config, Found};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};

/// Where the config is and how it was found.
pub(crate) fn locate_config(flag: Option<&Path>) -> Result<(PathBuf, Found)> {
    // Relative to the current folder, so messages name `powersync.yaml`, not a long path.
    let env_path = std::env::var("POWERSYNC_CONFIG_PATH").ok();
    Ok(config::locate(flag, env_path.as_deref(), Path::new("")))
}

/// Looks a variable up in the process environment first, then in the .env file.
pub(crate) fn lookup<'a>(env: &'a EnvFile) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| env.get(name).map(str::to_string))
    }
}

/// Loads an existing config for a command that needs one.
pub(crate) fn require_config(flag: Option<&Path>) -> Result<Config> {
    let (path, found) = locate_config(flag)?;
    if found == Found::Missing || !path.exists() {
        return Err(Error::usage(
            format!(
                "no PowerSync config found (looked for `{}`)",
                config::CANDIDATES.join("`, `")
            ),
            "run `pskeys init` to create one, or pass --config PATH".to_string(),
        ));
    }
    Config::load(&path)
}

/// A path as the user should read it: relative to the current folder when inside it.
pub(crate) fn show(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let rel = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .unwrap_or(path);
    rel.display().to_string()
}
