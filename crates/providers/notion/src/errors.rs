//! Notion's error answers in Tether's classes. Notion answers
//! `{"object":"error","status":400,"code":"invalid_grant","message":"…","request_id":"…"}`;
//! its OAuth endpoints may also answer the RFC 6749 `{"error","error_description"}` shape,
//! so both are read.

use std::time::Duration;

use serde::Deserialize;
use tether_core::provider::ProviderError;

/// Where the answer came from: a 401 at the OAuth endpoints means our client credentials were
/// refused; from the API it means the access token was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    OAuth,
    Api,
}

#[derive(Debug, Default, Deserialize)]
struct Body {
    /// RFC 6749 shape.
    error: Option<String>,
    error_description: Option<String>,
    /// Notion's shape.
    code: Option<String>,
    message: Option<String>,
}

/// Our request or configuration is wrong (a bad `notion_version` is `missing_version` or
/// `validation_error`; a capability the connection lacks is `restricted_resource`).
const OPERATOR_CODES: &[&str] = &[
    "invalid_client",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_request",
    "invalid_json",
    "invalid_request_url",
    "validation_error",
    "missing_version",
    "restricted_resource",
];

const OUTAGE_CODES: &[&str] = &[
    "internal_server_error",
    "service_unavailable",
    "database_connection_unavailable",
    "gateway_timeout",
    "temporarily_unavailable",
    "server_error",
];

/// Classifies a failed answer of Notion's OAuth endpoints (the descriptor's `token_errors`).
pub(crate) fn classify_oauth(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    classify(Origin::OAuth, status, retry_after, body)
}

/// Classifies a failed answer of Notion's OAuth endpoints or API.
pub(crate) fn classify(
    origin: Origin,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let parsed: Body = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.error.or(parsed.code);
    let detail = parsed.error_description.or(parsed.message);
    let message: String = match (&code, &detail) {
        (Some(c), Some(d)) => format!("{c}: {d}"),
        (Some(c), None) => c.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => format!("HTTP {status}"),
    }
    .chars()
    .filter(|c| !c.is_control())
    .take(500)
    .collect();
    let message = format!("Notion: {message}");
    let code = code.as_deref();

    if status == 429 || code == Some("rate_limited") {
        return ProviderError::RateLimited {
            retry_after,
            message,
        };
    }
    if status >= 500 || code.is_some_and(|c| OUTAGE_CODES.contains(&c)) {
        return ProviderError::Upstream {
            status: Some(status),
            retry_after,
            message,
        };
    }
    if code == Some("invalid_grant") {
        return ProviderError::InvalidGrant { message };
    }
    if code.is_some_and(|c| OPERATOR_CODES.contains(&c)) {
        return ProviderError::Misconfigured { message };
    }
    match (origin, status) {
        (Origin::OAuth, 401 | 403) => ProviderError::Misconfigured { message },
        // `unauthorized`: the token is invalid, or the user removed the connection.
        (Origin::Api, 401) => ProviderError::InvalidGrant { message },
        (Origin::Api, 403) => ProviderError::Misconfigured { message },
        _ => ProviderError::Upstream {
            status: Some(status),
            retry_after,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notion(origin: Origin, status: u16, code: &str) -> ProviderError {
        let body = format!(
            r#"{{"object":"error","status":{status},"code":"{code}","message":"words from Notion","request_id":"r-1"}}"#
        );
        classify(origin, status, None, body.as_bytes())
    }

    #[test]
    fn a_dead_grant_needs_the_user() {
        let e = notion(Origin::OAuth, 400, "invalid_grant");
        assert!(matches!(e, ProviderError::InvalidGrant { .. }), "{e:?}");
        assert!(e.to_string().contains("invalid_grant: words from Notion"));
        let rfc = classify(
            Origin::OAuth,
            400,
            None,
            br#"{"error":"invalid_grant","error_description":"Invalid code."}"#,
        );
        assert!(matches!(rfc, ProviderError::InvalidGrant { .. }), "{rfc:?}");
        let removed = notion(Origin::Api, 401, "unauthorized");
        assert!(removed.needs_reauth(), "{removed:?}");
    }

    #[test]
    fn client_and_request_problems_go_to_the_operator() {
        assert!(matches!(
            notion(Origin::OAuth, 401, "unauthorized"),
            ProviderError::Misconfigured { .. }
        ));
        for code in [
            "invalid_client",
            "validation_error",
            "missing_version",
            "invalid_request",
            "invalid_json",
        ] {
            let e = notion(Origin::OAuth, 400, code);
            assert!(
                matches!(e, ProviderError::Misconfigured { .. }),
                "{code}: {e:?}"
            );
        }
        assert!(matches!(
            notion(Origin::Api, 403, "restricted_resource"),
            ProviderError::Misconfigured { .. }
        ));
    }

    #[test]
    fn limits_and_outages_are_transient() {
        let wait = Some(Duration::from_secs(2));
        let limited = classify(
            Origin::Api,
            429,
            wait,
            br#"{"object":"error","status":429,"code":"rate_limited","message":"slow down"}"#,
        );
        assert!(matches!(limited, ProviderError::RateLimited { .. }));
        assert_eq!(limited.retry_after(), wait);
        for (status, code) in [
            (500, "internal_server_error"),
            (503, "service_unavailable"),
            (503, "database_connection_unavailable"),
            (504, "gateway_timeout"),
        ] {
            let e = notion(Origin::Api, status, code);
            assert!(e.is_transient(), "{code}: {e:?}");
        }
        let html = classify(Origin::OAuth, 502, None, b"<html>Bad gateway</html>");
        assert!(matches!(
            html,
            ProviderError::Upstream {
                status: Some(502),
                ..
            }
        ));
    }

    #[test]
    fn missing_objects_and_conflicts_are_upstream_answers() {
        let e = notion(Origin::Api, 404, "object_not_found");
        assert!(
            matches!(
                e,
                ProviderError::Upstream {
                    status: Some(404),
                    ..
                }
            ),
            "{e:?}"
        );
        let e = notion(Origin::Api, 409, "conflict_error");
        assert!(
            matches!(
                e,
                ProviderError::Upstream {
                    status: Some(409),
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
