//! `pskeys serve` over real sockets: the JWKS equals `pskeys jwks`, tokens from both
//! endpoints pass the service's verifier fetching the JWKS from the running server
//! (tests/interop/verify.mjs with a `jwks_uri` config), rotation while running, CORS,
//! refusals as JSON with their status, and a graceful stop with a request in flight.

#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Project, node_verify};
use serde_json::{Value, json};

/// A running `pskeys serve --port 0` and everything it wrote on stderr.
struct Server {
    child: Child,
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(p: &Project, args: &[&str]) -> Server {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pskeys"))
            .current_dir(p.dir.path())
            .args(["serve", "--port", "0"])
            .args(args)
            .env_remove("PSKEYS_KID")
            .env_remove("PSKEYS_PRIVATE_KEY")
            .env_remove("PSKEYS_ALG")
            .env_remove("POWERSYNC_CONFIG_PATH")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v["event"] == "listening" {
                        let url = v["url"].as_str().unwrap();
                        let _ = tx.send(url.trim_start_matches("http://").to_string());
                    }
                } else if let Some(addr) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(addr.to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve did not start:\n{}", log.lock().unwrap().join("\n")));
        Server { child, addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn get(&self, path: &str) -> Reply {
        self.request(
            &format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", self.addr),
            b"",
        )
    }

    fn post(&self, path: &str, body: &str) -> Reply {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        self.request(&head, body.as_bytes())
    }

    /// Sends `head` (request line and headers, without the blank line) and `body` on a new
    /// connection, closed after the answer.
    fn request(&self, head: &str, body: &[u8]) -> Reply {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(b"Connection: close\r\n\r\n").unwrap();
        s.write_all(body).unwrap();
        read_reply(&mut s)
    }

    /// Waits (polling, at most 30 s) until `healthz` says `cond`.
    fn wait_for(&self, what: &str, cond: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = self.get("/healthz").json();
            if cond(&health) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no reload ({what}): {health}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then the exit status (at most 30 s).
    fn stop(self) -> (std::process::ExitStatus, String) {
        signal(&self.child, "TERM");
        self.stop_after_signal()
    }

    /// The exit status (at most 30 s) and the whole log, once a signal was sent.
    fn stop_after_signal(mut self) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.log());
            }
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one HTTP/1.1 answer (the server always sends a Content-Length).
fn read_reply(s: &mut TcpStream) -> Reply {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

fn project(alg: &str) -> Project {
    let p = Project::new();
    p.ok(&["init", "--alg", alg]);
    p
}

/// A config with no key of its own: only `jwks_uri` at the server, so a token verifies
/// only with a key fetched from it.
fn remote_config(p: &Project, server: &Server) {
    let config = p.read("powersync.yaml");
    let head = &config[..config.find("\nclient_auth:").unwrap()];
    p.write(
        "remote.yaml",
        format!(
            "{head}\nclient_auth:\n  jwks_uri: {}\n  audience: [powersync-dev, powersync]\n",
            server.url("/.well-known/jwks.json")
        ),
    );
}

/// The service's verdicts with the keys it fetches from the server (the remote config
/// reads no variable from `.env`).
fn verify_remote(p: &Project, tokens: &[String]) -> Vec<Value> {
    node_verify(p, "remote.yaml", None, tokens)
}

fn token_of(reply: &Reply) -> String {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["token"].as_str().unwrap().to_string()
}

#[test]
fn jwks_equals_pskeys_jwks_and_tokens_verify_through_it() {
    for alg in ["ES256", "RS256", "EdDSA"] {
        let p = project(alg);
        let server = Server::start(&p, &[]);
        let printed: Value = serde_json::from_str(&p.ok(&["jwks"])).unwrap();
        for path in ["/.well-known/jwks.json", "/api/auth/keys"] {
            let reply = server.get(path);
            assert_eq!(reply.status, 200);
            assert_eq!(reply.header("content-type"), Some("application/json"));
            assert_eq!(reply.json(), printed, "{alg} {path}");
        }
        remote_config(&p, &server);
        let got = server.get("/api/auth/token?user_id=user-1");
        let body = got.json();
        assert_eq!(body["endpoint"], "http://localhost:8080");
        assert_eq!(body["powersync_url"], "http://localhost:8080");
        assert_eq!(body["expires_in"], 43_200);
        assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
        let posted = server.post(
            "/token",
            r#"{"sub": "user-2", "parameters": {"team": "a"}, "expires_in": "1h", "claims": {"role": "admin"}}"#,
        );
        let tokens = [token_of(&got), token_of(&posted)];
        let verdicts = verify_remote(&p, &tokens);
        assert_eq!(verdicts[0]["ok"], true, "{alg}: {}", verdicts[0]);
        assert_eq!(verdicts[0]["sub"], "user-1");
        assert_eq!(verdicts[1]["ok"], true, "{alg}: {}", verdicts[1]);
        assert_eq!(verdicts[1]["sub"], "user-2");
        // The project's own config (static key) accepts them too, as `pskeys verify` does.
        for t in &tokens {
            p.ok(&["verify", t]);
        }
        let claims: Value = serde_json::from_str(&p.ok(&["decode", &tokens[1], "--json"])).unwrap();
        assert_eq!(claims["claims"]["parameters"], json!({"team": "a"}));
        assert_eq!(claims["claims"]["role"], "admin");
        let c = &claims["claims"];
        assert_eq!(
            c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
            3600
        );
        let (status, log) = server.stop();
        assert!(status.success(), "{log}");
        // One line per request with the subject; never a token.
        assert!(log.contains("GET /api/auth/token 200"), "{log}");
        assert!(log.contains("sub=\"user-2\""), "{log}");
        for t in &tokens {
            assert!(!log.contains(&t[t.len() - 20..]), "{log}");
        }
    }
}

#[test]
fn discovery_and_health() {
    let p = project("ES256");
    let server = Server::start(&p, &["--endpoint", "http://localhost:9000"]);
    let d = server.get("/.well-known/openid-configuration").json();
    assert_eq!(d["issuer"], server.url(""));
    assert_eq!(d["jwks_uri"], server.url("/.well-known/jwks.json"));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["ES256"]));
    // The name the caller used: a container asks for host.docker.internal.
    let reply = server.request(
        "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: host.docker.internal:6060\r\n",
        b"",
    );
    assert_eq!(
        reply.json()["jwks_uri"],
        "http://host.docker.internal:6060/.well-known/jwks.json"
    );
    let h = server.get("/healthz").json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["alg"], "ES256");
    let t = server.get("/api/auth/token?user_id=u").json();
    assert_eq!(t["endpoint"], "http://localhost:9000");
}

