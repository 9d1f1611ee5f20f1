//! Orange's error bodies into the core error classes: the API gateway's
//! `{code, message, description}` (40 missing credentials, 41 invalid credentials, 42 expired
//! token, …), the SMS service's `requestError` (see `request_error`), RFC 6749 fields, or
//! failing all of those the HTTP status.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;
pub(crate) use tether_provider_common::error_body::{clip, json, text_field as str_field};

use crate::request_error;

/// Orange's gateway code for an expired access token: renew and retry once.
pub(crate) const EXPIRED_TOKEN_CODE: i64 = 42;

/// The gateway's numeric `code`, if the body is a gateway error.
pub(crate) fn gateway_code(body: &[u8]) -> Option<i64> {
    code_of(&json(body)?)
}

fn code_of(value: &Value) -> Option<i64> {
    match value.get("code")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether an answer means "this access token expired": 401 with gateway code 42.
pub(crate) fn is_expired_token(status: u16, body: &[u8]) -> bool {
    status == 401 && gateway_code(body) == Some(EXPIRED_TOKEN_CODE)
}

fn gateway_error(
    status: u16,
    retry_after: Option<Duration>,
    value: &Value,
) -> Option<ProviderError> {
    let code = code_of(value)?;
    let said = [str_field(value, "message"), str_field(value, "description")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    let said = clip(&said);
    let misconfigured = |what: &str| ProviderError::Misconfigured {
        message: format!("{what} (Orange code {code}): {said}"),
    };
    Some(match code {
        40 => misconfigured("missing credentials"),
        41 => misconfigured(
            "invalid credentials — check the client id and secret; renewing them in the Orange portal invalidates the old ones",
        ),
        50 => misconfigured("access denied — is the app subscribed to this API for this country?"),
        EXPIRED_TOKEN_CODE => ProviderError::Upstream {
            status: Some(status),
            retry_after,
            message: format!("the access token expired (Orange code 42): {said}"),
        },
        53 => ProviderError::RateLimited {
            retry_after,
            message: format!("too many requests (Orange code 53): {said}"),
        },
        _ => by_status(status, retry_after, format!("Orange code {code}: {said}")),
    })
}

fn by_status(status: u16, retry_after: Option<Duration>, message: String) -> ProviderError {
    match status {
        401 | 403 => ProviderError::Misconfigured { message },
        _ => ProviderError::by_status(status, retry_after, message),
    }
}

/// Any failed Orange answer (token endpoint or API) into a core error class, keeping
/// Orange's own words.
pub(crate) fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let Some(value) = json(body) else {
        return by_status(status, retry_after, format!("HTTP {status}"));
    };
    if let Some(e) = request_error::request_error(status, retry_after, &value) {
        return e;
    }
    if let Some(e) = gateway_error(status, retry_after, &value) {
        return e;
    }
    if let Some(error) = str_field(&value, "error") {
        let description = str_field(&value, "error_description").map(clip);
        return ProviderError::from_oauth_error(
            status,
            retry_after,
            Some(&clip(error)),
            description.as_deref(),
        );
    }
    by_status(status, retry_after, format!("HTTP {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_42_is_the_only_expired_token_answer() {
        assert!(is_expired_token(
            401,
            br#"{"code":42,"message":"Expired credentials"}"#
        ));
        assert!(is_expired_token(
            401,
            br#"{"code":"42","message":"Expired credentials"}"#
        ));
        assert!(!is_expired_token(
            401,
            br#"{"code":41,"message":"Invalid credentials"}"#
        ));
        assert!(!is_expired_token(403, br#"{"code":42}"#));
        assert!(!is_expired_token(401, b"<html>"));
    }

    #[test]
    fn gateway_codes_map_to_classes() {
        let e = |code: i64, status| {
            classify(
                status,
                None,
                format!(r#"{{"code":{code},"message":"m","description":"d"}}"#).as_bytes(),
            )
        };
        assert!(matches!(e(40, 401), ProviderError::Misconfigured { .. }));
        assert!(matches!(e(41, 401), ProviderError::Misconfigured { .. }));
        assert!(e(41, 401).to_string().contains("invalid credentials"));
        assert!(e(42, 401).is_transient());
        assert!(matches!(e(50, 403), ProviderError::Misconfigured { .. }));
        assert!(matches!(e(53, 403), ProviderError::RateLimited { .. }));
        assert!(matches!(
            e(5, 503),
            ProviderError::Upstream {
                status: Some(503),
                ..
            }
        ));
    }

    #[test]
    fn other_bodies_fall_back_to_rfc_fields_or_the_status() {
        assert!(matches!(
            classify(
                400,
                None,
                br#"{"error":"invalid_client","error_description":"x"}"#
            ),
            ProviderError::Misconfigured { .. }
        ));
        assert!(classify(502, None, b"<html>").is_transient());
        assert!(matches!(
            classify(429, None, b""),
            ProviderError::RateLimited { .. }
        ));
    }
}
