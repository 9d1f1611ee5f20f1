//! The multi-table steps of an integration's life, each in one transaction with the events
//! it causes (the outbox): saving a connection (integration + tokens + consent), saving a
//! refresh (integration + tokens), a lifecycle change (a refresh failure) and marking it
//! revoked. Each writes the integration row first, then its tokens, then its events, so two
//! of them never wait on each other's locks in opposite orders.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QueryTrait};
use tether_core::consent::Consent;
use tether_core::events::{Cause, ReasonCode, integration_events};
use tether_core::integration::{Integration, IntegrationStatus};
use tether_core::ports::{ConnectionWrite, IntegrationWrite, RefreshWrite};
use tether_core::token::StoredTokens;
use tether_core::{IntegrationId, StorageError, StorageResult};

use super::{
    SqlStore, backend, consents, events, integrations, now, tokens, update_returning, write_txn,
};
use crate::entities::integrations::{Column, Entity};
use crate::entities::tokens as token_rows;

fn integration_gone() -> StorageError {
    StorageError::NotFound {
        entity: "integration",
    }
}

pub(super) async fn save_connection(
    store: &SqlStore,
    write: ConnectionWrite,
) -> StorageResult<(Integration, StoredTokens, Consent)> {
    // Dropping the transaction on an early return rolls it back: all or nothing.
    let txn = write_txn(store.conn()).await?;
    // The first statement writes (or locks the row it will write), so SQLite takes its write
    // lock up front instead of failing to upgrade a read lock under contention.
    let (before, integration) = match write.integration {
        IntegrationWrite::Create(new) => (None, integrations::insert(&txn, new).await?),
        IntegrationWrite::Update(existing) => {
            let before = integrations::get_for_update(&txn, existing.id)
                .await?
                .ok_or_else(integration_gone)?;
            let after = integrations::update_versioned(&txn, &existing).await?;
            (Some(before), after)
        }
    };
    let stored = tokens::replace_for_integration(
        &txn,
        store.cipher(),
        integration.id,
        integration.provider,
        &write.tokens,
    )
    .await?;
    let consent = consents::insert(&txn, write.consent).await?;
    let emitted = integration_events(before.as_ref(), &integration, Cause::Connect, now());
    events::append(&txn, &emitted).await?;
    txn.commit().await.map_err(backend)?;
    Ok((integration, stored, consent))
}

pub(super) async fn save_refresh(
    store: &SqlStore,
    write: RefreshWrite<'_>,
) -> StorageResult<(Integration, StoredTokens)> {
    let txn = write_txn(store.conn()).await?;
    let Some((before, integration)) =
        integrations::write_lifecycle(&txn, write.before, write.integration).await?
    else {
        return Err(integration_gone());
    };
    let token_id = write.token_id.as_uuid();
    let Some(stored) = tokens::rewrite(
        &txn,
        store.cipher(),
        token_id,
        write.tokens,
        Some(write.expected_version),
    )
    .await?
    else {
        // Someone stored a newer pair, or the row is gone: write nothing (the rollback
        // undoes the integration's update).
        return Err(StorageError::VersionConflict {
            entity: "tokens",
            id: token_id.to_string(),
            expected: write.expected_version,
        });
    };
    let emitted = integration_events(
        Some(&before),
        &integration,
        Cause::Lifecycle(write.reason),
        now(),
    );
    events::append(&txn, &emitted).await?;
    txn.commit().await.map_err(backend)?;
    Ok((integration, stored))
}

pub(super) async fn update_lifecycle(
    store: &SqlStore,
    before: &Integration,
    wanted: &Integration,
    reason: ReasonCode,
) -> StorageResult<Option<Integration>> {
    let txn = write_txn(store.conn()).await?;
    let Some((before, after)) = integrations::write_lifecycle(&txn, before, wanted).await? else {
        return Ok(None);
    };
    let emitted = integration_events(Some(&before), &after, Cause::Lifecycle(reason), now());
    events::append(&txn, &emitted).await?;
    txn.commit().await.map_err(backend)?;
    Ok(Some(after))
}

pub(super) async fn mark_revoked(
    store: &SqlStore,
    id: IntegrationId,
    at: DateTime<Utc>,
    reason: ReasonCode,
) -> StorageResult<Integration> {
    let txn = write_txn(store.conn()).await?;
    let before = integrations::get_for_update(&txn, id)
        .await?
        .ok_or_else(integration_gone)?;
    let stmt = Entity::update_many()
        .col_expr(
            Column::Status,
            Expr::val(IntegrationStatus::Revoked.as_str()),
        )
        .col_expr(
            Column::NextRefreshAt,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::UpdatedAt, Expr::val(at))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(id.as_uuid()))
        .into_query();
    let integration: Integration = update_returning::<Entity, _>(&txn, stmt)
        .await
        .map_err(backend)?
        .ok_or_else(integration_gone)?
        .try_into()?;
    token_rows::Entity::delete_many()
        .filter(token_rows::Column::IntegrationId.eq(id.as_uuid()))
        .exec(&txn)
        .await
        .map_err(backend)?;
    consents::revoke(&txn, id, at).await?;
    let emitted = integration_events(Some(&before), &integration, Cause::Disconnect(reason), at);
    events::append(&txn, &emitted).await?;
    txn.commit().await.map_err(backend)?;
    Ok(integration)
}
