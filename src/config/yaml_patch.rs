//! Lossless YAML patching through yaml-edit's editing API: its CST keeps every byte, and
//! `Sequence::remove`, `Sequence::push` and `Mapping::set` rewrite only the node they edit,
//! so comments, quoting, tags, anchors, CRLF and indentation elsewhere stay identical.
//!
//! Hand splicing (new text put into the original string at byte offsets the CST gives)
//! stays only where yaml-edit 0.3.6 gets a case wrong. `tests/yaml_edit_api.rs` runs both
//! on every fixture, property-test shape and real-world config, and pins each case below,
//! so an upgrade that fixes one shows up there:
//! - **New block collections** (`client_auth:`, `jwks:`, `keys:` when created): yaml-edit
//!   indents a block mapping or list it writes under a key 2 columns past the key, whatever
//!   the file uses (`jwks:` then `  keys:` in a file indented by 4). We render them in the
//!   file's indentation.
//! - **A new top-level section**: yaml-edit writes it right under the last line, so after a
//!   commented-out section (`#migrations:` …) `client_auth:` reads as part of it. We put a
//!   blank line before it.
//! - **Items appended to a block list**: yaml-edit always writes `- item`, also in a list
//!   written `-   item`. We copy the first item's dash and content columns.
//! - **Removing the last item of a flow list whose `]` has a line of its own**: yaml-edit
//!   pulls the `]` up onto the item before. We cut only the item and the comma before it.

use yaml_edit::{Mapping, ScalarValue, Sequence, YamlFile, YamlNode};

use super::{Field, NewKey, Patch, yaml_quote};

type Res<T> = Result<T, String>;

/// Applies the patch: remove a key, add a key, ensure audiences (each step re-parses).
pub fn apply(text: &str, patch: &Patch) -> Res<String> {
    let mut out = text.to_string();
    // Add before removing: a replaced key's successor then takes the list's style from it
    // (a list left empty by the removal would be written `[]`, and its next item flow).
    if let Some(key) = &patch.add_key {
        out = ensure(
            &out,
            &["client_auth", "jwks", "keys"],
            &Leaf::Key(key.clone()),
        )?;
    }
    if let Some(kid) = &patch.remove_kid {
        out = remove_key(&out, kid)?;
    }
    if !patch.audiences.is_empty() {
        let leaf = Leaf::Strings {
            items: patch.audiences.clone(),
            scalar_ok: false,
        };
        out = ensure(&out, &["client_auth", "audience"], &leaf)?;
    }
    if !patch.jwks_uris.is_empty() {
        let leaf = Leaf::Strings {
            items: patch.jwks_uris.clone(),
            scalar_ok: true,
        };
        out = ensure(&out, &["client_auth", "jwks_uri"], &leaf)?;
    }
    for (key, value) in &patch.set {
        out = ensure(
            &out,
            &["client_auth", key.as_str()],
            &Leaf::Scalar(value.clone()),
        )?;
    }
    Ok(out)
}

/// What goes at the end of the path.
#[derive(Debug, Clone)]
enum Leaf {
    /// A JWK appended to the `keys` list (block style when created).
    Key(NewKey),
    /// Strings that must be present in a list (flow style when created). With `scalar_ok`,
    /// one string may stay a plain scalar (`jwks_uri: url`) until a second one is added.
    Strings {
        /// The strings.
        items: Vec<String>,
        /// A single string may stay (or be written as) a scalar.
        scalar_ok: bool,
    },
    /// A scalar value to set.
    Scalar(Field),
}

/// The text layout of the file.
struct Layout<'a> {
    text: &'a str,
    nl: &'static str,
    unit: usize,
}

/// One splice: replace `start..end` with `with`.
struct Edit {
    start: usize,
    end: usize,
    with: String,
}

impl Edit {
    fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.with.len());
        out.push_str(&text[..self.start]);
        out.push_str(&self.with);
        out.push_str(&text[self.end..]);
        out
    }
}

/// What one step does.
enum Change {
    /// Nothing: the value is there already.
    None,
    /// yaml-edit changed the tree in place.
    Edited,
    /// A splice into the original text (the tree is untouched).
    Splice(Edit),
}

