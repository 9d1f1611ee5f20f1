//! Webhook endpoints: create, read, change and delete them, their signing secrets (encrypted
//! with the endpoint's id and column as context) and rotation with a grace period, and the
//! fan-out that gives each new event a delivery per endpoint that wants it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    ExprTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde_json::Value;
use tether_core::events::{Event, EventType};
use tether_core::secret::WebhookSecret;
use tether_core::webhooks::{
    DISABLED_BY_OPERATOR, DeliveryStatus, NewWebhookEndpoint, SigningSecrets, WebhookEndpoint,
    WebhookEndpointPatch, ordering_key,
};
use tether_core::{StorageResult, WebhookEndpointId};
use uuid::Uuid;

use super::deliveries;
use super::{SqlStore, backend, update_returning, write_txn};
use crate::cipher::{CipherContext, TokenCipher};
use crate::entities::webhooks::deliveries as delivery_rows;
use crate::entities::webhooks::endpoints::{
    ActiveModel, Column, Entity, Model, PREVIOUS_SECRET, SECRET, TABLE,
};
use crate::entities::{corrupt, parse_col};

pub(super) const ENTITY: &str = "webhook endpoint";

fn ctx(id: Uuid, column: &'static str) -> CipherContext {
    CipherContext::new(TABLE, column, id)
}

fn types_json(types: &[EventType]) -> Value {
    Value::Array(
        types
            .iter()
            .map(|t| Value::String(t.as_str().to_owned()))
            .collect(),
    )
}

impl TryFrom<Model> for WebhookEndpoint {
    type Error = tether_core::StorageError;

    fn try_from(m: Model) -> StorageResult<Self> {
        let id = m.id;
        let names: Vec<String> = serde_json::from_value(m.event_types)
            .map_err(|e| corrupt(TABLE, id, format!("bad event types: {e}")))?;
        Ok(Self {
            id: WebhookEndpointId::from_uuid(id),
            url: url::Url::parse(&m.url)
                .map_err(|e| corrupt(TABLE, id, format!("bad url: {e}")))?,
            description: m.description,
            event_types: names
                .iter()
                .map(|n| parse_col(TABLE, id, n))
                .collect::<StorageResult<_>>()?,
            enabled: m.enabled,
            disabled_reason: m.disabled_reason,
            disabled_at: m.disabled_at,
            failing_since: m.failing_since,
            previous_secret_expires_at: m.previous_secret_expires_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        })
    }
}

/// The secrets of a stored endpoint that sign at `now`.
pub(super) fn signing_secrets(
    cipher: &TokenCipher,
    id: Uuid,
    secret: &str,
    previous: Option<&str>,
    previous_expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StorageResult<SigningSecrets> {
    let current = WebhookSecret::new(cipher.decrypt(&ctx(id, SECRET), secret)?);
    let previous = match (previous, previous_expires_at) {
        (Some(text), Some(until)) if until > now => Some(WebhookSecret::new(
            cipher.decrypt(&ctx(id, PREVIOUS_SECRET), text)?,
        )),
        _ => None,
    };
    Ok(SigningSecrets { current, previous })
}

async fn get_for_update<C: ConnectionTrait>(conn: &C, id: Uuid) -> StorageResult<Option<Model>> {
    let mut find = Entity::find_by_id(id);
    if conn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    find.one(conn).await.map_err(backend)
}

/// `UPDATE webhook_endpoints SET … , version = version + 1 WHERE id = ?` returning the row.
async fn write<C: ConnectionTrait>(conn: &C, id: Uuid, model: ActiveModel) -> StorageResult<Model> {
    let stmt = Entity::update_many()
        .set(model)
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(id))
        .into_query();
    update_returning::<Entity, _>(conn, stmt)
        .await
        .map_err(backend)?
        .ok_or(tether_core::StorageError::NotFound { entity: ENTITY })
}

pub(super) async fn create(
    store: &SqlStore,
    new: NewWebhookEndpoint,
) -> StorageResult<WebhookEndpoint> {
    let id = new.id.as_uuid();
    let model = ActiveModel {
        id: Set(id),
        url: Set(new.url.to_string()),
        description: Set(new.description),
        event_types: Set(types_json(&new.event_types)),
        enabled: Set(new.enabled),
        disabled_reason: Set((!new.enabled).then(|| DISABLED_BY_OPERATOR.to_owned())),
        disabled_at: Set((!new.enabled).then_some(new.at)),
        failing_since: Set(None),
        secret: Set(store
            .cipher()
            .encrypt(&ctx(id, SECRET), new.secret.expose_secret())),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        created_at: Set(new.at),
        updated_at: Set(new.at),
        version: Set(1),
    };
    model
        .insert(store.conn())
        .await
        .map_err(backend)?
        .try_into()
}

pub(super) async fn list(store: &SqlStore) -> StorageResult<Vec<WebhookEndpoint>> {
    Entity::find()
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(store.conn())
        .await
        .map_err(backend)?
        .into_iter()
        .map(WebhookEndpoint::try_from)
        .collect()
}

