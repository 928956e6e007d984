//! The `.env` file: values read with dotenvy (the same rules as the usual dotenv tools),
//! edits made in place by a small lossless editor of our own. Updating a variable rewrites
//! only its value; every other byte (comments, `export`, quoting, order, CRLF) is kept.

use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

/// The variable holding the kid `mint` signs with.
pub const KID_VAR: &str = "PSKEYS_KID";
/// The variable holding the algorithm of that key.
pub const ALG_VAR: &str = "PSKEYS_ALG";
/// The variable holding an asymmetric private key (PKCS#8 PEM). Deliberately without the
/// `PS_` prefix, so no service config can ever reference it.
pub const PRIVATE_KEY_VAR: &str = "PSKEYS_PRIVATE_KEY";
/// The variable an HMAC secret is stored under (the official CLI template's name).
pub const HMAC_VAR: &str = "PS_CLIENT_AUTH_KEY";

/// The variable the Supabase legacy JWT secret is stored under (read by the config).
pub const SUPABASE_SECRET_VAR: &str = "PS_SUPABASE_JWT_SECRET";

/// The comment written above the variables pskeys adds to a file.
pub const HEADER: &str =
    "# PowerSync settings written by pskeys. Holds secrets: keep this file out of git.";

/// One `KEY=value` assignment in the file.
#[derive(Debug, Clone)]
struct Assignment {
    key: String,
    /// Byte offset where the value text starts (after `=` and spaces).
    value_start: usize,
    /// Byte offset where the value text ends (before the line break).
    value_end: usize,
    /// 1-based line number.
    line: usize,
}

/// A `.env` file held in memory.
#[derive(Debug, Clone)]
pub struct EnvFile {
    /// Its path.
    pub path: PathBuf,
    /// Its current text (with edits applied).
    pub text: String,
    /// Whether it existed when read.
    pub existed: bool,
    vars: Vec<(String, String)>,
    assignments: Vec<Assignment>,
}

impl EnvFile {
    /// Reads `path`; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<EnvFile> {
        match std::fs::read(path) {
            Ok(bytes) => {
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                EnvFile::parse(path, String::new(), false)
            }
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    /// Parses `text` as the file at `path`.
    pub fn parse(path: &Path, text: String, existed: bool) -> Result<EnvFile> {
        let assignments = scan(path, &text)?;
        let mut vars = Vec::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok(pair) => vars.push(pair),
                Err(dotenvy::Error::LineParse(line, index)) => {
                    let line_no = text[..text.find(&line).unwrap_or(0)].matches('\n').count() + 1;
                    return Err(Error::EnvFile {
                        location: Location::at(path, line_no, index + 1),
                        message: format!("cannot parse this line: `{}`", line.lines().next().unwrap_or_default()),
                        hint: Some("write it as KEY=value, quote values with spaces, or comment it out with #".into()),
                    });
                }
                Err(e) => {
                    return Err(Error::EnvFile {
                        location: Location::file(path),
                        message: e.to_string(),
                        hint: None,
                    });
                }
            }
        }
        Ok(EnvFile {
            path: path.to_path_buf(),
            text,
            existed,
            vars,
            assignments,
        })
    }

    /// The value of `key` in the file (the last assignment wins, as in dotenvy).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The line `key` is assigned on.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.assignments
            .iter()
            .rev()
            .find(|a| a.key == key)
            .map(|a| a.line)
    }

    /// All variables, in file order.
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// Sets `key` to `value`: rewrites the value of an existing assignment in place, or
    /// appends `KEY=value` (under the pskeys header comment) at the end.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let encoded = encode_value(value);
        if self.get(key) == Some(value) {
            return Ok(());
        }
        let text = match self.assignments.iter().rev().find(|a| a.key == key) {
            Some(a) => format!(
                "{}{}{}",
                &self.text[..a.value_start],
                encoded,
                &self.text[a.value_end..]
            ),
            None => {
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
        };
        *self = EnvFile::parse(&self.path, text, self.existed)?;
        Ok(())
    }

    /// Removes every assignment of `key` (whole lines).
    pub fn remove(&mut self, key: &str) -> Result<()> {
        let mut text = self.text.clone();
        for a in self.assignments.iter().rev().filter(|a| a.key == key) {
            let start = text[..a.value_start].rfind('\n').map_or(0, |i| i + 1);
            let end = text[a.value_end..]
                .find('\n')
                .map_or(text.len(), |i| a.value_end + i + 1);
            text.replace_range(start..end, "");
        }
        if text != self.text {
            *self = EnvFile::parse(&self.path, text, self.existed)?;
        }
        Ok(())
    }
}

