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
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let head = format!("## `pskeys {cmd}`");
    let start = readme
        .find(&head)
        .unwrap_or_else(|| panic!("README has no {head} section"));
    let rest = &readme[start + head.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

#[test]
fn readme_flags_match_help() {
    for cmd in ["init", "mint"] {
        let help = Command::cargo_bin("pskeys")
            .unwrap()
            .args([cmd, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8(help.stdout).unwrap();
        let mut documented = flags(&help);
        documented.remove("--help");
        documented.remove("--version");
        let section = readme_section(cmd);
        let in_readme = flags(&section);
        let missing: Vec<_> = documented.difference(&in_readme).collect();
        assert!(
            missing.is_empty(),
            "README `pskeys {cmd}` does not mention {missing:?}"
        );
        // The README may mention other commands' flags in prose (e.g. `init --force` in mint's
        // section); all of them must exist somewhere.
        let all_help: BTreeSet<String> = ["init", "mint"]
            .iter()
            .flat_map(|c| {
                flags(
                    &String::from_utf8(
                        Command::cargo_bin("pskeys")
                            .unwrap()
                            .args([*c, "--help"])
                            .output()
                            .unwrap()
                            .stdout,
                    )
                    .unwrap(),
                )
            })
            .collect();
        let unknown: Vec<_> = in_readme.difference(&all_help).collect();
        assert!(
            unknown.is_empty(),
            "README `pskeys {cmd}` mentions flags that do not exist: {unknown:?}"
        );
    }
}
