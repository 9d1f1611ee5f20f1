//! Running a parsed command line: each subcommand loads what it needs and nothing more.

mod api_keys;
mod check_config;
mod console_users;
mod dev_token;
mod keys;
mod migrate;
mod openapi;
mod openemr;
mod webhooks;

use std::io::Write;
use std::path::Path;

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tether_core::audit::{Actor, AuditAction, AuditEvent};

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
        Command::Openemr(command) => openemr::run(file, command).await,
        Command::ApiKeys(command) => api_keys::run(file, command).await,
        Command::Webhooks(command) => webhooks::run(file, command).await,
        Command::ConsoleUsers(command) => console_users::run(file, command).await,
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

/// Who runs this command, as the audit trail names them: what `TETHER_OPERATOR` says when set
/// (a deploy pipeline names itself), else the login (`SUDO_USER` first) at this host.
fn operator() -> Actor {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let name = env("TETHER_OPERATOR").unwrap_or_else(|| {
        let user = ["SUDO_USER", "USER", "LOGNAME"]
            .into_iter()
            .find_map(env)
            .unwrap_or_else(|| "unknown".to_owned());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".to_owned());
        format!("{user}@{host}")
    });
    Actor::Operator(name.chars().filter(|c| !c.is_control()).take(255).collect())
}

/// The audit record of a command the operator ran: `detail` gains the command's name.
fn command_event(action: AuditAction, command: &str, detail: Value) -> AuditEvent {
    let mut event = AuditEvent::new(operator(), action);
    let mut fields = match detail {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    fields.insert("command".to_owned(), json!(format!("tether {command}")));
    event.detail = Some(Value::Object(fields));
    event
}

/// Appends the record; a command whose action cannot be audited fails saying so.
async fn audit(conn: &DatabaseConnection, event: AuditEvent) -> ServerResult<()> {
    tether_storage::append_audit(conn, &event)
        .await
        .map(|_| ())
        .map_err(|e| {
            crate::error::ServerError::Usage(format!(
                "the action was done but its audit record could not be written: {e}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_event_names_the_operator_and_the_command() {
        let event = command_event(
            AuditAction::KeysRotated,
            "keys rotate",
            json!({ "values_rewritten": 3 }),
        );
        assert!(matches!(&event.actor, Actor::Operator(name) if !name.is_empty()));
        assert_eq!(
            event.detail,
            Some(json!({ "values_rewritten": 3, "command": "tether keys rotate" }))
        );
    }
}
