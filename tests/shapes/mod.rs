//! The YAML config shapes the property test generates (`tests/properties.rs`) and the
//! yaml-edit comparison (`tests/yaml_edit_api.rs`) enumerates: one grammar for both.
#![allow(dead_code)]

/// What `client_auth.jwks` may look like (or not be).
pub const KEYS: [&str; 4] = [
    "",
    "  jwks:\n    keys:\n      - kty: oct\n        kid: 'x1'\n        alg: HS256\n        k: !env PS_X\n",
    "  jwks:\n    keys: []\n",
    "  # jwks:\n  #   keys: []\n",
];

/// What `client_auth.audience` may look like (or not be).
pub const AUDIENCES: [&str; 4] = [
    "",
    "  audience: [\"a\", 'b']\n",
    "  audience:\n    - a # x\n    - b\n",
    "  audience: []\n",
];

/// One config: comment lines `c1`/`c2` (empty or `# …\n`), a port, `client_auth` (when
/// `has_auth`) with `keys` and `audience` from the lists above, then `api`; CRLF or LF.
pub fn config(
    c1: &str,
    port: u16,
    c2: &str,
    keys: &str,
    audience: &str,
    has_auth: bool,
    crlf: bool,
) -> String {
    let mut s = format!("{c1}port: {port}\n\n{c2}");
    if has_auth {
        s.push_str("client_auth:\n");
        s.push_str(keys);
        s.push_str(audience);
    }
    s.push_str("api:\n  tokens: [t]\n");
    if crlf { s.replace('\n', "\r\n") } else { s }
}

/// Every shape, with one fixed comment text and port.
pub fn all() -> Vec<String> {
    let comments = ["", "# a comment\n"];
    let mut out = Vec::new();
    for c1 in comments {
        for c2 in comments {
            for crlf in [false, true] {
                out.push(config(c1, 8080, c2, "", "", false, crlf));
                for keys in KEYS {
                    for audience in AUDIENCES {
                        out.push(config(c1, 8080, c2, keys, audience, true, crlf));
                    }
                }
            }
        }
    }
    out
}
