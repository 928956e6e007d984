//! Build facts for `pskeys --version` (the long form): the git commit, and whether AWS-LC
//! was built without CPU jitter entropy (`.cargo/config.toml` sets that; a `cargo install`
//! from the registry does not read it, and then every ES256/RS256 process pays ~30 ms).

fn main() {
    // A build without .git (a container image, a source tarball) can name its commit.
    println!("cargo:rerun-if-env-changed=PSKEYS_BUILD_COMMIT");
    let given = std::env::var("PSKEYS_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let commit = given
        .map(|c| c.trim().to_string())
        .or_else(|| {
            std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|c| !c.is_empty())
        })
        .unwrap_or_else(|| "unknown (not built from a git checkout)".to_string());
    println!("cargo:rustc-env=PSKEYS_COMMIT={commit}");
    let jitter = match std::env::var("AWS_LC_SYS_NO_JITTER_ENTROPY").as_deref() {
        Ok("1") => "off (OS generator only)",
        _ => "on (AWS-LC default: +30-80 ms on the first random byte of ES/RS processes)",
    };
    println!("cargo:rustc-env=PSKEYS_JITTER={jitter}");
    println!("cargo:rerun-if-env-changed=AWS_LC_SYS_NO_JITTER_ENTROPY");
    let features = if std::env::var_os("CARGO_FEATURE_SERVE").is_some() {
        "serve (tokio, hyper)"
    } else {
        "none (built without `serve`)"
    };
    println!("cargo:rustc-env=PSKEYS_FEATURES={features}");
    for git in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(git).exists() {
            println!("cargo:rerun-if-changed={git}");
        }
    }
}
