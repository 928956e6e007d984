//! `pskeys mint --subs FILE` and `--count N`: a token per subject, one JSON line each
//! (`{"sub", "token", "expires_at"}`) in input order, for load tests that need a user per
//! connection. The key is prepared once; every core mints; memory stays flat in N.
//!
//! Subjects are checked first, all of them, while being copied to an unnamed temporary
//! file (stdin and `<(…)` are read once): a bad line stops the run, with its number, before
//! a token is printed. Then a reader thread cuts the subjects into blocks, one worker per
//! core mints blocks, and this thread writes them in order through one buffer.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::minter::{MintError, Minter, TokenSpec};
use crate::service::verify::Outcome;

/// Subjects per block: large enough that handing blocks around costs nothing, small
/// enough that blocks in flight stay a few MiB.
const BLOCK: usize = 4096;
/// The longest subject, in bytes (also for `mint --sub` and `serve`): the token travels in
/// a request header.
pub const MAX_SUBJECT: usize = 4096;
/// Subject bytes per block at most: long subjects make smaller blocks.
const BLOCK_BYTES: usize = 256 * 1024;

/// Where the subjects come from.
#[derive(Debug, Clone)]
pub enum Subjects {
    /// One per line of a file (`-`: stdin).
    Lines(PathBuf),
    /// `PREFIX1` … `PREFIXN`.
    Count {
        /// How many.
        n: u64,
        /// What comes before the number.
        prefix: String,
    },
}

/// The subjects, checked, ready to be cut into blocks.
enum Source {
    Spool(BufReader<std::fs::File>),
    Count { next: u64, n: u64, prefix: String },
}

impl Source {
    fn block(&mut self) -> std::io::Result<Vec<String>> {
        let mut block = Vec::with_capacity(BLOCK);
        match self {
            Source::Count { next, n, prefix } => {
                let most = BLOCK.min(BLOCK_BYTES / (prefix.len() + 20));
                while block.len() < most.max(1) && *next < *n {
                    *next += 1;
                    block.push(format!("{prefix}{next}"));
                }
            }
            Source::Spool(r) => {
                let mut line = String::new();
                let mut bytes = 0;
                while block.len() < BLOCK && bytes < BLOCK_BYTES {
                    line.clear();
                    if r.read_line(&mut line)? == 0 {
                        break;
                    }
                    line.pop();
                    bytes += line.len();
                    block.push(line.clone());
                }
            }
        }
        Ok(block)
    }
}

/// Mints a token for every subject with `spec` (its `sub` aside) and prints the lines.
pub fn run(minter: &Minter, spec: &TokenSpec, subjects: Subjects) -> Result<()> {
    let (mut source, first) = match subjects {
        Subjects::Lines(path) => {
            let (spool, first) = spool(&path)?;
            (
                Source::Spool(BufReader::with_capacity(1 << 16, spool)),
                first,
            )
        }
        Subjects::Count { n, prefix } => {
            let first = format!("{prefix}1");
            crate::cmd::check_text("--sub-prefix", &prefix)?;
            if prefix.len() + 20 > MAX_SUBJECT {
                return Err(Error::usage(
                    format!("--sub-prefix is longer than {} bytes", MAX_SUBJECT - 20),
                    "a user id is a short identifier".to_string(),
                ));
            }
            (Source::Count { next: 0, n, prefix }, first)
        }
    };
    // The very check `mint` makes, once: tokens differ only in `sub`, which the service
    // takes as it is.
    let mut probe = spec.clone();
    probe.sub = first;
    let now = crate::now();
    let minted = minter.mint(&probe, now)?;
    if let Outcome::Rejected(r) = minter.verify(&minted.token, now).outcome {
        return Err(Error::Rejected(r));
    }
    pipeline(minter, spec, &mut source)
}

/// Copies the subjects to an unnamed temporary file, checking each line; returns it
/// rewound, with the first subject.
fn spool(path: &Path) -> Result<(std::fs::File, String)> {
    let stdin = path == Path::new("-");
    let name = if stdin {
        "stdin".to_string()
    } else {
        format!("`{}`", crate::cmd::show(path))
    };
    let input: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::usage(
                format!("--subs {name} is a folder"),
                "pass a file with one subject per line, or - for stdin".to_string(),
            ));
        }
        Box::new(file)
    };
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut out = std::io::BufWriter::new(
        tempfile::tempfile().map_err(|e| Error::io("create", &std::env::temp_dir(), e))?,
    );
    let io = |e| Error::io("read", path, e);
    let mut raw = Vec::new();
    let mut first = None;
    for number in 1.. {
        raw.clear();
        let read = (&mut input)
            .take(MAX_SUBJECT as u64 + 2)
            .read_until(b'\n', &mut raw)
            .map_err(io)?;
        if read == 0 {
            break;
        }
        // A byte order mark (Windows editors) is not part of the first subject.
        let line = match raw.strip_prefix("\u{feff}".as_bytes()) {
            Some(rest) if number == 1 => rest,
            _ => &raw[..],
        };
        let subject = check_line(line, number, &name)?;
        if first.is_none() {
            first = Some(subject.to_string());
        }
        out.write_all(subject.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(io)?;
    }
    let Some(first) = first else {
        return Err(Error::usage(
            format!("--subs {name} holds no subject"),
            "one subject (user id) per line".to_string(),
        ));
    };
    let mut file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.rewind().map_err(io)?;
    Ok((file, first))
}

