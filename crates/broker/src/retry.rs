//! Exponential backoff with full jitter, honouring a provider's `Retry-After`.

use std::time::Duration;

use rand::Rng;

use crate::config::RetryPolicy;

/// The wait before attempt `attempt + 1` (attempts count from 1), or `None` when no attempt
/// is left or the provider asked for a longer wait than the policy allows.
pub(crate) fn next_delay(
    policy: &RetryPolicy,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    if attempt >= policy.max_attempts {
        return None;
    }
    if let Some(wait) = retry_after {
        return (wait <= policy.max_delay).then_some(wait);
    }
    let exp = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(policy.max_delay);
    // Full jitter, but never less than half the step, so retries do not bunch at zero.
    let half = exp / 2;
    let jitter = rand::rng().random_range(0..=u64::try_from(half.as_millis()).unwrap_or(0));
    Some(half + Duration::from_millis(jitter))
}

/// The wait after `failures` consecutive failures (from 1): the provider's `Retry-After` when
/// it gave one, else exponential from the base with jitter, capped at the policy's maximum.
pub(crate) fn backoff(
    policy: &RetryPolicy,
    failures: u32,
    retry_after: Option<Duration>,
) -> Duration {
    if let Some(wait) = retry_after {
        return wait;
    }
    let unbounded = RetryPolicy {
        max_attempts: u32::MAX,
        ..*policy
    };
    next_delay(&unbounded, failures.max(1), None).unwrap_or(policy.max_delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        }
    }

    #[test]
    fn delays_grow_within_bounds_and_stop_after_the_last_attempt() {
        let p = policy();
        let first = next_delay(&p, 1, None).unwrap();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let third = next_delay(&p, 3, None).unwrap();
        assert!(third >= Duration::from_millis(150) && third <= Duration::from_millis(300));
        assert!(next_delay(&p, 4, None).is_none());
    }

    #[test]
    fn backoff_grows_with_consecutive_failures_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(3600),
        };
        let first = backoff(&p, 1, None);
        assert!(first >= Duration::from_secs(15) && first <= Duration::from_secs(30));
        let fourth = backoff(&p, 4, None);
        assert!(fourth >= Duration::from_secs(120) && fourth <= Duration::from_secs(240));
        let many = backoff(&p, 40, None);
        assert!(many >= Duration::from_secs(1800) && many <= Duration::from_secs(3600));
        assert_eq!(
            backoff(&p, 2, Some(Duration::from_secs(7200))),
            Duration::from_secs(7200),
            "a provider's Retry-After wins"
        );
    }

    #[test]
    fn retry_after_is_honoured_unless_it_exceeds_the_policy() {
        let p = policy();
        assert_eq!(
            next_delay(&p, 1, Some(Duration::from_millis(250))),
            Some(Duration::from_millis(250))
        );
        assert_eq!(next_delay(&p, 1, Some(Duration::from_secs(60))), None);
    }
}
