//! Lossless JSON patching: the change is spliced into the original text at byte offsets
//! found by a span-keeping parse, indented like the file (2, 4 spaces or tabs); every
//! other byte, the key order and the final newline stay as they were.

use super::node::{JsonKind, JsonSpan, Node, parse_json};
use super::{Field, NewKey, Patch};

type Res<T> = Result<T, String>;

/// Applies the patch: remove a key, add a key, ensure audiences (each step re-parses).
pub fn apply(text: &str, patch: &Patch) -> Res<String> {
    let mut out = text.to_string();
    if let Some(kid) = &patch.remove_kid {
        out = remove_key(&out, kid)?;
    }
    if let Some(key) = &patch.add_key {
        let value = key_json(key);
        out = ensure(&out, &["client_auth", "jwks", "keys"], &[value])?;
    }
    if !patch.audiences.is_empty() {
        out = ensure_audiences(&out, &patch.audiences)?;
    }
    if !patch.jwks_uris.is_empty() {
        out = ensure_uris(&out, &patch.jwks_uris)?;
    }
    for (key, value) in &patch.set {
        out = set(&out, &["client_auth", key.as_str()], field_json(value))?;
    }
    Ok(out)
}

/// `audience` holds `wanted`: appended to a list; a string (which the service refuses)
/// becomes a list that keeps it first.
fn ensure_audiences(text: &str, wanted: &[String]) -> Res<String> {
    let (root, _) = parse_json(text).map_err(|e| e.message)?;
    let current = root.get("client_auth").and_then(|a| a.get("audience"));
    let existing: Vec<String> = match current.map(|n| &n.value) {
        Some(super::node::Value::Seq(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(super::node::Value::Str(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let missing: Vec<serde_json::Value> = wanted
        .iter()
        .filter(|a| !existing.contains(a))
        .map(|a| serde_json::Value::String(a.clone()))
        .collect();
    match current.map(|n| &n.value) {
        Some(super::node::Value::Str(s)) => {
            let mut all = vec![serde_json::Value::String(s.clone())];
            all.extend(missing);
            set(
                text,
                &["client_auth", "audience"],
                serde_json::Value::Array(all),
            )
        }
        _ if missing.is_empty() => Ok(text.to_string()),
        _ => ensure(text, &["client_auth", "audience"], &missing),
    }
}

/// `jwks_uri`: a single string stays a string; a second URI turns it into a list.
fn ensure_uris(text: &str, uris: &[String]) -> Res<String> {
    let (root, _) = parse_json(text).map_err(|e| e.message)?;
    let current = root.get("client_auth").and_then(|a| a.get("jwks_uri"));
    let strings = |v: &[String]| {
        v.iter()
            .cloned()
            .map(serde_json::Value::String)
            .collect::<Vec<_>>()
    };
    match current.map(|n| &n.value) {
        None => match uris {
            [one] => set(
                text,
                &["client_auth", "jwks_uri"],
                serde_json::Value::String(one.clone()),
            ),
            many => set(
                text,
                &["client_auth", "jwks_uri"],
                serde_json::Value::Array(strings(many)),
            ),
        },
        Some(super::node::Value::Str(s)) => {
            let missing: Vec<String> = uris.iter().filter(|u| *u != s).cloned().collect();
            if missing.is_empty() {
                return Ok(text.to_string());
            }
            let mut all = vec![s.clone()];
            all.extend(missing);
            set(
                text,
                &["client_auth", "jwks_uri"],
                serde_json::Value::Array(strings(&all)),
            )
        }
        Some(super::node::Value::Seq(items)) => {
            let have: Vec<&str> = items.iter().filter_map(Node::as_str).collect();
            let missing: Vec<String> = uris
                .iter()
                .filter(|u| !have.contains(&u.as_str()))
                .cloned()
                .collect();
            if missing.is_empty() {
                Ok(text.to_string())
            } else {
                ensure(text, &["client_auth", "jwks_uri"], &strings(&missing))
            }
        }
        Some(_) => Err("`client_auth.jwks_uri` is neither a string nor a list".into()),
    }
}

fn key_json(key: &NewKey) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (k, f) in &key.fields {
        map.insert(k.clone(), field_json(f));
    }
    serde_json::Value::Object(map)
}

/// JSON has no `!env`: an env field is written as its value.
fn field_json(f: &Field) -> serde_json::Value {
    match f {
        Field::Bool(b) => serde_json::Value::Bool(*b),
        Field::Str(s) | Field::Env { value: s, .. } => serde_json::Value::String(s.clone()),
    }
}

struct Style {
    unit: String,
    nl: &'static str,
}

fn detect(text: &str) -> Style {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let unit = text
        .lines()
        .map(|l| &l[..l.len() - l.trim_start_matches([' ', '\t']).len()])
        .find(|ws| !ws.is_empty())
        .map_or_else(|| "  ".to_string(), str::to_string);
    Style { unit, nl }
}

/// Pretty JSON of `value` with the file's indent, its lines shifted by `depth` units.
fn render(value: &serde_json::Value, depth: usize, style: &Style) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(style.unit.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = serde::Serialize::serialize(value, &mut ser);
    let s = String::from_utf8_lossy(&buf).into_owned();
    let pad = style.unit.repeat(depth);
    s.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                l.to_string()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join(style.nl)
}

fn line_indent(text: &str, pos: usize) -> &str {
    let ls = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[ls..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

fn depth_of(text: &str, pos: usize, style: &Style) -> usize {
    let unit = style.unit.len().max(1);
    line_indent(text, pos).len() / unit
}

/// Appends `items` to the list at `path`, creating the objects and the list on the way.
fn ensure(text: &str, path: &[&str], items: &[serde_json::Value]) -> Res<String> {
    edit(text, path, Target::Append(items.to_vec()))
}

/// Sets the member at `path` to `value`, creating the objects on the way.
fn set(text: &str, path: &[&str], value: serde_json::Value) -> Res<String> {
    edit(text, path, Target::Set(value))
}

/// What to do at the end of a path.
enum Target {
    /// Append to a list.
    Append(Vec<serde_json::Value>),
    /// Replace (or create) the value.
    Set(serde_json::Value),
}

fn edit(text: &str, path: &[&str], target: Target) -> Res<String> {
    let (_, root) = parse_json(text).map_err(|e| e.message)?;
    if root.kind != JsonKind::Object {
        return Err("the JSON document is not an object".into());
    }
    let style = detect(text);
    let mut container = &root;
    for (i, name) in path.iter().enumerate() {
        let child = container
            .children
            .iter()
            .find(|(k, _, _)| k.as_deref() == Some(*name));
        match (child, &target) {
            (Some((_, _, span)), _) if i + 1 < path.len() => {
                if span.kind != JsonKind::Object {
                    return Err(format!("`{name}` is not an object"));
                }
                container = span;
            }
            (Some((_, _, span)), Target::Append(items)) => {
                if span.kind != JsonKind::Array {
                    return Err(format!("`{name}` is not a list"));
                }
                let members = items.iter().map(|v| (None, v.clone())).collect();
                return Ok(insert_members(text, span, members, &style));
            }
            (Some((_, _, span)), Target::Set(value)) => {
                let new = value.to_string();
                if text[span.start..span.end] == new {
                    return Ok(text.to_string());
                }
                return Ok(format!(
                    "{}{}{}",
                    &text[..span.start],
                    new,
                    &text[span.end..]
                ));
            }
            (None, _) => {
                let mut value = match target {
                    Target::Append(items) => serde_json::Value::Array(items),
                    Target::Set(value) => value,
                };
                for p in path[i + 1..].iter().rev() {
                    let mut m = serde_json::Map::new();
                    m.insert((*p).to_string(), value);
                    value = serde_json::Value::Object(m);
                }
                return Ok(insert_members(
                    text,
                    container,
                    vec![(Some((*name).to_string()), value)],
                    &style,
                ));
            }
        }
    }
    Ok(text.to_string())
}

/// Inserts members (objects) or items (arrays) before the container's closing bracket.
fn insert_members(
    text: &str,
    span: &JsonSpan,
    members: Vec<(Option<String>, serde_json::Value)>,
    style: &Style,
) -> String {
    let close = span.end - 1;
    let multiline = text[span.start..span.end].contains('\n') || span.children.is_empty();
    let depth = depth_of(text, span.start, style);
    let inner = style.unit.repeat(depth + 1);
    let parts: Vec<String> = members
        .iter()
        .map(|(k, v)| {
            let rendered = if multiline || span.children.is_empty() {
                render(v, depth + 1, style)
            } else {
                v.to_string()
            };
            match k {
                Some(k) => format!("{}: {rendered}", serde_json::Value::String(k.clone())),
                None => rendered,
            }
        })
        .collect();
    let (at, with) = if span.children.is_empty() {
        let closing = format!("{}{}", style.nl, style.unit.repeat(depth));
        let body: Vec<String> = parts
            .iter()
            .map(|p| format!("{}{inner}{p}", style.nl))
            .collect();
        (span.start + 1, format!("{}{closing}", body.join(",")))
    } else if multiline {
        let last_end = span.children.last().map_or(close, |c| c.2.end);
        let body: Vec<String> = parts
            .iter()
            .map(|p| format!(",{}{inner}{p}", style.nl))
            .collect();
        (last_end, body.concat())
    } else {
        let last_end = span.children.last().map_or(close, |c| c.2.end);
        (last_end, parts.iter().map(|p| format!(", {p}")).collect())
    };
    let end = if span.children.is_empty() { close } else { at };
    format!("{}{}{}", &text[..at], with, &text[end..])
}

fn remove_key(text: &str, kid: &str) -> Res<String> {
    let (root, spans) = parse_json(text).map_err(|e| e.message)?;
    let Some(items) = root
        .get("client_auth")
        .and_then(|a| a.get("jwks"))
        .and_then(|j| j.get("keys"))
        .and_then(Node::as_seq)
    else {
        return Ok(text.to_string());
    };
    let Some(pos) = items
        .iter()
        .position(|i| i.get("kid").and_then(Node::as_str) == Some(kid))
    else {
        return Ok(text.to_string());
    };
    let find = |span: &JsonSpan, name: &str| {
        span.children
            .iter()
            .find(|c| c.0.as_deref() == Some(name))
            .map(|c| c.2.clone())
    };
    let keys = find(&spans, "client_auth")
        .and_then(|a| find(&a, "jwks"))
        .and_then(|j| find(&j, "keys"))
        .ok_or("keys not found")?;
    let item = &keys.children[pos].2;
    // Remove the item with the separator before it (or after it, for the first item).
    let (start, end) = if pos > 0 {
        (keys.children[pos - 1].2.end, item.end)
    } else if keys.children.len() > 1 {
        (item.start, keys.children[1].2.start)
    } else {
        (keys.start + 1, keys.end - 1)
    };
    Ok(format!("{}{}", &text[..start], &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch() -> Patch {
        Patch {
            remove_kid: None,
            add_key: Some(NewKey {
                fields: vec![
                    ("kty".into(), Field::Str("oct".into())),
                    ("kid".into(), Field::Str("a".into())),
                ],
            }),
            audiences: vec!["powersync".into()],
            ..Patch::default()
        }
    }

    #[test]
    fn adds_client_auth_with_the_file_indent() {
        let out = apply("{\n    \"port\": 8080\n}\n", &patch()).unwrap();
        assert_eq!(
            out,
            "{\n    \"port\": 8080,\n    \"client_auth\": {\n        \"jwks\": {\n            \"keys\": [\n                {\n                    \"kty\": \"oct\",\n                    \"kid\": \"a\"\n                }\n            ]\n        },\n        \"audience\": [\n            \"powersync\"\n        ]\n    }\n}\n"
        );
    }

    #[test]
    fn appends_to_compact_lists_and_keeps_tabs() {
        let src = "{\n\t\"client_auth\": {\n\t\t\"audience\": [\"x\"],\n\t\t\"jwks\": {\"keys\": []}\n\t}\n}";
        let out = apply(src, &patch()).unwrap();
        assert!(
            out.contains("\"audience\": [\"x\", \"powersync\"]"),
            "{out}"
        );
        assert!(out.ends_with("\n\t}\n}"), "{out}");
        assert!(parse_json(&out).is_ok());
    }

    #[test]
    fn removes_a_key() {
        let src = "{\"client_auth\": {\"jwks\": {\"keys\": [{\"kid\": \"a\"}, {\"kid\": \"b\"}]}}}";
        assert_eq!(
            remove_key(src, "a").unwrap(),
            "{\"client_auth\": {\"jwks\": {\"keys\": [{\"kid\": \"b\"}]}}}"
        );
        assert_eq!(
            remove_key(src, "b").unwrap(),
            "{\"client_auth\": {\"jwks\": {\"keys\": [{\"kid\": \"a\"}]}}}"
        );
    }
}
