//! What the hosted connect page asks of a session: what it offers (`view`), spending it on
//! the provider the user picks (`choose`, which starts the ordinary connect flow), and how
//! it ended (`result`).

use tether_core::connect_session::ConnectSession;
use tether_core::{ConnectSessionId, Integration, IntegrationId, ProviderKind, ScopeSet};
use url::Url;

use super::ConnectSessions;
use crate::callback::ClientInfo;
use crate::error::{BrokerError, BrokerResult};
use crate::flow::AuthorizationRequest;
use crate::random;

/// How long after the user picked a provider the result page still answers (the provider's
/// consent may take a while; the flow itself expires sooner).
const RESULT_WINDOW: chrono::Duration = chrono::Duration::hours(1);

/// One provider the page offers and what will be asked of it.
#[derive(Debug, Clone)]
pub struct ConnectOffer {
    pub provider: ProviderKind,
    /// The provider's configuration instance (an OpenEMR site); `""` for its usual one.
    pub instance: String,
    /// Every scope the flow will request.
    pub scopes: ScopeSet,
    /// For an upgrade: the scopes the integration already has (the rest are added).
    pub already_granted: Option<ScopeSet>,
}

/// A usable session and its offers (providers no longer configured are left out).
#[derive(Debug, Clone)]
pub struct ConnectSessionView {
    pub session: ConnectSession,
    pub offers: Vec<ConnectOffer>,
    /// For an upgrade: the integration being upgraded.
    pub upgrading: Option<Integration>,
}

/// A spent session and the integration the flow reported, when it is the session user's
/// integration of the chosen provider.
#[derive(Debug, Clone)]
pub struct ConnectSessionResult {
    pub session: ConnectSession,
    pub integration: Option<Integration>,
}

impl ConnectSessions {
    /// The session behind a link, with what it offers.
    pub async fn view(&self, token: &str) -> BrokerResult<ConnectSessionView> {
        let session = self.usable(token).await?;
        let upgrading = match &session.upgrade {
            Some(upgrade) => Some(self.integration_of(&session.user_id, upgrade).await?),
            None => None,
        };
        let offers = session
            .providers
            .iter()
            .filter_map(|p| self.offer(&session, upgrading.as_ref(), *p).ok())
            .collect();
        Ok(ConnectSessionView {
            session,
            offers,
            upgrading,
        })
    }

    fn offer(
        &self,
        session: &ConnectSession,
        upgrading: Option<&Integration>,
        provider: ProviderKind,
    ) -> BrokerResult<ConnectOffer> {
        let (asked, already_granted) = match (upgrading, &session.upgrade) {
            (Some(integration), Some(upgrade)) => (
                Some(integration.granted_scopes.union(&upgrade.extra_scopes)),
                Some(integration.granted_scopes.clone()),
            ),
            _ => (session.scopes_for(provider).cloned(), None),
        };
        let instance = session.instance_for(provider);
        Ok(ConnectOffer {
            provider,
            instance: instance.to_owned(),
            scopes: self.broker.scopes_to_request(provider, instance, asked)?,
            already_granted,
        })
    }

    /// Spends the session on `provider` (one conditional update: of two clicks, on any
    /// replicas, one wins) and begins the connect flow; answers the flow's start URL.
    #[tracing::instrument(skip_all, fields(provider = %provider))]
    pub async fn choose(
        &self,
        token: &str,
        provider: ProviderKind,
        client: &ClientInfo,
    ) -> BrokerResult<Url> {
        let session = self.usable(token).await?;
        if !session.providers.contains(&provider) {
            return Err(BrokerError::InvalidInput(format!(
                "This connect link does not offer {}.",
                provider.display_name()
            )));
        }
        let upgrading = match &session.upgrade {
            Some(upgrade) => Some(self.integration_of(&session.user_id, upgrade).await?),
            None => None,
        };
        // Checked before the session is spent: a provider removed meanwhile leaves it usable.
        let offer = self.offer(&session, upgrading.as_ref(), provider)?;
        let taken = self
            .repo
            .take_connect_session(&random::sha256(token), provider, self.clock.now())
            .await?;
        let Some(session) = taken else {
            // Someone else spent it first, or it expired in between: say which.
            return Err(match self.usable(token).await {
                Err(e) => e,
                Ok(_) => BrokerError::ConnectSessionUsed,
            });
        };
        let mut return_to = self.broker.inner.config.connect_url("/result")?;
        return_to
            .query_pairs_mut()
            .append_pair("session", &session.id.to_string());
        let begun = self
            .broker
            .begin_hosted_authorization(
                AuthorizationRequest {
                    user_id: session.user_id.clone(),
                    provider,
                    instance: offer.instance,
                    scopes: Some(offer.scopes),
                    return_to: return_to.to_string(),
                    login_hint: None,
                },
                session.upgrade.as_ref().map(|u| u.integration_id),
                client,
            )
            .await?;
        Ok(begun.start_url)
    }

    /// A spent session, for its result page; `integration_id` is what the callback reported.
    pub async fn result(
        &self,
        session_id: &str,
        integration_id: Option<&str>,
    ) -> BrokerResult<ConnectSessionResult> {
        let id: ConnectSessionId = session_id
            .parse()
            .map_err(|_| BrokerError::ConnectSessionUnknown)?;
        let session = self
            .repo
            .connect_session(id)
            .await?
            .ok_or(BrokerError::ConnectSessionUnknown)?;
        let (Some(used_at), Some(chosen)) = (session.used_at, session.chosen_provider) else {
            return Err(BrokerError::ConnectSessionUnknown);
        };
        if self.clock.now() > used_at + RESULT_WINDOW {
            return Err(BrokerError::ConnectSessionExpired);
        }
        let integration = match integration_id.and_then(|i| i.parse::<IntegrationId>().ok()) {
            Some(id) => self
                .broker
                .inner
                .stores
                .integrations
                .get(id)
                .await?
                .filter(|i| i.user_id == session.user_id && i.provider == chosen),
            None => None,
        };
        Ok(ConnectSessionResult {
            session,
            integration,
        })
    }
}
