//! Hosted connect sessions, the use-case behind `POST /api/v1/connect-sessions` and the
//! `/connect` pages: a backend creates a short-lived, single-use link for one of its users;
//! the page shows what each offered provider will be asked for; picking one spends the
//! session and starts the ordinary connect flow (`flow.rs`: state, PKCE, browser binding)
//! with Tether's own result page as the way back.

mod page;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::clock::Clock;
use tether_core::connect_session::{
    ConnectSession, ConnectSessionState, ConnectTarget, ConnectUpgrade, NewConnectSession,
};
use tether_core::ports::ConnectSessionRepository;
use tether_core::provider::GrantKind;
use tether_core::secret::OpaqueSecret;
use tether_core::{
    ApiKeyId, ConnectSessionId, Integration, IntegrationStatus, ProviderKind, ScopeSet, UserId,
};

pub use page::{ConnectOffer, ConnectSessionResult, ConnectSessionView};

use crate::broker::Broker;
use crate::error::{BrokerError, BrokerResult};
use crate::flow::MAX_PARAM_LEN;
use crate::random;
use crate::registry::instance_of;

/// What a backend asks for.
#[derive(Debug, Clone)]
pub struct ConnectSessionRequest {
    pub user_id: UserId,
    /// `None`: every configured provider users connect.
    pub providers: Option<Vec<ProviderKind>>,
    /// Scopes per provider (others get their defaults).
    pub scopes: BTreeMap<ProviderKind, ScopeSet>,
    /// The configuration instance per provider (an OpenEMR site); others use their usual,
    /// unnamed one. Not used with an upgrade (the integration's own instance is).
    pub instances: BTreeMap<ProviderKind, String>,
    /// Exactly one of `return_to` and `opener_origin`.
    pub return_to: Option<String>,
    pub opener_origin: Option<String>,
    pub upgrade: Option<ConnectUpgrade>,
    /// The API key asking.
    pub created_by: Option<ApiKeyId>,
}

/// A new session and its link (the link holds the token: a secret, shown once).
#[derive(Debug)]
pub struct CreatedConnectSession {
    pub session: ConnectSession,
    pub url: OpaqueSecret,
}

/// The connect sessions' use-cases over the broker, a repository and a clock.
#[derive(Clone)]
pub struct ConnectSessions {
    broker: Broker,
    repo: Arc<dyn ConnectSessionRepository>,
    clock: Arc<dyn Clock>,
    ttl: chrono::Duration,
}

