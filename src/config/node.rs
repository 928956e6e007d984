//! A read-only view of a config document: values with their line and column, `!env` tags
//! kept unresolved until asked. YAML is read with saphyr-parser (strict YAML 1.2, core
//! schema, anchors and aliases; `<<` is an ordinary key, as in the service's `yaml` 2 with
//! the core schema, which does not merge); JSON with a small span-keeping parser of our own.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// How an `!env` value is converted (`!env NAME::number`, `!env NAME::boolean`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvConv {
    /// Plain string (no suffix, or `::string`).
    Text,
    /// `::number`.
    Number,
    /// `::boolean`.
    Boolean,
    /// Any other suffix: the service refuses the config.
    Unknown(String),
}

/// One value of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or empty.
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// `!env NAME[::conv]`, resolved on demand.
    Env {
        /// The variable name.
        name: String,
        /// The conversion.
        conv: EnvConv,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(String, Node)>),
}

/// A value and where it starts (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The scalar was written without quotes (YAML plain style; always false in JSON).
    pub plain: bool,
}

/// A parse failure with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Node {
    fn new(value: Value, line: usize, column: usize) -> Self {
        Node {
            value,
            line,
            column,
            plain: false,
        }
    }

    /// The entry `key` of a mapping (the last one, as YAML and JSON loaders keep).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, if this is a plain string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The sequence items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The mapping entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Env { .. } => "an `!env` value",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Calls `f` with every node and its dotted path (`client_auth.jwks.keys[0].k`).
    pub fn visit<'a>(&'a self, path: &mut String, f: &mut dyn FnMut(&str, &'a Node)) {
        f(path, self);
        let len = path.len();
        match &self.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    v.visit(path, f);
                    path.truncate(len);
                }
            }
            Value::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push_str(&format!("[{i}]"));
                    v.visit(path, f);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }

    /// The value with every `!env` resolved through `lookup`, as the service does:
    /// the name must start with `PS_` and be defined.
    pub fn resolve(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<serde_json::Value, EnvError> {
        use serde_json::Value as J;
        Ok(match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Env { name, conv } => {
                let err = |problem| EnvError {
                    name: name.clone(),
                    line: self.line,
                    column: self.column,
                    problem,
                };
                if !name.starts_with("PS_") {
                    return Err(err(EnvProblem::NoPrefix));
                }
                let raw = lookup(name).ok_or_else(|| err(EnvProblem::Undefined))?;
                match conv {
                    EnvConv::Text => J::String(raw),
                    EnvConv::Number => js_number(&raw)
                        .and_then(serde_json::Number::from_f64)
                        .map(J::Number)
                        .ok_or_else(|| err(EnvProblem::NotNumber(raw.clone())))?,
                    EnvConv::Boolean => match raw.to_lowercase().as_str() {
                        "true" => J::Bool(true),
                        "false" => J::Bool(false),
                        _ => return Err(err(EnvProblem::NotBoolean(raw))),
                    },
                    EnvConv::Unknown(suffix) => {
                        return Err(err(EnvProblem::UnknownType(suffix.clone())));
                    }
                }
            }
            Value::Seq(items) => J::Array(
                items
                    .iter()
                    .map(|n| n.resolve(lookup))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.clone(), v.resolve(lookup)?);
                }
                J::Object(map)
            }
        })
    }
}

/// Why an `!env` value could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvProblem {
    /// The name does not start with `PS_`: the service refuses the whole config.
    NoPrefix,
    /// The variable is not defined.
    Undefined,
    /// `::number` on a value that is not a number (as JavaScript's `Number()` reads it;
    /// `Infinity` counts as none: the schema refuses it wherever a number is expected).
    NotNumber(String),
    /// `::boolean` on a value other than `true`/`false` (any case).
    NotBoolean(String),
    /// A suffix other than `::string`, `::number`, `::boolean`.
    UnknownType(String),
}

