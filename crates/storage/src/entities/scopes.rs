//! The `scopes` table: the scope catalogue.

use sea_orm::entity::prelude::*;
use tether_core::scope_catalog::ScopeCatalogEntry;
use tether_core::{Scope, StorageError};

use super::{corrupt, parse_col};

pub(crate) const TABLE: &str = "scopes";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scopes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    pub scope_name: String,
    pub display_name: String,
    pub description: String,
    pub category: String,
    pub is_required: bool,
    pub is_dangerous: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl TryFrom<Model> for ScopeCatalogEntry {
    type Error = StorageError;

    fn try_from(m: Model) -> Result<Self, StorageError> {
        let id = m.id;
        Ok(ScopeCatalogEntry {
            provider: parse_col(TABLE, id, &m.provider)?,
            scope: Scope::parse(m.scope_name).map_err(|e| corrupt(TABLE, id, e))?,
            display_name: m.display_name,
            description: m.description,
            category: parse_col(TABLE, id, &m.category)?,
            is_required: m.is_required,
            is_dangerous: m.is_dangerous,
        })
    }
}
