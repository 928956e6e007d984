//! The `.env` file: one reader that gives, for every assignment, the value dotenvy 0.15 loads
//! and the byte spans it came from, and an editor that rewrites exactly those spans, so every
//! other byte (comments, `export`, quoting, order, CRLF) is kept.
//!
//! The reader follows dotenvy 0.15.7 (`src/iter.rs`, `src/parse.rs`) rule for rule, quirks
//! included, because the file's meaning is whatever the dotenv tools make of it; dotenvy
//! itself is only the oracle of the tests. Like dotenvy it reads in two steps per line:
//! first where a logical line ends (a quote left open joins the next physical line; a `#`
//! right after a blank ends it), then the assignment on it. Both steps run in one walk
//! over the file, and the value and its span come out of the same step, so they cannot
//! disagree. `$NAME` and `${NAME}` are substituted as dotenvy does: from the process
//! environment first, then from the file's earlier assignments, else empty.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

/// The variable holding the kid `mint` signs with.
pub const KID_VAR: &str = "PSKEYS_KID";
/// The variable holding the algorithm of that key.
pub const ALG_VAR: &str = "PSKEYS_ALG";
/// The variable holding an asymmetric private key (PKCS#8 PEM). Deliberately without the
/// `PS_` prefix, so no service config can ever reference it.
pub const PRIVATE_KEY_VAR: &str = "PSKEYS_PRIVATE_KEY";
/// The variable a rotated-out asymmetric key's private key is kept under until the key
/// is retired (`PSKEYS_PRIVATE_KEY_<KID>_<HASH>`: the kid upper-cased, other characters
/// `_`, then 6 hex digits of the kid's SHA-256, so `k-1` and `k.1` never share one), so
/// `mint --kid` still signs with it and `keys retire` can hand signing back to it.
pub fn kept_key_var(kid: &str) -> String {
    let id: String = kid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, kid.as_bytes());
    let hash: String = digest.as_ref()[..3]
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("{PRIVATE_KEY_VAR}_{id}_{hash}")
}

/// The variable an HMAC secret is stored under (the official CLI template's name).
pub const HMAC_VAR: &str = "PS_CLIENT_AUTH_KEY";

/// The variable the Supabase legacy JWT secret is stored under (read by the config).
pub const SUPABASE_SECRET_VAR: &str = "PS_SUPABASE_JWT_SECRET";

/// The comment written above the variables pskeys adds to a file.
pub const HEADER: &str =
    "# PowerSync settings written by pskeys. Holds secrets: keep this file out of git.";

/// One `KEY=value` assignment: what dotenvy reads and where it sits in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The variable name.
    pub key: String,
    /// The value as dotenvy reads it: quotes, escapes and `$NAME` substitution applied.
    pub value: String,
    /// The value's text: from after `=` and blanks to the end of the value, quotes and any
    /// text dotenvy joins to it (`"x"y`) included, an inline comment not. Empty for `KEY=`.
    pub value_span: Range<usize>,
    /// The whole logical line, all physical lines of a multi-line value and the final line
    /// break included: what removing the assignment removes.
    pub line_span: Range<usize>,
    /// The 1-based line the assignment starts on.
    pub line: usize,
}

/// A `.env` file held in memory.
#[derive(Debug, Clone)]
pub struct EnvFile {
    /// Its path.
    pub path: PathBuf,
    /// Its current text (with edits applied); private, so it cannot drift from the parsed
    /// values and spans.
    text: String,
    /// Whether it existed when read.
    pub existed: bool,
    vars: Vec<(String, String)>,
    assignments: Vec<Assignment>,
}

