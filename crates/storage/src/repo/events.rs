//! The events outbox: events are appended inside the transaction of the change that causes
//! them (`append`, used by the connection, refresh, lifecycle and revocation writes), read by
//! position for the feed and the webhook deliveries, and pruned by age.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use tether_core::events::{AppTokenStatus, Event, EventType, app_token_event};
use tether_core::ports::{EventRepository, StoredEvent};
use tether_core::{IntegrationId, ProviderKind, StorageResult};

use super::{SqlStore, backend, now, webhooks, write_txn};
use crate::entities::corrupt;
use crate::entities::events::{ActiveModel, Column, Entity, TABLE, app_token_states};

/// The key of the transaction-scoped PostgreSQL advisory lock that writers of events hold
/// from their first event until commit, so that `seq` (taken after the lock) rises in
/// commit order. SQLite has one writer at a time anyway.
const EVENTS_LOCK: i64 = 0x7465_7468_6576; // "tethev"

/// Appends `events` in the caller's transaction, with a pending webhook delivery of each to
/// every enabled endpoint whose filter accepts it. Call it after the change's own writes, as
/// late as possible: the ordering lock is held from here to the commit.
pub(super) async fn append<C: ConnectionTrait>(conn: &C, events: &[Event]) -> StorageResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Before taking the ordering lock, so it is held no longer than the inserts.
    let fan_out = webhooks::prepare_fan_out(conn, events).await?;
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [EVENTS_LOCK.into()],
        ))
        .await
        .map_err(backend)?;
    }
    let rows = events
        .iter()
        .map(|event| {
            let payload = serde_json::to_value(event).map_err(|e| corrupt(TABLE, event.id, e))?;
            Ok(ActiveModel {
                id: Set(event.id.as_uuid()),
                event_type: Set(event.event_type.as_str().to_owned()),
                integration_id: Set(event.data.integration_id.map(|id| id.as_uuid())),
                user_id: Set(event.data.user_id.as_ref().map(|u| u.to_string())),
                provider: Set(event.data.provider.as_str().to_owned()),
                occurred_at: Set(event.occurred_at),
                payload: Set(payload),
                ..Default::default()
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    let Some(fan_out) = fan_out else {
        Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await
            .map_err(backend)?;
        return Ok(());
    };
    let inserted = Entity::insert_many(rows)
        .exec_with_returning(conn)
        .await
        .map_err(backend)?;
    let seqs = webhooks::seqs_by_id(inserted);
    let with_seq = events
        .iter()
        .map(|event| {
            seqs.get(&event.id.as_uuid())
                .map(|seq| (*seq, event))
                .ok_or_else(|| corrupt(TABLE, event.id, "the inserted event was not returned"))
        })
        .collect::<StorageResult<Vec<_>>>()?;
    webhooks::fan_out(conn, fan_out, &with_seq, now()).await
}

#[async_trait]
impl EventRepository for SqlStore {
    async fn list_after(
        &self,
        after: i64,
        limit: u64,
        types: &[EventType],
    ) -> StorageResult<Vec<StoredEvent>> {
        let mut query = Entity::find()
            .filter(Column::Seq.gt(after))
            .order_by_asc(Column::Seq)
            .limit(limit);
        if !types.is_empty() {
            query = query.filter(Column::EventType.is_in(types.iter().map(|t| t.as_str())));
        }
        query
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(StoredEvent::try_from)
            .collect()
    }

    async fn list_for_integration(
        &self,
        integration: IntegrationId,
        limit: u64,
    ) -> StorageResult<Vec<StoredEvent>> {
        Entity::find()
            .filter(Column::IntegrationId.eq(integration.as_uuid()))
            .order_by_desc(Column::Seq)
            .limit(Ord::min(limit, 1000))
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(StoredEvent::try_from)
            .collect()
    }

    async fn prune(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        let result = Entity::delete_many()
            .filter(Column::OccurredAt.lt(before))
            .exec(self.conn())
            .await
            .map_err(backend)?;
        if result.rows_affected > 0 {
            // Their deliveries went with them; a pending one left behind a pruned one must not
            // wait for it forever.
            super::deliveries::unblock_orphans(self.conn()).await?;
        }
        Ok(result.rows_affected)
    }

    async fn record_app_token_status(
        &self,
        provider: ProviderKind,
        key: &str,
        status: AppTokenStatus,
        at: DateTime<Utc>,
    ) -> StorageResult<Option<Event>> {
        let txn = write_txn(self.conn()).await?;
        // Lock the row (PostgreSQL) so two replicas recording the same change emit it once.
        let mut find = app_token_states::Entity::find()
            .filter(app_token_states::Column::Provider.eq(provider.as_str()))
            .filter(app_token_states::Column::AppKey.eq(key));
        if txn.get_database_backend() == DbBackend::Postgres {
            find = find.lock_exclusive();
        }
        let previous =
            find.one(&txn)
                .await
                .map_err(backend)?
                .map(|row| match row.status.as_str() {
                    "failed" => AppTokenStatus::Failed,
                    _ => AppTokenStatus::Ok,
                });
        if previous == Some(status) {
            return Ok(None);
        }
        app_token_states::Entity::insert(app_token_states::ActiveModel {
            provider: Set(provider.as_str().to_owned()),
            app_key: Set(key.to_owned()),
            status: Set(status.as_str().to_owned()),
            updated_at: Set(at),
        })
        .on_conflict(
            OnConflict::columns([
                app_token_states::Column::Provider,
                app_token_states::Column::AppKey,
            ])
            .update_columns([
                app_token_states::Column::Status,
                app_token_states::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec(&txn)
        .await
        .map_err(backend)?;
        let event = app_token_event(provider, key, previous, status, at);
        append(&txn, event.as_slice()).await?;
        txn.commit().await.map_err(backend)?;
        Ok(event)
    }
}
