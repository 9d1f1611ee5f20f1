//! Admin: webhook endpoints — list, create (the secret is shown once), get, change, delete,
//! rotate the secret, send a test event, list recent deliveries, redeliver one event or
//! everything since a time. Every change is audited by the webhooks service.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use tether_core::WebhookEndpointId;
use tether_core::events::EventId;
use tether_webhooks::{EndpointChange, NewEndpoint};
use utoipa::IntoParams;

use crate::auth::AdminCaller;
use crate::dto::{
    DeliveryOut, DeliveryPageOut, RedeliverIn, RedeliveryOut, WebhookEndpointIn,
    WebhookEndpointOut, WebhookEndpointPatch, WebhookEndpointSecretOut, WebhookTestOut,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::ApiState;

fn endpoint_id(text: &str) -> ApiResult<WebhookEndpointId> {
    text.parse()
        .map_err(|_| ApiError::bad_request("invalid_id", "The webhook endpoint id must be a UUID."))
}

fn with_secret(
    endpoint: tether_core::webhooks::WebhookEndpoint,
    secret: &tether_core::secret::WebhookSecret,
) -> WebhookEndpointSecretOut {
    WebhookEndpointSecretOut {
        endpoint: endpoint.into(),
        secret: secret.expose_secret().to_owned(),
    }
}

/// List webhook endpoints.
#[utoipa::path(
    operation_id = "list_webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Every endpoint", body = Vec<WebhookEndpointOut>),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/admin/webhooks")]
pub async fn list(_caller: AdminCaller, state: web::Data<ApiState>) -> ApiResult<HttpResponse> {
    let endpoints = state.webhooks.list().await?;
    Ok(HttpResponse::Ok().json(
        endpoints
            .into_iter()
            .map(WebhookEndpointOut::from)
            .collect::<Vec<_>>(),
    ))
}

/// Create a webhook endpoint.
///
/// The answer carries the signing secret (`whsec_…`) once. Status-change events that happen
/// from now on are delivered to it (see docs/events.md); use redelivery for earlier ones.
#[utoipa::path(
    operation_id = "create_webhook",
    tag = "webhooks",
    request_body = WebhookEndpointIn,
    responses(
        (status = 201, description = "Created; the signing secret is in the answer, once", body = WebhookEndpointSecretOut),
        (status = 400, description = "Refused URL, unknown event type, …; the message says why", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/admin/webhooks")]
pub async fn create(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    body: web::Json<WebhookEndpointIn>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let (endpoint, secret) = state
        .webhooks
        .create(
            &caller.actor(),
            NewEndpoint {
                url: body.url,
                description: body.description.unwrap_or_default(),
                event_types: body.event_types.unwrap_or_default(),
                enabled: body.enabled.unwrap_or(true),
            },
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(with_secret(endpoint, &secret)))
}

/// Get a webhook endpoint.
#[utoipa::path(
    operation_id = "get_webhook",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpointOut),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such webhook endpoint", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/admin/webhooks/{id}")]
pub async fn get_one(
    _caller: AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let endpoint = state.webhooks.get(endpoint_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointOut::from(endpoint)))
}

/// Change a webhook endpoint.
///
/// Only the fields given change. `enabled: true` also enables an endpoint that was disabled
/// automatically; what it missed meanwhile can be redelivered.
#[utoipa::path(
    operation_id = "update_webhook",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    request_body = WebhookEndpointPatch,
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpointOut),
        (status = 400, description = "Bad id (`invalid_id`), refused URL, unknown event type, nothing to change", body = ErrorBody),
        (status = 404, description = "No such webhook endpoint", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[patch("/admin/webhooks/{id}")]
pub async fn update(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Json<WebhookEndpointPatch>,
) -> ApiResult<HttpResponse> {
    let id = endpoint_id(&path)?;
    let body = body.into_inner();
    let endpoint = state
        .webhooks
        .update(
            &caller.actor(),
            id,
            EndpointChange {
                url: body.url,
                description: body.description,
                event_types: body.event_types,
                enabled: body.enabled,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointOut::from(endpoint)))
}

/// Delete a webhook endpoint and its deliveries.
#[utoipa::path(
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such webhook endpoint", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[delete("/admin/webhooks/{id}")]
pub async fn delete_one(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    state
        .webhooks
        .delete(&caller.actor(), endpoint_id(&path)?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a webhook endpoint's signing secret.
///
/// The answer carries the new secret once. The old one keeps signing beside it (two
/// signatures in `webhook-signature`) until `previous_secret_expires_at`
/// (`webhooks_secret_grace_hours`, 24 h by default), so receivers can switch without losing
/// a delivery.
#[utoipa::path(
    operation_id = "rotate_webhook_secret",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    responses(
        (status = 200, description = "Rotated; the new secret is in the answer, once", body = WebhookEndpointSecretOut),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such webhook endpoint", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/admin/webhooks/{id}/rotate-secret")]
pub async fn rotate_secret(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (endpoint, secret) = state
        .webhooks
        .rotate_secret(&caller.actor(), endpoint_id(&path)?)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(with_secret(endpoint, &secret)))
}

/// Send a test event to a webhook endpoint.
///
/// A signed `webhook.test` event is POSTed at once (also to a disabled endpoint) and the
/// answer reported. Test events are not retried, stored or shown in the feed.
#[utoipa::path(
    operation_id = "test_webhook",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    responses(
        (status = 200, description = "How the endpoint answered", body = WebhookTestOut),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such webhook endpoint", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/admin/webhooks/{id}/test")]
