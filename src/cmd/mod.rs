//! One module per subcommand; each turns its args into a plan, then acts.

/// `println!` for data on stdout, without the panic when the reader has gone away
/// (`pskeys verify … | head -1`): the process then ends quietly, as with SIGPIPE.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cmd::write_stdout(format_args!($($arg)*), true) };
}

/// `eprintln!` for messages on stderr, without its panic when stderr is a closed pipe
/// (`pskeys init 2>&1 | true`): a message nobody can read is dropped, the run goes on.
/// On a terminal the line is wrapped and its label coloured ([`crate::term`]).
macro_rules! errln {
    () => { $crate::term::eprint_line("", false) };
    ($($arg:tt)*) => { $crate::term::eprint_line(&format!($($arg)*), true) };
}

/// [`errln!`] for a line laid out by hand (a command to paste, an aligned step): coloured
/// like any message, never wrapped.
macro_rules! errln_pre {
    () => { $crate::term::eprint_line("", false) };
    ($($arg:tt)*) => { $crate::term::eprint_line(&format!($($arg)*), false) };
}

/// [`outln!`] for a report people read (verify's verdict, decode, keys list): text from
/// the config or the token is made [`printable`](crate::error::printable), and on a
/// terminal wrapped and coloured ([`crate::term`]). Data (tokens, JSON, exported values)
/// goes through `outln!` untouched.
macro_rules! sayln {
    ($($arg:tt)*) => { $crate::cmd::say_line(&format!($($arg)*), true) };
}

/// [`sayln!`] for a line laid out by hand or data shown to people (JSON): never wrapped.
macro_rules! sayln_pre {
    ($($arg:tt)*) => { $crate::cmd::say_line(&format!($($arg)*), false) };
}

/// `print!` for data on stdout; see [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cmd::write_stdout(format_args!($($arg)*), false) };
}

pub mod batch;
pub mod decode;
pub mod diagnostics;
pub mod doctor;
pub mod export;
pub(crate) mod hints;
pub mod init;
pub mod keys;
pub mod mint;
#[cfg(feature = "serve")]
pub mod serve;
pub mod shell;
pub mod verify;

use std::path::{Path, PathBuf};

use crate::Project;
use crate::cli::Files;
use crate::config::{self, Found};
use crate::env::Env;
use crate::envfile::EnvFile;
use crate::error::{Error, Result};

/// Where the config is and how it was found: `--config`, `$POWERSYNC_CONFIG_PATH`, the
/// usual places here, then in each parent folder up to the repository root (as git and
/// cargo look), named relative to the current folder (`../powersync.yaml`).
pub(crate) fn locate_config(flag: Option<&Path>) -> Result<(PathBuf, Found)> {
    let env_path = std::env::var("POWERSYNC_CONFIG_PATH").ok();
    let here = config::locate(flag, env_path.as_deref(), Path::new(""));
    if here.1 != Found::Missing {
        return Ok(here);
    }
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(here);
    };
    // Only inside a repository, and no higher than its root: outside one, a config in a
    // parent folder (another tool's `config.yaml`, say) is none of this folder's business.
    let Some(root) = repository_root(&cwd) else {
        return Ok(here);
    };
    let mut up = PathBuf::new();
    for dir in cwd.ancestors().skip(1) {
        up.push("..");
        let found = config::locate(None, None, &up);
        if found.1 == Found::Discovered {
            return Ok(found);
        }
        if dir == root {
            break;
        }
    }
    Ok(here)
}

/// The root of the git repository around `cwd`: the nearest folder with a `.git` owned by
/// whoever owns `cwd` (as git's `safe.directory` check: another user's `.git` in `/tmp`
/// makes no repository of yours).
fn repository_root(cwd: &Path) -> Option<&Path> {
    let git = cwd.ancestors().find(|d| d.join(".git").exists())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let owner = |p: &Path| std::fs::metadata(p).ok().map(|m| m.uid());
        if owner(&git.join(".git")) != owner(cwd) {
            return None;
        }
    }
    Some(git)
}

