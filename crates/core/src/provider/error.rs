//! What can go wrong talking to a provider, in the classes the token lifecycle acts on.

use std::time::Duration;

use thiserror::Error;

/// A provider failure. Messages are the provider's own words (for the operator) and never
/// carry a token, code or secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProviderError {
    /// The grant is gone (`invalid_grant`: revoked, expired, consent withdrawn, reused refresh
    /// token). Permanent: the user must reconnect; retrying cannot help.
    #[error("the provider rejected the grant: {message}")]
    InvalidGrant { message: String },
    /// The provider says the token or consent was revoked.
    #[error("access was revoked at the provider: {message}")]
    Revoked { message: String },
    /// 429 or a quota answer; retry after the given time when known.
    #[error("rate limited by the provider{}: {message}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// A 5xx or an unexpected answer from the provider. Transient.
    #[error("the provider failed{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Upstream {
        status: Option<u16>,
        retry_after: Option<Duration>,
        message: String,
    },
    /// The provider could not be reached (DNS, connect, timeout). Transient.
    #[error("could not reach the provider: {message}")]
    Network { message: String },
    /// The caller's request is invalid (a malformed phone number, an empty message, a date
    /// range that ends before it starts): fix the request; retrying it as is cannot help.
    #[error("invalid request: {message}")]
    InvalidRequest { message: String },
    /// Our side is wrong (`invalid_client`, `unauthorized_client`, bad redirect URI, missing
    /// credentials): an operator must fix the configuration; retrying cannot help.
    #[error("the provider configuration is wrong: {message}")]
    Misconfigured { message: String },
}

impl ProviderError {
    /// Permanent for this grant: the integration needs the user to reconnect.
    pub fn needs_reauth(&self) -> bool {
        matches!(
            self,
            ProviderError::InvalidGrant { .. } | ProviderError::Revoked { .. }
        )
    }

    /// Worth retrying later with backoff.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Upstream { .. }
                | ProviderError::Network { .. }
        )
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. }
            | ProviderError::Upstream { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A failed answer classified by its status alone: 429 is `RateLimited`, anything else
    /// `Upstream` (transient for 5xx). Providers match the statuses they know more about
    /// first and fall back to this.
    pub fn by_status(status: u16, retry_after: Option<Duration>, message: String) -> Self {
        match status {
            429 => ProviderError::RateLimited {
                retry_after,
                message,
            },
            s => ProviderError::Upstream {
                status: Some(s),
                retry_after,
                message,
            },
        }
    }

    /// The RFC 6749 §5.2 classification of a token-endpoint error, with the HTTP status and
    /// `Retry-After` of the answer. Providers with their own error shapes map those first and
    /// fall back to this.
    pub fn from_oauth_error(
        status: u16,
        retry_after: Option<Duration>,
        error: Option<&str>,
        description: Option<&str>,
    ) -> Self {
        let message = match (error, description) {
            (Some(e), Some(d)) => format!("{e}: {d}"),
            (Some(e), None) => e.to_owned(),
            (None, Some(d)) => d.to_owned(),
            (None, None) => format!("HTTP {status}"),
        };
        let message: String = message.chars().take(500).collect();
        match (status, error) {
            (429, _) | (_, Some("slow_down")) => ProviderError::RateLimited {
                retry_after,
                message,
            },
            (s, _) if s >= 500 => ProviderError::Upstream {
                status: Some(s),
                retry_after,
                message,
            },
            (_, Some("temporarily_unavailable")) => ProviderError::Upstream {
                status: Some(status),
                retry_after,
                message,
            },
            (_, Some("invalid_grant")) => ProviderError::InvalidGrant { message },
            (
                _,
                Some(
                    "invalid_client"
                    | "unauthorized_client"
                    | "unsupported_grant_type"
                    | "invalid_scope"
                    | "invalid_request",
                ),
            ) => ProviderError::Misconfigured { message },
            (401 | 403, _) => ProviderError::Misconfigured { message },
            (s, _) => ProviderError::Upstream {
                status: Some(s),
                retry_after,
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_errors_fall_into_the_classes_the_lifecycle_acts_on() {
        let e =
            |status, code: Option<&str>| ProviderError::from_oauth_error(status, None, code, None);
        assert!(e(400, Some("invalid_grant")).needs_reauth());
        assert!(!e(400, Some("invalid_grant")).is_transient());
        assert!(e(503, None).is_transient());
        assert!(e(500, Some("server_error")).is_transient());
        assert!(e(400, Some("temporarily_unavailable")).is_transient());
        assert!(matches!(e(429, None), ProviderError::RateLimited { .. }));
        assert!(matches!(
            e(401, Some("invalid_client")),
            ProviderError::Misconfigured { .. }
        ));
        assert!(!e(401, Some("invalid_client")).is_transient());
    }

    #[test]
    fn retry_after_is_kept_for_rate_limits_and_outages() {
        let wait = Some(Duration::from_secs(30));
        let limited = ProviderError::from_oauth_error(429, wait, None, None);
        assert_eq!(limited.retry_after(), wait);
        assert!(limited.to_string().contains("retry after 30s"));
        let down = ProviderError::from_oauth_error(503, wait, None, None);
        assert_eq!(down.retry_after(), wait);
    }
}
