//! The server's log on stderr: one line per request and per event, text or JSON, written
//! by one thread through a buffer (requests never wait for the terminal). Paths and
//! subjects are escaped; query strings, bodies, tokens and secrets are never logged.

use std::io::Write as _;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::error::printable_line;

/// Where log lines go.
#[derive(Debug, Clone)]
pub(crate) struct Log {
    tx: Sender<String>,
    json: bool,
    quiet: bool,
}

/// The writer thread; [`Writer::finish`] writes what is left.
#[derive(Debug)]
pub(crate) struct Writer(JoinHandle<()>);

impl Writer {
    /// Waits until every line sent is written (every [`Log`] must be dropped first).
    pub fn finish(self) {
        let _ = self.0.join();
    }
}

/// A log and its writer thread.
pub(crate) fn start(json: bool, quiet: bool) -> (Log, Writer) {
    let (tx, rx) = channel();
    let handle = std::thread::spawn(move || write_lines(&rx));
    (Log { tx, json, quiet }, Writer(handle))
}

/// How long the writer rests after a write: lines sent meanwhile go out in the next one.
/// Without the rest the writer woke for nearly every request (a context switch and a
/// `write` each: 9–14 µs of CPU per request, 14–24% of a loaded ES256 server's throughput).
const BATCH: Duration = Duration::from_millis(2);

fn write_lines(rx: &Receiver<String>) {
    let mut err = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr());
    while let Ok(line) = rx.recv() {
        let _ = err.write_all(line.as_bytes());
        // Everything already queued goes in the same write.
        while let Ok(more) = rx.try_recv() {
            let _ = err.write_all(more.as_bytes());
        }
        let _ = err.flush();
        std::thread::sleep(BATCH);
    }
}

/// One request, as logged.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub sub: Option<&'a str>,
}

/// The longest subject logged (longer ones end with `…`).
const SUB_LIMIT: usize = 80;

impl Log {
    /// Whether lines are JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// A request line: time, method, path, status, latency, subject.
    pub fn request(&self, r: &Request<'_>) {
        if self.quiet {
            return;
        }
        let ms = r.latency.as_secs_f64() * 1000.0;
        let sub = r.sub.map(|s| match s.char_indices().nth(SUB_LIMIT) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.to_string(),
        });
        let line = if self.json {
            json!({
                "time": rfc3339(crate::now()),
                "method": r.method,
                "path": r.path,
                "status": r.status,
                "latency_ms": (ms * 1000.0).round() / 1000.0,
                "sub": sub,
            })
            .to_string()
        } else {
            // Quoted and escaped: a subject cannot forge the rest of the line.
            let sub = sub.map_or_else(String::new, |s| format!(" sub={s:?}"));
            // A path with anything but the usual characters is quoted, so it cannot pass
            // for another field of the line.
            let plain = r
                .path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._~%-+,;:@!$&'()*=".contains(&b))
                && !r.path.contains("sub=");
            let path = if plain {
                r.path.to_string()
            } else {
                format!("{:?}", r.path)
            };
            format!(
                "{} {} {} {} {ms:.2}ms{sub}",
                rfc3339(crate::now()),
                r.method,
                printable_line(&path),
                r.status
            )
        };
        self.send(line);
    }

    /// An event (start, reload, warning, stop): `level` is `info`, `warning` or `error`;
    /// `fields` are added to the JSON form.
    pub fn event(&self, level: &str, message: &str, fields: Value) {
        let line = if self.json {
            let mut v = json!({"time": rfc3339(crate::now()), "level": level, "message": message});
            if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), fields) {
                v.extend(extra);
            }
            v.to_string()
        } else if level == "info" {
            printable_line(message).into_owned()
        } else {
            format!("{level}: {}", printable_line(message))
        };
        self.send(line);
    }

    fn send(&self, mut line: String) {
        line.push('\n');
        let _ = self.tx.send(line);
    }
}
