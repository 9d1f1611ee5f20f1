//! The storage ports: what the use-cases need from persistence, implemented by
//! `tether-storage` on SQLite and PostgreSQL. Every method is one round of work that either
//! happens completely or not at all.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::api_key::{ApiKey, NewApiKey};
use crate::audit::{AuditEvent, AuditQuery, AuditRecord};
use crate::connect_session::{ConnectSession, NewConnectSession};
use crate::consent::{Consent, NewConsent};
use crate::console::{ConsoleAccount, ConsoleGrant, ConsoleSession, NewConsoleAccount, Username};
use crate::error::StorageResult;
use crate::events::{AppTokenStatus, Event, EventType, ReasonCode};
use crate::ids::{
    ApiKeyId, AuditId, ConnectSessionId, ConsoleAccountId, ConsoleSessionId, IntegrationId,
    TokenId, UserId,
};
use crate::integration::{Integration, IntegrationStatus, NewIntegration};
use crate::provider::ProviderKind;
use crate::provider_config::{ProviderConfig, ProviderConfigInput};
use crate::scope_catalog::ScopeCatalogEntry;
use crate::secret::OpaqueSecret;
use crate::token::{AccessRead, StoredTokens, TokenOwner, TokenSet};

/// Create a new integration, or update an existing one (checked against its `version`).
#[derive(Debug, Clone)]
pub enum IntegrationWrite {
    Create(NewIntegration),
    Update(Integration),
}

/// Everything a successful connect writes, in one transaction: the integration, its tokens
/// (replacing any stored ones) and the consent record.
#[derive(Debug, Clone)]
pub struct ConnectionWrite {
    pub integration: IntegrationWrite,
    pub tokens: TokenSet,
    pub consent: NewConsent,
}

/// A refreshed token pair and the integration's state after it, stored together
/// ([`IntegrationRepository::save_refresh`]).
#[derive(Debug)]
pub struct RefreshWrite<'a> {
    /// The integration as the refresh read it (its version and status decide the events).
    pub before: &'a Integration,
    /// Its lifecycle fields are written: status, failure count, last error, refresh times and
    /// granted scopes.
    pub integration: &'a Integration,
    /// Why the status changes, if it does (the events' reason).
    pub reason: ReasonCode,
    /// The token row the refresh read, and the version it had then.
    pub token_id: TokenId,
    pub expected_version: i64,
    pub tokens: &'a TokenSet,
}

#[async_trait]
pub trait IntegrationRepository: Send + Sync {
    /// Fails with `Duplicate` when the user already has this upstream account at this provider.
    async fn create(&self, new: NewIntegration) -> StorageResult<Integration>;
    async fn get(&self, id: IntegrationId) -> StorageResult<Option<Integration>>;
    /// The integration of this user for this upstream account, if any.
    async fn find_by_account(
        &self,
        user_id: &UserId,
        provider: ProviderKind,
        provider_account_id: &str,
    ) -> StorageResult<Option<Integration>>;
    /// Every integration (of any user) for this upstream account.
    async fn find_by_upstream_account(
        &self,
        provider: ProviderKind,
        provider_account_id: &str,
    ) -> StorageResult<Vec<Integration>>;
    /// Oldest first.
    async fn list_for_user(&self, user_id: &UserId) -> StorageResult<Vec<Integration>>;
    /// Writes every mutable field when the stored version equals `integration.version`
    /// (else `VersionConflict`); returns the row with its new version.
    async fn update(&self, integration: &Integration) -> StorageResult<Integration>;
    /// The refresh scheduler's claim: up to `limit` usable integrations due at or before `now`
    /// that no one holds (never claimed, or the claim lapsed before `now`), of the providers in
    /// `only` (every provider when empty), soonest due first; each is claimed until
    /// `claim_until`. Concurrent claimers get
    /// disjoint rows (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite serialises writers).
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u64,
        claim_until: DateTime<Utc>,
        only: &[ProviderKind],
    ) -> StorageResult<Vec<Integration>>;
    /// Ends the scheduler's claims on these integrations, so any replica may take them again.
    async fn release_claims(&self, ids: &[IntegrationId]) -> StorageResult<()>;
    /// Batched `last_used_at` updates; does not bump `version` (it is not a state change).
    async fn record_usage(&self, used: &[(IntegrationId, DateTime<Utc>)]) -> StorageResult<()>;
    /// The connect step, in one transaction (see [`ConnectionWrite`]), with its events
    /// (`integration.connected`, or `insufficient_scopes`, and `scopes_changed`).
    async fn save_connection(
        &self,
        write: ConnectionWrite,
    ) -> StorageResult<(Integration, StoredTokens, Consent)>;
    /// A refresh's result in one transaction: the integration's lifecycle fields (see
    /// [`RefreshWrite`]; the scheduler's claim ends) and the new token pair, only while the
    /// token row still has `expected_version` (else `VersionConflict`, and nothing is
    /// written) and the integration is not revoked (else `NotFound`).
    async fn save_refresh(
        &self,
        write: RefreshWrite<'_>,
    ) -> StorageResult<(Integration, StoredTokens)>;
    /// Writes the lifecycle fields of `wanted` (as [`RefreshWrite`] does, without tokens)
    /// onto the integration read as `before`, re-applying them to a newer row if it changed
    /// meanwhile, with the events of the change (`reason`), in one transaction. `None` when
    /// the integration is gone or revoked (a disconnect wins).
    async fn update_lifecycle(
        &self,
        before: &Integration,
        wanted: &Integration,
        reason: ReasonCode,
    ) -> StorageResult<Option<Integration>>;
    /// The local half of a disconnect, in one transaction: delete the tokens, set the status
    /// to `revoked`, set `revoked_at` on the consents still in force, and record the
    /// `integration.revoked` event (`reason`) unless it was revoked already.
    async fn mark_revoked(
        &self,
        id: IntegrationId,
        at: DateTime<Utc>,
        reason: ReasonCode,
    ) -> StorageResult<Integration>;
}

