//! A small fluent harness: a temp project folder, files in it, and the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A temporary project folder.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A project holding a copy of `tests/fixtures/<case>/`.
    pub fn fixture(case: &str) -> Self {
        let p = Project::new();
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(case);
        for entry in std::fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), p.path(&entry.file_name().to_string_lossy())).unwrap();
        }
        p
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> &Self {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    pub fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(name)).ok()
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("pskeys").unwrap();
        cmd.current_dir(self.dir.path()).args(args);
        for var in [
            "POWERSYNC_CONFIG_PATH",
            "PSKEYS_KID",
            "PSKEYS_ALG",
            "PSKEYS_PRIVATE_KEY",
            "PS_CLIENT_AUTH_KEY",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "pskeys {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every file in the folder with its bytes, to prove nothing changed.
    pub fn snapshot_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                if e.path().is_dir() {
                    if e.file_name() != ".git" {
                        stack.push(e.path());
                    }
                } else {
                    out.push((e.path(), std::fs::read(e.path()).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

/// Replaces generated values (kids, key material, secrets) with stable placeholders.
pub fn redact(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        for (prefix, keep) in [
            ("PS_CLIENT_AUTH_KEY", 0),
            ("PSKEYS_PRIVATE_KEY", 0),
            ("PSKEYS_KID", 0),
            ("PS_ADMIN_TOKEN", 0),
        ] {
            let _ = keep;
            if let Some(rest) = l.strip_prefix(&format!("{prefix}=")) {
                let nl = &rest[rest.trim_end_matches(['\r', '\n']).len()..];
                l = format!("{prefix}=[redacted]{nl}");
            }
        }
        out.push_str(&l);
    }
    out
}