/// Encodes a value so dotenvy (and node's dotenv) read it back unchanged: bare when
/// safe, else double-quoted with `\n`, `\"`, `\\` and `\$` escapes (one line).
pub fn encode_value(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/+=,@%".contains(c));
    if safe {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Finds the assignments and their value spans; rejects lines that are none of blank,
/// comment or `[export] KEY=value` (following quoted values across lines).
fn scan(path: &Path, text: &str) -> Result<Vec<Assignment>> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let raw = text[pos..line_end].trim_end_matches('\r');
        let body = raw.trim_start_matches('\u{feff}');
        let lead = raw.len() - body.trim_start().len();
        let trimmed = body.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            pos = line_end + 1;
            line += 1;
            continue;
        }
        let mut rest = &text[pos + lead..line_end];
        let mut offset = pos + lead;
        if let Some(r) = rest.strip_prefix("export ") {
            let skipped = rest.len() - r.trim_start().len();
            offset += skipped;
            rest = r.trim_start();
        }
        let key_len = rest
            .char_indices()
            .take_while(|(i, c)| c.is_ascii_alphanumeric() || *c == '_' || (*i > 0 && *c == '.'))
            .count();
        let key = &rest[..key_len];
        let after_key = rest[key_len..].trim_start();
        if key.is_empty()
            || key.starts_with(|c: char| c.is_ascii_digit())
            || !after_key.starts_with('=')
        {
            return Err(Error::EnvFile {
                location: Location::at(path, line, lead + 1),
                message: format!(
                    "expected KEY=value, found `{}`",
                    trimmed.chars().take(60).collect::<String>()
                ),
                hint: Some(
                    "fix or comment out this line (# …); pskeys changes nothing until it parses"
                        .into(),
                ),
            });
        }
        let eq = offset + key_len + (rest[key_len..].len() - after_key.len());
        let after_eq = &text[eq + 1..];
        let value_start =
            eq + 1 + (after_eq.len() - after_eq.trim_start_matches([' ', '\t']).len());
        let mut value_end = line_end;
        let start_line = line;
        // A quoted value may run over several lines: find its closing quote.
        if let Some(q) = text[value_start..]
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
        {
            let mut i = value_start + 1;
            let bytes = text.as_bytes();
            while i < text.len() && bytes[i] != q as u8 {
                if bytes[i] == b'\\' && q == '"' {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'\n') {
                    line += 1;
                }
                i += 1;
            }
            value_end = (i + 1).min(text.len());
        } else if let Some(c) = text[value_start..line_end]
            .find(" #")
            .or_else(|| text[value_start..line_end].find("\t#"))
        {
            // An unquoted value ends where its inline comment starts.
            value_end = value_start + c;
        } else if text[value_start..line_end].starts_with('#') {
            value_end = value_start;
        }
        let value_end = if text[..value_end].ends_with('\r') {
            value_end - 1
        } else {
            value_end
        };
        out.push(Assignment {
            key: key.to_string(),
            value_start,
            value_end,
            line: start_line,
        });
        pos = text[value_end..]
            .find('\n')
            .map_or(text.len(), |j| value_end + j + 1);
        line += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(text: &str) -> EnvFile {
        EnvFile::parse(Path::new(".env"), text.to_string(), true).unwrap()
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
    fn pem_round_trips_on_one_line() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIB+/=\n-----END PRIVATE KEY-----\n";
        let mut e = env("");
        e.set("K", pem).unwrap();
        assert_eq!(e.text.lines().count(), 2);
        assert_eq!(e.get("K"), Some(pem));
    }

    #[test]
    fn malformed_lines_are_reported_with_their_line() {
        let err = EnvFile::parse(Path::new(".env"), "A=1\nnot a var\n".into(), true).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn multi_line_quoted_values_are_one_assignment() {
        let mut e = env("A=\"x\ny\"\nB=2\n");
        assert_eq!(e.get("A"), Some("x\ny"));
        e.set("B", "3").unwrap();
        assert_eq!(e.text, "A=\"x\ny\"\nB=3\n");
        e.remove("A").unwrap();
        assert_eq!(e.get("A"), None);
    }
}
