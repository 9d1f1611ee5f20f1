//! `OAuthStateRepository`: single-use pending authorizations for the embedded mode, the
//! payload encrypted with the state key as context.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
};
use tether_core::StorageResult;
use tether_core::ports::{OAuthStateRepository, TakenFlowState};
use tether_core::secret::OpaqueSecret;

use super::{SqlStore, backend, db_err, now};
use crate::cipher::CipherContext;
use crate::entities::oauth_states::{ActiveModel, Column, Entity, Model, PAYLOAD, TABLE};

fn ctx(key: &str) -> CipherContext {
    CipherContext::new(TABLE, PAYLOAD, key)
}

#[async_trait]
impl OAuthStateRepository for SqlStore {
    async fn put(
        &self,
        key: &str,
        payload: &OpaqueSecret,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<()> {
        let model = ActiveModel {
            state_key: Set(key.to_owned()),
            payload: Set(self.cipher().encrypt(&ctx(key), payload.expose_secret())),
            expires_at: Set(expires_at),
            created_at: Set(now()),
        };
        Entity::insert(model)
            .exec_without_returning(self.conn())
            .await
            .map_err(db_err("oauth state", "this state key is already pending"))?;
        Ok(())
    }

    async fn take(&self, key: &str) -> StorageResult<Option<TakenFlowState>> {
        // One statement that deletes and returns: of concurrent takers only the one whose
        // DELETE removed the row sees it (no select-then-delete race).
        let mut stmt = Query::delete();
        stmt.from_table(Entity)
            .and_where(Column::StateKey.eq(key))
            .returning_all();
        let Some(row) = self.conn().query_one(&stmt).await.map_err(backend)? else {
            return Ok(None);
        };
        let model = Model::from_query_result(&row, "").map_err(backend)?;
        let payload = self.cipher().decrypt(&ctx(key), &model.payload)?;
        Ok(Some(TakenFlowState {
            payload: OpaqueSecret::new(payload),
            expires_at: model.expires_at,
        }))
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> StorageResult<u64> {
        let result = Entity::delete_many()
            .filter(Column::ExpiresAt.lt(now))
            .exec(self.conn())
            .await
            .map_err(backend)?;
        Ok(result.rows_affected)
    }
}
