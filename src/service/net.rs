//! What the service's key store does with a `jwks_uri` before fetching anything: node's
//! `new URL` (WHATWG) for the scheme and host, and lib-services' `validateIpHostname`
//! with ipaddr.js 2.2 for an IP-literal host (its `parseCIDR`, `subnetMatch` and the
//! ranges its `range()` calls special).
//!
//! Not reproduced, because no ASCII `jwks_uri` needs them: IDNA mapping of non-ASCII
//! hosts (they are kept as domain names) and ipaddr.js's IPv6 zone ids (`%eth0`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The host of a URL, as `new URL(…).hostname` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A domain name (lowercased), resolved only when the keys are fetched.
    Domain(String),
    /// An IP literal (IPv4 in any form node accepts, or `[IPv6]`).
    Ip(IpAddr),
}

/// Why `new URL(uri)` or the service's http(s) rule refuses a `jwks_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlProblem {
    /// `new URL` throws: PSYNC_S3102.
    Invalid(&'static str),
    /// Not `http:` or `https:`: PSYNC_S3103.
    NotHttp(String),
}

/// The host of an http(s) URL, parsed as node's `new URL` does; the problem otherwise.
pub fn http_host(uri: &str) -> Result<Host, UrlProblem> {
    let trimmed = uri.trim_matches(|c: char| c <= ' ');
    let text: String = trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let Some((scheme, rest)) = text.split_once(':') else {
        return Err(UrlProblem::Invalid("no scheme"));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(UrlProblem::Invalid("no scheme"));
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(UrlProblem::NotHttp(scheme));
    }
    // Special schemes: any run of `/` or `\` starts the authority.
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = split_port(host_port)?;
    if !port.chars().all(|c| c.is_ascii_digit()) || port.parse::<u32>().is_ok_and(|p| p > 65535) {
        return Err(UrlProblem::Invalid("invalid port"));
    }
    if let Some(v6) = host.strip_prefix('[') {
        let v6 = v6
            .strip_suffix(']')
            .ok_or(UrlProblem::Invalid("invalid IPv6 address"))?;
        return v6
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(IpAddr::V6(ip)))
            .map_err(|_| UrlProblem::Invalid("invalid IPv6 address"));
    }
    domain_or_ipv4(host)
}

/// `host:port`, with `[…]` kept whole.
fn split_port(host_port: &str) -> Result<(&str, &str), UrlProblem> {
    if host_port.starts_with('[') {
        let end = host_port
            .find(']')
            .ok_or(UrlProblem::Invalid("invalid IPv6 address"))?;
        let (host, after) = host_port.split_at(end + 1);
        return match after {
            "" => Ok((host, "")),
            _ => after
                .strip_prefix(':')
                .map(|port| (host, port))
                .ok_or(UrlProblem::Invalid("invalid port")),
        };
    }
    Ok(host_port.split_once(':').unwrap_or((host_port, "")))
}

/// The WHATWG host parser for a special scheme, without IDNA.
fn domain_or_ipv4(host: &str) -> Result<Host, UrlProblem> {
    if host.is_empty() {
        return Err(UrlProblem::Invalid("empty host"));
    }
    let decoded = percent_decode(host).to_lowercase();
    let forbidden = |c: char| {
        c <= ' '
            || c == '\u{7f}'
            || matches!(
                c,
                '#' | '%' | '/' | ':' | '<' | '>' | '?' | '@' | '[' | '\\' | ']' | '^' | '|'
            )
    };
    if decoded.is_empty() || decoded.chars().any(forbidden) {
        return Err(UrlProblem::Invalid("forbidden host code point"));
    }
    if ends_in_number(&decoded) {
        return whatwg_ipv4(&decoded)
            .map(|ip| Host::Ip(IpAddr::V4(ip)))
            .ok_or(UrlProblem::Invalid("invalid IPv4 address"));
    }
    Ok(Host::Domain(decoded))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// WHATWG "ends in a number": the last label (after one trailing dot) is digits or `0x…`.
fn ends_in_number(host: &str) -> bool {
    let mut labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 1 && labels.last() == Some(&"") {
        labels.pop();
    }
    let last = labels.last().copied().unwrap_or_default();
    (!last.is_empty() && last.chars().all(|c| c.is_ascii_digit()))
        || last
            .strip_prefix("0x")
            .is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The WHATWG IPv4 parser: 1 to 4 parts, each decimal, `0x` hex or `0` octal; the last
/// part fills the remaining bytes.
fn whatwg_ipv4(host: &str) -> Option<Ipv4Addr> {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.last() == Some(&"") && parts.len() > 1 {
        parts.pop();
    }
    if parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| {
            let (digits, radix) = match p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
                Some(h) => (h, 16),
                None if p.len() > 1 && p.starts_with('0') => (&p[1..], 8),
                None => (*p, 10),
            };
            match digits {
                "" if radix != 10 => Some(0),
                _ => u64::from_str_radix(digits, radix).ok(),
            }
        })
        .collect::<Option<_>>()?;
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|n| *n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return None;
    }
    let value = init
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, n)| acc + n * 256u64.pow(3 - i as u32));
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