impl EnvFile {
    /// The text as read, with the edits made so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text with the value of every variable `keep` rejects replaced by `mask`: what a
    /// diff may show of a file that holds secrets.
    pub fn masked<'m>(
        &self,
        keep: impl Fn(&str) -> bool,
        mask: impl Fn(&str) -> &'m str,
    ) -> String {
        let mut out = self.text.clone();
        for a in self.assignments.iter().rev() {
            if !keep(&a.key) && !a.value_span.is_empty() {
                out.replace_range(a.value_span.clone(), mask(&a.key));
            }
        }
        // Commented-out assignments (`# OLD_KEY=…`) may hold secrets too.
        out.split_inclusive('\n')
            .map(|line| match commented_value(line) {
                Some((name, at)) if !keep(name) => {
                    let end = line.len() - (line.len() - line.trim_end_matches(['\r', '\n']).len());
                    format!("{}{}{}", &line[..at], mask(name), &line[end..])
                }
                _ => line.to_string(),
            })
            .collect()
    }

    /// Reads `path`; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<EnvFile> {
        match crate::fsutil::read_regular(path, crate::fsutil::ENV_LIMIT)? {
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| Error::EnvFile {
                    location: Location::file(path),
                    message: format!(
                        "the file is not UTF-8 (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                    hint: Some("save it as UTF-8".into()),
                })?;
                EnvFile::parse(path, text, true)
            }
            None => EnvFile::parse(path, String::new(), false),
        }
    }

    /// Parses `text` as the file at `path`. A line dotenvy rejects is an error naming its
    /// line and column; the message never quotes the line, which may hold a secret.
    pub fn parse(path: &Path, text: String, existed: bool) -> Result<EnvFile> {
        let assignments = read(&text, &process_env).map_err(|e| e.into_error(path, &text))?;
        let vars = assignments
            .iter()
            .map(|a| (a.key.clone(), a.value.clone()))
            .collect();
        Ok(EnvFile {
            path: path.to_path_buf(),
            text,
            existed,
            vars,
            assignments,
        })
    }

    /// The value of `key` in the file (the last assignment wins, as in dotenvy's iterator
    /// and node's dotenv).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The line `key` is assigned on.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.last(key).map(|a| a.line)
    }

    /// All variables, in file order.
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// All assignments with their spans, in file order.
    pub fn assignments(&self) -> &[Assignment] {
        &self.assignments
    }

    /// Sets `key` to `value`: rewrites the value of its last assignment in place (keeping
    /// `export`, spacing and an inline comment), or appends `KEY=value` under the pskeys
    /// header. Refuses a value dotenvy and node's dotenv cannot both read back unchanged.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if self.get(key) == Some(value) {
            return Ok(());
        }
        let encoded = self.encode_for(key, value)?;
        let candidates = match self.last(key) {
            Some(a) => self.rewrites(a, &encoded).to_vec(),
            None => vec![self.appended(key, &encoded)],
        };
        for text in candidates {
            if let Ok(next) = EnvFile::parse(&self.path, text, self.existed)
                && next.is_set_of(self, key, value)
            {
                *self = next;
                return Ok(());
            }
        }
        // Only where dotenvy's line joiner and its value reader disagree about a quote
        // (`'a\' #…`), so that the joiner takes the next lines into this one's comment:
        // any new value would change which lines are assignments.
        let at = self.last(key).map_or(0, |a| a.value_span.start);
        let (line, column) = position(&self.text, at);
        Err(Error::EnvFile {
            location: Location::at(&self.path, line, column),
            message: format!(
                "cannot rewrite `{key}`: dotenvy reads a quote here as open and joins the \
                 next lines to this one, so a new value would change them too"
            ),
            hint: Some("fix the quoting on this line, then run again".into()),
        })
    }

    /// Removes every assignment of `key`: whole logical lines, nothing else.
    pub fn remove(&mut self, key: &str) -> Result<()> {
        let mut text = self.text.clone();
        for a in self.assignments.iter().rev().filter(|a| a.key == key) {
            text.replace_range(a.line_span.clone(), "");
        }
        if text == self.text {
            return Ok(());
        }
        let next = EnvFile::parse(&self.path, text, self.existed)?;
        let kept = self.assignments.iter().filter(|a| a.key != key);
        if !same_lines(self, kept, &next, next.assignments.iter()) {
            return Err(Error::EnvFile {
                location: Location::file(&self.path),
                message: format!("cannot remove `{key}` without changing other lines"),
                hint: Some(format!("remove `{key}` by hand")),
            });
        }
        *self = next;
        Ok(())
    }

    fn last(&self, key: &str) -> Option<&Assignment> {
        self.assignments.iter().rev().find(|a| a.key == key)
    }

    /// Checks the name and the value, and encodes the value.
    fn encode_for(&self, key: &str, value: &str) -> Result<String> {
        let refuse = |message: String, hint: &str| Error::EnvFile {
            location: Location::file(&self.path),
            message,
            hint: Some(hint.into()),
        };
        if !is_name(key) {
            return Err(refuse(
                format!("`{key}` is not a variable name dotenv reads"),
                "use letters, digits, `_` and `.`, starting with a letter or `_`",
            ));
        }
        encode(value).map_err(|why| {
            refuse(
                format!("cannot write `{key}`: its value {why}"),
                "use a value without that combination of characters",
            )
        })
    }

    /// The texts that set the assignment `a` to `encoded`, best first. dotenvy's line
    /// joiner takes a `#` after exactly one blank as a comment and a quote anywhere else as
    /// opening, so the text after the value must leave it in the state it was in:
    /// 1. the value replaced, a blank added if a `#` followed it directly (`KEY=#c`);
    /// 2. the same with one more blank: the joiner's state where the old value left it
    ///    after a `\` or a blank, or where `KEY=#c` had no comment break.
    fn rewrites(&self, a: &Assignment, encoded: &str) -> [String; 2] {
        let before = &self.text[..a.value_span.start];
        let after = &self.text[a.value_span.end..];
        let gap = if after.starts_with('#') { " " } else { "" };
        [
            format!("{before}{encoded}{gap}{after}"),
            format!("{before}{encoded}{gap} {after}"),
        ]
    }

    /// The text with `KEY=encoded` appended, under the header unless it is there already.
    fn appended(&self, key: &str, encoded: &str) -> String {
        let nl = if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut text = self.text.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push_str(nl);
        }
        if !text.contains(HEADER) {
            if !text.is_empty() && !text.ends_with(&format!("{nl}{nl}")) {
                text.push_str(nl);
            }
            text.push_str(HEADER);
            text.push_str(nl);
        }
        text.push_str(&format!("{key}={encoded}{nl}"));
        text
    }

    /// Whether `self` is `old` with only the last assignment of `key` now reading `value`
    /// (or a new one appended): the same assignments, in order, with the same value text.
    /// A later `$KEY` may then read differently; that is what it asks for.
    fn is_set_of(&self, old: &EnvFile, key: &str, value: &str) -> bool {
        let target = old.assignments.iter().rposition(|a| a.key == key);
        let new_last = self.assignments.iter().rposition(|a| a.key == key);
        let expected = target.unwrap_or(old.assignments.len());
        if new_last != Some(expected) || self.get(key) != Some(value) {
            return false;
        }
        let skip = |i: &(usize, &Assignment)| i.0 != expected;
        let old_rest = old.assignments.iter().enumerate().filter(skip).map(|i| i.1);
        let new_rest = self
            .assignments
            .iter()
            .enumerate()
            .filter(skip)
            .map(|i| i.1);
        self.assignments.len() == old.assignments.len() + usize::from(target.is_none())
            && same_lines(old, old_rest, self, new_rest)
    }
}

