//! `GET /integrations/{id}/token`: a valid access token for a backend service. The hot path:
//! one indexed read and one decrypt while the token is valid, refreshed first otherwise.

use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::integrations::actionable;
use super::{client_info, integration_id, required_scopes};
use crate::auth::{Caller, ServiceCaller};
use crate::dto::TokenOut;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::ApiState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    /// Why the token is read, for the audit trail (e.g. `calendar sync`).
    #[param(max_length = 200)]
    purpose: Option<String>,
    /// Scopes the caller needs, space- or comma-separated: when the user has not granted one
    /// of them, the answer is 403 `insufficient_scopes` naming the missing ones.
    #[param(
        example = "https://www.googleapis.com/auth/calendar.readonly",
        max_length = 4096,
        pattern = r"^[ ,]*([\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]{1,512}([ ,]+[\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]{1,512})*)?[ ,]*$"
    )]
    require_scopes: Option<String>,
}

/// Read a valid access token.
///
/// Service keys only. The token is refreshed first when it reached its refresh point (the
/// refresh buffer, bounded by a fraction of the token's lifetime). With `require_scopes`, a
/// token is handed out only if the user granted every one of them. The answer carries a
/// secret: `Cache-Control: no-store`.
#[utoipa::path(
    tag = "tokens",
    params(("id" = uuid::Uuid, Path, description = "Integration id"), TokenQuery),
    responses(
        (status = 200, description = "A valid token", body = TokenOut),
        (status = 400, description = "Malformed id (`invalid_id`), purpose or require_scopes", body = ErrorBody),
        (status = 403, description = "Not a service key (`forbidden`), or the user has not granted a required scope (`insufficient_scopes`: they must reconnect and allow it)", body = ErrorBody),
        (status = 404, description = "No such integration", body = ErrorBody),
        (status = 409, description = "The user must reconnect", body = ErrorBody),
        (status = 502, description = "The provider refused the refresh", body = ErrorBody),
        (status = 503, description = "The provider, the shared state store or the audit trail is unavailable (`provider_unavailable`, `state_unavailable`, `audit_unavailable`); see Retry-After", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[get("/integrations/{id}/token")]
pub async fn read_token(
    ServiceCaller(caller): ServiceCaller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = integration_id(&path)?;
    if matches!(
        caller,
        Caller::Key {
            acting_for: Some(_),
            ..
        }
    ) {
        actionable(&state, &caller, id).await?;
    }
    let purpose = query.purpose.as_deref().filter(|p| !p.is_empty());
    if purpose.is_some_and(|p| p.chars().count() > 200) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "purpose is too long (200 characters at most).",
        ));
    }
    let required = required_scopes(query.require_scopes.as_deref())?;
    let result = state
        .broker()
        .access_token_requiring(id, &caller.actor(), purpose, &required, &client_info(&req))
        .await;
    let grant = result?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
        .json(TokenOut::from(grant)))
}