fn parse(text: &str) -> Res<YamlFile> {
    let parsed = YamlFile::parse(text);
    if let Some(e) = parsed.errors().first() {
        return Err(format!("YAML error: {e}"));
    }
    Ok(parsed.tree())
}

fn range(node: &YamlNode) -> (usize, usize) {
    let r = node.byte_range();
    (r.start as usize, r.end as usize)
}

/// The start of the line that holds byte `pos` (any byte, also inside a character: the
/// search is over bytes, and `\n` is never part of another character in UTF-8).
fn line_start(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// The position just after the line break ending the line that holds `pos`.
fn after_line(text: &str, pos: usize) -> usize {
    text.as_bytes()[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| pos + i + 1)
}

fn column(text: &str, pos: usize) -> usize {
    pos - line_start(text, pos)
}

/// After the last line in `start..end` that holds content (not blank, not only a comment).
fn after_last_content(text: &str, start: usize, end: usize) -> usize {
    let mut line_end = end;
    while line_end > start {
        let ls = line_start(text, line_end.saturating_sub(1)).max(start);
        let seg = text[ls..line_end].trim();
        if !seg.is_empty() && !seg.starts_with('#') {
            return after_line(text, ls);
        }
        if ls == start {
            break;
        }
        line_end = ls;
    }
    after_line(text, start)
}

fn key_name(node: &YamlNode) -> Option<String> {
    node.as_scalar().map(|s| s.as_string())
}

fn detect_unit(text: &str, root: &Mapping) -> usize {
    for entry in root.entries() {
        let (Some(key), Some(value)) = (entry.key_node(), entry.value_node()) else {
            continue;
        };
        let Some(map) = value.as_mapping() else {
            continue;
        };
        if map.is_flow_style() {
            continue;
        }
        if let Some(child) = map.entries().next().and_then(|e| e.key_node()) {
            let (parent, child) = (column(text, range(&key).0), column(text, range(&child).0));
            if child > parent {
                return child - parent;
            }
        }
    }
    2
}

fn field_yaml(field: &Field) -> String {
    match field {
        Field::Bool(b) => b.to_string(),
        Field::Str(s) => yaml_quote(s),
        Field::Env { name, .. } => format!("!env {name}"),
    }
}

/// The field as yaml-edit writes it: the same text as [`field_yaml`].
fn field_value(field: &Field) -> ScalarValue {
    match field {
        Field::Bool(b) => ScalarValue::from(*b),
        Field::Str(s) => ScalarValue::single_quoted(s.clone()),
        Field::Env { name, .. } => ScalarValue::plain(name.clone()).with_tag("!env"),
    }
}

/// The JWK as a new yaml-edit mapping, fields in order.
fn jwk(key: &NewKey) -> Mapping {
    let map = Mapping::new();
    for (name, value) in &key.fields {
        map.set(name.as_str(), field_value(value));
    }
    map
}

impl Leaf {
    /// The items to add given what the list already holds (by source text).
    fn missing_items(&self, existing: &[String]) -> Vec<String> {
        match self {
            Leaf::Key(_) | Leaf::Scalar(_) => vec![String::new()],
            Leaf::Strings { items: want, .. } => want
                .iter()
                .filter(|a| !existing.iter().any(|e| e == *a))
                .cloned()
                .collect(),
        }
    }

    /// Written on the key's line (a scalar or a flow list) rather than as a block below it.
    fn is_inline(&self) -> bool {
        !matches!(self, Leaf::Key(_))
    }

    /// Block lines of one item, the first starting with `-` at `dash`, the others at `content`.
    fn block_item(
        &self,
        item: &str,
        quote: Quote,
        dash: usize,
        content: usize,
        nl: &str,
    ) -> String {
        let pad = |n: usize| " ".repeat(n);
        let gap = pad(content.saturating_sub(dash + 1).max(1));
        match self {
            Leaf::Key(key) => {
                let mut out = String::new();
                for (i, (k, f)) in key.fields.iter().enumerate() {
                    if i == 0 {
                        out.push_str(&format!("{}-{gap}{k}: {}{nl}", pad(dash), field_yaml(f)));
                    } else {
                        out.push_str(&format!("{}{k}: {}{nl}", pad(content), field_yaml(f)));
                    }
                }
                out
            }
            Leaf::Strings { .. } => format!("{}-{gap}{}{nl}", pad(dash), quote.apply(item)),
            Leaf::Scalar(field) => format!("{}-{gap}{}{nl}", pad(dash), field_yaml(field)),
        }
    }

    /// The whole new value as text: a scalar or flow `[…]` for an inline leaf, else block
    /// lines under a key at `key_col`.
    fn new_value(&self, key_col: usize, layout: &Layout) -> String {
        let items = self.missing_items(&[]);
        match self {
            Leaf::Scalar(field) => field_yaml(field),
            Leaf::Strings {
                scalar_ok: true, ..
            } if items.len() == 1 => Quote::Single.apply(&items[0]),
            Leaf::Strings { .. } => {
                let parts: Vec<String> = items.iter().map(|i| Quote::Single.apply(i)).collect();
                format!("[{}]", parts.join(", "))
            }
            Leaf::Key(_) => {
                let dash = key_col + layout.unit;
                self.block_item("", Quote::Single, dash, dash + 2, layout.nl)
            }
        }
    }

    /// Sets `name` in `map` to a new value holding the leaf (yaml-edit writes it).
    fn set_in(&self, map: &Mapping, name: &str) {
        match self {
            Leaf::Key(key) => {
                let list = Sequence::new();
                list.push(jwk(key));
                map.set(name, &list);
            }
            Leaf::Strings {
                items,
                scalar_ok: true,
            } if items.len() == 1 => map.set(name, Quote::Single.value(&items[0])),
            Leaf::Strings { items, .. } => {
                let list = Sequence::new_flow();
                for item in items {
                    list.push(Quote::Single.value(item));
                }
                map.set(name, &list);
            }
            Leaf::Scalar(field) => map.set(name, field_value(field)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Quote {
    Single,
    Double,
    Plain,
}

impl Quote {
    fn of(source: &str) -> Quote {
        match source.chars().next() {
            Some('"') => Quote::Double,
            Some('\'') => Quote::Single,
            _ => Quote::Plain,
        }
    }

    /// Plain is kept only for strings that read back as themselves unquoted.
    fn effective(self, s: &str) -> Quote {
        let plain_safe = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            && matches!(super::node::core_schema(s), super::node::Value::Str(_));
        match self {
            Quote::Plain if !plain_safe => Quote::Single,
            q => q,
        }
    }

    fn apply(self, s: &str) -> String {
        match self.effective(s) {
            Quote::Double => serde_json::Value::String(s.to_string()).to_string(),
            Quote::Plain => s.to_string(),
            Quote::Single => yaml_quote(s),
        }
    }

    /// The string as a yaml-edit scalar in this style: the same text as [`Quote::apply`].
    fn value(self, s: &str) -> ScalarValue {
        match self.effective(s) {
            Quote::Double => ScalarValue::double_quoted(s),
            Quote::Plain => ScalarValue::plain(s),
            Quote::Single => ScalarValue::single_quoted(s),
        }
    }
}

/// Renders `path: …` as block lines at column `col` (the leaf's value at the end).
fn render_block(path: &[&str], leaf: &Leaf, col: usize, layout: &Layout) -> String {
    let pad = " ".repeat(col);
    let nl = layout.nl;
    match path {
        [] => String::new(),
        [last] if leaf.is_inline() => {
            format!("{pad}{last}: {}{nl}", leaf.new_value(col, layout))
        }
        [last] => format!("{pad}{last}:{nl}{}", leaf.new_value(col, layout)),
        [first, rest @ ..] => format!(
            "{pad}{first}:{nl}{}",
            render_block(rest, leaf, col + layout.unit, layout)
        ),
    }
}

/// Sets `path` under `map` to a new value holding the leaf, with the mappings on the way
/// (yaml-edit writes them: used where no new block collection is involved).
fn set_new(map: &Mapping, path: &[&str], leaf: &Leaf) {
    match path {
        [] => {}
        [name] => leaf.set_in(map, name),
        [name, rest @ ..] => {
            let child = Mapping::new();
            set_new(&child, rest, leaf);
            map.set(*name, &child);
        }
    }
}

fn ensure(text: &str, path: &[&str], leaf: &Leaf) -> Res<String> {
    let file = parse(text)?;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let root = file
        .document()
        .and_then(|d| d.as_mapping())
        .filter(|m| m.entries().next().is_some());
    let unit = root.as_ref().map_or(2, |r| detect_unit(text, r));
    let layout = Layout { text, nl, unit };
    let change = match root {
        Some(map) => in_mapping(&map, path, leaf, &layout, true)?,
        None => Change::Splice(append_at_end(
            text,
            render_block(path, leaf, 0, &layout),
            nl,
        )),
    };
    Ok(match change {
        Change::None => text.to_string(),
        Change::Edited => file.to_string(),
        Change::Splice(edit) => edit.apply(text),
    })
}

/// An insertion at the end of the document (before a final `...` marker), after a blank
/// line when anything comes before it.
fn append_at_end(text: &str, block: String, nl: &str) -> Edit {
    let mut at = text.len();
    let trimmed = text.trim_end();
    if trimmed.ends_with("\n...") || trimmed == "..." {
        at = line_start(text, trimmed.len() - 1);
    }
    let mut with = String::new();
    if at > 0 && !text[..at].ends_with('\n') {
        with.push_str(nl);
    }
    let has_content = text[..at].lines().any(|l| {
        let t = l.trim().trim_start_matches('\u{feff}');
        !t.is_empty()
    });
    if has_content && !text[..at].ends_with(&format!("{nl}{nl}")) {
        with.push_str(nl);
    }
    with.push_str(&block);
    Edit {
        start: at,
        end: at,
        with,
    }
}

/// The change that makes `path` under `map` hold the leaf: walks down existing mappings,
/// adds the missing entries, fills an empty value, or extends the value there.
fn in_mapping(
    map: &Mapping,
    path: &[&str],
    leaf: &Leaf,
    layout: &Layout,
    is_root: bool,
) -> Res<Change> {
    let Some((&name, rest)) = path.split_first() else {
        return Ok(Change::None);
    };
    let found = map
        .entries()
        .find(|e| e.key_node().and_then(|k| key_name(&k)).as_deref() == Some(name));
    let Some(entry) = found else {
        return add_entry(map, path, leaf, layout, is_root);
    };
    match entry.value_node().filter(|v| !is_null(v, layout.text)) {
        None => fill_empty(map, &entry, path, leaf, layout),
        Some(v) => {
            if let Some(child) = v.as_mapping() {
                if rest.is_empty() {
                    return Err(format!("`{name}` is a mapping, expected a list"));
                }
                return in_mapping(child, rest, leaf, layout, false);
            }
            if !rest.is_empty() {
                return Err(format!("`{name}` is not a mapping"));
            }
            let key = entry.key_node().ok_or("entry without key")?;
            extend_value(
                map,
                name,
                &v,
                column(layout.text, range(&key).0),
                leaf,
                layout,
            )
        }
    }
}

/// A new entry `path: …` at the end of `map`. yaml-edit writes it into a flow mapping, and
/// a one-line value into a block one; a new block collection or top-level section is
/// spliced (see the module doc).
fn add_entry(
    map: &Mapping,
    path: &[&str],
    leaf: &Leaf,
    layout: &Layout,
    is_root: bool,
) -> Res<Change> {
    let text = layout.text;
    if map.is_flow_style() || (path.len() == 1 && leaf.is_inline() && !is_root) {
        set_new(map, path, leaf);
        return Ok(Change::Edited);
    }
    if is_root {
        let block = render_block(path, leaf, 0, layout);
        return Ok(Change::Splice(append_at_end(text, block, layout.nl)));
    }
    let first_key = map
        .entries()
        .next()
        .and_then(|e| e.key_node())
        .ok_or("empty mapping")?;
    let col = column(text, range(&first_key).0);
    let last = map.entries().last().ok_or("empty mapping")?;
    let last_key = last.key_node().ok_or("entry without key")?;
    let end = last
        .value_node()
        .map_or(range(&last_key).1, |v| range(&v).1.max(range(&last_key).1));
    let at = after_last_content(text, range(&last_key).0, end);
    let mut with = String::new();
    if !text[..at].ends_with('\n') {
        with.push_str(layout.nl);
    }
    with.push_str(&render_block(path, leaf, col, layout));
    Ok(Change::Splice(Edit {
        start: at,
        end: at,
        with,
    }))
}

/// `key:` with no value (perhaps only comments below, or `~`): yaml-edit sets a one-line
/// value or anything in a flow mapping; a new block collection is spliced in below the key.
fn fill_empty(
    map: &Mapping,
    entry: &yaml_edit::MappingEntry,
    path: &[&str],
    leaf: &Leaf,
    layout: &Layout,
) -> Res<Change> {
    let rest = path.get(1..).unwrap_or_default();
    if map.is_flow_style() || (rest.is_empty() && leaf.is_inline()) {
        set_new(map, path, leaf);
        return Ok(Change::Edited);
    }
    let text = layout.text;
    let key = entry.key_node().ok_or("entry without key")?;
    let (key_start, key_end) = range(&key);
    let key_col = column(text, key_start);
    let colon = text[key_end..]
        .find(':')
        .map(|i| key_end + i)
        .ok_or("no colon after key")?;
    let null_end = entry
        .value_node()
        .map_or(colon + 1, |v| range(&v).1.max(colon + 1));
    let inner = if rest.is_empty() {
        leaf.new_value(key_col, layout)
    } else {
        render_block(rest, leaf, key_col + layout.unit, layout)
    };
    let at = after_line(text, colon);
    let mut with = String::new();
    if !text[..at].ends_with('\n') {
        with.push_str(layout.nl);
    }
    with.push_str(&inner);
    let insert = Edit {
        start: at,
        end: at,
        with,
    };
    // Drop an explicit `~`/`null` value so the block below it becomes the value.
    if entry.value_node().is_some() && null_end > colon + 1 {
        if null_end > at {
            // An empty value that reaches past its line (an anchor, a tag, a comment
            // block read as part of it): no edit here is sure to keep its meaning.
            return Err(
                "an empty setting there carries an anchor or tag across lines; give it a value by hand"
                    .to_string(),
            );
        }
        let drop = Edit {
            start: colon + 1,
            end: null_end,
            with: String::new(),
        };
        return Ok(Change::Splice(merge(text, vec![drop, insert])));
    }
    Ok(Change::Splice(insert))
}

/// The value at the end of the path: set a scalar, append to a list, or turn a scalar
/// into a list that keeps it as its first item.
fn extend_value(
    map: &Mapping,
    name: &str,
    v: &YamlNode,
    key_col: usize,
    leaf: &Leaf,
    layout: &Layout,
) -> Res<Change> {
    let (s, e) = range(v);
    let source = layout.text[s..e].trim_end();
    if let Leaf::Scalar(field) = leaf {
        if source == field_yaml(field) {
            return Ok(Change::None);
        }
        map.set(name, field_value(field));
        return Ok(Change::Edited);
    }
    if let Some(seq) = v.as_sequence() {
        return Ok(append_to_seq(seq, v, key_col, leaf, layout));
    }
    // A scalar (or `!env` string) where a list is wanted: keep it as the first item.
    let Leaf::Strings { scalar_ok, .. } = leaf else {
        return Err(format!("`{name}` is {}, expected a list", describe(v)));
    };
    let value_text = v.as_scalar().map(|x| x.as_string()).unwrap_or_default();
    let missing = leaf.missing_items(&[value_text]);
    if missing.is_empty() && *scalar_ok {
        return Ok(Change::None);
    }
    let quote = Quote::of(source);
    let list = Sequence::new_flow();
    list.push(v);
    for item in &missing {
        list.push(quote.value(item));
    }
    map.set(name, &list);
    Ok(Change::Edited)
}

fn merge(text: &str, mut edits: Vec<Edit>) -> Edit {
    edits.sort_by_key(|e| e.start);
    let start = edits.first().map_or(0, |e| e.start);
    let end = edits.last().map_or(0, |e| e.end);
    let mut with = String::new();
    let mut pos = start;
    for e in edits {
        with.push_str(&text[pos..e.start]);
        with.push_str(&e.with);
        pos = e.end;
    }
    Edit { start, end, with }
}

fn describe(v: &YamlNode) -> &'static str {
    if v.is_scalar() || v.is_tagged() {
        "a scalar"
    } else if v.is_alias() {
        "an alias"
    } else {
        "not a list"
    }
}

fn is_null(v: &YamlNode, text: &str) -> bool {
    if !v.is_scalar() {
        return false;
    }
    let (s, e) = range(v);
    matches!(text[s..e].trim(), "" | "~" | "null" | "Null" | "NULL")
}

/// Adds the missing items: yaml-edit pushes onto a flow list; a block list gets lines
/// spliced in after its last item, in its first item's dash and content columns.
fn append_to_seq(
    seq: &Sequence,
    node: &YamlNode,
    key_col: usize,
    leaf: &Leaf,
    layout: &Layout,
) -> Change {
    let text = layout.text;
    let (start, end) = range(node);
    let items: Vec<YamlNode> = seq.values().collect();
    let existing: Vec<String> = items
        .iter()
        .filter_map(|i| i.as_scalar().map(|s| s.as_string()))
        .collect();
    let quote = items.first().map_or(Quote::Single, |i| {
        let (s, e) = range(i);
        Quote::of(&text[s..e])
    });
    let missing = leaf.missing_items(&existing);
    if missing.is_empty() {
        return Change::None;
    }
    if seq.is_flow_style() {
        for item in &missing {
            match leaf {
                Leaf::Key(key) => seq.push(jwk(key)),
                Leaf::Strings { .. } => seq.push(quote.value(item)),
                Leaf::Scalar(field) => seq.push(field_value(field)),
            }
        }
        return Change::Edited;
    }
    let dash = column(text, start);
    let content = items
        .first()
        .map(|i| column(text, range(i).0))
        .filter(|c| *c > dash)
        .unwrap_or(dash + 2);
    let dash = if text[line_start(text, start)..start].trim().is_empty() {
        dash
    } else {
        key_col + layout.unit
    };
    let at = after_last_content(text, start, end);
    let mut with = String::new();
    if !text[..at].ends_with('\n') {
        with.push_str(layout.nl);
    }
    for item in &missing {
        with.push_str(&leaf.block_item(item, quote, dash, content, layout.nl));
    }
    Change::Splice(Edit {
        start: at,
        end: at,
        with,
    })
}

/// Removes the key with `kid` from `client_auth.jwks.keys` (yaml-edit's `Sequence::remove`).
fn remove_key(text: &str, kid: &str) -> Res<String> {
    let file = parse(text)?;
    let Some(keys) = file
        .document()
        .and_then(|d| d.as_mapping())
        .and_then(|m| m.get_mapping("client_auth"))
        .and_then(|m| m.get_mapping("jwks"))
        .and_then(|m| m.get_sequence("keys"))
    else {
        return Ok(text.to_string());
    };
    let items: Vec<YamlNode> = keys.values().collect();
    let Some(pos) = items.iter().position(|i| {
        i.as_mapping()
            .and_then(|m| m.get("kid"))
            .and_then(|k| k.as_scalar().map(|s| s.as_string()))
            .as_deref()
            == Some(kid)
    }) else {
        return Ok(text.to_string());
    };
    if pos + 1 == items.len()
        && let Some(cut) = cut_last_flow_item(text, &keys, &items)
    {
        return Ok(cut.apply(text));
    }
    keys.remove(pos);
    Ok(file.to_string())
}

/// For a flow list of two or more items whose `]` has a line of its own: the cut that takes
/// its last item and the comma before it, leaving the `]` where it is.
fn cut_last_flow_item(text: &str, seq: &Sequence, items: &[YamlNode]) -> Option<Edit> {
    if !seq.is_flow_style() || items.len() < 2 {
        return None;
    }
    let (s, e) = range(items.last()?);
    let close = text[e..].find(']')?;
    if !text[e..e + close].contains('\n') {
        return None;
    }
    let comma = text[..s].rfind(',')?;
    Some(Edit {
        start: comma,
        end: e,
        with: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str) -> NewKey {
        NewKey {
            fields: vec![
                ("kty".into(), Field::Str("oct".into())),
                ("alg".into(), Field::Str("HS256".into())),
                ("kid".into(), Field::Str(kid.into())),
                (
                    "k".into(),
                    Field::Env {
                        name: "PS_K".into(),
                        value: "x".into(),
                    },
                ),
            ],
        }
    }

    fn patch(kid: &str) -> Patch {
        Patch {
            remove_kid: None,
            add_key: Some(key(kid)),
            audiences: vec!["powersync-dev".into(), "powersync".into()],
            ..Patch::default()
        }
    }

    #[test]
    fn empty_file_gets_a_client_auth_section() {
        let out = apply("", &patch("a")).unwrap();
        assert_eq!(
            out,
            "client_auth:\n  jwks:\n    keys:\n      - kty: 'oct'\n        alg: 'HS256'\n        kid: 'a'\n        k: !env PS_K\n  audience: ['powersync-dev', 'powersync']\n"
        );
    }

    #[test]
    fn existing_block_list_keeps_its_columns_and_comments() {
        let src = "client_auth:\n    jwks:\n        keys:\n        # first\n        -   kty: oct\n            kid: 'old'\n            k: abc\n    audience: [\"powersync\"]  # trailing\nport: 8080\n";
        let out = apply(src, &patch("new")).unwrap();
        assert!(
            out.contains("            k: abc\n        -   kty: 'oct'\n            alg: 'HS256'\n"),
            "{out}"
        );
        assert!(
            out.contains("audience: [\"powersync\", \"powersync-dev\"]  # trailing\n"),
            "{out}"
        );
        assert!(out.ends_with("port: 8080\n"));
    }

    #[test]
    fn crlf_is_kept() {
        let out = apply("a: 1\r\nclient_auth:\r\n  audience: []\r\n", &patch("k")).unwrap();
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
    }

    #[test]
    fn removing_an_anchored_key_takes_its_anchor_too() {
        let src = "client_auth:\n  jwks:\n    keys:\n      - &first\n        kid: 'a'\n        kty: oct\n      # b\n      - kid: 'b'\n        kty: oct\n";
        assert_eq!(
            remove_key(src, "a").unwrap(),
            "client_auth:\n  jwks:\n    keys:\n      # b\n      - kid: 'b'\n        kty: oct\n"
        );
    }

    #[test]
    fn removing_the_last_key_leaves_an_empty_list() {
        // A bare `keys:` would be null, which the service refuses.
        let src = "client_auth:\n  jwks:\n    keys:\n      - kid: 'a' # only\n        kty: oct\n  audience: [x]\n";
        assert_eq!(
            remove_key(src, "a").unwrap(),
            "client_auth:\n  jwks:\n    keys: []\n  audience: [x]\n"
        );
    }

    #[test]
    fn removing_from_a_flow_list_over_lines_keeps_the_bracket_line() {
        let src =
            "client_auth:\n  jwks:\n    keys: [\n      {kid: 'a'},\n      {kid: 'b'}\n    ]\n";
        assert_eq!(
            remove_key(src, "a").unwrap(),
            "client_auth:\n  jwks:\n    keys: [\n      {kid: 'b'}\n    ]\n"
        );
        assert_eq!(
            remove_key(src, "b").unwrap(),
            "client_auth:\n  jwks:\n    keys: [\n      {kid: 'a'}\n    ]\n"
        );
    }

    #[test]
    fn a_placeholder_scalar_becomes_a_quoted_list_item() {
        // Plain `${…}` cannot stand in a flow list.
        let p = Patch {
            jwks_uris: vec!["https://x/j".into()],
            ..Patch::default()
        };
        assert_eq!(
            apply("client_auth:\n  jwks_uri: ${JWKS_URL} # legacy\n", &p).unwrap(),
            "client_auth:\n  jwks_uri: [\"${JWKS_URL}\", 'https://x/j'] # legacy\n"
        );
    }

    #[test]
    fn removing_a_key_takes_its_lines() {
        let src = "client_auth:\n  jwks:\n    keys:\n      - kid: 'a'\n        kty: oct\n      # b is next\n      - kid: 'b'\n        kty: oct\n";
        let out = remove_key(src, "a").unwrap();
        assert_eq!(
            out,
            "client_auth:\n  jwks:\n    keys:\n      # b is next\n      - kid: 'b'\n        kty: oct\n"
        );
    }
}
