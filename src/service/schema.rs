//! The service's own JSON schema for its config (`configFile.PowerSyncConfigJSONSchema`
//! from npm `@powersync/service-types` 0.17.0, the version service v1.25.0 ships; a test
//! compares this copy with the package) and a validator for the keywords it uses, with
//! the semantics of the ajv 8 validator the service runs it through.
//!
//! Regenerate the copy after bumping the package in tests/interop/package.json:
//! `cd tests/interop && node --input-type=module -e "import {configFile} from
//! '@powersync/service-types'; console.log(JSON.stringify(configFile.PowerSyncConfigJSONSchema, null, 2))"
//! > ../../src/service/powersync-config.schema.json`.
//!
//! The service decodes before it validates (`ConfigCollector.collect`): `port` and
//! `telemetry.prometheus_port` go through `portCodec`, which keeps a number and reads
//! anything else with JavaScript's `parseInt`; a NaN then fails the schema.

use std::sync::OnceLock;

use serde_json::{Map, Value as J};

const SCHEMA_TEXT: &str = include_str!("powersync-config.schema.json");

/// The settings `portCodec` decodes.
const PORTS: [&[&str]; 2] = [&["port"], &["telemetry", "prometheus_port"]];

/// One place where the config breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Where, as `client_auth.jwks.keys[0].kid` (empty for the root).
    pub path: String,
    /// What is wrong, without the path.
    pub problem: String,
}

/// The schema, parsed once.
pub fn schema() -> &'static J {
    static SCHEMA: OnceLock<J> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(SCHEMA_TEXT).unwrap_or(J::Bool(true)))
}

/// Every schema error of a config whose `!env` tags are resolved, after the service's
/// decoding of ports. Empty when the service's decode and validation pass.
pub fn validate(config: &J) -> Vec<SchemaError> {
    let mut decoded = config.clone();
    let mut out = decode_ports(&mut decoded);
    check(schema(), &decoded, &mut String::new(), &mut out);
    out
}

/// `portCodec.decode`: NaN ports become errors (and are dropped, so that the generic
/// type check does not report them twice).
fn decode_ports(config: &mut J) -> Vec<SchemaError> {
    let mut out = Vec::new();
    for path in PORTS {
        let (last, parents) = path.split_last().unwrap_or((&"", &[]));
        let Some(parent) = parents
            .iter()
            .try_fold(&mut *config, |v, k| v.get_mut(*k))
            .and_then(J::as_object_mut)
        else {
            continue;
        };
        let Some(value) = parent.get(*last) else {
            continue;
        };
        if value.is_number() {
            continue;
        }
        match js_parse_int(&js_string(value)) {
            Some(n) => {
                parent.insert(last.to_string(), J::from(n));
            }
            None => {
                out.push(SchemaError {
                    path: path.join("."),
                    problem: format!(
                        "is {}, which the service reads with parseInt as NaN, not a port",
                        describe(value)
                    ),
                });
                parent.remove(*last);
            }
        }
    }
    out
}

