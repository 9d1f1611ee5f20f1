//! The `audit_log` table (append-only: the repository has no update or delete path).

use sea_orm::entity::prelude::*;
use tether_core::audit::{Actor, ActorKind, AuditEvent, AuditRecord};
use tether_core::ids::AuditId;
use tether_core::{IntegrationId, StorageError, UserId};

use super::{corrupt, parse_col, scopes_from_json};

pub(crate) const TABLE: &str = "audit_log";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub integration_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub actor: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub provider: Option<String>,
    pub scopes: Option<Json>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub success: bool,
    pub error_message: Option<String>,
    pub detail: Option<Json>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl TryFrom<Model> for AuditRecord {
    type Error = StorageError;

    fn try_from(m: Model) -> Result<Self, StorageError> {
        let id = m.id;
        let kind: ActorKind = parse_col(TABLE, id, &m.actor)?;
        let event = AuditEvent {
            integration_id: m.integration_id.map(IntegrationId::from_uuid),
            user_id: m
                .user_id
                .map(UserId::parse)
                .transpose()
                .map_err(|e| corrupt(TABLE, id, e))?,
            actor: Actor::from_parts(kind, m.actor_id.as_deref())
                .map_err(|e| corrupt(TABLE, id, e))?,
            action: parse_col(TABLE, id, &m.action)?,
            provider: m.provider.map(|p| parse_col(TABLE, id, &p)).transpose()?,
            scopes: m
                .scopes
                .map(|s| scopes_from_json(TABLE, id, s))
                .transpose()?,
            ip_address: m.ip_address,
            user_agent: m.user_agent,
            success: m.success,
            error_message: m.error_message,
            detail: m.detail,
            created_at: m.created_at,
        };
        Ok(AuditRecord {
            id: AuditId::from_uuid(id),
            event,
        })
    }
}
