//! What a person reads on a terminal: labels in colour (`error:`, `warning:`, `fix:`, diff
//! lines) and messages wrapped at word boundaries to the terminal's width. Piped or
//! redirected output stays plain and unwrapped, byte for byte what a program expects.
//!
//! Colour follows clap's own stack (anstream): `--color always|never` first, then
//! `NO_COLOR`, then `CLICOLOR_FORCE`, then whether the stream is a terminal (and
//! `TERM` is not `dumb`). Text from a config or a token is made
//! [`printable`](crate::error::printable) before any escape sequence of ours is added, so
//! no input can write its own.

use std::sync::OnceLock;

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};
use unicode_width::UnicodeWidthStr as _;

/// The two streams people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Data and reports (verify's verdict, decode, keys list, diffs).
    Stdout,
    /// Messages: progress, warnings, errors.
    Stderr,
}

/// `--color`: sets the choice for this process, clap's help and errors included. Call it
/// before anything is printed.
pub fn set_choice(choice: ColorChoice) {
    choice.write_global();
}

/// What a stream is, decided once per process: whether it gets colour, and the width to
/// wrap its messages at.
#[derive(Debug, Clone, Copy)]
struct Shape {
    colour: bool,
    width: Option<usize>,
}

fn shape(stream: Stream) -> Shape {
    use std::io::IsTerminal as _;
    static OUT: OnceLock<Shape> = OnceLock::new();
    static ERR: OnceLock<Shape> = OnceLock::new();
    match stream {
        Stream::Stdout => *OUT.get_or_init(|| {
            let out = std::io::stdout();
            Shape {
                colour: decide(&out),
                width: measure(out.is_terminal(), terminal_size::terminal_size_of(&out)),
            }
        }),
        Stream::Stderr => *ERR.get_or_init(|| {
            let err = std::io::stderr();
            Shape {
                colour: decide(&err),
                width: measure(err.is_terminal(), terminal_size::terminal_size_of(&err)),
            }
        }),
    }
}

/// Whether `stream` gets colour.
pub fn colour(stream: Stream) -> bool {
    shape(stream).colour
}

/// The width to wrap `stream`'s messages at: the terminal's (or `COLUMNS`, as clap reads
/// it) when the stream is a terminal, else none.
pub fn width(stream: Stream) -> Option<usize> {
    shape(stream).width
}

/// anstream's decision, except that `CLICOLOR_FORCE=0` does not force colour (anstream
/// takes any value; the CLICOLOR convention says "not 0").
fn decide<S: anstream::stream::RawStream>(raw: &S) -> bool {
    let force_off = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v == "0");
    if force_off && ColorChoice::global() == ColorChoice::Auto {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        return !no_color && !dumb && anstream::stream::IsTerminal::is_terminal(raw);
    }
    !matches!(anstream::AutoStream::choice(raw), ColorChoice::Never)
}

fn measure(
    tty: bool,
    size: Option<(terminal_size::Width, terminal_size::Height)>,
) -> Option<usize> {
    if !tty {
        return None;
    }
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    columns
        .or(size.map(|(w, _)| usize::from(w.0)))
        .filter(|w| *w >= 20)
}

/// Writes one message line to stderr as [`render`] shows it; a closed stderr drops it
/// (no panic, the run goes on).
pub fn eprint_line(line: &str, wrapped: bool) {
    use std::io::Write as _;
    let text = render(line, Stream::Stderr, wrapped);
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// One message line as `stream` should show it: printable, its label painted, and
/// `wrapped` to the terminal's width unless it was laid out by hand (a command to paste,
/// an aligned step: a terminal narrower than the line folds it, but no line break is
/// added to it).
pub fn render(line: &str, stream: Stream, wrapped: bool) -> String {
    // One message is one line: a line break or tab inside it came from a value (a kid, a
    // `sub`, a YAML error) and is shown escaped.
    let text = crate::error::printable_line(line);
    let lines = match width(stream).filter(|_| wrapped) {
        Some(w) => wrap(&text, w),
        None => vec![text.into_owned()],
    };
    let paint = colour(stream);
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match (paint && i == 0).then(|| label(l)).flatten() {
            Some((at, len, style)) => {
                out.push_str(&l[..at]);
                out.push_str(&format!("{style}{}{style:#}", &l[at..at + len]));
                out.push_str(&l[at + len..]);
            }
            None => out.push_str(l),
        }
    }
    out
}

/// A unified diff for `stream`, control characters from the files escaped: added lines
/// green, removed red, hunk headers cyan, file headers bold (no colour: plain).
pub fn diff(text: &str, stream: Stream) -> String {
    // The diff shows file text: escape sequences in a config's comment are shown, not run.
    let text = &*crate::error::printable(text);
    if !colour(stream) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let style = if body.starts_with("+++") || body.starts_with("---") {
            Style::new().bold()
        } else if body.starts_with('+') {
            AnsiColor::Green.on_default()
        } else if body.starts_with('-') {
            AnsiColor::Red.on_default()
        } else if body.starts_with("@@") {
            AnsiColor::Cyan.on_default()
        } else {
            Style::new()
        };
        out.push_str(&format!("{style}{body}{style:#}{end}"));
    }
    out
}

