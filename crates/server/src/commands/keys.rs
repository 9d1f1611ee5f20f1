//! `tether keys generate|rotate`: new keys, and re-encrypting stored secrets with the newest.

use std::path::Path;

use serde_json::json;
use tether_core::audit::AuditAction;

use super::{audit, command_event, load, print};
use crate::cli::KeysCommand;
use crate::error::ServerResult;
use crate::{crypto, database};

pub async fn run(file: Option<&Path>, command: KeysCommand) -> ServerResult<()> {
    match command {
        KeysCommand::Generate => print([crypto::generate_key().expose_secret().to_owned()]),
        KeysCommand::Rotate { batch_size } => rotate(file, batch_size).await,
    }
}

async fn rotate(file: Option<&Path>, batch_size: u64) -> ServerResult<()> {
    let config = load(file, true)?;
    let conn = database::open(&config).await?;
    database::prepare(&conn, &config).await?;
    let cipher = crypto::cipher(&config)?;
    // Rotating with keys that read nothing would only report failures: say why instead.
    crypto::self_check(&conn, &cipher).await?;
    let report = tether_storage::rotate_keys(&conn, &cipher, batch_size).await;
    let mut event = command_event(
        AuditAction::KeysRotated,
        "keys rotate",
        json!({ "keys_configured": cipher.key_count() }),
    );
    if let (Ok(report), Some(detail)) = (&report, event.detail.as_mut()) {
        detail["values_rewritten"] = json!(report.values_rewritten());
        detail["tables"] = json!({
            "tokens": report.tokens.values_rewritten,
            "oauth_states": report.oauth_states.values_rewritten,
            "provider_configs": report.provider_configs.values_rewritten,
            "webhook_endpoints": report.webhook_endpoints.values_rewritten,
        });
    }
    if let Err(e) = &report {
        event.success = false;
        event.error_message = Some(e.to_string());
    }
    let audited = audit(&conn, event).await;
    let _ = conn.close().await;
    let report = report?;
    audited?;
    print([report.to_string()])
}
