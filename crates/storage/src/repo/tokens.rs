//! `TokenRepository`: token rows of integrations and app-level tokens, secrets encrypted with
//! the owning row's id as context, optimistic concurrency on `version`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    ExprTrait, QueryFilter, QuerySelect, QueryTrait,
};
use tether_core::ids::TokenId;
use tether_core::integration::Integration;
use tether_core::ports::TokenRepository;
use tether_core::secret::{AccessToken, OpaqueSecret, RefreshToken};
use tether_core::token::{AccessRead, StoredTokens, TokenOwner, TokenSet};
use tether_core::{IntegrationId, ProviderKind, StorageError, StorageResult};
use uuid::Uuid;

use super::{SqlStore, backend, db_err, now, update_returning};
use crate::cipher::{CipherContext, TokenCipher};
use crate::entities::tokens::{
    ACCESS_TOKEN, ActiveModel, Column, Entity, LAUNCH_CONTEXT, Model, REFRESH_TOKEN, TABLE,
};
use crate::entities::{corrupt, integrations, parse_col, scopes_from_json, scopes_to_json};

const ENTITY: &str = "tokens";
const DUPLICATE: &str = "a token row already exists for this owner";

fn owner_condition(owner: &TokenOwner) -> Condition {
    match owner {
        TokenOwner::Integration(id) => Condition::all().add(Column::IntegrationId.eq(id.as_uuid())),
        TokenOwner::App { provider, key } => Condition::all()
            .add(Column::IntegrationId.is_null())
            .add(Column::Provider.eq(provider.as_str()))
            .add(Column::AppKey.eq(key.as_str())),
    }
}

fn ctx(id: Uuid, column: &'static str) -> CipherContext {
    CipherContext::new(TABLE, column, id)
}

/// The columns a token set writes, encrypted for row `id`.
fn secret_columns(cipher: &TokenCipher, id: Uuid, tokens: &TokenSet) -> ActiveModel {
    ActiveModel {
        access_token: Set(
            cipher.encrypt(&ctx(id, ACCESS_TOKEN), tokens.access_token.expose_secret())
        ),
        refresh_token: Set(tokens
            .refresh_token
            .as_ref()
            .map(|r| cipher.encrypt(&ctx(id, REFRESH_TOKEN), r.expose_secret()))),
        token_type: Set(tokens.token_type.clone()),
        expires_at: Set(tokens.expires_at),
        refresh_expires_at: Set(tokens.refresh_expires_at),
        scope: Set(tokens.scope.as_ref().map(scopes_to_json)),
        launch_context: Set(tokens
            .launch_context
            .as_ref()
            .map(|c| cipher.encrypt(&ctx(id, LAUNCH_CONTEXT), c.expose_secret()))),
        updated_at: Set(now()),
        ..Default::default()
    }
}

pub(super) fn to_domain(cipher: &TokenCipher, m: Model) -> StorageResult<StoredTokens> {
    let id = m.id;
    let owner = match (m.integration_id, m.app_key) {
        (Some(integration), None) => TokenOwner::Integration(IntegrationId::from_uuid(integration)),
        (None, Some(key)) => TokenOwner::App {
            provider: parse_col::<ProviderKind>(TABLE, id, &m.provider)?,
            key,
        },
        _ => {
            return Err(corrupt(
                TABLE,
                id,
                "exactly one of integration_id and app_key must be set",
            ));
        }
    };
    let access = cipher.decrypt(&ctx(id, ACCESS_TOKEN), &m.access_token)?;
    let refresh = m
        .refresh_token
        .map(|r| cipher.decrypt(&ctx(id, REFRESH_TOKEN), &r))
        .transpose()?;
    let launch_context = m
        .launch_context
        .map(|c| cipher.decrypt(&ctx(id, LAUNCH_CONTEXT), &c))
        .transpose()?;
    Ok(StoredTokens {
        id: TokenId::from_uuid(id),
        owner,
        tokens: TokenSet {
            access_token: AccessToken::new(access),
            refresh_token: refresh.map(RefreshToken::new),
            token_type: m.token_type,
            expires_at: m.expires_at,
            refresh_expires_at: m.refresh_expires_at,
            scope: m
                .scope
                .map(|s| scopes_from_json(TABLE, id, s))
                .transpose()?,
            launch_context: launch_context.map(OpaqueSecret::new),
        },
        version: m.version,
        updated_at: m.updated_at,
    })
}

async fn find<C: ConnectionTrait>(conn: &C, owner: &TokenOwner) -> StorageResult<Option<Model>> {
    Entity::find()
        .filter(owner_condition(owner))
        .one(conn)
        .await
        .map_err(backend)
}

/// Inserts a new row; `provider` is the owning integration's provider for integration tokens.
pub(super) async fn insert<C: ConnectionTrait>(
    conn: &C,
    cipher: &TokenCipher,
    owner: &TokenOwner,
    provider: ProviderKind,
    tokens: &TokenSet,
) -> StorageResult<StoredTokens> {
    let id = TokenId::new().as_uuid();
    let mut model = secret_columns(cipher, id, tokens);
    model.id = Set(id);
    model.provider = Set(provider.as_str().to_owned());
    model.version = Set(1);
    model.created_at = model.updated_at.clone();
    match owner {
        TokenOwner::Integration(integration) => {
            model.integration_id = Set(Some(integration.as_uuid()));
            model.app_key = Set(None);
        }
        TokenOwner::App { key, .. } => {
            model.integration_id = Set(None);
            model.app_key = Set(Some(key.clone()));
        }
    }
    let stored = model
        .insert(conn)
        .await
        .map_err(db_err(ENTITY, DUPLICATE))?;
    to_domain(cipher, stored)
}

