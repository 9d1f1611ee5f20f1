//! The token read's hot path: an integration and the access half of its token row in one
//! indexed query (`integrations` by primary key, left-joined to `tokens` on its unique
//! `integration_id`), decrypting only the access token; and a refresh's read, the same join
//! with the whole token row.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, ExprTrait, FromQueryResult, IdenStatic, Iterable, QueryResult};
use tether_core::integration::Integration;
use tether_core::secret::AccessToken;
use tether_core::token::{AccessRead, StoredAccess, StoredTokens};
use tether_core::{IntegrationId, StorageResult};
use uuid::Uuid;

use super::backend;
use crate::cipher::{CipherContext, TokenCipher};
use crate::entities::{integrations, scopes_from_json, tokens};

// Token columns are aliased: both tables have `id`, `provider`, `version` and timestamps.
const T_ID: &str = "t_id";
const T_ACCESS: &str = "t_access_token";
const T_TYPE: &str = "t_token_type";
const T_EXPIRES: &str = "t_expires_at";
const T_SCOPE: &str = "t_scope";
const T_VERSION: &str = "t_version";
const T_UPDATED: &str = "t_updated_at";

/// Every integration column of integration `id`, left-joined to its token row; the caller
/// adds the token columns it needs.
fn joined(id: IntegrationId) -> SelectStatement {
    joined_where(Expr::col((integrations::Entity, integrations::Column::Id)).eq(id.as_uuid()))
}

/// [`joined`] for the integrations `condition` selects.
fn joined_where(condition: sea_orm::sea_query::SimpleExpr) -> SelectStatement {
    let mut query = Query::select();
    query
        .columns(integrations::Column::iter().map(|c| (integrations::Entity, c)))
        .from(integrations::Entity)
        .join(
            JoinType::LeftJoin,
            tokens::Entity,
            Expr::col((tokens::Entity, tokens::Column::IntegrationId))
                .equals((integrations::Entity, integrations::Column::Id)),
        )
        .and_where(condition);
    query
}

/// One row: every integration column, and the token columns a read needs (never the
/// refresh token or launch context, which this path must not decrypt).
async fn select_row<C: ConnectionTrait>(
    conn: &C,
    id: IntegrationId,
) -> StorageResult<Option<QueryResult>> {
    conn.query_one(&with_access_columns(joined(id)))
        .await
        .map_err(backend)
}

/// The token columns a read needs, added to a [`joined`] query.
fn with_access_columns(mut query: SelectStatement) -> SelectStatement {
    let token_col = |c: tokens::Column| Expr::col((tokens::Entity, c));
    query
        .expr_as(token_col(tokens::Column::Id), T_ID)
        .expr_as(token_col(tokens::Column::AccessToken), T_ACCESS)
        .expr_as(token_col(tokens::Column::TokenType), T_TYPE)
        .expr_as(token_col(tokens::Column::ExpiresAt), T_EXPIRES)
        .expr_as(token_col(tokens::Column::Scope), T_SCOPE)
        .expr_as(token_col(tokens::Column::Version), T_VERSION)
        .expr_as(token_col(tokens::Column::UpdatedAt), T_UPDATED);
    query
}

fn access_of(cipher: &TokenCipher, row: &QueryResult) -> StorageResult<Option<StoredAccess>> {
    let Some(token_id) = row.try_get::<Option<Uuid>>("", T_ID).map_err(backend)? else {
        return Ok(None);
    };
    let ciphertext: String = row.try_get("", T_ACCESS).map_err(backend)?;
    let context = CipherContext::new(tokens::TABLE, tokens::ACCESS_TOKEN, token_id);
    let access = cipher.decrypt(&context, &ciphertext)?;
    let scope = row
        .try_get::<Option<serde_json::Value>>("", T_SCOPE)
        .map_err(backend)?
        .map(|s| scopes_from_json(tokens::TABLE, token_id, s))
        .transpose()?;
    Ok(Some(StoredAccess {
        access_token: AccessToken::new(access),
        token_type: row.try_get("", T_TYPE).map_err(backend)?,
        expires_at: row
            .try_get::<Option<DateTime<Utc>>>("", T_EXPIRES)
            .map_err(backend)?,
        scope,
        version: row.try_get("", T_VERSION).map_err(backend)?,
        issued_at: row.try_get("", T_UPDATED).map_err(backend)?,
    }))
}

pub(super) async fn read_for_access<C: ConnectionTrait>(
    conn: &C,
    cipher: &TokenCipher,
    id: IntegrationId,
) -> StorageResult<Option<AccessRead>> {
    let Some(row) = select_row(conn, id).await? else {
        return Ok(None);
    };
    access_read(cipher, &row).map(Some)
}

/// A read's row: the integration and the access half of its token.
fn access_read(cipher: &TokenCipher, row: &QueryResult) -> StorageResult<AccessRead> {
    let integration: Integration = integrations::Model::from_query_result(row, "")
        .map_err(backend)?
        .try_into()?;
    Ok(AccessRead {
        integration,
        access: access_of(cipher, row)?,
    })
}

/// [`read_for_access`] of several integrations in one query: a result per integration found
/// (a row that cannot be read fails alone); missing ones are left out.
pub(super) async fn read_for_access_many<C: ConnectionTrait>(
    conn: &C,
    cipher: &TokenCipher,
    ids: &[IntegrationId],
) -> StorageResult<Vec<(IntegrationId, StorageResult<AccessRead>)>> {
    let uuids = ids.iter().map(|id| id.as_uuid());
    let query = with_access_columns(joined_where(
        Expr::col((integrations::Entity, integrations::Column::Id)).is_in(uuids),
    ));
    let rows = conn.query_all(&query).await.map_err(backend)?;
    rows.iter()
        .map(|row| {
            let id: Uuid = row.try_get("", "id").map_err(backend)?;
            Ok((IntegrationId::from_uuid(id), access_read(cipher, row)))
        })
        .collect()
}

/// Prefix of the token columns in [`read_for_refresh`]'s row.
const T_PREFIX: &str = "t_";

/// A refresh's read: every integration column and every token column (prefixed `t_`), in
/// the same one indexed query as the hot path, decrypting the whole token row.
pub(super) async fn read_for_refresh<C: ConnectionTrait>(
    conn: &C,
    cipher: &TokenCipher,
    id: IntegrationId,
) -> StorageResult<Option<(Integration, Option<StoredTokens>)>> {
    let mut query = joined(id);
    for column in tokens::Column::iter() {
        query.expr_as(
            Expr::col((tokens::Entity, column)),
            Alias::new(format!("{T_PREFIX}{}", column.as_str())),
        );
    }
    let Some(row) = conn.query_one(&query).await.map_err(backend)? else {
        return Ok(None);
    };
    let integration: Integration = integrations::Model::from_query_result(&row, "")
        .map_err(backend)?
        .try_into()?;
    let has_tokens = row
        .try_get::<Option<Uuid>>(T_PREFIX, tokens::Column::Id.as_str())
        .map_err(backend)?
        .is_some();
    let stored = if has_tokens {
        let model = tokens::Model::from_query_result(&row, T_PREFIX).map_err(backend)?;
        Some(super::tokens::to_domain(cipher, model)?)
    } else {
        None
    };
    Ok(Some((integration, stored)))
}
