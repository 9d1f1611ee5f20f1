//! What the broker reports as it works (for metrics): refreshes and token reads by provider
//! and outcome, and how late the refresh scheduler found the most overdue integration.

use std::time::Duration;

use tether_core::ProviderKind;

pub trait BrokerObserver: Send + Sync {
    /// `outcome`: `refreshed`, `reauth_required`, `transient_failure` or `error`.
    fn refresh(&self, provider: ProviderKind, outcome: &'static str);
    /// `outcome`: `ok`, `reauth_required` or `error`.
    fn token_read(&self, provider: ProviderKind, outcome: &'static str);
    /// After a scheduler pass: how overdue the most overdue integration was.
    fn scheduler_lag(&self, lag: Duration);
}