/// Rewrites row `id` with `tokens`, bumping the version; with `expected` only if the stored
/// version matches. `None` when no row matched.
pub(super) async fn rewrite<C: ConnectionTrait>(
    conn: &C,
    cipher: &TokenCipher,
    id: Uuid,
    tokens: &TokenSet,
    expected: Option<i64>,
) -> StorageResult<Option<StoredTokens>> {
    let mut query = Entity::update_many()
        .set(secret_columns(cipher, id, tokens))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(id));
    if let Some(version) = expected {
        query = query.filter(Column::Version.eq(version));
    }
    update_returning::<Entity, _>(conn, query.into_query())
        .await
        .map_err(backend)?
        .map(|m| to_domain(cipher, m))
        .transpose()
}

/// The connect step's "replace the integration's tokens": keeps the row (and its rising
/// version, so a refresher holding the old version cannot overwrite the new tokens).
pub(super) async fn replace_for_integration<C: ConnectionTrait>(
    conn: &C,
    cipher: &TokenCipher,
    integration: IntegrationId,
    provider: ProviderKind,
    tokens: &TokenSet,
) -> StorageResult<StoredTokens> {
    let owner = TokenOwner::Integration(integration);
    if let Some(existing) = find(conn, &owner).await?
        && let Some(stored) = rewrite(conn, cipher, existing.id, tokens, None).await?
    {
        return Ok(stored);
    }
    insert(conn, cipher, &owner, provider, tokens).await
}

async fn owner_provider<C: ConnectionTrait>(
    conn: &C,
    owner: &TokenOwner,
) -> StorageResult<ProviderKind> {
    match owner {
        TokenOwner::App { provider, .. } => Ok(*provider),
        TokenOwner::Integration(id) => {
            let row = integrations::Entity::find_by_id(id.as_uuid())
                .one(conn)
                .await
                .map_err(backend)?
                .ok_or(StorageError::NotFound {
                    entity: "integration",
                })?;
            parse_col(integrations::TABLE, row.id, &row.provider)
        }
    }
}

#[async_trait]
impl TokenRepository for SqlStore {
    async fn get(&self, owner: &TokenOwner) -> StorageResult<Option<StoredTokens>> {
        find(self.conn(), owner)
            .await?
            .map(|m| to_domain(self.cipher(), m))
            .transpose()
    }

    async fn read_for_access(&self, id: IntegrationId) -> StorageResult<Option<AccessRead>> {
        super::token_read::read_for_access(self.conn(), self.cipher(), id).await
    }

    async fn read_for_access_many(
        &self,
        ids: &[IntegrationId],
    ) -> StorageResult<Vec<(IntegrationId, StorageResult<AccessRead>)>> {
        super::token_read::read_for_access_many(self.conn(), self.cipher(), ids).await
    }

    async fn read_for_refresh(
        &self,
        id: IntegrationId,
    ) -> StorageResult<Option<(Integration, Option<StoredTokens>)>> {
        super::token_read::read_for_refresh(self.conn(), self.cipher(), id).await
    }

    async fn expiries(
        &self,
        ids: &[IntegrationId],
    ) -> StorageResult<HashMap<IntegrationId, Option<DateTime<Utc>>>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let rows: Vec<(Option<Uuid>, Option<DateTime<Utc>>)> = Entity::find()
            .select_only()
            .columns([Column::IntegrationId, Column::ExpiresAt])
            .filter(Column::IntegrationId.is_in(ids.iter().map(|id| id.as_uuid())))
            .into_tuple()
            .all(self.conn())
            .await
            .map_err(backend)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, expires)| Some((IntegrationId::from_uuid(id?), expires)))
            .collect())
    }

    async fn save(
        &self,
        owner: &TokenOwner,
        tokens: &TokenSet,
        expected_version: Option<i64>,
    ) -> StorageResult<StoredTokens> {
        let Some(expected) = expected_version else {
            let provider = owner_provider(self.conn(), owner).await?;
            return insert(self.conn(), self.cipher(), owner, provider, tokens).await;
        };
        // The row id is part of the encryption context, so it is needed before the update;
        // the version check then also catches a row deleted and re-created meanwhile.
        let Some(existing) = find(self.conn(), owner).await? else {
            return Err(StorageError::NotFound { entity: ENTITY });
        };
        match rewrite(
            self.conn(),
            self.cipher(),
            existing.id,
            tokens,
            Some(expected),
        )
        .await?
        {
            Some(stored) => Ok(stored),
            None => match find(self.conn(), owner).await? {
                Some(_) => Err(StorageError::VersionConflict {
                    entity: ENTITY,
                    id: existing.id.to_string(),
                    expected,
                }),
                None => Err(StorageError::NotFound { entity: ENTITY }),
            },
        }
    }

    async fn delete(&self, owner: &TokenOwner) -> StorageResult<bool> {
        let result = Entity::delete_many()
            .filter(owner_condition(owner))
            .exec(self.conn())
            .await
            .map_err(backend)?;
        Ok(result.rows_affected > 0)
    }
}
