//! Admin: service and admin API keys — list, create (the key is shown once), revoke.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tether_core::ApiKeyId;
use tether_core::api_key::ApiKey;
use tether_core::audit::{AuditAction, AuditEvent};
use utoipa::ToSchema;

use crate::auth::{AdminCaller, create_key};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::openapi::enums::ApiKeyRole;
use crate::state::ApiState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    /// A name to recognise the key by (not only spaces).
    #[schema(
        example = "calendar-sync",
        min_length = 1,
        max_length = 255,
        pattern = r"\S"
    )]
    pub name: String,
    #[schema(value_type = ApiKeyRole, example = "service")]
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: uuid::Uuid,
    pub name: String,
    #[schema(value_type = ApiKeyRole)]
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
    operation_id = "list_api_keys",
    tag = "admin",
    responses(
        (status = 200, description = "Every key, revoked ones included", body = Vec<ApiKeyOut>),
        (status = 403, description = "Not an admin key", body = ErrorBody),
    ),
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
    operation_id = "create_api_key",
    tag = "admin",
    request_body = ApiKeyIn,
    responses(
        (status = 201, description = "Created; the key is in the answer, once", body = ApiKeyCreatedOut),
        (status = 400, description = "No name, or an unknown role (`invalid_role`)", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
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
    let role: tether_core::api_key::ApiKeyRole =
        body.role.parse().map_err(|e: tether_core::ParseError| {
            ApiError::bad_request("invalid_role", e.to_string())
        })?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 255 {
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
    operation_id = "revoke_api_key",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 403, description = "Not an admin key", body = ErrorBody),
        (status = 404, description = "No active key with this id", body = ErrorBody),
    ),
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
