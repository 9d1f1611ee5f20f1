//! `GET /audit`: the audit trail — a user's own records, or everyone's for admin keys.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tether_core::UserId;
use tether_core::api_key::ApiKeyRole;
use tether_core::audit::AuditQuery;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::dto::AuditRecordOut;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::openapi::enums::{ActorKind, AuditAction};
use crate::state::ApiState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only records of this integration.
    integration_id: Option<uuid::Uuid>,
    /// Admin keys only: only records of this user.
    #[param(min_length = 1, max_length = 255)]
    user_id: Option<String>,
    /// Only this action.
    #[param(value_type = Option<AuditAction>)]
    action: Option<String>,
    /// Only records of callers of this kind.
    #[param(value_type = Option<ActorKind>)]
    actor_kind: Option<String>,
    /// Only records of the caller with this id: a user id, an API key id, a console account
    /// id or an operator's name (with `actor_kind`, one caller).
    #[param(min_length = 1, max_length = 255)]
    actor_id: Option<String>,
    /// Records at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Records before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
    /// Paging: records older than this record id.
    before: Option<uuid::Uuid>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
}

/// Query the audit trail.
///
/// Newest first. Users see their own records; admin keys see everyone's.
#[utoipa::path(
    operation_id = "query_audit",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "Matching records, newest first", body = Vec<AuditRecordOut>),
        (status = 400, description = "Bad filter", body = ErrorBody),
        (status = 403, description = "Service keys cannot read the audit trail; `user_id` is for admin keys", body = ErrorBody),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[get("/audit")]
pub async fn query(
    caller: Caller,
    state: web::Data<ApiState>,
    params: web::Query<AuditParams>,
) -> ApiResult<HttpResponse> {
    let params = params.into_inner();
    let user_id = match &caller {
        Caller::User(user) => {
            if params.user_id.is_some() {
                return Err(ApiError::forbidden("user_id is only for admin keys."));
            }
            Some(user.clone())
        }
        Caller::Key { key, .. } if key.role == ApiKeyRole::Admin => params
            .user_id
            .map(|u| {
                UserId::parse(u).map_err(|e| ApiError::bad_request("invalid_user", e.to_string()))
            })
            .transpose()?,
        Caller::Key { .. } => {
            return Err(ApiError::forbidden(
                "The audit trail is for users (their own) and admin keys.",
            ));
        }
    };
    let action = params
        .action
        .map(|a| {
            a.parse::<tether_core::audit::AuditAction>()
                .map_err(|e| ApiError::bad_request("invalid_action", e.to_string()))
        })
        .transpose()?;
    let actor_kind = params
        .actor_kind
        .map(|k| {
            k.parse::<tether_core::audit::ActorKind>()
                .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))
        })
        .transpose()?;
    if params
        .actor_id
        .as_ref()
        .is_some_and(|id| id.is_empty() || id.chars().count() > 255)
    {
        return Err(ApiError::bad_request(
            "invalid_request",
            "actor_id must have 1 to 255 characters.",
        ));
    }
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "limit must be between 1 and 1000.",
        ));
    }
    let records = state
        .stores
        .audit
        .query(&AuditQuery {
            integration_id: params.integration_id.map(Into::into),
            user_id,
            action,
            actor_kind,
            actor_id: params.actor_id,
            since: params.since,
            until: params.until,
            limit,
            before: params.before.map(Into::into),
        })
        .await?;
    Ok(HttpResponse::Ok().json(
        records
            .into_iter()
            .map(AuditRecordOut::from)
            .collect::<Vec<_>>(),
    ))
}
