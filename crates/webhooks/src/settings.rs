//! How webhooks are delivered: concurrency, polling, lease, timeouts, destination checks,
//! secret rotation grace and automatic disabling.

use std::time::Duration;

use crate::destination::DestinationPolicy;
use crate::schedule::RetrySchedule;

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Deliveries in flight at once per replica.
    pub concurrency: usize,
    /// How often an idle worker looks for due deliveries (plus up to a tenth at random).
    pub poll_interval: Duration,
    /// How long a claim holds; a replica that dies mid-delivery loses its claims after this.
    pub lease: Duration,
    pub connect_timeout: Duration,
    /// The whole attempt, from connecting to the end of the answer.
    pub timeout: Duration,
    pub destinations: DestinationPolicy,
    /// How long a rotated-out secret keeps signing beside the new one.
    pub secret_grace: Duration,
    /// An endpoint whose every delivery has failed for longer than this is disabled.
    pub disable_after: Duration,
    pub retry: RetrySchedule,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            concurrency: 32,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            destinations: DestinationPolicy::default(),
            secret_grace: Duration::from_secs(24 * 3600),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            retry: RetrySchedule::default(),
        }
    }
}