#[test]
fn rotation_while_running_then_retirement() {
    let p = project("ES256");
    let server = Server::start(&p, &[]);
    remote_config(&p, &server);
    let old_kid = server.get("/healthz").json()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let old = token_of(&server.get("/api/auth/token?user_id=before"));
    p.ok(&["init", "--rotate"]);
    server.wait_for("rotation", |h| h["kid"] != old_kid.as_str());
    let new_kid = server.get("/healthz").json()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let jwks = server.get("/.well-known/jwks.json").json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );
    assert_eq!(
        jwks,
        serde_json::from_str::<Value>(&p.ok(&["jwks"])).unwrap()
    );
    let new = token_of(&server.post("/token", r#"{"sub": "after"}"#));
    let verdicts = verify_remote(&p, &[old.clone(), new.clone()]);
    assert!(verdicts.iter().all(|v| v["ok"] == true), "{verdicts:?}");
    assert_eq!(verdicts[1]["kid"], new_kid.as_str());

    p.ok(&["keys", "retire", &old_kid]);
    server.wait_for("retirement", |h| {
        !h["published"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == old_kid.as_str())
    });
    let verdicts = verify_remote(&p, &[old, new]);
    assert_eq!(verdicts[0]["ok"], false, "{verdicts:?}");
    assert_eq!(verdicts[0]["code"], "PSYNC_S2101");
    assert_eq!(verdicts[1]["ok"], true, "{verdicts:?}");
    assert!(
        server.log().contains("reloaded: signing with"),
        "{}",
        server.log()
    );
}

#[test]
fn a_change_that_does_not_load_keeps_the_old_keys() {
    let p = project("ES256");
    let server = Server::start(&p, &["--json"]);
    let config = p.read("powersync.yaml");
    p.write("powersync.yaml", format!("{config}\n  broken: [\n"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log().contains("reload_failed") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.get("/api/auth/token?user_id=u").status, 200);
    let health = server.get("/healthz").json();
    assert_eq!(health["status"], "stale", "{health}");
    // (`kind` is `config` for the broken line, or another if a reload caught the file
    // half-written: `fs::write` truncates first.)
    assert!(health["reload_error"]["message"].is_string(), "{health}");
    // JSON logs: every line is an object.
    for line in server.log().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["time"].is_string(), "{line}");
    }
    p.write("powersync.yaml", config);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log().contains("\"event\":\"reloaded\"") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.get("/healthz").json()["status"], "ok");
}

