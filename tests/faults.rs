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

/// `pskeys ARGS` started in `p`'s folder, its output discarded.
fn spawn(p: &Project, args: &[&str]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("pskeys"))
        .current_dir(p.dir.path())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
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
    let children: Vec<_> = (0..20).map(|_| spawn(&p, &["init", "--rotate"])).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(key_count(&p), 21);
    p.ok(&["mint", "--sub", "u"]);
    assert!(leftovers(&p).is_empty(), "{:?}", leftovers(&p));
}

#[test]
fn a_failure_before_the_intent_record_changes_nothing() {
    // (`rename`: the first rename fails, nothing is in place yet, so it is undone.)
    for step in ["write", "sync", "intent", "rename"] {
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
    let step = "rename2";
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

#[test]
fn kill_at_any_instant_leaves_a_pair_that_signs() {
    use rand_like::Lcg;
    let p = Project::new();
    p.ok(&["init"]);
    let mut rng = Lcg(0x5eed);
    let mut keys = key_count(&p);
    for round in 0..150 {
        let mut child = spawn(&p, &["init", "--rotate"]);
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

#[test]
fn files_keep_their_owner_and_new_ones_get_the_folders() {
    use std::os::unix::fs::MetadataExt as _;
    // Only root can give files away (what `sudo pskeys init` does); elsewhere the files
    // are the user's own already, which this checks too.
    let p = Project::new();
    let uid = std::fs::metadata(p.dir.path()).unwrap().uid();
    let root = uid == 0 && std::os::unix::fs::chown(p.dir.path(), Some(4321), Some(4321)).is_ok();
    p.ok(&["init"]);
    let want = if root { 4321 } else { uid };
    for f in [".env", "powersync.yaml"] {
        assert_eq!(std::fs::metadata(p.path(f)).unwrap().uid(), want, "{f}");
    }
    if root {
        std::os::unix::fs::chown(p.path(".env"), Some(5555), Some(5555)).unwrap();
        p.ok(&["init", "--rotate"]);
        assert_eq!(std::fs::metadata(p.path(".env")).unwrap().uid(), 5555);
    }
}

#[test]
fn symlinks_are_written_through_and_odd_files_refused() {
    let p = Project::new();
    p.ok(&["init"]);
    std::fs::create_dir(p.path("shared")).unwrap();
    std::fs::rename(p.path("powersync.yaml"), p.path("shared/powersync.yaml")).unwrap();
    std::os::unix::fs::symlink("shared/powersync.yaml", p.path("powersync.yaml")).unwrap();
    p.ok(&["init", "--rotate"]);
    assert!(
        std::fs::symlink_metadata(p.path("powersync.yaml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(key_count(&p), 2);
    // A read-only .env is not replaced behind the user's back.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p.path(".env"), std::fs::Permissions::from_mode(0o400)).unwrap();
    let before = p.snapshot_files();
    p.cmd(&["init", "--rotate"]).assert().code(4);
    assert_eq!(p.snapshot_files(), before);
    std::fs::set_permissions(p.path(".env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    // A FIFO is refused before it is opened (opening one would block).
    std::fs::rename(p.path(".env"), p.path("env.bak")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(p.path(".env"))
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo is needed by this test");
    p.cmd(&["mint", "--sub", "u"])
        .timeout(std::time::Duration::from_secs(10))
        .assert()
        .code(4);
    // The config and .env as one file: refused, nothing written.
    std::fs::remove_file(p.path(".env")).unwrap();
    p.write("one.yaml", "");
    p.cmd(&["init", "--config", "one.yaml", "--env-file", "one.yaml"])
        .assert()
        .code(4);
    assert_eq!(p.read("one.yaml"), "");
}

#[test]
fn hostile_configs_are_refused_or_read_in_linear_work() {
    let p = Project::new();
    // Over the size limit: refused before parsing.
    p.write("big.yaml", "#".repeat(5 << 20));
    p.cmd(&["doctor", "--config", "big.yaml"])
        .assert()
        .code(4)
        .stderr(predicates::str::contains("larger than 4 MiB"));
    // Many keys (a quadratic duplicate check took 49 s for 200,000 in a release build):
    // read, and the one duplicate at the end found.
    let mut yaml = String::from("storage: {type: mongodb}\n");
    let mut json = String::from("{\"storage\": {\"type\": \"mongodb\"}");
    for i in 0..50_000 {
        yaml.push_str(&format!("k{i}: {i}\n"));
        json.push_str(&format!(", \"k{i}\": {i}"));
    }
    yaml.push_str("k7: again\n");
    json.push_str(", \"k7\": 0}");
    p.write("many.yaml", &yaml);
    p.write("many.json", &json);
    for (file, line) in [
        ("many.yaml", "many.yaml:50002"),
        ("many.json", "many.json:1"),
    ] {
        p.cmd(&["doctor", "--config", file])
            .assert()
            .code(1)
            .stderr(predicates::str::contains(format!("error[syntax] {line}")))
            .stderr(predicates::str::contains("duplicate key `k7`"));
    }
    // An alias bomb stops at the service's limit; deep nesting at the depth limit.
    let mut bomb =
        String::from("storage: {type: mongodb}\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    p.write("bomb.yaml", &bomb);
    p.cmd(&["doctor", "--config", "bomb.yaml"]).assert().code(1);
    p.write(
        "deep.json",
        format!("{}{}", "[".repeat(30_000), "]".repeat(30_000)),
    );
    p.cmd(&["doctor", "--config", "deep.json"]).assert().code(1);
    // Thousands of keys whose secrets `init` would write one by one: refused over 1,000.
    let mut keys = String::from(
        "storage: {type: mongodb}\nclient_auth:\n  audience: [a]\n  jwks:\n    keys:\n",
    );
    for i in 0..1001 {
        keys.push_str(&format!(
            "      - {{kty: oct, alg: HS256, kid: k{i}, k: !env PS_K{i}}}\n"
        ));
    }
    p.write("keys.yaml", &keys);
    p.cmd(&["init", "--config", "keys.yaml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("more than 1000 keys"));
    assert_eq!(p.read("keys.yaml"), keys);
}

#[test]
fn concurrent_doctor_fixes_never_corrupt() {
    let p = Project::new();
    p.ok(&["init"]);
    let config = p.read("powersync.yaml").replace(
        "audience: ['powersync-dev', 'powersync']",
        "audience: powersync-dev\n  jwks_uri: '${PS_JWKS}'",
    );
    p.write("powersync.yaml", &config);
    let env = format!("{}PS_JWKS=https://example.com/jwks.json\n", p.read(".env"));
    p.write(".env", env);
    let children: Vec<_> = (0..20).map(|_| spawn(&p, &["doctor", "--fix"])).collect();
    for mut c in children {
        c.wait().unwrap();
    }
    let fixed = p.read("powersync.yaml");
    assert!(fixed.contains("jwks_uri: !env PS_JWKS\n"), "{fixed}");
    assert!(fixed.contains("audience: [powersync-dev]"), "{fixed}");
    // Exactly one edit each: the rest of the file is as it was.
    assert_eq!(
        fixed
            .replace("jwks_uri: !env PS_JWKS", "jwks_uri: '${PS_JWKS}'")
            .replace("audience: [powersync-dev]", "audience: powersync-dev"),
        config
    );
    p.ok(&["mint", "--sub", "u"]);
}

#[test]
fn an_edit_while_pskeys_writes_is_kept_and_the_run_stops() {
    let p = Project::new();
    p.ok(&["init"]);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pskeys"))
        .current_dir(p.dir.path())
        .args(["init", "--rotate"])
        .env("PSKEYS_FAULT", "slow")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The editor saves while pskeys is syncing its staged files.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let edited = format!("{}# my edit\n", p.read("powersync.yaml"));
    p.write("powersync.yaml", &edited);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the file changed since pskeys read it"));
    assert_eq!(p.read("powersync.yaml"), edited);
    assert!(leftovers(&p).is_empty(), "{:?}", leftovers(&p));
    assert_eq!(key_count(&p), 1);
}

#[test]
fn projects_sharing_a_symlinked_config_take_turns() {
    let shared = Project::new();
    let a = Project::new();
    a.ok(&["init"]);
    std::fs::rename(a.path("powersync.yaml"), shared.path("powersync.yaml")).unwrap();
    std::os::unix::fs::symlink(shared.path("powersync.yaml"), a.path("powersync.yaml")).unwrap();
    let b = Project::new();
    std::os::unix::fs::symlink(shared.path("powersync.yaml"), b.path("powersync.yaml")).unwrap();
    b.ok(&["init", "--rotate"]);
    let children: Vec<_> = (0..10)
        .flat_map(|_| [&a, &b])
        .map(|p| spawn(p, &["init", "--rotate"]))
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(key_count(&a), 22);
    a.ok(&["mint", "--sub", "u"]);
    b.ok(&["mint", "--sub", "u"]);
}

#[test]
fn leftovers_beside_a_symlinked_env_are_removed_and_a_finished_write_is_announced() {
    let p = Project::new();
    p.ok(&["init"]);
    let dotfiles = Project::new();
    std::fs::rename(p.path(".env"), dotfiles.path("project.env")).unwrap();
    std::os::unix::fs::symlink(dotfiles.path("project.env"), p.path(".env")).unwrap();
    // A killed run's leftover (older than a minute: a younger one may be another
    // project's run in progress in this shared folder, and is left alone).
    dotfiles.write(".pskeys-AbCdEf.tmp", "PSKEYS_PRIVATE_KEY=secret\n");
    dotfiles.write(".pskeys-Young1.tmp", "in progress\n");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    std::fs::File::options()
        .write(true)
        .open(dotfiles.path(".pskeys-AbCdEf.tmp"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    p.ok(&["init"]);
    assert!(dotfiles.path(".pskeys-Young1.tmp").exists());
    assert!(!dotfiles.path(".pskeys-AbCdEf.tmp").exists());
    // A write stopped after its intent record: the next command finishes it and says so.
    let out = p
        .cmd(&["init", "--rotate"])
        .env("PSKEYS_FAULT", "rename2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    p.cmd(&["mint", "--sub", "u"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "finished the write an interrupted pskeys run had begun",
        ));
}

#[test]
fn a_committed_intent_record_is_never_replayed_outside_pskeys_files() {
    // A hostile repository ships an intent record naming a git hook and a script.
    let p = Project::new();
    p.ok(&["init"]);
    std::fs::create_dir_all(p.path(".git/hooks")).unwrap();
    p.write("tools.sh", "#!/bin/sh\necho pwned\n");
    let hook = p.path(".git/hooks/pre-commit");
    let mut record = Vec::new();
    for (target, temp) in [
        (hook.clone(), p.path("tools.sh")),
        (p.path("powersync.yaml"), p.path("../.pskeys-x.tmp")),
    ] {
        record.extend(target.to_str().unwrap().as_bytes());
        record.push(0);
        record.extend(temp.to_str().unwrap().as_bytes());
        record.push(0);
    }
    p.write(".pskeys-intent", &record);
    let before = p.read("powersync.yaml");
    p.ok(&["keys", "list"]);
    assert!(!hook.exists());
    assert!(p.path("tools.sh").exists());
    assert_eq!(p.read("powersync.yaml"), before);
    assert!(!p.path(".pskeys-intent").exists());
}

#[test]
fn text_from_a_config_or_token_cannot_drive_the_terminal() {
    let p = Project::new();
    p.write(
        "powersync.yaml",
        "storage: {type: mongodb}\nclient_auth:\n  jwks:\n    keys:\n      - {kty: oct, alg: HS256, kid: \"k\\e]52;c;cHduZWQ=\\a\\u202e\", k: c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0}\n  audience: [\"powersync\\r\\e[2J\"]\n",
    );
    for args in [
        &["keys", "list"][..],
        &["doctor"][..],
        &["mint", "--sub", "u", "--kid", "x"][..],
    ] {
        let out = p.run(args);
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(['\u{1b}', '\u{7}', '\r', '\u{202e}']),
                "{args:?}: {text:?}"
            );
        }
    }
    p.cmd(&["mint", "--sub", "a\u{202e}b"]).assert().code(2);
}