/// A config in a parent folder that [`locate_config`] does not take (no git repository
/// around this folder): named in messages, so a new config is never made unawares.
pub(crate) fn config_above() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    if repository_root(&cwd).is_some() {
        return None;
    }
    let mut up = PathBuf::new();
    for _ in cwd.ancestors().skip(1).take(3) {
        up.push("..");
        if let (path, Found::Discovered) = config::locate(None, None, &up) {
            return Some(path);
        }
    }
    None
}

/// Compose files that may run the service.
const COMPOSE_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Why the service of `config` seems to run in a container: a compose file that mentions
/// PowerSync in the config's folder, a `docker/` folder beside it (the official CLI's
/// layout) or up to three folders above. Seen from a container, `localhost` is the
/// container itself.
pub(crate) fn service_container(config: &Path) -> Option<PathBuf> {
    // The config's folder (the config itself may not exist yet: `init` makes it).
    let folder = match config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let real = std::fs::canonicalize(folder).ok()?;
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    for dir in real.ancestors().take(4) {
        for name in COMPOSE_FILES {
            for candidate in [dir.join(name), dir.join("docker").join(name)] {
                let Ok(Some(text)) = crate::fsutil::read_regular(&candidate, 1 << 20) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&text).to_ascii_lowercase();
                // `network_mode: host`: the container shares this machine's network.
                let host_network = text
                    .lines()
                    .any(|l| l.trim().replace(['"', '\''], "") == "network_mode: host");
                if text.contains("powersync") && !host_network {
                    // Named from here when it is below here.
                    let near = cwd
                        .as_deref()
                        .and_then(|c| candidate.strip_prefix(c).ok())
                        .map(Path::to_path_buf);
                    return Some(near.unwrap_or(candidate));
                }
            }
        }
    }
    None
}

/// Refuses a flag value with control characters (a line break, ESC, DEL, …): it would
/// reach the config, a token or the terminal as something else than was typed. The value
/// is shown escaped.
pub(crate) fn check_text(flag: &str, value: &str) -> Result<()> {
    // Line breaks, tabs, and what `printable` escapes (bidi overrides too).
    if !value.contains(['\n', '\t'])
        && matches!(
            crate::error::printable(value),
            std::borrow::Cow::Borrowed(_)
        )
    {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "{flag} \"{}\" holds a control character (a line break, tab, escape, bidi override…)",
            value.escape_debug()
        ),
        format!("pass {flag} without it"),
    ))
}

/// Refuses a flag value that is not an absolute http(s) URL with a host, as node's `new
/// URL` reads it (what the service does with a `jwks_uri`). The value is shown escaped.
pub(crate) fn check_url(flag: &str, value: &str, example: &str) -> Result<()> {
    check_text(flag, value)?;
    let ok = (value.starts_with("http://") || value.starts_with("https://"))
        && crate::service::net::http_host(value)
            .is_ok_and(|h| h != crate::service::net::Host::Domain(String::new()));
    if ok {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "{flag} \"{}\" is not an http(s) URL with a host",
            value.escape_debug()
        ),
        format!("e.g. {example}"),
    ))
}

/// In the official CLI's layout, the project root's `.env` when the command reads
/// `powersync/docker/.env` (made by `powersync docker configure` after `init` wrote the
/// key to the root `.env`) and only the root one names a signing key.
pub(crate) fn superseded_env(files: &Files, config: &Path, env: &EnvFile) -> Option<EnvFile> {
    if files.env_file.is_some()
        || !env.path.ends_with("powersync/docker/.env")
        || env
            .get(crate::envfile::KID_VAR)
            .is_some_and(|k| !k.is_empty())
    {
        return None;
    }
    let root = config.parent()?.parent()?.join(".env");
    let old = EnvFile::load(&root).ok()?;
    old.get(crate::envfile::KID_VAR)
        .is_some_and(|k| !k.is_empty())
        .then_some(old)
}

