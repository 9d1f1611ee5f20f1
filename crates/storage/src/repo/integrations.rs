//! `IntegrationRepository`: connected accounts, with optimistic concurrency on `version`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    ExprTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use tether_core::consent::Consent;
use tether_core::events::ReasonCode;
use tether_core::integration::{Integration, IntegrationStatus, NewIntegration};
use tether_core::ports::{ConnectionWrite, IntegrationRepository, RefreshWrite};
use tether_core::token::StoredTokens;
use tether_core::{IntegrationId, ProviderKind, StorageError, StorageResult, UserId};

use super::{SqlStore, backend, db_err, now, update_returning, write_txn};
use crate::entities::integrations::{ActiveModel, Column, Entity};
use crate::entities::scopes_to_json;

const ENTITY: &str = "integration";
const DUPLICATE: &str = "this user already connected this account at this provider";

pub(super) async fn insert<C: ConnectionTrait>(
    conn: &C,
    new: NewIntegration,
) -> StorageResult<Integration> {
    let at = now();
    let model = ActiveModel {
        id: Set(new.id.as_uuid()),
        user_id: Set(new.user_id.to_string()),
        provider: Set(new.provider.as_str().to_owned()),
        provider_account_id: Set(new.provider_account_id),
        account_label: Set(new.account_label),
        status: Set(new.status.as_str().to_owned()),
        requested_scopes: Set(scopes_to_json(&new.requested_scopes)),
        granted_scopes: Set(scopes_to_json(&new.granted_scopes)),
        metadata: Set(new.metadata),
        last_refreshed_at: Set(None),
        last_used_at: Set(None),
        next_refresh_at: Set(new.next_refresh_at),
        failure_count: Set(0),
        last_error: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        version: Set(1),
        refresh_claimed_until: Set(None),
    };
    model
        .insert(conn)
        .await
        .map_err(db_err(ENTITY, DUPLICATE))?
        .try_into()
}

/// `UPDATE … WHERE id = ? AND version = ?`, bumping the version; tells a stale version apart
/// from a missing row.
pub(super) async fn update_versioned<C: ConnectionTrait>(
    conn: &C,
    i: &Integration,
) -> StorageResult<Integration> {
    let changes = ActiveModel {
        account_label: Set(i.account_label.clone()),
        status: Set(i.status.as_str().to_owned()),
        requested_scopes: Set(scopes_to_json(&i.requested_scopes)),
        granted_scopes: Set(scopes_to_json(&i.granted_scopes)),
        metadata: Set(i.metadata.clone()),
        last_refreshed_at: Set(i.last_refreshed_at),
        last_used_at: Set(i.last_used_at),
        next_refresh_at: Set(i.next_refresh_at),
        failure_count: Set(i.failure_count),
        last_error: Set(i.last_error.clone()),
        updated_at: Set(now()),
        // A state change (a refresh stored, a failure recorded) ends the scheduler's claim, so
        // the integration can be claimed again as soon as it is due again.
        refresh_claimed_until: Set(None),
        ..Default::default()
    };
    let stmt = Entity::update_many()
        .set(changes)
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(i.id.as_uuid()))
        .filter(Column::Version.eq(i.version))
        .into_query();
    match update_returning::<Entity, _>(conn, stmt)
        .await
        .map_err(db_err(ENTITY, DUPLICATE))?
    {
        Some(model) => model.try_into(),
        None => Err(missing_or_conflict(conn, i.id, i.version).await),
    }
}

/// `UPDATE` of the lifecycle fields (status, failure count, last error, refresh times,
/// granted scopes) at `version`, bumping it and ending the scheduler's claim; `None` when
/// no row matched (changed meanwhile, gone or revoked).
async fn update_lifecycle_at<C: ConnectionTrait>(
    conn: &C,
    i: &Integration,
    version: i64,
) -> StorageResult<Option<Integration>> {
    let changes = ActiveModel {
        status: Set(i.status.as_str().to_owned()),
        granted_scopes: Set(scopes_to_json(&i.granted_scopes)),
        last_refreshed_at: Set(i.last_refreshed_at),
        next_refresh_at: Set(i.next_refresh_at),
        failure_count: Set(i.failure_count),
        last_error: Set(i.last_error.clone()),
        updated_at: Set(now()),
        refresh_claimed_until: Set(None),
        ..Default::default()
    };
    let stmt = Entity::update_many()
        .set(changes)
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(i.id.as_uuid()))
        .filter(Column::Version.eq(version))
        .filter(Column::Status.ne(IntegrationStatus::Revoked.as_str()))
        .into_query();
    update_returning::<Entity, _>(conn, stmt)
        .await
        .map_err(backend)?
        .map(Integration::try_from)
        .transpose()
}

