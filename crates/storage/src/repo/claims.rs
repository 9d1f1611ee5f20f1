//! The refresh scheduler's claims on due integrations: one `UPDATE … WHERE id IN (SELECT …
//! FOR UPDATE SKIP LOCKED) RETURNING *`, so replicas claiming at once get disjoint rows
//! without waiting on each other, and a claim is a lease that lapses by itself.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, ExprTrait,
    FromQueryResult, QueryFilter, QueryTrait,
};
use tether_core::integration::{Integration, IntegrationStatus};
use tether_core::{IntegrationId, ProviderKind, StorageResult};

use super::backend;
use crate::entities::integrations::{Column, Entity, Model};

pub(super) async fn claim_due(
    conn: &DatabaseConnection,
    now: DateTime<Utc>,
    limit: u64,
    claim_until: DateTime<Utc>,
    only: &[ProviderKind],
) -> StorageResult<Vec<Integration>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let usable = IntegrationStatus::ALL
        .iter()
        .filter(|s| s.is_usable())
        .map(|s| s.as_str());
    let mut due = Query::select();
    due.column(Column::Id)
        .from(Entity)
        .and_where(Column::Status.is_in(usable))
        .and_where(Expr::col(Column::NextRefreshAt).lte(now))
        .and_where(
            Expr::col(Column::RefreshClaimedUntil)
                .is_null()
                .or(Expr::col(Column::RefreshClaimedUntil).lt(now)),
        )
        .order_by(Column::NextRefreshAt, sea_orm::Order::Asc)
        .limit(limit);
    if !only.is_empty() {
        due.and_where(Column::Provider.is_in(only.iter().map(|p| p.as_str())));
    }
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let mut claim = Entity::update_many()
        .col_expr(Column::RefreshClaimedUntil, Expr::val(claim_until))
        .filter(Column::Id.in_subquery(due))
        .into_query();
    claim.returning_all();
    let rows = conn.query_all(&claim).await.map_err(backend)?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            Model::from_query_result(row, "")
                .map_err(backend)?
                .try_into()
        })
        .collect::<StorageResult<Vec<Integration>>>()?;
    // RETURNING keeps no order.
    claimed.sort_by_key(|i| i.next_refresh_at);
    Ok(claimed)
}

pub(super) async fn release_claims(
    conn: &DatabaseConnection,
    ids: &[IntegrationId],
) -> StorageResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(
            Column::RefreshClaimedUntil,
            Expr::val(None::<DateTime<Utc>>),
        )
        .filter(Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
        .exec(conn)
        .await
        .map_err(backend)?;
    Ok(())
}
