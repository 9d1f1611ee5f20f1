//! `ProviderConfigRepository`: run-time provider credentials, the client secret encrypted with
//! the config row's id as context.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QueryTrait,
};
use serde_json::Value;
use tether_core::ids::ProviderConfigId;
use tether_core::ports::ProviderConfigRepository;
use tether_core::provider_config::{ProviderConfig, ProviderConfigInput};
use tether_core::secret::ClientSecret;
use tether_core::{ProviderKind, StorageError, StorageResult};
use uuid::Uuid;

use super::{SqlStore, backend, db_err, now, update_returning, write_txn};
use crate::cipher::{CipherContext, TokenCipher};
use crate::entities::provider_configs::{ActiveModel, CLIENT_SECRET, Column, Entity, Model, TABLE};
use crate::entities::{corrupt, parse_col};

const ENTITY: &str = "provider config";
const DUPLICATE: &str = "this provider instance is already configured";

fn ctx(id: Uuid) -> CipherContext {
    CipherContext::new(TABLE, CLIENT_SECRET, id)
}

fn to_domain(cipher: &TokenCipher, m: Model) -> StorageResult<ProviderConfig> {
    let id = m.id;
    let endpoint_overrides: BTreeMap<String, String> = serde_json::from_value(m.endpoint_overrides)
        .map_err(|e| corrupt(TABLE, id, format!("bad endpoint overrides: {e}")))?;
    let options: BTreeMap<String, String> = match m.options {
        Some(value) => serde_json::from_value(value)
            .map_err(|e| corrupt(TABLE, id, format!("bad options: {e}")))?,
        None => BTreeMap::new(),
    };
    Ok(ProviderConfig {
        id: ProviderConfigId::from_uuid(id),
        provider: parse_col(TABLE, id, &m.provider)?,
        instance: m.instance,
        client_id: m.client_id,
        client_secret: m
            .client_secret
            .map(|s| cipher.decrypt(&ctx(id), &s).map(ClientSecret::new))
            .transpose()?,
        redirect_base: m.redirect_base,
        endpoint_overrides,
        site_url: m.site_url,
        options,
        enabled: m.enabled,
        created_at: m.created_at,
        updated_at: m.updated_at,
        version: m.version,
    })
}

fn overrides_json(overrides: &BTreeMap<String, String>) -> Value {
    Value::Object(
        overrides
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn find(provider: ProviderKind, instance: &str) -> sea_orm::Select<Entity> {
    Entity::find()
        .filter(Column::Provider.eq(provider.as_str()))
        .filter(Column::Instance.eq(instance))
}

#[async_trait]
impl ProviderConfigRepository for SqlStore {
    async fn get(
        &self,
        provider: ProviderKind,
        instance: &str,
    ) -> StorageResult<Option<ProviderConfig>> {
        find(provider, instance)
            .one(self.conn())
            .await
            .map_err(backend)?
            .map(|m| to_domain(self.cipher(), m))
            .transpose()
    }

    async fn list(&self) -> StorageResult<Vec<ProviderConfig>> {
        Entity::find()
            .order_by_asc(Column::Provider)
            .order_by_asc(Column::Instance)
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(|m| to_domain(self.cipher(), m))
            .collect()
    }

    async fn upsert(&self, input: ProviderConfigInput) -> StorageResult<ProviderConfig> {
        let txn = write_txn(self.conn()).await?;
        let existing = find(input.provider, &input.instance)
            .one(&txn)
            .await
            .map_err(backend)?;
        let at = now();
        let (id, mut model) = match &existing {
            Some(row) => (row.id, <ActiveModel as Default>::default()),
            None => {
                let id = ProviderConfigId::new().as_uuid();
                let model = ActiveModel {
                    id: Set(id),
                    provider: Set(input.provider.as_str().to_owned()),
                    instance: Set(input.instance.clone()),
                    // No secret given for a new config: there is none to keep.
                    client_secret: Set(None),
                    created_at: Set(at),
                    version: Set(1),
                    ..Default::default()
                };
                (id, model)
            }
        };
        if let Some(secret) = &input.client_secret {
            model.client_secret = Set(Some(
                self.cipher().encrypt(&ctx(id), secret.expose_secret()),
            ));
        }
        model.client_id = Set(input.client_id);
        model.redirect_base = Set(input.redirect_base);
        model.endpoint_overrides = Set(overrides_json(&input.endpoint_overrides));
        model.site_url = Set(input.site_url);
        model.options = Set(Some(overrides_json(&input.options)));
        model.enabled = Set(input.enabled);
        model.updated_at = Set(at);
        let saved = match existing {
            None => model
                .insert(&txn)
                .await
                .map_err(db_err(ENTITY, DUPLICATE))?,
            Some(row) => {
                let stmt = Entity::update_many()
                    .set(model)
                    .col_expr(Column::Version, Expr::col(Column::Version).add(1))
                    .filter(Column::Id.eq(row.id))
                    .filter(Column::Version.eq(row.version))
                    .into_query();
                update_returning::<Entity, _>(&txn, stmt)
                    .await
                    .map_err(db_err(ENTITY, DUPLICATE))?
                    .ok_or_else(|| StorageError::VersionConflict {
                        entity: ENTITY,
                        id: row.id.to_string(),
                        expected: row.version,
                    })?
            }
        };
        txn.commit().await.map_err(backend)?;
        to_domain(self.cipher(), saved)
    }

    async fn delete(&self, provider: ProviderKind, instance: &str) -> StorageResult<bool> {
        let result = Entity::delete_many()
            .filter(Column::Provider.eq(provider.as_str()))
            .filter(Column::Instance.eq(instance))
            .exec(self.conn())
            .await
            .map_err(backend)?;
        Ok(result.rows_affected > 0)
    }
}
