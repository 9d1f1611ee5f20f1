//! The console tables: `console_accounts`, `console_grants` and `console_sessions`.

use tether_core::StorageError;
use tether_core::console::{ConsoleAccount, ConsoleGrant, ConsoleSession, Username};
use tether_core::ids::{ConsoleAccountId, ConsoleSessionId};

use super::{corrupt, parse_col};

pub(crate) const ACCOUNTS: &str = "console_accounts";
pub(crate) const GRANTS: &str = "console_grants";

pub(crate) mod accounts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub username: String,
        pub role: String,
        pub password_hash: String,
        pub disabled_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod grants {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub instance: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod sessions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub account_id: Uuid,
        #[sea_orm(unique)]
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An account row and its grant rows as the domain type.
pub(crate) fn account(
    m: accounts::Model,
    grant_rows: Vec<grants::Model>,
) -> Result<ConsoleAccount, StorageError> {
    let id = m.id;
    let grants = grant_rows
        .into_iter()
        .map(|g| {
            Ok(ConsoleGrant {
                provider: parse_col(GRANTS, id, &g.provider)?,
                instance: g.instance,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(ConsoleAccount {
        id: ConsoleAccountId::from_uuid(id),
        username: Username::parse(&m.username).map_err(|e| corrupt(ACCOUNTS, id, e))?,
        role: parse_col(ACCOUNTS, id, &m.role)?,
        password_hash: m.password_hash,
        disabled_at: m.disabled_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
        grants,
    })
}

impl From<sessions::Model> for ConsoleSession {
    fn from(m: sessions::Model) -> Self {
        ConsoleSession {
            id: ConsoleSessionId::from_uuid(m.id),
            account_id: ConsoleAccountId::from_uuid(m.account_id),
            token_hash: m.token_hash,
            created_at: m.created_at,
            expires_at: m.expires_at,
        }
    }
}
