//! Reading a provider's error body without trusting its shape: JSON or not, RFC 6749
//! `{error, error_description}` or a provider's own `{code, message}`, and turning the
//! provider's words into a bounded message for the core error classes.

use std::time::Duration;

use serde_json::Value;
use tether_core::provider::ProviderError;

/// How many characters of a provider's words a message keeps by default.
pub const MESSAGE_LIMIT: usize = 300;

/// `text` without control characters, at most [`MESSAGE_LIMIT`] characters.
pub fn clip(text: &str) -> String {
    clip_to(text, MESSAGE_LIMIT)
}

/// `text` without control characters, at most `limit` characters.
pub fn clip_to(text: &str, limit: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(limit)
        .collect()
}

/// The body as JSON, when it is JSON.
pub fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// A string field, trimmed, when present and not empty.
pub fn text_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `code: detail`, either alone, or `HTTP {status}` when the provider said nothing.
pub fn message(code: Option<&str>, detail: Option<&str>, status: u16) -> String {
    match (code, detail) {
        (Some(c), Some(d)) => format!("{c}: {d}"),
        (Some(t), None) | (None, Some(t)) => t.to_owned(),
        (None, None) => format!("HTTP {status}"),
    }
}

/// The RFC 6749 §5.2 fields of a JSON body: `error` and `error_description`, clipped.
pub fn oauth_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let Some(value) = json(body) else {
        return (None, None);
    };
    (
        text_field(&value, "error").map(clip),
        text_field(&value, "error_description").map(clip),
    )
}

/// A failed token or revocation answer in the RFC 6749 shape, classified by
/// [`ProviderError::from_oauth_error`].
pub fn classify_oauth(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ProviderError {
    let (error, description) = oauth_fields(body);
    ProviderError::from_oauth_error(
        status,
        retry_after,
        error.as_deref(),
        description.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_bounded_and_clean() {
        assert_eq!(clip("a\u{7}b\nc"), "abc");
        assert_eq!(clip(&"x".repeat(1000)).len(), MESSAGE_LIMIT);
        assert_eq!(clip_to("abcdef", 3), "abc");
        assert_eq!(message(Some("e"), Some("d"), 400), "e: d");
        assert_eq!(message(None, None, 502), "HTTP 502");
    }

    #[test]
    fn oauth_bodies_are_classified_and_others_fall_back_to_the_status() {
        let e = classify_oauth(
            400,
            None,
            br#"{"error":"invalid_grant","error_description":" gone "}"#,
        );
        assert!(e.needs_reauth());
        assert!(e.to_string().contains("invalid_grant: gone"), "{e}");
        assert!(classify_oauth(503, None, b"<html>").is_transient());
        assert_eq!(oauth_fields(b"not json"), (None, None));
    }
}
