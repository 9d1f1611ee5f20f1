//! Token sets as the domain sees them (plaintext secrets; storage encrypts them).

use chrono::{DateTime, Duration, Utc};

use crate::ids::{IntegrationId, TokenId};
use crate::integration::Integration;
use crate::provider::ProviderKind;
use crate::scope::ScopeSet;
use crate::secret::{AccessToken, OpaqueSecret, RefreshToken};

/// What a provider gave us.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSet {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    /// Usually `Bearer`.
    pub token_type: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// The scopes the provider says it granted, when it says.
    pub scope: Option<ScopeSet>,
    /// Launch context that came with the grant (OpenEMR's `patient`, `fhirUser`), as JSON
    /// text: health data, so a secret, stored encrypted.
    pub launch_context: Option<OpaqueSecret>,
}

impl TokenSet {
    /// Whether the access token is still good `buffer` from `now`. A token without a known
    /// expiry is treated as valid (the provider will say otherwise with a 401).
    pub fn is_fresh_at(&self, now: DateTime<Utc>, buffer: Duration) -> bool {
        fresh_at(self.expires_at, now, buffer)
    }
}

fn fresh_at(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>, buffer: Duration) -> bool {
    match expires_at {
        Some(expires_at) => expires_at - buffer > now,
        None => true,
    }
}

/// When a token is refreshed: `buffer` before it expires, but never more than `fraction` of
/// the lifetime the provider granted, so a token of any lifetime is refreshed about once per
/// lifetime and a just-issued token is always handed out (a 60-second token with a 5-minute
/// buffer would otherwise be "due" from the moment it is stored).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshTiming {
    pub buffer: Duration,
    /// In `(0, 1)`; the share of the lifetime left when the token is refreshed, at most.
    pub fraction: f64,
}

impl Default for RefreshTiming {
    fn default() -> Self {
        Self {
            buffer: Duration::minutes(5),
            fraction: 0.25,
        }
    }
}

impl RefreshTiming {
    /// The effective buffer for a token issued at `issued_at` that expires at `expires_at`.
    pub fn buffer_for(&self, issued_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> Duration {
        let lifetime = (expires_at - issued_at).max(Duration::zero());
        // Milliseconds fit an f64 exactly for any realistic lifetime.
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let share = Duration::milliseconds(
            (lifetime.num_milliseconds() as f64 * self.fraction.clamp(0.0, 1.0)) as i64,
        );
        self.buffer.min(share)
    }

    /// When the token should be refreshed; `None` when it has no known expiry.
    pub fn refresh_point(
        &self,
        issued_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        expires_at.map(|at| at - self.buffer_for(issued_at, at))
    }

    /// Whether a token issued at `issued_at` is still good to hand out at `now` without a
    /// refresh. A token without a known expiry is treated as fresh (the provider will say
    /// otherwise with a 401).
    pub fn is_fresh(
        &self,
        issued_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        self.refresh_point(issued_at, expires_at)
            .is_none_or(|at| now < at)
    }
}

/// Who a token row belongs to: a user's integration, or an app-level (client-credentials)
/// token of a provider configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenOwner {
    Integration(IntegrationId),
    /// `key` distinguishes several app tokens of one provider (e.g. per client id or scope).
    App {
        provider: ProviderKind,
        key: String,
    },
}

/// A token row as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTokens {
    pub id: TokenId,
    pub owner: TokenOwner,
    pub tokens: TokenSet,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// The access half of an integration's token row, for the read hot path: only the access
/// token is decrypted (the refresh token and launch context stay sealed).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAccess {
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// The scopes the provider said it granted with this token, when it said.
    pub scope: Option<ScopeSet>,
    pub version: i64,
    /// When the row was written: the token's issue time, for [`RefreshTiming`].
    pub issued_at: DateTime<Utc>,
}

/// What a token read loads in one query: the integration and, when it has a token row, the
/// access half of it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRead {
    pub integration: Integration,
    pub access: Option<StoredAccess>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_expiring_in(minutes: i64, now: DateTime<Utc>) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new("a"),
            refresh_token: None,
            token_type: "Bearer".into(),
            expires_at: Some(now + Duration::minutes(minutes)),
            refresh_expires_at: None,
            scope: None,
            launch_context: None,
        }
    }

    #[test]
    fn freshness_honours_the_buffer() {
        let now = Utc::now();
        let buffer = Duration::minutes(5);
        assert!(token_expiring_in(6, now).is_fresh_at(now, buffer));
        assert!(!token_expiring_in(5, now).is_fresh_at(now, buffer));
        assert!(!token_expiring_in(-1, now).is_fresh_at(now, buffer));
        let mut no_expiry = token_expiring_in(0, now);
        no_expiry.expires_at = None;
        assert!(no_expiry.is_fresh_at(now, buffer));
    }

    #[test]
    fn short_lived_tokens_get_a_buffer_bounded_by_their_lifetime() {
        let timing = RefreshTiming::default();
        let now = Utc::now();
        // A 60-second token: refreshed 15 s before expiry, fresh when just issued.
        let short = now + Duration::seconds(60);
        assert_eq!(timing.buffer_for(now, short), Duration::seconds(15));
        assert!(timing.is_fresh(now, Some(short), now));
        assert!(timing.is_fresh(now, Some(short), now + Duration::seconds(44)));
        assert!(!timing.is_fresh(now, Some(short), now + Duration::seconds(45)));
        // An hour-long token: the full 5-minute buffer.
        let hour = now + Duration::hours(1);
        assert_eq!(
            timing.refresh_point(now, Some(hour)),
            Some(hour - Duration::minutes(5))
        );
        // No expiry: always fresh, never due.
        assert!(timing.is_fresh(now, None, now + Duration::days(400)));
        assert_eq!(timing.refresh_point(now, None), None);
        // Already expired when stored: due at once, never a negative buffer.
        let past = now - Duration::seconds(1);
        assert_eq!(timing.buffer_for(now, past), Duration::zero());
        assert!(!timing.is_fresh(now, Some(past), now));
    }
}