pub(super) async fn get(
    store: &SqlStore,
    id: WebhookEndpointId,
) -> StorageResult<Option<WebhookEndpoint>> {
    Entity::find_by_id(id.as_uuid())
        .one(store.conn())
        .await
        .map_err(backend)?
        .map(WebhookEndpoint::try_from)
        .transpose()
}

pub(super) async fn update(
    store: &SqlStore,
    id: WebhookEndpointId,
    patch: &WebhookEndpointPatch,
    at: DateTime<Utc>,
) -> StorageResult<Option<WebhookEndpoint>> {
    let txn = write_txn(store.conn()).await?;
    let Some(current) = get_for_update(&txn, id.as_uuid()).await? else {
        return Ok(None);
    };
    let mut model = ActiveModel {
        updated_at: Set(at),
        ..Default::default()
    };
    if let Some(url) = &patch.url {
        model.url = Set(url.to_string());
    }
    if let Some(description) = &patch.description {
        model.description = Set(description.clone());
    }
    if let Some(types) = &patch.event_types {
        model.event_types = Set(types_json(types));
    }
    match patch.enabled {
        Some(true) if !current.enabled => {
            model.enabled = Set(true);
            model.disabled_reason = Set(None);
            model.disabled_at = Set(None);
            model.failing_since = Set(None);
        }
        Some(false) if current.enabled => {
            model.enabled = Set(false);
            model.disabled_reason = Set(Some(DISABLED_BY_OPERATOR.to_owned()));
            model.disabled_at = Set(Some(at));
        }
        _ => {}
    }
    let saved = write(&txn, current.id, model).await?;
    txn.commit().await.map_err(backend)?;
    saved.try_into().map(Some)
}

pub(super) async fn delete(store: &SqlStore, id: WebhookEndpointId) -> StorageResult<bool> {
    let result = Entity::delete_by_id(id.as_uuid())
        .exec(store.conn())
        .await
        .map_err(backend)?;
    Ok(result.rows_affected > 0)
}

pub(super) async fn rotate_secret(
    store: &SqlStore,
    id: WebhookEndpointId,
    secret: &WebhookSecret,
    previous_until: DateTime<Utc>,
    at: DateTime<Utc>,
) -> StorageResult<Option<WebhookEndpoint>> {
    let txn = write_txn(store.conn()).await?;
    let Some(current) = get_for_update(&txn, id.as_uuid()).await? else {
        return Ok(None);
    };
    let cipher = store.cipher();
    let old = cipher.decrypt(&ctx(current.id, SECRET), &current.secret)?;
    let model = ActiveModel {
        secret: Set(cipher.encrypt(&ctx(current.id, SECRET), secret.expose_secret())),
        previous_secret: Set(Some(
            cipher.encrypt(&ctx(current.id, PREVIOUS_SECRET), &old),
        )),
        previous_secret_expires_at: Set(Some(previous_until)),
        updated_at: Set(at),
        ..Default::default()
    };
    let saved = write(&txn, current.id, model).await?;
    txn.commit().await.map_err(backend)?;
    saved.try_into().map(Some)
}

pub(super) async fn secrets_at(
    store: &SqlStore,
    id: WebhookEndpointId,
    now: DateTime<Utc>,
) -> StorageResult<Option<SigningSecrets>> {
    let Some(m) = Entity::find_by_id(id.as_uuid())
        .one(store.conn())
        .await
        .map_err(backend)?
    else {
        return Ok(None);
    };
    signing_secrets(
        store.cipher(),
        m.id,
        &m.secret,
        m.previous_secret.as_deref(),
        m.previous_secret_expires_at,
        now,
    )
    .map(Some)
}