#[async_trait]
pub trait TokenRepository: Send + Sync {
    async fn get(&self, owner: &TokenOwner) -> StorageResult<Option<StoredTokens>>;
    /// The token read's hot path: the integration and its token row in one indexed query,
    /// decrypting only the access token. `None` when the integration does not exist.
    async fn read_for_access(&self, id: IntegrationId) -> StorageResult<Option<AccessRead>>;
    /// [`TokenRepository::read_for_access`] of several integrations in one query (concurrent
    /// cache misses share it): a result per integration found, each failing alone; missing
    /// integrations are left out.
    async fn read_for_access_many(
        &self,
        ids: &[IntegrationId],
    ) -> StorageResult<Vec<(IntegrationId, StorageResult<AccessRead>)>>;
    /// A refresh's read: the integration and its whole token row (refresh token included) in
    /// one query. `None` when the integration does not exist; no tokens when it has none.
    async fn read_for_refresh(
        &self,
        id: IntegrationId,
    ) -> StorageResult<Option<(Integration, Option<StoredTokens>)>>;
    /// When the access token of each of these integrations expires, in one query and without
    /// decrypting anything. Integrations without tokens are absent; a token with no known
    /// expiry maps to `None`.
    async fn expiries(
        &self,
        ids: &[IntegrationId],
    ) -> StorageResult<std::collections::HashMap<IntegrationId, Option<DateTime<Utc>>>>;
    /// With `expected_version: None` inserts (fails with `Duplicate` if a row exists); with
    /// `Some(v)` updates only if the stored version is `v` (else `VersionConflict`).
    async fn save(
        &self,
        owner: &TokenOwner,
        tokens: &TokenSet,
        expected_version: Option<i64>,
    ) -> StorageResult<StoredTokens>;
    /// Returns whether a row was deleted.
    async fn delete(&self, owner: &TokenOwner) -> StorageResult<bool>;
}

#[async_trait]
pub trait ConsentRepository: Send + Sync {
    async fn record(&self, consent: NewConsent) -> StorageResult<Consent>;
    /// Oldest first.
    async fn list_for_integration(&self, id: IntegrationId) -> StorageResult<Vec<Consent>>;
    /// Sets `revoked_at` on every consent of the integration still in force; returns how many.
    async fn revoke_for_integration(
        &self,
        id: IntegrationId,
        at: DateTime<Utc>,
    ) -> StorageResult<u64>;
}

/// Append-only: there is deliberately no update or delete.
#[async_trait]
pub trait AuditRepository: Send + Sync {
    async fn append(&self, event: &AuditEvent) -> StorageResult<AuditId>;
    /// Many events in one transaction (for batched, asynchronous audit writers).
    async fn append_batch(&self, events: &[AuditEvent]) -> StorageResult<()>;
    /// Newest first.
    async fn query(&self, query: &AuditQuery) -> StorageResult<Vec<AuditRecord>>;
}

/// Counts of a catalogue sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogSyncReport {
    pub inserted: u64,
    pub updated: u64,
    pub removed: u64,
}

#[async_trait]
pub trait ScopeCatalogRepository: Send + Sync {
    /// Makes the stored catalogue of `provider` equal to `entries`.
    async fn sync(
        &self,
        provider: ProviderKind,
        entries: &[ScopeCatalogEntry],
    ) -> StorageResult<CatalogSyncReport>;
    /// Sorted by provider, then scope.
    async fn list(&self, provider: Option<ProviderKind>) -> StorageResult<Vec<ScopeCatalogEntry>>;
}

