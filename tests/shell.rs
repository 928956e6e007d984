//! `pskeys completions SHELL` and `pskeys man [COMMAND]`: generated from the command line
//! definition, so every command and flag is in them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::Project;

#[test]
fn completions_for_every_shell_name_every_command() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = p.ok(&["completions", shell]);
        for word in ["pskeys", "init", "mint", "serve", "expires-in", "subs"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
    // bash reads the bash script without a syntax error.
    let script = p.ok(&["completions", "bash"]);
    p.write("pskeys.bash", &script);
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(p.path("pskeys.bash"))
        .output()
        .expect("bash is required for this test");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(p.run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn man_pages_for_pskeys_and_each_command() {
    let p = Project::new();
    let top = p.ok(&["man"]);
    assert!(top.contains(".TH pskeys 1"), "{top}");
    for command in ["init", "mint", "verify", "doctor", "serve", "export"] {
        assert!(top.contains(command), "{command}");
    }
    let mint = p.ok(&["man", "mint"]);
    assert!(mint.contains(".TH pskeys-mint 1"));
    assert!(mint.contains("expires\\-in"), "flags are in the page");
    let retire = p.ok(&["man", "keys", "retire"]);
    assert!(retire.contains(".TH pskeys-keys-retire 1"));
    let out = p.run(&["man", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one of: init, mint"));
}

#[test]
fn long_version_names_commit_backend_and_features() {
    let p = Project::new();
    let long = p.ok(&["--version"]);
    for line in [
        "commit:",
        "crypto:   aws-lc-rs",
        "jitter entropy off",
        "features: serve",
    ] {
        assert!(long.contains(line), "{line}: {long}");
    }
    let short = p.ok(&["-V"]);
    assert_eq!(short.lines().count(), 1, "{short}");
}

#[test]
fn help_ends_with_examples_and_exit_codes() {
    let p = Project::new();
    let help = p.ok(&["--help"]);
    assert!(
        help.contains("Examples:") && help.contains("pskeys serve"),
        "{help}"
    );
    for code in 0..=6 {
        assert!(
            help.contains(&format!("\n  {code}  ")),
            "exit code {code}: {help}"
        );
    }
    // The README's table has the same codes.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for code in 0..=6 {
        assert!(
            readme.contains(&format!("\n| {code} | ")),
            "README exit code {code}"
        );
    }
}

#[test]
fn help_footer_fits_an_80_column_terminal() {
    let p = Project::new();
    let help = p.ok(&["--help"]);
    let footer = &help[help.find("Examples:").unwrap()..];
    for line in footer.lines() {
        assert!(line.chars().count() <= 78, "{line:?}");
    }
}
