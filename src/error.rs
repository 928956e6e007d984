//! The one error type of pskeys: what went wrong, where (file, line, column), and what to do.
//!
//! Every user-facing failure is a variant here; `main` prints it once and exits with
//! [`Error::exit_code`]. The exit codes are documented in the README and in [`ExitCode`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::keys::KeyError;
use crate::minter::MintError;
use crate::service::keystore::Refused;
use crate::service::verify::{Code, Rejection, Unverified};

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
    /// A write was interrupted after its new files were complete: the next pskeys run in
    /// the project finishes it (nothing is half-written).
    Interrupted = 6,
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

/// Everything that can go wrong, with the fix. Domain errors ([`Rejection`], [`MintError`],
/// [`Refused`], [`KeyError`]) are carried as they are; [`Error::hint`] is the command
/// line's advice for them and the only place that names flags.
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
    /// A config file pskeys cannot read or patch.
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
    #[error("{0}")]
    Rejected(Rejection),
    /// The service refuses to load the config.
    #[error("{}", refused_message(path, refused))]
    Refused {
        /// The config.
        path: PathBuf,
        /// The findings that refuse it.
        refused: Refused,
    },
    /// `mint` cannot sign.
    #[error("{0}")]
    Mint(MintError),
    /// `doctor` found errors.
    #[error("doctor found {errors} {}{}", plural(*errors, "error"), match warnings { 0 => String::from(", no warnings"), n => format!(" and {n} {}", plural(*n, "warning")) })]
    Findings {
        /// Error-level findings.
        errors: usize,
        /// Warnings.
        warnings: usize,
    },
    /// `verify` could check everything but the signature.
    #[error("{}", unverified_message(.0))]
    Unverified(Unverified),
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
    /// A file pskeys will not write as it is (a FIFO, a read-only file, one changed by
    /// another program since it was read); nothing was written.
    #[error("`{}`: {message}", path.display())]
    Unwritable {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
    /// Writing stopped after the new files were complete but before all were in place.
    #[error("the write of {} stopped half way ({source}); every new file is complete and the next pskeys run in this project puts the rest in place", files.iter().map(|f| format!("`{}`", f.display())).collect::<Vec<_>>().join(", "))]
    Interrupted {
        /// The files being written.
        files: Vec<PathBuf>,
        /// Why it stopped.
        source: std::io::Error,
    },
    /// A stored key could not be used.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// An error whose `--json` form the command already printed (verify's verdict, doctor's
    /// findings): only its stderr line and exit code remain.
    #[error("{0}")]
    Reported(Box<Error>),
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

fn refused_message(path: &Path, refused: &Refused) -> String {
    let Some(first) = refused.findings.first() else {
        return format!("the service would refuse to load `{}`", path.display());
    };
    let at = match first.line {
        Some(l) => format!("`{}` line {l}", first.file.display()),
        None => format!("`{}`", first.file.display()),
    };
    format!(
        "{at}: {} (the service would refuse to load this config)",
        first.message
    )
}

fn unverified_message(u: &Unverified) -> String {
    match u {
        Unverified::Remote { kid, sources } => format!(
            "every offline check passed, but the signing key{} would be fetched from {}",
            kid.as_deref().map_or(String::new(), |k| format!(" `{k}`")),
            sources.join(" or ")
        ),
        Unverified::Unsupported(why) => format!("every other check passed, but {why}"),
    }
}

/// Short alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<MintError> for Error {
    fn from(e: MintError) -> Self {
        match e {
            MintError::Rejected(r) => Error::Rejected(r),
            MintError::Key(k) => Error::Key(k),
            other => Error::Mint(other),
        }
    }
}

