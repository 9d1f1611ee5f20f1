//! `…/integrations/{id}/proxy/{path}`: calls the provider's API as the integration's user.
//! The host is fixed per provider (the caller names only the path), the caller's own
//! credentials and cookies never travel upstream, a 401 triggers one refresh and one retry,
//! and status, body and content type come back as the provider sent them.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use serde_json::json;
use tether_core::audit::{AuditAction, AuditEvent};
use tether_core::provider::Provider;
use url::Url;

use super::integrations::actionable;
use super::{client_info, integration_id, required_scopes};
use crate::auth::{ACT_FOR_HEADER, Caller, ServiceCaller};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::ApiState;

/// Request headers that are never forwarded.
/// Scopes the caller needs for this call (space- or comma-separated); not forwarded.
pub const REQUIRE_SCOPES_HEADER: &str = "X-Tether-Require-Scopes";

const DROPPED: [&str; 13] = [
    "authorization",
    "cookie",
    "host",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "x-forwarded-for",
];

/// The upstream URL for `path` under the provider's API base, refusing anything that would
/// leave it (`..`, another host, a scheme).
pub(crate) fn target_url(base: &str, path: &str, query: &str) -> ApiResult<Url> {
    let refused = || {
        ApiError::bad_request(
            "invalid_path",
            "The proxied path must stay under the provider's API.",
        )
    };
    if path.split('/').any(|seg| seg == ".." || seg == ".")
        || path.contains('\\')
        || path.contains("://")
    {
        return Err(refused());
    }
    let base = Url::parse(base).map_err(ApiError::internal)?;
    let mut joined = format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    if !query.is_empty() {
        joined.push('?');
        joined.push_str(query);
    }
    let url = Url::parse(&joined).map_err(|_| refused())?;
    let same_place = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
        && tether_core::paths::path_within(url.path(), base.path());
    if same_place { Ok(url) } else { Err(refused()) }
}

fn forwarded_headers(incoming: &HeaderMap, provider: &dyn Provider) -> reqwest::header::HeaderMap {
    let mut out = reqwest::header::HeaderMap::new();
    for (name, value) in incoming {
        let lower = name.as_str().to_ascii_lowercase();
        if DROPPED.contains(&lower.as_str())
            || lower == ACT_FOR_HEADER.to_ascii_lowercase()
            || lower == REQUIRE_SCOPES_HEADER.to_ascii_lowercase()
        {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            reqwest::header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append(n, v);
        }
    }
    for (name, value) in provider.api_headers() {
        if let (Ok(n), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
            reqwest::header::HeaderValue::from_str(&value),
        ) && !out.contains_key(&n)
        {
            out.insert(n, v);
        }
    }
    out
}

/// One documented handler per method, all doing [`proxy`].
macro_rules! proxy_method {
    ($name:ident, $method:ident, $attr:ident) => {
        /// Call the provider's API as the user.
        ///
        /// Service keys only. The path is appended to the provider's API base (e.g. Microsoft
        /// Graph `https://graph.microsoft.com/v1.0`); the query string passes through. On a
        /// 401 the token is refreshed once and the call retried. A caller that needs certain
        /// scopes names them in `X-Tether-Require-Scopes` (space- or comma-separated; not
        /// forwarded): without them granted, the answer is 403 `insufficient_scopes`.
        #[utoipa::path(
            $method,
            path = "/integrations/{id}/proxy/{path}",
            tag = "proxy",
            params(
                ("id" = uuid::Uuid, Path, description = "Integration id"),
                ("path" = String, Path, description = "Path under the provider's API base (no `.` or `..` segment, no backslash)", example = "me/events", pattern = r"^/*((?:[^/\\.][^/\\]*|\.[^/\\.][^/\\]*|\.\.[^/\\]+)(?:/(?:[^/\\.][^/\\]*|\.[^/\\.][^/\\]*|\.\.[^/\\]+))*)?/?$"),
                ("X-Tether-Require-Scopes" = Option<String>, Header, description = "Scopes this call needs, space- or comma-separated (not forwarded)", max_length = 4096, pattern = r"^[ ,]*([\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]{1,512}([ ,]+[\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]{1,512})*)?[ ,]*$"),
            ),
            request_body(content = String, content_type = "application/octet-stream", description = "Passed through to the provider as is"),
            responses(
                (status = "default", description = "The provider's answer, passed through: its status, body and content type. A provider may answer a status listed here too (404, 409, …); its own body then comes through, not Tether's error shape"),
                (status = 400, description = "The id is not a UUID (`invalid_id`), a path outside the provider's API (`invalid_path`), or a bad X-Tether-Require-Scopes", body = ErrorBody),
                (status = 403, description = "Not a service key (`forbidden`), or the user has not granted a scope named in X-Tether-Require-Scopes (`insufficient_scopes`)", body = ErrorBody),
                (status = 404, description = "No such integration", body = ErrorBody),
                (status = 409, description = "The user must reconnect", body = ErrorBody),
                (status = 413, description = "Body too large", body = ErrorBody),
                (status = 502, description = "The provider could not be reached, or its answer is too large to pass through", body = ErrorBody),
                (status = 503, description = "The provider is unavailable to refresh the token; see Retry-After", body = ErrorBody),
            ),
            security(("api_key" = []))
        )]
        #[$attr("/integrations/{id}/proxy/{path:.*}")]
        pub async fn $name(
            ServiceCaller(caller): ServiceCaller,
            state: web::Data<ApiState>,
            path: web::Path<(String, String)>,
            req: HttpRequest,
            body: web::Payload,
        ) -> ApiResult<HttpResponse> {
            proxy(caller, state, path, req, body).await
        }
    };
}

