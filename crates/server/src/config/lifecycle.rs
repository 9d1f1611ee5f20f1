//! The token-lifecycle settings: when tokens are refreshed (buffer, lifetime fraction,
//! keep-alive) and how the refresh scheduler runs (interval, batch, concurrency, per-provider
//! caps, claim lease), how long status-change events are kept, and the consent policy
//! (version, validity), validated with messages that name the setting.

use std::collections::BTreeMap;
use std::time::Duration;

use tether_core::ProviderKind;

use super::error::{ConfigError, ConfigResult};
use super::layers::{Origins, RawConfig};

#[derive(Debug, Clone)]
pub struct LifecycleSettings {
    pub refresh_buffer: Duration,
    pub refresh_buffer_fraction: f64,
    /// `None`: refresh tokens are refreshed only before access-token expiry.
    pub refresh_keepalive: Option<Duration>,
    pub scheduler_enabled: bool,
    pub scheduler_interval: Duration,
    pub scheduler_batch: u64,
    pub scheduler_concurrency: usize,
    pub scheduler_provider_concurrency: usize,
    pub scheduler_provider_caps: BTreeMap<ProviderKind, usize>,
    pub scheduler_lease: Duration,
    /// How long events stay in the outbox (the feed's and redelivery's horizon).
    pub events_retention: Duration,
    /// How often a replica checks the stored provider configuration for another replica's
    /// change (the bound on how long a change takes to apply everywhere).
    pub provider_sync: Duration,
    pub consent_version: String,
    /// `None`: consents do not expire.
    pub consent_validity: Option<Duration>,
    pub consent_validity_by_provider: BTreeMap<ProviderKind, Duration>,
    /// How long a hosted connect link stays usable.
    pub connect_session_ttl: Duration,
}

/// The raw values, moved out of the raw configuration before the rest is validated.
pub(super) struct LifecycleRaw {
    refresh_buffer_secs: Option<u64>,
    refresh_buffer_fraction: Option<f64>,
    refresh_keepalive_days: Option<u64>,
    scheduler_enabled: Option<bool>,
    scheduler_interval_secs: Option<u64>,
    scheduler_batch: Option<u64>,
    scheduler_concurrency: Option<u64>,
    scheduler_provider_concurrency: Option<u64>,
    scheduler_provider_caps: Option<String>,
    scheduler_lease_secs: Option<u64>,
    events_retention_days: Option<u64>,
    provider_sync_secs: Option<u64>,
    consent_version: Option<String>,
    consent_valid_days: Option<u64>,
    consent_valid_days_by_provider: Option<String>,
    connect_session_ttl_secs: Option<u64>,
}

impl LifecycleRaw {
    pub(super) fn take(raw: &mut RawConfig) -> Self {
        Self {
            refresh_buffer_secs: raw.refresh_buffer_secs.take(),
            refresh_buffer_fraction: raw.refresh_buffer_fraction.take(),
            refresh_keepalive_days: raw.refresh_keepalive_days.take(),
            scheduler_enabled: raw.scheduler_enabled.take(),
            scheduler_interval_secs: raw.scheduler_interval_secs.take(),
            scheduler_batch: raw.scheduler_batch.take(),
            scheduler_concurrency: raw.scheduler_concurrency.take(),
            scheduler_provider_concurrency: raw.scheduler_provider_concurrency.take(),
            scheduler_provider_caps: raw.scheduler_provider_caps.take(),
            scheduler_lease_secs: raw.scheduler_lease_secs.take(),
            events_retention_days: raw.events_retention_days.take(),
            provider_sync_secs: raw.provider_sync_secs.take(),
            consent_version: raw.consent_version.take(),
            consent_valid_days: raw.consent_valid_days.take(),
            consent_valid_days_by_provider: raw.consent_valid_days_by_provider.take(),
            connect_session_ttl_secs: raw.connect_session_ttl_secs.take(),
        }
    }
}

