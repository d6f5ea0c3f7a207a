//! The connection supervisor. lapin reports a broken connection but does not hide it, so one
//! task owns the connection: it declares the topology, publishes the live [`Session`], and on
//! any sign of failure withdraws it, reconnects with capped exponential backoff and re-declares.
//! While no session is published every operation fails fast with `Unavailable`.

use super::topology::Topology;
use crate::queue::QueueError;
use futures::StreamExt;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, Event,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    uri::AMQPUri,
};
use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::{Notify, Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound on any single broker round trip, confirms included.
pub(super) const OP_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_START: Duration = Duration::from_millis(100);
pub(super) const BACKOFF_CAP: Duration = Duration::from_secs(3);
/// Heartbeat asked for when the URL names none: detects a silently dead peer in ~2 intervals.
const HEARTBEAT_SECS: u16 = 10;
const HEALTH_POLL: Duration = Duration::from_millis(200);
/// Confirm channels per connection (opened as needed, so as many publishes can wait for
/// their confirms at once as the receiver has requests in flight). Each carries one publish
/// at a time so that a returned
/// (unroutable) message is attributed to the publish that caused it: lapin hands a
/// `basic.return` to whichever pending confirm completes next.
const PUBLISH_CHANNELS: usize = 128;

/// One live connection.
pub(super) struct Session {
    pub generation: u64,
    pub conn: Connection,
    idle: Mutex<Vec<Channel>>,
    permits: Semaphore,
}

impl Session {
    pub(super) fn healthy(&self) -> bool {
        self.conn.status().connected()
    }

    pub(super) async fn open_channel(&self) -> Result<Channel, QueueError> {
        bounded("opening a channel", self.conn.create_channel()).await
    }

    /// Publishes with `mandatory` and waits for the broker's confirm. Only a plain ack is
    /// success: a nack, a returned message, an error or a timeout is not.
    pub(super) async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        props: BasicProperties,
        body: &[u8],
    ) -> Result<(), QueueError> {
        if !self.healthy() {
            return Err(QueueError::Unavailable(
                "connection to RabbitMQ lost".into(),
            ));
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| QueueError::Unavailable("connection closing".into()))?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let channel = match idle.filter(|c| c.status().connected()) {
            Some(channel) => channel,
            None => self.confirm_channel().await?,
        };
        let options = BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        };
        let confirmed = tokio::time::timeout(OP_TIMEOUT, async {
            channel
                .basic_publish(exchange.into(), routing_key.into(), options, body, props)
                .await?
                .await
        })
        .await;
        // A channel whose publish timed out or failed is dropped (and so closed): a late confirm
        // on it would otherwise be taken for the next publish's.
        let outcome = match confirmed {
            Err(_) => {
                return Err(QueueError::Unavailable(format!(
                    "no confirm from RabbitMQ within {OP_TIMEOUT:?}"
                )));
            }
            Ok(Err(e)) => {
                return Err(QueueError::Unavailable(format!("publish failed: {e}")));
            }
            Ok(Ok(confirmation)) => confirmation,
        };
        let result = match outcome {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) => Err(QueueError::Refused(format!(
                "unroutable: {} {} (exchange {exchange}, key {routing_key})",
                returned.reply_code, returned.reply_text
            ))),
            Confirmation::Nack(_) => Err(QueueError::Refused("RabbitMQ nacked the message".into())),
            Confirmation::NotRequested => {
                return Err(QueueError::Unavailable(
                    "channel not in confirm mode".into(),
                ));
            }
        };
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(channel);
        result
    }

    async fn confirm_channel(&self) -> Result<Channel, QueueError> {
        let channel = self.open_channel().await?;
        bounded(
            "enabling publisher confirms",
            channel.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        Ok(channel)
    }
}

/// Runs a broker operation with [`OP_TIMEOUT`]; errors and timeouts mean `Unavailable`.
pub(super) async fn bounded<T>(
    what: &str,
    op: impl Future<Output = lapin::Result<T>>,
) -> Result<T, QueueError> {
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(QueueError::Unavailable(format!("{what}: {e}"))),
        Err(_) => Err(QueueError::Unavailable(format!(
            "{what}: no answer within {OP_TIMEOUT:?}"
        ))),
    }
}

pub(super) struct Supervisor {
    uri: AMQPUri,
    topology: Topology,
    current: watch::Sender<Option<Arc<Session>>>,
    broken_generation: AtomicU64,
    broken: Notify,
    stop: CancellationToken,
}

impl Supervisor {
    /// Connects once (so that a wrong URL or credentials fail at startup), then supervises.
    pub(super) async fn start(
        url: &str,
        topology: Topology,
        stop: CancellationToken,
    ) -> Result<(Arc<Self>, tokio::task::JoinHandle<()>), QueueError> {
        // The URL may hold a password: never echo it.
        let mut uri: AMQPUri = url
            .parse()
            .map_err(|e| QueueError::Unavailable(format!("invalid AMQP URL: {e}")))?;
        if uri.query.heartbeat.is_none() {
            uri.query.heartbeat = Some(HEARTBEAT_SECS);
        }
        let sup = Arc::new(Supervisor {
            uri,
            topology,
            current: watch::Sender::new(None),
            broken_generation: AtomicU64::new(0),
            broken: Notify::new(),
            stop,
        });
        let session = sup.connect(1).await?;
        sup.current.send_replace(Some(Arc::new(session)));
        let task = tokio::spawn(sup.clone().run());
        Ok((sup, task))
    }

