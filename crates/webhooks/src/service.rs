//! [`Webhooks`]: endpoint management as the admin API and the CLI offer it — create (the secret
//! is shown once), change, delete, rotate the secret (the old one keeps signing for a grace
//! period), send a test event, list deliveries, redeliver — each checked, audited and never
//! revealing a secret except the one-time display.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde_json::json;
use tether_core::WebhookEndpointId;
use tether_core::audit::{Actor, AuditAction, AuditEvent};
use tether_core::events::{EventId, EventType};
use tether_core::ports::AuditRepository;
use tether_core::secret::WebhookSecret;
use tether_core::webhooks::{
    DeliveryRecord, NewWebhookEndpoint, Redelivery, TEST_EVENT_TYPE, WebhookEndpoint,
    WebhookEndpointPatch, WebhookRepository,
};
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::error::{WebhookError, WebhookResult};
use crate::observer::WebhookObserver;
use crate::sender::{Attempt, Sender};
use crate::settings::WebhookSettings;
use crate::signing::{SignedHeaders, generate_secret};

/// The longest description accepted.
const MAX_DESCRIPTION: usize = 500;

/// A new endpoint, as given by an operator.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    /// Event types (`integration.revoked`, …); empty: every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
}

/// A change to an endpoint; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// How a test send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSend {
    /// The test event's id (its `webhook-id`).
    pub event_id: String,
    pub delivered: bool,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
}

/// A page of an endpoint's deliveries.
#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryRecord>,
    /// Pass as `before` for the next, older page (`None`: this is the last).
    pub next_before: Option<i64>,
}

pub(crate) struct Inner {
    pub(crate) repo: Arc<dyn WebhookRepository>,
    audit: Arc<dyn AuditRepository>,
    pub(crate) sender: Sender,
    pub(crate) settings: WebhookSettings,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) observer: OnceLock<Arc<dyn WebhookObserver>>,
}

/// Webhook endpoints and their delivery. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

fn invalid(message: impl Into<String>) -> WebhookError {
    WebhookError::InvalidInput(message.into())
}

impl Webhooks {
    pub fn new(
        repo: Arc<dyn WebhookRepository>,
        audit: Arc<dyn AuditRepository>,
        settings: WebhookSettings,
    ) -> Result<Self, String> {
        Self::with_clock(repo, audit, settings, Arc::new(SystemClock))
    }

