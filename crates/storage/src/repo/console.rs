//! `ConsoleRepository`: console accounts with their grants, and their sessions (looked up by
//! the hash of the cookie's token only).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use tether_core::console::{
    ConsoleAccount, ConsoleGrant, ConsoleSession, NewConsoleAccount, Username,
};
use tether_core::ids::{ConsoleAccountId, ConsoleSessionId};
use tether_core::ports::ConsoleRepository;
use tether_core::{StorageError, StorageResult};
use uuid::Uuid;

use super::{SqlStore, backend, db_err, write_txn};
use crate::entities::console::{account, accounts, grants, sessions};

async fn grants_of<C: ConnectionTrait>(conn: &C, id: Uuid) -> StorageResult<Vec<grants::Model>> {
    grants::Entity::find()
        .filter(grants::Column::AccountId.eq(id))
        .order_by_asc(grants::Column::Provider)
        .order_by_asc(grants::Column::Instance)
        .all(conn)
        .await
        .map_err(backend)
}

async fn insert_grants<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    list: &[ConsoleGrant],
) -> StorageResult<()> {
    for grant in list {
        grants::ActiveModel {
            account_id: Set(id),
            provider: Set(grant.provider.as_str().to_owned()),
            instance: Set(grant.instance.clone()),
        }
        .insert(conn)
        .await
        .map_err(db_err("console grant", "the grant is listed twice"))?;
    }
    Ok(())
}

async fn with_grants<C: ConnectionTrait>(
    conn: &C,
    model: Option<accounts::Model>,
) -> StorageResult<Option<ConsoleAccount>> {
    match model {
        Some(m) => {
            let rows = grants_of(conn, m.id).await?;
            account(m, rows).map(Some)
        }
        None => Ok(None),
    }
}

/// Sets `updated_at` (and whatever `extra` sets) on the account; whether it exists.
async fn touch_account<C: ConnectionTrait>(
    conn: &C,
    id: ConsoleAccountId,
    at: DateTime<Utc>,
    extra: impl FnOnce(sea_orm::UpdateMany<accounts::Entity>) -> sea_orm::UpdateMany<accounts::Entity>,
) -> StorageResult<bool> {
    let update = accounts::Entity::update_many()
        .col_expr(accounts::Column::UpdatedAt, Expr::val(at))
        .filter(accounts::Column::Id.eq(id.as_uuid()));
    let result = extra(update).exec(conn).await.map_err(backend)?;
    Ok(result.rows_affected > 0)
}

async fn end_sessions<C: ConnectionTrait>(conn: &C, id: ConsoleAccountId) -> StorageResult<u64> {
    let result = sessions::Entity::delete_many()
        .filter(sessions::Column::AccountId.eq(id.as_uuid()))
        .exec(conn)
        .await
        .map_err(backend)?;
    Ok(result.rows_affected)
}

#[async_trait]
impl ConsoleRepository for SqlStore {
    async fn create_account(
        &self,
        new: NewConsoleAccount,
        at: DateTime<Utc>,
    ) -> StorageResult<ConsoleAccount> {
        let txn = write_txn(self.conn()).await?;
        let id = ConsoleAccountId::new().as_uuid();
        let model = accounts::ActiveModel {
            id: Set(id),
            username: Set(new.username.as_str().to_owned()),
            role: Set(new.role.as_str().to_owned()),
            password_hash: Set(new.password_hash),
            disabled_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&txn)
        .await
        .map_err(db_err("console account", "this username is taken"))?;
        insert_grants(&txn, id, &new.grants).await?;
        let created = with_grants(&txn, Some(model)).await?;
        txn.commit().await.map_err(backend)?;
        created.ok_or(StorageError::NotFound {
            entity: "console account",
        })
    }

    async fn account(&self, id: ConsoleAccountId) -> StorageResult<Option<ConsoleAccount>> {
        let model = accounts::Entity::find_by_id(id.as_uuid())
            .one(self.conn())
            .await
            .map_err(backend)?;
        with_grants(self.conn(), model).await
    }

    async fn account_by_username(
        &self,
        username: &Username,
    ) -> StorageResult<Option<ConsoleAccount>> {
        let model = accounts::Entity::find()
            .filter(accounts::Column::Username.eq(username.as_str()))
            .one(self.conn())
            .await
            .map_err(backend)?;
        with_grants(self.conn(), model).await
    }

