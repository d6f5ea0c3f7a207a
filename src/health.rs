//! Which dependencies answer: the database and the queue, for the whole process, and each
//! helpdesk on its own.
//!
//! A failure that is not the event's fault (the database refuses connections, the broker is
//! gone, a helpdesk answers 5xx, 401/403 or 429) marks its dependency down. While the database
//! or the queue is down the workers take no new deliveries and hold the ones they have; while
//! one helpdesk is down only that helpdesk's deliveries are held (see `worker`), and the other
//! helpdesks' events go on. Either way no event spends an attempt on it; it is tried again once
//! the pause is over (the helpdesk's `Retry-After`, else a backoff doubling up to `max_pause`)
//! and the pause ends by itself on the first success. Each change is logged once and shown by
//! `onbehalf_dependency_up{dependency[,helpdesk]}` (`{dependency="helpdesk"}` alone: every
//! helpdesk up), by `onbehalf_paused_seconds_total` and by `/readyz`.
//!
//! GitLab is watched too, but never pauses anything: its facts are optional, and a decision
//! without them says so.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dependency {
    Database,
    Queue,
    /// One helpdesk, by its registry name (`zendesk`, `zammad`: the envelopes' source).
    Helpdesk(&'static str),
    /// Asked for facts about requesters; its outages pause nothing.
    GitLab,
}

impl Dependency {
    /// What `dependency` says in metrics and logs (`helpdesk` for every helpdesk; see
    /// [`Dependency::helpdesk`] for which).
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Queue => "queue",
            Dependency::Helpdesk(_) => "helpdesk",
            Dependency::GitLab => "gitlab",
        }
    }

    /// The helpdesk's name, for a helpdesk.
    pub fn helpdesk(self) -> Option<&'static str> {
        match self {
            Dependency::Helpdesk(name) => Some(name),
            _ => None,
        }
    }

    /// Whether its outage pauses anything at all.
    fn pauses(self) -> bool {
        !matches!(self, Dependency::GitLab)
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
    /// Every dependency watched: the database and the queue from the start, the others once
    /// registered (or first reported).
    outages: Mutex<BTreeMap<Dependency, Outage>>,
    changed: Notify,
}

/// Shared by the workers, the helpdesk clients, the GitLab lookup and the probes of one
/// process.
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

/// One watched dependency as the console and `/readyz` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyState {
    pub dependency: Dependency,
    /// Why it is down; `None`: it answered last time (or was not asked yet).
    pub down: Option<String>,
    /// How long it has been down.
    pub down_for: Option<Duration>,
}

impl Health {
    pub fn new(settings: PauseSettings) -> Health {
        let health = Health {
            inner: Arc::new(Inner {
                settings,
                outages: Mutex::new(BTreeMap::new()),
                changed: Notify::new(),
            }),
        };
        health.register(Dependency::Database);
        health.register(Dependency::Queue);
        // Every helpdesk up, before any is watched (none yet: a shadow-only deployment).
        metrics::gauge!("onbehalf_dependency_up", "dependency" => "helpdesk").set(1.0);
        health
    }

    /// Watches `dependency` from now on (shown as up until it fails), so that metrics, the
    /// console and `/readyz` name it before its first failure. Registering twice is harmless.
    pub fn register(&self, dependency: Dependency) {
        let mut outages = self.outages();
        if outages.contains_key(&dependency) {
            return;
        }
        outages.insert(dependency, Outage::default());
        self.publish_gauges(&outages, dependency);
    }

    fn outages(&self) -> std::sync::MutexGuard<'_, BTreeMap<Dependency, Outage>> {
        self.inner.outages.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `dependency`'s gauge, and for a helpdesk the all-helpdesks one.
    fn publish_gauges(&self, outages: &BTreeMap<Dependency, Outage>, dependency: Dependency) {
        let up = |o: &Outage| if o.since.is_none() { 1.0 } else { 0.0 };
        let Some(outage) = outages.get(&dependency) else {
            return;
        };
        match dependency {
            Dependency::Helpdesk(name) => {
                metrics::gauge!("onbehalf_dependency_up", "dependency" => "helpdesk", "helpdesk" => name)
                    .set(up(outage));
                let all_up = outages
                    .iter()
                    .filter(|(d, _)| d.helpdesk().is_some())
                    .all(|(_, o)| o.since.is_none());
                metrics::gauge!("onbehalf_dependency_up", "dependency" => "helpdesk")
                    .set(if all_up { 1.0 } else { 0.0 });
            }
            d => metrics::gauge!("onbehalf_dependency_up", "dependency" => d.as_str())
                .set(up(outage)),
        }
    }

