//! Authenticated GETs against the Dexcom v3 data API and the mapping of its failures (by HTTP
//! status: Dexcom documents no error body) into the core error classes.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;
use url::Url;

/// Sends `GET url` with the bearer token and returns the JSON answer.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: Url,
    token: &AccessToken,
) -> Result<Value, ProviderError> {
    let response = http
        .get(url)
        .bearer_auth(token.expose_secret())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| network(&e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let body = response.bytes().await.map_err(|e| network(&e))?;
    if !(200..300).contains(&status) {
        return Err(classify_api_error(status, retry_after, &body));
    }
    serde_json::from_slice(&body).map_err(|_| ProviderError::Upstream {
        status: Some(status),
        retry_after: None,
        message: "Dexcom answered with something that is not JSON".to_owned(),
    })
}

/// Never echoes the URL: it carries the query, and reqwest's own message includes it.
fn network(e: &reqwest::Error) -> ProviderError {
    let message = if e.is_timeout() {
        "the request to Dexcom timed out"
    } else if e.is_connect() {
        "could not connect to Dexcom"
    } else {
        "the request to Dexcom failed"
    };
    ProviderError::Network {
        message: message.to_owned(),
    }
}

/// `Retry-After` in seconds or as an HTTP date, capped at an hour.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            u64::try_from((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds())
                .unwrap_or(0)
        }
    };
    Some(Duration::from_secs(secs.min(3600)))
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

pub(crate) fn clip(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect()
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
        _ => ProviderError::Upstream {
            status: Some(status),
            retry_after,
            message: said,
        },
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
