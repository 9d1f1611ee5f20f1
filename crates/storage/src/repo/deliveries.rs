//! Webhook deliveries: the workers' claim (one `UPDATE … WHERE id IN (SELECT … FOR UPDATE
//! SKIP LOCKED) RETURNING`, a lease that lapses by itself), the record of each attempt (fenced
//! by the attempt count, with the endpoint's run of failures and its automatic disabling),
//! the operators' listing and redelivery.
//!
//! **Order.** One endpoint's deliveries with one ordering key (an integration) form a
//! sequence: only its earliest pending delivery is claimable, the later ones are `blocked`.
//! Resolving the earliest (delivered or given up) unblocks the next. Every writer of a
//! sequence — the event's fan-out, the record of an attempt, a redelivery — first takes the
//! sequence's transaction-scoped lock (PostgreSQL; SQLite has one writer at a time), always in
//! sorted order, so "is one pending?" and "unblock the next" never miss each other. The claim
//! itself reads only unblocked rows through a small partial index.
//!
//! The claim and listing are SQL text: the `status = 'pending'` literals let PostgreSQL use
//! the partial indexes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use tether_core::events::{EventId, EventType};
use tether_core::ports::StoredEvent;
use tether_core::webhooks::{
    AttemptRecord, AutoDisable, ClaimedDelivery, DeliveryId, DeliveryRecord, DeliveryStatus,
    NextStep, Recorded, Redelivery, WebhookEndpoint, ordering_key,
};
use tether_core::{StorageError, StorageResult, WebhookEndpointId};
use uuid::Uuid;

use super::webhooks::{ENTITY, signing_secrets};
use super::{SqlStore, backend, update_returning, write_txn};
use crate::entities::webhooks::{deliveries, endpoints};
use crate::entities::{corrupt, events, parse_col};

/// The class of the sequences' advisory locks (two-key form, apart from the events lock).
const SEQUENCE_LOCK_CLASS: i32 = 0x7468; // "th"

/// Takes the transaction-scoped lock of each (endpoint, ordering key) sequence, in sorted
/// order (callers pass them sorted and deduplicated). SQLite: nothing to do.
pub(super) async fn lock_sequences<C: ConnectionTrait>(
    conn: &C,
    sequences: &[(Uuid, String)],
) -> StorageResult<()> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (endpoint, key) in sequences {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            [
                SEQUENCE_LOCK_CLASS.into(),
                format!("{endpoint}/{key}").into(),
            ],
        ))
        .await
        .map_err(backend)?;
    }
    Ok(())
}

/// Whether the sequence has a pending delivery.
pub(super) async fn has_pending<C: ConnectionTrait>(
    conn: &C,
    endpoint: Uuid,
    key: &str,
) -> StorageResult<bool> {
    let db = conn.get_database_backend();
    let rows = conn
        .query_all_raw(statement(
            db,
            "SELECT 1 AS one FROM webhook_deliveries \
             WHERE endpoint_id = $1 AND ordering_key = $2 AND status = 'pending' LIMIT 1",
            vec![endpoint.into(), key.into()],
        ))
        .await
        .map_err(backend)?;
    Ok(!rows.is_empty())
}

/// Unblocks the earliest pending delivery of the sequence (after the previous one was
/// resolved). Call with the sequence's lock held.
async fn unblock_next<C: ConnectionTrait>(
    conn: &C,
    endpoint: Uuid,
    key: &str,
) -> StorageResult<()> {
    let db = conn.get_database_backend();
    conn.execute_raw(statement(
        db,
        "UPDATE webhook_deliveries SET blocked = $3 WHERE blocked AND id = ( \
           SELECT id FROM webhook_deliveries \
           WHERE endpoint_id = $1 AND ordering_key = $2 AND status = 'pending' \
           ORDER BY event_seq LIMIT 1)",
        vec![endpoint.into(), key.into(), false.into()],
    ))
    .await
    .map_err(backend)?;
    Ok(())
}

