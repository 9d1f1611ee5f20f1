//! What the broker reports as it works (for metrics): refreshes and token reads by provider
//! and outcome, how late the refresh scheduler found the most overdue integration, and
//! whether its loop runs.

use std::time::Duration;

use tether_core::ProviderKind;

pub trait BrokerObserver: Send + Sync {
    /// `outcome`: `refreshed`, `reauth_required`, `transient_failure` or `error`.
    fn refresh(&self, provider: ProviderKind, outcome: &'static str);
    /// `outcome`: `ok`, `reauth_required` or `error`.
    fn token_read(&self, provider: ProviderKind, outcome: &'static str);
    /// After a scheduler claim: how overdue the most overdue claimed integration was.
    fn scheduler_lag(&self, lag: Duration);
    /// Whether the scheduler's loop is running (false between a crash and its restart).
    fn scheduler_running(&self, running: bool);
    /// The scheduler's loop died (panic or stop) and is being restarted.
    fn scheduler_restarted(&self);
}
