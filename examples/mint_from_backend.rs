//! Minting PowerSync tokens from your own Rust backend with the pskeys library, using the
//! config and the key `pskeys init` wrote: the audience, the kid and the service's rules
//! all come from the config, so every token is one the service accepts.
//!
//! ```sh
//! pskeys init --alg ES256
//! cargo run --example mint_from_backend -- user-42
//! ```

use pskeys::{Minter, Project, TokenSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let user = std::env::args().nth(1).unwrap_or_else(|| "user-1".into());
    // Built once at startup: the key is parsed here, not per token.
    let project = Project::open(None, ".env".as_ref())?;
    let minter = Minter::new(project.config(), project.env(), None)?;
    let spec = TokenSpec::new(user)
        .lifetime(3600)
        .claim("parameters", serde_json::json!({"role": "member"}));
    let minted = minter.mint(&spec, pskeys::now())?;
    println!("{}", minted.token);
    Ok(())
}
