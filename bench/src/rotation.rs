//! The bench token endpoint's memory: the current refresh-token generation of every bench
//! integration, and counters of refreshes, reuses (a token presented again after it was
//! rotated: a duplicate refresh) and unknown tokens.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The refresh token of integration `n` at `generation`: `bench-rt-{n}.{generation}`.
pub fn refresh_token(n: u64, generation: u64) -> String {
    format!("bench-rt-{n}.{generation}")
}

/// Reads `bench-rt-{n}.{generation}`.
pub fn parse_refresh_token(token: &str) -> Option<(u64, u64)> {
    let (n, generation) = token.strip_prefix("bench-rt-")?.split_once('.')?;
    Some((n.parse().ok()?, generation.parse().ok()?))
}

/// What a presented refresh token turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// The current token of integration `n`: `next` is now current and must be handed out.
    Current { n: u64, next: u64 },
    /// A token that was already rotated away (counted as reuse).
    Reused,
    /// Not a bench token, or a generation never issued (counted as unknown).
    Unknown,
}

/// Counters since start or the last reset; times are Unix milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub refreshes: u64,
    pub reuse: u64,
    pub unknown: u64,
    pub first_at_ms: Option<u64>,
    pub last_at_ms: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    generations: HashMap<u64, u64>,
    stats: Stats,
}

/// Generations and counters behind one lock.
#[derive(Debug, Default)]
pub struct Rotation {
    state: Mutex<State>,
}

impl Rotation {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Compares the presented token with the current generation and advances it in one step,
    /// so two concurrent presentations of one token give one `Current` and one `Reused`.
    pub fn present(&self, token: &str) -> Presented {
        let mut state = self.lock();
        let Some((n, generation)) = parse_refresh_token(token) else {
            state.stats.unknown += 1;
            return Presented::Unknown;
        };
        let current = state.generations.get(&n).copied().unwrap_or(0);
        if generation == current {
            state.generations.insert(n, current + 1);
            return Presented::Current {
                n,
                next: current + 1,
            };
        }
        if generation < current {
            state.stats.reuse += 1;
            Presented::Reused
        } else {
            state.stats.unknown += 1;
            Presented::Unknown
        }
    }

    /// Counts a refresh answered at `at_ms`.
    pub fn answered(&self, at_ms: u64) {
        let mut state = self.lock();
        let stats = &mut state.stats;
        stats.refreshes += 1;
        stats.first_at_ms = Some(stats.first_at_ms.map_or(at_ms, |first| first.min(at_ms)));
        stats.last_at_ms = Some(stats.last_at_ms.map_or(at_ms, |last| last.max(at_ms)));
    }

    /// Counts an invalid grant that did not come from [`Rotation::present`].
    pub fn count_unknown(&self) {
        self.lock().stats.unknown += 1;
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// Zeroes the counters; generations stay, so tokens issued before remain current.
    pub fn reset_stats(&self) {
        self.lock().stats = Stats::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_current_token_rotates_and_presenting_it_again_is_reuse() {
        let rotation = Rotation::default();
        assert_eq!(
            rotation.present("bench-rt-7.0"),
            Presented::Current { n: 7, next: 1 }
        );
        assert_eq!(rotation.present("bench-rt-7.0"), Presented::Reused);
        assert_eq!(
            rotation.present("bench-rt-7.1"),
            Presented::Current { n: 7, next: 2 }
        );
        assert_eq!(rotation.stats().reuse, 1);
    }

    #[test]
    fn foreign_and_future_tokens_count_as_unknown() {
        let rotation = Rotation::default();
        assert_eq!(rotation.present("1//google-token"), Presented::Unknown);
        assert_eq!(rotation.present("bench-rt-1.5"), Presented::Unknown);
        assert_eq!(rotation.present("bench-rt-x.0"), Presented::Unknown);
        let stats = rotation.stats();
        assert_eq!((stats.unknown, stats.reuse), (3, 0));
    }

    #[test]
    fn answers_set_the_first_and_last_times() {
        let rotation = Rotation::default();
        rotation.answered(2_000);
        rotation.answered(1_500);
        rotation.answered(3_000);
        let stats = rotation.stats();
        assert_eq!(stats.refreshes, 3);
        assert_eq!(stats.first_at_ms, Some(1_500));
        assert_eq!(stats.last_at_ms, Some(3_000));
    }

    #[test]
    fn a_reset_zeroes_counters_but_keeps_generations() {
        let rotation = Rotation::default();
        rotation.present("bench-rt-3.0");
        rotation.answered(1);
        rotation.present("bench-rt-3.0");
        rotation.reset_stats();
        assert_eq!(rotation.stats(), Stats::default());
        assert_eq!(rotation.present("bench-rt-3.0"), Presented::Reused);
        assert_eq!(
            rotation.present("bench-rt-3.1"),
            Presented::Current { n: 3, next: 2 }
        );
    }

    #[test]
    fn tokens_round_trip_through_their_string_form() {
        assert_eq!(parse_refresh_token(&refresh_token(42, 9)), Some((42, 9)));
    }
}
