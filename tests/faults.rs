//! Faults and concurrency: concurrent writers take turns, an injected failure at any step
//! of a write leaves the files as they were or finished by the next run, and `kill -9` at
//! any instant leaves a pair of files `mint` signs with.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::Project;

fn key_count(p: &Project) -> usize {
    let out = p.ok(&["keys", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["keys"].as_array().unwrap().len()
}

/// pskeys' temporary files and intent record left in the project folder.
fn leftovers(p: &Project) -> Vec<String> {
    std::fs::read_dir(p.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".pskeys-"))
        .collect()
}

#[test]
fn concurrent_rotations_all_land() {
    let p = Project::new();
    p.ok(&["init"]);
    let children: Vec<_> = (0..20)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("pskeys"))
                .current_dir(p.dir.path())
                .args(["init", "--rotate"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(key_count(&p), 21);
    p.ok(&["mint", "--sub", "u"]);
    assert!(leftovers(&p).is_empty(), "{:?}", leftovers(&p));
}

#[test]
fn a_failure_before_the_intent_record_changes_nothing() {
    for step in ["write", "sync", "intent"] {
        let p = Project::new();
        p.ok(&["init"]);
        let before = p.snapshot_files();
        let out = p
            .cmd(&["init", "--rotate"])
            .env("PSKEYS_FAULT", step)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{step}");
        assert_eq!(p.snapshot_files(), before, "{step}");
    }
}

#[test]
fn a_failure_after_it_is_finished_by_the_next_run() {
    for step in ["rename", "rename2"] {
        let p = Project::new();
        p.ok(&["init"]);
        let out = p
            .cmd(&["init", "--rotate"])
            .env("PSKEYS_FAULT", step)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6), "{step}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("the next pskeys run"), "{stderr}");
        // Any command finishes it: the pair is the new one, and nothing is left over.
        p.ok(&["mint", "--sub", "u"]);
        assert_eq!(key_count(&p), 2, "{step}");
        assert!(leftovers(&p).is_empty(), "{step}: {:?}", leftovers(&p));
    }
}

#[test]
fn kill_at_any_instant_leaves_a_pair_that_signs() {
    use rand_like::Lcg;
    let p = Project::new();
    p.ok(&["init"]);
    let mut rng = Lcg(0x5eed);
    let mut keys = key_count(&p);
    for round in 0..150 {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pskeys"))
            .current_dir(p.dir.path())
            .args(["init", "--rotate"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(rng.next() % 12_000));
        let _ = child.kill();
        let _ = child.wait();
        // The next run (here a reading one) finds a working pair: the old or the new.
        let out = p.run(&["mint", "--sub", "u"]);
        assert!(
            out.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let now = key_count(&p);
        assert!(
            now == keys || now == keys + 1,
            "round {round}: {keys} -> {now}"
        );
        keys = now;
    }
    // A writing run removes the temporary files killed runs left behind.
    p.ok(&["init"]);
    assert!(leftovers(&p).is_empty(), "{:?}", leftovers(&p));
}

mod rand_like {
    /// A small deterministic generator for kill instants (no dependency needed).
    pub struct Lcg(pub u64);
    impl Lcg {
        pub fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
    }
}
