//! The endpoints. Every answer is JSON, refusals too: `{"error": {"kind", "code",
//! "message", "hint", "status"}}`, with the service's PSYNC code when the service would
//! have refused the token.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value as J, json};

use super::guard::{Hosts, Origins};
use super::log::{self, Log};
use super::state::{Current, Keys};
use crate::clock::rfc3339;
use crate::error::Error;
use crate::minter::{MintError, TokenSpec};

/// The largest request body read.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
/// How long a request body may take to arrive.
pub(crate) const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// What every request shares.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub current: Current,
    pub origins: Origins,
    /// The `Host` names served.
    pub hosts: Hosts,
    pub log: Log,
    /// The lifetime of a token whose request names none.
    pub lifetime: u64,
    /// `http://ADDR:PORT` as bound, for a request without a usable `Host`.
    pub base_url: String,
}

type Reply = Response<Full<Bytes>>;

/// A refusal: status and the error object.
struct Fail {
    status: StatusCode,
    body: J,
}

impl Fail {
    fn new(status: StatusCode, kind: &str, message: String, hint: Option<String>) -> Fail {
        Fail {
            status,
            body: json!({"error": {"kind": kind, "code": null, "message": message, "hint": hint}}),
        }
    }

    /// A pskeys error (a refused token carries the service's code).
    fn from_error(status: StatusCode, err: &Error) -> Fail {
        let mut body = err.to_json();
        if let Some(e) = body.get_mut("error").and_then(J::as_object_mut) {
            e.remove("file");
            e.remove("line");
        }
        Fail { status, body }
    }

    fn bad(message: impl Into<String>, hint: impl Into<String>) -> Fail {
        Fail::new(
            StatusCode::BAD_REQUEST,
            "usage",
            message.into(),
            Some(hint.into()),
        )
    }

    fn reply(mut self) -> Reply {
        if let Some(e) = self.body.get_mut("error").and_then(J::as_object_mut) {
            e.insert("status".into(), self.status.as_u16().into());
        }
        json_reply(self.status, Bytes::from(self.body.to_string()))
    }
}

fn json_reply(status: StatusCode, body: Bytes) -> Reply {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Tokens are per request; keys change on rotation (the service caches them itself).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Serves one request and logs it.
pub(crate) async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (mut reply, sub) = match route(&ctx, req).await {
        Ok((reply, sub)) => (reply, sub),
        Err(fail) => (fail.reply(), None),
    };
    if let Some(origin) = origin.filter(|o| ctx.origins.allows(o)) {
        let h = reply.headers_mut();
        let value = match ctx.origins {
            Origins::Any => HeaderValue::from_static("*"),
            _ => HeaderValue::from_str(&origin).unwrap_or(HeaderValue::from_static("null")),
        };
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    ctx.log.request(&log::Request {
        method: method.as_str(),
        path: &path,
        status: reply.status().as_u16(),
        latency: started.elapsed(),
        sub: sub.as_deref(),
    });
    Ok(reply)
}

/// The endpoints, with the method each takes.
const ROUTES: [(&str, &str); 6] = [
    ("/.well-known/jwks.json", "GET, HEAD"),
    ("/api/auth/keys", "GET, HEAD"),
    ("/.well-known/openid-configuration", "GET, HEAD"),
    ("/api/auth/token", "GET"),
    ("/token", "POST"),
    ("/healthz", "GET, HEAD"),
];

/// Refuses a request for a host name a loopback server does not serve, and one from a
/// browser origin that is not allowed (preflights are answered by [`preflight`]).
fn admit(ctx: &Ctx, req: &Request<Incoming>) -> Result<(), Fail> {
    if req.headers().get_all(header::HOST).iter().count() > 1 {
        return Err(Fail::bad("the request has two Host headers", "send one"));
    }
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}"));
    // An absolute-form request line (`GET http://name/…`) names the host too.
    let named = req.uri().authority().map(|a| a.as_str());
    if let Some(name) = named.filter(|n| !ctx.hosts.allows(Some(n))) {
        return Err(Fail::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "requests for host \"{}\" are not served",
                name.escape_debug()
            ),
            Some("call it as localhost, 127.0.0.1 or host.docker.internal".into()),
        ));
    }
    if !ctx.hosts.allows(host) {
        return Err(Fail::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "requests for host \"{}\" are not served (a web page whose name resolves to this server must not read tokens)",
                host.unwrap_or_default().escape_debug()
            ),
            Some("call it as localhost, 127.0.0.1 or host.docker.internal (with --host 0.0.0.0 also by IP address or a one-label name such as a compose service); pass --allowed-host NAME for another name".into()),
        ));
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if req.method() != Method::OPTIONS
        && let Some(origin) = origin.filter(|o| !ctx.origins.allows(o))
    {
        // A page of another origin: refused outright, no token is made for it.
        return Err(origin_refused(ctx, origin));
    }
    Ok(())
}

