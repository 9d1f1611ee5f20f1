//! The token endpoint's error answers in Tether's classes: Microsoft's RFC 6749 body with
//! `error_codes` (AADSTS numbers) and `suberror`.
//!
//! Microsoft asks clients to branch on `error`; the AADSTS numbers only sharpen the class
//! where `error` alone would send the wrong person to fix it (a redirect-URI or secret problem
//! reported as `invalid_grant` is the operator's, not the user's).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tether_core::provider::ProviderError;

/// Our configuration is wrong: secret invalid (7000215) or expired (7000222), app not in the
/// tenant (700016), redirect URI mismatch (50011, 70004), app not multi-tenant or not for
/// personal accounts (50194, 9002332, 90130, 90124), code redeemed at another tenant (700005),
/// a secret sent by a public client (700025).
const OPERATOR_CODES: &[u64] = &[
    7_000_215, 7_000_222, 700_016, 50_011, 70_004, 50_194, 9_002_332, 90_130, 90_124, 700_005,
    700_025,
];

/// The user must authorize again: refresh token expired or invalid (70008, 700082, 700084,
/// 70043), MFA or sign-in needed (50076, 50079, 50058), Conditional Access (53003), consent
/// missing or declined (65001, 65004, 90094, 90095), code reused (54005), verifier mismatch
/// (501481).
const REAUTH_CODES: &[u64] = &[
    70_008, 700_082, 700_084, 70_043, 50_076, 50_079, 50_058, 53_003, 65_001, 65_004, 90_094,
    90_095, 54_005, 501_481,
];

/// The grant was revoked (password change, admin revocation: 50173).
const REVOKED_CODES: &[u64] = &[50_173];

/// `error` values that mean "send the user through /authorize again".
const REAUTH_ERRORS: &[&str] = &[
    "invalid_grant",
    "interaction_required",
    "consent_required",
    "login_required",
    "access_denied",
];

#[derive(Debug, Default, Deserialize)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Value,
    suberror: Option<String>,
}

