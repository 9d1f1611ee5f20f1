//! Authenticated GETs against the Dexcom v3 data API and the mapping of its failures (by HTTP
//! status: Dexcom documents no error body) into the core error classes.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;
use tether_provider_common::error_body::clip;
use tether_provider_common::http;
use url::Url;

/// Sends `GET url` with the bearer token and returns the JSON answer.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: Url,
    token: &AccessToken,
) -> Result<Value, ProviderError> {
    http::get_json("Dexcom", http.get(url), token, classify_api_error).await
}

/// The provider's own words from an error body, whatever its shape (RFC 6749 fields, an API
/// gateway `fault`, a `message`), cleaned and truncated.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).filter(|s| !s.trim().is_empty())
    }
    let found = text(value.get("error_description"))
        .or_else(|| text(value.get("message")))
        .or_else(|| text(value.pointer("/fault/faultstring")))
        .or_else(|| text(value.get("error")))
        .or_else(|| text(value.pointer("/errors/0/message")))?;
    Some(clip(found))
}

/// Dexcom's data API errors by status: 401 the token is no longer accepted (expired or the
/// user withdrew access), 403 the app may not read this data, 429 over the hourly quota,
/// 5xx an outage; anything else is an unexpected answer.
pub(crate) fn classify_api_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let said = error_message(body).unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        401 => ProviderError::Revoked {
            message: format!(
                "Dexcom rejected the access token (expired, or access withdrawn in the Dexcom account): {said}"
            ),
        },
        403 => ProviderError::Misconfigured {
            message: format!(
                "Dexcom refused access (check the app's access tier and region): {said}"
            ),
        },
        429 => ProviderError::RateLimited {
            retry_after,
            message: format!("Dexcom's limit of 60,000 calls per app per hour: {said}"),
        },
        _ => ProviderError::by_status(status, retry_after, said),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_any_known_error_shape() {
        assert_eq!(
            error_message(br#"{"error":"invalid_grant","error_description":"bad code"}"#)
                .as_deref(),
            Some("bad code")
        );
        assert_eq!(
            error_message(br#"{"fault":{"faultstring":"Invalid Access Token"}}"#).as_deref(),
            Some("Invalid Access Token")
        );
        assert_eq!(error_message(b"<html>oops</html>"), None);
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(1000));
        assert_eq!(error_message(long.as_bytes()).map(|m| m.len()), Some(300));
    }

    #[test]
    fn api_statuses_map_to_the_classes_the_lifecycle_acts_on() {
        assert!(classify_api_error(401, None, b"").needs_reauth());
        assert!(matches!(
            classify_api_error(403, None, b""),
            ProviderError::Misconfigured { .. }
        ));
        let wait = Some(Duration::from_secs(60));
        assert_eq!(classify_api_error(429, wait, b"").retry_after(), wait);
        assert!(classify_api_error(502, None, b"").is_transient());
    }
}
