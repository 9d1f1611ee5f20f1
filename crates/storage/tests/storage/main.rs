//! Storage tests against real SQLite and PostgreSQL databases, one fresh database per test
//! (`sqlite::NAME` and `postgres::NAME`). One test binary, to keep link time down.

// Test code: a failed step should stop the test with its reason (clippy's in-test allowance
// does not reach helpers and async test bodies outside `#[test]` functions).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod api_keys;
mod audit;
mod connect_sessions;
mod connection;
mod consents;
mod console;
mod encryption;
mod enums;
mod events;
mod integrations;
mod oauth_states;
mod provider_configs;
mod rotation;
mod scopes;
mod token_read;
mod tokens;
mod webhooks;
