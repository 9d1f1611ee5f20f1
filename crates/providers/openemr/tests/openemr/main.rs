//! The OpenEMR provider against a fake site (wiremock): the exact authorize URL and token
//! requests, discovery and its fallback, parsing, error classes, identity, revocation, the test
//! connection and client registration.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod authorize;
mod connection;
mod discovery;
mod errors;
mod identity;
mod registration;
mod revocation;
mod support;
mod tokens;
