//! Who may call the server: browser origins (CORS) and, on a loopback address, the names
//! the request says it is for (a web page whose own name was made to resolve to
//! 127.0.0.1, "DNS rebinding", must not read tokens).

use crate::error::{Error, Result};

/// The browser origins allowed to read responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origins {
    /// http(s) on localhost, *.localhost, 127.0.0.1 and [::1], any port.
    Local,
    /// `*`: any origin.
    Any,
    /// Exactly these (`scheme://host[:port]`).
    List(Vec<String>),
}

impl Origins {
    /// `--cors-origin` values: `*`, or origins without a path.
    pub fn parse(values: &[String]) -> Result<Origins> {
        if values.is_empty() {
            return Ok(Origins::Local);
        }
        if values.iter().any(|v| v == "*") {
            return Ok(Origins::Any);
        }
        for v in values {
            crate::cmd::check_text("--cors-origin", v)?;
            let v = &v.to_ascii_lowercase();
            let rest = v
                .strip_prefix("http://")
                .or_else(|| v.strip_prefix("https://"))
                .map(|r| r.strip_suffix('/').unwrap_or(r));
            if rest.is_none_or(|r| r.is_empty() || r.contains(['/', '?', '#', ' '])) {
                return Err(Error::usage(
                    format!(
                        "--cors-origin \"{}\" is not an origin (scheme://host[:port], no path)",
                        v.escape_debug()
                    ),
                    "e.g. --cors-origin http://localhost:5173, or --cors-origin '*'".to_string(),
                ));
            }
        }
        Ok(Origins::List(
            values
                .iter()
                .map(|v| v.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        ))
    }

    /// Whether a request's `Origin` may read the response.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
            Origins::Local => {
                let Some(rest) = origin
                    .strip_prefix("http://")
                    .or_else(|| origin.strip_prefix("https://"))
                else {
                    return false;
                };
                split_host(rest).is_some_and(|(host, _)| is_local_name(host))
            }
        }
    }

    /// How the allowed origins read in messages.
    pub fn describe(&self) -> String {
        match self {
            Origins::Local => "localhost origins".to_string(),
            Origins::Any => "any origin".to_string(),
            Origins::List(list) => list.join(", "),
        }
    }
}

/// `host[:port]` (with `[v6]` brackets) into host and port; `None` for anything else
/// (user info, a path, a port that is not one, characters no host name has).
fn split_host(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        match rest {
            "" => (host, None),
            r => (host, Some(r.strip_prefix(':')?)),
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let name_char = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
        if host.is_empty() || !host.bytes().all(name_char) {
            return None;
        }
        (host, port)
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return None;
    }
    Some((host, port))
}

/// Names that reach this machine only: localhost (and `*.localhost`, RFC 6761), the
/// loopback addresses, and `host.docker.internal` (a container reaching its host).
fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "host.docker.internal"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Which `Host` names are served: the defence against DNS rebinding, where a web page
/// makes its own name resolve to this server and reads tokens same-origin.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hosts {
    /// Listening on a loopback address: local names only.
    pub loopback: bool,
    /// `--allowed-host` names, lowercase.
    pub allowed: Vec<String>,
}

impl Hosts {
    /// The policy for a server bound to a loopback address or not.
    pub fn new(loopback: bool, allowed: &[String]) -> Hosts {
        let allowed = allowed
            .iter()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        Hosts { loopback, allowed }
    }

    /// Whether a request with this `Host` header is served. Local names and
    /// `--allowed-host` names always; on another address (`--host 0.0.0.0`, a container)
    /// also the names no public DNS answers for, which a page cannot rebind: IP
    /// addresses, one-label names (a compose service such as `pskeys`), and `.internal`,
    /// `.local`, `.lan`, `.home.arpa` names.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Some(h) = host else { return true };
        let Some((name, _)) = split_host(h) else {
            return false;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if is_local_name(&name) || self.allowed.contains(&name) {
            return true;
        }
        let private = [".internal", ".local", ".lan", ".home.arpa"];
        !self.loopback
            && (name
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok()
                || !name.contains('.')
                || private.iter().any(|s| name.ends_with(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_allowed(loopback: bool, host: Option<&str>) -> bool {
        Hosts::new(loopback, &[]).allows(host)
    }

    #[test]
    fn local_origins() {
        let o = Origins::Local;
        for ok in [
            "http://localhost:5173",
            "https://localhost",
            "http://127.0.0.1:3000",
            "http://[::1]:8080",
            "http://app.localhost:1",
        ] {
            assert!(o.allows(ok), "{ok}");
        }
        for bad in [
            "http://evil.com",
            "http://localhost.evil.com",
            "null",
            "file://",
            "http://localhost:abc",
            "http://127.0.0.1.nip.io",
            "ftp://localhost",
        ] {
            assert!(!o.allows(bad), "{bad}");
        }
    }

    #[test]
    fn listed_and_any_origins() {
        let o = Origins::parse(&["https://App.example.com/".into()]).unwrap();
        assert!(o.allows("https://app.example.com"));
        assert!(!o.allows("http://localhost:5173"));
        assert_eq!(Origins::parse(&["*".into()]).unwrap(), Origins::Any);
        assert!(Origins::parse(&["example.com".into()]).is_err());
        assert!(Origins::parse(&["http://a.com/path".into()]).is_err());
    }

    #[test]
    fn hosts_on_loopback() {
        for ok in [
            "localhost:6060",
            "127.0.0.1:6060",
            "[::1]:6060",
            "host.docker.internal:6060",
            "LOCALHOST",
        ] {
            assert!(host_allowed(true, Some(ok)), "{ok}");
        }
        assert!(!host_allowed(true, Some("evil.example:6060")));
        assert!(!host_allowed(true, Some("[::1")));
        for forged in [
            "localhost:abc@evil.com",
            "evil.com/.localhost",
            "localhost:99999",
            "localhost:6060/x",
        ] {
            assert!(!host_allowed(true, Some(forged)), "{forged}");
        }
        for forged in ["http://evil.com/.localhost", "http://evil.com?.localhost"] {
            assert!(!Origins::Local.allows(forged), "{forged}");
        }
        assert!(host_allowed(true, None));
    }

    #[test]
    fn hosts_on_other_addresses() {
        let any = Hosts::new(false, &["DevBox.example.com".into()]);
        for ok in [
            "pskeys:6060",
            "192.168.1.20:6060",
            "[fd00::1]:6060",
            "devbox.example.com",
            "mybox.lan",
            "localhost:6060",
        ] {
            assert!(any.allows(Some(ok)), "{ok}");
        }
        // A public name a page could point here: refused, whatever the address.
        for bad in [
            "evil.example:6060",
            "rebind.attacker.com",
            "x.localhost.evil.com",
        ] {
            assert!(!any.allows(Some(bad)), "{bad}");
        }
        let local = Hosts::new(true, &["pskeys".into()]);
        assert!(local.allows(Some("pskeys:6060")));
        assert!(!local.allows(Some("other:6060")));
    }
}
