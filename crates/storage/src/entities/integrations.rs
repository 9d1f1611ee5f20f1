//! The `integrations` table.

use sea_orm::entity::prelude::*;
use tether_core::integration::Integration;
use tether_core::{IntegrationId, StorageError, UserId};

use super::{corrupt, parse_col, scopes_from_json};

pub(crate) const TABLE: &str = "integrations";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: String,
    pub provider: String,
    pub provider_account_id: String,
    pub account_label: Option<String>,
    pub status: String,
    pub requested_scopes: Json,
    pub granted_scopes: Json,
    pub metadata: Json,
    pub last_refreshed_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub next_refresh_at: Option<DateTimeUtc>,
    pub failure_count: i32,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
    /// The refresh scheduler's claim (not part of the domain type).
    pub refresh_claimed_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl TryFrom<Model> for Integration {
    type Error = StorageError;

    fn try_from(m: Model) -> Result<Self, StorageError> {
        let id = m.id;
        Ok(Integration {
            id: IntegrationId::from_uuid(id),
            user_id: UserId::parse(m.user_id).map_err(|e| corrupt(TABLE, id, e))?,
            provider: parse_col(TABLE, id, &m.provider)?,
            provider_account_id: m.provider_account_id,
            account_label: m.account_label,
            status: parse_col(TABLE, id, &m.status)?,
            requested_scopes: scopes_from_json(TABLE, id, m.requested_scopes)?,
            granted_scopes: scopes_from_json(TABLE, id, m.granted_scopes)?,
            metadata: m.metadata,
            last_refreshed_at: m.last_refreshed_at,
            last_used_at: m.last_used_at,
            next_refresh_at: m.next_refresh_at,
            failure_count: m.failure_count,
            last_error: m.last_error,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        })
    }
}
