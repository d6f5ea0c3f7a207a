//! The durable queue between the receiver and the workers.
//!
//! One trait, two transports: `embedded` (a SQLite file under the data folder, the default) and
//! `amqp` (RabbitMQ through lapin, for several processes). Delivery is at-least-once; the worker
//! makes effects exactly-once on its side.

pub mod amqp;
pub mod embedded;

use async_trait::async_trait;
use bytes::Bytes;
use serde::Serialize;
use std::time::Duration;

use crate::workflow::TicketId;

/// One accepted webhook, as it travels through the queue. Transports store the fields as
/// columns or message headers and the body untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The helpdesk's event id (dedupe key).
    pub event_id: String,
    /// Routing and ordering key.
    pub ticket_id: TicketId,
    /// Which helpdesk adapter parses `body` (e.g. `zendesk`).
    pub source: String,
    /// Unix milliseconds when the receiver accepted it (for the event-age metric).
    pub received_at_ms: i64,
    /// The raw webhook body, exactly as signed.
    pub body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Durably stored (committed / confirmed by the broker).
    Accepted,
    /// The queue already holds (or held) this event id.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue cannot take or give events right now (broker down, disk error); retry later.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    /// The queue refused this message (nack, unroutable).
    #[error("queue refused the message: {0}")]
    Refused(String),
    /// Closed on purpose (shutdown): stop using it.
    #[error("queue shut down")]
    Closed,
    /// The embedded queue's writer task is gone, or dropped this request without an answer
    /// (it panicked, or the runtime is stopping). Not the disk's fault and not a shutdown:
    /// nothing was committed for this request, and nothing will be until the process restarts.
    #[error(
        "the embedded queue's writer stopped without answering (a bug, or the runtime is stopping)"
    )]
    WriterStopped,
    /// The embedded queue belongs to another process (a running `serve`), which holds its
    /// lock; `holder` is that process's id when it wrote it.
    #[error(
        "{path} is locked by {}: the embedded queue has one owner at a time (to run several processes, use an AMQP queue)",
        holder.map_or("another process".to_owned(), |pid| format!("process {pid}"))
    )]
    Locked { path: String, holder: Option<u32> },
    /// A dead-letter position (`after`) this queue cannot place: not one it handed out, or
    /// (AMQP) an event that is no longer dead-lettered.
    #[error("{0}")]
    BadPosition(String),
}

impl QueueError {
    /// Not this request's fault: the same request may pass later (once the broker or disk is
    /// back, or after a restart), so the caller keeps what it has and retries. A shutdown, a
    /// refusal, a lock held by another owner or a bad position will not pass by waiting.
    pub fn is_transient(&self) -> bool {
        match self {
            QueueError::Unavailable(_) | QueueError::WriterStopped => true,
            QueueError::Refused(_)
            | QueueError::Closed
            | QueueError::Locked { .. }
            | QueueError::BadPosition(_) => false,
        }
    }
}

/// When and how often an event whose own handling failed is retried before it is
/// dead-lettered; the same on every transport. Outages of a dependency are not failures of
/// the event and spend nothing here (see `worker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts at least (the first delivery counts)…
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// …and for at least this long since the event was accepted; only then is it
    /// dead-lettered. Zero: attempts alone decide.
    pub budget: Duration,
}

impl RetryPolicy {
    /// Exponential backoff: base, 2×base, 4×base … capped at `max_delay`, and from attempt
    /// `max_attempts - 1` on the same delay (RabbitMQ keeps one delay queue per delay).
    /// `attempt` is the attempt that just failed (1 = first delivery).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let attempt = attempt.min(self.max_attempts.saturating_sub(1).max(1));
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Whether an event that failed on `attempt`, accepted at `received_at_ms`, has used up
    /// its retries at `now_ms`.
    pub fn gives_up(&self, attempt: u32, received_at_ms: i64, now_ms: i64) -> bool {
        let age = Duration::from_millis(u64::try_from(now_ms - received_at_ms).unwrap_or(0));
        attempt >= self.max_attempts && age.saturating_add(self.delay_after(attempt)) > self.budget
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            budget: Duration::from_secs(6 * 3600),
        }
    }
}

