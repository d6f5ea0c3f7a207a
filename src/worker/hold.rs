//! Deliveries held while their helpdesk is down: one hold per helpdesk, so a Zammad outage
//! never stops the workers from taking Zendesk's events.
//!
//! A hold keeps its deliveries unsettled (no attempt spent) in queue order and tries the
//! oldest again whenever the helpdesk's pause is over; once it passes, the rest follow. While
//! a helpdesk's hold is not empty its new deliveries join the back of it, so one ticket's
//! events still go through in order. Held deliveries keep their queue lease renewed (the
//! embedded queue would hand them out again otherwise). How many are held at once is bounded:
//! beyond [`MAX_HELD`] a lane waits for room, as every lane did for any outage before. AMQP's
//! prefetch bounds it further: held deliveries use its unacked slots.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Worker;
use crate::health::Dependency;
use crate::queue::Delivery;

/// Deliveries held at once, over every helpdesk.
pub(super) const MAX_HELD: usize = 1024;
/// After a failed lease renewal, try again this soon.
const RENEW_RETRY: Duration = Duration::from_secs(5);

/// The holds of one process's workers, one per helpdesk.
pub(super) struct Holds {
    worker: Worker,
    by_helpdesk: BTreeMap<&'static str, Hold>,
    room: Arc<Semaphore>,
    stop: CancellationToken,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

struct Hold {
    tx: mpsc::UnboundedSender<Held>,
    /// Deliveries in the hold or on their way to it, including the one being tried.
    count: Arc<AtomicUsize>,
}

struct Held {
    delivery: Delivery,
    _room: OwnedSemaphorePermit,
    /// When its lease needs renewing; `None`: it has none.
    renew_at: Option<Instant>,
}

impl Holds {
    /// A hold for each of `worker`'s helpdesks; they stop with `shutdown` or [`Holds::stop`].
    pub(super) fn start(worker: &Worker, shutdown: &CancellationToken, max_held: usize) -> Holds {
        let stop = shutdown.child_token();
        let mut by_helpdesk = BTreeMap::new();
        let mut tasks = Vec::new();
        for helpdesk in worker.helpdesk_names() {
            let (tx, rx) = mpsc::unbounded_channel();
            let count = Arc::new(AtomicUsize::new(0));
            tasks.push(tokio::spawn(run_hold(
                worker.clone(),
                helpdesk,
                rx,
                count.clone(),
                stop.clone(),
            )));
            by_helpdesk.insert(helpdesk, Hold { tx, count });
        }
        Holds {
            worker: worker.clone(),
            by_helpdesk,
            room: Arc::new(Semaphore::new(max_held.max(1))),
            stop,
            tasks: std::sync::Mutex::new(tasks),
        }
    }

    /// The delivery back when it may be tried now; `None` when it went to its helpdesk's hold
    /// (the helpdesk is in a pause, or older deliveries of it are held).
    pub(super) async fn take_if_held(
        &self,
        delivery: Delivery,
        shutdown: &CancellationToken,
    ) -> Option<Delivery> {
        let Some(helpdesk) = self.worker.helpdesk_of(&delivery.envelope.source) else {
            return Some(delivery);
        };
        let Some(hold) = self.by_helpdesk.get(helpdesk) else {
            return Some(delivery);
        };
        let paused = self.worker.health.is_paused(Dependency::Helpdesk(helpdesk));
        if hold.count.load(Ordering::SeqCst) == 0 && !paused {
            return Some(delivery);
        }
        self.hold(delivery, shutdown).await;
        None
    }

    /// Puts a delivery whose helpdesk is down into that helpdesk's hold, waiting for room.
    /// On shutdown it is left unsettled: the queue hands it out again.
    pub(super) async fn hold(&self, delivery: Delivery, shutdown: &CancellationToken) {
        let hold = self
            .worker
            .helpdesk_of(&delivery.envelope.source)
            .and_then(|h| self.by_helpdesk.get(h));
        let Some(hold) = hold else {
            tracing::warn!(source = %delivery.envelope.source, "no hold for this event's helpdesk; it will be redelivered");
            return;
        };
        hold.count.fetch_add(1, Ordering::SeqCst);
        let room = tokio::select! {
            room = self.room.clone().acquire_owned() => room.ok(),
            _ = shutdown.cancelled() => None,
        };
        let Some(room) = room else {
            hold.count.fetch_sub(1, Ordering::SeqCst);
            return;
        };
        let held = Held {
            delivery,
            _room: room,
            renew_at: None,
        };
        if hold.tx.send(held).is_err() {
            hold.count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Stops every hold, leaving what they hold unsettled.
    pub(super) async fn stop(&self) {
        self.stop.cancel();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        futures::future::join_all(tasks).await;
    }
}

impl Held {
    async fn renew(&mut self) {
        self.renew_at = match self.delivery.acker.keep().await {
            Ok(next) => next.map(|after| Instant::now() + after),
            Err(e) => {
                tracing::warn!(
                    event_id = %self.delivery.envelope.event_id,
                    error = %e,
                    "could not renew a held event's lease; trying again shortly"
                );
                Some(Instant::now() + RENEW_RETRY)
            }
        };
    }
}

/// One helpdesk's hold: keeps the leases of what it holds and tries the oldest whenever the
/// helpdesk's pause is over.
async fn run_hold(
    worker: Worker,
    helpdesk: &'static str,
    mut rx: mpsc::UnboundedReceiver<Held>,
    count: Arc<AtomicUsize>,
    stop: CancellationToken,
) {
    let health = worker.health.clone();
    let gauge = metrics::gauge!("onbehalf_held_events", "helpdesk" => helpdesk);
    let mut waiting: VecDeque<Held> = VecDeque::new();
    let only_it = [helpdesk];
    loop {
        gauge.set(waiting.len() as f64);
        let renew_at = waiting.iter().filter_map(|h| h.renew_at).min();
        // Stopping first, then the leases, then the oldest delivery, then new ones.
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(renew_at.unwrap_or_else(Instant::now).into()), if renew_at.is_some() => {
                let now = Instant::now();
                for held in waiting.iter_mut().filter(|h| h.renew_at.is_some_and(|at| at <= now)) {
                    held.renew().await;
                }
            }
            resumable = health.wait_until_resumable(&only_it, &stop), if !waiting.is_empty() => {
                if !resumable {
                    break;
                }
                let Some(Held { delivery, _room, renew_at }) = waiting.pop_front() else {
                    continue;
                };
                match super::settle(&worker, delivery, &stop).await {
                    Some(delivery) => waiting.push_front(Held { delivery, _room, renew_at }),
                    None => {
                        count.fetch_sub(1, Ordering::SeqCst);
                        if waiting.is_empty() {
                            tracing::info!(helpdesk, "held events released");
                        }
                    }
                }
            }
            held = rx.recv() => match held {
                Some(mut held) => {
                    held.renew().await;
                    if waiting.is_empty() {
                        tracing::info!(helpdesk, "holding this helpdesk's events until it answers");
                    }
                    waiting.push_back(held);
                }
                None => break,
            },
        }
    }
    gauge.set(0.0);
}