async fn route(ctx: &Ctx, req: Request<Incoming>) -> Result<(Reply, Option<String>), Fail> {
    admit(ctx, &req)?;
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}"));
    let path = req.uri().path();
    let Some((_, allowed)) = ROUTES.iter().find(|(p, _)| *p == path) else {
        let list: Vec<&str> = ROUTES.iter().map(|(p, _)| *p).collect();
        return Err(Fail::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint `{}`", path.escape_debug()),
            Some(format!("the endpoints: {}", list.join(", "))),
        ));
    };
    let method = req.method();
    if method == Method::OPTIONS {
        return preflight(ctx, &req, allowed).map(|r| (r, None));
    }
    if !allowed.split(", ").any(|m| m == method.as_str()) {
        let mut reply = Fail::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("`{path}` takes {allowed}, not {method}"),
            Some(format!("use {allowed}")),
        )
        .reply();
        reply.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_str(allowed).unwrap_or(HeaderValue::from_static("GET")),
        );
        return Ok((reply, None));
    }
    let keys = ctx.current.get();
    match path {
        "/api/auth/token" => {
            let ask = query_ask(req.uri().query())?;
            grant(ctx, &keys, ask)
        }
        "/token" => {
            let body = read_body(req).await?;
            grant(ctx, &keys, body_ask(&body)?)
        }
        "/.well-known/openid-configuration" => Ok((discovery(ctx, &keys, host), None)),
        "/healthz" => {
            // `stale`: the files changed and do not load; the keys before are served.
            let stale = ctx.current.stale();
            let status = if stale.is_some() { "stale" } else { "ok" };
            let body = json!({"status": status, "kid": keys.minter.kid(), "alg": keys.minter.alg().as_str(), "published": keys.published, "reload_error": stale});
            Ok((json_reply(StatusCode::OK, body.to_string().into()), None))
        }
        _ => Ok((json_reply(StatusCode::OK, keys.jwks.clone()), None)),
    }
}

/// The refusal of a browser origin the server does not serve.
fn origin_refused(ctx: &Ctx, origin: &str) -> Fail {
    Fail::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "origin \"{}\" is not allowed (allowed: {})",
            origin.escape_debug(),
            ctx.origins.describe()
        ),
        Some("start pskeys serve with --cors-origin ORIGIN".into()),
    )
}

/// A CORS preflight: allowed for the origins the server serves, with the methods of the
/// endpoint and the headers asked for.
fn preflight(ctx: &Ctx, req: &Request<Incoming>, allowed: &str) -> Result<Reply, Fail> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if !origin.is_some_and(|o| ctx.origins.allows(o)) {
        return Err(origin_refused(ctx, origin.unwrap_or_default()));
    }
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    let methods = format!("{allowed}, OPTIONS");
    if let Ok(v) = HeaderValue::from_str(&methods) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
    }
    // The headers asked for, when they are header names (Content-Type, Authorization…).
    if let Some(asked) = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| {
            v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_, ".contains(b))
        })
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    Ok(r)
}

/// What a token request asks for.
#[derive(Debug, Default)]
struct Ask {
    sub: String,
    lifetime: Option<u64>,
    parameters: Option<J>,
    claims: Map<String, J>,
    aud: Vec<String>,
}