impl TokenError {
    fn codes(&self) -> Vec<u64> {
        match &self.error_codes {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The first line of a description: Microsoft appends trace and correlation ids on more lines.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

pub(crate) fn clip(text: String) -> String {
    text.chars().filter(|c| !c.is_control()).take(500).collect()
}

/// Classifies a failed token-endpoint answer.
pub(crate) fn classify_token_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ProviderError {
    let parsed: TokenError = serde_json::from_slice(body).unwrap_or_default();
    let error = parsed.error.as_deref();
    let description = parsed.error_description.as_deref().map(first_line);
    let codes = parsed.codes();
    let suberror = parsed.suberror.as_deref();
    let mut message = match (error, description) {
        (Some(e), Some(d)) => format!("{e}: {d}"),
        (Some(e), None) => e.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => format!("HTTP {status}"),
    };
    if let Some(suberror) = suberror {
        message.push_str(&format!(" (suberror {suberror})"));
    }
    let message = clip(message);
    let has = |list: &[u64]| codes.iter().any(|c| list.contains(c));

    if status == 429
        || status >= 500
        || matches!(error, Some("temporarily_unavailable" | "server_error"))
    {
        return ProviderError::from_oauth_error(status, retry_after, error, None)
            .with_message(message);
    }
    if has(OPERATOR_CODES) {
        return ProviderError::Misconfigured { message };
    }
    if has(REVOKED_CODES) {
        return ProviderError::Revoked { message };
    }
    if has(REAUTH_CODES) || error.is_some_and(|e| REAUTH_ERRORS.contains(&e)) {
        return ProviderError::InvalidGrant { message };
    }
    if error == Some("invalid_resource") {
        return ProviderError::Misconfigured { message };
    }
    ProviderError::from_oauth_error(status, retry_after, error, None).with_message(message)
}

/// Replaces the message of a classified error (keeping its class and timings).
trait WithMessage {
    fn with_message(self, message: String) -> Self;
}

impl WithMessage for ProviderError {
    fn with_message(self, message: String) -> Self {
        match self {
            ProviderError::InvalidGrant { .. } => ProviderError::InvalidGrant { message },
            ProviderError::Revoked { .. } => ProviderError::Revoked { message },
            ProviderError::InvalidRequest { .. } => ProviderError::InvalidRequest { message },
            ProviderError::RateLimited { retry_after, .. } => ProviderError::RateLimited {
                retry_after,
                message,
            },
            ProviderError::Upstream {
                status,
                retry_after,
                ..
            } => ProviderError::Upstream {
                status,
                retry_after,
                message,
            },
            ProviderError::Network { .. } => ProviderError::Network { message },
            ProviderError::Misconfigured { .. } => ProviderError::Misconfigured { message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(status: u16, body: &str) -> ProviderError {
        classify_token_error(status, None, body.as_bytes())
    }

    #[test]
    fn expired_or_revoked_grants_need_the_user() {
        let expired = token(
            400,
            r#"{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: abc\r\nCorrelation ID: def","error_codes":[700082],"timestamp":"2025-01-01 00:00:00Z","trace_id":"abc","correlation_id":"def"}"#,
        );
        assert!(
            matches!(expired, ProviderError::InvalidGrant { .. }),
            "{expired:?}"
        );
        let text = expired.to_string();
        assert!(text.contains("AADSTS700082: The refresh token has expired due to inactivity."));
        assert!(!text.contains("Trace ID"), "{text}");

        let revoked = token(
            400,
            r#"{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired due to it being revoked.","error_codes":[50173]}"#,
        );
        assert!(
            matches!(revoked, ProviderError::Revoked { .. }),
            "{revoked:?}"
        );
    }

    #[test]
    fn interaction_and_consent_answers_need_the_user_not_a_retry() {
        for body in [
            r#"{"error":"interaction_required","error_description":"AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.","error_codes":[50076],"suberror":"basic_action"}"#,
            r#"{"error":"consent_required","error_description":"AADSTS65001: The user or administrator has not consented.","error_codes":[65001],"suberror":"consent_required"}"#,
            r#"{"error":"invalid_grant","error_description":"AADSTS70008: The refresh token has expired.","error_codes":[70008],"suberror":"bad_token"}"#,
        ] {
            let e = token(400, body);
            assert!(e.needs_reauth(), "{body}: {e:?}");
            assert!(!e.is_transient());
        }
        let with_suberror = token(
            400,
            r#"{"error":"invalid_grant","error_description":"AADSTS70008: expired.","suberror":"bad_token"}"#,
        );
        assert!(with_suberror.to_string().contains("suberror bad_token"));
    }

    #[test]
    fn configuration_codes_go_to_the_operator_even_under_invalid_grant() {
        for (status, body) in [
            (
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
            ),
            (
                401,
                r#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired.","error_codes":[7000222]}"#,
            ),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"AADSTS50011: The redirect URI does not match.","error_codes":[50011]}"#,
            ),
            (
                400,
                r#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application not found in the directory.","error_codes":[700016]}"#,
            ),
            (
                400,
                r#"{"error":"invalid_scope","error_description":"AADSTS70011: The provided value for scope is not valid.","error_codes":[70011]}"#,
            ),
            (
                400,
                r#"{"error":"invalid_resource","error_description":"AADSTS500011: resource principal not found."}"#,
            ),
        ] {
            let e = token(status, body);
            assert!(
                matches!(e, ProviderError::Misconfigured { .. }),
                "{body}: {e:?}"
            );
        }
    }

    #[test]
    fn outages_and_throttling_are_transient_with_their_wait() {
        let wait = Some(Duration::from_secs(12));
        let busy = classify_token_error(
            400,
            wait,
            br#"{"error":"temporarily_unavailable","error_description":"AADSTS90033: A transient error has occurred.","error_codes":[90033]}"#,
        );
        assert!(busy.is_transient());
        assert_eq!(busy.retry_after(), wait);
        let down = classify_token_error(503, wait, b"<html>Service Unavailable</html>");
        assert!(matches!(
            down,
            ProviderError::Upstream {
                status: Some(503),
                ..
            }
        ));
        let limited = classify_token_error(429, wait, b"");
        assert!(matches!(limited, ProviderError::RateLimited { .. }));
        assert_eq!(limited.retry_after(), wait);
    }
}
