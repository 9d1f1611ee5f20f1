//! Running a parsed command line: each subcommand loads what it needs and nothing more.

mod api_keys;
mod check_config;
mod dev_token;
mod keys;
mod migrate;
mod openapi;
mod openemr;
mod webhooks;

use std::io::Write;
use std::path::Path;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::error::ServerResult;
use crate::startup::Application;
use crate::telemetry;

pub async fn run(cli: Cli) -> ServerResult<()> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve => serve(file).await,
        Command::Migrate(command) => migrate::run(file, command).await,
        Command::Keys(command) => keys::run(file, command).await,
        Command::CheckConfig => check_config::run(file),
        Command::Openemr(command) => openemr::run(command).await,
        Command::ApiKeys(command) => api_keys::run(file, command).await,
        Command::Webhooks(command) => webhooks::run(file, command).await,
        Command::DevToken { user, minutes } => dev_token::run(file, &user, minutes),
        Command::Openapi { output, check } => openapi::run(&output, check),
    }
}

async fn serve(file: Option<&Path>) -> ServerResult<()> {
    let config = Config::load(file)?;
    telemetry::init(config.log_format, &config.log_level);
    let app = Application::build(config).await?;
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Loads the configuration and starts logging with it.
fn load(file: Option<&Path>, needs_keys: bool) -> ServerResult<Config> {
    let config = if needs_keys {
        Config::load(file)?
    } else {
        Config::load_without_keys(file)?
    };
    telemetry::init(config.log_format, &config.log_level);
    Ok(config)
}

/// Command output goes to stdout; logs and errors go to stderr.
fn print(lines: impl IntoIterator<Item = String>) -> ServerResult<()> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}