/// A pending authorization taken from the store.
#[derive(Debug)]
pub struct TakenFlowState {
    pub payload: OpaqueSecret,
    pub expires_at: DateTime<Utc>,
}

/// Pending authorizations for the embedded mode (Redis holds them in production). Keys are
/// opaque to storage (the state crate passes a hash of the state, never the state itself);
/// payloads are encrypted at rest.
#[async_trait]
pub trait OAuthStateRepository: Send + Sync {
    /// Fails with `Duplicate` if the key exists.
    async fn put(
        &self,
        key: &str,
        payload: &OpaqueSecret,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<()>;
    /// Removes and returns the entry, atomically: of concurrent takers exactly one gets it.
    /// Expired entries are returned too (the caller reports "expired").
    async fn take(&self, key: &str) -> StorageResult<Option<TakenFlowState>>;
    /// Deletes entries that expired before `now`; returns how many.
    async fn purge_expired(&self, now: DateTime<Utc>) -> StorageResult<u64>;
}

#[async_trait]
pub trait ProviderConfigRepository: Send + Sync {
    async fn get(
        &self,
        provider: ProviderKind,
        instance: &str,
    ) -> StorageResult<Option<ProviderConfig>>;
    async fn list(&self) -> StorageResult<Vec<ProviderConfig>>;
    /// Creates or replaces; a `None` client secret keeps the stored one.
    async fn upsert(&self, input: ProviderConfigInput) -> StorageResult<ProviderConfig>;
    async fn delete(&self, provider: ProviderKind, instance: &str) -> StorageResult<bool>;
}

#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    async fn create(&self, new: NewApiKey) -> StorageResult<ApiKey>;
    /// Only keys that are not revoked.
    async fn find_active_by_hash(&self, key_hash: &str) -> StorageResult<Option<ApiKey>>;
    async fn list(&self) -> StorageResult<Vec<ApiKey>>;
    /// Returns whether an active key was revoked.
    async fn revoke(&self, id: ApiKeyId, at: DateTime<Utc>) -> StorageResult<bool>;
    async fn touch(&self, id: ApiKeyId, at: DateTime<Utc>) -> StorageResult<()>;
}