/// The `.env` a command reads: `--env-file`, else the one the service reads in the
/// official CLI's layout (`powersync/docker/.env` once `powersync docker configure` made
/// `powersync/docker/`), else `.env` in the folder the config was discovered from (the
/// project's root), else here.
pub(crate) fn env_path(files: &Files, config: &Path, found: &Found) -> PathBuf {
    if let Some(path) = &files.env_file {
        return path.clone();
    }
    if config.ends_with("powersync/service.yaml")
        && let Some(docker) = config.parent().map(|p| p.join("docker"))
        && docker.is_dir()
    {
        return docker.join(".env");
    }
    // The folder the search stood in: the config path less the candidate it matched (the
    // longest, so `config/powersync.yaml` is not taken for `powersync.yaml` in `config/`).
    let base = match found {
        Found::Discovered => {
            let mut candidates = config::CANDIDATES.to_vec();
            candidates.sort_by_key(|c| std::cmp::Reverse(c.len()));
            candidates
                .iter()
                .find(|c| config.ends_with(c))
                .and_then(|c| config.to_str()?.strip_suffix(c))
                .map(PathBuf::from)
        }
        _ => None,
    };
    base.unwrap_or_default().join(".env")
}

/// Opens the config (which must exist) and `.env` a command works on.
pub(crate) fn open(files: &Files) -> Result<Project> {
    let (config, env) = paths(files)?;
    Project::open(Some(&config), &env)
}

/// The config (which must exist) and `.env` a command works on, not read yet.
pub(crate) fn paths(files: &Files) -> Result<(PathBuf, PathBuf)> {
    let config = require_config_path(files.config.as_deref())?;
    let (_, found) = locate_config(files.config.as_deref())?;
    let env = env_path(files, &config, &found);
    Ok((config, env))
}

