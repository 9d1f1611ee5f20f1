//! The per-table passes of key rotation: page through rows by primary key and rewrite each
//! value not yet under the newest key, guarded so a concurrent write is never overwritten.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Value,
};
use tether_core::StorageResult;
use uuid::Uuid;

use super::TableRotation;
use crate::cipher::{CipherContext, TokenCipher};
use crate::entities::webhooks::endpoints as webhook_endpoints;
use crate::entities::{oauth_states, provider_configs, tokens};
use crate::repo::backend;

/// Rotates one value of one row. The update matches the old ciphertext, so a value refreshed
/// meanwhile (already under the newest key) is kept rather than replaced by an older secret.
async fn rotate_value<E: EntityTrait>(
    conn: &DatabaseConnection,
    cipher: &TokenCipher,
    report: &mut TableRotation,
    pk: (E::Column, Value),
    column: E::Column,
    ctx: CipherContext,
    old: &str,
) -> StorageResult<()> {
    let Some(new) = cipher.reencrypt(&ctx, old)? else {
        report.values_current += 1;
        return Ok(());
    };
    let result = E::update_many()
        .col_expr(column, Expr::val(new))
        .filter(pk.0.eq(pk.1))
        .filter(column.eq(old))
        .exec(conn)
        .await
        .map_err(backend)?;
    if result.rows_affected > 0 {
        report.values_rewritten += 1;
    } else {
        report.values_changed_concurrently += 1;
    }
    Ok(())
}

pub(super) async fn tokens(
    conn: &DatabaseConnection,
    cipher: &TokenCipher,
    batch: u64,
) -> StorageResult<TableRotation> {
    use tokens::{ACCESS_TOKEN, Column, Entity, LAUNCH_CONTEXT, REFRESH_TOKEN, TABLE};
    let mut report = TableRotation::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = Entity::find()
            .select_only()
            .columns([
                Column::Id,
                Column::AccessToken,
                Column::RefreshToken,
                Column::LaunchContext,
            ])
            .order_by_asc(Column::Id)
            .limit(batch);
        if let Some(last) = after {
            page = page.filter(Column::Id.gt(last));
        }
        let rows: Vec<(Uuid, String, Option<String>, Option<String>)> =
            page.into_tuple().all(conn).await.map_err(backend)?;
        let full = rows.len() as u64 == batch;
        for (id, access, refresh, launch_context) in rows {
            report.rows_scanned += 1;
            after = Some(id);
            let pk = || (Column::Id, Value::from(id));
            let ctx = |column| CipherContext::new(TABLE, column, id);
            rotate_value::<Entity>(
                conn,
                cipher,
                &mut report,
                pk(),
                Column::AccessToken,
                ctx(ACCESS_TOKEN),
                &access,
            )
            .await?;
            if let Some(refresh) = refresh {
                rotate_value::<Entity>(
                    conn,
                    cipher,
                    &mut report,
                    pk(),
                    Column::RefreshToken,
                    ctx(REFRESH_TOKEN),
                    &refresh,
                )
                .await?;
            }
            if let Some(launch_context) = launch_context {
                rotate_value::<Entity>(
                    conn,
                    cipher,
                    &mut report,
                    pk(),
                    Column::LaunchContext,
                    ctx(LAUNCH_CONTEXT),
                    &launch_context,
                )
                .await?;
            }
        }
        if !full {
            return Ok(report);
        }
    }
}

pub(super) async fn oauth_states(
    conn: &DatabaseConnection,
    cipher: &TokenCipher,
    batch: u64,
) -> StorageResult<TableRotation> {
    use oauth_states::{Column, Entity, PAYLOAD, TABLE};
    let mut report = TableRotation::default();
    let mut after: Option<String> = None;
    loop {
        let mut page = Entity::find()
            .select_only()
            .columns([Column::StateKey, Column::Payload])
            .order_by_asc(Column::StateKey)
            .limit(batch);
        if let Some(last) = &after {
            page = page.filter(Column::StateKey.gt(last.as_str()));
        }
        let rows: Vec<(String, String)> = page.into_tuple().all(conn).await.map_err(backend)?;
        let full = rows.len() as u64 == batch;
        for (key, payload) in rows {
            report.rows_scanned += 1;
            let ctx = CipherContext::new(TABLE, PAYLOAD, &key);
            let pk = (Column::StateKey, Value::from(key.clone()));
            rotate_value::<Entity>(
                conn,
                cipher,
                &mut report,
                pk,
                Column::Payload,
                ctx,
                &payload,
            )
            .await?;
            after = Some(key);
        }
        if !full {
            return Ok(report);
        }
    }
}

pub(super) async fn provider_configs(
    conn: &DatabaseConnection,
    cipher: &TokenCipher,
    batch: u64,
) -> StorageResult<TableRotation> {
    use provider_configs::{CLIENT_SECRET, Column, Entity, TABLE};
    let mut report = TableRotation::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = Entity::find()
            .select_only()
            .columns([Column::Id, Column::ClientSecret])
            .order_by_asc(Column::Id)
            .limit(batch);
        if let Some(last) = after {
            page = page.filter(Column::Id.gt(last));
        }
        let rows: Vec<(Uuid, Option<String>)> =
            page.into_tuple().all(conn).await.map_err(backend)?;
        let full = rows.len() as u64 == batch;
        for (id, secret) in rows {
            report.rows_scanned += 1;
            after = Some(id);
            if let Some(secret) = secret {
                let ctx = CipherContext::new(TABLE, CLIENT_SECRET, id);
                let pk = (Column::Id, Value::from(id));
                rotate_value::<Entity>(
                    conn,
                    cipher,
                    &mut report,
                    pk,
                    Column::ClientSecret,
                    ctx,
                    &secret,
                )
                .await?;
            }
        }
        if !full {
            return Ok(report);
        }
    }
}

pub(super) async fn webhook_endpoints(
    conn: &DatabaseConnection,
    cipher: &TokenCipher,
    batch: u64,
) -> StorageResult<TableRotation> {
    use webhook_endpoints::{Column, Entity, PREVIOUS_SECRET, SECRET, TABLE};
    let mut report = TableRotation::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = Entity::find()
            .select_only()
            .columns([Column::Id, Column::Secret, Column::PreviousSecret])
            .order_by_asc(Column::Id)
            .limit(batch);
        if let Some(last) = after {
            page = page.filter(Column::Id.gt(last));
        }
        let rows: Vec<(Uuid, String, Option<String>)> =
            page.into_tuple().all(conn).await.map_err(backend)?;
        let full = rows.len() as u64 == batch;
        for (id, secret, previous) in rows {
            report.rows_scanned += 1;
            after = Some(id);
            let pk = || (Column::Id, Value::from(id));
            rotate_value::<Entity>(
                conn,
                cipher,
                &mut report,
                pk(),
                Column::Secret,
                CipherContext::new(TABLE, SECRET, id),
                &secret,
            )
            .await?;
            if let Some(previous) = previous {
                rotate_value::<Entity>(
                    conn,
                    cipher,
                    &mut report,
                    pk(),
                    Column::PreviousSecret,
                    CipherContext::new(TABLE, PREVIOUS_SECRET, id),
                    &previous,
                )
                .await?;
            }
        }
        if !full {
            return Ok(report);
        }
    }
}
