//! The `connect_sessions` table.

use std::collections::BTreeMap;

use sea_orm::entity::prelude::*;
use serde_json::Value;
use tether_core::connect_session::{ConnectSession, ConnectTarget, ConnectUpgrade};
use tether_core::{ApiKeyId, ConnectSessionId, IntegrationId, ProviderKind, ScopeSet, UserId};

use super::{corrupt, parse_col, scopes_from_json, scopes_to_json};

pub(crate) const TABLE: &str = "connect_sessions";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "connect_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub user_id: String,
    pub providers: Json,
    pub scopes: Json,
    pub instances: Json,
    pub return_to: Option<String>,
    pub opener_origin: Option<String>,
    pub integration_id: Option<Uuid>,
    pub extra_scopes: Option<Json>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    pub chosen_provider: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub(crate) fn providers_to_json(providers: &[ProviderKind]) -> Value {
    Value::Array(
        providers
            .iter()
            .map(|p| Value::String(p.as_str().to_owned()))
            .collect(),
    )
}

pub(crate) fn instances_to_json(instances: &BTreeMap<ProviderKind, String>) -> Value {
    Value::Object(
        instances
            .iter()
            .map(|(p, i)| (p.as_str().to_owned(), Value::String(i.clone())))
            .collect(),
    )
}

pub(crate) fn scopes_map_to_json(scopes: &BTreeMap<ProviderKind, ScopeSet>) -> Value {
    Value::Object(
        scopes
            .iter()
            .map(|(p, s)| (p.as_str().to_owned(), scopes_to_json(s)))
            .collect(),
    )
}

impl TryFrom<Model> for ConnectSession {
    type Error = tether_core::StorageError;

    fn try_from(m: Model) -> Result<Self, Self::Error> {
        let id = m.id;
        let names: Vec<String> = serde_json::from_value(m.providers)
            .map_err(|e| corrupt(TABLE, id, format!("bad provider list: {e}")))?;
        let providers = names
            .iter()
            .map(|n| parse_col(TABLE, id, n))
            .collect::<Result<Vec<ProviderKind>, _>>()?;
        let Value::Object(entries) = m.scopes else {
            return Err(corrupt(TABLE, id, "scopes is not a JSON object"));
        };
        let scopes = entries
            .into_iter()
            .map(|(name, list)| {
                Ok((
                    parse_col(TABLE, id, &name)?,
                    scopes_from_json(TABLE, id, list)?,
                ))
            })
            .collect::<Result<BTreeMap<_, _>, tether_core::StorageError>>()?;
        let Value::Object(named) = m.instances else {
            return Err(corrupt(TABLE, id, "instances is not a JSON object"));
        };
        let instances = named
            .into_iter()
            .map(|(provider, instance)| match instance {
                Value::String(instance) => Ok((parse_col(TABLE, id, &provider)?, instance)),
                _ => Err(corrupt(TABLE, id, "an instance is not a string")),
            })
            .collect::<Result<BTreeMap<_, _>, tether_core::StorageError>>()?;
        let target = match (m.return_to, m.opener_origin) {
            (Some(url), None) => ConnectTarget::ReturnTo(url),
            (None, Some(origin)) => ConnectTarget::Opener(origin),
            _ => {
                return Err(corrupt(
                    TABLE,
                    id,
                    "exactly one of return_to and opener_origin must be set",
                ));
            }
        };
        let upgrade = match (m.integration_id, m.extra_scopes) {
            (None, None) => None,
            (Some(integration), Some(extra)) => Some(ConnectUpgrade {
                integration_id: IntegrationId::from_uuid(integration),
                extra_scopes: scopes_from_json(TABLE, id, extra)?,
            }),
            _ => {
                return Err(corrupt(
                    TABLE,
                    id,
                    "integration_id and extra_scopes go together",
                ));
            }
        };
        Ok(ConnectSession {
            id: ConnectSessionId::from_uuid(id),
            user_id: UserId::parse(m.user_id).map_err(|e| corrupt(TABLE, id, e))?,
            providers,
            scopes,
            instances,
            target,
            upgrade,
            created_by: m.created_by.map(ApiKeyId::from_uuid),
            created_at: m.created_at,
            expires_at: m.expires_at,
            used_at: m.used_at,
            chosen_provider: m
                .chosen_provider
                .as_deref()
                .map(|p| parse_col(TABLE, id, p))
                .transpose()?,
        })
    }
}
