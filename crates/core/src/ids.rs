//! Typed identifiers, so an integration id can never be passed where a consent id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ParseError;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $label:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| ParseError::invalid($label, "expected a UUID"))
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// One connected account.
    IntegrationId,
    "integration id"
);
uuid_id!(
    /// One consent grant.
    ConsentId,
    "consent id"
);
uuid_id!(
    /// One service or admin API key.
    ApiKeyId,
    "api key id"
);
uuid_id!(
    /// One row of provider configuration.
    ProviderConfigId,
    "provider config id"
);
uuid_id!(
    /// One stored token row.
    TokenId,
    "token id"
);
uuid_id!(
    /// One audit record.
    AuditId,
    "audit id"
);
uuid_id!(
    /// One status-change event: a UUIDv7, so ids sort by creation time. Also the webhook's
    /// `webhook-id`.
    EventId,
    "event id"
);
uuid_id!(
    /// One webhook endpoint (a destination for events).
    WebhookEndpointId,
    "webhook endpoint id"
);
uuid_id!(
    /// One console account (an operator or a member of practice staff).
    ConsoleAccountId,
    "console account id"
);
uuid_id!(
    /// One signed-in console session.
    ConsoleSessionId,
    "console session id"
);
uuid_id!(
    /// One hosted connect session (a short-lived, single-use link to the connect page).
    ConnectSessionId,
    "connect session id"
);

/// The product's own user id (the `sub` of its JWTs): opaque text, 1–255 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub const MAX_LEN: usize = 255;

    pub fn parse(value: impl Into<String>) -> Result<Self, ParseError> {
        let value = value.into();
        if value.is_empty() {
            return Err(ParseError::invalid("user id", "must not be empty"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(ParseError::invalid(
                "user id",
                format!("must be at most {} bytes", Self::MAX_LEN),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(ParseError::invalid(
                "user id",
                "must not contain control characters",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UserId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for UserId {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = IntegrationId::new();
        assert_eq!(id.to_string().parse::<IntegrationId>().unwrap(), id);
        assert!("not-a-uuid".parse::<IntegrationId>().is_err());
    }

    #[test]
    fn user_ids_reject_empty_long_and_control_characters() {
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a".repeat(256)).is_err());
        assert!(UserId::parse("bad\nid").is_err());
        assert_eq!(UserId::parse("user-42").unwrap().as_str(), "user-42");
    }
}