    /// `dependency` failed in a way that is not the event's fault. `retry_after` is what the
    /// dependency asked for (a helpdesk's `Retry-After`); without it the pause backs off.
    pub fn down(&self, dependency: Dependency, reason: &str, retry_after: Option<Duration>) {
        let now = Instant::now();
        let settings = self.inner.settings;
        let mut outages = self.outages();
        let outage = outages.entry(dependency).or_default();
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
        self.publish_gauges(&outages, dependency);
        drop(outages);
        if first {
            let effect = match dependency {
                Dependency::Helpdesk(_) => {
                    "dependency down: holding this helpdesk's events until it answers"
                }
                Dependency::GitLab => "dependency down: decisions go on without GitLab's facts",
                _ => "dependency down: taking no new events until it answers",
            };
            tracing::warn!(
                dependency = dependency.as_str(),
                helpdesk = dependency.helpdesk(),
                %reason,
                pause_ms = pause.as_millis() as u64,
                "{effect}"
            );
        }
        self.inner.changed.notify_waiters();
    }

    /// `dependency` answered.
    pub fn up(&self, dependency: Dependency) {
        let mut outages = self.outages();
        let outage = outages.entry(dependency).or_default();
        let Some(since) = outage.since.take() else {
            // First heard of: registered as up.
            self.publish_gauges(&outages, dependency);
            return;
        };
        *outage = Outage::default();
        self.publish_gauges(&outages, dependency);
        drop(outages);
        let paused = since.elapsed();
        match dependency.helpdesk() {
            Some(name) => metrics::counter!("onbehalf_paused_seconds_total", "dependency" => "helpdesk", "helpdesk" => name)
                .increment(paused.as_secs().max(1)),
            None if dependency.pauses() => metrics::counter!("onbehalf_paused_seconds_total", "dependency" => dependency.as_str())
                .increment(paused.as_secs().max(1)),
            None => {}
        }
        tracing::info!(
            dependency = dependency.as_str(),
            helpdesk = dependency.helpdesk(),
            down_ms = paused.as_millis() as u64,
            "dependency answers again: resuming"
        );
        self.inner.changed.notify_waiters();
    }

    /// Why `dependency` is down, when it is.
    pub fn down_reason(&self, dependency: Dependency) -> Option<String> {
        let outages = self.outages();
        let outage = outages.get(&dependency)?;
        outage.since.map(|_| outage.reason.clone())
    }

    /// The dependencies down now, with their reasons.
    pub fn down_now(&self) -> Vec<(Dependency, String)> {
        self.outages()
            .iter()
            .filter_map(|(d, o)| o.since.map(|_| (*d, o.reason.clone())))
            .collect()
    }

    /// Every watched dependency and its last known state, database and queue first.
    pub fn states(&self) -> Vec<DependencyState> {
        self.outages()
            .iter()
            .map(|(d, o)| DependencyState {
                dependency: *d,
                down: o.since.map(|_| o.reason.clone()),
                down_for: o.since.map(|s| s.elapsed()),
            })
            .collect()
    }