/// An IP range from `jwks_reject_ip_ranges`, as ipaddr.js's `parseCIDR` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address.
    pub ip: IpAddr,
    /// The prefix length.
    pub bits: u8,
}

/// ipaddr.js `parseCIDR`: `address/bits`, IPv6 first, then IPv4 in any form its
/// parser takes (`10.0.0.0`, `10.1`, `0x0a.0.0.1`, `012.0.0.1`); `None` where it throws.
pub fn parse_cidr(text: &str) -> Option<Cidr> {
    let (address, bits) = text.rsplit_once('/')?;
    if address.is_empty() || bits.is_empty() || !bits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let bits: u32 = bits.parse().ok()?;
    if let Ok(v6) = address.parse::<Ipv6Addr>() {
        return (bits <= 128).then_some(Cidr {
            ip: IpAddr::V6(v6),
            bits: bits as u8,
        });
    }
    let v4 = ipaddr_ipv4(address)?;
    (bits <= 32).then_some(Cidr {
        ip: IpAddr::V4(v4),
        bits: bits as u8,
    })
}

/// ipaddr.js's IPv4 parser: four parts, or one 32-bit value, or two/three parts whose
/// last fills the rest; each part `0x` hex, `0`-led octal (only digits 0-7) or decimal.
fn ipaddr_ipv4(text: &str) -> Option<Ipv4Addr> {
    let part = |p: &str| -> Option<u64> {
        if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            return (!h.is_empty() && h.len() <= 12)
                .then(|| u64::from_str_radix(h, 16).ok())
                .flatten();
        }
        let digits_ok = !p.is_empty() && p.len() <= 15 && p.chars().all(|c| c.is_ascii_digit());
        if !digits_ok {
            return None;
        }
        match p.len() > 1 && p.starts_with('0') {
            true => u64::from_str_radix(p, 8).ok(),
            false => p.parse().ok(),
        }
    };
    let parts: Vec<u64> = text.split('.').map(part).collect::<Option<_>>()?;
    let (last, init) = parts.split_last()?;
    let max_last = match parts.len() {
        1 => 0xffff_ffff,
        2 => 0xff_ffff,
        3 => 0xffff,
        4 => 0xff,
        _ => return None,
    };
    if init.iter().any(|n| *n > 255) || *last > max_last {
        return None;
    }
    let value = init
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, n)| acc + (n << (8 * (3 - i))));
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

/// ipaddr.js's `match`: the first `bits` bits are equal, and both are of one kind.
pub fn in_subnet(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let bits = u32::from(bits).min(width);
    bits == 0 || (a >> (width - bits)) == (b >> (width - bits))
}

/// ipaddr.js 2.2's `SpecialRanges` for IPv4: everything else is `unicast`.
const V4_SPECIAL: [([u8; 4], u8); 19] = [
    ([0, 0, 0, 0], 8),
    ([255, 255, 255, 255], 32),
    ([224, 0, 0, 0], 4),
    ([169, 254, 0, 0], 16),
    ([127, 0, 0, 0], 8),
    ([100, 64, 0, 0], 10),
    ([10, 0, 0, 0], 8),
    ([172, 16, 0, 0], 12),
    ([192, 168, 0, 0], 16),
    ([192, 0, 0, 0], 24),
    ([192, 0, 2, 0], 24),
    ([192, 88, 99, 0], 24),
    ([198, 18, 0, 0], 15),
    ([198, 51, 100, 0], 24),
    ([203, 0, 113, 0], 24),
    ([240, 0, 0, 0], 4),
    ([192, 175, 48, 0], 24),
    ([192, 31, 196, 0], 24),
    ([192, 52, 193, 0], 24),
];

