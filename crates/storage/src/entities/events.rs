//! The `events` outbox (append-only but for pruning by age) and `app_token_states`.

use sea_orm::entity::prelude::*;
use tether_core::StorageError;
use tether_core::events::Event;
use tether_core::ports::StoredEvent;

use super::corrupt;

pub(crate) const TABLE: &str = "events";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub id: Uuid,
    pub event_type: String,
    pub integration_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub provider: String,
    pub occurred_at: DateTimeUtc,
    pub payload: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl TryFrom<Model> for StoredEvent {
    type Error = StorageError;

    fn try_from(m: Model) -> Result<Self, StorageError> {
        let event: Event =
            serde_json::from_value(m.payload).map_err(|e| corrupt(TABLE, m.seq, e))?;
        Ok(StoredEvent { seq: m.seq, event })
    }
}

pub(crate) mod app_token_states {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "app_token_states")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub app_key: String,
        pub status: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