#[test]
fn refusals_are_json_with_their_status_and_code() {
    let p = project("ES256");
    let server = Server::start(&p, &[]);
    let cases: Vec<(Reply, u16, &str, Option<&str>)> = vec![
        (server.get("/api/auth/token"), 400, "usage", None),
        (server.get("/api/auth/token?user_id="), 400, "usage", None),
        (
            server.get("/api/auth/token?user_id=a%0Ab"),
            400,
            "usage",
            None,
        ),
        (
            server.get("/api/auth/token?user_id=u&expires_in=2d"),
            400,
            "rejected",
            Some("PSYNC_S2104"),
        ),
        (
            server.get("/api/auth/token?user_id=u&expires_in=soon"),
            400,
            "usage",
            None,
        ),
        (
            server.get("/api/auth/token?user_id=u&aud=other"),
            400,
            "usage",
            None,
        ),
        (
            server.get("/api/auth/token?user_id=u&parameters=%5B1"),
            400,
            "usage",
            None,
        ),
        (
            server.post("/token", r#"{"sub": "a", "user_id": "b"}"#),
            400,
            "usage",
            None,
        ),
        (
            server.post("/token", r#"{"sub": "a", "aud": []}"#),
            400,
            "usage",
            None,
        ),
        (server.post("/token", "{not json"), 400, "usage", None),
        (server.post("/token", "[]"), 400, "usage", None),
        (server.post("/token", r#"{"sub": 5}"#), 400, "usage", None),
        (
            server.post("/token", r#"{"sub": "u", "typo": 1}"#),
            400,
            "usage",
            None,
        ),
        (
            server.post("/token", r#"{"sub": "u", "aud": "elsewhere"}"#),
            400,
            "rejected",
            Some("PSYNC_S2105"),
        ),
        (
            server.post("/token", r#"{"sub": "u", "parameters": [1]}"#),
            400,
            "rejected",
            Some("PSYNC_S2101"),
        ),
        (
            server.post("/token", r#"{"sub": "u", "claims": {"exp": 1}}"#),
            400,
            "mint",
            None,
        ),
        (
            server.post("/token", r#"{"sub": "u", "expires_in": 0}"#),
            400,
            "mint",
            None,
        ),
        (
            server.post("/token", &format!(r#"{{"sub": "{}"}}"#, "x".repeat(70_000))),
            413,
            "too_large",
            None,
        ),
        (server.get("/token"), 405, "method_not_allowed", None),
        (
            server.post("/.well-known/jwks.json", "{}"),
            405,
            "method_not_allowed",
            None,
        ),
        (server.get("/nowhere"), 404, "not_found", None),
        (
            server.request(
                "GET /healthz HTTP/1.1\r\nHost: attacker.example:6060\r\n",
                b"",
            ),
            403,
            "forbidden",
            None,
        ),
    ];
    for (reply, status, kind, code) in cases {
        let body = reply.json();
        assert_eq!(reply.status, status, "{body}");
        assert_eq!(body["error"]["status"], status, "{body}");
        assert_eq!(body["error"]["kind"], kind, "{body}");
        assert_eq!(body["error"]["code"].as_str(), code, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().len() > 5,
            "{body}"
        );
        assert!(body["error"]["hint"].is_string(), "{body}");
    }
    assert_eq!(server.get("/token").header("allow"), Some("POST"));
    // Hints name the request's fields, not mint's flags.
    let hint = |r: Reply| r.json()["error"]["hint"].as_str().unwrap().to_string();
    assert!(hint(server.get("/api/auth/token?user_id=u&expires_in=2d")).contains("`expires_in`"));
    let aud = hint(server.post("/token", r#"{"sub": "u", "aud": "x"}"#));
    assert!(
        aud.contains("powersync-dev") && !aud.contains("--aud"),
        "{aud}"
    );
    assert!(
        hint(server.post("/token", r#"{"sub": "u", "claims": {"exp": 1}}"#))
            .contains("`claims` cannot set `exp`")
    );
    let params = hint(server.post("/token", r#"{"sub": "u", "parameters": 5}"#));
    assert!(
        params.contains("`parameters`") && !params.contains("nbf"),
        "{params}"
    );
    // Cache busters are ignored; `parameters` may come in the query.
    let t = token_of(
        &server.get("/api/auth/token?user_id=u&_=17&parameters=%7B%22team%22%3A%22a%22%7D"),
    );
    let c: Value = serde_json::from_str(&p.ok(&["decode", &t, "--json"])).unwrap();
    assert_eq!(c["claims"]["parameters"], json!({"team": "a"}));
    // Chunked bodies over the limit stop at the limit too.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    write!(s, "POST /token HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", server.addr).unwrap();
    let chunk = "x".repeat(16 * 1024);
    for _ in 0..5 {
        let _ = write!(s, "{:x}\r\n{chunk}\r\n", chunk.len());
    }
    let _ = write!(s, "0\r\n\r\n");
    assert_eq!(read_reply(&mut s).status, 413);
    // Still serving.
    assert_eq!(server.get("/api/auth/token?user_id=u").status, 200);
}

#[test]
fn cors_for_local_origins_and_configured_ones() {
    let p = project("ES256");
    let server = Server::start(&p, &[]);
    let preflight = |origin: &str| {
        server.request(
            &format!("OPTIONS /token HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n", server.addr),
            b"",
        )
    };
    let ok = preflight("http://localhost:5173");
    assert_eq!(ok.status, 204);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(
        ok.header("access-control-allow-methods"),
        Some("POST, OPTIONS")
    );
    assert_eq!(
        ok.header("access-control-allow-headers"),
        Some("content-type")
    );
    let denied = preflight("https://evil.example");
    assert_eq!(denied.status, 403);
    assert_eq!(denied.header("access-control-allow-origin"), None);
    // A page of another origin gets no token at all.
    let other = server.request(
        &format!("GET /api/auth/token?user_id=u HTTP/1.1\r\nHost: {}\r\nOrigin: https://evil.example\r\n", server.addr),
        b"",
    );
    assert_eq!(other.status, 403);
    assert!(!String::from_utf8_lossy(&other.body).contains("token\""));
    assert_eq!(other.header("access-control-allow-origin"), None);
    let get = server.request(
        &format!("GET /api/auth/token?user_id=u HTTP/1.1\r\nHost: {}\r\nOrigin: http://127.0.0.1:3000\r\n", server.addr),
        b"",
    );
    assert_eq!(
        get.header("access-control-allow-origin"),
        Some("http://127.0.0.1:3000")
    );
    assert_eq!(get.header("vary"), Some("Origin"));
    drop(server);

    let server = Server::start(&p, &["--cors-origin", "https://app.example.com"]);
    let reply = server.request(
        &format!("OPTIONS /token HTTP/1.1\r\nHost: {}\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\n", server.addr),
        b"",
    );
    assert_eq!(reply.status, 204);
    let reply = server.request(
        &format!("OPTIONS /token HTTP/1.1\r\nHost: {}\r\nOrigin: http://localhost:5173\r\nAccess-Control-Request-Method: POST\r\n", server.addr),
        b"",
    );
    assert_eq!(reply.status, 403);
}

#[test]
fn stop_answers_the_request_in_flight() {
    let p = project("ES256");
    let server = Server::start(&p, &[]);
    let body = r#"{"sub": "in-flight"}"#;
    let mut s = TcpStream::connect(&server.addr).unwrap();
    write!(
        s,
        "POST /token HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n{}",
        server.addr,
        body.len(),
        &body[..5]
    )
    .unwrap();
    // The request has begun (headers in): wait until the server logs nothing yet but the
    // connection is open, then stop.
    std::thread::sleep(Duration::from_millis(200));
    signal(&server.child, "TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log().contains("no new connections") {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    // New connections are refused once it stops listening.
    assert!(TcpStream::connect(&server.addr).is_err());
    s.write_all(&body.as_bytes()[5..]).unwrap();
    let reply = read_reply(&mut s);
    assert_eq!(reply.status, 200);
    assert!(reply.json()["token"].is_string());
    let (status, log) = server.stop_after_signal();
    assert!(status.success(), "{log}");
    assert!(log.contains("SIGTERM: stopped"), "{log}");
}

#[test]
fn hmac_only_serves_tokens_and_an_empty_jwks() {
    let p = project("HS256");
    let server = Server::start(&p, &[]);
    assert_eq!(
        server.get("/.well-known/jwks.json").json(),
        json!({"keys": []})
    );
    let token = token_of(&server.get("/api/auth/token?user_id=u"));
    p.ok(&["verify", &token]);
    assert_eq!(
        node_verify(&p, "powersync.yaml", None, &[token])[0]["ok"],
        true
    );
    let (_, log) = server.stop();
    assert!(log.contains("the JWKS is empty"), "{log}");
    assert!(log.contains("pskeys init --rotate --alg ES256"), "{log}");
    // The secret is nowhere in the log.
    let env = p.read(".env");
    let secret = env
        .lines()
        .find_map(|l| l.strip_prefix("PS_CLIENT_AUTH_KEY="))
        .unwrap()
        .trim_matches('"');
    assert!(!log.contains(&secret[..16]));
}

#[test]
fn start_refusals() {
    let p = Project::new();
    p.write("powersync.yaml", "client_auth:\n  audience: [a]\n");
    let out = p.run(&["serve", "--port", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signing key"));
    let p = project("ES256");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = p.run(&["serve", "--port", &port, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot listen")
    );
    let out = p.run(&["serve", "--cors-origin", "localhost:3000"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn start_cautions() {
    let p = Project::new();
    p.ok(&["init", "--serve=7001"]);
    let server = Server::start(&p, &["--cors-origin", "*"]);
    // A subject cannot forge a log line.
    let forged = server.get("/api/auth/token?user_id=a%20b%22c%20sub%3Dadmin");
    assert_eq!(forged.status, 200);
    assert_eq!(server.get("/x%22sub=%22admin%22").status, 404);
    let (_, log) = server.stop();
    // A path that looks like a field is quoted.
    assert!(log.contains(r#"GET "/x%22sub=%22admin%22" 404"#), "{log}");
    assert!(log.contains("names port 7001"), "{log}");
    assert!(log.contains("--cors-origin '*'"), "{log}");
    assert!(log.contains(r#"sub="a b\"c sub=admin""#), "{log}");
    let server = Server::start(&p, &["--host", "0.0.0.0"]);
    assert!(server.addr.starts_with("127.0.0.1:"), "{}", server.addr);
    let (_, log) = server.stop();
    assert!(log.contains("anyone who reaches this address"), "{log}");
}

#[test]
fn forged_requests_are_refused() {
    let p = project("ES256");
    let server = Server::start(&p, &[]);
    let long = "x".repeat(4097);
    let status = |r: Reply| r.status;
    assert_eq!(
        status(server.get(&format!("/api/auth/token?user_id={long}"))),
        400
    );
    assert_eq!(
        status(server.post("/token", &format!(r#"{{"sub": "{long}"}}"#))),
        400
    );
    assert_eq!(
        status(server.post("/token", r#"["admin", null, {"team": "x"}]"#)),
        400
    );
    assert_eq!(
        status(server.get("/api/auth/token?user_id=u&expires_in=1h&expires_in=2h")),
        400
    );
    assert_eq!(
        status(server.get("/api/auth/token?user_id=a%E2%80%8Bb")),
        400
    );
    for head in [
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.com\r\n".to_string(),
        "GET http://evil.com/healthz HTTP/1.1\r\nHost: localhost\r\n".to_string(),
        "GET /healthz HTTP/1.1\r\nHost: localhost:abc@evil.com\r\n".to_string(),
        "GET /healthz HTTP/1.1\r\nHost: evil.com/.localhost\r\n".to_string(),
    ] {
        let r = server.request(&head, b"");
        assert!(matches!(r.status, 400 | 403), "{head}: {}", r.status);
    }
    assert_eq!(status(server.get("/healthz")), 200);
}

#[test]
fn responses_and_log_lines_match_their_schemas() {
    let p = project("ES256");
    let server = Server::start(&p, &["--json"]);
    let mut pairs: Vec<(&str, Value)> = vec![
        (
            "serve-token",
            server.get("/api/auth/token?user_id=u").json(),
        ),
        (
            "serve-token",
            server
                .post(
                    "/token",
                    r#"{"sub": "u", "parameters": {"t": 1}, "expires_in": "1h"}"#,
                )
                .json(),
        ),
        ("serve-health", server.get("/healthz").json()),
        ("jwks", server.get("/.well-known/jwks.json").json()),
        ("error", server.get("/api/auth/token").json()),
        (
            "error",
            server
                .post("/token", r#"{"sub": "u", "aud": "other"}"#)
                .json(),
        ),
        ("error", server.get("/nowhere").json()),
    ];
    // A reload that fails: healthz says stale, the log says why.
    let env = p.read(".env");
    p.write(".env", format!("{env}PSKEYS_KID=nope\n"));
    server.wait_for("stale", |h| h["status"] == "stale");
    pairs.push(("serve-health", server.get("/healthz").json()));
    let (_, log) = server.stop();
    for line in log.lines() {
        pairs.push(("serve-log", serde_json::from_str(line).unwrap()));
    }
    assert!(
        pairs.iter().any(|(_, v)| v["event"] == "reload_failed"),
        "{log}"
    );
    common::schema_check(&pairs);
}

#[test]
fn on_every_interface_public_names_are_still_refused() {
    let p = project("ES256");
    let server = Server::start(
        &p,
        &["--host", "0.0.0.0", "--allowed-host", "devbox.example.com"],
    );
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    let with_host = |host: &str| {
        server
            .request(
                &format!("GET /api/auth/token?user_id=u HTTP/1.1\r\nHost: {host}:{port}\r\n"),
                b"",
            )
            .status
    };
    // DNS rebinding: a page whose own name now resolves here gets no token.
    assert_eq!(with_host("rebind.attacker.example"), 403);
    // The names a container, another machine or the user's own DNS name use.
    for ok in [
        "pskeys",
        "192.168.1.20",
        "localhost",
        "devbox.example.com",
        "box.lan",
    ] {
        assert_eq!(with_host(ok), 200, "{ok}");
    }
}
