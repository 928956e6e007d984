//! The PowerSync Service's rules, and nowhere else: which configs it refuses, which keys
//! it builds from them, and how it checks a client token (POWERSYNC_AUTH.md sections 1–3b,
//! checked against service v1.25 and its code in `service-core/src/auth/`).

pub mod keystore;
pub mod net;
pub mod rules;
pub mod schema;
pub mod verify;

pub use keystore::{KeyStore, Refused};
pub use rules::{Finding, FindingId, Impact, Severity};
pub use verify::{Code, Outcome, Reason, Rejection, Report, verify};