/// JavaScript's `Number(text)`, which the service's `!env NAME::number` applies: spaces
/// trimmed, empty is 0, `0x`/`0o`/`0b` integers, decimal literals with an optional sign
/// and exponent, `Infinity`; anything else (`inf`, `1_000`, `12px`) is NaN (`None`).
pub fn js_number(text: &str) -> Option<f64> {
    let t = text.trim_matches(|c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}');
    if t.is_empty() {
        return Some(0.0);
    }
    let radix = match t.get(..2) {
        Some("0x" | "0X") => 16,
        Some("0o" | "0O") => 8,
        Some("0b" | "0B") => 2,
        _ => 10,
    };
    if radix != 10 {
        let digits = &t[2..];
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        return Some(digits.chars().fold(0.0, |n, c| {
            n * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
        }));
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" {
        return Some(if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    let ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()) && exponent_ok;
    ok.then(|| t.parse::<f64>().ok()).flatten()
}

/// An `!env` reference that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    /// The variable.
    pub name: String,
    /// 1-based line of the tag.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub problem: EnvProblem,
}

// ---------------------------------------------------------------- YAML

/// Parses the first document of a YAML text (strict YAML 1.2, core schema).
/// An empty document (or one holding only comments) gives `Null`.
pub fn parse_yaml(text: &str) -> Result<Node, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut builder = YamlBuilder {
        events: Parser::new_from_str(text),
        anchors: HashMap::new(),
        depth: 0,
    };
    builder.document()
}

struct YamlBuilder<'a> {
    events: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Anchor>,
    depth: usize,
}

/// An anchored node and yaml 2's bookkeeping against alias bombs.
struct Anchor {
    node: Node,
    /// How often it has been aliased so far.
    count: usize,
    /// The largest alias weight inside it (yaml's `getAliasCount`).
    weight: usize,
}

/// yaml 2's `maxAliasCount`: past it, resolving aliases is refused as a resource
/// exhaustion attack (the service would refuse the config too).
const MAX_ALIAS_COUNT: usize = 100;

/// How deep collections may nest: far beyond any real config, well within the stack.
pub const MAX_DEPTH: usize = 256;

fn pos(span: &Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
}

fn error_at(message: impl Into<String>, line: usize, column: usize) -> ParseError {
    ParseError {
        message: message.into(),
        line,
        column,
    }
}