/// JavaScript's `String(value)` for the values a config holds.
fn js_string(value: &J) -> String {
    match value {
        J::String(s) => s.clone(),
        J::Array(items) => items
            .iter()
            .map(|v| {
                if v.is_null() {
                    String::new()
                } else {
                    js_string(v)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        J::Object(_) => "[object Object]".into(),
        other => other.to_string(),
    }
}

/// JavaScript's `parseInt(text)`: leading spaces, a sign, `0x` for hex, then the longest
/// run of digits; none is NaN (`None`).
pub fn js_parse_int(text: &str) -> Option<i64> {
    let t =
        text.trim_start_matches(|c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}');
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, t) = match t.get(..2) {
        Some("0x" | "0X") => (16, &t[2..]),
        _ => (10, t),
    };
    let digits: String = t.chars().take_while(|c| c.is_digit(radix)).collect();
    let n = i64::from_str_radix(digits.get(..digits.len().min(15))?, radix).ok()?;
    Some(if negative { -n } else { n })
}

fn describe(value: &J) -> String {
    match value {
        J::Null => "null".into(),
        J::Bool(b) => format!("`{b}`"),
        J::Number(n) => format!("`{n}`"),
        J::String(s) => format!("`{s}`"),
        J::Array(_) => "a list".into(),
        J::Object(_) => "a mapping".into(),
    }
}

fn type_matches(ty: &str, value: &J) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        // serde_json holds only finite numbers, which is what ajv's strict numbers want.
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|f| f.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// What a (sub)schema wants, in words: `a string`, `"HS256"`, `a number or a string`.
fn wanted(schema: &J) -> String {
    if let Some(c) = schema.get("const") {
        return c.to_string();
    }
    if let Some(options) = schema.get("anyOf").and_then(J::as_array) {
        let words: Vec<String> = options.iter().map(wanted).collect();
        return words.join(" or ");
    }
    match schema.get("type").and_then(J::as_str) {
        Some("object") => "a mapping".into(),
        Some("array") => "a list".into(),
        Some(t @ ("integer" | "number")) => format!("a {t}"),
        Some(t) => format!("a {t}"),
        None => "anything".into(),
    }
}

/// Whether an object schema has members with a `const` and the value has them all.
fn consts_match(schema: &J, value: &J) -> bool {
    let Some(props) = schema.get("properties").and_then(J::as_object) else {
        return false;
    };
    let mut consts = props
        .iter()
        .filter_map(|(k, p)| Some((k, p.get("const")?)))
        .peekable();
    consts.peek().is_some() && consts.all(|(k, c)| value.get(k) == Some(c))
}

/// ajv's `validate` for the keywords the schema uses: type, const, anyOf, properties,
/// required, items, additionalProperties (`definitions` is empty).
fn check(schema: &J, value: &J, path: &mut String, out: &mut Vec<SchemaError>) {
    let mut fail = |path: &str, problem: String| {
        out.push(SchemaError {
            path: path.to_string(),
            problem,
        })
    };
    if let Some(ty) = schema.get("type").and_then(J::as_str)
        && !type_matches(ty, value)
    {
        fail(
            path,
            format!("is {}, expected {}", describe(value), wanted(schema)),
        );
        return;
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        fail(path, format!("is {}, expected {c}", describe(value)));
        return;
    }
    if let Some(options) = schema.get("anyOf").and_then(J::as_array) {
        let errors: Vec<Vec<SchemaError>> = options
            .iter()
            .map(|o| {
                let mut errors = Vec::new();
                check(o, value, &mut path.clone(), &mut errors);
                errors
            })
            .collect();
        if !errors.iter().any(Vec::is_empty) {
            // A JWK: the errors of the form its `kty` picks say more than "none matched".
            match options.iter().position(|o| consts_match(o, value)) {
                Some(i) => out.extend(errors[i].iter().cloned()),
                None => fail(
                    path,
                    format!("is {}, expected {}", describe(value), wanted(schema)),
                ),
            }
            return;
        }
    }
    if let (Some(props), J::Object(map)) = (schema.get("properties").and_then(J::as_object), value)
    {
        required(schema, map, path, out);
        // `additionalProperties` is `true` but for records (`metadata`, `parameters`).
        let others = schema.get("additionalProperties").filter(|a| a.is_object());
        for (name, v) in map {
            let Some(sub) = props.get(name).or(others) else {
                continue;
            };
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(name);
            check(sub, v, path, out);
            path.truncate(len);
        }
    }
    if let (Some(items), J::Array(values)) = (schema.get("items"), value) {
        for (i, v) in values.iter().enumerate() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            check(items, v, path, out);
            path.truncate(len);
        }
    }
}

/// A missing required member is reported at its own path (`storage`, `storage.type`).
fn required(schema: &J, map: &Map<String, J>, path: &str, out: &mut Vec<SchemaError>) {
    let names = schema.get("required").and_then(J::as_array);
    for name in names.into_iter().flatten().filter_map(J::as_str) {
        if !map.contains_key(name) {
            let want = schema
                .pointer(&format!("/properties/{name}"))
                .map_or_else(|| "a value".to_string(), wanted);
            out.push(SchemaError {
                path: if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                },
                problem: format!("is missing; the schema requires {want}"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_schema_parses() {
        assert!(schema().get("properties").is_some());
    }

    #[test]
    fn parse_int_as_javascript() {
        assert_eq!(js_parse_int("8080"), Some(8080));
        assert_eq!(js_parse_int("  80${PS_X}"), Some(80));
        assert_eq!(js_parse_int("0x1F90"), Some(8080));
        assert_eq!(js_parse_int("-5"), Some(-5));
        assert_eq!(js_parse_int("1e3"), Some(1));
        assert_eq!(js_parse_int("${PS_PORT}"), None);
        assert_eq!(js_parse_int("true"), None);
        assert_eq!(js_parse_int(""), None);
        assert_eq!(js_string(&json!([8080])), "8080");
    }

    #[test]
    fn errors_name_the_setting() {
        let errors = validate(&json!({
            "storage": {},
            "port": "${PS_PORT}",
            "client_auth": {"audience": null, "jwks": {"keys": [{"kty": "oct", "k": "x", "alg": "RS256"}]}},
            "replication": {"connections": [{"type": "postgresql", "uri": 5}]},
            "telemetry": {"prometheus_port": [9090]},
            "metadata": {"a": "x", "b": 1},
            "parameters": {"p": [1]},
            "extra": {"anything": 1}
        }));
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "port",
                "storage.type",
                "client_auth.audience",
                "client_auth.jwks.keys[0].alg",
                "telemetry.disable_telemetry_sharing",
                "metadata.b",
                "parameters.p"
            ],
            "{errors:?}"
        );
        assert!(validate(&json!({"storage": {"type": "mongodb"}, "port": "8080"})).is_empty());
    }
}
