//! `AuditRepository`: append and query only. There is deliberately no update or delete path
//! for `audit_log` anywhere in this crate.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;
use tether_core::StorageResult;
use tether_core::audit::{AuditEvent, AuditQuery, AuditRecord};
use tether_core::ids::AuditId;
use tether_core::ports::AuditRepository;
use uuid::Uuid;

use super::{SqlStore, backend, db_err, execute_with_json, write_txn};
use crate::entities::audit_log::{ActiveModel, Column, Entity};
use crate::entities::scopes_to_json;

pub const DEFAULT_LIMIT: u64 = 100;
pub const MAX_LIMIT: u64 = 1000;
/// Rows per INSERT, well under SQLite's bound-parameter limit (14 columns each).
const INSERT_CHUNK: usize = 500;

fn to_model(id: AuditId, e: &AuditEvent) -> ActiveModel {
    ActiveModel {
        id: Set(id.as_uuid()),
        integration_id: Set(e.integration_id.map(|i| i.as_uuid())),
        user_id: Set(e.user_id.as_ref().map(|u| u.to_string())),
        actor: Set(e.actor.kind().as_str().to_owned()),
        actor_id: Set(e.actor.id_text()),
        action: Set(e.action.as_str().to_owned()),
        provider: Set(e.provider.map(|p| p.as_str().to_owned())),
        scopes: Set(e.scopes.as_ref().map(scopes_to_json)),
        ip_address: Set(e.ip_address.clone()),
        user_agent: Set(e.user_agent.clone()),
        success: Set(e.success),
        error_message: Set(e.error_message.clone()),
        detail: Set(e.detail.clone()),
        created_at: Set(e.created_at),
    }
}

const DUPLICATE: &str = "an audit record with this id exists";

/// A batch on PostgreSQL: one statement whose text never changes (prepared once per
/// connection), the records as one JSON parameter. Atomic on its own and one round trip; no
/// per-record parameters to build, bind and plan (token reads wait for this write).
const INSERT_RECORDSET: &str = "INSERT INTO audit_log (id, integration_id, user_id, actor, \
     actor_id, action, provider, scopes, ip_address, user_agent, success, error_message, detail, \
     created_at) \
     SELECT id, integration_id, user_id, actor, actor_id, action, provider, scopes, ip_address, \
     user_agent, success, error_message, detail, created_at \
     FROM json_to_recordset($1::text::json) AS r(id uuid, integration_id uuid, user_id text, \
     actor text, actor_id text, action text, provider text, scopes json, ip_address text, \
     user_agent text, success boolean, error_message text, detail json, created_at timestamptz)";

/// One record of [`INSERT_RECORDSET`], borrowed from its event.
#[derive(Serialize)]
struct RecordRow<'a> {
    id: Uuid,
    integration_id: Option<Uuid>,
    user_id: Option<&'a str>,
    actor: &'static str,
    actor_id: Option<String>,
    action: &'static str,
    provider: Option<&'static str>,
    scopes: Option<Vec<&'a str>>,
    ip_address: Option<&'a str>,
    user_agent: Option<&'a str>,
    success: bool,
    error_message: Option<&'a str>,
    detail: Option<&'a serde_json::Value>,
    /// At the microseconds PostgreSQL keeps, truncated as the bound-parameter path does.
    created_at: DateTime<Utc>,
}

impl<'a> RecordRow<'a> {
    fn new(e: &'a AuditEvent) -> Self {
        Self {
            id: AuditId::new().as_uuid(),
            integration_id: e.integration_id.map(|i| i.as_uuid()),
            user_id: e.user_id.as_ref().map(|u| u.as_str()),
            actor: e.actor.kind().as_str(),
            actor_id: e.actor.id_text(),
            action: e.action.as_str(),
            provider: e.provider.map(|p| p.as_str()),
            scopes: e
                .scopes
                .as_ref()
                .map(|s| s.iter().map(|scope| scope.as_str()).collect()),
            ip_address: e.ip_address.as_deref(),
            user_agent: e.user_agent.as_deref(),
            success: e.success,
            error_message: e.error_message.as_deref(),
            detail: e.detail.as_ref(),
            created_at: e.created_at.trunc_subsecs(6),
        }
    }
}

/// One INSERT of `events` (at most [`INSERT_CHUNK`]).
async fn insert_rows(conn: &impl ConnectionTrait, events: &[AuditEvent]) -> StorageResult<()> {
    let models: Vec<_> = events.iter().map(|e| to_model(AuditId::new(), e)).collect();
    Entity::insert_many(models)
        .exec_without_returning(conn)
        .await
        .map(|_| ())
        .map_err(db_err("audit record", DUPLICATE))
}

async fn append_postgres(conn: &impl ConnectionTrait, events: &[AuditEvent]) -> StorageResult<()> {
    let rows: Vec<RecordRow<'_>> = events.iter().map(RecordRow::new).collect();
    execute_with_json(conn, INSERT_RECORDSET, &rows)
        .await
        .map_err(db_err("audit record", DUPLICATE))
}

/// Appends one record on any connection: for commands that hold a connection but no store
/// (`tether migrate` runs without the encryption keys).
pub async fn append_audit(
    conn: &impl ConnectionTrait,
    event: &AuditEvent,
) -> StorageResult<AuditId> {
    // UUIDv7 ids: id order is append order, which paging (`before`) relies on.
    let id = AuditId::new();
    Entity::insert(to_model(id, event))
        .exec_without_returning(conn)
        .await
        .map_err(db_err("audit record", DUPLICATE))?;
    Ok(id)
}

#[async_trait]
impl AuditRepository for SqlStore {
    async fn append(&self, event: &AuditEvent) -> StorageResult<AuditId> {
        append_audit(self.conn(), event).await
    }

    async fn append_batch(&self, events: &[AuditEvent]) -> StorageResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        if self.conn().get_database_backend() == DbBackend::Postgres {
            return append_postgres(self.conn(), events).await;
        }
        if events.len() <= INSERT_CHUNK {
            // One statement is atomic on its own: one round trip instead of BEGIN, INSERT,
            // COMMIT (group-committed token reads wait for this write).
            return insert_rows(self.conn(), events).await;
        }
        let txn = write_txn(self.conn()).await?;
        for chunk in events.chunks(INSERT_CHUNK) {
            insert_rows(&txn, chunk).await?;
        }
        txn.commit().await.map_err(backend)
    }

    async fn query(&self, q: &AuditQuery) -> StorageResult<Vec<AuditRecord>> {
        let limit = match q.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let mut select = Entity::find();
        if let Some(id) = q.integration_id {
            select = select.filter(Column::IntegrationId.eq(id.as_uuid()));
        }
        if let Some(user) = &q.user_id {
            select = select.filter(Column::UserId.eq(user.as_str()));
        }
        if let Some(action) = q.action {
            select = select.filter(Column::Action.eq(action.as_str()));
        }
        if let Some(kind) = q.actor_kind {
            select = select.filter(Column::Actor.eq(kind.as_str()));
        }
        if let Some(actor_id) = &q.actor_id {
            select = select.filter(Column::ActorId.eq(actor_id.as_str()));
        }
        if let Some(since) = q.since {
            select = select.filter(Column::CreatedAt.gte(since));
        }
        if let Some(until) = q.until {
            select = select.filter(Column::CreatedAt.lte(until));
        }
        if let Some(before) = q.before {
            select = select.filter(Column::Id.lt(before.as_uuid()));
        }
        select
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(AuditRecord::try_from)
            .collect()
    }
}
