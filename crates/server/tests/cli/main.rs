//! Tests of the real `tether` binary: start-up, the embedded default, the operator commands.
//! PostgreSQL tests live in `postgres` so runners can skip them when no server is reachable.

// Test helpers outside `#[test]` functions fail by panicking, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod console_users;
mod embedded;
mod errors;
mod keys;
mod openemr;
mod postgres;
mod shutdown;
mod support;
mod webhooks;
