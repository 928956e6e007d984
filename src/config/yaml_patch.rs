//! Lossless YAML patching. yaml-edit's CST (which keeps every byte) locates the nodes;
//! the change is spliced into the original text at those byte offsets, so comments,
//! quoting, tags, anchors, CRLF and indentation outside the change stay identical.

use yaml_edit::{Mapping, Sequence, YamlFile, YamlNode};

use super::{Field, NewKey, Patch, yaml_quote};

type Res<T> = Result<T, String>;

/// Applies the patch: remove a key, add a key, ensure audiences (each step re-parses).
pub fn apply(text: &str, patch: &Patch) -> Res<String> {
    let mut out = text.to_string();
    if let Some(kid) = &patch.remove_kid {
        out = remove_key(&out, kid)?;
    }
    if let Some(key) = &patch.add_key {
        out = ensure(
            &out,
            &["client_auth", "jwks", "keys"],
            &Leaf::Key(key.clone()),
        )?;
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
            &Leaf::Scalar(field_yaml(value)),
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
    /// A scalar value (YAML source text) to set.
    Scalar(String),
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

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The position just after the line break ending the line that holds `pos`.
fn after_line(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
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

    fn flow_item(&self, item: &str, quote: Quote) -> String {
        match self {
            Leaf::Key(key) => {
                let fields: Vec<String> = key
                    .fields
                    .iter()
                    .map(|(k, f)| format!("{k}: {}", field_yaml(f)))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
            Leaf::Strings { .. } => quote.apply(item),
            Leaf::Scalar(text) => text.clone(),
        }
    }

    /// Block lines of one item, the first starting with `- ` at `dash`, the others at `content`.
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
            Leaf::Strings { .. } | Leaf::Scalar(_) => {
                format!("{}-{gap}{}{nl}", pad(dash), self.flow_item(item, quote))
            }
        }
    }

    fn prefers_flow(&self) -> bool {
        !matches!(self, Leaf::Key(_))
    }

    /// A whole new value: a scalar, flow `[…]` text, or block lines under a key at `key_col`.
    fn new_list(&self, flow: bool, key_col: usize, layout: &Layout) -> String {
        let items = self.missing_items(&[]);
        match self {
            Leaf::Scalar(text) => return text.clone(),
            Leaf::Strings {
                scalar_ok: true, ..
            } if items.len() == 1 => {
                return Quote::Single.apply(&items[0]);
            }
            _ => {}
        }
        if flow || self.prefers_flow() {
            let parts: Vec<String> = items
                .iter()
                .map(|i| self.flow_item(i, Quote::Single))
                .collect();
            format!("[{}]", parts.join(", "))
        } else {
            let dash = key_col + layout.unit;
            items
                .iter()
                .map(|i| self.block_item(i, Quote::Single, dash, dash + 2, layout.nl))
                .collect()
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

    fn apply(self, s: &str) -> String {
        let plain_safe = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            && matches!(super::node::core_schema(s), super::node::Value::Str(_));
        match self {
            Quote::Double => serde_json::Value::String(s.to_string()).to_string(),
            Quote::Plain if plain_safe => s.to_string(),
            _ => yaml_quote(s),
        }
    }
}

/// Renders `path: …` as block lines at column `col` (the leaf's list at the end).
fn render_block(path: &[&str], leaf: &Leaf, col: usize, layout: &Layout) -> String {
    let pad = " ".repeat(col);
    let nl = layout.nl;
    match path {
        [] => String::new(),
        [last] if leaf.prefers_flow() => {
            format!("{pad}{last}: {}{nl}", leaf.new_list(true, col, layout))
        }
        [last] => format!("{pad}{last}:{nl}{}", leaf.new_list(false, col, layout)),
        [first, rest @ ..] => format!(
            "{pad}{first}:{nl}{}",
            render_block(rest, leaf, col + layout.unit, layout)
        ),
    }
}

/// Renders `path: …` in flow style (inside `{…}`).
fn render_flow(path: &[&str], leaf: &Leaf, layout: &Layout) -> String {
    match path {
        [] => String::new(),
        [last] => format!("{last}: {}", leaf.new_list(true, 0, layout)),
        [first, rest @ ..] => format!("{first}: {{{}}}", render_flow(rest, leaf, layout)),
    }
}

fn ensure(text: &str, path: &[&str], leaf: &Leaf) -> Res<String> {
    let file = parse(text)?;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let doc = file.document();
    let root = doc.as_ref().and_then(|d| d.as_mapping());
    let unit = root.as_ref().map_or(2, |r| detect_unit(text, r));
    let layout = Layout { text, nl, unit };
    let doc_range = doc.as_ref().map_or((0, text.len()), |d| {
        let r = d.byte_range();
        (r.start as usize, r.end as usize)
    });
    let edit = match root {
        Some(map) if map.entries().next().is_some() => {
            in_mapping(&map, doc_range, path, leaf, &layout, true)?
        }
        _ => append_at_end(text, render_block(path, leaf, 0, &layout), nl),
    };
    let Some(edit) = edit else {
        return Ok(text.to_string());
    };
    let mut out = String::with_capacity(text.len() + edit.with.len());
    out.push_str(&text[..edit.start]);
    out.push_str(&edit.with);
    out.push_str(&text[edit.end..]);
    Ok(out)
}

/// An insertion at the end of the document (before a final `...` marker).
fn append_at_end(text: &str, block: String, nl: &str) -> Option<Edit> {
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
    Some(Edit {
        start: at,
        end: at,
        with,
    })
}

/// The edit that makes `path` under `map` hold the leaf: walks down existing mappings,
/// adds the missing entries, fills an empty value, or extends the value there.
fn in_mapping(
    map: &Mapping,
    map_range: (usize, usize),
    path: &[&str],
    leaf: &Leaf,
    layout: &Layout,
    is_root: bool,
) -> Res<Option<Edit>> {
    let text = layout.text;
    let Some((&name, rest)) = path.split_first() else {
        return Ok(None);
    };
    let found = map
        .entries()
        .find(|e| e.key_node().and_then(|k| key_name(&k)).as_deref() == Some(name));
    let Some(entry) = found else {
        return add_entry(map, map_range, path, leaf, layout, is_root);
    };
    let key = entry.key_node().ok_or("entry without key")?;
    let key_col = column(text, range(&key).0);
    match entry.value_node().filter(|v| !is_null(v, text)) {
        None => fill_empty(&entry, rest, leaf, layout),
        Some(v) => {
            if let Some(child) = v.as_mapping() {
                if rest.is_empty() {
                    return Err(format!("`{name}` is a mapping, expected a list"));
                }
                return in_mapping(child, range(&v), rest, leaf, layout, false);
            }
            if !rest.is_empty() {
                return Err(format!("`{name}` is not a mapping"));
            }
            extend_value(name, &v, key_col, leaf, layout)
        }
    }
}

/// A new entry `path: …` at the end of `map` (flow or block, as the mapping is).
fn add_entry(
    map: &Mapping,
    map_range: (usize, usize),
    path: &[&str],
    leaf: &Leaf,
    layout: &Layout,
    is_root: bool,
) -> Res<Option<Edit>> {
    let text = layout.text;
    if map.is_flow_style() {
        let (start, end) = map_range;
        let close = text[start..end]
            .rfind('}')
            .map(|i| start + i)
            .ok_or("no closing brace")?;
        let sep = if map.entries().next().is_some() {
            ", "
        } else {
            ""
        };
        return Ok(Some(Edit {
            start: close,
            end: close,
            with: format!("{sep}{}", render_flow(path, leaf, layout)),
        }));
    }
    if is_root {
        let block = render_block(path, leaf, 0, layout);
        return Ok(append_at_end(text, block, layout.nl));
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
    Ok(Some(Edit {
        start: at,
        end: at,
        with,
    }))
}

/// `key:` with no value (perhaps only comments below, or `~`): fill it in.
fn fill_empty(
    entry: &yaml_edit::MappingEntry,
    rest: &[&str],
    leaf: &Leaf,
    layout: &Layout,
) -> Res<Option<Edit>> {
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
    if rest.is_empty() && leaf.prefers_flow() {
        return Ok(Some(Edit {
            start: colon + 1,
            end: null_end,
            with: format!(" {}", leaf.new_list(true, key_col, layout)),
        }));
    }
    let inner = if rest.is_empty() {
        leaf.new_list(false, key_col, layout)
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
        let drop = Edit {
            start: colon + 1,
            end: null_end,
            with: String::new(),
        };
        return Ok(Some(merge(text, vec![drop, insert])));
    }
    Ok(Some(insert))
}

/// The value at the end of the path: set a scalar, append to a list, or turn a scalar
/// into a list that keeps it as its first item.
fn extend_value(
    name: &str,
    v: &YamlNode,
    key_col: usize,
    leaf: &Leaf,
    layout: &Layout,
) -> Res<Option<Edit>> {
    let text = layout.text;
    let (s, e) = range(v);
    let source = text[s..e].trim_end();
    if let Leaf::Scalar(new) = leaf {
        if source == new {
            return Ok(None);
        }
        return Ok(Some(Edit {
            start: s,
            end: s + source.len(),
            with: new.clone(),
        }));
    }
    if let Some(seq) = v.as_sequence() {
        return Ok(append_to_seq(seq, v, key_col, leaf, layout));
    }
    // A scalar (or `!env` string) where a list is wanted: keep it as the first item.
    let Leaf::Strings { scalar_ok, .. } = leaf else {
        return Err(format!("`{name}` is {}, expected a list", describe(v)));
    };
    let quote = Quote::of(source);
    let value_text = v.as_scalar().map(|x| x.as_string()).unwrap_or_default();
    let missing = leaf.missing_items(&[value_text]);
    if missing.is_empty() && *scalar_ok {
        return Ok(None);
    }
    let mut items = vec![source.to_string()];
    items.extend(missing.iter().map(|i| leaf.flow_item(i, quote)));
    Ok(Some(Edit {
        start: s,
        end: s + source.len(),
        with: format!("[{}]", items.join(", ")),
    }))
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

fn append_to_seq(
    seq: &Sequence,
    node: &YamlNode,
    key_col: usize,
    leaf: &Leaf,
    layout: &Layout,
) -> Option<Edit> {
    let text = layout.text;
    let (start, end) = range(node);
    let items: Vec<YamlNode> = seq.values().collect();
    let existing: Vec<String> = items
        .iter()
        .filter_map(|i| i.as_scalar().map(|s| s.as_string()))
        .collect();
    let first_source = items.first().map(|i| {
        let (s, e) = range(i);
        text[s..e].to_string()
    });
    let quote = first_source.as_deref().map_or(Quote::Single, Quote::of);
    let missing = leaf.missing_items(&existing);
    if missing.is_empty() {
        return None;
    }
    if seq.is_flow_style() {
        let close = text[start..end].rfind(']').map(|i| start + i)?;
        let before = text[start..close].trim_end();
        let sep = if items.is_empty() || before.ends_with(',') {
            ""
        } else {
            ", "
        };
        let parts: Vec<String> = missing.iter().map(|i| leaf.flow_item(i, quote)).collect();
        let lead = if items.is_empty() || before.ends_with(',') {
            ""
        } else {
            sep
        };
        let mut with = format!("{lead}{}", parts.join(", "));
        if before.ends_with(',') {
            with = format!(" {with}");
        }
        let at = start + before.len();
        return Some(Edit {
            start: at.max(start + 1),
            end: at.max(start + 1),
            with,
        });
    }
    // Block sequence: copy the first item's dash and content columns.
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
    Some(Edit {
        start: at,
        end: at,
        with,
    })
}

/// Removes the key with `kid` from `client_auth.jwks.keys` (whole lines in block style).
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
    let (s, e) = range(&items[pos]);
    let (start, end) = if keys.is_flow_style() {
        // Take the separating comma with the item.
        let after = &text[e..];
        let comma_after = after.trim_start().starts_with(',');
        if comma_after {
            let c = e + after.find(',').unwrap_or(0) + 1;
            let ws = text[c..].len() - text[c..].trim_start_matches([' ', '\t']).len();
            (s, c + ws)
        } else {
            let before = text[..s].trim_end();
            let c = before.rfind(',').filter(|_| pos > 0).unwrap_or(s);
            (c, e)
        }
    } else {
        let item_end = after_last_content(text, s, e);
        (line_start(text, s), item_end)
    };
    Ok(format!("{}{}", &text[..start], &text[end..]))
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
    fn removing_a_key_takes_its_lines() {
        let src = "client_auth:\n  jwks:\n    keys:\n      - kid: 'a'\n        kty: oct\n      # b is next\n      - kid: 'b'\n        kty: oct\n";
        let out = remove_key(src, "a").unwrap();
        assert_eq!(
            out,
            "client_auth:\n  jwks:\n    keys:\n      # b is next\n      - kid: 'b'\n        kty: oct\n"
        );
    }
}
