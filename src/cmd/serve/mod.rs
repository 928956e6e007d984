//! `pskeys serve`: the local auth backend for PowerSync development. The JWKS of the keys
//! `init` wrote (for a `jwks_uri`), OpenID discovery, and token endpoints whose answer
//! `fetchCredentials()` returns as is; reloaded when the config or `.env` changes.
//!
//! hyper 1 on a multi-threaded tokio runtime, HTTP/1.1 with keep-alive. The runtime
//! exists only in this command: every other command starts as before.

mod deadline;
mod guard;
mod log;
mod routes;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::cli::{Files, ServeArgs};
use crate::error::{Error, Result};
use guard::Origins;
use log::Log;
use routes::Ctx;
use state::{Current, Keys};

/// How often the config and `.env` are checked for changes.
const RELOAD_EVERY: Duration = Duration::from_millis(250);
/// How long a client may take to send a request's headers (also the idle time of a
/// kept-alive connection before its next request).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a request's headers may hold.
const HEADER_LIMIT: usize = 64 * 1024;
/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 4096;
/// How long requests in flight get to finish after SIGINT/SIGTERM.
const GRACE: Duration = Duration::from_secs(10);

/// Runs `serve`.
pub fn run(args: ServeArgs) -> Result<()> {
    if let Some(url) = &args.endpoint {
        crate::cmd::check_url("--endpoint", url, "--endpoint http://localhost:8080")?;
    }
    let origins = Origins::parse(&args.cors_origins)?;
    // The keys load before anything listens: a project `mint` refuses is refused here.
    let keys = state::load(&args.files, args.endpoint.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pskeys-serve")
        .build()
        .map_err(|e| Error::usage(format!("cannot start the server: {e}"), None))?;
    let (log, writer) = log::start(args.json, args.quiet);
    let result = runtime.block_on(serve(args, origins, keys, log));
    runtime.shutdown_timeout(Duration::from_secs(1));
    writer.finish();
    result
}

async fn serve(args: ServeArgs, origins: Origins, keys: Keys, log: Log) -> Result<()> {
    let addr = SocketAddr::new(args.host, args.port);
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        Error::usage(
            format!("cannot listen on {addr}: {e}"),
            "another program may use the port: pass --port N (0 picks a free one)".to_string(),
        )
    })?;
    let addr = listener.local_addr().unwrap_or(addr);
    // Signal handlers first: a SIGTERM right after the start message stops gracefully.
    let stop = stop_signal()?;
    let ctx = Arc::new(Ctx {
        origins,
        hosts: guard::Hosts::new(addr.ip().is_loopback(), &args.allowed_hosts),
        log: log.clone(),
        lifetime: args.expires_in,
        base_url: format!("http://{}", reachable(addr)),
        current: Current::new(keys),
    });
    announce(&ctx, addr, args.endpoint.is_some());
    let watcher = tokio::spawn(watch(
        Arc::clone(&ctx),
        args.files.clone(),
        args.endpoint.clone(),
    ));
    let (signal, answered) = accept(&ctx, listener, stop).await;
    watcher.abort();
    let how = if answered {
        "requests in flight were answered"
    } else {
        "without waiting for every request in flight"
    };
    log.event(
        "info",
        &format!("{signal}: stopped ({how})"),
        json!({"event": "stopped", "signal": signal, "answered": answered}),
    );
    Ok(())
}

/// Accepts connections until a stop signal; then lets the requests in flight finish (at
/// most [`GRACE`]) and returns the signal's name.
async fn accept(
    ctx: &Arc<Ctx>,
    listener: TcpListener,
    mut stop: impl Future<Output = &'static str> + Unpin,
) -> (&'static str, bool) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let signal = loop {
        let next = async {
            let slot = Arc::clone(&slots).acquire_owned().await;
            (listener.accept().await, slot)
        };
        let (accepted, slot) = tokio::select! {
            next = next => next,
            signal = &mut stop => break signal,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: wait a moment instead of spinning.
                ctx.log.event(
                    "warning",
                    &format!("accept failed: {e}"),
                    json!({"event": "accept_failed"}),
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let request_ctx = Arc::clone(ctx);
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(HEADER_LIMIT)
            .serve_connection(
                TokioIo::new(deadline::Deadline::new(stream)),
                service_fn(move |req| routes::handle(Arc::clone(&request_ctx), req)),
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    };
    drop(listener);
    ctx.log.event(
        "info",
        &format!(
            "{signal}: no new connections; finishing {} in flight",
            graceful.count()
        ),
        json!({"event": "stopping", "signal": signal, "connections": graceful.count()}),
    );
    // A second signal stops at once.
    let again = stop_signal().ok();
    let again = async move {
        match again {
            Some(s) => s.await,
            None => std::future::pending().await,
        }
    };
    let answered = tokio::select! {
        () = graceful.shutdown() => true,
        () = tokio::time::sleep(GRACE) => {
            ctx.log.event("warning", &format!("gave up waiting for connections after {} s", GRACE.as_secs()), json!({"event": "grace_expired"}));
            false
        }
        second = again => {
            ctx.log.event("warning", &format!("{second} again: stopping without waiting"), json!({"event": "stopped_early", "signal": second}));
            false
        }
    };
    (signal, answered)
}

/// The address to print for `addr`: a wildcard address is reached as loopback here.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// Resolves with the name of the first SIGINT or SIGTERM.
fn stop_signal() -> Result<std::pin::Pin<Box<dyn Future<Output = &'static str> + Send>>> {
    let fail = |e: std::io::Error| Error::usage(format!("cannot handle signals: {e}"), None);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(fail)?;
        let mut int = signal(SignalKind::interrupt()).map_err(fail)?;
        Ok(Box::pin(async move {
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        }))
    }
    #[cfg(not(unix))]
    {
        let _ = fail;
        Ok(Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }))
    }
}

