//! The `provider_configs` table. `client_secret` is a Fernet ciphertext, decrypted by the
//! repository, which holds the cipher.

use sea_orm::entity::prelude::*;

pub(crate) const TABLE: &str = "provider_configs";
pub(crate) const CLIENT_SECRET: &str = "client_secret";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "provider_configs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider: String,
    pub instance: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_base: Option<String>,
    pub endpoint_overrides: Json,
    pub site_url: Option<String>,
    pub options: Option<Json>,
    pub enabled: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
