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
    /// One audit record: a UUIDv7 whose millisecond is the record's `created_at`
    /// ([`AuditId::at`]), so id order is time order and a time range is an id range.
    AuditId,
    "audit id"
);

impl AuditId {
    /// The id of a record made at `at`: a UUIDv7 carrying `at`'s millisecond and, in the 12
    /// bits after it, the fraction of that millisecond (RFC 9562's "increased clock
    /// precision", to 1/4096 ms), so records a microsecond apart sort by time; random below.
    /// Ids this process mints one after another for the same instant ascend (RFC 9562's
    /// monotonic random), so records of one instant keep the order they were written in.
    pub fn at(at: chrono::DateTime<chrono::Utc>) -> Self {
        /// The low 62 bits of a UUIDv7 (`rand_b`), below the variant.
        const RAND_B: u128 = (1 << 62) - 1;
        static LAST: std::sync::Mutex<u128> = std::sync::Mutex::new(0);
        let fresh = random_at(at).as_u128();
        let mut last = LAST
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let same_instant = fresh >> 64 == *last >> 64;
        *last = if same_instant && fresh <= *last && *last & RAND_B != RAND_B {
            *last + 1
        } else {
            fresh
        };
        Self(Uuid::from_u128(*last))
    }

    /// The smallest id a record made at `at` or later can have (every id of `at`'s
    /// millisecond is at least this).
    pub fn lowest_at(at: chrono::DateTime<chrono::Utc>) -> Self {
        let millis = unix_millis(at);
        if millis > MAX_MILLIS {
            // Past what a UUIDv7 can carry (the year 10889): no id is that high.
            return Self(Uuid::max());
        }
        Self(uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10]).into_uuid())
    }

    /// A bound every id of a record made at `at` or earlier is below: the lowest id of the
    /// next millisecond.
    pub fn above(at: chrono::DateTime<chrono::Utc>) -> Self {
        at.checked_add_signed(chrono::TimeDelta::milliseconds(1))
            .map_or(Self(Uuid::max()), Self::lowest_at)
    }
}

/// The last millisecond a UUIDv7 can carry (48 bits).
const MAX_MILLIS: u64 = (1 << 48) - 1;

/// A UUIDv7 of `at`: its millisecond, then the millisecond's fraction in 12 bits, then random.
fn random_at(at: chrono::DateTime<chrono::Utc>) -> Uuid {
    let fraction = (at.timestamp_subsec_nanos() % 1_000_000) * 4096 / 1_000_000;
    let mut bytes = [0; 10];
    bytes.copy_from_slice(&Uuid::new_v4().as_bytes()[6..]);
    // The builder keeps the low 4 bits of the first byte and all of the second.
    bytes[0] = (fraction >> 8) as u8;
    bytes[1] = (fraction & 0xff) as u8;
    let millis = unix_millis(at).min(MAX_MILLIS);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// Milliseconds since the Unix epoch (before it: 0).
fn unix_millis(at: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}
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
    fn audit_ids_carry_their_millisecond_and_time_bounds_enclose_it() {
        use chrono::{TimeZone, Utc};
        let at = Utc.timestamp_opt(1_764_000_000, 123_456_789).unwrap();
        let id = AuditId::at(at);
        assert_eq!(id.as_uuid().get_version_num(), 7);
        let (secs, nanos) = id.as_uuid().get_timestamp().unwrap().to_unix();
        assert_eq!((secs, nanos), (1_764_000_000, 123_000_000));
        assert!(AuditId::lowest_at(at) <= id && id < AuditId::above(at));
        let a_microsecond_later = AuditId::at(at + chrono::TimeDelta::microseconds(1));
        assert!(
            id < a_microsecond_later,
            "the fraction of the millisecond orders them"
        );
        let same: Vec<_> = (0..50).map(|_| AuditId::at(at)).collect();
        assert!(
            same.windows(2).all(|w| w[0] < w[1]),
            "one instant keeps its order"
        );
        assert!(same.iter().all(|id| id.as_uuid().get_version_num() == 7));
        assert!(
            same.iter()
                .all(|id| id.as_uuid().get_variant() == uuid::Variant::RFC4122)
        );
        let next_ms = at + chrono::TimeDelta::microseconds(877);
        assert!(
            AuditId::above(at) <= AuditId::at(next_ms),
            "the next millisecond"
        );
        let earlier = at - chrono::TimeDelta::milliseconds(1);
        assert!(AuditId::at(earlier) < AuditId::lowest_at(at));
        let before_epoch = Utc.timestamp_opt(-5, 0).unwrap();
        assert!(AuditId::lowest_at(before_epoch) <= AuditId::at(at));
        let far = Utc.with_ymd_and_hms(20_000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(AuditId::lowest_at(far).as_uuid(), Uuid::max());
        assert_eq!(
            AuditId::above(chrono::DateTime::<Utc>::MAX_UTC).as_uuid(),
            Uuid::max()
        );
    }

    #[test]
    fn user_ids_reject_empty_long_and_control_characters() {
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a".repeat(256)).is_err());
        assert!(UserId::parse("bad\nid").is_err());
        assert_eq!(UserId::parse("user-42").unwrap().as_str(), "user-42");
    }
}
