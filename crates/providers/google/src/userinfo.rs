//! The OpenID Connect userinfo answer: Google's stable subject (`sub`, never the e-mail) and
//! the non-secret claims Tether keeps as a label and metadata.

use serde_json::{Map, Value, json};
use tether_core::provider::ProviderError;
use tether_core::secret::AccessToken;

use crate::api_error::QuotaPolicy;
use crate::auth::GoogleAuth;

/// The Google account behind a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleUser {
    /// The stable account id.
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    /// The Google Workspace domain, for Workspace accounts.
    pub hosted_domain: Option<String>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl GoogleUser {
    /// Reads a userinfo answer; one without a subject is an upstream error.
    pub fn from_json(value: &Value) -> Result<Self, ProviderError> {
        let sub = text(value, "sub").ok_or_else(|| ProviderError::Upstream {
            status: None,
            retry_after: None,
            message: "Google's userinfo answer has no subject (`sub`); is `openid` granted?"
                .to_owned(),
        })?;
        // Older Google endpoints sent `"true"` as a string.
        let email_verified = match value.get("email_verified") {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        Ok(Self {
            sub,
            email: text(value, "email"),
            email_verified,
            name: text(value, "name"),
            hosted_domain: text(value, "hd"),
        })
    }

    /// A human label: the e-mail, else the name.
    pub fn label(&self) -> Option<String> {
        self.email.clone().or_else(|| self.name.clone())
    }

    /// The claims kept on the integration (only those present).
    pub fn metadata(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("google_sub".to_owned(), json!(self.sub));
        let fields = [
            ("email", self.email.as_ref().map(|v| json!(v))),
            ("email_verified", self.email_verified.map(|v| json!(v))),
            ("name", self.name.as_ref().map(|v| json!(v))),
            (
                "hosted_domain",
                self.hosted_domain.as_ref().map(|v| json!(v)),
            ),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        }
        map
    }
}

impl GoogleAuth {
    /// Calls the userinfo endpoint with the token (needs `openid`).
    pub async fn userinfo(&self, token: &AccessToken) -> Result<GoogleUser, ProviderError> {
        let url =
            self.endpoints()
                .userinfo_url
                .clone()
                .ok_or_else(|| ProviderError::Misconfigured {
                    message: "no userinfo endpoint is configured".to_owned(),
                })?;
        let json = self
            .get(&url, token)
            .await?
            .into_json(&QuotaPolicy::GOOGLE)?;
        GoogleUser::from_json(&json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_claims_are_read_leniently() {
        let user = GoogleUser::from_json(&json!({
            "sub": "110169484474386276334",
            "email": "ada@example.com",
            "email_verified": "true",
            "name": "Ada",
            "picture": "https://lh3.googleusercontent.com/a/x",
            "hd": "example.com"
        }))
        .unwrap();
        assert_eq!(user.sub, "110169484474386276334");
        assert_eq!(user.email_verified, Some(true));
        assert_eq!(user.label().as_deref(), Some("ada@example.com"));
        let meta = user.metadata();
        assert_eq!(meta["hosted_domain"], "example.com");
        assert!(!meta.contains_key("picture"));
    }

    #[test]
    fn a_userinfo_answer_without_a_subject_is_refused() {
        let err = GoogleUser::from_json(&json!({"email": "a@b.c"})).unwrap_err();
        assert!(matches!(err, ProviderError::Upstream { .. }));
        let minimal = GoogleUser::from_json(&json!({"sub": 42, "email": ""})).unwrap();
        assert_eq!(minimal.sub, "42");
        assert_eq!(minimal.label(), None);
        assert_eq!(minimal.metadata().len(), 1);
    }
}
