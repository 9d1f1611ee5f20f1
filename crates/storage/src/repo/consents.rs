//! `ConsentRepository`: one row per grant; revoked by setting `revoked_at`, never deleted.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use tether_core::consent::{Consent, NewConsent};
use tether_core::ports::ConsentRepository;
use tether_core::{ConsentId, IntegrationId, StorageResult};

use super::{SqlStore, backend, db_err};
use crate::entities::consents::{ActiveModel, Column, Entity};
use crate::entities::scopes_to_json;

pub(super) async fn insert<C: ConnectionTrait>(
    conn: &C,
    new: NewConsent,
) -> StorageResult<Consent> {
    let model = ActiveModel {
        id: Set(ConsentId::new().as_uuid()),
        integration_id: Set(new.integration_id.as_uuid()),
        user_id: Set(new.user_id.to_string()),
        scopes: Set(scopes_to_json(&new.scopes)),
        granted_at: Set(new.granted_at),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        ip_address: Set(new.ip_address),
        user_agent: Set(new.user_agent),
        consent_version: Set(new.consent_version),
    };
    model
        .insert(conn)
        .await
        .map_err(db_err("consent", "this consent is already recorded"))?
        .try_into()
}

pub(super) async fn revoke<C: ConnectionTrait>(
    conn: &C,
    id: IntegrationId,
    at: DateTime<Utc>,
) -> StorageResult<u64> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::val(at))
        .filter(Column::IntegrationId.eq(id.as_uuid()))
        .filter(Column::RevokedAt.is_null())
        .exec(conn)
        .await
        .map_err(backend)?;
    Ok(result.rows_affected)
}

#[async_trait]
impl ConsentRepository for SqlStore {
    async fn record(&self, consent: NewConsent) -> StorageResult<Consent> {
        insert(self.conn(), consent).await
    }

    async fn list_for_integration(&self, id: IntegrationId) -> StorageResult<Vec<Consent>> {
        Entity::find()
            .filter(Column::IntegrationId.eq(id.as_uuid()))
            .order_by_asc(Column::GrantedAt)
            .order_by_asc(Column::Id)
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(Consent::try_from)
            .collect()
    }

    async fn revoke_for_integration(
        &self,
        id: IntegrationId,
        at: DateTime<Utc>,
    ) -> StorageResult<u64> {
        revoke(self.conn(), id, at).await
    }
}
