//! Route handlers, one file per resource, plus the path and query extractors they share.

pub mod admin_keys;
pub mod admin_providers;
pub mod admin_webhooks;
pub mod audit;
pub mod connect_sessions;
pub mod events;
pub mod health;
pub mod home;
pub mod integrations;
pub mod oauth;
pub mod providers;
pub mod proxy;
pub mod sms;
pub mod tokens;

use actix_web::{HttpRequest, web};
use tether_broker::ClientInfo;
use tether_core::{IntegrationId, ProviderKind, Scope, ScopeSet};

use crate::error::{ApiError, ApiResult};
use crate::state::ApiState;

/// A `{provider}` path segment.
pub(crate) fn provider(text: &str) -> ApiResult<ProviderKind> {
    text.parse().map_err(|_| {
        ApiError::not_found(
            "unknown_provider",
            format!(
                "Unknown provider `{}`; known: {}.",
                text.chars().take(40).collect::<String>(),
                ProviderKind::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// An `{id}` path segment.
pub(crate) fn integration_id(text: &str) -> ApiResult<IntegrationId> {
    text.parse()
        .map_err(|_| ApiError::bad_request("invalid_id", "The integration id must be a UUID."))
}

/// The scopes a caller says it needs (`require_scopes` on a token read, the
/// `X-Tether-Require-Scopes` header on a proxied call): separated by spaces or commas.
pub(crate) fn required_scopes(text: Option<&str>) -> ApiResult<ScopeSet> {
    let text = text.unwrap_or_default();
    if text.len() > 4096 {
        return Err(ApiError::bad_request(
            "invalid_request",
            "require_scopes is too long (4096 characters at most).",
        ));
    }
    text.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(Scope::parse)
        .collect::<Result<ScopeSet, _>>()
        .map_err(|e| {
            ApiError::bad_request(
                "invalid_request",
                format!("require_scopes is not a list of scopes: {e}"),
            )
        })
}

/// The client's address: the peer, or behind trusted proxies the forwarded client.
pub(crate) fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    match req.app_data::<web::Data<ApiState>>() {
        Some(state) => state.config.trusted_proxies.client_ip(peer, req.headers()),
        None => peer,
    }
}

/// The client's address and user agent, for consent and audit records.
pub(crate) fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        ip: client_ip(req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect()),
    }
}