/// The actix handler structs the macros generate have no `Debug`.
#[allow(missing_debug_implementations)]
mod methods {
    use super::*;

    proxy_method!(proxy_get, get, get);
    proxy_method!(proxy_post, post, post);
    proxy_method!(proxy_put, put, put);
    proxy_method!(proxy_patch, patch, patch);
    proxy_method!(proxy_delete, delete, delete);
}

pub use methods::{proxy_delete, proxy_get, proxy_patch, proxy_post, proxy_put};

async fn proxy(
    caller: Caller,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (id, rest) = path.into_inner();
    let id = integration_id(&id)?;
    let body = read_body(payload, state.config.proxy_max_body).await?;
    let integration = actionable(&state, &caller, id).await?;
    let broker = state.broker();
    let provider = broker.providers().for_integration(&integration)?;
    let url = target_url(
        &provider.endpoints().api_base_url,
        &rest,
        req.query_string(),
    )?;
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(ApiError::internal)?;
    let headers = forwarded_headers(req.headers(), provider.as_ref());
    let actor = caller.actor();
    let required = required_scopes(
        req.headers()
            .get(REQUIRE_SCOPES_HEADER)
            .map(|v| v.to_str().unwrap_or("\u{fffd}")),
    )?;

    let mut grant = broker
        .access_token_requiring(id, &actor, Some("proxy"), &required, &client_info(&req))
        .await?;
    let mut retried = false;
    let (status, content_type, bytes) = loop {
        let response = state
            .proxy_http
            .request(method.clone(), url.clone())
            .headers(headers.clone())
            .bearer_auth(grant.access_token.expose_secret())
            .body(body.clone())
            .send()
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "provider_unreachable",
                    format!(
                        "The provider could not be reached{}.",
                        if e.is_timeout() { " (timed out)" } else { "" }
                    ),
                )
            })?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .cloned();
        let bytes = read_limited(response, state.config.proxy_max_body).await?;
        if !retried && provider.is_expired_token_answer(status, &bytes) {
            retried = true;
            grant = broker.force_refresh(id, &actor).await?;
            continue;
        }
        break (status, content_type, bytes);
    };

    let mut event = AuditEvent::new(actor, AuditAction::ProxyCall);
    event.integration_id = Some(id);
    event.user_id = Some(integration.user_id.clone());
    event.provider = Some(integration.provider);
    event.success = status < 400;
    event.detail = Some(
        json!({ "method": method.as_str(), "path": url.path(), "status": status, "retried": retried }),
    );
    broker.record_audit(event).await;

    let mut out =
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY));
    out.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(content_type) = content_type
        && let Ok(value) = header::HeaderValue::from_bytes(content_type.as_bytes())
    {
        out.insert_header((HeaderName::from_static("content-type"), value));
    }
    Ok(out.body(bytes))
}

/// The caller's body, refused (413, in the common error shape) past `limit`.
async fn read_body(mut payload: web::Payload, limit: usize) -> ApiResult<Vec<u8>> {
    use futures::StreamExt;
    let mut out = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request("invalid_request", "The request body could not be read.")
        })?;
        if out.len() + chunk.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {limit} bytes."),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "provider_unreachable",
            "The provider's answer was cut off.",
        )
    })? {
        if out.len() + chunk.len() > limit {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "upstream_too_large",
                "The provider's answer is too large to pass through.",
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_api_base() {
        let base = "https://graph.microsoft.com/v1.0";
        assert_eq!(
            target_url(base, "me/events", "$top=5").unwrap().as_str(),
            "https://graph.microsoft.com/v1.0/me/events?$top=5"
        );
        for bad in [
            "../beta/me",
            "me/../../x",
            "https://evil.com/x",
            "a\\b",
            "me/%2e%2e/%2e%2e/beta",
            "%2e%2e/v1.0-evil/me",
        ] {
            assert!(target_url(base, bad, "").is_err(), "{bad} must be refused");
        }
        // Leading slashes are dropped: the path stays on the provider's host and base.
        let kept = target_url(base, "//evil.com/x", "").unwrap();
        assert_eq!(kept.as_str(), "https://graph.microsoft.com/v1.0/evil.com/x");
    }
}
