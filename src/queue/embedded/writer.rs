//! The single writer task: every change to the queue file goes through it.
//!
//! It takes all commands waiting in its channel (up to a cap) and applies them in ONE
//! transaction, so one fsync covers a whole group of publishes, claims and settlements (group
//! commit). Only then does it answer each caller. One writer also means SQLite never sees two
//! write transactions competing for its lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Notify, mpsc, oneshot};

use super::db::{millis, now_ms};
use super::sql;
use crate::queue::{Envelope, PublishOutcome, QueueError, Retried, RetryPolicy};

/// State shared by the queue handle, its ackers and the writer.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Woken after every change that can make a message claimable (and on close).
    pub(super) changed: Notify,
    pub(super) closed: AtomicBool,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct WriterConfig {
    pub(super) policy: RetryPolicy,
    pub(super) lease: Duration,
    pub(super) batch_cap: usize,
    pub(super) done_retention: Duration,
    pub(super) prune_every: Duration,
}

pub(super) enum Request {
    Publish(Envelope),
    Claim,
    Ack {
        event_id: String,
    },
    Retry {
        event_id: String,
        attempt: u32,
        /// When the event was accepted: the retry budget runs from there.
        received_at_ms: i64,
        reason: String,
    },
    DeadLetter {
        event_id: String,
        attempt: u32,
        reason: String,
    },
    RequeueDead {
        event_id: Option<String>,
    },
    /// Renews the lease of an event its worker holds.
    Extend {
        event_id: String,
        attempt: u32,
    },
}

pub(super) enum Reply {
    Publish(oneshot::Sender<Result<PublishOutcome, QueueError>>),
    Claim(oneshot::Sender<Result<Claim, QueueError>>),
    Settle(oneshot::Sender<Result<(), QueueError>>),
    Retry(oneshot::Sender<Result<Retried, QueueError>>),
    Count(oneshot::Sender<Result<u64, QueueError>>),
}

pub(super) struct Command {
    pub(super) request: Request,
    pub(super) reply: Reply,
}

/// What a claim found.
pub(super) enum Claim {
    Claimed {
        envelope: Envelope,
        attempt: u32,
    },
    /// Nothing claimable now; `next_at_ms` is the earliest moment something may become so
    /// without any further command (a backoff or a lease running out).
    Empty {
        next_at_ms: Option<i64>,
    },
    Closed,
}

enum Answer {
    Publish(PublishOutcome),
    Claim(Claim),
    Settled,
    Retried(Retried),
    Count(u64),
    /// A lease renewed: nothing new to claim.
    Extended,
    /// The caller went away before we got to its claim.
    Skipped,
}

impl Answer {
    /// Whether a waiting receiver could now find something it could not before. A successful
    /// claim counts too: idle receivers must learn its lease deadline.
    fn may_wake(&self) -> bool {
        match self {
            Answer::Publish(outcome) => *outcome == PublishOutcome::Accepted,
            Answer::Claim(Claim::Claimed { .. }) | Answer::Settled | Answer::Retried(_) => true,
            Answer::Count(n) => *n > 0,
            Answer::Claim(_) | Answer::Extended | Answer::Skipped => false,
        }
    }
}

fn mismatch() -> QueueError {
    QueueError::Unavailable("embedded queue: internal reply mismatch".into())
}

impl Reply {
    fn is_closed(&self) -> bool {
        match self {
            Reply::Publish(tx) => tx.is_closed(),
            Reply::Claim(tx) => tx.is_closed(),
            Reply::Settle(tx) => tx.is_closed(),
            Reply::Retry(tx) => tx.is_closed(),
            Reply::Count(tx) => tx.is_closed(),
        }
    }