/// Blocks every pending delivery of these sequences of `endpoint` but the earliest of each
/// (after a redelivery put earlier events back). Call with the sequences' locks held.
async fn recompute_heads<C: ConnectionTrait>(
    conn: &C,
    endpoint: Uuid,
    keys: &[String],
) -> StorageResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let db = conn.get_database_backend();
    let placeholders = (2..keys.len() + 2)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut values: Vec<Value> = vec![endpoint.into()];
    values.extend(keys.iter().map(|k| Value::from(k.clone())));
    conn.execute_raw(statement(
        db,
        &format!(
            "UPDATE webhook_deliveries SET blocked = (event_seq <> ( \
               SELECT min(p.event_seq) FROM webhook_deliveries p \
               WHERE p.endpoint_id = webhook_deliveries.endpoint_id \
                 AND p.ordering_key = webhook_deliveries.ordering_key AND p.status = 'pending')) \
             WHERE endpoint_id = $1 AND status = 'pending' AND ordering_key IN ({placeholders})"
        ),
        values,
    ))
    .await
    .map_err(backend)?;
    Ok(())
}

/// Unblocks the pending deliveries left without an earlier pending one, after pruning removed
/// the events (and deliveries) ahead of them. Rare and scans only blocked rows.
pub(super) async fn unblock_orphans<C: ConnectionTrait>(conn: &C) -> StorageResult<u64> {
    let db = conn.get_database_backend();
    let result = conn
        .execute_raw(statement(
            db,
            "UPDATE webhook_deliveries SET blocked = $1 WHERE status = 'pending' AND blocked \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
               WHERE p.endpoint_id = webhook_deliveries.endpoint_id \
                 AND p.ordering_key = webhook_deliveries.ordering_key \
                 AND p.status = 'pending' AND p.event_seq < webhook_deliveries.event_seq)",
            vec![false.into()],
        ))
        .await
        .map_err(backend)?;
    Ok(result.rows_affected())
}

/// SQL with `$1`-style placeholders, as `?1` on SQLite.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

#[derive(Debug, FromQueryResult)]
struct ClaimRow {
    id: i64,
    endpoint_id: Uuid,
    attempts: i32,
    ordering_key: String,
    event_id: Uuid,
    event_type: String,
    occurred_at: DateTime<Utc>,
    body: String,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
}

pub(super) async fn claim(
    store: &SqlStore,
    now: DateTime<Utc>,
    limit: u64,
    claim_until: DateTime<Utc>,
) -> StorageResult<Vec<ClaimedDelivery>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let conn = store.conn();
    let db = conn.get_database_backend();
    let lock = if db == DbBackend::Postgres {
        "FOR UPDATE OF d SKIP LOCKED"
    } else {
        ""
    };
    let claim = format!(
        "UPDATE webhook_deliveries SET claimed_until = $1 WHERE id IN ( \
           SELECT d.id FROM webhook_deliveries d \
           JOIN webhook_endpoints w ON w.id = d.endpoint_id \
           WHERE d.status = 'pending' AND NOT d.blocked AND w.enabled \
             AND d.next_attempt_at <= $2 AND (d.claimed_until IS NULL OR d.claimed_until < $2) \
           ORDER BY d.next_attempt_at LIMIT $3 {lock}) \
         RETURNING id"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids: Vec<i64> = conn
        .query_all_raw(statement(
            db,
            &claim,
            vec![claim_until.into(), now.into(), limit.into()],
        ))
        .await
        .map_err(backend)?
        .iter()
        .map(|row| row.try_get::<i64>("", "id"))
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=ids.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let details = format!(
        "SELECT d.id, d.endpoint_id, d.attempts, d.ordering_key, e.id AS event_id, e.event_type, \
           e.occurred_at, \
           CAST(e.payload AS TEXT) AS body, w.url, w.secret, w.previous_secret, \
           w.previous_secret_expires_at \
         FROM webhook_deliveries d \
         JOIN events e ON e.seq = d.event_seq \
         JOIN webhook_endpoints w ON w.id = d.endpoint_id \
         WHERE d.id IN ({placeholders}) ORDER BY d.next_attempt_at, d.event_seq"
    );
    let rows = ClaimRow::find_by_statement(statement(
        db,
        &details,
        ids.into_iter().map(Value::from).collect(),
    ))
    .all(conn)
    .await
    .map_err(backend)?;
    rows.into_iter()
        .map(|r| {
            let table = deliveries::TABLE;
            Ok(ClaimedDelivery {
                id: DeliveryId(r.id),
                endpoint_id: WebhookEndpointId::from_uuid(r.endpoint_id),
                url: url::Url::parse(&r.url)
                    .map_err(|e| corrupt(endpoints::TABLE, r.endpoint_id, e))?,
                secrets: signing_secrets(
                    store.cipher(),
                    r.endpoint_id,
                    &r.secret,
                    r.previous_secret.as_deref(),
                    r.previous_secret_expires_at,
                    now,
                )?,
                event_id: EventId::from_uuid(r.event_id),
                event_type: parse_col(table, r.id, &r.event_type)?,
                ordering_key: r.ordering_key,
                occurred_at: r.occurred_at,
                body: r.body,
                attempts: count(r.attempts),
            })
        })
        .collect()
}

