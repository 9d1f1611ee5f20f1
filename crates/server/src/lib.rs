//! The `tether` binary's library: configuration, telemetry, start-up and the operator CLI.
//! `Application::build` is the one way to start the server, for production and tests alike.

pub mod cli;
mod commands;
pub mod config;
mod crypto;
mod database;
pub mod error;
mod http;
mod keyfile;
pub mod startup;
pub mod telemetry;
pub mod wiring;

pub use commands::run;
pub use config::Config;
pub use error::{ServerError, ServerResult};
pub use startup::Application;