/// A lifecycle write (a refresh, a refresh failure) inside the caller's transaction: the
/// lifecycle fields of `wanted` onto the row the caller read as `before`, or, when another
/// writer changed the row since, onto the current row (locked first). The lifecycle writer
/// holds the integration's refresh lock, and other writers change other fields, so its
/// fields win. Returns the row before and after the write, which decide the events; `None`
/// when the integration is gone or revoked (a disconnect wins).
pub(super) async fn write_lifecycle<C: ConnectionTrait>(
    conn: &C,
    before: &Integration,
    wanted: &Integration,
) -> StorageResult<Option<(Integration, Integration)>> {
    if let Some(after) = update_lifecycle_at(conn, wanted, before.version).await? {
        return Ok(Some((before.clone(), after)));
    }
    let Some(current) = get_for_update(conn, wanted.id).await? else {
        return Ok(None);
    };
    if current.status == IntegrationStatus::Revoked {
        return Ok(None);
    }
    match update_lifecycle_at(conn, wanted, current.version).await? {
        Some(after) => Ok(Some((current, after))),
        // Only a writer that does not lock (SQLite serialises writers; PostgreSQL holds the
        // row lock) could get here.
        None => Err(StorageError::VersionConflict {
            entity: ENTITY,
            id: wanted.id.to_string(),
            expected: current.version,
        }),
    }
}

/// The integration, locked until the transaction ends on PostgreSQL (`FOR UPDATE`; SQLite's
/// write transaction already excludes other writers).
pub(super) async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    id: IntegrationId,
) -> StorageResult<Option<Integration>> {
    let mut find = Entity::find_by_id(id.as_uuid());
    if conn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    find.one(conn)
        .await
        .map_err(backend)?
        .map(Integration::try_from)
        .transpose()
}

async fn missing_or_conflict<C: ConnectionTrait>(
    conn: &C,
    id: IntegrationId,
    expected: i64,
) -> StorageError {
    match Entity::find_by_id(id.as_uuid()).one(conn).await {
        Ok(Some(_)) => StorageError::VersionConflict {
            entity: ENTITY,
            id: id.to_string(),
            expected,
        },
        Ok(None) => StorageError::NotFound { entity: ENTITY },
        Err(e) => backend(e),
    }
}

pub(super) async fn get<C: ConnectionTrait>(
    conn: &C,
    id: IntegrationId,
) -> StorageResult<Option<Integration>> {
    Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await
        .map_err(backend)?
        .map(Integration::try_from)
        .transpose()
}

fn all(models: Vec<crate::entities::integrations::Model>) -> StorageResult<Vec<Integration>> {
    models.into_iter().map(Integration::try_from).collect()
}

/// Uses written per statement on PostgreSQL (each statement commits on its own, so row locks
/// are held briefly; rows are locked in id order, as the single-row path did).
const USAGE_CHUNK: usize = 1000;

/// `last_used_at` of many integrations in one round trip: the `(id, at)` pairs as one JSON
/// parameter, never moving a time backwards and leaving the version alone.
const RECORD_USAGE: &str = "UPDATE integrations AS i SET last_used_at = u.at \
     FROM json_to_recordset($1::text::json) AS u(id uuid, at timestamptz) \
     WHERE i.id = u.id AND (i.last_used_at IS NULL OR i.last_used_at < u.at)";

async fn record_usage_postgres<C: ConnectionTrait>(
    conn: &C,
    used: &[(IntegrationId, DateTime<Utc>)],
) -> StorageResult<()> {
    #[derive(serde::Serialize)]
    struct Use {
        id: uuid::Uuid,
        at: DateTime<Utc>,
    }
    let uses: Vec<Use> = used
        .iter()
        .map(|(id, at)| Use {
            id: id.as_uuid(),
            // The precision PostgreSQL keeps, truncated as a bound parameter would be.
            at: chrono::SubsecRound::trunc_subsecs(*at, 6),
        })
        .collect();
    let json = serde_json::to_string(&uses).map_err(|e| StorageError::Backend(e.to_string()))?;
    conn.execute_raw(sea_orm::Statement::from_sql_and_values(
        DbBackend::Postgres,
        RECORD_USAGE,
        [json.into()],
    ))
    .await
    .map(|_| ())
    .map_err(backend)
}

