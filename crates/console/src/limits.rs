//! Sign-in rate limits (governor): attempts per client address and per account name, so
//! neither one address guessing many accounts nor many addresses guessing one account gets
//! far. Keys are hashes: no username is held in memory longer than the request.

use std::hash::Hasher;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Sign-in attempts allowed per minute (each also the burst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    pub per_address_per_minute: u32,
    pub per_account_per_minute: u32,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_address_per_minute: 20,
            per_account_per_minute: 5,
        }
    }
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(n)
}

fn key_hash(text: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(text.as_bytes());
    hasher.finish()
}

pub(crate) struct Limiters {
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    accounts: DefaultKeyedRateLimiter<u64>,
}

impl Limiters {
    pub(crate) fn new(limits: &SignInLimits) -> Self {
        Self {
            addresses: RateLimiter::keyed(quota(limits.per_address_per_minute)),
            accounts: RateLimiter::keyed(quota(limits.per_account_per_minute)),
        }
    }

    /// Spends one attempt of the address and one of the account; `Err(wait)` when either is
    /// used up. Idle state is pruned as it goes, so memory follows recent attempts.
    pub(crate) fn check(&self, ip: IpAddr, account: &str) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        self.addresses.retain_recent();
        self.accounts.retain_recent();
        self.addresses
            .check_key(&ip)
            .map_err(|n| n.wait_time_from(now))?;
        self.accounts
            .check_key(&key_hash(&account.trim().to_ascii_lowercase()))
            .map_err(|n| n.wait_time_from(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_across_addresses_and_an_address_across_accounts() {
        let limiters = Limiters::new(&SignInLimits {
            per_address_per_minute: 3,
            per_account_per_minute: 2,
        });
        let a = IpAddr::from([192, 0, 2, 1]);
        let b = IpAddr::from([192, 0, 2, 2]);
        assert!(limiters.check(a, "ada").is_ok());
        assert!(limiters.check(b, "ADA").is_ok());
        assert!(
            limiters.check(b, "ada").is_err(),
            "third try at one account"
        );
        assert!(limiters.check(a, "bob").is_ok());
        assert!(
            limiters.check(a, "carol").is_ok(),
            "third try from one address"
        );
        assert!(
            limiters.check(a, "dave").is_err(),
            "fourth try from one address"
        );
    }
}