/// `?user_id=ID[&expires_in=DURATION]` (other parameters are ignored, as cache busters).
fn query_ask(query: Option<&str>) -> Result<Ask, Fail> {
    let mut ask = Ask::default();
    let mut user = None;
    let mut seen = Vec::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if value.contains('\u{fffd}') {
            return Err(Fail::bad(
                format!("`{name}` is not UTF-8 text"),
                "percent-encode the UTF-8 bytes of the value",
            ));
        }
        match name.as_ref() {
            "user_id" | "sub" if user.is_some() => {
                return Err(Fail::bad("the user id is given twice", "pass one user_id"));
            }
            "user_id" | "sub" => user = Some(value.into_owned()),
            "expires_in" | "parameters" if seen.contains(&name) => {
                return Err(Fail::bad(
                    format!("`{name}` is given twice"),
                    "pass it once",
                ));
            }
            "expires_in" => {
                ask.lifetime = Some(lifetime(&J::String(value.into_owned()))?);
                seen.push(name);
            }
            "parameters" => {
                seen.push(name.clone());
                let p: J = serde_json::from_str(&value).map_err(|_| {
                    Fail::bad(
                        "`parameters` is not JSON",
                        r#"pass a JSON object, e.g. parameters={"team":"a"} (percent-encoded)"#,
                    )
                })?;
                ask.parameters = Some(p);
            }
            // Cache busters (`_=1700000000`) are ignored.
            n if n.starts_with('_') => {}
            n => {
                return Err(Fail::bad(
                    format!("unknown query parameter `{}`", n.escape_debug()),
                    "GET takes user_id, expires_in and parameters; POST /token takes a JSON body with aud and claims too",
                ));
            }
        }
    }
    ask.sub = user.ok_or_else(|| {
        Fail::bad(
            "`user_id` is missing",
            "GET /api/auth/token?user_id=user-1 (the `sub` that sync rules see as request.user_id())",
        )
    })?;
    Ok(ask)
}

/// The body of `POST /token`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    sub: Option<J>,
    user_id: Option<J>,
    parameters: Option<J>,
    claims: Option<J>,
    expires_in: Option<J>,
    aud: Option<J>,
}

const BODY_EXAMPLE: &str = r#"{"sub": "user-1", "parameters": {"team": "a"}, "expires_in": "1h", "claims": {"role": "admin"}}"#;

fn body_ask(body: &[u8]) -> Result<Ask, Fail> {
    // An object only (serde would also take the fields as a positional list).
    let body: J = serde_json::from_slice(body).map_err(|e| {
        Fail::bad(
            format!("the body is not JSON: {e}"),
            format!("send JSON such as {BODY_EXAMPLE}"),
        )
    })?;
    if !body.is_object() {
        return Err(Fail::bad(
            "the body is not a JSON object",
            format!("send JSON such as {BODY_EXAMPLE}"),
        ));
    }
    let body: TokenBody = serde_json::from_value(body).map_err(|e| {
        Fail::bad(
            format!("the body is not a token request: {e}"),
            format!("send JSON such as {BODY_EXAMPLE}"),
        )
    })?;
    let sub = match (body.sub, body.user_id) {
        (Some(_), Some(_)) => {
            return Err(Fail::bad(
                "the body has both `sub` and `user_id`",
                "give one of them",
            ));
        }
        (sub, user_id) => sub.or(user_id),
    };
    let sub = match sub {
        Some(J::String(s)) => s,
        Some(_) => return Err(Fail::bad("`sub` must be a string", BODY_EXAMPLE)),
        None => return Err(Fail::bad("`sub` is missing", BODY_EXAMPLE)),
    };
    let claims = match body.claims {
        None | Some(J::Null) => Map::new(),
        Some(J::Object(m)) => m,
        Some(_) => return Err(Fail::bad("`claims` must be an object", BODY_EXAMPLE)),
    };
    if body.parameters.is_some() && claims.contains_key("parameters") {
        return Err(Fail::bad(
            "`parameters` is given twice (at the top and in `claims`)",
            "give it once",
        ));
    }
    let aud = match body.aud {
        None => Vec::new(),
        Some(J::String(a)) => vec![a],
        Some(J::Array(list)) if list.is_empty() => {
            return Err(Fail::bad(
                "`aud` is an empty list",
                "leave it out to use the config's audiences",
            ));
        }
        Some(J::Array(list)) if list.iter().all(J::is_string) => list
            .into_iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        Some(_) => {
            return Err(Fail::bad(
                "`aud` must be a string or a list of strings",
                "leave it out to use the config's audiences",
            ));
        }
    };
    Ok(Ask {
        sub,
        lifetime: body.expires_in.as_ref().map(lifetime).transpose()?,
        parameters: body.parameters,
        claims,
        aud,
    })
}

/// `expires_in`: seconds, or a duration such as `15m` (the minter applies the 24 h cap,
/// with the service's code).
fn lifetime(v: &J) -> Result<u64, Fail> {
    let bad = || {
        Fail::bad(
            "`expires_in` is not a duration",
            "seconds (3600) or a duration such as 90s, 15m, 12h",
        )
    };
    match v {
        J::Number(n) => n.as_u64().ok_or_else(bad),
        J::String(s) => match s.trim().parse::<u64>() {
            Ok(n) => Ok(n),
            Err(_) => humantime::parse_duration(s.trim())
                .map(|d| d.as_secs())
                .map_err(|_| bad()),
        },
        _ => Err(bad()),
    }
}

