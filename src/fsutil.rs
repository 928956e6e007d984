//! File writes that cannot leave a half-written file: temp file in the same folder,
//! fsync, rename; several files written all-or-nothing; git-ignore checks.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// One file to write: its path, what it held when read, its new bytes and, for new
/// files, the mode to create it with.
#[derive(Debug, Clone)]
pub struct Write {
    /// The file (a symlink is written through, to its target).
    pub path: PathBuf,
    /// Its text when pskeys read it (`None`: it did not exist); checked again just before
    /// writing, so another program's edit in between is never lost.
    pub before: Option<String>,
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

/// The largest config pskeys reads (the service's are a few KiB): a bigger file is
/// refused at once rather than parsed for minutes.
pub const CONFIG_LIMIT: u64 = 4 << 20;
/// The largest `.env` pskeys reads.
pub const ENV_LIMIT: u64 = 4 << 20;

/// Reads a regular file of at most `limit` bytes; `Ok(None)` when it does not exist. A
/// FIFO, a device or a folder is refused before it is opened (a FIFO would block, a
/// device never end), a bigger file after `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let refuse = |message: String| Error::Unwritable {
        path: path.to_path_buf(),
        message,
        hint:
            "check that this is the PowerSync config (--config) or the .env (--env-file) you meant"
                .into(),
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    if !meta.is_file() {
        return Err(refuse(
            "not a regular file (a folder, a FIFO or a device); pskeys reads only regular files"
                .into(),
        ));
    }
    // Opened without blocking (a FIFO swapped in after the check above would wait for a
    // writer, with the project's lock held) and checked again on the opened file itself.
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| Error::io("read", path, e))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(refuse(
            "not a regular file (a folder, a FIFO or a device); pskeys reads only regular files"
                .into(),
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > limit {
        return Err(refuse(format!(
            "larger than {} MiB; no PowerSync config or .env is that big",
            limit >> 20
        )));
    }
    Ok(Some(bytes))
}

/// The record of a write in progress, in the config's folder: `target<TAB>temp` lines,
/// written once every new file is complete on disk.
pub const INTENT: &str = ".pskeys-intent";
/// The prefix of pskeys' temporary files (the new content before it is renamed in place).
pub const TEMP_PREFIX: &str = ".pskeys-";

/// The project's write lock: an advisory lock on the config's folder, held from reading
/// the files to writing them, so concurrent pskeys runs take turns instead of losing
/// each other's changes. Released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    /// The locked folder; `None` for a shared lock inside a run that holds the write lock.
    dir: Option<std::fs::File>,
    /// Whether this is the write lock (counted in [`WRITING`]).
    exclusive: bool,
    /// Files an interrupted earlier run had left, put in place when the lock was taken.
    pub finished: Vec<PathBuf>,
}

/// Write locks this process holds: a shared lock taken under one would wait for itself.
static WRITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether `dir` holds temporary files a killed run left.
pub fn has_stray_temps(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp")
        })
    })
}

/// Whether this process holds a write lock.
pub fn writing() -> bool {
    WRITING.load(std::sync::atomic::Ordering::SeqCst) > 0
}

impl Drop for Lock {
    fn drop(&mut self) {
        if self.exclusive {
            WRITING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
        drop(self.dir.take());
    }
}

impl Lock {
    /// Waits for the lock on `dir` (another pskeys writing there), then finishes a write an
    /// earlier run left half done and removes its stray temporary files.
    pub fn acquire(dir: &Path) -> Result<Lock> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let handle = std::fs::File::open(dir).map_err(|e| Error::io("lock", dir, e))?;
        handle.lock().map_err(|e| Error::io("lock", dir, e))?;
        WRITING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut lock = Lock {
            dir: Some(handle),
            exclusive: true,
            finished: Vec::new(),
        };
        lock.finished = finish_interrupted(dir)?;
        Ok(lock)
    }
}

impl Lock {
    /// A shared lock on `dir` for reading the config and `.env` as one pair: it waits
    /// while a writer holds the lock, so a reader never sees one file new and the other
    /// old. Several readers share it.
    pub fn shared(dir: &Path) -> Result<Lock> {
        if WRITING.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            // This run is the writer: nothing can change under it.
            return Ok(Lock {
                dir: None,
                exclusive: false,
                finished: Vec::new(),
            });
        }
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let handle = std::fs::File::open(dir).map_err(|e| Error::io("lock", dir, e))?;
        handle
            .lock_shared()
            .map_err(|e| Error::io("lock", dir, e))?;
        Ok(Lock {
            dir: Some(handle),
            exclusive: false,
            finished: Vec::new(),
        })
    }
}

