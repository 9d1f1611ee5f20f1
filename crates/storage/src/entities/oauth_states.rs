//! The `oauth_states` table: pending authorizations of the embedded mode, payload encrypted.

use sea_orm::entity::prelude::*;

pub(crate) const TABLE: &str = "oauth_states";
pub(crate) const PAYLOAD: &str = "payload";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_key: String,
    pub payload: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