    async fn list_accounts(&self) -> StorageResult<Vec<ConsoleAccount>> {
        let models = accounts::Entity::find()
            .order_by_asc(accounts::Column::Username)
            .all(self.conn())
            .await
            .map_err(backend)?;
        let mut by_account: HashMap<Uuid, Vec<grants::Model>> = HashMap::new();
        for row in grants::Entity::find()
            .order_by_asc(grants::Column::Provider)
            .order_by_asc(grants::Column::Instance)
            .all(self.conn())
            .await
            .map_err(backend)?
        {
            by_account.entry(row.account_id).or_default().push(row);
        }
        models
            .into_iter()
            .map(|m| {
                let rows = by_account.remove(&m.id).unwrap_or_default();
                account(m, rows)
            })
            .collect()
    }

    async fn set_disabled(
        &self,
        id: ConsoleAccountId,
        disabled: bool,
        at: DateTime<Utc>,
    ) -> StorageResult<bool> {
        let txn = write_txn(self.conn()).await?;
        let value: Option<DateTime<Utc>> = disabled.then_some(at);
        let found = touch_account(&txn, id, at, |u| {
            u.col_expr(accounts::Column::DisabledAt, Expr::val(value))
        })
        .await?;
        if found && disabled {
            end_sessions(&txn, id).await?;
        }
        txn.commit().await.map_err(backend)?;
        Ok(found)
    }

    async fn set_password_hash(
        &self,
        id: ConsoleAccountId,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> StorageResult<bool> {
        let txn = write_txn(self.conn()).await?;
        let found = touch_account(&txn, id, at, |u| {
            u.col_expr(accounts::Column::PasswordHash, Expr::val(password_hash))
        })
        .await?;
        if found {
            end_sessions(&txn, id).await?;
        }
        txn.commit().await.map_err(backend)?;
        Ok(found)
    }

    async fn set_grants(
        &self,
        id: ConsoleAccountId,
        list: &[ConsoleGrant],
        at: DateTime<Utc>,
    ) -> StorageResult<bool> {
        let txn = write_txn(self.conn()).await?;
        let found = touch_account(&txn, id, at, |u| u).await?;
        if found {
            grants::Entity::delete_many()
                .filter(grants::Column::AccountId.eq(id.as_uuid()))
                .exec(&txn)
                .await
                .map_err(backend)?;
            insert_grants(&txn, id.as_uuid(), list).await?;
        }
        txn.commit().await.map_err(backend)?;
        Ok(found)
    }

    async fn create_session(
        &self,
        account: ConsoleAccountId,
        token_hash: &str,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<ConsoleSession> {
        let model = sessions::ActiveModel {
            id: Set(ConsoleSessionId::new().as_uuid()),
            account_id: Set(account.as_uuid()),
            token_hash: Set(token_hash.to_owned()),
            created_at: Set(created_at),
            expires_at: Set(expires_at),
        }
        .insert(self.conn())
        .await
        .map_err(db_err(
            "console session",
            "a session with this token exists",
        ))?;
        Ok(model.into())
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<(ConsoleSession, ConsoleAccount)>> {
        let Some(session) = sessions::Entity::find()
            .filter(sessions::Column::TokenHash.eq(token_hash))
            .filter(sessions::Column::ExpiresAt.gt(now))
            .one(self.conn())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let owner = self
            .account(ConsoleAccountId::from_uuid(session.account_id))
            .await?;
        Ok(owner.map(|owner| (session.into(), owner)))
    }

    async fn delete_session(&self, id: ConsoleSessionId) -> StorageResult<bool> {
        let result = sessions::Entity::delete_by_id(id.as_uuid())
            .exec(self.conn())
            .await
            .map_err(backend)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_sessions(&self, account: ConsoleAccountId) -> StorageResult<u64> {
        end_sessions(self.conn(), account).await
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StorageResult<u64> {
        let result = sessions::Entity::delete_many()
            .filter(sessions::Column::ExpiresAt.lte(now))
            .exec(self.conn())
            .await
            .map_err(backend)?;
        Ok(result.rows_affected)
    }
}