/// Puts in place what an interrupted write left (its intent record says which complete
/// files go where), and removes temporary files no write is using. Call with the lock
/// held; returns the files it finished.
pub fn finish_interrupted(dir: &Path) -> Result<Vec<PathBuf>> {
    let intent = dir.join(INTENT);
    let record = match std::fs::symlink_metadata(&intent) {
        Ok(m) if m.is_file() => {
            std::fs::read(&intent).map_err(|e| Error::io("read", &intent, e))?
        }
        // Not a regular file: not a record pskeys wrote.
        Ok(_) => Vec::new(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            remove_stray_temps(dir);
            return Ok(Vec::new());
        }
        Err(e) => return Err(Error::io("read", &intent, e)),
    };
    let entries = parse_intent(&record);
    let mut finished = Vec::new();
    // Only a record pskeys could have written is replayed: each new file is one of its
    // temporary files, a regular file beside its target (a record committed to a
    // repository cannot name `.git/hooks/pre-commit`: no such temporary file can be there).
    if entries.iter().all(|(target, temp)| plausible(target, temp)) {
        let all_staged = entries.iter().all(|(_, temp)| temp.exists());
        for (i, (target, temp)) in entries.iter().enumerate() {
            if !temp.exists() {
                continue;
            }
            if let Err(e) = std::fs::rename(temp, target) {
                if i == 0 && all_staged {
                    // Nothing was put in place yet: undone instead, both files as they were.
                    for (_, temp) in &entries {
                        let _ = std::fs::remove_file(temp);
                    }
                    break;
                }
                return Err(Error::io("finish the interrupted write of", target, e));
            }
            sync_dir(dir_of(target));
            finished.push(target.clone());
        }
    }
    std::fs::remove_file(&intent).map_err(|e| Error::io("remove", &intent, e))?;
    sync_dir(dir);
    remove_stray_temps(dir);
    Ok(finished)
}

/// `target NUL temp NUL` pairs (NUL is the one byte no path holds).
fn parse_intent(record: &[u8]) -> Vec<(PathBuf, PathBuf)> {
    let parts: Vec<&[u8]> = record
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .collect();
    parts
        .chunks_exact(2)
        .map(|pair| (path_of(pair[0]), path_of(pair[1])))
        .collect()
}

#[cfg(unix)]
fn path_of(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(unix)]
fn bytes_of(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt as _;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn bytes_of(path: &Path) -> Vec<u8> {
    path.to_string_lossy().as_bytes().to_vec()
}

/// Whether an intent entry is one pskeys writes: an absolute target, and beside it one of
/// pskeys' temporary files; each a regular file (not a link) or not there.
fn plausible(target: &Path, temp: &Path) -> bool {
    let name = temp
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plain = |p: &Path| {
        p.is_absolute()
            && p.components()
                .all(|c| !matches!(c, std::path::Component::ParentDir))
    };
    plain(target)
        && plain(temp)
        && name.starts_with(TEMP_PREFIX)
        && name.ends_with(".tmp")
        && temp.parent() == target.parent()
        && file_or_absent(temp)
        && file_or_absent(target)
}

/// A regular file (not a link, a folder, a FIFO), or nothing (a temporary file already
/// renamed, a target written for the first time).
fn file_or_absent(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) => m.is_file(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Temporary files of runs that died before writing their intent: never put in place.
/// Call with the lock held.
pub fn remove_stray_temps(dir: &Path) {
    remove_temps_older_than(dir, std::time::Duration::ZERO);
}

/// In a folder another project's pskeys may be writing to (a shared dotfiles folder
/// holding several `.env`s), only temporary files older than a minute are strays: a live
/// run's are seconds old at most.
pub fn remove_old_stray_temps(dir: &Path) {
    remove_temps_older_than(dir, std::time::Duration::from_secs(60));
}

fn remove_temps_older_than(dir: &Path, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let old = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|e| e >= age)
        };
        if name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp") && (age.is_zero() || old()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The file a write lands in: the target of a symlink (the link is kept), else the path.
fn target_of(path: &Path) -> Result<PathBuf> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            let link = std::fs::read_link(path).map_err(|e| Error::io("read the link", path, e))?;
            let target = dir_of(path).join(link);
            // A chain of links ends in one file, whose folder must exist.
            match std::fs::canonicalize(&target) {
                Ok(t) => Ok(t),
                Err(_) => target_of(&target),
            }
        }
        _ => Ok(path.to_path_buf()),
    }
}