    /// The helpdesks watched, by name.
    pub fn helpdesks(&self) -> Vec<&'static str> {
        self.outages().keys().filter_map(|d| d.helpdesk()).collect()
    }

    /// When the next attempt on `dependency` may be made (`None`: now).
    pub fn resume_at(&self, dependency: Dependency) -> Option<Instant> {
        self.outages()
            .get(&dependency)?
            .resume_at
            .filter(|at| *at > Instant::now())
    }

    /// Whether `dependency` is in a pause now (down, and its next attempt not yet due).
    pub fn is_paused(&self, dependency: Dependency) -> bool {
        self.resume_at(dependency).is_some()
    }

    /// Waits until neither the database nor the queue is in a pause and, when `helpdesks` is
    /// not empty, one of them at least is not (a dependency still down may then be tried
    /// again). Returns `false` when cancelled during a pause.
    pub async fn wait_until_resumable(
        &self,
        helpdesks: &[&'static str],
        cancel: &CancellationToken,
    ) -> bool {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let Some(at) = self.paused_until(helpdesks) else {
                return true;
            };
            tokio::select! {
                _ = cancel.cancelled() => return false,
                _ = &mut changed => {}
                _ = tokio::time::sleep_until(at.into()) => {}
            }
        }
    }

    /// Until when [`Health::wait_until_resumable`] would wait; `None`: not at all.
    fn paused_until(&self, helpdesks: &[&'static str]) -> Option<Instant> {
        let now = Instant::now();
        let outages = self.outages();
        let paused = |d: Dependency| {
            outages
                .get(&d)
                .and_then(|o| o.resume_at)
                .filter(|at| *at > now)
        };
        let everything = [Dependency::Database, Dependency::Queue]
            .into_iter()
            .filter_map(paused)
            .max();
        // Every one of them paused: until the first pause ends.
        let all_helpdesks = match helpdesks {
            [] => None,
            _ => helpdesks
                .iter()
                .map(|h| paused(Dependency::Helpdesk(h)))
                .collect::<Option<Vec<_>>>()
                .and_then(|ends| ends.into_iter().min()),
        };
        everything.into_iter().chain(all_helpdesks).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZAMMAD: Dependency = Dependency::Helpdesk("zammad");
    const ZENDESK: Dependency = Dependency::Helpdesk("zendesk");

    #[tokio::test]
    async fn a_pause_honours_retry_after_and_ends_on_success() {
        let health = Health::new(PauseSettings {
            first: Duration::from_millis(10),
            max: Duration::from_millis(40),
        });
        health.down(ZENDESK, "429", Some(Duration::from_secs(3600)));
        assert!(health.resume_at(ZENDESK).is_some());
        assert_eq!(health.down_now().len(), 1);
        // A shorter pause asked for later does not cut the longer one short.
        health.down(ZENDESK, "503", None);
        let at = health.resume_at(ZENDESK).unwrap();
        assert!(at > Instant::now() + Duration::from_secs(3000));
        health.up(ZENDESK);
        assert!(health.down_now().is_empty());
        assert!(
            health
                .wait_until_resumable(&["zendesk"], &CancellationToken::new())
                .await
        );
    }

    #[tokio::test]
    async fn one_helpdesk_down_pauses_only_its_own_events() {
        let health = Health::default();
        health.register(ZENDESK);
        health.register(ZAMMAD);
        health.down(
            ZAMMAD,
            "Zammad answered 503",
            Some(Duration::from_secs(3600)),
        );
        assert!(health.is_paused(ZAMMAD));
        assert!(!health.is_paused(ZENDESK));
        let cancel = CancellationToken::new();
        assert!(health.wait_until_resumable(&[], &cancel).await);
        assert!(health.wait_until_resumable(&["zendesk"], &cancel).await);
        // Events are taken while one of the helpdesks answers.
        assert!(
            health
                .wait_until_resumable(&["zammad", "zendesk"], &cancel)
                .await
        );
        cancel.cancel();
        assert!(!health.wait_until_resumable(&["zammad"], &cancel).await);
        let down: Vec<_> = health
            .states()
            .into_iter()
            .filter(|s| s.down.is_some())
            .map(|s| s.dependency)
            .collect();
        assert_eq!(down, vec![ZAMMAD]);
    }

    #[tokio::test]
    async fn the_database_pauses_every_helpdesk_and_gitlab_pauses_none() {
        let health = Health::default();
        health.down(Dependency::GitLab, "GitLab answered 502", None);
        let cancel = CancellationToken::new();
        assert!(health.wait_until_resumable(&["zendesk"], &cancel).await);
        health.down(
            Dependency::Database,
            "refused",
            Some(Duration::from_secs(3600)),
        );
        cancel.cancel();
        assert!(!health.wait_until_resumable(&[], &cancel).await);
        assert!(!health.wait_until_resumable(&["zendesk"], &cancel).await);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let health = Health::new(PauseSettings {
            first: Duration::from_secs(1),
            max: Duration::from_secs(4),
        });
        for _ in 0..10 {
            // Each report a round of its own.
            if let Some(o) = health.outages().get_mut(&Dependency::Database) {
                o.resume_at = None;
            }
            health.down(Dependency::Database, "refused", None);
        }
        let at = health.resume_at(Dependency::Database).unwrap();
        assert!(at <= Instant::now() + Duration::from_secs(4));
        assert!(at > Instant::now() + Duration::from_secs(3));
    }
}