#[async_trait]
impl IntegrationRepository for SqlStore {
    async fn create(&self, new: NewIntegration) -> StorageResult<Integration> {
        insert(self.conn(), new).await
    }

    async fn get(&self, id: IntegrationId) -> StorageResult<Option<Integration>> {
        get(self.conn(), id).await
    }

    async fn find_by_account(
        &self,
        user_id: &UserId,
        provider: ProviderKind,
        provider_account_id: &str,
    ) -> StorageResult<Option<Integration>> {
        Entity::find()
            .filter(Column::UserId.eq(user_id.as_str()))
            .filter(Column::Provider.eq(provider.as_str()))
            .filter(Column::ProviderAccountId.eq(provider_account_id))
            .one(self.conn())
            .await
            .map_err(backend)?
            .map(Integration::try_from)
            .transpose()
    }

    async fn find_by_upstream_account(
        &self,
        provider: ProviderKind,
        provider_account_id: &str,
    ) -> StorageResult<Vec<Integration>> {
        let models = Entity::find()
            .filter(Column::Provider.eq(provider.as_str()))
            .filter(Column::ProviderAccountId.eq(provider_account_id))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(self.conn())
            .await
            .map_err(backend)?;
        all(models)
    }

    async fn list_for_user(&self, user_id: &UserId) -> StorageResult<Vec<Integration>> {
        let models = Entity::find()
            .filter(Column::UserId.eq(user_id.as_str()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(self.conn())
            .await
            .map_err(backend)?;
        all(models)
    }

    async fn update(&self, integration: &Integration) -> StorageResult<Integration> {
        update_versioned(self.conn(), integration).await
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u64,
        claim_until: DateTime<Utc>,
        only: &[ProviderKind],
    ) -> StorageResult<Vec<Integration>> {
        super::claims::claim_due(self.conn(), now, limit, claim_until, only).await
    }

    async fn release_claims(&self, ids: &[IntegrationId]) -> StorageResult<()> {
        super::claims::release_claims(self.conn(), ids).await
    }

    async fn record_usage(&self, used: &[(IntegrationId, DateTime<Utc>)]) -> StorageResult<()> {
        // Keep only the latest use per integration: one statement per row, one transaction.
        let mut latest = std::collections::BTreeMap::new();
        for (id, at) in used {
            let entry = latest.entry(*id).or_insert(*at);
            *entry = Ord::max(*entry, *at);
        }
        if latest.is_empty() {
            return Ok(());
        }
        if self.conn().get_database_backend() == DbBackend::Postgres {
            let latest: Vec<_> = latest.into_iter().collect();
            for chunk in latest.chunks(USAGE_CHUNK) {
                record_usage_postgres(self.conn(), chunk).await?;
            }
            return Ok(());
        }
        let txn = write_txn(self.conn()).await?;
        for (id, at) in latest {
            // Never move last_used_at backwards; the version is untouched (not a state change).
            Entity::update_many()
                .col_expr(Column::LastUsedAt, Expr::val(at))
                .filter(Column::Id.eq(id.as_uuid()))
                .filter(Column::LastUsedAt.is_null().or(Column::LastUsedAt.lt(at)))
                .exec(&txn)
                .await
                .map_err(backend)?;
        }
        txn.commit().await.map_err(backend)
    }

    async fn save_refresh(
        &self,
        write: RefreshWrite<'_>,
    ) -> StorageResult<(Integration, StoredTokens)> {
        super::connection::save_refresh(self, write).await
    }

    async fn save_connection(
        &self,
        write: ConnectionWrite,
    ) -> StorageResult<(Integration, StoredTokens, Consent)> {
        super::connection::save_connection(self, write).await
    }

    async fn update_lifecycle(
        &self,
        before: &Integration,
        wanted: &Integration,
        reason: ReasonCode,
    ) -> StorageResult<Option<Integration>> {
        super::connection::update_lifecycle(self, before, wanted, reason).await
    }

    async fn mark_revoked(
        &self,
        id: IntegrationId,
        at: DateTime<Utc>,
        reason: ReasonCode,
    ) -> StorageResult<Integration> {
        super::connection::mark_revoked(self, id, at, reason).await
    }
}