/// Database-backed named locks (the embedded mode's cross-process lock).
#[async_trait]
pub trait LockRepository: Send + Sync {
    /// Takes `name` for `owner` until `expires_at` if it is free or its lease ended before
    /// `now`; returns whether `owner` now holds it.
    async fn try_acquire(
        &self,
        name: &str,
        owner: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StorageResult<bool>;
    /// Releases `name` if `owner` holds it; returns whether it did.
    async fn release(&self, name: &str, owner: &str) -> StorageResult<bool>;
    /// Moves the lease of `name` to `expires_at` if `owner` still holds it unlapsed at `now`;
    /// returns whether it did.
    async fn extend(
        &self,
        name: &str,
        owner: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StorageResult<bool>;
}

/// An event in the outbox, with its position in the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Rises with every event, in commit order: a consumer's cursor.
    pub seq: i64,
    pub event: Event,
}

#[async_trait]
pub trait EventRepository: Send + Sync {
    /// Events after position `after` (0 for the oldest kept), oldest first, at most `limit`,
    /// of the given types (every type when empty).
    async fn list_after(
        &self,
        after: i64,
        limit: u64,
        types: &[EventType],
    ) -> StorageResult<Vec<StoredEvent>>;
    /// The events of one integration, newest first, at most `limit`: its status history.
    async fn list_for_integration(
        &self,
        integration: IntegrationId,
        limit: u64,
    ) -> StorageResult<Vec<StoredEvent>>;
    /// Deletes the events that occurred before `before`; returns how many.
    async fn prune(&self, before: DateTime<Utc>) -> StorageResult<u64>;
    /// Records the status of the app token of `provider` / `key` and, in the same
    /// transaction, the event of its change if it is one (a first success is not).
    async fn record_app_token_status(
        &self,
        provider: ProviderKind,
        key: &str,
        status: AppTokenStatus,
        at: DateTime<Utc>,
    ) -> StorageResult<Option<Event>>;
}

/// Console accounts, their grants and their sessions. Times come from the caller (the
/// console's clock), so expiry is exact in tests.
#[async_trait]
pub trait ConsoleRepository: Send + Sync {
    /// Fails with `Duplicate` when the username is taken.
    async fn create_account(
        &self,
        new: NewConsoleAccount,
        at: DateTime<Utc>,
    ) -> StorageResult<ConsoleAccount>;
    async fn account(&self, id: ConsoleAccountId) -> StorageResult<Option<ConsoleAccount>>;
    async fn account_by_username(
        &self,
        username: &Username,
    ) -> StorageResult<Option<ConsoleAccount>>;
    /// Sorted by username.
    async fn list_accounts(&self) -> StorageResult<Vec<ConsoleAccount>>;
    /// Disables (ending every session of the account) or enables it again; `false` when there
    /// is no such account.
    async fn set_disabled(
        &self,
        id: ConsoleAccountId,
        disabled: bool,
        at: DateTime<Utc>,
    ) -> StorageResult<bool>;
    /// Replaces the password hash and ends every session of the account; `false` when there
    /// is no such account.
    async fn set_password_hash(
        &self,
        id: ConsoleAccountId,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> StorageResult<bool>;
    /// Replaces the account's grants; `false` when there is no such account.
    async fn set_grants(
        &self,
        id: ConsoleAccountId,
        grants: &[ConsoleGrant],
        at: DateTime<Utc>,
    ) -> StorageResult<bool>;
    async fn create_session(
        &self,
        account: ConsoleAccountId,
        token_hash: &str,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<ConsoleSession>;
    /// The session with this token hash, unexpired at `now`, and its account.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<(ConsoleSession, ConsoleAccount)>>;
    /// Returns whether a session was deleted.
    async fn delete_session(&self, id: ConsoleSessionId) -> StorageResult<bool>;
    /// Ends every session of the account; returns how many.
    async fn delete_sessions(&self, account: ConsoleAccountId) -> StorageResult<u64>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> StorageResult<u64>;
}

/// How many integrations of one provider are in one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegrationCount {
    pub provider: ProviderKind,
    pub status: IntegrationStatus,
    pub count: u64,
}

/// The refresh scheduler's backlog: usable integrations whose refresh is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefreshBacklog {
    /// How many are due (`next_refresh_at` at or before now), claimed or not.
    pub due: u64,
    /// The earliest `next_refresh_at` among them: now minus this is the scheduler's lag.
    pub oldest_due_at: Option<DateTime<Utc>>,
}

/// Read-only summaries of the integrations, for the console's overview.
#[async_trait]
pub trait IntegrationOverview: Send + Sync {
    /// Every (provider, status) pair with at least one integration, sorted by both.
    async fn integration_counts(&self) -> StorageResult<Vec<IntegrationCount>>;
    /// Integrations that are `degraded`, `reauth_required` or `insufficient_scopes`, most
    /// recently changed first, at most `limit`.
    async fn needing_attention(&self, limit: u64) -> StorageResult<Vec<Integration>>;
    /// The usable integrations due for a refresh at `now`, and the oldest due time.
    async fn refresh_backlog(&self, now: DateTime<Utc>) -> StorageResult<RefreshBacklog>;
    /// Integrations matching every filter given, most recently changed first.
    async fn search(&self, search: &IntegrationSearch) -> StorageResult<Vec<Integration>>;
}

/// The console's integration search: each filter given narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrationSearch {
    pub user_id: Option<UserId>,
    pub provider: Option<ProviderKind>,
    pub status: Option<IntegrationStatus>,
    /// Part of the account label (e-mail, workspace name), any case.
    pub account: Option<String>,
    /// At most this many (capped by the repository at 500), after skipping `offset`.
    pub limit: u64,
    pub offset: u64,
}

/// Hosted connect sessions. Times come from the caller (the API's clock), so expiry is exact
/// in tests; the token is known to storage only as its hash.
#[async_trait]
pub trait ConnectSessionRepository: Send + Sync {
    async fn create_connect_session(&self, new: NewConnectSession)
    -> StorageResult<ConnectSession>;
    /// The session with this token hash, whatever its state (the page says why it cannot be
    /// used).
    async fn connect_session_by_token_hash(
        &self,
        token_hash: &str,
    ) -> StorageResult<Option<ConnectSession>>;
    async fn connect_session(&self, id: ConnectSessionId) -> StorageResult<Option<ConnectSession>>;
    /// Spends the session on `provider` in one conditional update (unused and unexpired at
    /// `now`), so of concurrent takes on any number of replicas exactly one succeeds. `None`:
    /// unknown, already used or expired.
    async fn take_connect_session(
        &self,
        token_hash: &str,
        provider: ProviderKind,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<ConnectSession>>;
    /// Deletes sessions that expired before `before`; returns how many.
    async fn purge_connect_sessions(&self, before: DateTime<Utc>) -> StorageResult<u64>;
}
