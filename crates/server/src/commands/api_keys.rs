//! `tether api-keys create|list|revoke`: the operator's way to the first admin key.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use tether_api::auth::create_key;
use tether_core::ApiKeyId;
use tether_core::api_key::ApiKeyRole;
use tether_core::ports::ApiKeyRepository;
use tether_storage::SqlStore;

use serde_json::json;
use tether_core::audit::AuditAction;

use super::{audit, command_event, load, print};
use crate::cli::ApiKeysCommand;
use crate::error::{ServerError, ServerResult};
use crate::{crypto, database};

pub async fn run(file: Option<&Path>, command: ApiKeysCommand) -> ServerResult<()> {
    let config = load(file, true)?;
    let conn = database::open(&config).await?;
    database::prepare(&conn, &config).await?;
    let store = Arc::new(SqlStore::new(
        conn.clone(),
        Arc::new(crypto::cipher(&config)?),
    ));
    let result = match command {
        ApiKeysCommand::Create { name, role } => {
            let role: ApiKeyRole = role
                .parse()
                .map_err(|e| ServerError::Usage(format!("--role: {e}")))?;
            if name.trim().is_empty() {
                return Err(ServerError::Usage("--name must not be empty".into()));
            }
            let (record, secret) = create_key(store.as_ref(), name.trim(), role).await?;
            // Audited before the secret is shown: an unaudited key is never handed out.
            audit(
                &conn,
                command_event(
                    AuditAction::ApiKeyCreated,
                    "api-keys create",
                    json!({ "key_id": record.id.to_string(), "role": role.as_str() }),
                ),
            )
            .await?;
            print([
                format!(
                    "created {} key {} ({})",
                    record.role, record.id, record.name
                ),
                String::new(),
                "  Store this key now: it is shown only once.".to_owned(),
                format!("  {}", secret.expose_secret()),
            ])
        }
        ApiKeysCommand::List => {
            let keys = ApiKeyRepository::list(store.as_ref()).await?;
            print(keys.into_iter().map(|k| {
                format!(
                    "{}  {:<7} {:<12} {}  {}",
                    k.id,
                    k.role,
                    k.prefix,
                    k.name,
                    match k.revoked_at {
                        Some(at) => format!("revoked {}", at.to_rfc3339()),
                        None => "active".to_owned(),
                    }
                )
            }))
        }
        ApiKeysCommand::Revoke { id } => {
            let id: ApiKeyId = id
                .parse()
                .map_err(|_| ServerError::Usage("the key id must be a UUID".into()))?;
            if store.revoke(id, Utc::now()).await? {
                audit(
                    &conn,
                    command_event(
                        AuditAction::ApiKeyRevoked,
                        "api-keys revoke",
                        json!({ "key_id": id.to_string() }),
                    ),
                )
                .await?;
                print([format!(
                    "revoked {id} (other replicas stop accepting it within 30 s)"
                )])
            } else {
                Err(ServerError::Usage(format!("no active API key {id}")))
            }
        }
    };
    let _ = conn.close().await;
    result
}
