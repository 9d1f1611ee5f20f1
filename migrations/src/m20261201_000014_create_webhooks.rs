//! Webhook endpoints (`webhook_endpoints`) and the delivery of each event to each of them
//! (`webhook_deliveries`).
//!
//! A delivery row is inserted in the transaction that writes its event, one per enabled
//! endpoint whose filter accepts it. Workers in every replica claim due rows with a lease
//! (`claimed_until`). `ordering_key` (the integration, or the app token) keeps one endpoint's
//! events of one integration in `events.seq` order: of the pending deliveries of one endpoint
//! and key only the earliest is claimable; the others are `blocked` until it is resolved.
//! Deliveries go with their event when it is pruned and with their endpoint when it is
//! deleted. Secrets are Fernet ciphertexts.
//!
//! The two partial indexes hold pending rows only, so they stay small however many
//! deliveries are kept: the claimable ones by due time (the claim), and each endpoint's and
//! key's pending ones in order (finding the next one to unblock).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Description,
    /// JSON array of event types; empty: every type.
    EventTypes,
    Enabled,
    DisabledReason,
    DisabledAt,
    FailingSince,
    /// Fernet ciphertext.
    Secret,
    /// Fernet ciphertext of the secret replaced by the last rotation.
    PreviousSecret,
    PreviousSecretExpiresAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    EventSeq,
    OrderingKey,
    /// Pending behind an earlier pending event of the same endpoint and key.
    Blocked,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastAttemptAt,
    LastStatusCode,
    LastLatencyMs,
    LastError,
    DeliveredAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Seq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// All or nothing on both engines (SQLite has transactional DDL too), on one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .col(pk_uuid(WebhookEndpoints::Id))
                    .col(text(WebhookEndpoints::Url))
                    .col(text(WebhookEndpoints::Description).default(""))
                    .col(json(WebhookEndpoints::EventTypes))
                    .col(boolean(WebhookEndpoints::Enabled).default(true))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::DisabledAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::FailingSince,
                    ))
                    .col(text(WebhookEndpoints::Secret))
                    .col(text_null(WebhookEndpoints::PreviousSecret))
                    .col(timestamp_with_time_zone_null(
                        WebhookEndpoints::PreviousSecretExpiresAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .col(big_integer(WebhookEndpoints::Version).default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(
                        big_integer(WebhookDeliveries::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(big_integer(WebhookDeliveries::EventSeq))
                    .col(string_len(WebhookDeliveries::OrderingKey, 300))
                    .col(boolean(WebhookDeliveries::Blocked).default(false))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::ClaimedUntil,
                    ))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::LastAttemptAt,
                    ))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(big_integer_null(WebhookDeliveries::LastLatencyMs))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::DeliveredAt,
                    ))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_endpoint")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_event")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EventSeq)
                            .to(Events::Table, Events::Seq)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One delivery per event and endpoint (redelivery reuses it); also the index of the
        // foreign key to `events` that pruning cascades through.
        manager
            .create_index(
                Index::create()
                    .name("uq_webhook_deliveries_event_endpoint")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EventSeq)
                    .col(WebhookDeliveries::EndpointId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // An endpoint's deliveries, newest first; the foreign key's index.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_endpoint_seq")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::EventSeq)
                    .to_owned(),
            )
            .await?;
        // Partial indexes: the same text on both engines, which sea-query's index builder
        // cannot express.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) \
             WHERE status = 'pending' AND NOT blocked",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_webhook_deliveries_order ON webhook_deliveries \
             (endpoint_id, ordering_key, event_seq) WHERE status = 'pending'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned())
            .await
    }
}