pub(super) async fn record(
    store: &SqlStore,
    claimed: &ClaimedDelivery,
    record: &AttemptRecord,
    disable: Option<&AutoDisable>,
) -> StorageResult<Recorded> {
    let txn = write_txn(store.conn()).await?;
    let db = txn.get_database_backend();
    let endpoint = claimed.endpoint_id.as_uuid();
    // The sequence's lock first: a redelivery holding it may wait for this row.
    lock_sequences(&txn, &[(endpoint, claimed.ordering_key.clone())]).await?;
    let (status, next_attempt_at, delivered_at) = match record.next {
        NextStep::Delivered => (DeliveryStatus::Delivered, record.at, Some(record.at)),
        NextStep::RetryAt(at) => (DeliveryStatus::Pending, at, None),
        NextStep::GiveUp => (DeliveryStatus::Failed, record.at, None),
    };
    let attempts = i32::try_from(claimed.attempts).unwrap_or(i32::MAX);
    let updated = txn
        .execute_raw(statement(
            db,
            "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, \
               next_attempt_at = $2, claimed_until = NULL, last_attempt_at = $3, \
               last_status_code = $4, last_latency_ms = $5, last_error = $6, delivered_at = $7 \
             WHERE id = $8 AND status = 'pending' AND attempts = $9",
            vec![
                status.as_str().into(),
                next_attempt_at.into(),
                record.at.into(),
                record.status_code.map(i32::from).into(),
                i64::try_from(record.latency_ms).unwrap_or(i64::MAX).into(),
                record.error.clone().into(),
                delivered_at.into(),
                claimed.id.0.into(),
                attempts.into(),
            ],
        ))
        .await
        .map_err(backend)?
        .rows_affected();
    if updated == 0 {
        return Ok(Recorded::Stale);
    }
    if status != DeliveryStatus::Pending {
        unblock_next(&txn, endpoint, &claimed.ordering_key).await?;
    }
    let mut disabled = None;
    if record.next == NextStep::Delivered {
        endpoints::Entity::update_many()
            .col_expr(
                endpoints::Column::FailingSince,
                sea_orm::sea_query::Expr::val(None::<DateTime<Utc>>),
            )
            .filter(endpoints::Column::Id.eq(endpoint))
            .filter(endpoints::Column::FailingSince.is_not_null())
            .exec(&txn)
            .await
            .map_err(backend)?;
    } else {
        endpoints::Entity::update_many()
            .col_expr(
                endpoints::Column::FailingSince,
                sea_orm::sea_query::Expr::val(record.at),
            )
            .filter(endpoints::Column::Id.eq(endpoint))
            .filter(endpoints::Column::FailingSince.is_null())
            .exec(&txn)
            .await
            .map_err(backend)?;
        if let Some(rule) = disable {
            disabled = disable_endpoint(&txn, endpoint, rule, record.at)
                .await?
                .map(Box::new);
        }
    }
    txn.commit().await.map_err(backend)?;
    Ok(Recorded::Recorded { disabled })
}

