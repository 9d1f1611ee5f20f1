//! HTTP calls to an OpenEMR site and the reading of its error answers — OAuth errors in
//! league/oauth2-server's shape (`error`, `error_description`, `hint`, `message`) and FHIR
//! `OperationOutcome`s — into the core error classes, keeping OpenEMR's words.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;
use tether_provider_common::http;

/// A raw answer.
pub(crate) use tether_provider_common::Answer;

/// GETs `url` as FHIR/JSON, with the bearer token when given. Only transport failures are
/// errors here; the caller reads the status.
pub(crate) async fn get(
    http: &reqwest::Client,
    url: &str,
    token: Option<&AccessToken>,
) -> Result<Answer, ProviderError> {
    let mut request = http.get(url).header(
        reqwest::header::ACCEPT,
        "application/fhir+json, application/json",
    );
    if let Some(token) = token {
        request = request.bearer_auth(token.expose_secret());
    }
    send(request).await
}

pub(crate) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, ProviderError> {
    http::send("the OpenEMR site", request).await
}

/// OpenEMR's own words from an error body: the OAuth fields, or an OperationOutcome's
/// diagnostics. Control characters dropped; never more than 300 characters.
fn describe(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::trim);
    let error = field("error").filter(|s| !s.is_empty()).map(clean);
    let mut parts: Vec<&str> = Vec::new();
    for name in ["error_description", "hint", "message"] {
        if let Some(text) = field(name).filter(|t| !t.is_empty())
            && !parts.contains(&text)
        {
            parts.push(text);
        }
    }
    if let Some(issues) = value.get("issue").and_then(Value::as_array) {
        for issue in issues {
            if let Some(text) = issue
                .get("diagnostics")
                .and_then(Value::as_str)
                .or_else(|| issue.pointer("/details/text").and_then(Value::as_str))
            {
                parts.push(text);
            }
        }
    }
    let detail = (!parts.is_empty()).then(|| clean(&parts.join(" — ")));
    (error, detail)
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

/// A failed answer of the token or revocation endpoint. Beyond RFC 6749: older
/// league/oauth2-server versions answer `invalid_request` for an expired code or a revoked
/// refresh token (permanent: reconnect), `access_denied` when the grant was revoked, and
/// `invalid_client` also for a client an administrator has not enabled yet.
pub(crate) fn classify_token_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let (error, detail) = describe(body);
    let lower = detail.as_deref().unwrap_or_default().to_ascii_lowercase();
    let message = |fallback: &str| match (&error, &detail) {
        (Some(e), Some(d)) => format!("{e}: {d}"),
        (Some(e), None) => e.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => fallback.to_owned(),
    };
    match error.as_deref() {
        Some("invalid_request")
            if status < 500
                && ["refresh token", "authorization code", "revoked", "expired"]
                    .iter()
                    .any(|w| lower.contains(w)) =>
        {
            ProviderError::InvalidGrant {
                message: message(""),
            }
        }
        Some("access_denied") if status < 500 => ProviderError::Revoked {
            message: message(""),
        },
        Some("invalid_client") => ProviderError::Misconfigured {
            message: format!(
                "{} (check the client id and secret, and that an administrator enabled the client in OpenEMR: Administration → System → API Clients)",
                message("")
            ),
        },
        _ => ProviderError::from_oauth_error(
            status,
            retry_after,
            error.as_deref(),
            detail.as_deref(),
        ),
    }
}

/// A failed answer of a FHIR or userinfo call.
pub(crate) fn classify_api_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let (error, detail) = describe(body);
    let message = match (&error, &detail) {
        (Some(e), Some(d)) => format!("HTTP {status} {e}: {d}"),
        (Some(t), None) | (None, Some(t)) => format!("HTTP {status}: {t}"),
        (None, None) => format!("HTTP {status}"),
    };
    let lower = message.to_ascii_lowercase();
    match status {
        401 if lower.contains("revoked") => ProviderError::Revoked { message },
        401 => ProviderError::InvalidGrant {
            message: format!("OpenEMR rejected the access token ({message})"),
        },
        403 => ProviderError::Misconfigured {
            message: format!(
                "OpenEMR refused the call ({message}); the connection may lack the scope it needs"
            ),
        },
        404 | 405 => ProviderError::Misconfigured {
            message: format!(
                "OpenEMR has no such endpoint ({message}); check the site address and that the FHIR API is enabled"
            ),
        },
        _ => ProviderError::by_status(status, retry_after, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn league_error_bodies_keep_their_hint() {
        let err = classify_token_error(
            400,
            None,
            br#"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid","hint":"Authorization code has expired","message":"The provided authorization grant is invalid"}"#,
        );
        assert!(err.needs_reauth());
        let text = err.to_string();
        assert!(text.contains("Authorization code has expired"), "{text}");
        assert_eq!(
            text.matches("The provided authorization grant").count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn operation_outcomes_are_described() {
        let err = classify_api_error(
            500,
            None,
            br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"database\u0007 down"}]}"#,
        );
        assert!(err.is_transient());
        assert_eq!(
            err.to_string(),
            "the provider failed (HTTP 500): HTTP 500: database  down"
        );
    }

    #[test]
    fn error_text_is_bounded() {
        let long = format!(
            r#"{{"error":"server_error","error_description":"{}"}}"#,
            "x".repeat(5000)
        );
        let err = classify_api_error(502, None, long.as_bytes());
        assert!(err.to_string().len() < 700);
    }
}