pub async fn test(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let result = state
        .webhooks
        .send_test(&caller.actor(), endpoint_id(&path)?)
        .await?;
    Ok(HttpResponse::Ok().json(WebhookTestOut::from(result)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// Deliveries of events before this position (`next_before` of the previous page).
    #[param(minimum = 1)]
    before: Option<i64>,
}

/// List a webhook endpoint's recent deliveries.
///
/// Newest event first: status, attempts, the last answer's status code, latency and error.
/// Never a body.
#[utoipa::path(
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook endpoint id"), DeliveryParams),
    responses(
        (status = 200, description = "Deliveries, newest event first", body = DeliveryPageOut),
        (status = 400, description = "Bad id (`invalid_id`) or parameter", body = ErrorBody),
        (status = 404, description = "No such webhook endpoint", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/admin/webhooks/{id}/deliveries")]
pub async fn deliveries(
    _caller: AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    params: web::Query<DeliveryParams>,
) -> ApiResult<HttpResponse> {
    let id = endpoint_id(&path)?;
    let limit = params.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "limit must be between 1 and 500.",
        ));
    }
    if params.before.is_some_and(|b| b < 1) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "before must be 1 or more.",
        ));
    }
    let page = state
        .webhooks
        .delivery_page(id, limit, params.before)
        .await?;
    Ok(HttpResponse::Ok().json(DeliveryPageOut {
        deliveries: page.deliveries.into_iter().map(DeliveryOut::from).collect(),
        next_before: page.next_before,
    }))
}

/// Redeliver one event to a webhook endpoint.
///
/// The delivery becomes pending, due now, with a fresh retry schedule (also when it was
/// delivered or failed). The receiver gets the same `webhook-id` again.
#[utoipa::path(
    operation_id = "redeliver_event",
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "Webhook endpoint id"),
        ("event_id" = uuid::Uuid, Path, description = "Event id"),
    ),
    responses(
        (status = 202, description = "Queued"),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such endpoint, or the event is not kept", body = ErrorBody),
        (status = 409, description = "The endpoint's filter does not accept this event", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/admin/webhooks/{id}/deliveries/{event_id}/redeliver")]
pub async fn redeliver(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, event) = path.into_inner();
    let id = endpoint_id(&id)?;
    let event: EventId = event
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_id", "The event id must be a UUID."))?;
    state.webhooks.redeliver(&caller.actor(), id, event).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Redeliver every event since a time to a webhook endpoint.
///
/// Every kept event that occurred at or after `since` and that the endpoint's filter accepts
/// is queued again (each integration's events in order), e.g. after the endpoint was down or
/// disabled.
#[utoipa::path(
    operation_id = "redeliver_since",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Webhook endpoint id")),
    request_body = RedeliverIn,
    responses(
        (status = 202, description = "Queued", body = RedeliveryOut),
        (status = 400, description = "Bad id (`invalid_id`), or since is in the future or not a time", body = ErrorBody),
        (status = 404, description = "No such webhook endpoint", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/admin/webhooks/{id}/redeliver")]
pub async fn redeliver_since(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    body: web::Json<RedeliverIn>,
) -> ApiResult<HttpResponse> {
    let queued = state
        .webhooks
        .redeliver_since(&caller.actor(), endpoint_id(&path)?, body.since)
        .await?;
    Ok(HttpResponse::Accepted().json(RedeliveryOut { queued }))
}
