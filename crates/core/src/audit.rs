//! The append-only audit trail: who did what to which integration, and whether it worked.

use chrono::{DateTime, Utc};

use crate::ids::{ApiKeyId, AuditId, ConsoleAccountId, IntegrationId, UserId};
use crate::provider::ProviderKind;
use crate::scope::ScopeSet;

crate::closed_enum! {
    /// The kind of caller behind an audited operation.
    pub enum ActorKind ("actor kind") {
        User = "user",
        ApiKey = "api_key",
        System = "system",
        /// A person at the command line (`tether keys rotate`, `api-keys`, `migrate`, …).
        Operator = "operator",
        /// A person signed in to `/console` with a console account.
        Console = "console",
    }
}

/// Who performed an audited operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    ApiKey(ApiKeyId),
    /// Tether itself: the scheduler, start-up, background work.
    System,
    /// Someone running a `tether` command: `os-user@host`, or what `TETHER_OPERATOR` names.
    Operator(String),
    /// A console account (`/console`).
    Console(ConsoleAccountId),
}

impl Actor {
    pub fn kind(&self) -> ActorKind {
        match self {
            Actor::User(_) => ActorKind::User,
            Actor::ApiKey(_) => ActorKind::ApiKey,
            Actor::System => ActorKind::System,
            Actor::Operator(_) => ActorKind::Operator,
            Actor::Console(_) => ActorKind::Console,
        }
    }

    /// The id stored beside the kind (`None` for the system).
    pub fn id_text(&self) -> Option<String> {
        match self {
            Actor::User(id) => Some(id.to_string()),
            Actor::ApiKey(id) => Some(id.to_string()),
            Actor::System => None,
            Actor::Operator(name) => Some(name.clone()),
            Actor::Console(id) => Some(id.to_string()),
        }
    }

    /// Rebuilds an actor from its stored kind and id.
    pub fn from_parts(kind: ActorKind, id: Option<&str>) -> Result<Self, crate::ParseError> {
        match (kind, id) {
            (ActorKind::System, _) => Ok(Actor::System),
            (ActorKind::User, Some(id)) => Ok(Actor::User(UserId::parse(id)?)),
            (ActorKind::ApiKey, Some(id)) => Ok(Actor::ApiKey(id.parse()?)),
            (ActorKind::Operator, Some(name)) => Ok(Actor::Operator(name.to_owned())),
            (ActorKind::Console, Some(id)) => Ok(Actor::Console(id.parse()?)),
            (_, None) => Err(crate::ParseError::invalid("actor", "missing actor id")),
        }
    }
}

crate::closed_enum! {
    /// What happened.
    pub enum AuditAction ("audit action") {
        AuthorizationStarted = "authorization_started",
        AuthorizationFailed = "authorization_failed",
        Connected = "connected",
        Reconnected = "reconnected",
        TokenRead = "token_read",
        TokenRefreshed = "token_refreshed",
        RefreshFailed = "refresh_failed",
        StatusChanged = "status_changed",
        ProxyCall = "proxy_call",
        TestConnection = "test_connection",
        Revoked = "revoked",
        ConsentRecorded = "consent_recorded",
        AppTokenFetched = "app_token_fetched",
        SmsSent = "sms_sent",
        ProviderConfigChanged = "provider_config_changed",
        ApiKeyCreated = "api_key_created",
        ApiKeyRevoked = "api_key_revoked",
        KeysRotated = "keys_rotated",
        /// `tether migrate up|down|fresh` changed the schema.
        SchemaMigrated = "schema_migrated",
        /// Tether registered itself as a client at a provider (`tether openemr register`).
        ProviderRegistered = "provider_registered",
        WebhookEndpointCreated = "webhook_endpoint_created",
        WebhookEndpointChanged = "webhook_endpoint_changed",
        WebhookEndpointDeleted = "webhook_endpoint_deleted",
        WebhookSecretRotated = "webhook_secret_rotated",
        /// Tether disabled an endpoint whose deliveries kept failing.
        WebhookEndpointDisabled = "webhook_endpoint_disabled",
        WebhookTestSent = "webhook_test_sent",
        WebhookRedelivery = "webhook_redelivery",
        /// A console sign-in, successful or not (`success`, and `detail.reason` when refused).
        ConsoleSignIn = "console_sign_in",
        /// A backend created a hosted connect session for a user.
        ConnectSessionCreated = "connect_session_created",
        ConsoleSignOut = "console_sign_out",
        /// Every session of a console account ended ("sign out everywhere").
        ConsoleSessionsEnded = "console_sessions_ended",
        ConsoleAccountCreated = "console_account_created",
        ConsoleAccountDisabled = "console_account_disabled",
        ConsoleAccountEnabled = "console_account_enabled",
        ConsolePasswordReset = "console_password_reset",
        ConsoleGrantsChanged = "console_grants_changed",
    }
}

/// A new audit record. Never put a secret in any field.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub integration_id: Option<IntegrationId>,
    pub user_id: Option<UserId>,
    pub actor: Actor,
    pub action: AuditAction,
    pub provider: Option<ProviderKind>,
    pub scopes: Option<ScopeSet>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub success: bool,
    pub error_message: Option<String>,
    /// Free-form non-secret detail (a purpose, an outcome, a status transition).
    pub detail: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl AuditEvent {
    /// A successful event with the optional fields empty.
    pub fn new(actor: Actor, action: AuditAction) -> Self {
        Self {
            integration_id: None,
            user_id: None,
            actor,
            action,
            provider: None,
            scopes: None,
            ip_address: None,
            user_agent: None,
            success: true,
            error_message: None,
            detail: None,
            created_at: Utc::now(),
        }
    }

    pub fn failed(mut self, message: impl Into<String>) -> Self {
        self.success = false;
        self.error_message = Some(message.into());
        self
    }
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: AuditId,
    pub event: AuditEvent,
}

/// A filter over the audit log; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub integration_id: Option<IntegrationId>,
    pub user_id: Option<UserId>,
    pub action: Option<AuditAction>,
    /// Only records of callers of this kind.
    pub actor_kind: Option<ActorKind>,
    /// Only records of the caller with this id, as [`Actor::id_text`] gives it (with
    /// `actor_kind`, one caller; alone, any kind whose id is this).
    pub actor_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Newest first; at most this many (capped by the repository).
    pub limit: u64,
    /// Records strictly older than this id (for paging).
    pub before: Option<AuditId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_actor_kinds_round_trip_and_reject_unknown_text() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
        }
        for kind in ActorKind::ALL {
            assert_eq!(kind.as_str().parse::<ActorKind>().unwrap(), *kind);
        }
        assert!("deleted".parse::<AuditAction>().is_err());
        assert!("robot".parse::<ActorKind>().is_err());
    }

    #[test]
    fn actors_round_trip_through_their_stored_parts() {
        let actors = [
            Actor::User(UserId::parse("u1").unwrap()),
            Actor::ApiKey(ApiKeyId::new()),
            Actor::System,
            Actor::Operator("ops@host".into()),
            Actor::Console(ConsoleAccountId::new()),
        ];
        for actor in actors {
            let id = actor.id_text();
            assert_eq!(
                Actor::from_parts(actor.kind(), id.as_deref()).unwrap(),
                actor
            );
        }
        assert!(Actor::from_parts(ActorKind::User, None).is_err());
        assert!(Actor::from_parts(ActorKind::ApiKey, Some("nope")).is_err());
    }
}
