//! The `consents` table.

use sea_orm::entity::prelude::*;
use tether_core::consent::Consent;
use tether_core::{ConsentId, IntegrationId, StorageError, UserId};

use super::{corrupt, scopes_from_json};

pub(crate) const TABLE: &str = "consents";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub integration_id: Uuid,
    pub user_id: String,
    pub scopes: Json,
    pub granted_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub consent_version: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl TryFrom<Model> for Consent {
    type Error = StorageError;

    fn try_from(m: Model) -> Result<Self, StorageError> {
        let id = m.id;
        Ok(Consent {
            id: ConsentId::from_uuid(id),
            integration_id: IntegrationId::from_uuid(m.integration_id),
            user_id: UserId::parse(m.user_id).map_err(|e| corrupt(TABLE, id, e))?,
            scopes: scopes_from_json(TABLE, id, m.scopes)?,
            granted_at: m.granted_at,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
            ip_address: m.ip_address,
            user_agent: m.user_agent,
            consent_version: m.consent_version,
        })
    }
}
