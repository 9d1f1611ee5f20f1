//! Status transitions through the storage API, as tether's own use-cases write them: each
//! integration is connected (`save_connection`, one `integration.connected` event) and then
//! flips between degraded and active (`update_lifecycle`, one `integration.degraded` or
//! `integration.recovered` event each), its transitions one after another, many integrations
//! at once. Every event gets its webhook deliveries in the same transaction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use tether_core::consent::NewConsent;
use tether_core::events::ReasonCode;
use tether_core::integration::{IntegrationStatus, NewIntegration};
use tether_core::ports::{ConnectionWrite, IntegrationRepository, IntegrationWrite};
use tether_core::secret::{AccessToken, RefreshToken};
use tether_core::token::TokenSet;
use tether_core::{IntegrationId, ProviderKind, ScopeSet, UserId};
use tether_storage::SqlStore;

use crate::Failure;
use crate::seed::SCOPES;

/// What a run did.
#[derive(Debug, Clone, Copy)]
pub struct Driven {
    pub transitions: usize,
    pub elapsed: Duration,
}

/// `integrations` integrations with `per_integration` transitions each (the connect
/// included), `concurrency` integrations at a time.
pub async fn drive(
    store: Arc<SqlStore>,
    integrations: usize,
    per_integration: usize,
    concurrency: usize,
) -> Result<Driven, Failure> {
    let started = Instant::now();
    let counts: Vec<usize> = futures::stream::iter(0..integrations)
        .map(|n| {
            let store = store.clone();
            async move { one(&store, n, per_integration).await }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(Driven {
        transitions: counts.iter().sum(),
        elapsed: started.elapsed(),
    })
}

async fn one(store: &SqlStore, n: usize, transitions: usize) -> Result<usize, Failure> {
    let scopes = ScopeSet::parse_delimited(SCOPES)?;
    let new = NewIntegration {
        id: IntegrationId::new(),
        user_id: UserId::parse(format!("bench-user-{n}"))?,
        provider: ProviderKind::Google,
        provider_account_id: format!("bench-events-account-{n}"),
        account_label: Some(format!("user{n}@example.com")),
        status: IntegrationStatus::Active,
        requested_scopes: scopes.clone(),
        granted_scopes: scopes.clone(),
        metadata: serde_json::json!({}),
        next_refresh_at: None,
    };
    let consent = NewConsent {
        integration_id: new.id,
        user_id: new.user_id.clone(),
        scopes: scopes.clone(),
        granted_at: Utc::now(),
        expires_at: None,
        ip_address: None,
        user_agent: None,
        consent_version: "bench".to_owned(),
    };
    let (mut integration, _, _) = store
        .save_connection(ConnectionWrite {
            integration: IntegrationWrite::Create(new),
            tokens: TokenSet {
                access_token: AccessToken::new(format!("bench-events-at-{n}")),
                refresh_token: Some(RefreshToken::new(format!("bench-events-rt-{n}"))),
                token_type: "Bearer".to_owned(),
                expires_at: None,
                refresh_expires_at: None,
                scope: Some(scopes),
                launch_context: None,
            },
            consent,
        })
        .await?;
    for _ in 1..transitions {
        let mut wanted = integration.clone();
        let reason = if integration.status == IntegrationStatus::Active {
            wanted.status = IntegrationStatus::Degraded;
            ReasonCode::ProviderUnavailable
        } else {
            wanted.status = IntegrationStatus::Active;
            ReasonCode::RefreshSucceeded
        };
        integration = store
            .update_lifecycle(&integration, &wanted, reason)
            .await?
            .ok_or("a bench integration disappeared")?;
    }
    Ok(transitions)
}
