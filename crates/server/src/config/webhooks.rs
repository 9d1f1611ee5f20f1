//! The webhook settings: whether this replica runs the delivery worker and how (concurrency,
//! polling, lease, timeouts), which destinations are allowed, the secret rotation grace and
//! when a failing endpoint is disabled, validated with messages that name the setting.

use std::time::Duration;

use tether_webhooks::WebhookSettings;
use tether_webhooks::destination::DestinationPolicy;

use super::error::{ConfigError, ConfigResult};
use super::layers::{Origins, RawConfig};

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Run the delivery worker in this replica.
    pub worker_enabled: bool,
    pub settings: WebhookSettings,
}

/// The raw values, moved out of the raw configuration before the rest is validated.
pub(super) struct WebhooksRaw {
    enabled: Option<bool>,
    concurrency: Option<u64>,
    poll_interval_ms: Option<u64>,
    lease_secs: Option<u64>,
    connect_timeout_secs: Option<u64>,
    timeout_secs: Option<u64>,
    allow_http: Option<bool>,
    allow_private: Option<bool>,
    secret_grace_hours: Option<u64>,
    disable_after_days: Option<u64>,
}

impl WebhooksRaw {
    pub(super) fn take(raw: &mut RawConfig) -> Self {
        Self {
            enabled: raw.webhooks_enabled.take(),
            concurrency: raw.webhooks_concurrency.take(),
            poll_interval_ms: raw.webhooks_poll_interval_ms.take(),
            lease_secs: raw.webhooks_lease_secs.take(),
            connect_timeout_secs: raw.webhooks_connect_timeout_secs.take(),
            timeout_secs: raw.webhooks_timeout_secs.take(),
            allow_http: raw.webhooks_allow_http.take(),
            allow_private: raw.webhooks_allow_private.take(),
            secret_grace_hours: raw.webhooks_secret_grace_hours.take(),
            disable_after_days: raw.webhooks_disable_after_days.take(),
        }
    }
}

pub(super) fn validate(raw: WebhooksRaw, origins: &Origins) -> ConfigResult<WebhookConfig> {
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
    let defaults = WebhookSettings::default();
    let timeout = within("webhooks_timeout_secs", raw.timeout_secs, 15, 1, 300)?;
    let lease = within("webhooks_lease_secs", raw.lease_secs, 60, 10, 3600)?;
    if lease <= timeout {
        return Err(invalid(
            "webhooks_lease_secs",
            &format!(
                "must be longer than webhooks_timeout_secs ({timeout}), or a slow delivery's \
                 claim lapses while it is still being attempted and another replica sends it too"
            ),
        ));
    }
    let concurrency = within("webhooks_concurrency", raw.concurrency, 32, 1, 1000)?;
    Ok(WebhookConfig {
        worker_enabled: raw.enabled.unwrap_or(true),
        settings: WebhookSettings {
            concurrency: usize::try_from(concurrency)
                .map_err(|_| invalid("webhooks_concurrency", "is too large"))?,
            poll_interval: Duration::from_millis(within(
                "webhooks_poll_interval_ms",
                raw.poll_interval_ms,
                1000,
                50,
                60_000,
            )?),
            lease: Duration::from_secs(lease),
            connect_timeout: Duration::from_secs(within(
                "webhooks_connect_timeout_secs",
                raw.connect_timeout_secs,
                5,
                1,
                60,
            )?),
            timeout: Duration::from_secs(timeout),
            destinations: DestinationPolicy {
                allow_http: raw.allow_http.unwrap_or(false),
                allow_private: raw.allow_private.unwrap_or(false),
            },
            secret_grace: Duration::from_secs(
                within(
                    "webhooks_secret_grace_hours",
                    raw.secret_grace_hours,
                    24,
                    0,
                    720,
                )? * 3600,
            ),
            disable_after: Duration::from_secs(
                within(
                    "webhooks_disable_after_days",
                    raw.disable_after_days,
                    5,
                    1,
                    90,
                )? * 86_400,
            ),
            retry: defaults.retry,
        },
    })
}
