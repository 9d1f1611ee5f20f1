//! What the webhook worker reports as it works (for metrics).

use std::time::Duration;

pub trait WebhookObserver: Send + Sync {
    /// After an attempt: `delivered`, `retry` (failed, will be tried again) or `failed` (the
    /// retry schedule is exhausted).
    fn attempt(&self, outcome: &'static str);
    /// A delivery succeeded this long after its event occurred.
    fn delivered_after(&self, delay: Duration);
    /// An endpoint was disabled because its deliveries kept failing.
    fn endpoint_disabled(&self);
    /// Whether the delivery worker runs in this replica (false between a crash and its restart).
    fn worker_running(&self, running: bool);
    /// The worker's loop died (panic or stop) and is being restarted.
    fn worker_restarted(&self);
}
