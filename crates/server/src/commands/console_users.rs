//! `tether console-users create|list|disable|reset-password`: the operator's way to the first
//! console admin, and a way back in when every admin is locked out. Audited like the other
//! operator commands; passwords come from standard input or are generated and shown once.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use serde_json::json;
use tether_console::password;
use tether_core::StorageError;
use tether_core::audit::AuditAction;
use tether_core::console::{ConsoleGrant, ConsoleRole, NewConsoleAccount, Username};
use tether_core::ports::ConsoleRepository;
use tether_storage::SqlStore;

use super::{audit, command_event, load, print};
use crate::cli::ConsoleUsersCommand;
use crate::error::{ServerError, ServerResult};
use crate::{crypto, database};

/// The password to set: the first line of standard input, or a generated one (returned so
/// it can be shown once).
fn password(from_stdin: bool) -> ServerResult<(String, bool)> {
    if !from_stdin {
        return Ok((tether_console::password::generate(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    password::check_policy(&line).map_err(ServerError::Usage)?;
    Ok((line, false))
}

fn username(text: &str) -> ServerResult<Username> {
    Username::parse(text).map_err(|e| ServerError::Usage(format!("username: {e}")))
}

pub async fn run(file: Option<&Path>, command: ConsoleUsersCommand) -> ServerResult<()> {
    let config = load(file, true)?;
    let conn = database::open(&config).await?;
    database::prepare(&conn, &config).await?;
    let store = Arc::new(SqlStore::new(
        conn.clone(),
        Arc::new(crypto::cipher(&config)?),
    ));
    let result = match command {
        ConsoleUsersCommand::Create {
            username: name,
            role,
            grants,
            password_stdin,
        } => {
            let name = username(&name)?;
            let role: ConsoleRole = role
                .parse()
                .map_err(|e| ServerError::Usage(format!("--role: {e}")))?;
            let grants = ConsoleGrant::parse_list(&grants.join(","))
                .map_err(|e| ServerError::Usage(format!("--grant: {e}")))?;
            let (secret, generated) = password(password_stdin)?;
            let hash = password::hash(secret.clone())
                .await
                .map_err(ServerError::Usage)?;
            let account = store
                .create_account(
                    NewConsoleAccount {
                        username: name.clone(),
                        role,
                        password_hash: hash,
                        grants: grants.clone(),
                    },
                    Utc::now(),
                )
                .await
                .map_err(|e| match e {
                    StorageError::Duplicate { .. } => {
                        ServerError::Usage(format!("the username {name} is taken"))
                    }
                    e => e.into(),
                })?;
            audit(
                &conn,
                command_event(
                    AuditAction::ConsoleAccountCreated,
                    "console-users create",
                    json!({
                        "account_id": account.id.to_string(),
                        "username": name.as_str(),
                        "role": role.as_str(),
                        "grants": grants.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    }),
                ),
            )
            .await?;
            let mut lines = vec![format!("created {role} account {name} ({})", account.id)];
            if generated {
                lines.extend([
                    String::new(),
                    "  Its password, shown only once (sign in at /console/sign-in):".to_owned(),
                    format!("  {secret}"),
                ]);
            }
            print(lines)
        }
        ConsoleUsersCommand::List => {
            let accounts = store.list_accounts().await?;
            print(accounts.into_iter().map(|a| {
                let grants: Vec<String> = a.grants.iter().map(ToString::to_string).collect();
                format!(
                    "{}  {:<5} {:<8} {:<20} {}",
                    a.id,
                    a.role,
                    if a.is_disabled() {
                        "disabled"
                    } else {
                        "active"
                    },
                    a.username,
                    grants.join(",")
                )
            }))
        }
        ConsoleUsersCommand::Disable { username: name } => {
            let name = username(&name)?;
            let account = store
                .account_by_username(&name)
                .await?
                .ok_or_else(|| ServerError::Usage(format!("no console account {name}")))?;
            store.set_disabled(account.id, true, Utc::now()).await?;
            audit(
                &conn,
                command_event(
                    AuditAction::ConsoleAccountDisabled,
                    "console-users disable",
                    json!({ "account_id": account.id.to_string(), "username": name.as_str() }),
                ),
            )
            .await?;
            print([format!("disabled {name}; its sessions ended")])
        }
        ConsoleUsersCommand::ResetPassword {
            username: name,
            password_stdin,
        } => {
            let name = username(&name)?;
            let account = store
                .account_by_username(&name)
                .await?
                .ok_or_else(|| ServerError::Usage(format!("no console account {name}")))?;
            let (secret, generated) = password(password_stdin)?;
            let hash = password::hash(secret.clone())
                .await
                .map_err(ServerError::Usage)?;
            store
                .set_password_hash(account.id, &hash, Utc::now())
                .await?;
            audit(
                &conn,
                command_event(
                    AuditAction::ConsolePasswordReset,
                    "console-users reset-password",
                    json!({ "account_id": account.id.to_string(), "username": name.as_str() }),
                ),
            )
            .await?;
            let mut lines = vec![format!("new password set for {name}; its sessions ended")];
            if generated {
                lines.extend([
                    String::new(),
                    "  The new password, shown only once:".to_owned(),
                    format!("  {secret}"),
                ]);
            }
            print(lines)
        }
    };
    let _ = conn.close().await;
    result
}
