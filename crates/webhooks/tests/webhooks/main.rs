//! Webhook delivery against real SQLite and PostgreSQL databases (one fresh database per test)
//! and wiremock receivers on 127.0.0.1: signatures checked by an independent Standard
//! Webhooks implementation, retries, per-integration order, two workers sharing a backlog,
//! a worker that dies mid-backlog, automatic disabling, destination checks. Time is a manual
//! clock moved by the tests, except where a test runs the real worker loop.

// Test code: a failed step should stop the test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod delivery;
mod destinations;
mod replicas;
mod signing;