/// ipaddr.js 2.2's `SpecialRanges` for IPv6.
const V6_SPECIAL: [([u16; 8], u8); 20] = [
    ([0, 0, 0, 0, 0, 0, 0, 0], 128),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
    ([0, 0, 0, 0, 0, 0xffff, 0, 0], 96),
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
    ([0, 0, 0, 0, 0xffff, 0, 0, 0], 96),
    ([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96),
    ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32),
    ([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48),
    ([0x2001, 0x3, 0, 0, 0, 0, 0, 0], 32),
    ([0x2001, 0x4, 0x112, 0, 0, 0, 0, 0], 48),
    ([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48),
    ([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28),
    ([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28),
    ([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28),
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
];

/// A host name that resolves to this machine or a private network: `localhost` and
/// `*.localhost`, Docker's `host.docker.internal`/`gateway.docker.internal`, `*.local`
/// (mDNS), `*.internal`, and a single label (`backend`: a compose service, a LAN host).
pub fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || !name.contains('.')
        || [".localhost", ".local", ".internal", ".lan", ".home.arpa"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// The port of a `jwks_uri` that points at a `pskeys serve` on this machine (a local host
/// and one of the JWKS paths), if it is one.
pub fn serve_jwks_port(uri: &str) -> Option<u16> {
    let rest = uri.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !matches!(path, "/.well-known/jwks.json" | "/api/auth/keys") {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p.parse().ok()?),
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local = matches!(host, "localhost" | "host.docker.internal")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    local.then_some(port)
}

/// A `jwks_uri` host that, seen from inside a container, is the container itself.
pub fn is_loopback_host(host: &Host) -> bool {
    match host {
        Host::Ip(ip) => ip.is_loopback(),
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// Whether ipaddr.js calls the address `unicast`: the only kind `local` lets through.
pub fn is_unicast(ip: IpAddr) -> bool {
    let special = |net: IpAddr, bits: u8| in_subnet(ip, net, bits);
    match ip {
        IpAddr::V4(_) => !V4_SPECIAL
            .iter()
            .any(|(o, b)| special(IpAddr::V4(Ipv4Addr::from(*o)), *b)),
        IpAddr::V6(_) => !V6_SPECIAL
            .iter()
            .any(|(s, b)| special(IpAddr::V6(Ipv6Addr::from(*s)), *b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn hosts_as_node_parses_them() {
        let host = |s: &str| http_host(s);
        assert_eq!(
            host("http://127.0.0.1:8080/jwks"),
            Ok(Host::Ip(ip("127.0.0.1")))
        );
        assert_eq!(host("http://2130706433/"), Ok(Host::Ip(ip("127.0.0.1"))));
        assert_eq!(host("http://0x7f.1/"), Ok(Host::Ip(ip("127.0.0.1"))));
        assert_eq!(
            host("HTTP://[::FFFF:127.0.0.1]/"),
            Ok(Host::Ip(ip("::ffff:7f00:1")))
        );
        assert_eq!(
            host("https:auth.Example.com"),
            Ok(Host::Domain("auth.example.com".into()))
        );
        assert_eq!(
            host("https://u:p@${PS_HOST}/jwks"),
            Ok(Host::Domain("${ps_host}".into()))
        );
        assert_eq!(
            host("http://1.2.3.256/"),
            Err(UrlProblem::Invalid("invalid IPv4 address"))
        );
        assert_eq!(
            host("${PS_JWKS_URI}"),
            Err(UrlProblem::Invalid("no scheme"))
        );
        assert_eq!(
            host("localhost:8080/jwks"),
            Err(UrlProblem::NotHttp("localhost".into()))
        );
        assert_eq!(
            host("ftp://example.com/"),
            Err(UrlProblem::NotHttp("ftp".into()))
        );
        assert!(host("http://exa mple.com/").is_err());
        assert!(host("http://example.com:99999/").is_err());
        assert!(host("http:///").is_err());
        assert!(host("http://a%2fb/").is_err());
    }

    #[test]
    fn cidr_ranges_as_ipaddr_parses_them() {
        let cidr = |s: &str| parse_cidr(s).map(|c| (c.ip, c.bits));
        assert_eq!(cidr("10.0.0.0/8"), Some((ip("10.0.0.0"), 8)));
        assert_eq!(cidr("10.1/16"), Some((ip("10.0.0.1"), 16)));
        assert_eq!(cidr("012.0.0.1/32"), Some((ip("10.0.0.1"), 32)));
        assert_eq!(cidr("fc00::/7"), Some((ip("fc00::"), 7)));
        assert_eq!(cidr("10.0.0.1"), None);
        assert_eq!(cidr("10.0.0.0/33"), None);
        assert_eq!(cidr("08.0.0.0/8"), None);
        assert_eq!(cidr("local"), None);
    }

    #[test]
    fn unicast_as_ipaddr_ranges_it() {
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "2001:4860:4860::8888",
        ] {
            assert!(is_unicast(ip(public)), "{public}");
        }
        for special in [
            "127.0.0.1",
            "10.0.0.1",
            "100.64.0.1",
            "169.254.1.1",
            "192.0.2.1",
            "0.0.0.0",
            "::1",
            "::ffff:7f00:1",
            "fd00::1",
            "2001:db8::1",
        ] {
            assert!(!is_unicast(ip(special)), "{special}");
        }
        assert!(in_subnet(ip("10.1.2.3"), ip("10.0.0.0"), 8));
        assert!(!in_subnet(ip("::ffff:a01:203"), ip("10.0.0.0"), 8));
    }
}