async fn disable_endpoint<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    rule: &AutoDisable,
    at: DateTime<Utc>,
) -> StorageResult<Option<WebhookEndpoint>> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ExprTrait, QueryTrait};
    let stmt = endpoints::Entity::update_many()
        .col_expr(endpoints::Column::Enabled, Expr::val(false))
        .col_expr(
            endpoints::Column::DisabledReason,
            Expr::val(rule.reason.clone()),
        )
        .col_expr(endpoints::Column::DisabledAt, Expr::val(at))
        .col_expr(endpoints::Column::UpdatedAt, Expr::val(at))
        .col_expr(
            endpoints::Column::Version,
            Expr::col(endpoints::Column::Version).add(1),
        )
        .filter(endpoints::Column::Id.eq(id))
        .filter(endpoints::Column::Enabled.eq(true))
        .filter(endpoints::Column::FailingSince.lt(rule.failing_before))
        .into_query();
    update_returning::<endpoints::Entity, _>(conn, stmt)
        .await
        .map_err(backend)?
        .map(WebhookEndpoint::try_from)
        .transpose()
}

#[derive(Debug, FromQueryResult)]
struct ListRow {
    event_seq: i64,
    event_id: Uuid,
    event_type: String,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_status_code: Option<i32>,
    last_latency_ms: Option<i64>,
    last_error: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

pub(super) async fn list(
    store: &SqlStore,
    id: WebhookEndpointId,
    limit: u64,
    before: Option<i64>,
) -> StorageResult<Vec<DeliveryRecord>> {
    let conn = store.conn();
    let db = conn.get_database_backend();
    let mut values: Vec<Value> = vec![
        id.as_uuid().into(),
        i64::try_from(limit).unwrap_or(i64::MAX).into(),
    ];
    let before_clause = match before {
        Some(seq) => {
            values.push(seq.into());
            "AND d.event_seq < $3"
        }
        None => "",
    };
    let sql = format!(
        "SELECT d.event_seq, e.id AS event_id, e.event_type, d.status, d.attempts, \
           d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_latency_ms, \
           d.last_error, d.delivered_at, d.created_at \
         FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq \
         WHERE d.endpoint_id = $1 {before_clause} ORDER BY d.event_seq DESC LIMIT $2"
    );
    let rows = ListRow::find_by_statement(statement(db, &sql, values))
        .all(conn)
        .await
        .map_err(backend)?;
    rows.into_iter()
        .map(|r| {
            let table = deliveries::TABLE;
            let status: DeliveryStatus = parse_col(table, r.event_seq, &r.status)?;
            Ok(DeliveryRecord {
                event_seq: r.event_seq,
                event_id: EventId::from_uuid(r.event_id),
                event_type: parse_col(table, r.event_seq, &r.event_type)?,
                status,
                attempts: count(r.attempts),
                next_attempt_at: (status == DeliveryStatus::Pending).then_some(r.next_attempt_at),
                last_attempt_at: r.last_attempt_at,
                last_status_code: r.last_status_code.and_then(|c| u16::try_from(c).ok()),
                last_latency_ms: r.last_latency_ms.and_then(|l| u64::try_from(l).ok()),
                last_error: r.last_error,
                delivered_at: r.delivered_at,
                created_at: r.created_at,
            })
        })
        .collect()
}

/// Makes the deliveries of these events to `endpoint` pending and due at `now`, with a fresh
/// retry schedule, creating the rows that do not exist; then only the earliest pending one
/// of each sequence is claimable, in one transaction with the sequences' locks.
async fn queue(
    store: &SqlStore,
    endpoint: Uuid,
    events: &[StoredEvent],
    now: DateTime<Utc>,
) -> StorageResult<()> {
    use deliveries::{ActiveModel, Column, Entity};
    if events.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<String> = events.iter().map(|e| ordering_key(&e.event)).collect();
    keys.sort();
    keys.dedup();
    let sequences: Vec<(Uuid, String)> = keys.iter().map(|k| (endpoint, k.clone())).collect();
    let txn = write_txn(store.conn()).await?;
    lock_sequences(&txn, &sequences).await?;
    let rows = events.iter().map(|stored| ActiveModel {
        endpoint_id: Set(endpoint),
        event_seq: Set(stored.seq),
        ordering_key: Set(ordering_key(&stored.event)),
        blocked: Set(true),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        delivered_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    });
    Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::EventSeq, Column::EndpointId])
                .update_columns([
                    Column::Blocked,
                    Column::Status,
                    Column::Attempts,
                    Column::NextAttemptAt,
                    Column::ClaimedUntil,
                    Column::DeliveredAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(backend)?;
    recompute_heads(&txn, endpoint, &keys).await?;
    txn.commit().await.map_err(backend)?;
    Ok(())
}

async fn endpoint_filter(store: &SqlStore, id: WebhookEndpointId) -> StorageResult<Vec<EventType>> {
    let endpoint: WebhookEndpoint = endpoints::Entity::find_by_id(id.as_uuid())
        .one(store.conn())
        .await
        .map_err(backend)?
        .ok_or(StorageError::NotFound { entity: ENTITY })?
        .try_into()?;
    Ok(endpoint.event_types)
}

pub(super) async fn redeliver_event(
    store: &SqlStore,
    id: WebhookEndpointId,
    event: EventId,
    now: DateTime<Utc>,
) -> StorageResult<Redelivery> {
    let filter = endpoint_filter(store, id).await?;
    let Some(row) = events::Entity::find()
        .filter(events::Column::Id.eq(event.as_uuid()))
        .one(store.conn())
        .await
        .map_err(backend)?
    else {
        return Ok(Redelivery::EventNotFound);
    };
    let stored = StoredEvent::try_from(row)?;
    if !tether_core::webhooks::accepts(&filter, stored.event.event_type) {
        return Ok(Redelivery::FilteredOut);
    }
    queue(store, id.as_uuid(), &[stored], now).await?;
    Ok(Redelivery::Queued)
}

/// Events queued per statement by `redeliver_since`.
const REDELIVER_PAGE: u64 = 500;

pub(super) async fn redeliver_since(
    store: &SqlStore,
    id: WebhookEndpointId,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StorageResult<u64> {
    let filter = endpoint_filter(store, id).await?;
    let mut after = 0_i64;
    let mut queued = 0_u64;
    loop {
        let mut page = events::Entity::find()
            .filter(events::Column::OccurredAt.gte(since))
            .filter(events::Column::Seq.gt(after))
            .order_by_asc(events::Column::Seq)
            .limit(REDELIVER_PAGE);
        if !filter.is_empty() {
            page = page.filter(events::Column::EventType.is_in(filter.iter().map(|t| t.as_str())));
        }
        let rows = page.all(store.conn()).await.map_err(backend)?;
        let full = rows.len() as u64 == REDELIVER_PAGE;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(queued);
        };
        let stored = rows
            .into_iter()
            .map(StoredEvent::try_from)
            .collect::<StorageResult<Vec<_>>>()?;
        queue(store, id.as_uuid(), &stored, now).await?;
        queued += stored.len() as u64;
        after = last;
        if !full {
            return Ok(queued);
        }
    }
}
