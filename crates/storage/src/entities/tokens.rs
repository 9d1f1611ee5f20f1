//! The `tokens` table. Its secret columns hold Fernet ciphertexts; decryption (and so the
//! conversion to `StoredTokens`) happens in the token repository, which holds the cipher.

use sea_orm::entity::prelude::*;

pub(crate) const TABLE: &str = "tokens";
pub(crate) const ACCESS_TOKEN: &str = "access_token";
pub(crate) const REFRESH_TOKEN: &str = "refresh_token";
pub(crate) const LAUNCH_CONTEXT: &str = "launch_context";

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub integration_id: Option<Uuid>,
    pub provider: String,
    pub app_key: Option<String>,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub token_type: String,
    pub expires_at: Option<DateTimeUtc>,
    pub refresh_expires_at: Option<DateTimeUtc>,
    pub scope: Option<Json>,
    pub launch_context: Option<String>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