/// Whether two runs of assignments have the same names and value texts, pairwise.
fn same_lines<'a>(
    old: &EnvFile,
    a: impl Iterator<Item = &'a Assignment>,
    new: &EnvFile,
    b: impl Iterator<Item = &'a Assignment>,
) -> bool {
    let a: Vec<_> = a.collect();
    let b: Vec<_> = b.collect();
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x.key == y.key && old.text[x.value_span.clone()] == new.text[y.value_span.clone()]
        })
}

/// The name of a commented-out assignment (`# KEY=value`) and where its value starts, if
/// the line is one and the value is not empty.
fn commented_value(line: &str) -> Option<(&str, usize)> {
    let body = line.trim_start();
    let rest = body.strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("export ").unwrap_or(rest).trim_start();
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let value = rest[name_len..].trim_start().strip_prefix('=')?;
    let at = line.len() - value.len();
    (!value.trim().is_empty()).then_some((&rest[..name_len], at))
}

/// The text `set` writes for `value`: one line that dotenvy 0.15 and node's dotenv both
/// read back as exactly `value`:
///
/// - bare when it is only ASCII letters, digits and `-_.:/+=,@%` (base64url, hex, kids, URLs);
/// - else `"…"` with line breaks as `\n`, when it has no `"`, `$` or `\` (PEM keys);
/// - else `'…'` (literal in both), when it has no `'` or line break and does not end in `\`.
///
/// A value none of these fit (one with a carriage return, one ending in `\`, or one with a
/// `'` or a line break and also one of `"`, `$`, `\`) has no such text: `set` refuses it,
/// and this function then returns the double-quoted form with `\"`, `\\`, `\$` escapes,
/// which dotenvy alone reads back (useful only to recognise such a value, e.g. to mask it).
pub fn encode_value(value: &str) -> String {
    encode(value).unwrap_or_else(|_| {
        let mut out = String::from("\"");
        for c in value.chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '"' | '\\' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    })
}

/// The encoding of [`encode_value`], or why there is none (completes "its value …").
pub fn encode(value: &str) -> std::result::Result<String, &'static str> {
    let bare = |c: char| c.is_ascii_alphanumeric() || "-_.:/+=,@%".contains(c);
    if value.contains('\r') {
        // node's dotenv turns every CR into a line break before it parses.
        return Err("holds a carriage return, which node's dotenv reads as a line break");
    }
    if !value.is_empty() && value.chars().all(bare) {
        return Ok(value.to_string());
    }
    // In double quotes dotenvy substitutes `$` and unescapes `\`; node's dotenv does
    // neither, but both turn `\n` into a line break.
    if !value.contains(['"', '$', '\\']) {
        return Ok(format!("\"{}\"", value.replace('\n', "\\n")));
    }
    // In single quotes both read every character literally, but dotenvy's line joiner
    // takes `\'` as an escaped quote, and neither reads a line break written as `\n`.
    if value.ends_with('\\') {
        return Err(
            "ends in `\\`, which no quoting reads back the same in dotenvy and node's dotenv",
        );
    }
    if !value.contains(['\'', '\n']) {
        return Ok(format!("'{value}'"));
    }
    Err(
        "has a `'` or a line break and also one of `\"`, `$`, `\\`, which no quoting \
         reads back the same in dotenvy and node's dotenv",
    )
}

