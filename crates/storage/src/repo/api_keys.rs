//! `ApiKeyRepository`: service and admin keys, looked up by hash only.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use tether_core::api_key::{ApiKey, NewApiKey};
use tether_core::ports::ApiKeyRepository;
use tether_core::{ApiKeyId, StorageResult};

use super::{SqlStore, backend, db_err, now};
use crate::entities::api_keys::{ActiveModel, Column, Entity};

#[async_trait]
impl ApiKeyRepository for SqlStore {
    async fn create(&self, new: NewApiKey) -> StorageResult<ApiKey> {
        let model = ActiveModel {
            id: Set(ApiKeyId::new().as_uuid()),
            name: Set(new.name),
            role: Set(new.role.as_str().to_owned()),
            prefix: Set(new.prefix),
            key_hash: Set(new.key_hash),
            created_at: Set(now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
        };
        model
            .insert(self.conn())
            .await
            .map_err(db_err("api key", "a key with this hash exists"))?
            .try_into()
    }

    async fn find_active_by_hash(&self, key_hash: &str) -> StorageResult<Option<ApiKey>> {
        Entity::find()
            .filter(Column::KeyHash.eq(key_hash))
            .filter(Column::RevokedAt.is_null())
            .one(self.conn())
            .await
            .map_err(backend)?
            .map(ApiKey::try_from)
            .transpose()
    }

    async fn list(&self) -> StorageResult<Vec<ApiKey>> {
        Entity::find()
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(ApiKey::try_from)
            .collect()
    }

    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> StorageResult<bool> {
        let result = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::val(at))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::RevokedAt.is_null())
            .exec(self.conn())
            .await
            .map_err(backend)?;
        Ok(result.rows_affected > 0)
    }

    async fn touch(&self, id: ApiKeyId, at: DateTime<Utc>) -> StorageResult<()> {
        Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::val(at))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }
}
