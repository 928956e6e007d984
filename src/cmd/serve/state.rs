//! What the server serves: the minter and the public keys, loaded from the project's
//! config and `.env`, and loaded again when either file changes (`init --rotate`,
//! `keys retire`). A request holds the set it started with, so a reload drops none.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use bytes::Bytes;
use serde_json::json;

use crate::cli::Files;
use crate::cmd::keys::{Published, published};
use crate::cmd::mint::minter_for;
use crate::cmd::{diagnostics, show};
use crate::error::{Error, Result};
use crate::minter::{Minter, TokenSpec};
use crate::service::verify::Outcome;

/// One loaded set of keys.
#[derive(Debug)]
pub(crate) struct Keys {
    /// Signs the tokens (the key `PSKEYS_KID` names).
    pub minter: Minter,
    /// `{"keys": [...]}`, serialised once.
    pub jwks: Bytes,
    /// The published kids, for messages.
    pub published: Vec<String>,
    /// Their algorithms, each once (for OpenID discovery).
    pub algs: Vec<String>,
    /// HMAC keys left out of the JWKS.
    pub hmac: usize,
    /// The service URL returned with each token.
    pub endpoint: String,
    /// What the service would hold against the config although it accepts the tokens.
    pub warnings: Vec<String>,
    /// The files read, to watch.
    pub files: Vec<PathBuf>,
    /// What they looked like just before they were read.
    pub stamp: Stamp,
}

/// The current keys, swapped whole on reload.
#[derive(Debug)]
pub(crate) struct Current {
    keys: RwLock<Arc<Keys>>,
    /// Why the files on disk did not load at the last change (the keys before stay).
    stale: RwLock<Option<serde_json::Value>>,
}

impl Current {
    pub fn new(keys: Keys) -> Current {
        Current {
            keys: RwLock::new(Arc::new(keys)),
            stale: RwLock::new(None),
        }
    }

    /// The error of the last reload, while the files still do not load.
    pub fn stale(&self) -> Option<serde_json::Value> {
        match self.stale.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set_stale(&self, error: Option<serde_json::Value>) {
        match self.stale.write() {
            Ok(mut s) => *s = error,
            Err(poisoned) => *poisoned.into_inner() = error,
        }
    }

    /// The keys a request uses from start to end.
    pub fn get(&self) -> Arc<Keys> {
        match self.keys.read() {
            Ok(k) => Arc::clone(&k),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn set(&self, keys: Keys) {
        let keys = Arc::new(keys);
        match self.keys.write() {
            Ok(mut k) => *k = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }
}

/// Reads the project as `mint` does and prepares everything a request needs. A token is
/// minted and verified against the config once here: a key the service would refuse
/// never starts (or replaces) a server.
pub(crate) fn load(files: &Files, endpoint: Option<&str>) -> Result<Keys> {
    let (config, env) = crate::cmd::paths(files)?;
    // Taken before reading: a change while reading is seen by the next check.
    let watched = vec![config.clone(), env.clone()];
    let stamp = stamp(&watched);
    let project = crate::Project::open(Some(&config), &env)?;
    let (minter, warnings) = minter_for(&project, files, None)?;
    let endpoint = match endpoint {
        Some(e) => e.to_string(),
        None => diagnostics::local_endpoint(&project)?,
    };
    let now = crate::now();
    let probe = minter.mint(&TokenSpec::new("pskeys-serve-check").lifetime(60), now)?;
    if let Outcome::Rejected(r) = minter.verify(&probe.token, now).outcome {
        return Err(Error::Rejected(r));
    }
    let Published { keys, hmac } = published(project.config(), project.env_file())?;
    let member = |name: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in keys.iter().filter_map(|k| k.get(name)?.as_str()) {
            if !out.iter().any(|o| o == v) {
                out.push(v.to_string());
            }
        }
        out
    };
    let (kids, algs) = (member("kid"), member("alg"));
    let jwks = serde_json::to_vec(&json!({ "keys": keys })).unwrap_or_default();
    Ok(Keys {
        minter,
        jwks: Bytes::from(jwks),
        published: kids,
        algs,
        hmac,
        endpoint,
        warnings,
        files: watched,
        stamp,
    })
}

/// What a file looked like: a change to any of these is a change of the file (an atomic
/// rename gives a new inode, an edit in place a new mtime or size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp(Vec<Option<(SystemTime, u64, u64)>>);

/// The stamps of `files`, following symlinks (a missing file is `None`).
pub(crate) fn stamp(files: &[PathBuf]) -> Stamp {
    Stamp(
        files
            .iter()
            .map(|f| {
                let m = std::fs::metadata(f).ok()?;
                #[cfg(unix)]
                let ino = std::os::unix::fs::MetadataExt::ino(&m);
                #[cfg(not(unix))]
                let ino = 0;
                Some((m.modified().ok()?, m.len(), ino))
            })
            .collect(),
    )
}

/// A one-line summary of a key set, for the start and reload messages.
pub(crate) fn summary(keys: &Keys) -> String {
    let published = match keys.published.as_slice() {
        [] => "no public key published".to_string(),
        kids => format!(
            "publishing {}",
            kids.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let hmac = match keys.hmac {
        0 => String::new(),
        1 => " (1 HMAC key never published)".to_string(),
        n => format!(" ({n} HMAC keys never published)"),
    };
    format!(
        "signing with `{}` ({}), {published}{hmac}; config `{}`, env `{}`",
        keys.minter.kid(),
        keys.minter.alg().as_str(),
        show(&keys.files[0]),
        show(&keys.files[1]),
    )
}