/// Reads a request body: at most [`BODY_LIMIT`] bytes within [`BODY_TIMEOUT`].
async fn read_body(req: Request<Incoming>) -> Result<Bytes, Fail> {
    let too_big = || {
        Fail::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {BODY_LIMIT} bytes"),
            Some("a token request is a small JSON object".into()),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_big());
    }
    let body = Limited::new(req.into_body(), BODY_LIMIT);
    match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Err(_) => Err(Fail::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!(
                "the body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ),
            None,
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_big()),
        Ok(Err(e)) => Err(Fail::bad(
            format!("the body could not be read: {e}"),
            "send it again",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Mints the token asked for with the same rules as `pskeys mint`: nothing the service
/// would reject is issued.
fn grant(ctx: &Ctx, keys: &Keys, ask: Ask) -> Result<(Reply, Option<String>), Fail> {
    if ask.sub.is_empty() {
        return Err(Fail::bad("the user id is empty", "pass one, e.g. user-1"));
    }
    if ask.sub.len() > crate::cmd::batch::MAX_SUBJECT {
        return Err(Fail::bad(
            format!(
                "the user id is longer than {} bytes",
                crate::cmd::batch::MAX_SUBJECT
            ),
            "a user id is a short identifier; a token carries it in every request's header",
        ));
    }
    let text = |what: &str, v: &str| {
        crate::cmd::check_text(what, v).map_err(|e| Fail::from_error(StatusCode::BAD_REQUEST, &e))
    };
    text("the user id", &ask.sub)?;
    for a in &ask.aud {
        text("`aud`", a)?;
    }
    let mut spec = TokenSpec::new(ask.sub).lifetime(ask.lifetime.unwrap_or(ctx.lifetime));
    spec.audiences = ask.aud;
    spec.claims = ask.claims;
    if let Some(p) = ask.parameters {
        spec.claims.insert("parameters".into(), p);
    }
    let minted = keys.minter.mint(&spec, crate::now()).map_err(|e| {
        let hint = request_hint(&e, keys);
        let err = Error::from(e);
        let status = match err.kind() {
            "key" | "io" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut fail = Fail::from_error(status, &err);
        if let (Some(hint), Some(e)) = (hint, fail.body.get_mut("error")) {
            e["hint"] = hint.into();
        }
        fail
    })?;
    let body = json!({
        "token": minted.token,
        "endpoint": keys.endpoint,
        "powersync_url": keys.endpoint,
        "expires_at": rfc3339(minted.expires_at),
        "expires_in": spec.lifetime,
    });
    Ok((
        json_reply(StatusCode::OK, body.to_string().into()),
        Some(spec.sub),
    ))
}

/// What to change in the request (the CLI's hints name `mint`'s flags).
fn request_hint(e: &MintError, keys: &Keys) -> Option<String> {
    use crate::service::verify::Code;
    Some(match e {
        MintError::ZeroLifetime => "`expires_in` must be at least 1 s".to_string(),
        MintError::ReservedClaim(c) => {
            format!("`claims` cannot set `{c}`: use the request's `sub`, `aud` and `expires_in`")
        }
        MintError::Rejected(r) if r.code == Code::S2104 => {
            "ask for an `expires_in` of 24h (86400 s) or less".to_string()
        }
        MintError::Rejected(r) if r.code == Code::S2105 => format!(
            "leave `aud` out (the config's audiences), or use one of: {}",
            keys.minter.audiences().join(", ")
        ),
        MintError::Rejected(r) if r.reason == crate::service::verify::Reason::Parameters => {
            "`parameters` must be a JSON object (or null), e.g. {\"team\": \"a\"}".to_string()
        }
        MintError::Rejected(r) if r.code == Code::S2101 => {
            "a `nbf` claim must be a number of unix seconds, not in the future".to_string()
        }
        _ => return None,
    })
}

/// OpenID discovery: issuer and `jwks_uri` at the name the caller used.
fn discovery(ctx: &Ctx, keys: &Keys, host: Option<&str>) -> Reply {
    let base = host
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .map_or_else(|| ctx.base_url.clone(), |h| format!("http://{h}"));
    let body = json!({
        "issuer": base,
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": keys.algs,
        "subject_types_supported": ["public"],
        "response_types_supported": ["id_token"],
    });
    json_reply(StatusCode::OK, body.to_string().into())
}