/// Whether `key` is a name dotenvy reads: a letter or `_`, then letters, digits, `_`, `.`.
fn is_name(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Why dotenvy rejects a line. Carries no text of the line: it may hold a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    ExpectedName,
    ExpectedEquals,
    UnclosedQuote,
    /// `"$NAME"`: dotenvy ends the name at the `"` and keeps it as a character.
    QuoteAfterName,
    UnknownEscape,
    TextAfterBlank,
    UnclosedBrace,
    BackslashAtEnd,
    BlankAtEnd,
    /// `$NAME` substitution made a value larger than [`MAX_VALUE_LEN`].
    TooLong,
}

/// The largest value `$NAME` substitution may build: far past any key, far below memory
/// (`A=${A}${A}` forty times over would otherwise need a terabyte).
const MAX_VALUE_LEN: usize = 1 << 20;

/// A rejected line: the problem and the byte offset it is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Syntax {
    at: usize,
    problem: Problem,
}

impl Syntax {
    fn into_error(self, path: &Path, text: &str) -> Error {
        let (line, column) = position(text, self.at);
        let (message, hint) = match self.problem {
            Problem::ExpectedName => (
                "expected a variable name (a letter or `_`, then letters, digits, `_` or `.`)",
                None,
            ),
            Problem::ExpectedEquals => ("expected `=` after the variable name", None),
            Problem::UnclosedQuote => ("this quote is never closed", None),
            Problem::QuoteAfterName => (
                "dotenvy reads a quote right after a `$NAME` as part of the value, so it \
                 does not close the quote before it",
                Some("write the name in braces before a closing quote: `${NAME}\"`"),
            ),
            Problem::UnknownEscape => (
                "unsupported escape: after `\\` dotenv allows only `n`, `\\`, `'`, `\"`, `$` or a space",
                None,
            ),
            Problem::TextAfterBlank => (
                "unexpected text after a blank in an unquoted value",
                Some("quote a value that holds blanks, or start a comment with ` #`"),
            ),
            Problem::UnclosedBrace => ("this `${` is never closed with `}`", None),
            Problem::BackslashAtEnd => (
                "the last line ends in `\\` and the file has no final line break",
                Some("end the file with a line break: dotenvy rejects it otherwise"),
            ),
            Problem::BlankAtEnd => (
                "the last line ends in a blank and the file has no final line break",
                Some("end the file with a line break: dotenvy rejects it otherwise"),
            ),
            Problem::TooLong => (
                "`$` substitution makes this value larger than 1 MiB",
                Some("quote the value in single quotes, or drop the repeated `$NAME`"),
            ),
        };
        let hint = hint.unwrap_or(
            "fix or comment out this line (# …); pskeys changes nothing until it parses",
        );
        Error::EnvFile {
            location: Location::at(path, line, column),
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// The 1-based line and column (in characters, a leading BOM not counted) of byte `at`.
fn position(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut stem = &before[line_start..];
    if line_start == 0 {
        stem = stem.strip_prefix('\u{feff}').unwrap_or(stem);
    }
    (before.matches('\n').count() + 1, stem.chars().count() + 1)
}

/// Reads every assignment of `text`, with `env` as the process environment for `$NAME`.
fn read(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Assignment>, Syntax> {
    // dotenvy's file loaders skip a UTF-8 BOM.
    let mut pos = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut line = 1;
    let mut known = HashMap::new();
    let mut out = Vec::new();
    while pos < text.len() {
        let logical = logical_line(text, pos)?;
        if let Some((key, value, value_span)) = read_line(text, logical.content, &mut known, env)? {
            out.push(Assignment {
                key,
                value,
                value_span,
                line_span: pos..logical.next,
                line,
            });
        }
        line += text[pos..logical.next].matches('\n').count();
        pos = logical.next;
    }
    Ok(out)
}

/// A logical line: what dotenvy parses, and where the next one starts.
struct Logical {
    content: Range<usize>,
    next: usize,
}

/// The state of dotenvy's line joiner (`iter.rs`, `eval_end_state`) after a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    Complete,
    Escape,
    Single,
    SingleEscape,
    Double,
    DoubleEscape,
    Blank,
}

impl Join {
    /// The state after `c`; `None` when `c` starts a comment that ends the logical line.
    fn after(self, c: char) -> Option<Join> {
        Some(match (self, c) {
            (Join::Blank, '#') => return None,
            (Join::Complete | Join::Blank, '\\') => Join::Escape,
            (Join::Complete | Join::Blank, '"') => Join::Double,
            (Join::Complete | Join::Blank, '\'') => Join::Single,
            (Join::Complete, c) if c.is_whitespace() && c != '\n' && c != '\r' => Join::Blank,
            (Join::Complete | Join::Blank | Join::Escape, _) => Join::Complete,
            (Join::Double, '\\') => Join::DoubleEscape,
            (Join::Double, '"') | (Join::Single, '\'') => Join::Complete,
            (Join::Double | Join::DoubleEscape, _) => Join::Double,
            (Join::Single, '\\') => Join::SingleEscape,
            (Join::Single | Join::SingleEscape, _) => Join::Single,
        })
    }

    /// What is wrong when the file ends in this state.
    fn at_end(self) -> Option<Problem> {
        match self {
            Join::Complete => None,
            Join::Escape => Some(Problem::BackslashAtEnd),
            Join::Blank => Some(Problem::BlankAtEnd),
            Join::Single | Join::SingleEscape | Join::Double | Join::DoubleEscape => {
                Some(Problem::UnclosedQuote)
            }
        }
    }
}

/// The logical line starting at `start` (dotenvy's `QuotedLines`): physical lines are joined
/// while a quote is open; a comment line is empty; a `#` right after a blank ends the line.
fn logical_line(text: &str, start: usize) -> Result<Logical, Syntax> {
    let mut state = Join::Complete;
    // Where the state last left `Complete`: the quote, `\` or blank an error points at.
    let mut opened = start;
    let mut cursor = start;
    loop {
        if cursor == text.len() {
            let problem = state.at_end().unwrap_or(Problem::UnclosedQuote);
            return Err(Syntax {
                at: opened,
                problem,
            });
        }
        let line_end = text[cursor..]
            .find('\n')
            .map_or(text.len(), |i| cursor + i + 1);
        if cursor == start && text[start..line_end].trim_start().starts_with('#') {
            return Ok(Logical {
                content: start..start,
                next: line_end,
            });
        }
        for (i, c) in text[cursor..line_end].char_indices() {
            let Some(next) = state.after(c) else {
                let content = start..cursor + i;
                return Ok(Logical {
                    content,
                    next: line_end,
                });
            };
            if matches!(state, Join::Complete | Join::Blank) && next != Join::Complete {
                opened = cursor + i;
            }
            state = next;
        }
        if state == Join::Complete {
            let body = text[start..line_end]
                .strip_suffix('\n')
                .map_or(line_end, |t| {
                    start + t.strip_suffix('\r').unwrap_or(t).len()
                });
            return Ok(Logical {
                content: start..body,
                next: line_end,
            });
        }
        cursor = line_end;
    }
}

/// Earlier values for `$NAME`: `None` for `KEY=` (dotenvy keeps them apart, reads both as "").
type Known = HashMap<String, Option<String>>;

/// Reads one logical line (dotenvy's `parse_line`): `None` for a blank or comment line, else
/// the name, the value and the value's span.
fn read_line(
    text: &str,
    content: Range<usize>,
    known: &mut Known,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(String, String, Range<usize>)>, Syntax> {
    let end = content.start + text[content.clone()].trim_end().len();
    let rest = |at: usize| &text[at..end];
    let mut pos = skip_blanks(text, content.start, end);
    if pos == end || rest(pos).starts_with('#') {
        return Ok(None);
    }
    let mut key;
    (key, pos) = read_name(text, pos, end)?;
    pos = skip_blanks(text, pos, end);
    // `export` is a prefix, unless it is the name itself (`export=1`).
    if key == "export" && !rest(pos).starts_with('=') {
        (key, pos) = read_name(text, pos, end)?;
        pos = skip_blanks(text, pos, end);
    }
    if !rest(pos).starts_with('=') {
        return Err(Syntax {
            at: pos,
            problem: Problem::ExpectedEquals,
        });
    }
    pos = skip_blanks(text, pos + 1, end);
    if pos == end || rest(pos).starts_with('#') {
        known.insert(key.clone(), None);
        return Ok(Some((key, String::new(), pos..pos)));
    }
    let resolve = |name: &str| {
        env(name).unwrap_or_else(|| known.get(name).cloned().flatten().unwrap_or_default())
    };
    let mut reader = ValueReader::new(&resolve);
    for (i, c) in text[pos..end].char_indices() {
        if !reader.step(c, pos + i)? {
            break;
        }
    }
    let (value, value_end) = reader.finish(end)?;
    known.insert(key.clone(), Some(value.clone()));
    Ok(Some((key, value, pos..value_end)))
}

/// The first offset in `start..end` that is not whitespace (Unicode, as in dotenvy).
fn skip_blanks(text: &str, start: usize, end: usize) -> usize {
    text[start..end]
        .find(|c: char| !c.is_whitespace())
        .map_or(end, |i| start + i)
}

/// A name at `start`, and the offset after it.
fn read_name(text: &str, start: usize, end: usize) -> Result<(String, usize), Syntax> {
    let rest = &text[start..end];
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return Err(Syntax {
            at: start,
            problem: Problem::ExpectedName,
        });
    }
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    Ok((rest[..len].to_string(), start + len))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subst {
    None,
    /// After `$`: a name of alphanumerics (Unicode; `_` ends it, as in dotenvy).
    Name,
    /// After `${`: a name up to `}`.
    Braced,
}

/// dotenvy's `parse_value`, one character at a time, remembering where the value ends.
struct ValueReader<'r> {
    out: String,
    quote: Quote,
    quote_at: usize,
    escaped: bool,
    subst: Subst,
    dollar_at: usize,
    name: String,
    /// A quote a `$NAME` ended on, kept as a character: the likely cause of an open quote.
    eaten_quote: Option<usize>,
    /// Where the blank that ended an unquoted value is; after it only blanks and a comment.
    blank_at: Option<usize>,
    resolve: &'r dyn Fn(&str) -> String,
    /// Where a substitution went past [`MAX_VALUE_LEN`].
    too_long: Option<usize>,
}

impl<'r> ValueReader<'r> {
    fn new(resolve: &'r dyn Fn(&str) -> String) -> Self {
        ValueReader {
            out: String::new(),
            quote: Quote::None,
            quote_at: 0,
            escaped: false,
            subst: Subst::None,
            dollar_at: 0,
            name: String::new(),
            eaten_quote: None,
            blank_at: None,
            resolve,
            too_long: None,
        }
    }

    /// Takes `c` at offset `at`; `false` when a comment starts and the value is over.
    /// The order of the tests is dotenvy's: it decides, e.g., that `"$A"` leaves the quote
    /// open (the name ends at `"`, which is then kept as a character).
    fn step(&mut self, c: char, at: usize) -> Result<bool, Syntax> {
        if let Some(at) = self.too_long {
            return Err(Syntax {
                at,
                problem: Problem::TooLong,
            });
        }
        if self.blank_at.is_some() {
            return match c {
                ' ' | '\t' => Ok(true),
                '#' => Ok(false),
                _ => Err(Syntax {
                    at,
                    problem: Problem::TextAfterBlank,
                }),
            };
        }
        if self.escaped {
            self.escaped = false;
            match c {
                '\\' | '\'' | '"' | '$' | ' ' => self.out.push(c),
                'n' => self.out.push('\n'),
                _ => {
                    return Err(Syntax {
                        at,
                        problem: Problem::UnknownEscape,
                    });
                }
            }
        } else if self.quote == Quote::Single {
            if c == '\'' {
                self.quote = Quote::None;
            } else {
                self.out.push(c);
            }
        } else if self.subst != Subst::None {
            self.substitution(c, at);
        } else if c == '$' {
            self.subst = Subst::Name;
            self.dollar_at = at;
        } else if self.quote == Quote::Double {
            match c {
                '"' => self.quote = Quote::None,
                '\\' => self.escaped = true,
                _ => self.out.push(c),
            }
        } else {
            self.unquoted(c, at);
        }
        Ok(true)
    }

    fn unquoted(&mut self, c: char, at: usize) {
        match c {
            '\'' | '"' => {
                self.quote = if c == '"' {
                    Quote::Double
                } else {
                    Quote::Single
                };
                self.quote_at = at;
            }
            '\\' => self.escaped = true,
            ' ' | '\t' => self.blank_at = Some(at),
            _ => self.out.push(c),
        }
    }

    fn substitution(&mut self, c: char, at: usize) {
        if c.is_alphanumeric() {
            self.name.push(c);
            return;
        }
        match self.subst {
            Subst::Name if c == '{' && self.name.is_empty() => self.subst = Subst::Braced,
            Subst::Name => {
                self.substitute();
                if c == '$' {
                    self.dollar_at = at;
                } else {
                    if c == '"' || c == '\'' {
                        self.eaten_quote = Some(at);
                    }
                    self.subst = Subst::None;
                    self.out.push(c);
                }
            }
            Subst::Braced if c == '}' => {
                self.subst = Subst::None;
                self.substitute();
            }
            Subst::Braced => self.name.push(c),
            Subst::None => {}
        }
    }

    fn substitute(&mut self) {
        let name = std::mem::take(&mut self.name);
        let value = (self.resolve)(&name);
        if self.out.len() + value.len() > MAX_VALUE_LEN {
            self.too_long = Some(self.dollar_at);
            return;
        }
        self.out.push_str(&value);
    }

    /// The value and where its text ends (`end` unless a blank ended it earlier).
    fn finish(mut self, end: usize) -> Result<(String, usize), Syntax> {
        if self.subst == Subst::Braced {
            return Err(Syntax {
                at: self.dollar_at,
                problem: Problem::UnclosedBrace,
            });
        }
        if self.quote != Quote::None {
            return Err(match self.eaten_quote {
                Some(at) => Syntax {
                    at,
                    problem: Problem::QuoteAfterName,
                },
                None => Syntax {
                    at: self.quote_at,
                    problem: Problem::UnclosedQuote,
                },
            });
        }
        // dotenvy substitutes here even with no `$` pending (the empty name): kept, so
        // the lookups are the same ones.
        self.substitute();
        if let Some(at) = self.too_long {
            return Err(Syntax {
                at,
                problem: Problem::TooLong,
            });
        }
        Ok((self.out, self.blank_at.unwrap_or(end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(text: &str) -> EnvFile {
        EnvFile::parse(Path::new(".env"), text.to_string(), true).unwrap()
    }

    /// What dotenvy reads, a leading BOM skipped as its file loaders do.
    fn dotenvy(text: &str) -> Vec<(String, String)> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        dotenvy::from_read_iter(text.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .unwrap()
    }

    fn values(text: &str) -> Vec<(String, String)> {
        read(text, &process_env)
            .unwrap()
            .into_iter()
            .map(|a| (a.key, a.value))
            .collect()
    }

    fn error(text: &str) -> (usize, usize, String) {
        match EnvFile::parse(Path::new(".env"), text.into(), true).unwrap_err() {
            Error::EnvFile {
                location, message, ..
            } => (location.line.unwrap(), location.column.unwrap(), message),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn updates_in_place_and_keeps_everything_else() {
        let mut e = env("# c\r\nexport A=1 # note\r\nB='x y'\r\n");
        e.set("A", "2").unwrap();
        assert_eq!(e.text, "# c\r\nexport A=2 # note\r\nB='x y'\r\n");
        e.set("C", "3").unwrap();
        assert_eq!(
            e.text,
            format!("# c\r\nexport A=2 # note\r\nB='x y'\r\n\r\n{HEADER}\r\nC=3\r\n")
        );
        assert_eq!(e.get("B"), Some("x y"));
    }

    #[test]
    fn doubling_substitutions_stop_at_a_mebibyte() {
        let mut text = String::from("AA=xxxxxxxxxxxxxxxx\n");
        for _ in 0..40 {
            text.push_str("AA=${AA}${AA}\n");
        }
        let (line, _, message) = error(&text);
        assert!(message.contains("larger than 1 MiB"), "{message}");
        assert!(line > 10 && line < 20, "{line}");
    }

    #[test]
    fn pem_round_trips_on_one_line() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIB+/=\n-----END PRIVATE KEY-----\n";
        let mut e = env("");
        e.set("K", pem).unwrap();
        assert_eq!(e.text.lines().count(), 2);
        assert_eq!(e.get("K"), Some(pem));
        assert_eq!(dotenvy(&e.text)[0].1, pem);
    }

    #[test]
    fn a_comment_right_after_the_equals_sign_is_kept_apart_from_the_new_value() {
        let mut e = env("PS_CLIENT_AUTH_KEY=#OLD\nB=1\n");
        assert_eq!(e.get(HMAC_VAR), Some(""));
        e.set(HMAC_VAR, "new").unwrap();
        assert_eq!(e.text, "PS_CLIENT_AUTH_KEY=new #OLD\nB=1\n");
        assert_eq!(dotenvy(&e.text)[0].1, "new");
    }

    #[test]
    fn text_after_a_closing_quote_belongs_to_the_value() {
        let mut e = env("PS_CLIENT_AUTH_KEY=\"x\"y # c\n");
        assert_eq!(e.get(HMAC_VAR), Some("xy"));
        e.set(HMAC_VAR, "new").unwrap();
        assert_eq!(e.text, "PS_CLIENT_AUTH_KEY=new # c\n");
        assert_eq!(dotenvy(&e.text)[0].1, "new");
    }

    #[test]
    fn an_empty_value_with_a_comment_parses_and_takes_a_value() {
        let mut e = env("PS_CLIENT_AUTH_KEY= # set by pskeys\n");
        assert_eq!(e.get(HMAC_VAR), Some(""));
        e.set(HMAC_VAR, "abc").unwrap();
        assert_eq!(e.text, "PS_CLIENT_AUTH_KEY=abc # set by pskeys\n");
        assert_eq!(
            dotenvy(&e.text),
            [(HMAC_VAR.to_string(), "abc".to_string())]
        );
    }

    #[test]
    fn errors_give_line_and_column_but_never_the_text() {
        for (text, line, column) in [
            ("A=1\nnot a var\n", 2, 5),
            ("A=1\n  SECRET=s3cr3t value\n", 2, 17),
            ("SECRET=\"s3cr3t\nB=2\n", 1, 8),
            ("SECRET=s3cr3t\\q\n", 1, 15),
            ("SECRET=${s3cr3t\n", 1, 8),
            ("1SECRET=s3cr3t\n", 1, 1),
            ("SECRET s3cr3t\n", 1, 8),
            ("SECRET=s3cr3t ", 1, 14),
            ("SECRET=\"$s3cr3t\"\n", 1, 16),
        ] {
            let (l, c, message) = error(text);
            assert_eq!((l, c), (line, column), "{text:?}: {message}");
            assert!(
                !message.contains("s3cr3t") && !message.contains("SECRET"),
                "{message}"
            );
            assert!(!message.contains("not a var"), "{message}");
        }
    }

    #[test]
    fn reads_what_dotenvy_reads() {
        for text in [
            "A=1\nB=\"x\"y\nC='a b'c\nexport D = e\nexport=1\n",
            "A=x #c\nB=x#c\nC=$A$B\nD=\"${A}_\"\nE='$A'\nF=a\\ b\nG=\\$A\n",
            "A=$B  #c\nB=\"x\ny\" # c\r\nC='p\\q'\n\n  # c\n\t\n",
            "\u{feff}A=\"\\n\\\\\\\"\\$\\ \"\nB.c=x\n_=1\n",
            "A=\"x\" #'\nB=2\n",
        ] {
            assert_eq!(values(text), dotenvy(text), "{text:?}");
        }
    }

    #[test]
    fn substitutes_from_the_environment_first_then_earlier_lines() {
        let env = |name: &str| (name == "E").then(|| "env".to_string());
        let got: Vec<_> = read("E=file\nA=$E\nB=${A}x\nC=$U.\n", &env)
            .unwrap()
            .into_iter()
            .map(|a| a.value)
            .collect();
        assert_eq!(got, ["file", "env", "envx", "."]);
    }

    #[test]
    fn spans_cover_the_value_and_the_whole_logical_line() {
        let text = "export A = \"x\ny\"z  # c\r\nB=\nC=#c\n";
        let e = env(text);
        let [a, b, c] = e.assignments() else {
            panic!("{:?}", e.assignments())
        };
        assert_eq!(&text[a.value_span.clone()], "\"x\ny\"z");
        assert_eq!(&text[a.line_span.clone()], "export A = \"x\ny\"z  # c\r\n");
        assert_eq!((a.line, b.line, c.line), (1, 3, 4));
        assert_eq!(&text[c.value_span.end..], "#c\n");
        assert!(b.value_span.is_empty() && c.value_span.is_empty());
    }

    #[test]
    fn multi_line_quoted_values_are_one_assignment() {
        let mut e = env("A=\"x\ny\"\nB=2\n");
        assert_eq!(e.get("A"), Some("x\ny"));
        e.set("B", "3").unwrap();
        assert_eq!(e.text, "A=\"x\ny\"\nB=3\n");
        e.remove("A").unwrap();
        assert_eq!(e.text, "B=3\n");
    }

    #[test]
    fn a_quote_in_a_comment_reads_the_same_after_a_new_value() {
        // dotenvy's joiner sees no comment in `$B  #'` (the first blank belongs to the
        // value), so the `'` joins the next line; the new value keeps it that way.
        let mut e = env("A=$B  #'\nC=1'\nD=2\n");
        assert_eq!(e.vars().len(), 2);
        e.set("A", "v").unwrap();
        assert_eq!(e.text, "A=v  #'\nC=1'\nD=2\n");
        assert_eq!(dotenvy(&e.text), values(&e.text));
    }

    #[test]
    fn a_line_dotenvy_reads_two_ways_is_not_rewritten() {
        // The joiner reads `\'` as an escaped quote, the value reader does not.
        let text = "A='x\\' #\nB=1'\n";
        assert_eq!(dotenvy(text), [("A".to_string(), "x\\".to_string())]);
        let mut e = env(text);
        let err = e.set("A", "v").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        assert_eq!(e.text, text);
    }

    #[test]
    fn encodings_read_back_and_unwritable_values_are_refused() {
        assert_eq!(encode_value("abc-_.:/+=,@%"), "abc-_.:/+=,@%");
        assert_eq!(encode_value(""), "\"\"");
        assert_eq!(encode_value("a b\n#'`"), "\"a b\\n#'`\"");
        assert_eq!(encode_value("$x \"y\" \\z"), "'$x \"y\" \\z'");
        let mut e = env("");
        for bad in ["it's $5", "a\r", "$\n", "x\\", "'\\"] {
            let err = e.set("K", bad).unwrap_err().to_string();
            assert!(!err.contains(bad), "{err}");
        }
        assert!(e.set("1K", "x").is_err());
        assert_eq!(e.text, "");
    }

    #[test]
    fn remove_takes_every_assignment_and_nothing_else() {
        let mut e = env("A=1\n# a\nB=2 # b\nA='x\ny'\nC=3");
        e.remove("A").unwrap();
        assert_eq!(e.text, "# a\nB=2 # b\nC=3");
        e.remove("C").unwrap();
        assert_eq!(e.text, "# a\nB=2 # b\n");
    }
}
