//! Minting PowerSync tokens from your own Rust backend with the pskeys library, using the
//! key `pskeys init` wrote (read here from the environment, as a backend would).
//!
//! ```sh
//! pskeys init --alg ES256 && set -a && . ./.env && set +a
//! cargo run --example mint_from_backend -- user-42
//! ```

use pskeys::keys::{Alg, PrivateKey};
use pskeys::token::{self, TokenSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let user = std::env::args().nth(1).unwrap_or_else(|| "user-1".into());
    let kid = std::env::var("PSKEYS_KID")?;
    let alg: Alg = std::env::var("PSKEYS_ALG")?.parse()?;
    let key = if alg.is_hmac() {
        let k = std::env::var("PS_CLIENT_AUTH_KEY")?;
        PrivateKey::from_hmac_k(alg, &k).ok_or("PS_CLIENT_AUTH_KEY is not base64url")?
    } else {
        PrivateKey::from_pem(alg, &std::env::var("PSKEYS_PRIVATE_KEY")?)?
    };
    let spec = TokenSpec {
        sub: user,
        audiences: vec!["powersync".into()],
        issued_at: token::now(),
        lifetime: 3600,
        extra: vec![("parameters".into(), serde_json::json!({"role": "member"}))],
    };
    let (jwt, _header) = token::sign(&key, &kid, &spec.claims())?;
    println!("{jwt}");
    Ok(())
}