/// Reloads the keys when the config or `.env` changes. A change that does not load (a
/// half-edited file, a key `mint` would refuse) is reported and the keys loaded before
/// stay in service.
async fn watch(ctx: Arc<Ctx>, files: Files, endpoint: Option<String>) {
    let (watched, mut seen) = {
        let keys = ctx.current.get();
        (keys.files.clone(), keys.stamp.clone())
    };
    let mut tick = tokio::time::interval(RELOAD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let now = state::stamp(&watched);
        if now == seen {
            continue;
        }
        seen = now;
        let (files, endpoint) = (files.clone(), endpoint.clone());
        let loaded =
            tokio::task::spawn_blocking(move || state::load(&files, endpoint.as_deref())).await;
        match loaded {
            Ok(Ok(keys)) => {
                seen = keys.stamp.clone();
                ctx.current.set_stale(None);
                for w in &keys.warnings {
                    ctx.log
                        .event("warning", w, json!({"event": "config_warning"}));
                }
                let before = ctx.current.get();
                ctx.log.event(
                    "info",
                    &format!("reloaded: {}", state::summary(&keys)),
                    json!({"event": "reloaded", "kid": keys.minter.kid(), "published": keys.published, "was": {"kid": before.minter.kid(), "published": before.published}}),
                );
                ctx.current.set(keys);
            }
            Ok(Err(e)) => {
                ctx.current.set_stale(Some(e.to_json()["error"].clone()));
                let hint = e
                    .hint()
                    .map_or_else(String::new, |h| format!(" (fix: {h})"));
                ctx.log.event(
                    "warning",
                    &format!("the changed files do not load: {e}{hint}; still serving the keys loaded before"),
                    json!({"event": "reload_failed", "error": e.to_json()["error"]}),
                );
            }
            Err(_) => {}
        }
    }
}

/// The start message: where everything is, and what to watch out for.
fn announce(ctx: &Ctx, addr: SocketAddr, endpoint_given: bool) {
    let keys = ctx.current.get();
    let url = &ctx.base_url;
    let log = &ctx.log;
    log.event(
        "info",
        &format!("listening on {url}"),
        json!({"event": "listening", "url": url, "kid": keys.minter.kid(), "alg": keys.minter.alg().as_str(), "published": keys.published, "endpoint": keys.endpoint}),
    );
    let lines = [
        format!("  {}", state::summary(&keys)),
        format!("  JWKS       {url}/.well-known/jwks.json (also /api/auth/keys)"),
        format!("  discovery  {url}/.well-known/openid-configuration"),
        format!("  token      GET  {url}/api/auth/token?user_id=user-1"),
        format!("             POST {url}/token  {{\"sub\": \"user-1\", \"parameters\": {{}}}}"),
        format!(
            "  endpoint   {} (returned with each token{})",
            keys.endpoint,
            if endpoint_given {
                ""
            } else {
                "; --endpoint to change"
            }
        ),
        format!("  CORS       {}", ctx.origins.describe()),
        "  reloads when the config or .env changes; Ctrl-C stops".to_string(),
    ];
    if !log.is_json() {
        for line in lines {
            log.event("info", &line, json!({}));
        }
    }
    for w in &keys.warnings {
        log.event("warning", w, json!({"event": "config_warning"}));
    }
    for w in cautions(&keys, addr, &ctx.origins) {
        log.event("warning", &w, json!({"event": "caution"}));
    }
}

/// What may keep the server from doing its job here.
fn cautions(keys: &Keys, addr: SocketAddr, origins: &Origins) -> Vec<String> {
    let mut out = Vec::new();
    if *origins == Origins::Any {
        out.push("--cors-origin '*': any web page you visit can get tokens for any user from this server; name your app's origin instead".to_string());
    }
    for uri in &keys.minter.store().remote.uris {
        if let Some(port) = crate::service::net::serve_jwks_port(uri)
            && port != addr.port()
        {
            out.push(format!(
                "the config's jwks_uri {uri} names port {port}, but this server listens on {}: the service will not find the keys here; start with --port {port}",
                addr.port()
            ));
        }
    }
    if keys.published.is_empty() {
        out.push(format!(
            "the JWKS is empty: `{}` is an HMAC key and secrets are never published; tokens work with the config's own key, but for a `jwks_uri` add an asymmetric key: pskeys init --rotate --alg ES256",
            keys.minter.kid()
        ));
    }
    if !addr.ip().is_loopback() {
        out.push(format!(
            "listening on {}: anyone who reaches this address gets tokens for any user; use it only on a network you trust",
            SocketAddr::new(addr.ip(), addr.port())
        ));
    }
    let docker = keys
        .minter
        .store()
        .remote
        .uris
        .iter()
        .any(|u| u.contains("host.docker.internal"));
    if docker && addr.ip().is_loopback() && cfg!(target_os = "linux") {
        out.push(format!(
            "the config's jwks_uri names host.docker.internal: on Linux a container reaches this machine through the Docker bridge, not {}; start with --host 0.0.0.0 (or the docker0 address, 172.17.0.1 by default) and run the service with --add-host=host.docker.internal:host-gateway",
            addr.ip()
        ));
    }
    out
}
