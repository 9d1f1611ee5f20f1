//! The `api_keys` table: keys are stored as hashes only.

use sea_orm::entity::prelude::*;
use tether_core::ApiKeyId;
use tether_core::StorageError;
use tether_core::api_key::ApiKey;

use super::parse_col;

pub(crate) const TABLE: &str = "api_keys";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub prefix: String,
    #[sea_orm(unique)]
    pub key_hash: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl TryFrom<Model> for ApiKey {
    type Error = StorageError;

    fn try_from(m: Model) -> Result<Self, StorageError> {
        Ok(ApiKey {
            id: ApiKeyId::from_uuid(m.id),
            name: m.name,
            role: parse_col(TABLE, m.id, &m.role)?,
            prefix: m.prefix,
            key_hash: m.key_hash,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
        })
    }
}