impl<'a> YamlBuilder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), ParseError> {
        match self.events.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(error_at(
                e.info().to_string(),
                e.marker().line(),
                e.marker().col() + 1,
            )),
            None => Err(error_at("unexpected end of input", 0, 0)),
        }
    }

    fn document(&mut self) -> Result<Node, ParseError> {
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamStart => continue,
                Event::StreamEnd => return Ok(Node::new(Value::Null, 1, 1)),
                Event::DocumentStart(_) => {
                    let (ev, span) = self.next()?;
                    let (node, _) = self.node(ev, span)?;
                    self.rest_of_stream()?;
                    return Ok(node);
                }
                _ => {
                    let (line, column) = pos(&span);
                    return Err(error_at(
                        "unexpected event before the document",
                        line,
                        column,
                    ));
                }
            }
        }
    }

    /// Reads to the end, so later syntax errors are reported too; a second document is one
    /// (the service's `parseDocument` refuses a file that holds several).
    fn rest_of_stream(&mut self) -> Result<(), ParseError> {
        let mut ended = false;
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamEnd => return Ok(()),
                Event::DocumentEnd => ended = true,
                Event::DocumentStart(_) if ended => {
                    let (line, column) = pos(&span);
                    return Err(error_at(
                        "the file holds more than one YAML document; the service reads exactly one",
                        line,
                        column,
                    ));
                }
                _ => {}
            }
        }
    }

    /// A node and its alias weight (1 for a scalar, the largest inside a collection, the
    /// aliased anchor's count times its weight for an alias).
    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<(Node, usize), ParseError> {
        let (line, column) = pos(&span);
        match ev {
            Event::Alias(id) => self.alias(id, line, column),
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let plain = style == ScalarStyle::Plain;
                let value = scalar_value(&text, plain, tag.as_deref());
                let node = Node {
                    value,
                    line,
                    column,
                    plain,
                };
                Ok(self.anchored(anchor, node, 1))
            }
            Event::SequenceStart(anchor, _tag) => {
                self.enter(line, column)?;
                let (mut items, mut weight) = (Vec::new(), 0);
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    let (item, w) = self.node(ev, span)?;
                    items.push(item);
                    weight = weight.max(w);
                }
                self.depth -= 1;
                Ok(self.anchored(anchor, Node::new(Value::Seq(items), line, column), weight))
            }
            Event::MappingStart(anchor, _tag) => {
                self.enter(line, column)?;
                let (entries, weight) = self.entries()?;
                self.depth -= 1;
                Ok(self.anchored(anchor, Node::new(Value::Map(entries), line, column), weight))
            }
            _ => Err(error_at("unexpected YAML event", line, column)),
        }
    }

    fn enter(&mut self, line: usize, column: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error_at(
                format!("collections nest deeper than {MAX_DEPTH} levels"),
                line,
                column,
            ));
        }
        Ok(())
    }

    fn entries(&mut self) -> Result<(Vec<(String, Node)>, usize), ParseError> {
        let (mut entries, mut weight): (Vec<(String, Node)>, usize) = (Vec::new(), 0);
        // Seen keys in a set: a mapping with 200,000 keys is checked in linear time.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        loop {
            let (ev, span) = self.next()?;
            if matches!(ev, Event::MappingEnd) {
                return Ok((entries, weight));
            }
            let (key, kw) = self.node(ev, span)?;
            let (ev, span) = self.next()?;
            let (value, vw) = self.node(ev, span)?;
            weight = weight.max(kw).max(vw);
            let name = key_text(&key).ok_or_else(|| {
                let message = format!("a mapping key must be a scalar, found {}", key.type_name());
                error_at(message, key.line, key.column)
            })?;
            if !seen.insert(name.clone()) {
                return Err(error_at(
                    format!("duplicate key `{name}`"),
                    key.line,
                    key.column,
                ));
            }
            entries.push((name, value));
        }
    }

    fn anchored(&mut self, anchor: usize, node: Node, weight: usize) -> (Node, usize) {
        if anchor > 0 {
            let data = Anchor {
                node: node.clone(),
                count: 0,
                weight,
            };
            self.anchors.insert(anchor, data);
        }
        (node, weight)
    }

    /// yaml 2's `Alias.resolve`: each use counts, and `count × weight` past
    /// [`MAX_ALIAS_COUNT`] is refused.
    fn alias(
        &mut self,
        id: usize,
        line: usize,
        column: usize,
    ) -> Result<(Node, usize), ParseError> {
        let data = self
            .anchors
            .get_mut(&id)
            .ok_or_else(|| error_at("alias to an unknown anchor", line, column))?;
        data.count += 1;
        let weight = data.count.saturating_mul(data.weight.max(1));
        if weight > MAX_ALIAS_COUNT {
            return Err(error_at(
                "excessive alias count indicates a resource exhaustion attack (yaml, which the service reads configs with, refuses it too)",
                line,
                column,
            ));
        }
        Ok((data.node.clone(), weight))
    }
}

fn key_text(key: &Node) -> Option<String> {
    Some(match &key.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Env { name, .. } => name.clone(),
        Value::Seq(_) | Value::Map(_) => return None,
    })
}

fn scalar_value(text: &str, plain: bool, tag: Option<&str>) -> Value {
    match tag {
        Some("!env") => {
            // As the service's tag: `envName.split('::')`, the first two parts.
            let mut parts = text.split("::");
            let name = parts.next().unwrap_or_default();
            let conv = match parts.next() {
                None | Some("string") => EnvConv::Text,
                Some("number") => EnvConv::Number,
                Some("boolean") => EnvConv::Boolean,
                Some(other) => EnvConv::Unknown(other.to_string()),
            };
            return Value::Env {
                name: name.to_string(),
                conv,
            };
        }
        Some("tag:yaml.org,2002:str") | Some("!!str") => return Value::Str(text.to_string()),
        _ => {}
    }
    if plain {
        core_schema(text)
    } else {
        Value::Str(text.to_string())
    }
}

