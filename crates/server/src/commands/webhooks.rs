//! `tether webhooks list|create|update|delete|rotate-secret|test|deliveries|redeliver`: the
//! admin API's webhook operations from the command line, on the configured database, with the
//! same checks (destination settings included) and audit records (actor: the operator running the command).

use std::path::Path;
use std::sync::Arc;

use tether_core::WebhookEndpointId;
use tether_core::events::EventId;
use tether_core::webhooks::WebhookEndpoint;
use tether_storage::SqlStore;
use tether_webhooks::{EndpointChange, NewEndpoint, WebhookError, Webhooks};

use super::{load, print};
use crate::cli::WebhooksCommand;
use crate::error::{ServerError, ServerResult};
use crate::{crypto, database};

impl From<WebhookError> for ServerError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Storage(e) => ServerError::Storage(e),
            other => ServerError::Usage(other.to_string()),
        }
    }
}

fn endpoint_id(text: &str) -> ServerResult<WebhookEndpointId> {
    text.parse().map_err(|_| {
        ServerError::Usage("the endpoint id must be a UUID (see `tether webhooks list`)".into())
    })
}

fn describe(e: &WebhookEndpoint) -> Vec<String> {
    let types = if e.event_types.is_empty() {
        "every event type".to_owned()
    } else {
        e.event_types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let state = match (&e.enabled, &e.disabled_reason) {
        (true, _) => "enabled".to_owned(),
        (false, Some(reason)) => format!("disabled: {reason}"),
        (false, None) => "disabled".to_owned(),
    };
    let mut lines = vec![
        format!("{}  {}", e.id, e.url),
        format!("  events: {types}"),
        format!("  {state}"),
    ];
    if !e.description.is_empty() {
        lines.push(format!("  description: {}", e.description));
    }
    if let Some(since) = e.failing_since {
        lines.push(format!("  failing since {}", since.to_rfc3339()));
    }
    lines
}

fn secret_lines(secret: &tether_core::secret::WebhookSecret) -> [String; 3] {
    [
        String::new(),
        "  Store this signing secret now: it is shown only once.".to_owned(),
        format!("  {}", secret.expose_secret()),
    ]
}

pub async fn run(file: Option<&Path>, command: WebhooksCommand) -> ServerResult<()> {
    let config = load(file, true)?;
    let conn = database::open(&config).await?;
    database::prepare(&conn, &config).await?;
    let store = Arc::new(SqlStore::new(
        conn.clone(),
        Arc::new(crypto::cipher(&config)?),
    ));
    let webhooks = Webhooks::new(store.clone(), store, config.webhooks.settings.clone())
        .map_err(ServerError::Startup)?;
    let result = execute(&webhooks, command).await;
    let _ = conn.close().await;
    result
}

async fn execute(webhooks: &Webhooks, command: WebhooksCommand) -> ServerResult<()> {
    let actor = super::operator();
    match command {
        WebhooksCommand::List => {
            let endpoints = webhooks.list().await?;
            if endpoints.is_empty() {
                return print([
                    "no webhook endpoints (create one with `tether webhooks create --url URL`)"
                        .to_owned(),
                ]);
            }
            print(endpoints.iter().flat_map(describe))
        }
        WebhooksCommand::Create {
            url,
            description,
            event_types,
            disabled,
        } => {
            let (endpoint, secret) = webhooks
                .create(
                    &actor,
                    NewEndpoint {
                        url,
                        description,
                        event_types,
                        enabled: !disabled,
                    },
                )
                .await?;
            let mut lines = vec![format!("created webhook endpoint {}", endpoint.id)];
            lines.extend(describe(&endpoint));
            lines.extend(secret_lines(&secret));
            print(lines)
        }
        WebhooksCommand::Update {
            id,
            url,
            description,
            event_types,
            all_events,
            enable,
            disable,
        } => {
            let change = EndpointChange {
                url,
                description,
                event_types: if all_events {
                    Some(Vec::new())
                } else {
                    event_types
                },
                enabled: match (enable, disable) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            let endpoint = webhooks.update(&actor, endpoint_id(&id)?, change).await?;
            let mut lines = vec![format!("updated webhook endpoint {}", endpoint.id)];
            lines.extend(describe(&endpoint));
            print(lines)
        }
        WebhooksCommand::Delete { id } => {
            let id = endpoint_id(&id)?;
            webhooks.delete(&actor, id).await?;
            print([format!("deleted webhook endpoint {id} and its deliveries")])
        }
        WebhooksCommand::RotateSecret { id } => {
            let (endpoint, secret) = webhooks.rotate_secret(&actor, endpoint_id(&id)?).await?;
            let mut lines = vec![format!("rotated the signing secret of {}", endpoint.id)];
            if let Some(until) = endpoint.previous_secret_expires_at {
                lines.push(format!(
                    "  the previous secret also signs until {}",
                    until.to_rfc3339()
                ));
            }
            lines.extend(secret_lines(&secret));
            print(lines)
        }
        WebhooksCommand::Test { id } => {
            let result = webhooks.send_test(&actor, endpoint_id(&id)?).await?;
            let status = result
                .status_code
                .map_or_else(|| "no answer".to_owned(), |c| format!("HTTP {c}"));
            if result.delivered {
                print([format!(
                    "delivered test event {} ({status}, {} ms)",
                    result.event_id, result.latency_ms
                )])
            } else {
                Err(ServerError::Usage(format!(
                    "the endpoint did not accept test event {}: {}",
                    result.event_id,
                    result.error.unwrap_or(status)
                )))
            }
        }
        WebhooksCommand::Deliveries { id, limit } => {
            let records = webhooks.deliveries(endpoint_id(&id)?, limit, None).await?;
            if records.is_empty() {
                return print(["no deliveries yet".to_owned()]);
            }
            print(records.into_iter().map(|r| {
                let last = match (r.last_status_code, r.last_latency_ms) {
                    (Some(code), Some(ms)) => format!(" last HTTP {code} in {ms} ms"),
                    _ => String::new(),
                };
                let next = r
                    .next_attempt_at
                    .map(|at| format!(" next {}", at.to_rfc3339()))
                    .unwrap_or_default();
                let error = r
                    .last_error
                    .map(|e| format!(" error: {e}"))
                    .unwrap_or_default();
                format!(
                    "{}  {:<32} {:<9} attempts {}{last}{next}{error}",
                    r.event_id.as_uuid(),
                    r.event_type,
                    r.status,
                    r.attempts
                )
            }))
        }
        WebhooksCommand::Redeliver { id, event, since } => {
            let id = endpoint_id(&id)?;
            match (event, since) {
                (Some(event), _) => {
                    let event: EventId = event.parse().map_err(|_| {
                        ServerError::Usage("--event must be an event id (a UUID)".into())
                    })?;
                    webhooks.redeliver(&actor, id, event).await?;
                    print([format!("queued event {} for delivery to {id} again", event)])
                }
                (None, Some(since)) => {
                    let since = chrono::DateTime::parse_from_rfc3339(&since)
                        .map_err(|e| {
                            ServerError::Usage(format!(
                                "--since must be an RFC 3339 time such as 2026-12-01T08:00:00Z: {e}"
                            ))
                        })?
                        .with_timezone(&chrono::Utc);
                    let queued = webhooks.redeliver_since(&actor, id, since).await?;
                    print([format!(
                        "queued {queued} event(s) since {} for delivery to {id} again",
                        since.to_rfc3339()
                    )])
                }
                (None, None) => Err(ServerError::Usage(
                    "give --event EVENT_ID or --since TIME".into(),
                )),
            }
        }
    }
}