pub(super) fn validate(raw: LifecycleRaw, origins: &Origins) -> ConfigResult<LifecycleSettings> {
    let invalid = |key: &str, reason: &str| ConfigError::InvalidValue {
        key: key.to_owned(),
        origin: origins.of(key),
        reason: reason.to_owned(),
    };
    let within = |key: &str, value: Option<u64>, default: u64, min: u64, max: u64| match value {
        Some(v) if v < min || v > max => {
            Err(invalid(key, &format!("must be between {min} and {max}")))
        }
        v => Ok(v.unwrap_or(default)),
    };
    let fraction = match raw.refresh_buffer_fraction {
        Some(f) if !(f > 0.0 && f < 1.0) => {
            return Err(invalid(
                "refresh_buffer_fraction",
                "must be greater than 0 and less than 1 (e.g. 0.25)",
            ));
        }
        f => f.unwrap_or(0.25),
    };
    let keepalive = within(
        "refresh_keepalive_days",
        raw.refresh_keepalive_days,
        14,
        0,
        365,
    )?;
    let count = |key: &str, value: Option<u64>, default: u64| -> ConfigResult<usize> {
        let v = within(key, value, default, 1, 10_000)?;
        usize::try_from(v).map_err(|_| invalid(key, "is too large"))
    };
    Ok(LifecycleSettings {
        refresh_buffer: Duration::from_secs(within(
            "refresh_buffer_secs",
            raw.refresh_buffer_secs,
            300,
            0,
            86_400,
        )?),
        refresh_buffer_fraction: fraction,
        refresh_keepalive: (keepalive > 0).then(|| Duration::from_secs(keepalive * 86_400)),
        scheduler_enabled: raw.scheduler_enabled.unwrap_or(true),
        scheduler_interval: Duration::from_secs(within(
            "scheduler_interval_secs",
            raw.scheduler_interval_secs,
            10,
            1,
            3600,
        )?),
        scheduler_batch: within("scheduler_batch", raw.scheduler_batch, 200, 1, 10_000)?,
        scheduler_concurrency: count("scheduler_concurrency", raw.scheduler_concurrency, 128)?,
        scheduler_provider_concurrency: count(
            "scheduler_provider_concurrency",
            raw.scheduler_provider_concurrency,
            64,
        )?,
        scheduler_provider_caps: per_provider(raw.scheduler_provider_caps.as_deref(), "google=16")
            .map_err(|reason| invalid("scheduler_provider_caps", &reason))?,
        scheduler_lease: Duration::from_secs(within(
            "scheduler_lease_secs",
            raw.scheduler_lease_secs,
            120,
            10,
            3600,
        )?),
        events_retention: Duration::from_secs(
            within(
                "events_retention_days",
                raw.events_retention_days,
                30,
                1,
                3650,
            )? * 86_400,
        ),
        connect_session_ttl: Duration::from_secs(within(
            "connect_session_ttl_secs",
            raw.connect_session_ttl_secs,
            600,
            60,
            3600,
        )?),
        provider_sync: Duration::from_secs(within(
            "provider_sync_secs",
            raw.provider_sync_secs,
            10,
            1,
            3600,
        )?),
        consent_version: match raw.consent_version.map(|v| v.trim().to_owned()) {
            None => "1".to_owned(),
            Some(v) if v.is_empty() || v.len() > 64 => {
                return Err(invalid(
                    "consent_version",
                    "must be 1 to 64 characters (e.g. 2026-12)",
                ));
            }
            Some(v) => v,
        },
        consent_validity: match within("consent_valid_days", raw.consent_valid_days, 0, 0, 36_500)?
        {
            0 => None,
            days => Some(Duration::from_secs(days * 86_400)),
        },
        consent_validity_by_provider: per_provider(
            raw.consent_valid_days_by_provider.as_deref(),
            "openemr=365",
        )
        .map_err(|reason| invalid("consent_valid_days_by_provider", &reason))?
        .into_iter()
        .map(|(provider, days)| (provider, Duration::from_secs(days as u64 * 86_400)))
        .collect(),
    })
}

/// `google=16,dexcom=4`: a whole number (at least 1) per provider; `example` shows the form.
fn per_provider(
    text: Option<&str>,
    example: &str,
) -> Result<BTreeMap<ProviderKind, usize>, String> {
    let mut caps = BTreeMap::new();
    for item in text
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (name, cap) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}`: expected PROVIDER=N, e.g. {example}"))?;
        let provider = name
            .trim()
            .parse::<ProviderKind>()
            .map_err(|e| format!("`{item}`: {e}"))?;
        let cap = cap
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|c| *c >= 1)
            .ok_or_else(|| format!("`{item}`: N must be a whole number of at least 1"))?;
        caps.insert(provider, cap);
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_provider_numbers_parse_and_refuse_nonsense() {
        let caps = per_provider(Some("google=16, dexcom=4"), "google=16").unwrap();
        assert_eq!(caps.get(&ProviderKind::Google), Some(&16));
        assert_eq!(caps.get(&ProviderKind::Dexcom), Some(&4));
        assert!(per_provider(None, "google=16").unwrap().is_empty());
        for bad in ["google", "nope=3", "google=0", "google=x"] {
            assert!(per_provider(Some(bad), "google=16").is_err(), "{bad}");
        }
    }
}