/// Resolves a plain scalar with the YAML 1.2 core schema (as the service's `yaml` package does).
pub fn core_schema(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits(unsigned, 10) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
        return Value::Float(text.parse().unwrap_or(f64::NAN));
    }
    if let Some(oct) = text.strip_prefix("0o").filter(|s| digits(s, 8)) {
        return i64::from_str_radix(oct, 8)
            .map(Value::Int)
            .unwrap_or(Value::Str(text.into()));
    }
    if let Some(hex) = text.strip_prefix("0x").filter(|s| digits(s, 16)) {
        return i64::from_str_radix(hex, 16)
            .map(Value::Int)
            .unwrap_or(Value::Str(text.into()));
    }
    if is_core_float(unsigned)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn is_core_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() && !frac.is_empty() && frac.chars().all(|c| c.is_ascii_digit()))
                || (!int.is_empty()
                    && int.chars().all(|c| c.is_ascii_digit())
                    && frac.chars().all(|c| c.is_ascii_digit()))
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

// ---------------------------------------------------------------- JSON

/// A JSON value with the byte span it covers, for lossless JSON patching.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSpan {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset after the last character.
    pub end: usize,
    /// For objects: each member's key span start and value; for arrays: the items.
    pub children: Vec<(Option<String>, usize, JsonSpan)>,
    /// What kind of value it is.
    pub kind: JsonKind,
}

/// The kinds of JSON value a span can cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `{…}`.
    Object,
    /// `[…]`.
    Array,
    /// A string, number, boolean or null.
    Scalar,
}

impl JsonSpan {
    fn container(
        start: usize,
        end: usize,
        children: Vec<(Option<String>, usize, JsonSpan)>,
        kind: JsonKind,
    ) -> Self {
        JsonSpan {
            start,
            end,
            children,
            kind,
        }
    }
}

/// Parses JSON into a [`Node`] (for reading) and a [`JsonSpan`] tree (for patching).
pub fn parse_json(text: &str) -> Result<(Node, JsonSpan), ParseError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let offset = text.len() - body.len();
    let mut p = JsonParser {
        s: text.as_bytes(),
        i: offset,
        text,
        depth: 0,
        cursor: std::cell::Cell::new((0, 1, 1)),
    };
    p.ws();
    let out = p.value()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.err("unexpected characters after the JSON value"));
    }
    Ok(out)
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
    depth: usize,
    /// The last position asked for, with its line and column: positions only move
    /// forward while parsing, so each is found from the previous one (linear in all).
    cursor: std::cell::Cell<(usize, usize, usize)>,
}