    /// Answers the caller. Returns a claimed message nobody received any more (the `receive`
    /// future was dropped): its lease must be given back.
    fn send(self, answer: Result<Answer, QueueError>) -> Option<(String, u32)> {
        // A dropped receiver of a publish/settle reply is fine: the change is committed.
        match (self, answer) {
            (Reply::Publish(tx), Ok(Answer::Publish(o))) => drop(tx.send(Ok(o))),
            (Reply::Claim(tx), Ok(Answer::Claim(c))) => {
                if let Err(Ok(Claim::Claimed { envelope, attempt })) = tx.send(Ok(c)) {
                    return Some((envelope.event_id, attempt));
                }
            }
            (Reply::Claim(_), Ok(Answer::Skipped)) => {}
            (Reply::Settle(tx), Ok(Answer::Settled | Answer::Extended)) => drop(tx.send(Ok(()))),
            (Reply::Retry(tx), Ok(Answer::Retried(r))) => drop(tx.send(Ok(r))),
            (Reply::Count(tx), Ok(Answer::Count(n))) => drop(tx.send(Ok(n))),
            (reply, Ok(_)) => reply.fail(mismatch()),
            (reply, Err(e)) => reply.fail(e),
        }
        None
    }

    fn fail(self, err: QueueError) {
        match self {
            Reply::Publish(tx) => drop(tx.send(Err(err))),
            Reply::Claim(tx) => drop(tx.send(Err(err))),
            Reply::Settle(tx) => drop(tx.send(Err(err))),
            Reply::Retry(tx) => drop(tx.send(Err(err))),
            Reply::Count(tx) => drop(tx.send(Err(err))),
        }
    }
}

pub(super) struct Writer {
    conn: SqliteConnection,
    rx: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
    config: WriterConfig,
    /// Claims whose caller vanished after the commit; released in the next transaction.
    releases: Vec<(String, u32)>,
    last_prune: Instant,
}

impl Writer {
    pub(super) fn new(
        conn: SqliteConnection,
        rx: mpsc::Receiver<Command>,
        shared: Arc<Shared>,
        config: WriterConfig,
    ) -> Self {
        Writer {
            conn,
            rx,
            shared,
            config,
            releases: Vec::new(),
            // Prune soon after start, not only after a full interval of uptime.
            last_prune: Instant::now()
                .checked_sub(config.prune_every)
                .unwrap_or_else(Instant::now),
        }
    }

    /// Runs until every handle (queue and ackers) is gone, finishing what is queued.
    pub(super) async fn run(mut self) {
        let cap = self.config.batch_cap.max(1);
        loop {
            let mut batch = Vec::with_capacity(cap.min(64));
            if self.releases.is_empty() {
                match tokio::time::timeout(self.config.prune_every, self.rx.recv()).await {
                    Ok(Some(cmd)) => batch.push(cmd),
                    Ok(None) => break,
                    Err(_idle) => {}
                }
            }
            self.drain_into(&mut batch, cap);
            if !batch.is_empty() && batch.len() < cap {
                // Callers answered by the previous commit are usually about to send again:
                // letting them run first makes this group bigger at the cost of microseconds.
                tokio::task::yield_now().await;
                self.drain_into(&mut batch, cap);
            }
            if !batch.is_empty() || !self.releases.is_empty() {
                self.run_batch(batch).await;
            }
            if self.last_prune.elapsed() >= self.config.prune_every {
                self.prune().await;
            }
        }
        let _ = self.conn.close().await;
    }

    fn drain_into(&mut self, batch: &mut Vec<Command>, cap: usize) {
        while batch.len() < cap {
            match self.rx.try_recv() {
                Ok(cmd) => batch.push(cmd),
                Err(_) => break,
            }
        }
    }

    async fn run_batch(&mut self, batch: Vec<Command>) {
        let releases = std::mem::take(&mut self.releases);
        let (requests, replies): (Vec<Request>, Vec<Reply>) =
            batch.into_iter().map(|c| (c.request, c.reply)).unzip();
        let skip: Vec<bool> = replies.iter().map(Reply::is_closed).collect();
        match self.apply(&requests, &skip, &releases).await {
            Ok(answers) => {
                let mut wake = !releases.is_empty();
                for (reply, answer) in replies.into_iter().zip(answers) {
                    wake |= answer.may_wake();
                    if let Some(release) = reply.send(Ok(answer)) {
                        self.releases.push(release);
                    }
                }
                if wake {
                    self.shared.changed.notify_waiters();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, commands = replies.len(), "embedded queue: write failed");
                // Leases not given back here simply expire.
                let msg = format!("embedded queue: {e}");
                for reply in replies {
                    reply.fail(QueueError::Unavailable(msg.clone()));
                }
            }
        }
    }

