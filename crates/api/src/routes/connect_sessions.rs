//! `POST /connect-sessions`: a backend (service key) creates a short-lived, single-use link
//! to the hosted connect page for one of its users.

use std::collections::BTreeMap;

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, post, web};
use tether_broker::{BrokerError, ConnectSessionRequest};
use tether_core::connect_session::{ConnectTarget, ConnectUpgrade};
use tether_core::{ProviderKind, Scope, ScopeSet, UserId};

use crate::auth::{Caller, ServiceCaller};
use crate::dto::{ConnectSessionIn, ConnectSessionOut};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::ApiState;

/// Create a hosted connect link.
///
/// For the product's backend (service key): answers a link to Tether's connect page for the
/// user, valid once and for a few minutes (`connect_session_ttl_secs`). The page lists the
/// offered providers with the permissions each will be asked for, sends the user through the
/// provider's consent and ends on a result page that returns to `return_to` or posts the
/// outcome to the opener. With `upgrade`, it asks an existing integration for more scopes
/// and keeps its id.
#[utoipa::path(
    operation_id = "create_connect_session",
    tag = "connect",
    request_body = ConnectSessionIn,
    responses(
        (status = 201, description = "The link (a secret: open it, do not log it)", body = ConnectSessionOut),
        (status = 400, description = "Bad input: not exactly one of `return_to` and `opener_origin`, `return_to` not allowed (`invalid_return_to`), an opener origin that is not one of the allowed ones (`invalid_opener_origin`), an unknown provider (`unknown_provider`), a provider users do not connect (Orange) or a bad upgrade (`invalid_request`), a provider not configured or not in the instance named (`provider_not_configured`), a malformed instance (`invalid_instance`), a bad scope (`invalid_scope`), a bad user id (`invalid_user`)", body = ErrorBody),
        (status = 403, description = "Not a service key (users and admin keys cannot create connect links)", body = ErrorBody),
        (status = 404, description = "The integration to upgrade is not this user's (`integration_not_found`)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
#[post("/connect-sessions")]
pub async fn create(
    caller: ServiceCaller,
    state: web::Data<ApiState>,
    body: web::Json<ConnectSessionIn>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let user_id = UserId::parse(body.user_id)
        .map_err(|e| ApiError::bad_request("invalid_user", format!("user_id: {e}")))?;
    let created_by = match &caller.0 {
        Caller::Key { key, acting_for } => {
            if acting_for.as_ref().is_some_and(|u| *u != user_id) {
                return Err(ApiError::bad_request(
                    "invalid_user",
                    "X-Tether-User names another user than user_id.",
                ));
            }
            Some(key.id)
        }
        Caller::User(_) => None,
    };
    let providers = body
        .providers
        .map(|list| {
            list.iter()
                .map(|p| provider(p))
                .collect::<ApiResult<Vec<_>>>()
        })
        .transpose()?;
    if providers.as_ref().is_some_and(|p| p.len() > 32) {
        return Err(ApiError::bad_request(
            "invalid_request",
            "providers lists too many providers.",
        ));
    }
    let scopes = body
        .scopes
        .unwrap_or_default()
        .into_iter()
        .map(|(p, list)| Ok((provider(&p)?, scope_set(list)?)))
        .collect::<ApiResult<BTreeMap<ProviderKind, ScopeSet>>>()?;
    let instances = body
        .instances
        .unwrap_or_default()
        .into_iter()
        .map(|(p, instance)| {
            crate::provider_admin::check_instance(&instance)?;
            Ok((provider(&p)?, instance))
        })
        .filter(|named| !matches!(named, Ok((_, i)) if i.is_empty()))
        .collect::<ApiResult<BTreeMap<ProviderKind, String>>>()?;
    let upgrade = body
        .upgrade
        .map(|u| -> ApiResult<ConnectUpgrade> {
            Ok(ConnectUpgrade {
                integration_id: super::integration_id(&u.integration_id)?,
                extra_scopes: scope_set(u.scopes)?,
            })
        })
        .transpose()?;
    let created = state
        .connect_sessions
        .create(ConnectSessionRequest {
            user_id,
            providers,
            scopes,
            instances,
            return_to: body.return_to,
            opener_origin: body.opener_origin,
            upgrade,
            created_by,
        })
        .await
        .map_err(|e| match e {
            // Input, not a missing resource: the caller named a provider this Tether lacks.
            BrokerError::ProviderNotConfigured(kind) => ApiError::bad_request(
                "provider_not_configured",
                format!(
                    "{} is not configured on this Tether (or not in the instance named).",
                    kind.display_name()
                ),
            ),
            other => other.into(),
        })?;
    let session = created.session;
    Ok(HttpResponse::Created()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(ConnectSessionOut {
            id: session.id.to_string(),
            url: created.url.expose_secret().to_owned(),
            expires_at: session.expires_at,
            providers: session
                .providers
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            mode: match session.target {
                ConnectTarget::ReturnTo(_) => "redirect",
                ConnectTarget::Opener(_) => "popup",
            }
            .to_owned(),
            upgrade_integration_id: session.upgrade.map(|u| u.integration_id.to_string()),
        }))
}

/// A provider named in the body (400, not the path's 404).
fn provider(text: &str) -> ApiResult<ProviderKind> {
    text.parse().map_err(|_| {
        ApiError::bad_request(
            "unknown_provider",
            format!(
                "Unknown provider `{}`.",
                text.chars().take(40).collect::<String>()
            ),
        )
    })
}

fn scope_set(list: Vec<String>) -> ApiResult<ScopeSet> {
    if list.len() > 100 {
        return Err(ApiError::bad_request(
            "invalid_scope",
            "At most 100 scopes per provider.",
        ));
    }
    list.into_iter()
        .map(Scope::parse)
        .collect::<Result<ScopeSet, _>>()
        .map_err(|e| ApiError::bad_request("invalid_scope", e.to_string()))
}
