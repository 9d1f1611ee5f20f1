//! `IntegrationOverview`: counts by provider and status, and the integrations that need an
//! operator's attention, for the console's overview page.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use tether_core::ports::{
    IntegrationCount, IntegrationOverview, IntegrationSearch, RefreshBacklog,
};
use tether_core::{Integration, IntegrationStatus, StorageResult};

use super::{SqlStore, backend};
use crate::entities::integrations::{Column, Entity, TABLE};
use crate::entities::parse_col;

#[derive(Debug, FromQueryResult)]
struct CountRow {
    provider: String,
    status: String,
    count: i64,
}

/// Usable integrations due at `now` (what the scheduler claims from, claimed or not).
fn due_at(now: DateTime<Utc>) -> Select<Entity> {
    let usable = IntegrationStatus::ALL
        .iter()
        .filter(|s| s.is_usable())
        .map(|s| s.as_str());
    Entity::find()
        .filter(Column::Status.is_in(usable))
        .filter(Column::NextRefreshAt.lte(now))
}

#[async_trait]
impl IntegrationOverview for SqlStore {
    async fn integration_counts(&self) -> StorageResult<Vec<IntegrationCount>> {
        let rows = Entity::find()
            .select_only()
            .column(Column::Provider)
            .column(Column::Status)
            .column_as(Expr::col(Column::Id).count(), "count")
            .group_by(Column::Provider)
            .group_by(Column::Status)
            .order_by_asc(Column::Provider)
            .order_by_asc(Column::Status)
            .into_model::<CountRow>()
            .all(self.conn())
            .await
            .map_err(backend)?;
        rows.into_iter()
            .map(|row| {
                let what = format!("{}/{}", row.provider, row.status);
                Ok(IntegrationCount {
                    provider: parse_col(TABLE, &what, &row.provider)?,
                    status: parse_col(TABLE, &what, &row.status)?,
                    count: u64::try_from(row.count).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn needing_attention(&self, limit: u64) -> StorageResult<Vec<Integration>> {
        let wanted = [
            IntegrationStatus::Degraded,
            IntegrationStatus::ReauthRequired,
            IntegrationStatus::InsufficientScopes,
        ]
        .map(|s| s.as_str());
        Entity::find()
            .filter(Column::Status.is_in(wanted))
            .order_by_desc(Column::UpdatedAt)
            .order_by_desc(Column::Id)
            .limit(Ord::min(limit, 500))
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(Integration::try_from)
            .collect()
    }

    async fn search(&self, search: &IntegrationSearch) -> StorageResult<Vec<Integration>> {
        let mut query = Entity::find();
        if let Some(user) = &search.user_id {
            query = query.filter(Column::UserId.eq(user.as_str()));
        }
        if let Some(provider) = search.provider {
            query = query.filter(Column::Provider.eq(provider.as_str()));
        }
        if let Some(status) = search.status {
            query = query.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(account) = search.account.as_deref().filter(|a| !a.is_empty()) {
            // LIKE's wildcards in the text are matched literally.
            let pattern = format!(
                "%{}%",
                account
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            query = query.filter(
                Expr::expr(Func::lower(Expr::col(Column::AccountLabel)))
                    .like(LikeExpr::new(pattern).escape('\\')),
            );
        }
        query
            .order_by_desc(Column::UpdatedAt)
            .order_by_desc(Column::Id)
            .limit(Ord::min(search.limit, 500))
            .offset(search.offset)
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(Integration::try_from)
            .collect()
    }

    async fn refresh_backlog(&self, now: DateTime<Utc>) -> StorageResult<RefreshBacklog> {
        let due = due_at(now).count(self.conn()).await.map_err(backend)?;
        // The oldest row rather than MIN(): the column decodes the same way on both engines.
        let oldest_due_at = due_at(now)
            .select_only()
            .column(Column::NextRefreshAt)
            .order_by_asc(Column::NextRefreshAt)
            .limit(1)
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(self.conn())
            .await
            .map_err(backend)?
            .flatten();
        Ok(RefreshBacklog { due, oldest_due_at })
    }
}
