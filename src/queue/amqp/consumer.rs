//! The consumer: one task per `AmqpQueue`, started by the first `receive()`. It consumes the
//! events queue on its own channel and hands deliveries to `receive()` through a one-slot
//! channel, so that `receive()` stays cancel-safe and several workers can call it at once. When
//! the channel or connection fails it waits for the supervisor's next session and consumes again.

use super::{
    Shared,
    headers::{self, Header},
    session::{BACKOFF_CAP, Session, bounded},
    topology::{DEAD_KEY, Topology},
};
use crate::queue::{Acker, QueueError, Retried};
use async_trait::async_trait;
use futures::StreamExt;
use lapin::{
    Channel,
    message::Delivery as LapinDelivery,
    options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions},
    types::FieldTable,
};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A delivery on its way to `receive()`, with what keeps its channel open.
pub(super) struct Incoming {
    pub delivery: LapinDelivery,
    /// Held so that the connection and channel outlive the delivery's settlement.
    pub _session: Arc<Session>,
    pub _channel: Channel,
}

pub(super) async fn run(shared: Arc<Shared>, tx: mpsc::Sender<Incoming>, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(session) = shared.sup.wait_session(&stop).await else {
            return;
        };
        match consume(&shared, &session, &tx, &stop).await {
            Ok(()) => return,
            Err(e) => {
                warn!(error = %e, "RabbitMQ consumer lost; will resume");
                // A consumer channel failing on a live connection (e.g. the queue was deleted)
                // is healed by a fresh session, which re-declares the topology.
                shared.sup.report_broken(session.generation);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(BACKOFF_CAP);
            }
        }
    }
}

/// Consumes on one session until it fails (`Err`) or `stop` fires (`Ok`).
async fn consume(
    shared: &Shared,
    session: &Arc<Session>,
    tx: &mpsc::Sender<Incoming>,
    stop: &CancellationToken,
) -> Result<(), QueueError> {
    let channel = session.open_channel().await?;
    bounded(
        "setting the prefetch",
        channel.basic_qos(shared.prefetch, Default::default()),
    )
    .await?;
    let mut consumer = bounded(
        "starting the consumer",
        channel.basic_consume(
            shared.sup.topology().events.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        ),
    )
    .await?;
    *shared
        .consumer_channel
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(channel.clone());
    info!(queue = %shared.sup.topology().events, "consuming");
    let tag = consumer.tag();
    let cancel = async || {
        let options = BasicCancelOptions::default();
        let _ = bounded("cancelling", channel.basic_cancel(tag.clone(), options)).await;
    };
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => {
                cancel().await;
                return Ok(());
            }
            next = consumer.next() => match next {
                Some(Ok(delivery)) => {
                    let incoming = Incoming {
                        delivery,
                        _session: session.clone(),
                        _channel: channel.clone(),
                    };
                    // A delivery dropped here stays unacked and is requeued when the channel
                    // closes.
                    tokio::select! {
                        sent = tx.send(incoming) => if sent.is_err() { return Ok(()) },
                        _ = stop.cancelled() => {
                            cancel().await;
                            return Ok(());
                        }
                    }
                }
                Some(Err(e)) => {
                    return Err(QueueError::Unavailable(format!("consumer failed: {e}")));
                }
                None => {
                    return Err(QueueError::Unavailable(
                        "RabbitMQ cancelled the consumer".into(),
                    ));
                }
            },
        }
    }
}

/// Deliveries handed to workers and not yet settled; `close()` waits for them.
#[derive(Default)]
pub(super) struct InFlight {
    count: AtomicUsize,
    zero: Notify,
}

impl InFlight {
    pub(super) fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    /// Waits until no delivery is in flight, at most `grace`; returns how many are left.
    pub(super) async fn drained(&self, grace: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let notified = self.zero.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let left = self.count.load(Ordering::SeqCst);
            if left == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return left;
            }
        }
    }
}

pub(super) struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.zero.notify_waiters();
        }
    }
}

