//! `mint --diagnostics`: the service endpoint for `aud` and the Diagnostics app link that
//! signs in with the token.
//!
//! The app (powersync-js `tools/diagnostics-app`) signs in from `/?token=<jwt>`: it takes
//! the endpoint from the token's `aud` (its `getTokenEndpoint`: the first `https?:` value
//! on `journeyapps.com`, else the first `https?:` value), and it is served over https, so
//! the browser lets it reach plain http only on this machine.

use serde_json::Value;

use crate::Project;
use crate::config::node::EnvProblem;
use crate::error::{Error, Location, Result};
use crate::jws::Jws;
use crate::service::net::{self, Host};
use crate::service::schema::js_parse_int;

/// The hosted app.
pub const HOSTED_APP: &str = "https://diagnostics-app.powersync.com";
/// Where the local image serves the app, and the command that runs it.
pub const LOCAL_APP: &str = "http://localhost:8082";
/// The command that runs the app on this machine.
pub const LOCAL_APP_RUN: &str =
    "docker run --pull always -p 8082:80 journeyapps/powersync-diagnostics-app";

/// The service's port when the config names none.
const DEFAULT_PORT: i64 = 8080;

/// The service URL for `--diagnostics`: `http://localhost:<port>` with the config's `port`
/// (the service's default 8080 when it has none).
pub fn local_endpoint(project: &Project) -> Result<String> {
    let config = project.config();
    let Some(node) = config.root.get("port") else {
        return Ok(format!("http://localhost:{DEFAULT_PORT}"));
    };
    let refuse = |line, column, problem: String| {
        Error::config(
            Location::at(&config.path, line, column),
            format!("--diagnostics needs the service URL, and `port` {problem}"),
            "pass it: --endpoint http://HOST:PORT".to_string(),
        )
    };
    let value = node.resolve(&project.env().lookup()).map_err(|e| {
        let why = match e.problem {
            EnvProblem::Undefined => "which is not defined in .env or the environment",
            EnvProblem::NoPrefix => "which the service does not read (no `PS_` prefix)",
            _ => "whose value is not a port number",
        };
        refuse(e.line, e.column, format!("is `!env {}`, {why}", e.name))
    })?;
    let port = match &value {
        Value::Number(n) => n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64),
        Value::String(s) => js_parse_int(s.as_str()),
        _ => None,
    };
    match port {
        Some(p) if (1..=65535).contains(&p) => Ok(format!("http://localhost:{p}")),
        _ => Err(refuse(
            node.line,
            node.column,
            "is not a port number".to_string(),
        )),
    }
}

/// The link and what the user should know about it.
#[derive(Debug)]
pub struct Link {
    /// The app URL that signs in with the token.
    pub url: String,
    /// Why the link may not work as it stands, and what to do.
    pub warnings: Vec<String>,
}

/// The link to `app` (the hosted app unless given) that signs in with `token`, whose `aud`
/// holds `endpoint`.
pub fn link(token: &str, endpoint: &str, app: Option<&str>) -> Link {
    let mut warnings = Vec::new();
    let insecure = endpoint.starts_with("http://") && !is_local(endpoint);
    let app = match app {
        Some(app) => app.trim_end_matches('/').to_string(),
        None if insecure => {
            warnings.push(format!(
                "the hosted Diagnostics app ({HOSTED_APP}) is served over https and the browser \
                 blocks its requests to plain-http {endpoint}; the link is for the app on this \
                 machine: run `{LOCAL_APP_RUN}` first (or serve the service over https)"
            ));
            LOCAL_APP.to_string()
        }
        None => HOSTED_APP.to_string(),
    };
    if insecure && app.starts_with("https://") {
        warnings.push(format!(
            "{app} is served over https and the browser blocks its requests to plain-http \
             {endpoint}: serve the service over https, or run the app here (`{LOCAL_APP_RUN}`, \
             then {LOCAL_APP})"
        ));
    }
    match app_endpoint(token) {
        Some(found) if found == endpoint => {}
        found => warnings.push(format!(
            "the app would connect to {} (the first http(s) URL in `aud`, one on \
             journeyapps.com first), not {endpoint}: open {app}, paste the token and enter \
             {endpoint} as the endpoint",
            found.as_deref().unwrap_or("nothing")
        )),
    }
    Link {
        url: format!("{app}/?token={token}"),
        warnings,
    }
}

/// The endpoint the app reads from a token, as its `getTokenEndpoint` does (with the
/// browser's `atob`, which refuses base64url's `-` and `_`).
pub fn app_endpoint(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    if payload.contains(['-', '_']) {
        return None;
    }
    let claims = Jws::parse(token).ok()?.claims;
    let auds: Vec<&str> = match claims.get("aud")? {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let http = |a: &&str| a.starts_with("http:") || a.starts_with("https:");
    // `^https?:.*.journeyapps.com`: any character before `journeyapps`, unanchored end.
    let journey = |a: &&str| {
        a.find("journeyapps.com")
            .is_some_and(|i| i > a.find(':').unwrap_or(0) + 1)
    };
    auds.iter()
        .copied()
        .filter(http)
        .find(journey)
        .or_else(|| auds.iter().copied().find(http))
        .map(str::to_string)
}

/// A host the browser treats as this machine (a secure context over plain http).
fn is_local(url: &str) -> bool {
    match net::http_host(url) {
        Ok(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Ok(Host::Ip(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn token(claims: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn the_app_prefers_journeyapps_then_the_first_http_audience() {
        let t =
            token(r#"{"aud":["powersync","http://localhost:8080","https://x.journeyapps.com"]}"#);
        assert_eq!(
            app_endpoint(&t).as_deref(),
            Some("https://x.journeyapps.com")
        );
        let t = token(r#"{"aud":["powersync","http://a:1","http://b:2"]}"#);
        assert_eq!(app_endpoint(&t).as_deref(), Some("http://a:1"));
        assert_eq!(app_endpoint(&token(r#"{"aud":"powersync"}"#)), None);
        // `?` at a third byte: base64url `_`, which atob refuses.
        let t = token(r#"{"aud":"http://h/?"}"#);
        assert!(t.contains('_'));
        assert_eq!(app_endpoint(&t), None);
    }

    #[test]
    fn plain_http_elsewhere_links_the_local_app_and_says_why() {
        let t = token(r#"{"aud":"http://10.0.0.5:8080"}"#);
        let l = link(&t, "http://10.0.0.5:8080", None);
        assert_eq!(l.url, format!("{LOCAL_APP}/?token={t}"));
        assert_eq!(l.warnings.len(), 1);
        assert!(l.warnings[0].contains(LOCAL_APP_RUN));
        let t = token(r#"{"aud":"http://localhost:8080"}"#);
        let l = link(&t, "http://localhost:8080", None);
        assert_eq!(l.url, format!("{HOSTED_APP}/?token={t}"));
        assert!(l.warnings.is_empty());
        let l = link(&t, "http://127.0.0.1:8080", Some("https://my.app/"));
        assert_eq!(l.url, format!("https://my.app/?token={t}"));
        assert!(l.warnings[0].contains("would connect to http://localhost:8080"));
    }

    #[test]
    fn local_hosts() {
        for url in [
            "http://localhost:1",
            "http://a.localhost",
            "http://127.1.2.3",
            "http://[::1]:8",
        ] {
            assert!(is_local(url), "{url}");
        }
        for url in [
            "http://10.0.0.1",
            "http://host.docker.internal:8080",
            "http://localhost.com",
        ] {
            assert!(!is_local(url), "{url}");
        }
    }
}
