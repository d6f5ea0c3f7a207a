//! Embedded durable queue: a SQLite file `<data_dir>/queue.db` owned by one process.
//!
//! Every change goes through one writer task that commits waiting commands together (group
//! commit, see `writer`), so a durable accept costs a share of one fsync rather than a whole one.
//! Receivers wait on a `Notify` the writer wakes after each change, plus a timer for the next
//! backoff or lease deadline; nothing polls.
//!
//! Delivery is at-least-once. Events of one ticket are handed out one at a time and in the order
//! they were accepted; an event whose lease runs out (a hung worker) is handed out again.

mod db;
mod sql;
mod writer;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use self::writer::{Claim, Command, Reply, Request, Shared, Writer, WriterConfig};
use super::{
    Acker, DeadLetterPage, DeadLetterQuery, Delivery, Envelope, PublishOutcome, Queue, QueueError,
    QueueStats, Retried, RetryPolicy,
};

/// Tuning knobs beyond the retry policy and lease; the defaults suit production.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedOptions {
    pub policy: RetryPolicy,
    /// How long a worker may hold an event before it is handed out again.
    pub lease: Duration,
    /// Most commands committed in one transaction.
    pub batch_cap: usize,
    /// How long acked events are remembered for dedupe.
    pub done_retention: Duration,
    /// How often the writer prunes acked events past `done_retention`.
    pub prune_every: Duration,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            policy: RetryPolicy::default(),
            lease: crate::timeouts::EMBEDDED_LEASE,
            batch_cap: 512,
            done_retention: Duration::from_secs(7 * 24 * 3600),
            prune_every: Duration::from_secs(600),
        }
    }
}

/// Upper bound on an idle receiver's sleep, a safety net should a wake-up ever be missed.
const IDLE_RECHECK: Duration = Duration::from_secs(30);

/// Commands waiting for the writer; publishers wait (backpressure) beyond this.
const CHANNEL_DEPTH: usize = 4096;

pub struct EmbeddedQueue {
    commands: mpsc::Sender<Command>,
    readers: SqlitePool,
    shared: Arc<Shared>,
    lease: Duration,
    /// Held for the queue's lifetime: the OS lock that makes this process the file's only owner.
    _lock: File,
}

impl std::fmt::Debug for EmbeddedQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedQueue").finish_non_exhaustive()
    }
}

impl EmbeddedQueue {
    /// Opens (or creates) the queue in `data_dir`. Fails if another process owns it. Events a
    /// previous run left leased are ready again at once: that run is gone.
    pub async fn open(
        data_dir: &Path,
        policy: RetryPolicy,
        lease: Duration,
    ) -> Result<EmbeddedQueue, QueueError> {
        let options = EmbeddedOptions {
            policy,
            lease,
            ..EmbeddedOptions::default()
        };
        Self::open_with(data_dir, options).await
    }

    /// The queue file in `data_dir`, whether or not it exists yet.
    pub fn file(data_dir: &Path) -> std::path::PathBuf {
        data_dir.join(db::DB_FILE)
    }

    pub async fn open_with(
        data_dir: &Path,
        options: EmbeddedOptions,
    ) -> Result<EmbeddedQueue, QueueError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| db::unavailable(format!("cannot create {}: {e}", data_dir.display())))?;
        let lock = db::lock_dir(data_dir)?;
        let conn = db::open_writer(data_dir).await?;
        let readers = db::open_readers(data_dir).await?;
        let shared = Arc::new(Shared::default());
        let (commands, rx) = mpsc::channel(CHANNEL_DEPTH);
        let config = WriterConfig {
            policy: options.policy,
            lease: options.lease,
            batch_cap: options.batch_cap,
            done_retention: options.done_retention,
            prune_every: options.prune_every,
        };
        tokio::spawn(Writer::new(conn, rx, Arc::clone(&shared), config).run());
        Ok(EmbeddedQueue {
            commands,
            readers,
            shared,
            lease: options.lease,
            _lock: lock,
        })
    }

    /// Asks the writer for the next claimable event. Cancel-safe: if this future is dropped
    /// after the writer claimed an event, the writer gives the lease back.
    async fn claim(&self) -> Result<Claim, QueueError> {
        let (tx, rx) = oneshot::channel();
        send(&self.commands, Request::Claim, Reply::Claim(tx)).await?;
        rx.await.map_err(|_| QueueError::WriterStopped)?
    }
}

async fn send(
    commands: &mpsc::Sender<Command>,
    request: Request,
    reply: Reply,
) -> Result<(), QueueError> {
    commands
        .send(Command { request, reply })
        .await
        // The writer runs until every sender is gone, so a send fails only if it died.
        .map_err(|_| QueueError::WriterStopped)
}