pub(super) struct AmqpAcker {
    pub shared: Arc<Shared>,
    pub incoming: Option<Incoming>,
    pub envelope: crate::queue::Envelope,
    pub attempt: u32,
    pub last_error: Option<String>,
    /// When this attempt started (Unix ms), and when the event's first one did.
    pub started_at_ms: i64,
    pub first_attempt_at_ms: i64,
    pub _in_flight: InFlightGuard,
}

impl AmqpAcker {
    /// Acks the original once its successor (retry copy or dead letter) is confirmed.
    async fn ack_original(&mut self) -> Result<(), QueueError> {
        let Some(incoming) = self.incoming.take() else {
            return Err(QueueError::Closed);
        };
        let acked = tokio::time::timeout(
            super::session::OP_TIMEOUT,
            incoming.delivery.acker.ack(BasicAckOptions::default()),
        )
        .await;
        match acked {
            Ok(Ok(true)) => Ok(()),
            // The channel died: the broker redelivers the original.
            Ok(Ok(false)) => Err(QueueError::Unavailable(
                "channel closed before the ack; RabbitMQ will redeliver".into(),
            )),
            Ok(Err(e)) => Err(QueueError::Unavailable(format!("ack failed: {e}"))),
            Err(_) => Err(QueueError::Unavailable("ack timed out".into())),
        }
    }

    async fn publish_dead(&mut self, reason: &str, last_error: &str) -> Result<(), QueueError> {
        let attempts = i64::from(self.attempt);
        let props = headers::properties(
            &self.envelope,
            self.attempt,
            &[
                (headers::REASON, Header::Text(headers::clip(reason))),
                (headers::ATTEMPTS, Header::Int(attempts)),
                (headers::LAST_ERROR, Header::Text(headers::clip(last_error))),
                (
                    headers::FIRST_ATTEMPT_AT_MS,
                    Header::Int(self.first_attempt_at_ms),
                ),
                (headers::LAST_ATTEMPT_AT_MS, Header::Int(self.started_at_ms)),
            ],
        )?;
        let topology = self.shared.sup.topology();
        let session = self.shared.sup.session()?;
        session
            .publish(&topology.dead, DEAD_KEY, props, &self.envelope.body)
            .await?;
        self.ack_original().await
    }
}

#[async_trait]
impl Acker for AmqpAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), QueueError> {
        self.ack_original().await
    }

    async fn retry(mut self: Box<Self>, reason: &str) -> Result<Retried, QueueError> {
        let policy = self.shared.policy;
        let now_ms = crate::rfc3339::to_ms(time::OffsetDateTime::now_utc());
        if policy.gives_up(self.attempt, self.envelope.received_at_ms, now_ms) {
            let why = format!("gave up after {} attempts: {reason}", self.attempt);
            self.publish_dead(&why, reason).await?;
            return Ok(Retried::DeadLettered);
        }
        let delay = policy.delay_after(self.attempt);
        let props = headers::properties(
            &self.envelope,
            self.attempt.saturating_add(1),
            &[
                (headers::LAST_ERROR, Header::Text(headers::clip(reason))),
                (
                    headers::FIRST_ATTEMPT_AT_MS,
                    Header::Int(self.first_attempt_at_ms),
                ),
            ],
        )?;
        let session = self.shared.sup.session()?;
        session
            .publish(
                &self.shared.sup.topology().retry,
                &Topology::retry_key(delay),
                props,
                &self.envelope.body,
            )
            .await?;
        self.ack_original().await?;
        Ok(Retried::Later(delay))
    }

    async fn dead_letter(mut self: Box<Self>, reason: &str) -> Result<(), QueueError> {
        let last_error = self.last_error.clone().unwrap_or_else(|| reason.to_owned());
        self.publish_dead(reason, &last_error).await
    }
}

impl Drop for AmqpAcker {
    /// A delivery dropped unsettled (a worker panicked) goes back to the queue now rather than
    /// when the channel closes; the quorum queue counts it towards the delivery limit.
    fn drop(&mut self) {
        let Some(incoming) = self.incoming.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let options = BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                };
                let _ = incoming.delivery.acker.nack(options).await;
            });
        }
    }
}
