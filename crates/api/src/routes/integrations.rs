//! Integrations: list, get, force refresh, test connection, disconnect, consents.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::Deserialize;
use tether_core::{Integration, IntegrationId, UserId};
use utoipa::IntoParams;

use super::{client_info, integration_id};
use crate::auth::Caller;
use crate::dto::{ConsentOut, DisconnectOut, IntegrationOut, TestConnectionOut};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::ApiState;

/// Loads an integration the caller may see (others' answer 404, never 403).
pub(crate) async fn visible(
    state: &ApiState,
    caller: &Caller,
    id: IntegrationId,
) -> ApiResult<Integration> {
    let integration = state
        .stores
        .integrations
        .get(id)
        .await?
        .filter(|i| caller.may_see(i))
        .ok_or_else(ApiError::integration_not_found)?;
    Ok(integration)
}

/// Loads an integration the caller may use or change.
pub(crate) async fn actionable(
    state: &ApiState,
    caller: &Caller,
    id: IntegrationId,
) -> ApiResult<Integration> {
    let integration = visible(state, caller, id).await?;
    if !caller.may_act_on(&integration) {
        return Err(ApiError::forbidden(
            "Admin keys can read integrations but not use or change them.",
        ));
    }
    Ok(integration)
}

/// The integrations as the API shows them, with their token expiries read in one query.
async fn outs(state: &ApiState, integrations: Vec<Integration>) -> ApiResult<Vec<IntegrationOut>> {
    let ids: Vec<_> = integrations.iter().map(|i| i.id).collect();
    let expiries = state.broker().token_expiries(&ids).await?;
    Ok(integrations
        .into_iter()
        .map(|i| {
            let expiry = expiries.get(&i.id).copied().flatten();
            IntegrationOut::new(i, expiry)
        })
        .collect())
}

async fn out(state: &ApiState, integration: Integration) -> ApiResult<IntegrationOut> {
    let mut one = outs(state, vec![integration]).await?;
    one.pop()
        .ok_or_else(|| ApiError::internal("no integration to show"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Admin keys only: whose integrations (required for admin keys).
    #[param(min_length = 1, max_length = 255)]
    user_id: Option<String>,
}

/// List integrations.
///
/// A user's own integrations (a service key: those of the user in `X-Tether-User`; an admin
/// key: those of `user_id`).
#[utoipa::path(
    operation_id = "list_integrations",
    tag = "integrations",
    params(ListQuery),
    responses(
        (status = 200, description = "The integrations, oldest first", body = Vec<IntegrationOut>),
        (status = 400, description = "No user named (`user_required`: a service key without `X-Tether-User`, an admin key without `user_id`) or not a valid user id", body = ErrorBody),
        (status = 403, description = "`user_id` from a caller other than an admin key", body = ErrorBody),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[get("/integrations")]
pub async fn list(
    caller: Caller,
    state: web::Data<ApiState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let user = match (&caller, &query.user_id) {
        (Caller::Key { key, .. }, Some(user))
            if key.role == tether_core::api_key::ApiKeyRole::Admin =>
        {
            UserId::parse(user.clone())
                .map_err(|e| ApiError::bad_request("invalid_user", e.to_string()))?
        }
        (_, Some(_)) => {
            return Err(ApiError::forbidden("user_id is only for admin keys."));
        }
        (Caller::Key { key, .. }, None) if key.role == tether_core::api_key::ApiKeyRole::Admin => {
            return Err(ApiError::bad_request(
                "user_required",
                "Name the user with ?user_id=.",
            ));
        }
        _ => caller.user()?,
    };
    let integrations = state.stores.integrations.list_for_user(&user).await?;
    Ok(HttpResponse::Ok().json(outs(&state, integrations).await?))
}

/// Get one integration.
#[utoipa::path(
    operation_id = "get_integration",
    tag = "integrations",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The integration", body = IntegrationOut),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such integration for this caller", body = ErrorBody),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[get("/integrations/{id}")]
pub async fn get_one(
    caller: Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let integration = visible(&state, &caller, integration_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(out(&state, integration).await?))
}

/// Refresh now.
///
/// Refreshes the tokens at once (exactly one refresh runs per integration across replicas).
#[utoipa::path(
    operation_id = "refresh_integration",
    tag = "integrations",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "Refreshed; the integration afterwards", body = IntegrationOut),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 403, description = "Admin keys cannot use integrations", body = ErrorBody),
        (status = 404, description = "No such integration for this caller", body = ErrorBody),
        (status = 409, description = "The user must reconnect", body = ErrorBody),
        (status = 502, description = "The provider refused", body = ErrorBody),
        (status = 503, description = "The provider is unavailable; see Retry-After", body = ErrorBody),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[post("/integrations/{id}/refresh")]
