//! When a failed delivery is tried again: exponential backoff with jitter, spanning more than a
//! day, then the delivery is given up (`failed`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tether_core::webhooks::NextStep;

/// The waits after each failed attempt, in order; one more failure after the last is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

/// Up to a tenth more than the nominal wait, at random, so deliveries that failed together
/// do not all come back at the same instant.
const JITTER: f64 = 0.1;

impl Default for RetrySchedule {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 27.6 hours.
    fn default() -> Self {
        Self::new(
            [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        )
    }
}

impl RetrySchedule {
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// How many attempts a delivery gets in all.
    pub fn attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// From the first attempt to the last, at the shortest.
    pub fn span(&self) -> Duration {
        self.delays.iter().sum()
    }

    /// After the `made`-th attempt (counting from 1) failed at `at`.
    pub fn after_failure(&self, made: u32, at: DateTime<Utc>) -> NextStep {
        self.after_failure_with(made, at, rand::rng().random_range(0.0..=1.0))
    }

    /// The same with the random draw given (`unit` in 0..=1).
    pub fn after_failure_with(&self, made: u32, at: DateTime<Utc>, unit: f64) -> NextStep {
        let index = usize::try_from(made)
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        match self.delays.get(index) {
            Some(delay) => {
                let wait = delay.mul_f64(1.0 + JITTER * unit.clamp(0.0, 1.0));
                match chrono::Duration::from_std(wait) {
                    Ok(wait) => NextStep::RetryAt(at + wait),
                    Err(_) => NextStep::GiveUp,
                }
            }
            None => NextStep::GiveUp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_spans_more_than_a_day_and_then_gives_up() {
        let schedule = RetrySchedule::default();
        assert!(schedule.span() > Duration::from_secs(24 * 3600));
        assert_eq!(schedule.attempts(), 8);
        let at = Utc::now();
        assert_eq!(
            schedule.after_failure_with(1, at, 0.0),
            NextStep::RetryAt(at + chrono::Duration::seconds(5))
        );
        assert_eq!(
            schedule.after_failure_with(7, at, 0.0),
            NextStep::RetryAt(at + chrono::Duration::hours(10))
        );
        assert_eq!(schedule.after_failure_with(8, at, 0.5), NextStep::GiveUp);
    }

    #[test]
    fn jitter_adds_at_most_a_tenth_and_waits_never_shrink() {
        let schedule = RetrySchedule::default();
        let at = Utc::now();
        let wait = |made, unit| match schedule.after_failure_with(made, at, unit) {
            NextStep::RetryAt(when) => when - at,
            other => panic!("{other:?}"),
        };
        assert_eq!(wait(2, 1.0), chrono::Duration::seconds(330));
        assert!(wait(2, 0.3) > chrono::Duration::seconds(300));
        assert!(wait(2, 0.3) < chrono::Duration::seconds(330));
        for made in 1..7 {
            assert!(wait(made + 1, 0.0) >= wait(made, 0.0), "attempt {made}");
        }
    }
}