impl std::fmt::Debug for ConnectSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSessions")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl ConnectSessions {
    /// `ttl`: how long a link stays usable.
    pub fn new(
        broker: Broker,
        repo: Arc<dyn ConnectSessionRepository>,
        clock: Arc<dyn Clock>,
        ttl: std::time::Duration,
    ) -> Self {
        Self {
            broker,
            repo,
            clock,
            ttl: chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::minutes(10)),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Checks the request and stores the session; answers it with its link.
    #[tracing::instrument(skip_all, fields(user_id = %request.user_id))]
    pub async fn create(
        &self,
        request: ConnectSessionRequest,
    ) -> BrokerResult<CreatedConnectSession> {
        let config = &self.broker.inner.config;
        let target = match (&request.return_to, &request.opener_origin) {
            (Some(url), None) => ConnectTarget::ReturnTo(config.return_to.check(url)?.to_string()),
            (None, Some(origin)) => ConnectTarget::Opener(config.return_to.check_origin(origin)?),
            _ => {
                return Err(BrokerError::InvalidInput(
                    "Give exactly one of return_to (redirect) and opener_origin (popup)."
                        .to_owned(),
                ));
            }
        };
        let (providers, instances) = match &request.upgrade {
            Some(upgrade) => {
                let integration = self.check_upgrade(&request, upgrade).await?;
                let instance = instance_of(&integration);
                let instances = (!instance.is_empty())
                    .then(|| (integration.provider, instance.to_owned()))
                    .into_iter()
                    .collect();
                (vec![integration.provider], instances)
            }
            None => (
                self.offered_providers(request.providers.as_deref(), &request.instances)?,
                request.instances.clone(),
            ),
        };
        for (what, mut named) in [
            ("scopes", request.scopes.keys().copied().collect::<Vec<_>>()),
            ("instances", request.instances.keys().copied().collect()),
        ] {
            if let Some(other) = named.drain(..).find(|p| !providers.contains(p)) {
                return Err(BrokerError::InvalidInput(format!(
                    "{what} names {other}, which is not among the offered providers."
                )));
            }
        }
        let token = OpaqueSecret::new(random::token());
        let now = self.clock.now();
        let session = self
            .repo
            .create_connect_session(NewConnectSession {
                id: ConnectSessionId::new(),
                token_hash: random::sha256(token.expose_secret()),
                user_id: request.user_id.clone(),
                providers,
                scopes: request.scopes,
                instances,
                target,
                upgrade: request.upgrade,
                created_by: request.created_by,
                created_at: now,
                expires_at: now + self.ttl,
            })
            .await?;
        let mut url = config.connect_url("")?;
        url.query_pairs_mut()
            .append_pair("token", token.expose_secret());

        let actor = request.created_by.map_or(Actor::System, Actor::ApiKey);
        let mut event = AuditEvent::new(actor, AuditAction::ConnectSessionCreated);
        event.user_id = Some(request.user_id);
        event.integration_id = session.upgrade.as_ref().map(|u| u.integration_id);
        if let [only] = session.providers.as_slice() {
            event.provider = Some(*only);
        }
        self.broker.inner.audit.record(event).await;
        Ok(CreatedConnectSession {
            session,
            url: OpaqueSecret::new(url.to_string()),
        })
    }

    /// The providers a new session offers: the ones named (deduplicated, in order), or every
    /// configured provider users connect — each in its named instance, if any.
    fn offered_providers(
        &self,
        named: Option<&[ProviderKind]>,
        instances: &BTreeMap<ProviderKind, String>,
    ) -> BrokerResult<Vec<ProviderKind>> {
        let registry = self.broker.inner.providers.load();
        let configured = |kind: ProviderKind| {
            registry
                .get(kind, instances.get(&kind).map_or("", String::as_str))
                .is_ok()
        };
        let Some(named) = named else {
            let all: Vec<_> = ProviderKind::ALL
                .iter()
                .copied()
                .filter(|k| k.grant_kind() == GrantKind::AuthorizationCode && configured(*k))
                .collect();
            if all.is_empty() {
                return Err(BrokerError::InvalidInput(
                    "No provider users connect is configured.".to_owned(),
                ));
            }
            return Ok(all);
        };
        if named.is_empty() {
            return Err(BrokerError::InvalidInput(
                "providers is empty; leave it out to offer every configured provider.".to_owned(),
            ));
        }
        let mut out = Vec::new();
        for kind in named {
            if kind.grant_kind() != GrantKind::AuthorizationCode {
                return Err(BrokerError::InvalidInput(format!(
                    "{} uses app-level credentials; there is nothing for a user to connect.",
                    kind.display_name()
                )));
            }
            if !configured(*kind) {
                return Err(BrokerError::ProviderNotConfigured(*kind));
            }
            if !out.contains(kind) {
                out.push(*kind);
            }
        }
        Ok(out)
    }

    /// The integration an upgrade names, checked: the user's, not revoked, of a configured
    /// provider, with scopes to add.
    async fn check_upgrade(
        &self,
        request: &ConnectSessionRequest,
        upgrade: &ConnectUpgrade,
    ) -> BrokerResult<Integration> {
        if upgrade.extra_scopes.is_empty() {
            return Err(BrokerError::InvalidInput(
                "upgrade.scopes is empty: name the scopes to add.".to_owned(),
            ));
        }
        if !request.scopes.is_empty() || !request.instances.is_empty() {
            return Err(BrokerError::InvalidInput(
                "scopes and instances are not used with an upgrade: name the scopes to add in \
                 upgrade.scopes (the integration's own provider instance is used)."
                    .to_owned(),
            ));
        }
        let integration = self.integration_of(&request.user_id, upgrade).await?;
        if let Some(named) = &request.providers
            && named.iter().any(|p| *p != integration.provider)
        {
            return Err(BrokerError::InvalidInput(format!(
                "The integration to upgrade is a {} integration; providers may name only {}.",
                integration.provider.display_name(),
                integration.provider
            )));
        }
        if integration.status == IntegrationStatus::Revoked {
            return Err(BrokerError::InvalidInput(
                "The integration was disconnected; create a session without upgrade to connect \
                 the account again."
                    .to_owned(),
            ));
        }
        self.broker
            .inner
            .providers
            .load()
            .get(integration.provider, instance_of(&integration))?;
        Ok(integration)
    }

    /// The user's integration an upgrade names (another user's looks missing).
    async fn integration_of(
        &self,
        user: &UserId,
        upgrade: &ConnectUpgrade,
    ) -> BrokerResult<Integration> {
        self.broker
            .inner
            .stores
            .integrations
            .get(upgrade.integration_id)
            .await?
            .filter(|i| i.user_id == *user)
            .ok_or(BrokerError::IntegrationNotFound)
    }

    /// The session a link's token names, refused when it cannot be used any more.
    async fn usable(&self, token: &str) -> BrokerResult<ConnectSession> {
        let session = self.by_token(token).await?;
        match session.state(self.clock.now()) {
            ConnectSessionState::Usable => Ok(session),
            ConnectSessionState::Used => Err(BrokerError::ConnectSessionUsed),
            ConnectSessionState::Expired => Err(BrokerError::ConnectSessionExpired),
        }
    }

    async fn by_token(&self, token: &str) -> BrokerResult<ConnectSession> {
        if token.is_empty() || token.len() > MAX_PARAM_LEN {
            return Err(BrokerError::ConnectSessionUnknown);
        }
        self.repo
            .connect_session_by_token_hash(&random::sha256(token))
            .await?
            .ok_or(BrokerError::ConnectSessionUnknown)
    }
}
