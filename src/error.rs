//! The one error type of pskeys: what went wrong, where (file, line, column), and what to do.
//!
//! Every user-facing failure is a variant here; `main` prints it once and exits with
//! [`Error::exit_code`]. The exit codes are documented in the README and in [`ExitCode`].

use std::fmt;
use std::path::{Path, PathBuf};

/// The process exit codes pskeys uses. Documented in the README ("Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Success.
    Ok = 0,
    /// A token was (or would be) rejected by the service's rules.
    Rejected = 1,
    /// Bad usage or an invalid input file (config, .env): nothing was changed.
    Invalid = 2,
    /// `init` found .env and the config disagreeing about the signing key.
    Conflict = 3,
    /// A file could not be read or written.
    Io = 4,
    /// `verify`: every offline check passed, but the signing key is fetched at run time.
    Unverified = 5,
}

/// A location inside a user's file, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

impl Location {
    /// A whole file.
    pub fn file(path: &Path) -> Self {
        Location {
            path: path.to_path_buf(),
            line: None,
            column: None,
        }
    }

    /// A line and column in a file.
    pub fn at(path: &Path, line: usize, column: usize) -> Self {
        Location {
            path: path.to_path_buf(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.path.display())?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, " line {l}, column {c}"),
            (Some(l), None) => write!(f, " line {l}"),
            _ => Ok(()),
        }
    }
}

/// Everything that can go wrong, with the fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags that do not make sense together or have bad values.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// A config file the service (or pskeys) cannot use.
    #[error("{location}: {message}")]
    Config {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// A malformed or incomplete .env file.
    #[error("{location}: {message}")]
    EnvFile {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// .env and the config disagree about the signing key.
    #[error("{message}")]
    Conflict {
        /// What is wrong.
        message: String,
        /// The ways out.
        hint: String,
    },
    /// The service would reject the token (or does, for `verify`).
    #[error("{message}")]
    Rejected {
        /// The service's error code, e.g. `PSYNC_S2105`.
        code: Option<&'static str>,
        /// The service's message or ours.
        message: String,
        /// What to change.
        hint: Option<String>,
    },
    /// `verify` could check everything but the signature (the key is behind a `jwks_uri`).
    #[error("{message}")]
    Unverified {
        /// Which key would be fetched from where.
        message: String,
        /// How to finish the check.
        hint: String,
    },
    /// A file could not be read, created or replaced.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What we tried.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A stored key could not be used.
    #[error("{message}")]
    Key {
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
}

/// Short alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Rejected { .. } => ExitCode::Rejected,
            Error::Usage { .. }
            | Error::Config { .. }
            | Error::EnvFile { .. }
            | Error::Key { .. } => ExitCode::Invalid,
            Error::Conflict { .. } => ExitCode::Conflict,
            Error::Io { .. } => ExitCode::Io,
            Error::Unverified { .. } => ExitCode::Unverified,
        }
    }

    /// What the user should do, printed after the error.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Usage { hint, .. }
            | Error::Config { hint, .. }
            | Error::EnvFile { hint, .. }
            | Error::Rejected { hint, .. }
            | Error::Key { hint, .. } => hint.as_deref(),
            Error::Conflict { hint, .. } | Error::Unverified { hint, .. } => Some(hint),
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    Some("check the file's permissions, or pass another path")
                }
                std::io::ErrorKind::NotFound => Some("check the path, or pass another one"),
                _ => None,
            },
        }
    }

    /// A short machine-readable kind, for `--json` error output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage { .. } => "usage",
            Error::Config { .. } => "config",
            Error::EnvFile { .. } => "env_file",
            Error::Conflict { .. } => "conflict",
            Error::Rejected { .. } => "rejected",
            Error::Io { .. } => "io",
            Error::Key { .. } => "key",
            Error::Unverified { .. } => "unverified",
        }
    }

    /// Shorthand for a usage error.
    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Shorthand for a config error.
    pub fn config(
        location: Location,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> Self {
        Error::Config {
            location,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Shorthand for an I/O error.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Shorthand for a rejection.
    pub fn rejected(
        code: Option<&'static str>,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> Self {
        Error::Rejected {
            code,
            message: message.into(),
            hint: hint.into(),
        }
    }
}
