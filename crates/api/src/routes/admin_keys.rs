//! Admin: service and admin API keys — list, create (the key is shown once), revoke.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tether_core::ApiKeyId;
use tether_core::api_key::{ApiKey, ApiKeyRole};
use tether_core::audit::{AuditAction, AuditEvent};
use utoipa::ToSchema;

use crate::auth::{AdminCaller, create_key};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::ApiState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    #[schema(example = "calendar-sync")]
    pub name: String,
    /// `service` or `admin`.
    #[schema(example = "service")]
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: uuid::Uuid,
    pub name: String,
    pub role: String,
    /// The first characters, to recognise the key.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.as_uuid(),
            name: k.name,
            role: k.role.to_string(),
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedOut {
    #[serde(flatten)]
    pub record: ApiKeyOut,
    /// The key itself. Shown this once: store it now.
    pub key: String,
}

/// List API keys.
#[utoipa::path(
    tag = "admin",
    responses((status = 200, body = Vec<ApiKeyOut>), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
#[get("/admin/api-keys")]
pub async fn list(_caller: AdminCaller, state: web::Data<ApiState>) -> ApiResult<HttpResponse> {
    let keys = state.api_keys.repo().list().await?;
    Ok(HttpResponse::Ok().json(keys.into_iter().map(ApiKeyOut::from).collect::<Vec<_>>()))
}

/// Create an API key.
///
/// The answer carries the key once; only its hash is stored.
#[utoipa::path(
    tag = "admin",
    request_body = ApiKeyIn,
    responses(
        (status = 201, body = ApiKeyCreatedOut),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/admin/api-keys")]
pub async fn create(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    body: web::Json<ApiKeyIn>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let role: ApiKeyRole = body.role.parse().map_err(|e: tether_core::ParseError| {
        ApiError::bad_request("invalid_role", e.to_string())
    })?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 255 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "name is required (at most 255 characters).",
        ));
    }
    let (record, secret) = create_key(state.api_keys.repo().as_ref(), name, role).await?;
    let mut event = AuditEvent::new(caller.actor(), AuditAction::ApiKeyCreated);
    event.detail = Some(json!({ "key_id": record.id.to_string(), "role": role.as_str() }));
    state.broker().record_audit(event).await;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(ApiKeyCreatedOut {
            record: record.into(),
            key: secret.expose_secret().to_owned(),
        }))
}

/// Revoke an API key.
#[utoipa::path(
    tag = "admin",
    params(("id" = String, Path, description = "API key id (UUID)")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = []))
)]
#[delete("/admin/api-keys/{id}")]
pub async fn revoke(
    AdminCaller(caller): AdminCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: ApiKeyId = path
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_id", "The key id must be a UUID."))?;
    if !state.api_keys.repo().revoke(id, Utc::now()).await? {
        return Err(ApiError::not_found(
            "not_found",
            "No active API key with this id.",
        ));
    }
    state.api_keys.forget();
    let mut event = AuditEvent::new(caller.actor(), AuditAction::ApiKeyRevoked);
    event.detail = Some(json!({ "key_id": id.to_string() }));
    state.broker().record_audit(event).await;
    Ok(HttpResponse::NoContent().finish())
}
