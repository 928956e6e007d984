//! `init --serve` points a config at `pskeys serve` where the service reaches it, and
//! `doctor` warns about a `jwks_uri` the service cannot fetch: localhost from a container,
//! a local name under `jwks_reject_ip_ranges: [local]`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed assertion

mod common;

use common::{Project, node_config_check};
use serde_json::Value;

const COMPOSE: &str = "services:\n  powersync:\n    image: journeyapps/powersync-service:latest\n";

fn doctor(p: &Project, dir: &str) -> Vec<Value> {
    let out = p
        .cmd(&["doctor", "--json"])
        .current_dir(p.path(dir))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"].as_array().unwrap().clone()
}

fn ids(findings: &[Value]) -> Vec<&str> {
    findings.iter().map(|f| f["id"].as_str().unwrap()).collect()
}

#[test]
fn serve_on_the_host_and_in_a_container() {
    // No compose file: the service runs here, the JWKS is at 127.0.0.1.
    let p = Project::new();
    p.ok(&["init", "--serve"]);
    let config = p.read("powersync.yaml");
    assert!(
        config.contains("jwks_uri: 'http://127.0.0.1:6060/.well-known/jwks.json'"),
        "{config}"
    );
    assert!(
        config.contains("alg: 'ES256'"),
        "an asymmetric key by default"
    );
    // Again: nothing changes.
    let before = p.snapshot_files();
    p.ok(&["init", "--serve"]);
    assert_eq!(before, p.snapshot_files());
    assert!(ids(&doctor(&p, ".")).is_empty());
    // The service's loader takes it.
    let verdict = &node_config_check(&[(p.path("powersync.yaml"), p.path(".env"))])[0];
    assert_eq!(verdict["loads"], true, "{verdict}");

    // A compose file above the config that runs PowerSync: host.docker.internal.
    let p = Project::new();
    p.write("docker-compose.yaml", COMPOSE);
    std::fs::create_dir(p.path("config")).unwrap();
    let out = p
        .cmd(&["init", "--serve=7000"])
        .current_dir(p.path("config"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("pskeys serve --port 7000"), "{stderr}");
    assert!(stderr.contains("host-gateway"), "{stderr}");
    assert!(
        p.read("config/powersync.yaml")
            .contains("jwks_uri: 'http://host.docker.internal:7000/.well-known/jwks.json'")
    );
    let summary: Value = serde_json::from_slice(
        &p.cmd(&["init", "--serve=7000", "--json", "--dry-run"])
            .current_dir(p.path("config"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(summary["serve"]["service_in"], "docker");
    assert_eq!(
        summary["serve"]["jwks_uri"],
        "http://host.docker.internal:7000/.well-known/jwks.json"
    );
    // --service-in overrides the guess.
    let p = Project::new();
    p.ok(&[
        "init",
        "--serve",
        "--service-in",
        "docker",
        "--alg",
        "EdDSA",
    ]);
    let config = p.read("powersync.yaml");
    assert!(config.contains("host.docker.internal:6060"));
    assert!(config.contains("alg: 'EdDSA'"));
}

#[test]
fn serve_with_an_hmac_key_says_the_jwks_is_empty() {
    let p = Project::new();
    p.ok(&["init"]);
    let out = p.run(&["init", "--serve"]);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("never publishes"), "{stderr}");
    assert!(stderr.contains("--rotate --alg ES256"), "{stderr}");
    assert_eq!(
        p.run(&["init", "--service-in", "host"]).status.code(),
        Some(2)
    );
    assert_eq!(
        p.run(&["init", "--serve", "--no-dev-key"]).status.code(),
        Some(2)
    );
}

#[test]
fn doctor_warns_about_jwks_the_service_cannot_fetch() {
    let p = Project::new();
    p.write("docker-compose.yml", COMPOSE);
    p.ok(&["init", "--alg", "ES256"]);
    let config = p.read("powersync.yaml");
    let with = |extra: &str| {
        p.write(
            "powersync.yaml",
            config.replace("  audience:", &format!("{extra}\n  audience:")),
        );
        doctor(&p, ".")
    };
    // localhost and 127.0.0.1 from a container are the container.
    for uri in [
        "http://localhost:6060/.well-known/jwks.json",
        "http://127.0.0.1:6060/jwks",
    ] {
        let findings = with(&format!("  jwks_uri: {uri}"));
        assert_eq!(
            ids(&findings),
            ["jwks-localhost-in-container"],
            "{findings:?}"
        );
        let f = &findings[0];
        assert_eq!(f["severity"], "warning");
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("docker-compose.yml")
        );
        assert!(
            f["fix"]
                .as_str()
                .unwrap()
                .contains("host.docker.internal:6060")
        );
        assert!(f["file"]["line"].is_number());
    }
    // host.docker.internal is fine, unless local addresses are rejected.
    assert!(
        ids(&with(
            "  jwks_uri: http://host.docker.internal:6060/.well-known/jwks.json"
        ))
        .is_empty()
    );
    for blocking in [
        "  jwks_reject_ip_ranges: [local]",
        "  block_local_jwks: true",
    ] {
        let findings = with(&format!(
            "  jwks_uri: http://host.docker.internal:6060/.well-known/jwks.json\n{blocking}"
        ));
        assert!(ids(&findings).contains(&"jwks-local-name"), "{findings:?}");
    }
    // A public name under [local] is fine.
    assert!(ids(&with(
        "  jwks_uri: https://auth.example.com/.well-known/jwks.json\n  jwks_reject_ip_ranges: [local]"
    ))
    .is_empty());
    // Without a compose file that runs PowerSync, localhost is this machine.
    std::fs::write(
        p.path("docker-compose.yml"),
        "services:\n  db:\n    image: postgres\n",
    )
    .unwrap();
    assert!(
        ids(&with(
            "  jwks_uri: http://localhost:6060/.well-known/jwks.json"
        ))
        .is_empty()
    );
}

#[test]
fn serve_refusals_and_leftovers() {
    let p = Project::new();
    assert_eq!(p.run(&["init", "--serve=0"]).status.code(), Some(2));
    assert!(p.bytes("powersync.yaml").is_none());
    p.ok(&["init", "--alg", "ES256"]);
    let config = p.read("powersync.yaml");
    p.write(
        "powersync.yaml",
        config.replace(
            "  audience:",
            "  jwks_reject_ip_ranges: [local]\n  audience:",
        ),
    );
    let before = p.snapshot_files();
    let out = p.run(&["init", "--serve"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejects local JWKS addresses"));
    assert_eq!(before, p.snapshot_files());
    // An earlier --serve's URI is named when another is added.
    p.write("powersync.yaml", &config);
    p.ok(&["init", "--serve"]);
    let out = p.run(&["init", "--serve=7000"]);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("still has jwks_uri http://127.0.0.1:6060"),
        "{stderr}"
    );
}

#[test]
fn host_network_compose_is_this_machine() {
    let p = Project::new();
    p.write(
        "compose.yaml",
        "services:\n  powersync:\n    image: journeyapps/powersync-service\n    network_mode: \"host\"\n",
    );
    p.ok(&["init", "--serve"]);
    assert!(p.read("powersync.yaml").contains("http://127.0.0.1:6060/"));
    assert!(ids(&doctor(&p, ".")).is_empty());
}