    /// With the clock the delivery code asks (tests move a [`crate::ManualClock`]).
    pub fn with_clock(
        repo: Arc<dyn WebhookRepository>,
        audit: Arc<dyn AuditRepository>,
        settings: WebhookSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let sender = Sender::new(
            settings.destinations,
            settings.connect_timeout,
            settings.timeout,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                repo,
                audit,
                sender,
                settings,
                clock,
                observer: OnceLock::new(),
            }),
        })
    }

    /// Reports deliveries, disabled endpoints and the worker's health to `observer`. Set once.
    pub fn observe(&self, observer: Arc<dyn WebhookObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.inner.settings
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(crate) async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.inner.audit.append(&event).await {
            tracing::warn!(error = %e, action = %event.action, "could not write a webhook audit record");
        }
    }

    fn parse_url(&self, text: &str) -> WebhookResult<Url> {
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid(
                "url is required (an https:// URL that receives the events).",
            ));
        }
        let url = Url::parse(text).map_err(|e| invalid(format!("url is not a valid URL: {e}.")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "url must not contain a user name or password: receivers authenticate Tether \
                 by its signature.",
            ));
        }
        self.inner
            .sender
            .policy()
            .check_url(&url)
            .map_err(|reason| invalid(format!("url is refused: {reason}.")))?;
        Ok(url)
    }

    fn parse_description(text: &str) -> WebhookResult<String> {
        // Control characters are refused before trimming: a "\r" at either end is as much a
        // second line as one in the middle (and the API's schema forbids them anywhere).
        let has_control = text.chars().any(char::is_control);
        let text = text.trim();
        if text.chars().count() > MAX_DESCRIPTION || has_control {
            return Err(invalid(format!(
                "description must be at most {MAX_DESCRIPTION} characters on one line."
            )));
        }
        Ok(text.to_owned())
    }

    fn parse_types(names: &[String]) -> WebhookResult<Vec<EventType>> {
        let mut types = Vec::new();
        for name in names {
            let event_type: EventType = name
                .trim()
                .parse()
                .map_err(|e: tether_core::ParseError| invalid(format!("event_types: {e}.")))?;
            if !types.contains(&event_type) {
                types.push(event_type);
            }
        }
        types.sort();
        Ok(types)
    }

    async fn endpoint(&self, id: WebhookEndpointId) -> WebhookResult<WebhookEndpoint> {
        self.inner
            .repo
            .get_endpoint(id)
            .await?
            .ok_or(WebhookError::EndpointNotFound)
    }

    fn audit_event(actor: &Actor, action: AuditAction, id: WebhookEndpointId) -> AuditEvent {
        let mut event = AuditEvent::new(actor.clone(), action);
        event.detail = Some(json!({ "endpoint_id": id.to_string() }));
        event
    }

    /// Creates an endpoint with a new secret, returned this once.
    pub async fn create(
        &self,
        actor: &Actor,
        new: NewEndpoint,
    ) -> WebhookResult<(WebhookEndpoint, WebhookSecret)> {
        let url = self.parse_url(&new.url)?;
        let description = Self::parse_description(&new.description)?;
        let event_types = Self::parse_types(&new.event_types)?;
        let secret = generate_secret();
        let endpoint = self
            .inner
            .repo
            .create_endpoint(NewWebhookEndpoint {
                id: WebhookEndpointId::new(),
                url,
                description,
                event_types,
                enabled: new.enabled,
                secret: secret.clone(),
                at: self.now(),
            })
            .await?;
        let mut event = Self::audit_event(actor, AuditAction::WebhookEndpointCreated, endpoint.id);
        if let Some(detail) = event.detail.as_mut() {
            detail["event_types"] = json!(endpoint.event_types);
            detail["enabled"] = json!(endpoint.enabled);
        }
        self.audit(event).await;
        Ok((endpoint, secret))
    }

    pub async fn list(&self) -> WebhookResult<Vec<WebhookEndpoint>> {
        Ok(self.inner.repo.list_endpoints().await?)
    }

    pub async fn get(&self, id: WebhookEndpointId) -> WebhookResult<WebhookEndpoint> {
        self.endpoint(id).await
    }

    /// Changes an endpoint. Enabling it again clears its disabled reason; events that
    /// happened while it was disabled are not delivered unless redelivered.
    pub async fn update(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
        change: EndpointChange,
    ) -> WebhookResult<WebhookEndpoint> {
        let patch = WebhookEndpointPatch {
            url: change
                .url
                .as_deref()
                .map(|u| self.parse_url(u))
                .transpose()?,
            description: change
                .description
                .as_deref()
                .map(Self::parse_description)
                .transpose()?,
            event_types: change
                .event_types
                .as_deref()
                .map(Self::parse_types)
                .transpose()?,
            enabled: change.enabled,
        };
        if patch.is_empty() {
            return Err(invalid(
                "Nothing to change: give url, description, event_types or enabled.",
            ));
        }
        let endpoint = self
            .inner
            .repo
            .update_endpoint(id, &patch, self.now())
            .await?
            .ok_or(WebhookError::EndpointNotFound)?;
        let mut event = Self::audit_event(actor, AuditAction::WebhookEndpointChanged, id);
        if let Some(detail) = event.detail.as_mut() {
            let changed: Vec<&str> = [
                ("url", patch.url.is_some()),
                ("description", patch.description.is_some()),
                ("event_types", patch.event_types.is_some()),
                ("enabled", patch.enabled.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, set)| set.then_some(name))
            .collect();
            detail["changed"] = json!(changed);
            detail["enabled"] = json!(endpoint.enabled);
        }
        self.audit(event).await;
        Ok(endpoint)
    }

    /// Deletes an endpoint and its deliveries.
    pub async fn delete(&self, actor: &Actor, id: WebhookEndpointId) -> WebhookResult<()> {
        if !self.inner.repo.delete_endpoint(id).await? {
            return Err(WebhookError::EndpointNotFound);
        }
        self.audit(Self::audit_event(
            actor,
            AuditAction::WebhookEndpointDeleted,
            id,
        ))
        .await;
        Ok(())
    }

    /// A new secret, returned this once; the old one keeps signing beside it for the grace
    /// period (`webhooks_secret_grace_hours`).
    pub async fn rotate_secret(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
    ) -> WebhookResult<(WebhookEndpoint, WebhookSecret)> {
        let now = self.now();
        let grace = chrono::Duration::from_std(self.inner.settings.secret_grace)
            .map_err(|_| invalid("the secret grace period is too long"))?;
        let secret = generate_secret();
        let endpoint = self
            .inner
            .repo
            .rotate_secret(id, &secret, now + grace, now)
            .await?
            .ok_or(WebhookError::EndpointNotFound)?;
        let mut event = Self::audit_event(actor, AuditAction::WebhookSecretRotated, id);
        if let Some(detail) = event.detail.as_mut() {
            detail["previous_secret_expires_at"] = json!(endpoint.previous_secret_expires_at);
        }
        self.audit(event).await;
        Ok((endpoint, secret))
    }

    /// Sends a signed `webhook.test` event to the endpoint now (enabled or not) and reports
    /// the answer. Test events are not stored, retried or shown in the feed.
    pub async fn send_test(&self, actor: &Actor, id: WebhookEndpointId) -> WebhookResult<TestSend> {
        let endpoint = self.endpoint(id).await?;
        let now = self.now();
        let secrets = self
            .inner
            .repo
            .signing_secrets(id, now)
            .await?
            .ok_or(WebhookError::EndpointNotFound)?;
        let event_id = EventId::new().as_uuid().to_string();
        let body = json!({
            "id": event_id,
            "type": TEST_EVENT_TYPE,
            "occurred_at": now,
            "data": {
                "endpoint_id": id.to_string(),
                "message": "A test event from Tether: this endpoint is reachable and can verify signatures.",
            },
        })
        .to_string();
        let attempt = match SignedHeaders::new(&secrets, event_id.clone(), now.timestamp(), &body) {
            Ok(headers) => self.inner.sender.post(&endpoint.url, &headers, body).await,
            Err(e) => Attempt::refused(e.to_string()),
        };
        let result = TestSend {
            event_id,
            delivered: attempt.succeeded(),
            status_code: attempt.status_code,
            latency_ms: u64::try_from(attempt.latency.as_millis()).unwrap_or(u64::MAX),
            error: attempt.error,
        };
        let mut event = Self::audit_event(actor, AuditAction::WebhookTestSent, id);
        if let Some(detail) = event.detail.as_mut() {
            detail["status_code"] = json!(result.status_code);
        }
        let event = match &result.error {
            Some(error) => event.failed(error.clone()),
            None => event,
        };
        self.audit(event).await;
        Ok(result)
    }

    /// The endpoint's most recent deliveries, newest event first.
    pub async fn deliveries(
        &self,
        id: WebhookEndpointId,
        limit: u64,
        before: Option<i64>,
    ) -> WebhookResult<Vec<DeliveryRecord>> {
        self.endpoint(id).await?;
        Ok(self.inner.repo.list_deliveries(id, limit, before).await?)
    }

    /// One page of the endpoint's deliveries (newest event first, at most `limit`) and the
    /// cursor of the next, older page when this one is full.
    pub async fn delivery_page(
        &self,
        id: WebhookEndpointId,
        limit: u64,
        before: Option<i64>,
    ) -> WebhookResult<DeliveryPage> {
        let deliveries = self.deliveries(id, limit, before).await?;
        let next_before = (deliveries.len() as u64 == limit)
            .then(|| deliveries.last().map(|r| r.event_seq))
            .flatten();
        Ok(DeliveryPage {
            deliveries,
            next_before,
        })
    }

    /// Delivers one event to the endpoint again (due now, with a fresh retry schedule).
    pub async fn redeliver(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
        event: EventId,
    ) -> WebhookResult<()> {
        match self.inner.repo.redeliver_event(id, event, self.now()).await {
            Ok(Redelivery::Queued) => {}
            Ok(Redelivery::EventNotFound) => return Err(WebhookError::EventNotFound),
            Ok(Redelivery::FilteredOut) => return Err(WebhookError::EventFilteredOut),
            Err(tether_core::StorageError::NotFound { .. }) => {
                return Err(WebhookError::EndpointNotFound);
            }
            Err(e) => return Err(e.into()),
        }
        let mut audit = Self::audit_event(actor, AuditAction::WebhookRedelivery, id);
        if let Some(detail) = audit.detail.as_mut() {
            detail["event_id"] = json!(event.as_uuid().to_string());
        }
        self.audit(audit).await;
        Ok(())
    }

    /// Delivers again every kept event since `since` that the endpoint's filter accepts;
    /// returns how many were queued.
    pub async fn redeliver_since(
        &self,
        actor: &Actor,
        id: WebhookEndpointId,
        since: DateTime<Utc>,
    ) -> WebhookResult<u64> {
        let now = self.now();
        if since > now {
            return Err(invalid("since must not be in the future."));
        }
        let queued = match self.inner.repo.redeliver_since(id, since, now).await {
            Ok(n) => n,
            Err(tether_core::StorageError::NotFound { .. }) => {
                return Err(WebhookError::EndpointNotFound);
            }
            Err(e) => return Err(e.into()),
        };
        let mut audit = Self::audit_event(actor, AuditAction::WebhookRedelivery, id);
        if let Some(detail) = audit.detail.as_mut() {
            detail["since"] = json!(since);
            detail["queued"] = json!(queued);
        }
        self.audit(audit).await;
        Ok(queued)
    }
}