impl JsonParser<'_> {
    fn line_col(&self, at: usize) -> (usize, usize) {
        let at = at.min(self.text.len());
        let (mut from, mut line, mut column) = self.cursor.get();
        if at < from {
            (from, line, column) = (0, 1, 1);
        }
        for c in self.text[from..at].chars() {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        self.cursor.set((at, line, column));
        (line, column)
    }

    fn err(&self, message: &str) -> ParseError {
        let (line, column) = self.line_col(self.i);
        ParseError {
            message: message.to_string(),
            line,
            column,
        }
    }

    /// After an item: consumes `,` (false) or the closing bracket (true).
    fn separator(&mut self, close: u8) -> Result<bool, ParseError> {
        self.ws();
        match self.s.get(self.i) {
            Some(b',') => {
                self.i += 1;
                Ok(false)
            }
            Some(c) if *c == close => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(self.err(&format!("expected `,` or `{}`", close as char))),
        }
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<(Node, JsonSpan), ParseError> {
        let start = self.i;
        let (line, column) = self.line_col(start);
        let leaf = |value, end| {
            (
                Node::new(value, line, column),
                JsonSpan {
                    start,
                    end,
                    children: vec![],
                    kind: JsonKind::Scalar,
                },
            )
        };
        match self.s.get(self.i) {
            Some(b'{' | b'[') if self.depth >= MAX_DEPTH => {
                Err(self.err(&format!("collections nest deeper than {MAX_DEPTH} levels")))
            }
            Some(b'{') => {
                self.depth += 1;
                let out = self.object(start, line, column);
                self.depth -= 1;
                out
            }
            Some(b'[') => {
                self.depth += 1;
                let out = self.array(start, line, column);
                self.depth -= 1;
                out
            }
            Some(b'"') => {
                let s = self.string()?;
                Ok(leaf(Value::Str(s), self.i))
            }
            Some(_) => {
                let rest = &self.text[self.i..];
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if rest.starts_with(word) {
                        self.i += word.len();
                        return Ok(leaf(value, self.i));
                    }
                }
                let len = rest
                    .bytes()
                    .take_while(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .count();
                let num = &rest[..len];
                let value = serde_json::from_str::<serde_json::Number>(num)
                    .map_err(|_| self.err("expected a JSON value"))?;
                self.i += len;
                let value = match value.as_i64() {
                    Some(i) => Value::Int(i),
                    None => Value::Float(value.as_f64().unwrap_or(f64::NAN)),
                };
                Ok(leaf(value, self.i))
            }
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn object(
        &mut self,
        start: usize,
        line: usize,
        column: usize,
    ) -> Result<(Node, JsonSpan), ParseError> {
        self.i += 1;
        let mut entries: Vec<(String, Node)> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut children = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                let key_start = self.i;
                if self.s.get(self.i) != Some(&b'"') {
                    return Err(self.err("expected a string key"));
                }
                let key = self.string()?;
                self.ws();
                if self.s.get(self.i) != Some(&b':') {
                    return Err(self.err("expected `:` after the key"));
                }
                self.i += 1;
                self.ws();
                let (node, span) = self.value()?;
                if !seen.insert(key.clone()) {
                    let (line, column) = self.line_col(key_start);
                    return Err(ParseError {
                        message: format!("duplicate key `{key}`"),
                        line,
                        column,
                    });
                }
                entries.push((key.clone(), node));
                children.push((Some(key), key_start, span));
                if self.separator(b'}')? {
                    break;
                }
            }
        }
        let node = Node::new(Value::Map(entries), line, column);
        Ok((
            node,
            JsonSpan::container(start, self.i, children, JsonKind::Object),
        ))
    }

    fn array(
        &mut self,
        start: usize,
        line: usize,
        column: usize,
    ) -> Result<(Node, JsonSpan), ParseError> {
        self.i += 1;
        let mut items = Vec::new();
        let mut children = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                let item_start = self.i;
                let (node, span) = self.value()?;
                items.push(node);
                children.push((None, item_start, span));
                if self.separator(b']')? {
                    break;
                }
            }
        }
        let node = Node::new(Value::Seq(items), line, column);
        Ok((
            node,
            JsonSpan::container(start, self.i, children, JsonKind::Array),
        ))
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.i;
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return serde_json::from_str(&self.text[start..self.i]).map_err(|e| {
                        let (line, column) = self.line_col(start);
                        ParseError {
                            message: format!("invalid string: {e}"),
                            line,
                            column,
                        }
                    });
                }
                _ => self.i += 1,
            }
        }
        Err(self.err("unterminated string"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_resolves_like_yaml_1_2() {
        assert_eq!(core_schema("123"), Value::Int(123));
        assert_eq!(core_schema("0x1f"), Value::Int(31));
        assert_eq!(core_schema("1e3"), Value::Float(1000.0));
        assert_eq!(core_schema("yes"), Value::Str("yes".into()));
        assert_eq!(core_schema("True"), Value::Bool(true));
        assert_eq!(core_schema("~"), Value::Null);
        assert_eq!(core_schema("powersync-1"), Value::Str("powersync-1".into()));
    }

    #[test]
    fn yaml_env_tags_aliases_and_no_merge() {
        let doc = parse_yaml("base: &b\n  x: 1\nm:\n  <<: *b\n  k: !env PS_K::number\n  q: '12'\n")
            .unwrap();
        let m = doc.get("m").unwrap();
        // The service's yaml 2 (core schema) does not merge: `<<` is a plain key.
        assert!(m.get("x").is_none());
        assert_eq!(m.get("<<").unwrap().get("x").unwrap().value, Value::Int(1));
        assert_eq!(
            m.get("k").unwrap().value,
            Value::Env {
                name: "PS_K".into(),
                conv: EnvConv::Number
            }
        );
        assert_eq!(m.get("q").unwrap().value, Value::Str("12".into()));
        assert_eq!(
            (m.get("k").unwrap().line, m.get("k").unwrap().column),
            (5, 6)
        );
    }

    #[test]
    fn alias_bombs_deep_nesting_and_second_documents_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (name, prev) in [("b", "a"), ("c", "b"), ("d", "c"), ("e", "d")] {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            bomb.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let err = parse_yaml(&bomb).unwrap_err();
        assert!(err.message.contains("excessive alias count"), "{err:?}");
        // A few aliases are fine.
        assert!(parse_yaml("a: &a [1]\nb: [*a, *a, *a]\n").is_ok());
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        // saphyr-parser's own recursion limit stops flow nesting first.
        assert!(parse_yaml(&deep).is_err());
        assert!(
            parse_json(&deep)
                .unwrap_err()
                .message
                .contains("nest deeper")
        );
        let block: String = (0..10_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert!(parse_yaml(&block).is_err());
        assert!(
            parse_yaml("a: 1\n---\nb: 2\n")
                .unwrap_err()
                .message
                .contains("more than one")
        );
    }

    #[test]
    fn yaml_errors_have_positions() {
        let err = parse_yaml("a: b: c\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(
            parse_yaml("a: 1\na: 2\n")
                .unwrap_err()
                .message
                .contains("duplicate")
        );
        assert_eq!(parse_yaml("# only a comment\n").unwrap().value, Value::Null);
    }

    #[test]
    fn json_spans_and_positions() {
        let (node, span) = parse_json("{\n  \"a\": [1, \"x\"],\n  \"b\": {}\n}\n").unwrap();
        assert_eq!(node.get("a").unwrap().as_seq().unwrap().len(), 2);
        assert_eq!(span.children.len(), 2);
        let err = parse_json("{\"a\": 1,}").unwrap_err();
        assert_eq!((err.line, err.column), (1, 9));
    }

    #[test]
    fn env_numbers_are_read_as_javascript_does() {
        for (text, want) in [
            ("8080", Some(8080.0)),
            (" 8080 ", Some(8080.0)),
            ("", Some(0.0)),
            ("0x1F90", Some(8080.0)),
            ("0b11", Some(3.0)),
            ("-1.5e2", Some(-150.0)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("Infinity", Some(f64::INFINITY)),
            ("inf", None),
            ("NaN", None),
            ("1_000", None),
            ("-0x10", None),
            ("12px", None),
            ("e5", None),
            ("1e", None),
        ] {
            assert_eq!(js_number(text), want, "{text:?}");
        }
    }

    #[test]
    fn env_suffixes_follow_the_service() {
        let doc = parse_yaml(
            "a: !env PS_A::string\nb: !env PS_A::boolean\nc: !env PS_A::int\nd: !env PS_B::boolean\n",
        )
        .unwrap();
        let lookup = |n: &str| match n {
            "PS_A" => Some("yes".to_string()),
            "PS_B" => Some("FALSE".to_string()),
            _ => None,
        };
        let resolve = |k: &str| doc.get(k).unwrap().resolve(&lookup);
        assert_eq!(resolve("a").unwrap(), serde_json::json!("yes"));
        assert_eq!(
            resolve("b").unwrap_err().problem,
            EnvProblem::NotBoolean("yes".into())
        );
        assert_eq!(
            resolve("c").unwrap_err().problem,
            EnvProblem::UnknownType("int".into())
        );
        assert_eq!(resolve("d").unwrap(), serde_json::json!(false));
    }

    #[test]
    fn env_resolution_follows_the_service() {
        let doc = parse_yaml("a: !env PS_A\nb: !env OTHER\n").unwrap();
        let lookup = |n: &str| (n == "PS_A").then(|| "v".to_string());
        assert_eq!(
            doc.get("a").unwrap().resolve(&lookup).unwrap(),
            serde_json::json!("v")
        );
        assert_eq!(
            doc.get("b").unwrap().resolve(&lookup).unwrap_err().problem,
            EnvProblem::NoPrefix
        );
    }
}
