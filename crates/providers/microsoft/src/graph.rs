//! Authenticated GET calls to Microsoft Graph, and Graph's `{"error":{code,message}}`
//! answers in Tether's classes.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;
use tether_provider_common::http;
use url::Url;

use crate::errors::clip;

/// GETs `url` with the access token and returns the JSON answer.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: &Url,
    what: &str,
    token: &AccessToken,
) -> Result<Value, ProviderError> {
    let target = format!("Microsoft Graph {what}");
    http::get_json(
        &target,
        http.get(url.clone()),
        token,
        |status, retry_after, body| classify_graph_error(what, status, retry_after, body),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Debug, Deserialize)]
struct GraphError {
    code: Option<String>,
    message: Option<String>,
}

/// Classifies a failed Microsoft Graph answer (`what` names the call for the message).
fn classify_graph_error(
    what: &str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let detail = serde_json::from_slice::<GraphErrorBody>(body)
        .ok()
        .map(|b| match (b.error.code, b.error.message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c,
            (None, Some(m)) => m,
            (None, None) => format!("HTTP {status}"),
        })
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = clip(format!("Microsoft Graph {what}: {detail}"));
    match status {
        // The token was refused, or the account no longer grants what the call needs:
        // connecting again (and consenting) is the fix.
        401 | 403 => ProviderError::InvalidGrant { message },
        _ => ProviderError::by_status(status, retry_after, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_errors_are_classified_with_their_code() {
        let expired = classify_graph_error(
            "/me",
            401,
            None,
            br#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"date":"2025-01-01T00:00:00","request-id":"r"}}}"#,
        );
        assert!(expired.needs_reauth());
        assert!(
            expired
                .to_string()
                .contains("InvalidAuthenticationToken: Access token has expired")
        );
        let denied = classify_graph_error(
            "/me",
            403,
            None,
            br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#,
        );
        assert!(denied.needs_reauth());
        let wait = Some(Duration::from_secs(3));
        let throttled = classify_graph_error(
            "/me",
            429,
            wait,
            br#"{"error":{"code":"TooManyRequests","message":"Too many requests"}}"#,
        );
        assert_eq!(throttled.retry_after(), wait);
        assert!(matches!(throttled, ProviderError::RateLimited { .. }));
        let down = classify_graph_error("/me", 503, None, b"oops");
        assert!(matches!(
            down,
            ProviderError::Upstream {
                status: Some(503),
                ..
            }
        ));
    }
}
