//! pskeys: PowerSync client-auth keys and tokens.
pub mod config;
pub mod error;
pub mod keys;