/// Refuses what pskeys must not replace: anything but a regular file, a read-only file,
/// and a file changed since it was read.
fn check_target(w: &Write, target: &Path) -> Result<Option<std::fs::Metadata>> {
    let unwritable = |message: String, hint: &str| Error::Unwritable {
        path: w.path.clone(),
        message,
        hint: hint.to_string(),
    };
    let meta = match std::fs::metadata(target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("inspect", &w.path, e)),
    };
    if let Some(m) = &meta {
        if !m.is_file() {
            return Err(unwritable(
                "not a regular file (a folder, a FIFO or a device); pskeys writes only regular files".into(),
                "pass --config/--env-file pointing at a regular file",
            ));
        }
        // An immutable file (`chattr +i`) has write bits but cannot be replaced: opening
        // it for appending (which changes nothing) finds out before anything is written.
        #[cfg(unix)]
        if !m.permissions().readonly()
            && let Err(e) = std::fs::OpenOptions::new().append(true).open(target)
            && e.kind() == std::io::ErrorKind::PermissionDenied
        {
            return Err(unwritable(
                format!("the file cannot be written ({e})"),
                "check its permissions and attributes (`lsattr`), or pass another path",
            ));
        }
        if m.permissions().readonly() {
            return Err(unwritable(
                "the file is read-only; pskeys does not replace it".into(),
                "make it writable (`chmod u+w`) if pskeys should change it, or pass another path",
            ));
        }
    }
    unchanged(w, target)?;
    Ok(meta)
}

/// Refuses a file whose bytes are no longer what pskeys read.
fn unchanged(w: &Write, target: &Path) -> Result<()> {
    let now = read_regular(target, CONFIG_LIMIT)?;
    if now.as_deref() != w.before.as_ref().map(|b| b.as_bytes()) {
        return Err(Error::Unwritable {
            path: w.path.clone(),
            message: "the file changed since pskeys read it (another program or editor wrote it); nothing was written".into(),
            hint: "run the command again: it reads the file as it is now".into(),
        });
    }
    Ok(())
}

/// A complete new file beside its target: created 0600 (it may hold a secret), written,
/// synced, then given the target's mode and owner.
fn stage(w: &Write, target: &Path, meta: Option<&std::fs::Metadata>) -> Result<PathBuf> {
    let dir = dir_of(target);
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create the folder of", &w.path, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file next to", &w.path, e))?;
    tmp.write_all(w.content.as_bytes())
        .map_err(|e| Error::io("write", &w.path, e))?;
    fault("write", &w.path)?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("sync", &w.path, e))?;
    fault("sync", &w.path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let mode = meta.map_or(w.new_mode, |m| m.permissions().mode() & 0o7777);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("set permissions on a temporary file for", &w.path, e))?;
        // `sudo pskeys init` keeps the user's file the user's, and a new file goes to
        // the owner of its folder; without the right to give it away, it is ours already.
        let owner = match meta {
            Some(m) => Some((m.uid(), m.gid())),
            None => std::fs::metadata(dir).ok().map(|d| (d.uid(), d.gid())),
        };
        if let Some((uid, gid)) = owner {
            let _ = std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let (_, path) = tmp
        .keep()
        .map_err(|e| Error::io("keep a temporary file for", &w.path, e.error))?;
    Ok(path)
}

/// Writes every file or none. With the project's [`Lock`] held: each target is checked
/// (a regular, writable file holding what was read), each new content is staged complete
/// beside its target, an intent record in `intent_dir` lists them, then each is renamed
/// in place and the record removed. A failure before the record leaves every file as it
/// was; one after it is finished by the next run ([`finish_interrupted`]).
pub fn write_all(writes: &[Write], intent_dir: &Path) -> Result<()> {
    let plan = checked(writes)?;
    let staged = staged(&plan, intent_dir)?;
    put_in_place(&staged, intent_dir)
}

/// A checked write: its target (a symlink's), the write, the target's metadata if any.
type Checked<'a> = (PathBuf, &'a Write, Option<std::fs::Metadata>);

/// Every write checked before anything is staged: its size, its path, its target.
fn checked(writes: &[Write]) -> Result<Vec<Checked<'_>>> {
    let mut plan: Vec<Checked<'_>> = Vec::new();
    for w in writes {
        let unwritable = |message: &str, hint: &str| Error::Unwritable {
            path: w.path.clone(),
            message: message.to_string(),
            hint: hint.to_string(),
        };
        // What pskeys writes it must be able to read back.
        if w.content.len() as u64 > CONFIG_LIMIT {
            return Err(unwritable(
                "the new content would be larger than 4 MiB, which pskeys would then refuse to read",
                "remove what the file does not need (retired keys, old variables)",
            ));
        }
        // `missing/../.env` names `.env` to people but nothing to the file system: a
        // fresh file there would replace the real one unseen.
        if w.path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
            && !dir_of(&w.path).exists()
        {
            return Err(unwritable(
                "the path goes through a folder that does not exist (`…/../`)",
                "pass the path without `..`",
            ));
        }
        let target = target_of(&w.path)?;
        if plan.iter().any(|(t, ..)| same_file(t, &target)) {
            return Err(unwritable(
                "it is also another file pskeys writes in this run (the config and .env must be two files)",
                "pass --config and --env-file naming two different files",
            ));
        }
        let meta = check_target(w, &target)?;
        plan.push((target, w, meta));
    }
    Ok(plan)
}

