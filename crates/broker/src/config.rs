//! Broker settings: public URLs, the `return_to` allowlist, timings and retry policy.

use std::time::Duration;

use tether_core::token::RefreshTiming;
use url::Url;

use crate::audit_sink::AuditSinkConfig;
use crate::error::BrokerError;

/// Where the browser may be sent back to after a connect flow. An entry matches a
/// `return_to` with the same scheme, host and port whose path starts with the entry's path.
#[derive(Debug, Clone, Default)]
pub struct ReturnToAllowlist(Vec<Url>);

impl ReturnToAllowlist {
    pub fn new(entries: &[&str]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let url = Url::parse(e).map_err(|err| format!("`{e}` is not a URL: {err}"))?;
                if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
                    return Err(format!("`{e}` must be an absolute http(s) URL"));
                }
                Ok(url)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Parses `return_to` and checks it against the list; refuses anything else (no open
    /// redirect).
    pub fn check(&self, return_to: &str) -> Result<Url, BrokerError> {
        let refused = || BrokerError::InvalidReturnTo;
        if return_to.len() > 2048 {
            return Err(refused());
        }
        let url = Url::parse(return_to).map_err(|_| refused())?;
        if url.username() != "" || url.password().is_some() {
            return Err(refused());
        }
        let allowed = self.0.iter().any(|entry| {
            entry.scheme() == url.scheme()
                && entry.host_str() == url.host_str()
                && entry.port_or_known_default() == url.port_or_known_default()
                && tether_core::paths::path_within(url.path(), entry.path())
        });
        if allowed { Ok(url) } else { Err(refused()) }
    }

    /// Checks a browser origin (`https://app.example.com`, no path) against the origins of
    /// the list's entries: the windows allowed to receive a hosted connect page's outcome.
    /// Answers the origin in its canonical form, exactly what `postMessage` compares.
    pub fn check_origin(&self, origin: &str) -> Result<String, BrokerError> {
        let refused = || BrokerError::InvalidOpenerOrigin;
        if origin.len() > 255 {
            return Err(refused());
        }
        let url = Url::parse(origin).map_err(|_| refused())?;
        let bare = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none()
            && !origin.trim_end_matches('/').ends_with(':');
        if !bare || !matches!(url.scheme(), "https" | "http") {
            return Err(refused());
        }
        let canonical = url.origin().ascii_serialization();
        if self
            .0
            .iter()
            .any(|entry| entry.origin().ascii_serialization() == canonical)
        {
            Ok(canonical)
        } else {
            Err(refused())
        }
    }
}

/// How transient provider failures are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per operation, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Tether's public base URL (`https://tether.example.com`); start and callback URLs are
    /// built on it.
    pub public_base_url: Url,
    pub return_to: ReturnToAllowlist,
    /// How long a pending authorization stays valid.
    pub flow_ttl: Duration,
    /// When a token is refreshed: a buffer before expiry, bounded by a fraction of the
    /// token's lifetime.
    pub refresh_timing: RefreshTiming,
    /// App (client-credentials) tokens are renewed when they expire within this buffer.
    pub app_token_buffer: Duration,
    /// Whether one upstream account may be linked by two different users.
    pub allow_shared_accounts: bool,
    /// Recorded with each consent: the version of the consent text the user agreed to.
    pub consent_version: String,
    /// How long a consent is valid (its `expires_at`); `None`: until revoked.
    pub consent_validity: Option<Duration>,
    /// Per-provider validity, overriding `consent_validity` (e.g. a clinic's OpenEMR policy).
    pub consent_validity_by_provider:
        std::collections::BTreeMap<tether_core::ProviderKind, Duration>,
    /// Timeout of one provider HTTP call.
    pub provider_timeout: Duration,
    /// Lease of the cross-process refresh lock, renewed every third of it while a refresh
    /// runs; a replica that dies mid-refresh frees the lock after this long.
    pub lock_ttl: Duration,
    /// Retries within one refresh (a reader waits for them).
    pub retry: RetryPolicy,
    /// When the scheduler tries again after a refresh failed for good this time: exponential
    /// in the integration's consecutive failures, with jitter, capped.
    pub failure_backoff: RetryPolicy,
    /// Consecutive failed refreshes before an integration is marked `degraded`.
    pub degraded_after_failures: i32,
    /// The longest a refresh token goes unused: the scheduler refreshes at least this often,
    /// so providers that expire idle refresh tokens (Microsoft after 90 days of inactivity,
    /// OpenEMR's 3-month tokens) never see one idle. `None`: only before access-token expiry.
    pub refresh_keepalive: Option<Duration>,
    /// Batching of token-read audit records.
    pub audit_sink: AuditSinkConfig,
    /// How often `last_used_at` of read integrations is written.
    pub usage_flush_every: Duration,
    /// How long a valid access read may be served from memory, and how many are kept. With
    /// an invalidation bus (`Broker::keep_cache_coherent`) entries live until the refresh
    /// point; without one another replica's change is seen after at most `short_life`.
    pub read_cache: crate::read_cache::ReadCacheConfig,
}

