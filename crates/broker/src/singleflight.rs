//! In-process single flight: concurrent callers for one key share one in-flight operation
//! instead of queueing. The operation runs on its own task, so a caller that gives up does
//! not cancel a refresh half-way (after the provider rotated the token, before we stored it).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

pub(crate) struct SingleFlight<K, V: Clone> {
    inflight: Mutex<HashMap<K, Shared<BoxFuture<'static, V>>>>,
}

impl<K, V: Clone> Default for SingleFlight<K, V> {
    fn default() -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, V> SingleFlight<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Joins the operation running for `key`, or starts `make()` as that operation.
    /// `on_panic` builds the value shared when the operation's task dies.
    pub(crate) async fn run<F, Fut>(&self, key: K, make: F, on_panic: fn() -> V) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V> + Send + 'static,
    {
        let shared = {
            let mut map = match self.inflight.lock() {
                Ok(map) => map,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(existing) = map.get(&key) {
                existing.clone()
            } else {
                let task = tokio::spawn(make());
                let fut: BoxFuture<'static, V> =
                    async move { task.await.unwrap_or_else(|_| on_panic()) }.boxed();
                let shared = fut.shared();
                map.insert(key.clone(), shared.clone());
                shared
            }
        };
        let value = shared.clone().await;
        let mut map = match self.inflight.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.get(&key).is_some_and(|current| current.ptr_eq(&shared)) {
            map.remove(&key);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_later_callers_start_a_new_one() {
        let flights: Arc<SingleFlight<u32, usize>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let callers = (0..50).map(|_| {
            let (flights, runs) = (flights.clone(), runs.clone());
            tokio::spawn(async move {
                flights
                    .run(
                        7,
                        move || async move {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            runs.fetch_add(1, Ordering::SeqCst) + 1
                        },
                        || 0,
                    )
                    .await
            })
        });
        let results = futures::future::join_all(callers).await;
        assert!(results.iter().all(|r| *r.as_ref().unwrap() == 1));
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        let again = flights.run(7, || async { 99 }, || 0).await;
        assert_eq!(again, 99, "a finished flight is not reused");
    }
}
