//! Probe results shared between requests for a short while, so that `/readyz` and `/metrics`
//! cost the broker and the database the same however often they are called.

use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A value refreshed at most once per `fresh_for`; callers that arrive during a refresh wait
/// for it rather than starting their own.
pub struct Cached<T> {
    fresh_for: Duration,
    slot: Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> Cached<T> {
    pub fn new(fresh_for: Duration) -> Cached<T> {
        Cached {
            fresh_for,
            slot: Mutex::new(None),
        }
    }

    pub async fn get_or_refresh<F, Fut>(&self, refresh: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((at, value)) = slot.as_ref()
            && at.elapsed() < self.fresh_for
        {
            return value.clone();
        }
        let value = refresh().await;
        *slot = Some((Instant::now(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn many_callers_share_one_probe_per_period() {
        let cache = Arc::new(Cached::new(Duration::from_secs(3600)));
        let probes = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let (cache, probes) = (cache.clone(), probes.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_refresh(|| async {
                            tokio::task::yield_now().await;
                            probes.fetch_add(1, Ordering::SeqCst) + 1
                        })
                        .await
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), 1);
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_stale_value_is_probed_again() {
        let cache = Cached::new(Duration::ZERO);
        assert_eq!(cache.get_or_refresh(|| async { 1 }).await, 1);
        assert_eq!(cache.get_or_refresh(|| async { 2 }).await, 2);
    }
}