    async fn apply(
        &mut self,
        requests: &[Request],
        skip: &[bool],
        releases: &[(String, u32)],
    ) -> Result<Vec<Answer>, sqlx::Error> {
        let now = now_ms();
        let config = self.config;
        let closed = self.shared.closed.load(Ordering::SeqCst);
        let mut tx = self.conn.begin_with("BEGIN IMMEDIATE").await?;
        for (event_id, attempt) in releases {
            sql::release(&mut tx, event_id, *attempt).await?;
        }
        // Publishes first, in one statement: per-statement round trips to SQLite's thread,
        // not the fsync, are what limits a batch on a busy machine.
        let envelopes: Vec<&Envelope> = requests
            .iter()
            .filter_map(|r| match r {
                Request::Publish(e) => Some(e),
                _ => None,
            })
            .collect();
        let mut inserted = sql::insert_many(&mut tx, &envelopes, now).await?;
        let mut leases_expired = false;
        let mut answers = Vec::with_capacity(requests.len());
        for (request, &skip) in requests.iter().zip(skip) {
            let answer = match request {
                // `remove`: the first publish of an id took the row, later ones are duplicates.
                Request::Publish(e) => Answer::Publish(if inserted.remove(&e.event_id) {
                    PublishOutcome::Accepted
                } else {
                    PublishOutcome::Duplicate
                }),
                Request::Claim if skip => Answer::Skipped,
                Request::Claim if closed => Answer::Claim(Claim::Closed),
                Request::Claim => {
                    if !leases_expired {
                        sql::expire_leases(&mut tx, now).await?;
                        leases_expired = true;
                    }
                    let lease_until = now.saturating_add(millis(config.lease));
                    Answer::Claim(sql::claim(&mut tx, now, lease_until).await?)
                }
                Request::Ack { event_id } => {
                    sql::ack(&mut tx, event_id, now).await?;
                    Answer::Settled
                }
                Request::Retry {
                    event_id,
                    attempt,
                    received_at_ms,
                    reason,
                } => {
                    if config.policy.gives_up(*attempt, *received_at_ms, now) {
                        sql::dead_letter(&mut tx, event_id, *attempt, reason, now).await?;
                        Answer::Retried(Retried::DeadLettered)
                    } else {
                        let delay = config.policy.delay_after(*attempt);
                        let at = now.saturating_add(millis(delay));
                        sql::retry_at(&mut tx, event_id, *attempt, reason, at).await?;
                        Answer::Retried(Retried::Later(delay))
                    }
                }
                Request::DeadLetter {
                    event_id,
                    attempt,
                    reason,
                } => {
                    sql::dead_letter(&mut tx, event_id, *attempt, reason, now).await?;
                    Answer::Settled
                }
                Request::RequeueDead { event_id } => {
                    Answer::Count(sql::requeue_dead(&mut tx, event_id.as_deref(), now).await?)
                }
                Request::Extend { event_id, attempt } => {
                    let lease_until = now.saturating_add(millis(config.lease));
                    sql::extend_lease(&mut tx, event_id, *attempt, lease_until).await?;
                    Answer::Extended
                }
            };
            answers.push(answer);
        }
        tx.commit().await?;
        Ok(answers)
    }

    /// Drops `done` rows older than the retention, in bounded chunks so that publishes never
    /// wait behind one huge delete.
    async fn prune(&mut self) {
        self.last_prune = Instant::now();
        let before = now_ms().saturating_sub(millis(self.config.done_retention));
        let mut total = 0;
        loop {
            match sql::prune_done(&mut self.conn, before).await {
                Ok(n) => {
                    total += n;
                    if n < sql::PRUNE_CHUNK {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "embedded queue: pruning settled events failed");
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
        if total > 0 {
            tracing::debug!(
                pruned = total,
                "embedded queue: pruned settled events past retention"
            );
        }
    }
}
