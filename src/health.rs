//! Which dependencies answer, for the whole process: the database, the queue and the helpdesk.
//!
//! A failure that is not the event's fault (the database refuses connections, the broker is
//! gone, the helpdesk answers 5xx, 401/403 or 429) marks its dependency down. While one is
//! down the workers take no new deliveries and hold the ones they have, so no event spends an
//! attempt on it; they try again once the pause is over (the helpdesk's `Retry-After`, else a
//! backoff doubling up to `max_pause`) and resume by themselves on the first success. Each
//! change is logged once and shown by `onbehalf_dependency_up{dependency}`, by
//! `onbehalf_paused_seconds_total` and by `/readyz`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dependency {
    Database,
    Queue,
    Helpdesk,
}

impl Dependency {
    pub const ALL: [Dependency; 3] = [
        Dependency::Database,
        Dependency::Queue,
        Dependency::Helpdesk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Queue => "queue",
            Dependency::Helpdesk => "helpdesk",
        }
    }

    fn index(self) -> usize {
        match self {
            Dependency::Database => 0,
            Dependency::Queue => 1,
            Dependency::Helpdesk => 2,
        }
    }
}

/// How long a pause lasts when the dependency gives no `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseSettings {
    /// The first pause after a dependency goes down.
    pub first: Duration,
    /// Pauses double up to this.
    pub max: Duration,
}

impl Default for PauseSettings {
    fn default() -> Self {
        PauseSettings {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Default)]
struct Outage {
    since: Option<Instant>,
    reason: String,
    /// No attempt on this dependency before then.
    resume_at: Option<Instant>,
    /// Failures in a row (sizes the next pause).
    failures: u32,
}

struct Inner {
    settings: PauseSettings,
    outages: [Mutex<Outage>; 3],
    changed: Notify,
}

/// Shared by the workers, the helpdesk client and the probes of one process.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").finish_non_exhaustive()
    }
}

impl Default for Health {
    fn default() -> Self {
        Health::new(PauseSettings::default())
    }
}

impl Health {
    pub fn new(settings: PauseSettings) -> Health {
        for dependency in Dependency::ALL {
            up_gauge(dependency, true);
        }
        Health {
            inner: Arc::new(Inner {
                settings,
                outages: Default::default(),
                changed: Notify::new(),
            }),
        }
    }

    fn outage(&self, dependency: Dependency) -> std::sync::MutexGuard<'_, Outage> {
        self.inner.outages[dependency.index()]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// `dependency` failed in a way that is not the event's fault. `retry_after` is what the
    /// dependency asked for (a helpdesk's `Retry-After`); without it the pause backs off.
    pub fn down(&self, dependency: Dependency, reason: &str, retry_after: Option<Duration>) {
        let now = Instant::now();
        let settings = self.inner.settings;
        let mut outage = self.outage(dependency);
        // Reports from workers that tried in the same round count once.
        if outage.resume_at.is_none_or(|at| at <= now) {
            outage.failures = outage.failures.saturating_add(1);
        }
        let backoff = settings
            .first
            .saturating_mul(2u32.saturating_pow(outage.failures.saturating_sub(1).min(20)))
            .min(settings.max);
        let pause = retry_after.unwrap_or(backoff);
        let resume_at = now + pause;
        // Several workers may report the same outage: keep the latest point any asked for.
        outage.resume_at = Some(outage.resume_at.map_or(resume_at, |r| r.max(resume_at)));
        outage.reason = reason.to_string();
        let first = outage.since.is_none();
        outage.since.get_or_insert(now);
        drop(outage);
        up_gauge(dependency, false);
        if first {
            tracing::warn!(
                dependency = dependency.as_str(),
                %reason,
                pause_ms = pause.as_millis() as u64,
                "dependency down: taking no new events until it answers"
            );
        }
        self.inner.changed.notify_waiters();
    }

    /// `dependency` answered.
    pub fn up(&self, dependency: Dependency) {
        let mut outage = self.outage(dependency);
        let Some(since) = outage.since.take() else {
            return;
        };
        *outage = Outage::default();
        drop(outage);
        let paused = since.elapsed();
        up_gauge(dependency, true);
        metrics::counter!("onbehalf_paused_seconds_total", "dependency" => dependency.as_str())
            .increment(paused.as_secs().max(1));
        tracing::info!(
            dependency = dependency.as_str(),
            paused_ms = paused.as_millis() as u64,
            "dependency answers again: resuming"
        );
        self.inner.changed.notify_waiters();
    }

    /// Why `dependency` is down, when it is.
    pub fn down_reason(&self, dependency: Dependency) -> Option<String> {
        let outage = self.outage(dependency);
        outage.since.map(|_| outage.reason.clone())
    }

    /// The dependencies down now, with their reasons.
    pub fn down_now(&self) -> Vec<(Dependency, String)> {
        Dependency::ALL
            .into_iter()
            .filter_map(|d| self.down_reason(d).map(|r| (d, r)))
            .collect()
    }

    /// When the next attempt on `dependency` may be made (`None`: now).
    pub fn resume_at(&self, dependency: Dependency) -> Option<Instant> {
        self.outage(dependency)
            .resume_at
            .filter(|at| *at > Instant::now())
    }

    /// Waits until no dependency is in a pause (a dependency still down may then be tried
    /// again). Returns `false` when cancelled during a pause.
    pub async fn wait_until_resumable(&self, cancel: &CancellationToken) -> bool {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let latest = Dependency::ALL
                .into_iter()
                .filter_map(|d| self.resume_at(d))
                .max();
            let Some(at) = latest else {
                return true;
            };
            tokio::select! {
                _ = cancel.cancelled() => return false,
                _ = &mut changed => {}
                _ = tokio::time::sleep_until(at.into()) => {}
            }
        }
    }
}

fn up_gauge(dependency: Dependency, up: bool) {
    metrics::gauge!("onbehalf_dependency_up", "dependency" => dependency.as_str()).set(if up {
        1.0
    } else {
        0.0
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_honours_retry_after_and_ends_on_success() {
        let health = Health::new(PauseSettings {
            first: Duration::from_millis(10),
            max: Duration::from_millis(40),
        });
        health.down(Dependency::Helpdesk, "429", Some(Duration::from_secs(3600)));
        assert!(health.resume_at(Dependency::Helpdesk).is_some());
        assert_eq!(health.down_now().len(), 1);
        // A shorter pause asked for later does not cut the longer one short.
        health.down(Dependency::Helpdesk, "503", None);
        let at = health.resume_at(Dependency::Helpdesk).unwrap();
        assert!(at > Instant::now() + Duration::from_secs(3000));
        health.up(Dependency::Helpdesk);
        assert!(health.down_now().is_empty());
        assert!(health.wait_until_resumable(&CancellationToken::new()).await);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let health = Health::new(PauseSettings {
            first: Duration::from_secs(1),
            max: Duration::from_secs(4),
        });
        for _ in 0..10 {
            // Each report a round of its own.
            health.outage(Dependency::Database).resume_at = None;
            health.down(Dependency::Database, "refused", None);
        }
        let at = health.resume_at(Dependency::Database).unwrap();
        assert!(at <= Instant::now() + Duration::from_secs(4));
        assert!(at > Instant::now() + Duration::from_secs(3));
    }
}
