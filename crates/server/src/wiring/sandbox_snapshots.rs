//! The embedded sandbox keeps its grants in Tether's database (`sandbox_snapshots`, one row
//! per sandbox issuer), so demo integrations survive a restart: restored at start-up, saved
//! within a second of every change and once more at shutdown.

use std::time::Duration;

use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, ExprTrait};
use tether_sandbox::SandboxState;
use tokio::task::JoinHandle;

const TABLE: &str = "sandbox_snapshots";

/// How often the saver looks for a change.
pub const SAVE_EVERY: Duration = Duration::from_secs(1);

async fn load(conn: &DatabaseConnection, issuer: &str) -> Result<Option<String>, sea_orm::DbErr> {
    let select = Query::select()
        .column(Alias::new("snapshot"))
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("issuer")).eq(issuer))
        .to_owned();
    let row = conn.query_one(&select).await?;
    row.map(|r| r.try_get::<String>("", "snapshot")).transpose()
}

async fn save(
    conn: &DatabaseConnection,
    issuer: &str,
    snapshot: &str,
) -> Result<(), sea_orm::DbErr> {
    let upsert = Query::insert()
        .into_table(Alias::new(TABLE))
        .columns([
            Alias::new("issuer"),
            Alias::new("snapshot"),
            Alias::new("updated_at"),
        ])
        .values_panic([issuer.into(), snapshot.into(), chrono::Utc::now().into()])
        .on_conflict(
            OnConflict::column(Alias::new("issuer"))
                .update_columns([Alias::new("snapshot"), Alias::new("updated_at")])
                .to_owned(),
        )
        .to_owned();
    conn.execute(&upsert).await.map(|_| ())
}

/// Puts back what the sandbox at this issuer held when Tether last ran. A saved state that
/// cannot be read is reported and left in place (the sandbox starts empty; the next save
/// replaces it): sandbox grants are demo data.
pub async fn restore(conn: &DatabaseConnection, sandbox: &SandboxState) -> Result<(), String> {
    let saved = load(conn, sandbox.issuer())
        .await
        .map_err(|e| format!("reading the sandbox's saved state: {e}"))?;
    if let Some(saved) = saved {
        match sandbox.restore(&saved) {
            Ok(()) => tracing::info!(issuer = sandbox.issuer(), "sandbox grants restored"),
            Err(e) => tracing::warn!(error = %e, "the sandbox starts empty"),
        }
    }
    Ok(())
}

/// Saves the sandbox's state whenever it changed, checking every `every`.
pub fn spawn_saver(
    conn: DatabaseConnection,
    sandbox: SandboxState,
    every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut saved = sandbox.snapshot();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = sandbox.snapshot();
            if now == saved {
                continue;
            }
            match save(&conn, sandbox.issuer(), &now).await {
                Ok(()) => saved = now,
                Err(e) => tracing::warn!(error = %e, "saving the sandbox's state failed; retrying"),
            }
        }
    })
}

/// Saves the state once (at shutdown).
pub async fn save_now(conn: &DatabaseConnection, sandbox: &SandboxState) {
    if let Err(e) = save(conn, sandbox.issuer(), &sandbox.snapshot()).await {
        tracing::warn!(error = %e, "saving the sandbox's state at shutdown failed");
    }
}