/// One line of `--subs`: its subject, or why not (with the line number).
fn check_line<'a>(raw: &'a [u8], number: usize, name: &str) -> Result<&'a str> {
    let bad = |problem: String| {
        Error::usage(
            format!("--subs {name} line {number}: {problem}"),
            "one subject (user id) per line, as text without control characters; fix that line (nothing was printed)".to_string(),
        )
    };
    let line = raw.strip_suffix(b"\n").unwrap_or(raw);
    if line.len() == raw.len() && raw.len() > MAX_SUBJECT {
        return Err(bad(format!("longer than {MAX_SUBJECT} bytes")));
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| bad("not UTF-8 text".to_string()))?;
    if text.is_empty() {
        return Err(bad("empty".to_string()));
    }
    if text.len() > MAX_SUBJECT {
        return Err(bad(format!("longer than {MAX_SUBJECT} bytes")));
    }
    crate::cmd::check_text("the subject", text).map_err(|e| bad(e.to_string()))?;
    Ok(text)
}

type Done = (u64, std::result::Result<Vec<u8>, MintError>);

/// Reader thread → one worker per core → this thread, in order. Channels are bounded, so
/// at most a few blocks per worker are in memory.
fn pipeline(minter: &Minter, spec: &TokenSpec, source: &mut Source) -> Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (work_tx, work_rx) = sync_channel::<(u64, Vec<String>)>(workers * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = sync_channel::<Done>(workers * 2);
    // Blocks between the reader and the writer, at most: one credit per block, given back
    // when it is written, so a slow block never lets the others pile up behind it.
    let window = workers * 3;
    let (credit_tx, credit_rx) = sync_channel::<()>(window);
    for _ in 0..window {
        let _ = credit_tx.send(());
    }
    // `move`: on an early return the channels this thread holds close before the scope
    // joins the threads, so none of them waits forever.
    std::thread::scope(move |s| {
        let reader = s.spawn(move || -> std::io::Result<()> {
            for index in 0.. {
                if credit_rx.recv().is_err() {
                    break;
                }
                let block = source.block()?;
                if block.is_empty() || work_tx.send((index, block)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        for _ in 0..workers {
            let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
            s.spawn(move || work(minter, spec, &work_rx, &done_tx));
        }
        drop((work_rx, done_tx));
        write_in_order(done_rx, &credit_tx)?;
        drop(credit_tx);
        match reader.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::io("read", Path::new("the subjects"), e)),
            Err(_) => Err(Error::usage("the subject reader failed", None)),
        }
    })
}

fn work(
    minter: &Minter,
    spec: &TokenSpec,
    jobs: &Mutex<Receiver<(u64, Vec<String>)>>,
    done: &SyncSender<Done>,
) {
    let mut spec = spec.clone();
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((index, subjects)) = job else { return };
        if done
            .send((index, mint_block(minter, &mut spec, subjects)))
            .is_err()
        {
            return;
        }
    }
}

/// The JSON lines of one block (`sub`, `token`, `expires_at`), minted at one instant.
fn mint_block(
    minter: &Minter,
    spec: &mut TokenSpec,
    subjects: Vec<String>,
) -> std::result::Result<Vec<u8>, MintError> {
    let now = crate::now();
    let exp = now
        .checked_add(spec.lifetime)
        .ok_or(MintError::TimeOutOfRange)?;
    let expires_at = rfc3339(exp);
    let mut out = Vec::with_capacity(subjects.len() * 320);
    for subject in subjects {
        spec.sub = subject;
        let minted = minter.mint(spec, now)?;
        out.extend_from_slice(b"{\"sub\":");
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, &spec.sub);
        out.extend_from_slice(b",\"token\":\"");
        out.extend_from_slice(minted.token.as_bytes());
        out.extend_from_slice(b"\",\"expires_at\":\"");
        out.extend_from_slice(expires_at.as_bytes());
        out.extend_from_slice(b"\"}\n");
    }
    Ok(out)
}

/// Writes blocks as they come, each in its turn; the first error stops the run (the
/// workers then stop at their next block).
fn write_in_order(done: Receiver<Done>, credits: &SyncSender<()>) -> Result<()> {
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut waiting = BTreeMap::new();
    let mut next = 0;
    for (index, block) in done {
        waiting.insert(index, block);
        while let Some(block) = waiting.remove(&next) {
            let bytes = block?;
            if let Err(e) = stdout.write_all(&bytes) {
                crate::cmd::stdout_failed(&e);
            }
            let _ = credits.try_send(());
            next += 1;
        }
    }
    if let Err(e) = stdout.flush() {
        crate::cmd::stdout_failed(&e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_checked_with_their_number() {
        assert_eq!(check_line(b"user-1\n", 1, "f").unwrap(), "user-1");
        assert_eq!(check_line(b"user-1\r\n", 1, "f").unwrap(), "user-1");
        assert_eq!(check_line(b"last", 9, "f").unwrap(), "last");
        for (raw, why) in [
            (&b"\n"[..], "empty"),
            (b"\r\n", "empty"),
            (b"a\tb\n", "control"),
            (b"a\x1b[31m\n", "control"),
            (b"\xff\xfe\n", "UTF-8"),
        ] {
            let e = check_line(raw, 7, "`subs.txt`").unwrap_err().to_string();
            assert!(e.contains("line 7"), "{e}");
            assert!(e.contains(why), "{e}");
        }
        let long = vec![b'a'; MAX_SUBJECT + 1];
        assert!(check_line(&long, 1, "f").is_err());
    }
}
