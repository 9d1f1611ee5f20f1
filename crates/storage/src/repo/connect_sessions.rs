//! `ConnectSessionRepository`: hosted connect sessions, looked up by the hash of the link's
//! token only, and spent by one conditional `UPDATE … WHERE used_at IS NULL AND expires_at >
//! now` so exactly one of any number of concurrent takes wins, on either engine.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryTrait,
};
use tether_core::connect_session::{ConnectSession, ConnectTarget, NewConnectSession};
use tether_core::ports::ConnectSessionRepository;
use tether_core::{ConnectSessionId, ProviderKind, StorageResult};

use super::{SqlStore, backend, db_err, update_returning};
use crate::entities::connect_sessions::{
    ActiveModel, Column, Entity, instances_to_json, providers_to_json, scopes_map_to_json,
};
use crate::entities::scopes_to_json;

#[async_trait]
impl ConnectSessionRepository for SqlStore {
    async fn create_connect_session(
        &self,
        new: NewConnectSession,
    ) -> StorageResult<ConnectSession> {
        let (return_to, opener_origin) = match new.target {
            ConnectTarget::ReturnTo(url) => (Some(url), None),
            ConnectTarget::Opener(origin) => (None, Some(origin)),
        };
        let model = ActiveModel {
            id: Set(new.id.as_uuid()),
            token_hash: Set(new.token_hash),
            user_id: Set(new.user_id.as_str().to_owned()),
            providers: Set(providers_to_json(&new.providers)),
            scopes: Set(scopes_map_to_json(&new.scopes)),
            instances: Set(instances_to_json(&new.instances)),
            return_to: Set(return_to),
            opener_origin: Set(opener_origin),
            integration_id: Set(new.upgrade.as_ref().map(|u| u.integration_id.as_uuid())),
            extra_scopes: Set(new
                .upgrade
                .as_ref()
                .map(|u| scopes_to_json(&u.extra_scopes))),
            created_by: Set(new.created_by.map(|k| k.as_uuid())),
            created_at: Set(new.created_at),
            expires_at: Set(new.expires_at),
            used_at: Set(None),
            chosen_provider: Set(None),
        }
        .insert(self.conn())
        .await
        .map_err(db_err("connect session", "the token is already in use"))?;
        ConnectSession::try_from(model)
    }

    async fn connect_session_by_token_hash(
        &self,
        token_hash: &str,
    ) -> StorageResult<Option<ConnectSession>> {
        Entity::find()
            .filter(Column::TokenHash.eq(token_hash))
            .one(self.conn())
            .await
            .map_err(backend)?
            .map(ConnectSession::try_from)
            .transpose()
    }

    async fn connect_session(&self, id: ConnectSessionId) -> StorageResult<Option<ConnectSession>> {
        Entity::find_by_id(id.as_uuid())
            .one(self.conn())
            .await
            .map_err(backend)?
            .map(ConnectSession::try_from)
            .transpose()
    }

    async fn take_connect_session(
        &self,
        token_hash: &str,
        provider: ProviderKind,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<ConnectSession>> {
        let stmt = Entity::update_many()
            .col_expr(Column::UsedAt, Expr::val(now))
            .col_expr(Column::ChosenProvider, Expr::val(provider.as_str()))
            .filter(Column::TokenHash.eq(token_hash))
            .filter(Column::UsedAt.is_null())
            .filter(Column::ExpiresAt.gt(now))
            .into_query();
        update_returning::<Entity, _>(self.conn(), stmt)
            .await
            .map_err(backend)?
            .map(ConnectSession::try_from)
            .transpose()
    }

    async fn purge_connect_sessions(&self, before: DateTime<Utc>) -> StorageResult<u64> {
        let result = Entity::delete_many()
            .filter(Column::ExpiresAt.lt(before))
            .exec(self.conn())
            .await
            .map_err(backend)?;
        Ok(result.rows_affected)
    }
}
