//! Black-box tests of the assembled server over HTTP: the whole journey, caller isolation,
//! bad input, the hosted connect page, rate limits, security headers, the OpenAPI document,
//! secrets in logs and webhooks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

mod console_support;
mod support;

mod abuse;
mod bad_input;
mod connect_sessions;
mod console_admin;
mod console_pages;
mod contract;
mod events;
mod isolation;
mod journey;
mod openapi;
mod replicas;
mod sandbox_restart;
mod secrets;
mod tampering;
mod webhooks;
