//! `LockRepository`: named leases in the `locks` table for the embedded mode's
//! cross-process locks. Taking a lock is one upsert that only overwrites a lapsed lease, so of
//! concurrent takers exactly one succeeds; releasing deletes only the owner's own lease.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, ExprTrait};
use tether_core::StorageResult;
use tether_core::ports::LockRepository;

use super::{SqlStore, backend};

fn t() -> Alias {
    Alias::new("locks")
}

fn c(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait]
impl LockRepository for SqlStore {
    async fn try_acquire(
        &self,
        name: &str,
        owner: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StorageResult<bool> {
        let mut stmt = Query::insert();
        stmt.into_table(t())
            .columns([c("name"), c("owner"), c("expires_at"), c("acquired_at")])
            .values([name.into(), owner.into(), expires_at.into(), now.into()])
            .map_err(|e| tether_core::StorageError::Backend(e.to_string()))?
            .on_conflict(
                OnConflict::column(c("name"))
                    .update_columns([c("owner"), c("expires_at"), c("acquired_at")])
                    .action_and_where(Expr::col((t(), c("expires_at"))).lt(now))
                    .to_owned(),
            );
        let result = self.conn().execute(&stmt).await.map_err(backend)?;
        Ok(result.rows_affected() == 1)
    }

    async fn release(&self, name: &str, owner: &str) -> StorageResult<bool> {
        let mut stmt = Query::delete();
        stmt.from_table(t())
            .and_where(Expr::col(c("name")).eq(name))
            .and_where(Expr::col(c("owner")).eq(owner));
        let result = self.conn().execute(&stmt).await.map_err(backend)?;
        Ok(result.rows_affected() == 1)
    }

    async fn extend(
        &self,
        name: &str,
        owner: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StorageResult<bool> {
        let mut stmt = Query::update();
        stmt.table(t())
            .value(c("expires_at"), expires_at)
            .and_where(Expr::col(c("name")).eq(name))
            .and_where(Expr::col(c("owner")).eq(owner))
            .and_where(Expr::col(c("expires_at")).gte(now));
        let result = self.conn().execute(&stmt).await.map_err(backend)?;
        Ok(result.rows_affected() == 1)
    }
}