/// The label that starts `line` (after its indent): its byte offset, length and style.
fn label(line: &str) -> Option<(usize, usize, Style)> {
    let at = line.len() - line.trim_start().len();
    let rest = &line[at..];
    if rest.starts_with("next steps:") {
        return Some((at, "next steps:".len(), Style::new().bold()));
    }
    let word = rest.split(' ').next().unwrap_or_default();
    // `error:`, or doctor's `error[id]`.
    let name = word
        .strip_suffix(':')
        .or_else(|| word.ends_with(']').then_some(word))?;
    let style = match name.split('[').next().unwrap_or_default() {
        "error" | "rejected" => AnsiColor::Red.on_default().bold(),
        "warning" | "UNVERIFIED" => AnsiColor::Yellow.on_default().bold(),
        "accepted" | "fixed" => AnsiColor::Green.on_default().bold(),
        "fix" | "hint" | "note" => AnsiColor::Cyan.on_default().bold(),
        _ => return None,
    };
    Some((at, word.len(), style))
}

/// `line` broken at spaces into lines of at most `width` columns (wide characters count
/// two) where the words allow (a longer word stays whole). Continuation lines keep the indent and hang under
/// the text after a label (`  fix: …`, `warning: …`) or a numbered step (`  3. …`).
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    if line.width() <= width {
        return vec![line.to_string()];
    }
    let indent = line.len() - line.trim_start_matches(' ').len();
    let hang = hanging_indent(line);
    let mut lines = Vec::new();
    let mut current = line[..indent].to_string();
    let mut len = indent;
    let mut empty = true;
    let mut gap = 0;
    for word in line[indent..].split(' ') {
        if word.is_empty() {
            gap += 1;
            continue;
        }
        let word_len = word.width();
        if !empty && len + gap + word_len > width {
            lines.push(std::mem::replace(&mut current, " ".repeat(hang)));
            (len, empty) = (hang, true);
        }
        if !empty {
            current.push_str(&" ".repeat(gap));
            len += gap;
        }
        current.push_str(word);
        (len, empty, gap) = (len + word_len, false, 1);
    }
    lines.push(current);
    lines
}

/// Where continuation lines of `line` start.
fn hanging_indent(line: &str) -> usize {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let first = line[indent..].split(' ').next().unwrap_or_default();
    let labelled = first.ends_with(':') && first.len() <= 12;
    let numbered = first
        .strip_suffix('.')
        .is_some_and(|n| n.parse::<u8>().is_ok());
    if labelled || numbered {
        indent + first.width() + 1
    } else if first.starts_with("error[") || first.starts_with("warning[") {
        indent + 2
    } else {
        indent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_and_piped_output_are_unchanged() {
        assert_eq!(wrap("fix: short", 40), ["fix: short"]);
        assert_eq!(
            render("a\nerror: b\tc", Stream::Stderr, false),
            "a\\nerror: b\\tc"
        );
    }

    #[test]
    fn wraps_at_spaces_with_a_hanging_indent() {
        let w = wrap(
            "  fix: add the key to client_auth.jwks.keys and restart the service",
            30,
        );
        assert_eq!(
            w,
            [
                "  fix: add the key to",
                "       client_auth.jwks.keys",
                "       and restart the service",
            ]
        );
        for l in &w {
            assert!(l.chars().count() <= 30, "{l:?}");
        }
        let w = wrap("warning: a b c d e f g h i j k l m", 20);
        assert_eq!(
            w,
            ["warning: a b c d e f", "         g h i j k l", "         m"]
        );
        let w = wrap(
            "error[jwks-local-name] powersync.yaml:3: the service refuses it",
            30,
        );
        assert_eq!(w[1], "  powersync.yaml:3: the");
        let w = wrap("  3. TOKEN=$(pskeys mint --sub user-1)   # return it", 30);
        assert_eq!(w[1], "     user-1)   # return it");
    }

    #[test]
    fn wide_characters_count_their_columns() {
        // Each of these takes two columns: five of them fill a 10-column line.
        let w = wrap("漢字 漢字 漢字", 10);
        assert_eq!(w, ["漢字 漢字", "漢字"]);
    }

    #[test]
    fn a_word_longer_than_the_width_stays_whole() {
        let long = "x".repeat(50);
        let w = wrap(&format!("note: see {long} now"), 20);
        assert_eq!(
            w,
            ["note: see", format!("      {long}").as_str(), "      now"]
        );
    }

    #[test]
    fn words_are_never_lost_or_split() {
        let line = "doctor found that the key `powersync-abc` in `config/powersync.yaml` has no private part in `.env`; run pskeys init";
        for width in 20..120 {
            let joined: Vec<String> = wrap(line, width)
                .iter()
                .flat_map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .collect();
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(joined, words, "width {width}");
        }
    }

    #[test]
    fn labels_are_found_only_at_the_start() {
        assert_eq!(label("error: x").map(|l| (l.0, l.1)), Some((0, 6)));
        assert_eq!(label("  fix: x").map(|l| (l.0, l.1)), Some((2, 4)));
        assert_eq!(
            label("warning[env-missing] x: y").map(|l| (l.0, l.1)),
            Some((0, 20))
        );
        assert_eq!(label("next steps:").map(|l| (l.0, l.1)), Some((0, 11)));
        assert!(label("patched `x`: added").is_none());
        assert!(label("the error: x").is_none());
    }
}
