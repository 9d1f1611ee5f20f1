//! Lenient parsing of token-endpoint answers: numbers as strings (Orange's `expires_in`),
//! missing `expires_in`, missing/null/empty refresh tokens, scope as a string or an array,
//! and every other field kept for the provider to read (Notion's workspace, OpenEMR's
//! launch context).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::error::ProviderError;
use crate::scope::ScopeSet;
use crate::secret::{AccessToken, OpaqueSecret, RefreshToken};
use crate::token::TokenSet;

#[derive(Debug, Clone)]
pub struct RawTokenResponse {
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<RefreshToken>,
    pub refresh_token_expires_in: Option<u64>,
    /// The space-delimited scope the provider reported, if any.
    pub scope: Option<String>,
    pub id_token: Option<OpaqueSecret>,
    /// Every other field of the answer.
    pub extra: Map<String, Value>,
}

fn take_str(map: &mut Map<String, Value>, key: &str) -> Option<String> {
    match map.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn take_seconds(map: &mut Map<String, Value>, key: &str) -> Option<u64> {
    match map.remove(key) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

impl RawTokenResponse {
    /// Parses a successful token answer; a body without a usable `access_token` is an
    /// upstream error (never an empty token).
    pub fn parse(body: &[u8]) -> Result<Self, ProviderError> {
        let mut map = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(ProviderError::Upstream {
                    status: None,
                    retry_after: None,
                    message: "the token endpoint answered with something that is not a JSON object"
                        .to_owned(),
                });
            }
        };
        let access_token =
            take_str(&mut map, "access_token").ok_or_else(|| ProviderError::Upstream {
                status: None,
                retry_after: None,
                message: "the token endpoint answer has no access_token".to_owned(),
            })?;
        let scope = match map.remove("scope") {
            Some(Value::String(s)) => Some(s),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        };
        Ok(Self {
            access_token: AccessToken::new(access_token),
            token_type: take_str(&mut map, "token_type").unwrap_or_else(|| "Bearer".to_owned()),
            expires_in: take_seconds(&mut map, "expires_in"),
            refresh_token: take_str(&mut map, "refresh_token").map(RefreshToken::new),
            refresh_token_expires_in: take_seconds(&mut map, "refresh_token_expires_in"),
            scope,
            id_token: take_str(&mut map, "id_token").map(OpaqueSecret::new),
            extra: map,
        })
    }

    /// The granted scopes the provider reported (invalid tokens in the list are dropped).
    pub fn granted_scopes(&self) -> Option<ScopeSet> {
        self.scope.as_deref().map(|s| {
            s.split_whitespace()
                .filter_map(|t| crate::scope::Scope::parse(t).ok())
                .collect()
        })
    }

    /// The domain token set, with expiries computed from `now`.
    pub fn to_token_set(&self, now: DateTime<Utc>) -> TokenSet {
        let after =
            |secs: u64| now + Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2_000));
        TokenSet {
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
            token_type: self.token_type.clone(),
            expires_at: self.expires_in.map(after),
            refresh_expires_at: self.refresh_token_expires_in.map(after),
            scope: self.granted_scopes(),
            launch_context: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_answers_parse() {
        let raw = RawTokenResponse::parse(
            br#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","scope":"a b"}"#,
        )
        .unwrap();
        assert_eq!(raw.access_token.expose_secret(), "at");
        assert_eq!(raw.expires_in, Some(3600));
        assert_eq!(raw.refresh_token.unwrap().expose_secret(), "rt");
        assert_eq!(raw.scope.as_deref(), Some("a b"));
    }

    #[test]
    fn lenient_shapes_parse() {
        let raw = RawTokenResponse::parse(
            br#"{"access_token":"at","expires_in":"7776000","refresh_token":null,"workspace_id":"w1"}"#,
        )
        .unwrap();
        assert_eq!(raw.expires_in, Some(7_776_000));
        assert!(raw.refresh_token.is_none());
        assert_eq!(raw.token_type, "Bearer");
        assert_eq!(raw.extra["workspace_id"], "w1");
        let no_expiry =
            RawTokenResponse::parse(br#"{"access_token":"at","refresh_token":""}"#).unwrap();
        assert!(no_expiry.expires_in.is_none());
        assert!(
            no_expiry.refresh_token.is_none(),
            "an empty refresh token is no refresh token"
        );
        let array_scope =
            RawTokenResponse::parse(br#"{"access_token":"at","scope":["x","y"]}"#).unwrap();
        assert_eq!(array_scope.granted_scopes().unwrap().to_delimited(), "x y");
    }

    #[test]
    fn answers_without_a_token_are_errors_never_empty_tokens() {
        for body in [
            &br#"{"token_type":"Bearer"}"#[..],
            br#"{"access_token":""}"#,
            b"<html>",
            b"[]",
        ] {
            assert!(RawTokenResponse::parse(body).is_err());
        }
    }

    #[test]
    fn expiries_are_computed_from_now() {
        let now = Utc::now();
        let raw = RawTokenResponse::parse(
            br#"{"access_token":"at","expires_in":60,"refresh_token_expires_in":120}"#,
        )
        .unwrap();
        let set = raw.to_token_set(now);
        assert_eq!(set.expires_at, Some(now + Duration::seconds(60)));
        assert_eq!(set.refresh_expires_at, Some(now + Duration::seconds(120)));
    }
}