impl Error {
    /// The exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Reported(e) => e.exit_code(),
            Error::Rejected(_) | Error::Findings { .. } => ExitCode::Rejected,
            Error::Mint(m) => match m {
                MintError::KidNotInConfig { .. }
                | MintError::KeyUnusable { .. }
                | MintError::KeyMismatch { .. }
                | MintError::NoAudience => ExitCode::Rejected,
                _ => ExitCode::Invalid,
            },
            Error::Usage { .. }
            | Error::Config { .. }
            | Error::EnvFile { .. }
            | Error::Refused { .. }
            | Error::Key(_) => ExitCode::Invalid,
            Error::Conflict { .. } => ExitCode::Conflict,
            Error::Io { .. } | Error::Unwritable { .. } => ExitCode::Io,
            Error::Interrupted { .. } => ExitCode::Interrupted,
            Error::Unverified(_) => ExitCode::Unverified,
        }
    }

    /// The service's code, when the service would answer with one.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Reported(e) => e.code(),
            Error::Rejected(r) => Some(r.code),
            Error::Mint(MintError::KidNotInConfig { .. } | MintError::KeyMismatch { .. }) => {
                Some(Code::S2101)
            }
            Error::Mint(MintError::NoAudience) => Some(Code::S2105),
            _ => None,
        }
    }

    /// What the user should do, printed after the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Reported(e) => e.hint(),
            Error::Usage { hint, .. }
            | Error::Config { hint, .. }
            | Error::EnvFile { hint, .. } => hint.clone(),
            Error::Conflict { hint, .. } => Some(hint.clone()),
            Error::Rejected(r) => Some(crate::cmd::hints::rejection(r)),
            Error::Refused { refused, .. } => refused.findings.first().map(|f| {
                let more = refused.findings.len() - 1;
                let rest = if more > 0 {
                    format!(" ({more} more: `pskeys doctor` lists them)")
                } else {
                    String::new()
                };
                format!("{}{rest}", f.fix)
            }),
            Error::Mint(m) => Some(crate::cmd::hints::mint(m)),
            Error::Findings { .. } => None,
            Error::Unverified(Unverified::Remote { .. }) => Some(
                "download that key set and pass it with --jwks FILE to check the signature too"
                    .into(),
            ),
            Error::Unverified(Unverified::Unsupported(_)) => {
                Some("verify against the running service".into())
            }
            Error::Key(k) => Some(crate::cmd::hints::key(k)),
            Error::Unwritable { hint, .. } => Some(hint.clone()),
            Error::Interrupted { .. } => {
                Some("run the command again (or any pskeys command in this project)".into())
            }
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::PermissionDenied => {
                    Some("check the file's permissions, or pass another path".into())
                }
                std::io::ErrorKind::NotFound => Some("check the path, or pass another one".into()),
                _ => None,
            },
        }
    }

    /// A short machine-readable kind, for `--json` error output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Reported(e) => e.kind(),
            Error::Usage { .. } => "usage",
            Error::Config { .. } => "config",
            Error::EnvFile { .. } => "env_file",
            Error::Conflict { .. } => "conflict",
            Error::Rejected(_) => "rejected",
            Error::Refused { .. } => "config_refused",
            Error::Mint(_) => "mint",
            Error::Findings { .. } => "findings",
            Error::Io { .. } | Error::Unwritable { .. } => "io",
            Error::Interrupted { .. } => "interrupted",
            Error::Key(_) => "key",
            Error::Unverified(_) => "unverified",
        }
    }

    /// The file and line the error is about, when it has one.
    pub fn location(&self) -> Option<Location> {
        match self {
            Error::Reported(e) => e.location(),
            Error::Config { location, .. } | Error::EnvFile { location, .. } => {
                Some(location.clone())
            }
            Error::Io { path, .. } | Error::Unwritable { path, .. } => Some(Location::file(path)),
            Error::Refused { refused, path } => Some(refused.findings.first().map_or_else(
                || Location::file(path),
                |f| Location {
                    path: f.file.clone(),
                    line: f.line,
                    column: None,
                },
            )),
            _ => None,
        }
    }

    /// The error as `{"error": {"kind", "code", "message", "hint", "file", "line"}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let location = self.location();
        serde_json::json!({"error": {
            "kind": self.kind(),
            "code": self.code().map(Code::as_str),
            "message": self.to_string(),
            "hint": self.hint(),
            "file": location.map(|l| serde_json::json!({"path": l.path.display().to_string(), "line": l.line})),
        }})
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
}

/// [`printable`] for text that must stay one line (a message, a log line): line breaks and
/// tabs inside it, which come from values such as a kid or a `sub`, are written as `\n`
/// and `\t`, so no input can forge a line of its own.
pub fn printable_line(text: &str) -> std::borrow::Cow<'_, str> {
    let text = printable(text);
    match text.contains(['\n', '\t']) {
        true => std::borrow::Cow::Owned(text.replace('\n', "\\n").replace('\t', "\\t")),
        false => text,
    }
}

/// Text safe to print to a terminal: control characters (but line breaks and tabs), DEL,
/// C1 controls, bidirectional overrides, Unicode line separators and the invisible
/// (default-ignorable) characters, which a config's kid or a token's `sub` could use to
/// rewrite what the user sees or to make two kids look alike, written as `\u{…}`.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{ad}' | '\u{34f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{2028}' | '\u{2029}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{printable, printable_line};

    #[test]
    fn invisible_and_control_characters_are_shown() {
        assert_eq!(printable("kid\u{e0061}"), "kid\\u{e0061}");
        assert_eq!(
            printable("a\u{ad}b\u{200d}c\u{fe0f}"),
            "a\\u{ad}b\\u{200d}c\\u{fe0f}"
        );
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("line\nnext\ttab é"), "line\nnext\ttab é");
        assert_eq!(printable_line("line\nerror: x\ty"), "line\\nerror: x\\ty");
    }
}