/// Each new content complete beside its target and the intent record naming them, the
/// targets checked once more; on any failure nothing is left behind.
fn staged(plan: &[Checked<'_>], intent_dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    // Temporary files a killed run left beside any target (a symlinked `.env` lives in
    // another folder) go now: they may hold secrets.
    for (target, ..) in plan {
        let dir = dir_of(target);
        if same_file(dir, intent_dir) {
            remove_stray_temps(dir);
        } else {
            remove_old_stray_temps(dir);
        }
    }
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let undo = |staged: &[(PathBuf, PathBuf)], e: Error| {
        let _ = std::fs::remove_file(intent_dir.join(INTENT));
        for (_, temp) in staged {
            let _ = std::fs::remove_file(temp);
        }
        Err(e)
    };
    for (target, w, meta) in plan {
        match stage(w, target, meta.as_ref()) {
            Ok(temp) => staged.push((target.clone(), temp)),
            Err(e) => return undo(&staged, e),
        }
    }
    if let Err(e) = record_intent(intent_dir, &staged) {
        return undo(&staged, e);
    }
    // Checked again right before the renames (staging and syncing take time on a slow
    // disk): an editor's save in between stops the run, nothing written.
    for (target, w, _) in plan {
        if let Err(e) = unchanged(w, target) {
            return undo(&staged, e);
        }
    }
    Ok(staged)
}

/// The renames: from here the write is decided, every file goes in place, now or on the
/// next run.
fn put_in_place(staged: &[(PathBuf, PathBuf)], intent_dir: &Path) -> Result<()> {
    for (target, temp) in staged {
        let renamed = fault("rename", target)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|()| std::fs::rename(temp, target));
        if let Err(source) = renamed {
            if target == &staged[0].0 {
                // Nothing is in place yet (an immutable file, say): undone, so the run
                // truthfully changed nothing.
                let _ = std::fs::remove_file(intent_dir.join(INTENT));
                for (_, temp) in staged {
                    let _ = std::fs::remove_file(temp);
                }
                return Err(Error::io("replace", target, source));
            }
            return Err(Error::Interrupted {
                files: staged.iter().map(|(t, _)| t.clone()).collect(),
                source,
            });
        }
        sync_dir(dir_of(target));
    }
    // Every file is in place: a record that cannot be removed now is removed by the next
    // run (its temporary files are gone, so nothing is redone), not an error that would
    // claim nothing changed.
    let _ = std::fs::remove_file(intent_dir.join(INTENT));
    sync_dir(intent_dir);
    Ok(())
}

/// The intent record, written whole (temp file, sync, rename) or not at all.
fn record_intent(dir: &Path, staged: &[(PathBuf, PathBuf)]) -> Result<()> {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut text: Vec<u8> = Vec::new();
    for (t, tmp) in staged {
        for p in [abs(t), abs(tmp)] {
            text.extend(bytes_of(&p));
            text.push(0);
        }
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(&text)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write the intent record in", dir, e))?;
    fault("intent", dir)?;
    tmp.persist(dir.join(INTENT))
        .map_err(|e| Error::io("write the intent record in", dir, e.error))?;
    sync_dir(dir);
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
    }
}

/// Test builds only: `PSKEYS_FAULT=<step>` (`write`, `sync`, `intent`, `rename`, or
/// `rename2` for the second rename) makes that step fail (`slow` makes syncing slow), so the tests can prove every
/// failure leaves a state that works or that the next run finishes.
#[cfg(debug_assertions)]
fn fault(step: &str, path: &Path) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static RENAMES: AtomicUsize = AtomicUsize::new(0);
    let Ok(wanted) = std::env::var("PSKEYS_FAULT") else {
        return Ok(());
    };
    if wanted == "slow" && step == "sync" {
        // A slow disk: the window an editor's save can fall into.
        std::thread::sleep(std::time::Duration::from_millis(400));
        return Ok(());
    }
    let hit = match step {
        "rename" => {
            let n = RENAMES.fetch_add(1, Ordering::SeqCst) + 1;
            wanted == "rename" && n == 1 || wanted == "rename2" && n == 2
        }
        _ => wanted == step,
    };
    if hit {
        return Err(Error::io(
            "write (injected fault)",
            path,
            std::io::Error::other(format!("PSKEYS_FAULT={wanted}")),
        ));
    }
    Ok(())
}

#[cfg(not(debug_assertions))]
fn fault(_: &str, _: &Path) -> Result<()> {
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