/// Counts for `/metrics` and `/readyz`, where the transport can tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub ready: Option<u64>,
    pub dead: Option<u64>,
}

/// A dead-lettered event and why, as `GET /api/dead-letters` and `onbehalf dead-letters list`
/// show it (times in RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub event_id: String,
    pub ticket_id: TicketId,
    /// Which helpdesk adapter the event is for (`zendesk`, `zendesk.ticket_changed`…).
    pub source: String,
    pub attempts: u32,
    /// Why it was dead-lettered: the last attempt's error.
    pub reason: String,
    /// When the receiver accepted the webhook.
    #[serde(serialize_with = "crate::rfc3339::ms")]
    pub received_at: i64,
    /// When a worker first took it (unknown for messages dead-lettered before this was
    /// recorded).
    #[serde(serialize_with = "crate::rfc3339::option_ms")]
    pub first_attempt_at: Option<i64>,
    /// When the last attempt started.
    #[serde(serialize_with = "crate::rfc3339::option_ms")]
    pub last_attempt_at: Option<i64>,
}

/// Which dead letters to list: oldest first, `limit` of them, after the position `after` (a
/// [`DeadLetterPage::next`] from the previous page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterQuery {
    pub after: Option<String>,
    pub limit: usize,
}

/// One page of dead letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetterPage {
    pub dead_letters: Vec<DeadLetter>,
    /// Pass as `after` for the next page; `None` on the last page. Opaque: its form depends on
    /// the transport.
    pub next: Option<String>,
}

/// What became of a failed attempt handed to [`Acker::retry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retried {
    /// Delivered again after this delay.
    Later(Duration),
    /// The attempts and the retry budget are used up: it is in the dead letters now.
    DeadLettered,
}

/// One event handed to a worker; settle it with exactly one of the acker's methods.
pub struct Delivery {
    pub envelope: Envelope,
    /// 1 on first delivery.
    pub attempt: u32,
    pub acker: Box<dyn Acker>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("event_id", &self.envelope.event_id)
            .field("attempt", &self.attempt)
            .finish()
    }
}

#[async_trait]
pub trait Acker: Send {
    /// The event's effects are committed: remove it for good.
    async fn ack(self: Box<Self>) -> Result<(), QueueError>;
    /// A transient failure: deliver again after the policy's backoff, or dead-letter it with
    /// `reason` once the attempts are used up; says which.
    async fn retry(self: Box<Self>, reason: &str) -> Result<Retried, QueueError>;
    /// A permanent failure (malformed event): dead-letter it now with `reason`.
    async fn dead_letter(self: Box<Self>, reason: &str) -> Result<(), QueueError>;
    /// Keeps an event the worker holds unsettled (its helpdesk is down) from going to another
    /// worker: renews its lease. Returns when to renew it again; `None` (the default): the
    /// transport has no lease to renew (AMQP keeps an unacked message with its consumer).
    async fn keep(&mut self) -> Result<Option<Duration>, QueueError> {
        Ok(None)
    }
}

#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Stores the event durably; returns only once it survives a crash.
    async fn publish(&self, envelope: Envelope) -> Result<PublishOutcome, QueueError>;
    /// Waits for the next event. Events of one ticket are not handed out concurrently where the
    /// transport can guarantee it. Returns `Err(Closed)` after `close`.
    async fn receive(&self) -> Result<Delivery, QueueError>;
    /// Whether the queue answers (for `/readyz`).
    async fn check(&self) -> Result<(), QueueError>;
    async fn stats(&self) -> QueueStats;
    /// One page of the dead letters, oldest first. A `query.after` the transport cannot place
    /// is `BadPosition`.
    async fn dead_letter_page(&self, query: DeadLetterQuery) -> Result<DeadLetterPage, QueueError>;
    /// The first `limit` dead letters, oldest first.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let query = DeadLetterQuery { after: None, limit };
        Ok(self.dead_letter_page(query).await?.dead_letters)
    }
    /// Moves dead-lettered events back to the queue as fresh events (all, or the one with
    /// `event_id`); returns how many.
    async fn requeue_dead(&self, event_id: Option<&str>) -> Result<u64, QueueError>;
    /// Stops handing out events; in-flight ones may still be settled.
    async fn close(&self);
}