    pub(super) fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The live session, or `Unavailable` while reconnecting.
    pub(super) fn session(&self) -> Result<Arc<Session>, QueueError> {
        match &*self.current.borrow() {
            Some(s) if s.healthy() => Ok(s.clone()),
            _ => Err(QueueError::Unavailable(
                "not connected to RabbitMQ (reconnecting)".into(),
            )),
        }
    }

    /// Waits for a session; `None` once `stop` (or the supervisor's own stop) fires.
    pub(super) async fn wait_session(&self, stop: &CancellationToken) -> Option<Arc<Session>> {
        let mut rx = self.current.subscribe();
        tokio::select! {
            r = rx.wait_for(|s| s.as_ref().is_some_and(|s| s.healthy())) => {
                r.ok().and_then(|s| s.clone())
            }
            _ = stop.cancelled() => None,
            _ = self.stop.cancelled() => None,
        }
    }

    /// Stops supervising and closes the connection.
    pub(super) fn stop(&self) {
        self.stop.cancel();
    }

    /// Someone saw this session fail (e.g. a consumer channel error): replace it.
    pub(super) fn report_broken(&self, generation: u64) {
        self.broken_generation.store(generation, Ordering::SeqCst);
        self.broken.notify_one();
    }

    async fn run(self: Arc<Self>) {
        let mut generation = 1;
        loop {
            let live = self.current.borrow().clone();
            if let Some(session) = live {
                self.watch(&session).await;
                self.current.send_replace(None);
                close_quietly(&session.conn).await;
                if self.stop.is_cancelled() {
                    return;
                }
                warn!(generation, "RabbitMQ connection lost; reconnecting");
            }
            let lost_at = Instant::now();
            let mut backoff = BACKOFF_START;
            loop {
                generation += 1;
                match self.connect(generation).await {
                    Ok(session) => {
                        info!(generation, after = ?lost_at.elapsed(), "reconnected to RabbitMQ");
                        self.current.send_replace(Some(Arc::new(session)));
                        break;
                    }
                    Err(e) => {
                        warn!(error = %e, retry_in = ?backoff, "RabbitMQ reconnect failed");
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = self.stop.cancelled() => return,
                        }
                        backoff = (backoff * 2).min(BACKOFF_CAP);
                    }
                }
            }
        }
    }

    /// Returns once the session is broken or the supervisor is stopped.
    async fn watch(&self, session: &Session) {
        let mut events = session.conn.events_listener();
        let mut poll = tokio::time::interval(HEALTH_POLL);
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = self.broken.notified() => {
                    if self.broken_generation.load(Ordering::SeqCst) == session.generation {
                        return;
                    }
                }
                event = events.next() => match event {
                    Some(Event::Error(e)) => {
                        warn!(error = %e, "RabbitMQ connection error");
                        return;
                    }
                    Some(Event::ConnectionBlocked(reason)) => {
                        warn!(%reason, "RabbitMQ blocked publishing (resource alarm)");
                    }
                    Some(_) => {}
                    None => return,
                },
                _ = poll.tick() => if !session.healthy() { return },
            }
        }
    }

    async fn connect(&self, generation: u64) -> Result<Session, QueueError> {
        let props = ConnectionProperties::default()
            .with_connection_name(format!("onbehalf {}", self.topology.events).into());
        let conn = match tokio::time::timeout(
            CONNECT_TIMEOUT,
            Connection::connect_uri(self.uri.clone(), props),
        )
        .await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                return Err(QueueError::Unavailable(format!(
                    "connecting to RabbitMQ: {e}"
                )));
            }
            Err(_) => {
                return Err(QueueError::Unavailable(format!(
                    "connecting to RabbitMQ: no answer within {CONNECT_TIMEOUT:?}"
                )));
            }
        };
        let session = Session {
            generation,
            conn,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(PUBLISH_CHANNELS),
        };
        let declared = async {
            let channel = session.open_channel().await?;
            bounded("declaring the topology", self.topology.declare(&channel)).await?;
            let _ = tokio::time::timeout(OP_TIMEOUT, channel.close(200, "OK".into())).await;
            Ok::<_, QueueError>(())
        }
        .await;
        if let Err(e) = declared {
            close_quietly(&session.conn).await;
            return Err(e);
        }
        Ok(session)
    }
}

pub(super) async fn close_quietly(conn: &Connection) {
    if conn.status().connected() {
        let _ = tokio::time::timeout(OP_TIMEOUT, conn.close(200, "OK".into())).await;
    }
}
