//! File writes that cannot leave a half-written file: temp file in the same folder,
//! fsync, rename; several files written all-or-nothing; git-ignore checks.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// One file to write: its path, new bytes and, for new files, the mode to create it with.
#[derive(Debug, Clone)]
pub struct Write {
    /// The file.
    pub path: PathBuf,
    /// Its new content.
    pub content: String,
    /// Unix mode for a new file (an existing file keeps its own).
    pub new_mode: u32,
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `content` to `path` atomically, keeping an existing file's permissions.
pub fn atomic_write(path: &Path, content: &[u8], new_mode: u32) -> Result<()> {
    let dir = dir_of(path);
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create the folder of", path, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".pskeys-")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file next to", path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = match std::fs::metadata(path) {
            Ok(meta) => meta.permissions().mode() & 0o7777,
            Err(_) => new_mode,
        };
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("set permissions on a temporary file for", path, e))?;
    }
    #[cfg(not(unix))]
    let _ = new_mode;
    tmp.write_all(content)
        .map_err(|e| Error::io("write", path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("sync", path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes every file or none: when one fails, the ones already written are restored.
pub fn write_all(writes: &[Write]) -> Result<()> {
    let mut done: Vec<(&Write, Option<Vec<u8>>)> = Vec::new();
    for w in writes {
        let before = std::fs::read(&w.path).ok();
        if let Err(err) = atomic_write(&w.path, w.content.as_bytes(), w.new_mode) {
            for (prev, original) in done.into_iter().rev() {
                match original {
                    Some(bytes) => {
                        let _ = atomic_write(&prev.path, &bytes, prev.new_mode);
                    }
                    None => {
                        let _ = std::fs::remove_file(&prev.path);
                    }
                }
            }
            return Err(err);
        }
        done.push((w, before));
    }
    Ok(())
}

/// Whether a file is protected from being committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitStatus {
    /// Not inside a git work tree (or git is not installed).
    NoRepo,
    /// Ignored by git.
    Ignored,
    /// Inside a work tree and not ignored.
    NotIgnored,
    /// Already tracked by git.
    Tracked,
}

/// Asks git whether `path` is ignored or tracked.
pub fn git_status(path: &Path) -> GitStatus {
    let dir = dir_of(path);
    let Some(name) = path.file_name() else {
        return GitStatus::NoRepo;
    };
    let run = |args: &[&std::ffi::OsStr]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .and_then(|s| s.code())
    };
    let tracked = run(&[
        "ls-files".as_ref(),
        "--error-unmatch".as_ref(),
        "--".as_ref(),
        name,
    ]);
    match tracked {
        None | Some(128) => return GitStatus::NoRepo,
        Some(0) => return GitStatus::Tracked,
        _ => {}
    }
    match run(&["check-ignore".as_ref(), "-q".as_ref(), "--".as_ref(), name]) {
        Some(0) => GitStatus::Ignored,
        Some(1) => GitStatus::NotIgnored,
        _ => GitStatus::NoRepo,
    }
}

/// The permission bits of an existing file (unix), for warnings about loose `.env` modes.
pub fn mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
