//! The README documents the real command line: every flag `--help` lists is in the README's
//! section for that command, and every flag that section mentions exists.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

use std::collections::BTreeSet;

use assert_cmd::Command;

fn flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("--") {
        let start = i + pos;
        let preceded_ok =
            start == 0 || !bytes[start - 1].is_ascii_alphanumeric() && bytes[start - 1] != b'-';
        let name: String = text[start + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if preceded_ok && name.len() > 1 && !name.ends_with('-') {
            out.insert(format!("--{name}"));
        }
        i = start + 2;
    }
    out
}

fn readme_section(cmd: &str) -> String {
    readme_heading(&format!("## `pskeys {cmd}`"))
}

/// The README's text under `head` (a whole `## …` line's start), to the next `## `.
fn readme_heading(head: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find(head)
        .unwrap_or_else(|| panic!("README has no {head} section"));
    let rest = &readme[start + head.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Each subcommand and the README section that documents it.
const SECTIONS: [(&[&str], &str); 12] = [
    (&["serve"], "serve"),
    (&["completions"], "completions` and `pskeys man"),
    (&["man"], "completions` and `pskeys man"),
    (&["export"], "export"),
    (&["init"], "init"),
    (&["mint"], "mint"),
    (&["verify"], "verify"),
    (&["decode"], "decode"),
    (&["doctor"], "doctor"),
    (&["keys", "list"], "keys` and `pskeys jwks"),
    (&["keys", "retire"], "keys` and `pskeys jwks"),
    (&["jwks"], "keys` and `pskeys jwks"),
];

fn help_flags(args: &[&str]) -> BTreeSet<String> {
    let help = Command::cargo_bin("pskeys")
        .unwrap()
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    let mut out = flags(&String::from_utf8(help.stdout).unwrap());
    out.remove("--help");
    out.remove("--version");
    for global in GLOBAL_FLAGS {
        out.remove(global);
    }
    out
}

/// Flags every command takes, documented once in their own README section.
const GLOBAL_FLAGS: [&str; 1] = ["--color"];

#[test]
fn readme_documents_the_global_flags() {
    let help = Command::cargo_bin("pskeys")
        .unwrap()
        .args(["init", "--help"])
        .output()
        .unwrap();
    let init = flags(&String::from_utf8(help.stdout).unwrap());
    let section = flags(&readme_heading("## Colour and terminal output"));
    for global in GLOBAL_FLAGS {
        assert!(
            init.contains(global),
            "{global} is not a flag of every command"
        );
        assert!(
            section.contains(global),
            "README's colour section does not name {global}"
        );
    }
}

/// Flags of docker and cargo that command sections name, and clap's own `--version`.
const OTHER_TOOLS: [&str; 5] = [
    "--add-host",
    "--locked",
    "--no-default-features",
    "--path",
    "--version",
];

#[test]
fn readme_flags_match_help() {
    let all_help: BTreeSet<String> = SECTIONS
        .iter()
        .flat_map(|(args, _)| help_flags(args))
        .collect();
    for (args, section) in SECTIONS {
        let documented = help_flags(args);
        let in_readme = flags(&readme_section(section));
        let missing: Vec<_> = documented.difference(&in_readme).collect();
        assert!(
            missing.is_empty(),
            "README `pskeys {section}` does not mention {missing:?} of `pskeys {}`",
            args.join(" ")
        );
        // The README may mention other commands' flags in prose (e.g. `init --force` in
        // mint's section); all of them must exist somewhere.
        let unknown: Vec<_> = in_readme
            .difference(&all_help)
            .filter(|f| !OTHER_TOOLS.contains(&f.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "README `pskeys {section}` mentions flags that do not exist: {unknown:?}"
        );
    }
}

#[test]
fn readme_lists_every_doctor_finding() {
    let section = readme_section("doctor");
    let listed: BTreeSet<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let ids: BTreeSet<&str> = pskeys::service::FindingId::ALL
        .iter()
        .map(|i| i.as_str())
        .collect();
    assert_eq!(listed, ids, "README doctor table vs FindingId::ALL");
}

/// The README's pictures of doctor and verify exist, and the script that renders them from
/// real runs still works (into a temporary folder, with this build).
#[test]
fn terminal_pictures_are_rendered_by_the_script() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for name in ["doctor", "verify"] {
        assert!(
            readme.contains(&format!("docs/{name}.svg")),
            "README does not show docs/{name}.svg"
        );
        let committed = std::fs::read_to_string(root.join(format!("docs/{name}.svg"))).unwrap();
        assert!(committed.starts_with("<svg "), "docs/{name}.svg");
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/screenshots.py"))
        .arg("--bin")
        .arg(assert_cmd::cargo::cargo_bin("pskeys"))
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .expect("python3 is needed to render the README's pictures");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doctor = std::fs::read_to_string(out_dir.path().join("doctor.svg")).unwrap();
    let verify = std::fs::read_to_string(out_dir.path().join("verify.svg")).unwrap();
    // Real runs, in colour: a finding of each severity, an accepted and a rejected token.
    assert!(
        doctor.contains("error[k-invalid]") && doctor.contains("warning[env-file-mode]"),
        "{doctor}"
    );
    assert!(
        verify.contains("accepted:") && verify.contains("PSYNC_S2101"),
        "{verify}"
    );
    assert!(doctor.contains("fill=\"#e06c75\"") && verify.contains("fill=\"#98c379\""));
}