impl BrokerConfig {
    /// When a consent given at `granted_at` to `provider` expires, if ever.
    pub fn consent_expires_at(
        &self,
        provider: tether_core::ProviderKind,
        granted_at: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let validity = self
            .consent_validity_by_provider
            .get(&provider)
            .copied()
            .or(self.consent_validity)?;
        chrono::Duration::from_std(validity)
            .ok()
            .map(|v| granted_at + v)
    }

    pub fn new(public_base_url: Url, return_to: ReturnToAllowlist) -> Self {
        Self {
            public_base_url,
            return_to,
            flow_ttl: Duration::from_secs(600),
            refresh_timing: RefreshTiming::default(),
            app_token_buffer: Duration::from_secs(60),
            allow_shared_accounts: false,
            consent_version: "1".to_owned(),
            consent_validity: None,
            consent_validity_by_provider: std::collections::BTreeMap::new(),
            provider_timeout: Duration::from_secs(10),
            lock_ttl: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            failure_backoff: RetryPolicy {
                max_attempts: u32::MAX,
                base_delay: Duration::from_secs(30),
                max_delay: Duration::from_secs(3600),
            },
            degraded_after_failures: 3,
            refresh_keepalive: Some(Duration::from_secs(14 * 24 * 3600)),
            audit_sink: AuditSinkConfig::default(),
            usage_flush_every: Duration::from_secs(5),
            read_cache: crate::read_cache::ReadCacheConfig::default(),
        }
    }

    /// `{base}/connect/{leaf}`: the hosted connect page.
    pub(crate) fn connect_url(&self, leaf: &str) -> Result<Url, BrokerError> {
        let base = self.public_base_url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/connect{leaf}"))
            .map_err(|e| BrokerError::Internal(format!("bad public base URL: {e}")))
    }

    /// `{base}/api/v1/oauth/{provider}/{leaf}`: one path per provider (the mix-up defence).
    pub(crate) fn oauth_url(&self, provider: &str, leaf: &str) -> Result<Url, BrokerError> {
        let base = self.public_base_url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/api/v1/oauth/{provider}/{leaf}"))
            .map_err(|e| BrokerError::Internal(format!("bad public base URL: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opener_origin_must_be_the_origin_of_an_allowlisted_entry() {
        let list = ReturnToAllowlist::new(&["https://app.example.com/settings"]).unwrap();
        assert_eq!(
            list.check_origin("https://app.example.com").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            list.check_origin("https://APP.example.com:443/").unwrap(),
            "https://app.example.com"
        );
        for bad in [
            "https://app.example.com/settings",
            "https://app.example.com?x",
            "http://app.example.com",
            "https://app.example.com:8443",
            "https://evil.example.com",
            "https://user@app.example.com",
            "null",
            "*",
        ] {
            assert!(list.check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn return_to_must_match_an_allowlisted_origin_and_path() {
        let list = ReturnToAllowlist::new(&["https://app.example.com/settings"]).unwrap();
        assert!(
            list.check("https://app.example.com/settings/integrations?x=1")
                .is_ok()
        );
        for bad in [
            "https://evil.example.com/settings",
            "https://app.example.com.evil.com/settings",
            "http://app.example.com/settings",
            "https://app.example.com:8443/settings",
            "https://app.example.com/other",
            "https://app.example.com/settings-evil",
            "https://app.example.com/settingsx/integrations",
            "https://user@app.example.com/settings",
            "javascript:alert(1)",
            "//evil.com/settings",
            "/settings",
            "",
        ] {
            assert!(list.check(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn allowlist_entries_must_be_absolute_http_urls() {
        assert!(ReturnToAllowlist::new(&["not a url"]).is_err());
        assert!(ReturnToAllowlist::new(&["ftp://x.example.com/"]).is_err());
    }
}
