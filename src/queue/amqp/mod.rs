//! RabbitMQ transport (lapin).
//!
//! Topology (every name starts with the prefix, see [`topology`]): a direct exchange and a
//! durable quorum queue `<prefix>.events`; per-delay TTL queues `<prefix>.retry.<ms>ms` behind
//! the `<prefix>.retry` exchange that dead-letter back into the events exchange; a dead-letter
//! exchange and queue `<prefix>.dead`. Publishes are persistent, `mandatory` and confirmed. One
//! supervised connection per `AmqpQueue` (see [`session`]); the consumer starts on the first
//! `receive()`.
//!
//! `receive()` waits through broker outages (workers need no reconnect logic); `publish`,
//! `check` and the dead-letter operations fail fast with `Unavailable` while disconnected.

mod consumer;
mod dead;
mod headers;
mod session;
mod topology;

pub use topology::DELIVERY_LIMIT;

use super::{
    DeadLetterPage, DeadLetterQuery, Delivery, Envelope, PublishOutcome, Queue, QueueError,
    QueueStats, RetryPolicy,
};
use async_trait::async_trait;
use consumer::{AmqpAcker, InFlight, Incoming};
use lapin::{
    Channel,
    options::{BasicRejectOptions, QueueDeclareOptions},
    types::FieldTable,
};
use session::{Supervisor, bounded};
use std::{
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::{CancellationToken, DropGuard};
use topology::{EVENTS_KEY, Topology};
use tracing::warn;

/// How long `close()` waits for deliveries already handed out to be settled.
const CLOSE_GRACE: Duration = Duration::from_secs(15);

pub struct AmqpQueue {
    shared: Arc<Shared>,
    consumer: OnceLock<ConsumerHandle>,
    supervisor_task: Mutex<Option<JoinHandle<()>>>,
    /// Dropping the queue stops the supervisor, which closes the connection: unacked
    /// deliveries go back to the queue.
    _stop: DropGuard,
}

/// What ackers share with the queue (they may outlive it).
pub(super) struct Shared {
    sup: Arc<Supervisor>,
    policy: RetryPolicy,
    prefetch: u16,
    closed: AtomicBool,
    consumer_stop: CancellationToken,
    consumer_channel: Mutex<Option<Channel>>,
    in_flight: Arc<InFlight>,
}

struct ConsumerHandle {
    rx: tokio::sync::Mutex<mpsc::Receiver<Incoming>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl AmqpQueue {
    /// Connects, declares the topology and starts supervising the connection. Fails with
    /// `Unavailable` when the broker cannot be reached now (wrong URL, credentials, down).
    pub async fn connect(
        url: &str,
        prefix: &str,
        policy: RetryPolicy,
        prefetch: u16,
    ) -> Result<AmqpQueue, QueueError> {
        if !topology::valid_prefix(prefix) {
            return Err(QueueError::Refused(format!(
                "queue prefix {prefix:?} must be 1-200 characters of A-Z a-z 0-9 . _ -"
            )));
        }
        let stop = CancellationToken::new();
        let topology = Topology::new(prefix, &policy);
        let (sup, task) = Supervisor::start(url, topology, stop.clone()).await?;
        Ok(AmqpQueue {
            shared: Arc::new(Shared {
                sup,
                policy,
                prefetch: prefetch.max(1),
                closed: AtomicBool::new(false),
                consumer_stop: stop.child_token(),
                consumer_channel: Mutex::new(None),
                in_flight: Arc::new(InFlight::default()),
            }),
            consumer: OnceLock::new(),
            supervisor_task: Mutex::new(Some(task)),
            _stop: stop.drop_guard(),
        })
    }

    /// Deletes every queue and exchange this queue declared (tests, decommissioning).
    /// Messages in them are lost. Stops the consumer first (a consumer whose queue vanishes
    /// makes the supervisor reconnect and re-declare); afterwards only `close()` is useful.
    pub async fn delete_topology(&self) -> Result<(), QueueError> {
        self.stop_consumer().await;
        let session = self.shared.sup.session()?;
        let topology = self.shared.sup.topology();
        // A failed delete closes its channel: use a fresh one per object.
        for queue in topology.queues() {
            let channel = session.open_channel().await?;
            bounded("deleting a queue", Topology::delete_queue(&channel, &queue)).await?;
            let _ = channel.close(200, "OK".into()).await;
        }
        for exchange in topology.exchanges() {
            let channel = session.open_channel().await?;
            bounded(
                "deleting an exchange",
                Topology::delete_exchange(&channel, exchange),
            )
            .await?;
            let _ = channel.close(200, "OK".into()).await;
        }
        Ok(())
    }

    /// Cancels the consumer and waits for its task to end.
    async fn stop_consumer(&self) {
        self.shared.consumer_stop.cancel();
        let task = self
            .consumer
            .get()
            .and_then(|h| h.task.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(task) = task {
            let _ = tokio::time::timeout(session::OP_TIMEOUT, task).await;
        }
    }

    fn consumer(&self) -> &ConsumerHandle {
        self.consumer.get_or_init(|| {
            // One slot: deliveries wait in lapin's prefetch buffer, not in ours.
            let (tx, rx) = mpsc::channel(1);
            let stop = self.shared.consumer_stop.clone();
            let task = tokio::spawn(consumer::run(self.shared.clone(), tx, stop));
            ConsumerHandle {
                rx: tokio::sync::Mutex::new(rx),
                task: Mutex::new(Some(task)),
            }
        })
    }

    fn delivery(&self, mut incoming: Incoming) -> Result<Delivery, Box<Incoming>> {
        let delivery = &mut incoming.delivery;
        let body = std::mem::take(&mut delivery.data);
        let received = match headers::read(&delivery.properties, body, delivery.redelivered) {
            Ok(received) => received,
            Err(why) => {
                warn!(%why, "message without our headers in the events queue; dead-lettering it");
                return Err(Box::new(incoming));
            }
        };
        let started_at_ms = crate::rfc3339::to_ms(time::OffsetDateTime::now_utc());
        let acker = AmqpAcker {
            shared: self.shared.clone(),
            envelope: received.envelope.clone(),
            attempt: received.attempt,
            last_error: received.last_error,
            started_at_ms,
            first_attempt_at_ms: received.first_attempt_at_ms.unwrap_or(started_at_ms),
            incoming: Some(incoming),
            _in_flight: self.shared.in_flight.enter(),
        };
        Ok(Delivery {
            envelope: received.envelope,
            attempt: received.attempt,
            acker: Box::new(acker),
        })
    }
}

#[async_trait]
impl Queue for AmqpQueue {
    async fn publish(&self, envelope: Envelope) -> Result<PublishOutcome, QueueError> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(QueueError::Closed);
        }
        let props = headers::properties(&envelope, 1, &[])?;
        let session = self.shared.sup.session()?;
        let topology = self.shared.sup.topology();
        session
            .publish(&topology.events, EVENTS_KEY, props, &envelope.body)
            .await?;
        Ok(PublishOutcome::Accepted)
    }

    /// Cancel-safe: a delivery is only taken out of the channel when it is returned.
    async fn receive(&self) -> Result<Delivery, QueueError> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(QueueError::Closed);
        }
        let handle = self.consumer();
        let mut rx = handle.rx.lock().await;
        loop {
            let incoming = rx.recv().await.ok_or(QueueError::Closed)?;
            // Deliveries of a channel that has since died will be redelivered: skip them.
            if !incoming.delivery.acker.usable() {
                continue;
            }
            match self.delivery(incoming) {
                Ok(delivery) => return Ok(delivery),
                Err(foreign) => {
                    // The events queue dead-letters rejected messages (reason `rejected`).
                    tokio::spawn(async move {
                        let options = BasicRejectOptions { requeue: false };
                        let _ = foreign.delivery.acker.reject(options).await;
                    });
                }
            }
        }
    }

    async fn check(&self) -> Result<(), QueueError> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(QueueError::Closed);
        }
        let session = self.shared.sup.session()?;
        let channel = session.open_channel().await?;
        let declared = bounded(
            "checking the events queue",
            channel.queue_declare(
                self.shared.sup.topology().events.as_str().into(),
                QueueDeclareOptions::default().passive(),
                FieldTable::default(),
            ),
        )
        .await;
        let _ = tokio::time::timeout(session::OP_TIMEOUT, channel.close(200, "OK".into())).await;
        declared.map(|_| ())
    }

    async fn stats(&self) -> QueueStats {
        let Ok(session) = self.shared.sup.session() else {
            return QueueStats::default();
        };
        let Ok(channel) = session.open_channel().await else {
            return QueueStats::default();
        };
        let topology = self.shared.sup.topology();
        let mut counts = [None, None];
        for (count, queue) in counts.iter_mut().zip([&topology.events, &topology.dead]) {
            let declared = bounded(
                "counting messages",
                channel.queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions::default().passive(),
                    FieldTable::default(),
                ),
            )
            .await;
            match declared {
                Ok(q) => *count = Some(u64::from(q.message_count())),
                // A missing queue closes the channel: the next count cannot succeed either.
                Err(_) => break,
            }
        }
        let _ = tokio::time::timeout(session::OP_TIMEOUT, channel.close(200, "OK".into())).await;
        QueueStats {
            ready: counts[0],
            dead: counts[1],
        }
    }

    async fn dead_letter_page(&self, query: DeadLetterQuery) -> Result<DeadLetterPage, QueueError> {
        let session = self.shared.sup.session()?;
        dead::peek(&session, self.shared.sup.topology(), &query).await
    }

    async fn requeue_dead(&self, event_id: Option<&str>) -> Result<u64, QueueError> {
        let session = self.shared.sup.session()?;
        dead::requeue(&session, self.shared.sup.topology(), event_id).await
    }

    /// Cancels the consumer, waits (up to 15 s) for handed-out deliveries to be settled, then
    /// closes the channels and the connection. Unsettled and prefetched messages are requeued
    /// by the broker.
    async fn close(&self) {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stop_consumer().await;
        if let Some(handle) = self.consumer.get() {
            // Taken from the consumer but never handed out: requeued with the channel.
            if let Ok(mut rx) = tokio::time::timeout(session::OP_TIMEOUT, handle.rx.lock()).await {
                rx.close();
            }
            let left = self.shared.in_flight.drained(CLOSE_GRACE).await;
            if left > 0 {
                warn!(
                    left,
                    "closing with deliveries still unsettled; RabbitMQ will redeliver them"
                );
            }
        }
        let channel = self
            .shared
            .consumer_channel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(channel) = channel {
            let _ =
                tokio::time::timeout(session::OP_TIMEOUT, channel.close(200, "OK".into())).await;
        }
        self.shared.sup.stop();
        let task = self
            .supervisor_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(session::OP_TIMEOUT, task).await;
        }
    }
}
