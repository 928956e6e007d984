//! The `pskeys` binary: parse the command line, run it, print the error once.

use clap::Parser as _;
use clap::error::ErrorKind;

fn main() -> std::process::ExitCode {
    // Before parsing, so that clap's own help and usage errors follow `--color` too.
    pskeys::term::set_choice(pskeys::cli::color_arg(std::env::args_os()));
    let cli = match pskeys::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    // The parsed value is the one that counts (the scan above cannot know which flag a
    // `--color` was the value of).
    pskeys::term::set_choice(cli.color.into());
    let json = cli.wants_json();
    match pskeys::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            if json && !matches!(err, pskeys::Error::Reported(_)) {
                print_json(&err.to_json());
            }
            match err.code() {
                Some(code) => say(format_args!("error: {code} {err}")),
                None => say(format_args!("error: {err}")),
            }
            if let Some(hint) = err.hint() {
                say(format_args!("  hint: {hint}"));
            }
            std::process::ExitCode::from(err.exit_code() as u8)
        }
    }
}

/// A command line clap refuses: its own message on stderr (help and version are not
/// errors), and with `--json` among the arguments the usual error object on stdout.
fn usage_error(e: clap::Error) -> std::process::ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    let json = args.iter().any(|a| a == "--json" || a == "--format=json")
        || args
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == "json");
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    if json {
        // clap's message is its first paragraph (`the following required arguments were
        // not provided:` and the arguments); its `Usage:` line becomes the hint.
        let rendered = hide_long_arguments(&e.render().to_string(), &args);
        let message = rendered
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let hint = rendered
            .lines()
            .find_map(|l| l.strip_prefix("Usage: "))
            .map(|usage| format!("usage: {usage}"));
        print_json(&pskeys::Error::usage(message, hint).to_json());
    }
    let shown = hide_long_arguments(&e.render().ansi().to_string(), &args);
    let _ = std::io::Write::write_all(&mut anstream::stderr(), shown.as_bytes());
    std::process::ExitCode::from(pskeys::ExitCode::Invalid as u8)
}

/// clap's message with every argument of 40 characters or more replaced by its length: a
/// value in the wrong place may be a private key, a secret or a token, and a usage error
/// must not print it.
fn hide_long_arguments(text: &str, args: &[std::ffi::OsString]) -> String {
    let mut args: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Longest first, so a whole value is replaced before a shorter one inside it.
    args.sort_by_key(|a| std::cmp::Reverse(a.len()));
    let mut out = text.to_string();
    for a in &args {
        if a.chars().count() >= 40 {
            let value = a
                .split_once('=')
                .filter(|(k, _)| k.starts_with("--"))
                .map_or(a.as_str(), |(_, v)| v);
            let hidden = format!("<{} characters hidden>", value.chars().count());
            out = out.replace(value, &hidden);
        } else {
            // A short value with a line break or an invisible character, escaped.
            let shown = pskeys::error::printable_line(a);
            if shown != a.as_str() {
                out = out.replace(a.as_str(), &shown);
            }
        }
    }
    out
}

/// A line on stderr; dropped when stderr is a closed pipe (no panic).
fn say(line: std::fmt::Arguments<'_>) {
    pskeys::term::eprint_line(&line.to_string(), true);
}

/// The error object on stdout; a reader that has gone away is not another error.
fn print_json(value: &serde_json::Value) {
    use std::io::Write as _;
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let _ = writeln!(std::io::stdout(), "{text}");
}