/// The process environment over this `.env`.
pub(crate) fn env_of(env: &EnvFile) -> Env {
    Env::new(env.vars().iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// The folder whose lock guards the project of `config`: the folder of the file itself
/// (a config symlinked from two projects is one file, guarded by one lock).
pub(crate) fn project_dir(config: &Path) -> PathBuf {
    let real = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    match real.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Takes the project's write lock before a command reads the files it will write (made
/// the config's folder when it does not exist yet).
pub(crate) fn lock_project(config: &Path) -> Result<crate::fsutil::Lock> {
    let dir = project_dir(config);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    let lock = crate::fsutil::Lock::acquire(&dir)?;
    if !lock.finished.is_empty() {
        let files: Vec<String> = lock
            .finished
            .iter()
            .map(|f| format!("`{}`", show(f)))
            .collect();
        errln!(
            "note: finished the write an interrupted pskeys run had begun ({}); restart the PowerSync Service if it runs, so it reads the new keys",
            files.join(", ")
        );
    }
    Ok(lock)
}

/// With the write lock held: removes the temporary files a killed run left beside `.env`
/// (a symlinked one lives in another folder than the config).
pub(crate) fn clean_env_folder(env_file: &Path) {
    let real = std::fs::canonicalize(env_file).unwrap_or_else(|_| env_file.to_path_buf());
    if let Some(dir) = real.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsutil::remove_old_stray_temps(dir);
    }
}

/// A reading command finishes a write an earlier run left half done (the lock is only
/// taken when there is one), so it never reads a half-updated pair of files.
fn finish_interrupted_write(config: &Path) -> Result<()> {
    let dir = project_dir(config);
    if !crate::fsutil::writing()
        && (dir.join(crate::fsutil::INTENT).exists() || crate::fsutil::has_stray_temps(&dir))
    {
        drop(lock_project(config)?);
    }
    Ok(())
}

/// The path of an existing config, for a command that needs one.
pub(crate) fn require_config_path(flag: Option<&Path>) -> Result<PathBuf> {
    let (path, found) = locate_config(flag)?;
    let named = match found {
        Found::Flag => Some("--config"),
        Found::EnvVar => Some("POWERSYNC_CONFIG_PATH"),
        Found::Discovered | Found::Missing => None,
    };
    if let Some(source) = named
        && !path.exists()
    {
        return Err(Error::usage(
            format!("`{}` (from {source}) does not exist", show(&path)),
            "check the path; `pskeys init --config PATH` creates a config there".to_string(),
        ));
    }
    if found != Found::Missing && path.exists() {
        finish_interrupted_write(&path)?;
    }
    if found == Found::Missing || !path.exists() {
        return Err(Error::usage(
            format!(
                "no PowerSync config found (looked for `{}`)",
                config::CANDIDATES.join("`, `")
            ),
            match config_above() {
                Some(above) => format!(
                    "`{0}` is in a parent folder, but outside a git repository pskeys looks only here: pass --config {0}",
                    above.display()
                ),
                None => "run `pskeys init` to create one, or pass --config PATH".to_string(),
            },
        ));
    }
    Ok(path)
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

/// The token from the argument, or from stdin for `-` / no argument when stdin is piped.
pub(crate) fn read_token(arg: Option<&str>, command: &str) -> Result<String> {
    use std::io::{IsTerminal as _, Read as _};
    let raw = match arg {
        Some(t) if t != "-" => t.to_string(),
        _ => {
            if arg.is_none() && std::io::stdin().is_terminal() {
                return Err(Error::usage(
                    "no token given",
                    format!(
                        "pass it as an argument, or pipe it: `pskeys mint --sub u | pskeys {command}`"
                    ),
                ));
            }
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::io("read", Path::new("<stdin>"), e))?;
            s
        }
    };
    let token = clean_token(&raw).to_string();
    if token.is_empty() {
        return Err(Error::usage("the token is empty", None));
    }
    Ok(token)
}

/// Strips `Bearer `/`Token ` and whitespace from a pasted token.
pub(crate) fn clean_token(raw: &str) -> &str {
    let mut t = raw.trim();
    // A whole header line copied from the browser's network panel or curl -v.
    if let Some(rest) = t
        .get(..14)
        .filter(|h| h.eq_ignore_ascii_case("authorization:"))
        .and_then(|_| t.get(14..))
    {
        t = rest.trim_start();
    }
    for prefix in ["Bearer ", "Token ", "bearer ", "token "] {
        if let Some(rest) = t.strip_prefix(prefix) {
            return rest.trim();
        }
    }
    t
}

/// A report line on stdout as [`crate::term::render`] shows it (see [`sayln!`]).
pub(crate) fn say_line(line: &str, wrapped: bool) {
    let text = crate::term::render(line, crate::term::Stream::Stdout, wrapped);
    write_stdout(format_args!("{text}"), true);
}

/// Writes to stdout; a closed pipe ends the process with 141 (128 + SIGPIPE), as a
/// program killed by SIGPIPE would, and any other write error with exit code 4.
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| {
            if newline {
                stdout.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| stdout.flush());
    if let Err(e) = written {
        stdout_failed(&e);
    }
}

/// Ends the process after a failed write to stdout: 141 (128 + SIGPIPE) when the reader
/// has gone, as a program killed by SIGPIPE would, else exit code 4.
pub(crate) fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(141);
    }
    errln!("error: cannot write to stdout: {e}");
    std::process::exit(crate::ExitCode::Io as i32);
}

#[cfg(test)]
mod tests {
    #[test]
    fn clean_token_takes_any_text() {
        assert_eq!(super::clean_token("Authorization: Bearer a.b.c"), "a.b.c");
        // A multi-byte character across the header's length is not a header (no panic).
        assert_eq!(super::clean_token("aaaaaaaaaaaaa€"), "aaaaaaaaaaaaa€");
        assert_eq!(super::clean_token("authorization:€x"), "€x");
    }
}