/// The enabled endpoints and their filters, as stored (unparsed, so that a filter naming a
/// type this version does not know never blocks a status change: it matches nothing).
pub(super) async fn enabled_filters<C: ConnectionTrait>(
    conn: &C,
) -> StorageResult<Vec<(Uuid, Vec<String>)>> {
    let rows: Vec<(Uuid, Value)> = Entity::find()
        .select_only()
        .columns([Column::Id, Column::EventTypes])
        .filter(Column::Enabled.eq(true))
        .into_tuple()
        .all(conn)
        .await
        .map_err(backend)?;
    Ok(rows
        .into_iter()
        .map(|(id, types)| {
            let names = match types {
                Value::Array(items) => items
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            (id, names)
        })
        .collect())
}

/// What the fan-out of a transaction's events inserts, decided before the events' ordering
/// lock is taken: the enabled endpoints' filters, and which of the (endpoint, ordering key)
/// sequences the events join already have a pending delivery (the new ones wait behind it).
/// Preparing takes the sequences' locks (PostgreSQL), held to the commit, so no worker
/// unblocks a delivery of them meanwhile.
#[derive(Debug)]
pub(super) struct FanOut {
    filters: Vec<(Uuid, Vec<String>)>,
    busy: HashSet<(Uuid, String)>,
}

fn wants(filter: &[String], event: &Event) -> bool {
    let name = event.event_type.as_str();
    filter.is_empty() || filter.iter().any(|t| t == name)
}

pub(super) async fn prepare_fan_out<C: ConnectionTrait>(
    conn: &C,
    events: &[Event],
) -> StorageResult<Option<FanOut>> {
    let filters = enabled_filters(conn).await?;
    let mut sequences: Vec<(Uuid, String)> = events
        .iter()
        .flat_map(|event| {
            let key = ordering_key(event);
            filters
                .iter()
                .filter(move |(_, filter)| wants(filter, event))
                .map(move |(endpoint, _)| (*endpoint, key.clone()))
        })
        .collect();
    if sequences.is_empty() {
        return Ok(None);
    }
    sequences.sort();
    sequences.dedup();
    deliveries::lock_sequences(conn, &sequences).await?;
    let mut busy = HashSet::new();
    for (endpoint, key) in sequences {
        if deliveries::has_pending(conn, endpoint, &key).await? {
            busy.insert((endpoint, key));
        }
    }
    Ok(Some(FanOut { filters, busy }))
}

/// Inserts a pending delivery, due at `at`, of each event (by its `seq`) to each endpoint
/// that wants it; each is blocked when an earlier one of its sequence is pending. Runs in the
/// event's transaction, after [`prepare_fan_out`].
pub(super) async fn fan_out<C: ConnectionTrait>(
    conn: &C,
    plan: FanOut,
    events: &[(i64, &Event)],
    at: DateTime<Utc>,
) -> StorageResult<()> {
    let FanOut { filters, mut busy } = plan;
    let mut ordered: Vec<&(i64, &Event)> = events.iter().collect();
    ordered.sort_by_key(|(seq, _)| *seq);
    let mut rows = Vec::new();
    for (seq, event) in ordered {
        let key = ordering_key(event);
        for (endpoint, filter) in &filters {
            if !wants(filter, event) {
                continue;
            }
            let blocked = !busy.insert((*endpoint, key.clone()));
            rows.push(delivery_rows::ActiveModel {
                endpoint_id: Set(*endpoint),
                event_seq: Set(*seq),
                ordering_key: Set(key.clone()),
                blocked: Set(blocked),
                status: Set(DeliveryStatus::Pending.as_str().to_owned()),
                attempts: Set(0),
                next_attempt_at: Set(at),
                created_at: Set(at),
                ..Default::default()
            });
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    delivery_rows::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// `seq` of each inserted event row, by event id.
pub(super) fn seqs_by_id(rows: Vec<crate::entities::events::Model>) -> HashMap<Uuid, i64> {
    rows.into_iter().map(|m| (m.id, m.seq)).collect()
}

#[async_trait::async_trait]
impl tether_core::webhooks::WebhookRepository for SqlStore {
    async fn create_endpoint(&self, new: NewWebhookEndpoint) -> StorageResult<WebhookEndpoint> {
        create(self, new).await
    }

    async fn list_endpoints(&self) -> StorageResult<Vec<WebhookEndpoint>> {
        list(self).await
    }

    async fn get_endpoint(&self, id: WebhookEndpointId) -> StorageResult<Option<WebhookEndpoint>> {
        get(self, id).await
    }

    async fn update_endpoint(
        &self,
        id: WebhookEndpointId,
        patch: &WebhookEndpointPatch,
        at: DateTime<Utc>,
    ) -> StorageResult<Option<WebhookEndpoint>> {
        update(self, id, patch, at).await
    }

    async fn delete_endpoint(&self, id: WebhookEndpointId) -> StorageResult<bool> {
        delete(self, id).await
    }

    async fn rotate_secret(
        &self,
        id: WebhookEndpointId,
        secret: &WebhookSecret,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StorageResult<Option<WebhookEndpoint>> {
        rotate_secret(self, id, secret, previous_until, at).await
    }

    async fn signing_secrets(
        &self,
        id: WebhookEndpointId,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<SigningSecrets>> {
        secrets_at(self, id, now).await
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u64,
        claim_until: DateTime<Utc>,
    ) -> StorageResult<Vec<tether_core::webhooks::ClaimedDelivery>> {
        super::deliveries::claim(self, now, limit, claim_until).await
    }

    async fn record_attempt(
        &self,
        claimed: &tether_core::webhooks::ClaimedDelivery,
        record: &tether_core::webhooks::AttemptRecord,
        disable: Option<&tether_core::webhooks::AutoDisable>,
    ) -> StorageResult<tether_core::webhooks::Recorded> {
        super::deliveries::record(self, claimed, record, disable).await
    }

    async fn list_deliveries(
        &self,
        id: WebhookEndpointId,
        limit: u64,
        before: Option<i64>,
    ) -> StorageResult<Vec<tether_core::webhooks::DeliveryRecord>> {
        super::deliveries::list(self, id, limit, before).await
    }

    async fn redeliver_event(
        &self,
        id: WebhookEndpointId,
        event: tether_core::events::EventId,
        now: DateTime<Utc>,
    ) -> StorageResult<tether_core::webhooks::Redelivery> {
        super::deliveries::redeliver_event(self, id, event, now).await
    }

    async fn redeliver_since(
        &self,
        id: WebhookEndpointId,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StorageResult<u64> {
        super::deliveries::redeliver_since(self, id, since, now).await
    }
}