pub async fn refresh(
    caller: Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = integration_id(&path)?;
    actionable(&state, &caller, id).await?;
    state.broker().force_refresh(id, &caller.actor()).await?;
    let integration = visible(&state, &caller, id).await?;
    Ok(HttpResponse::Ok().json(out(&state, integration).await?))
}

/// Test the connection.
///
/// Makes the provider's cheapest authenticated call with a valid token.
#[utoipa::path(
    operation_id = "test_integration",
    tag = "integrations",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The outcome (ok or the provider's answer)", body = TestConnectionOut),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 403, description = "Admin keys cannot use integrations", body = ErrorBody),
        (status = 404, description = "No such integration for this caller", body = ErrorBody),
        (status = 409, description = "The user must reconnect", body = ErrorBody),
        (status = 503, description = "The provider or shared state is unavailable; see Retry-After", body = ErrorBody),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[post("/integrations/{id}/test")]
pub async fn test(
    caller: Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = integration_id(&path)?;
    actionable(&state, &caller, id).await?;
    let out = match state.broker().test_connection(id, &caller.actor()).await {
        Ok(report) => TestConnectionOut {
            ok: true,
            detail: report.detail,
        },
        Err(tether_broker::BrokerError::Provider(e)) => TestConnectionOut {
            ok: false,
            detail: e.to_string(),
        },
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok().json(out))
}

/// Disconnect.
///
/// Revokes access at the provider where it can, deletes the tokens and keeps the
/// integration as `revoked` with its audit trail. A provider that is down does not stop it.
#[utoipa::path(
    operation_id = "disconnect_integration",
    tag = "integrations",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "Disconnected; what happened at the provider", body = DisconnectOut),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 403, description = "Admin keys cannot change integrations", body = ErrorBody),
        (status = 404, description = "No such integration for this caller", body = ErrorBody),
        (status = 503, description = "Shared state unavailable; see Retry-After", body = ErrorBody),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[delete("/integrations/{id}")]
pub async fn disconnect(
    caller: Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = integration_id(&path)?;
    actionable(&state, &caller, id).await?;
    let outcome = state
        .broker()
        .revoke(id, &caller.actor(), &client_info(&req))
        .await?;
    Ok(HttpResponse::Ok().json(DisconnectOut::from(outcome)))
}

/// Consents of an integration.
#[utoipa::path(
    operation_id = "list_consents",
    tag = "integrations",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "Every grant, oldest first", body = Vec<ConsentOut>),
        (status = 400, description = "The id is not a UUID (`invalid_id`)", body = ErrorBody),
        (status = 404, description = "No such integration for this caller", body = ErrorBody),
    ),
    security(("user_jwt" = []), ("api_key" = []))
)]
#[get("/integrations/{id}/consents")]
pub async fn consents(
    caller: Caller,
    state: web::Data<ApiState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let integration = visible(&state, &caller, integration_id(&path)?).await?;
    let granted = state
        .stores
        .consents
        .list_for_integration(integration.id)
        .await?;
    Ok(HttpResponse::Ok().json(
        granted
            .into_iter()
            .map(ConsentOut::from)
            .collect::<Vec<_>>(),
    ))
}