/// Sends one command and waits for the writer's answer.
macro_rules! roundtrip {
    ($commands:expr, $variant:ident, $request:expr) => {{
        let (tx, rx) = oneshot::channel();
        send($commands, $request, Reply::$variant(tx)).await?;
        // The writer answers every command it takes; a dropped answer means it died.
        rx.await.map_err(|_| QueueError::WriterStopped)?
    }};
}

fn until(next_at_ms: Option<i64>) -> Duration {
    match next_at_ms {
        // +1 ms: the writer compares whole milliseconds, `available_at <= now`.
        Some(at) => {
            Duration::from_millis(u64::try_from(at.saturating_sub(db::now_ms())).unwrap_or(0) + 1)
                .min(IDLE_RECHECK)
        }
        None => IDLE_RECHECK,
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn publish(&self, envelope: Envelope) -> Result<PublishOutcome, QueueError> {
        roundtrip!(&self.commands, Publish, Request::Publish(envelope))
    }

    async fn receive(&self) -> Result<Delivery, QueueError> {
        loop {
            // Registered before looking, so a change committed meanwhile still wakes us.
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.shared.closed.load(Ordering::SeqCst) {
                return Err(QueueError::Closed);
            }
            match self.claim().await? {
                Claim::Claimed { envelope, attempt } => {
                    let acker = EmbeddedAcker {
                        commands: self.commands.clone(),
                        event_id: envelope.event_id.clone(),
                        received_at_ms: envelope.received_at_ms,
                        attempt,
                        lease: self.lease,
                    };
                    return Ok(Delivery {
                        envelope,
                        attempt,
                        acker: Box::new(acker),
                    });
                }
                Claim::Closed => return Err(QueueError::Closed),
                Claim::Empty { next_at_ms } => {
                    tokio::select! {
                        _ = &mut changed => {}
                        _ = tokio::time::sleep(until(next_at_ms)) => {}
                    }
                }
            }
        }
    }

    async fn check(&self) -> Result<(), QueueError> {
        if self.commands.is_closed() {
            return Err(QueueError::WriterStopped);
        }
        db::check(&self.readers).await
    }

    async fn stats(&self) -> QueueStats {
        QueueStats {
            ready: db::count(&self.readers, db::READY).await.ok(),
            dead: db::count(&self.readers, db::DEAD).await.ok(),
        }
    }

    async fn dead_letter_page(&self, query: DeadLetterQuery) -> Result<DeadLetterPage, QueueError> {
        db::dead_letter_page(&self.readers, &query).await
    }

    async fn requeue_dead(&self, event_id: Option<&str>) -> Result<u64, QueueError> {
        let event_id = event_id.map(str::to_owned);
        roundtrip!(&self.commands, Count, Request::RequeueDead { event_id })
    }

    /// Receivers get `Closed`; publishes and settlements still go through, so requests the
    /// receiver is finishing and in-flight events are not lost during shutdown.
    async fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.changed.notify_waiters();
    }
}

/// Settles one delivery through the writer. `attempt` doubles as a lease token: a worker whose
/// lease expired and whose event went to someone else cannot reschedule it.
struct EmbeddedAcker {
    commands: mpsc::Sender<Command>,
    event_id: String,
    received_at_ms: i64,
    attempt: u32,
    lease: Duration,
}

#[async_trait]
impl Acker for EmbeddedAcker {
    async fn ack(self: Box<Self>) -> Result<(), QueueError> {
        let event_id = self.event_id;
        roundtrip!(&self.commands, Settle, Request::Ack { event_id })
    }

    async fn retry(self: Box<Self>, reason: &str) -> Result<Retried, QueueError> {
        let request = Request::Retry {
            event_id: self.event_id,
            attempt: self.attempt,
            received_at_ms: self.received_at_ms,
            reason: reason.to_owned(),
        };
        roundtrip!(&self.commands, Retry, request)
    }

    async fn dead_letter(self: Box<Self>, reason: &str) -> Result<(), QueueError> {
        let request = Request::DeadLetter {
            event_id: self.event_id,
            attempt: self.attempt,
            reason: reason.to_owned(),
        };
        roundtrip!(&self.commands, Settle, request)
    }

    /// Renewed at a third of the lease, so one late renewal still finds it ours.
    async fn keep(&mut self) -> Result<Option<Duration>, QueueError> {
        let request = Request::Extend {
            event_id: self.event_id.clone(),
            attempt: self.attempt,
        };
        let () = roundtrip!(&self.commands, Settle, request)?;
        Ok(Some(self.lease / 3))
    }
}

#[cfg(test)]
mod tests;
