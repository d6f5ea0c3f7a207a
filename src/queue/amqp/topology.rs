//! Names and arguments of every exchange and queue, declared idempotently on each (re)connect.
//!
//! `deploy/rabbitmq/definitions.json` holds the same topology for prefix `onbehalf` and the
//! default retry policy; keep the two in step.

use crate::queue::RetryPolicy;
use lapin::{
    Channel, ExchangeKind,
    options::QueueDeleteOptions,
    options::{
        ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable, LongString, ShortString},
};
use std::time::Duration;

/// Routing key from the events exchange to the events queue.
pub(super) const EVENTS_KEY: &str = "event";
/// Routing key from the dead-letter exchange to the dead queue.
pub(super) const DEAD_KEY: &str = "dead";
/// Deliveries of one message (quorum `x-delivery-count`) before the broker dead-letters it on
/// its own. Fixed rather than derived from the retry policy: a queue's arguments cannot change
/// after it is declared, and this limit only catches messages that kill workers before they can
/// settle them (ordinary failures go through `retry`, which publishes a fresh copy). It is set
/// well above a handful because graceful restarts also return prefetched messages.
pub const DELIVERY_LIMIT: i64 = 20;

#[derive(Debug, Clone)]
pub(super) struct Topology {
    /// Both the events exchange and the events (quorum) queue.
    pub events: String,
    /// Exchange in front of the per-delay TTL queues.
    pub retry: String,
    /// Both the dead-letter exchange and the dead queue.
    pub dead: String,
    prefix: String,
    /// Distinct delays of the retry policy, ascending.
    tiers: Vec<Duration>,
}

impl Topology {
    pub(super) fn new(prefix: &str, policy: &RetryPolicy) -> Self {
        // At least one tier: within the time budget even a single-attempt policy retries.
        let mut tiers: Vec<Duration> = (1..policy.max_attempts.max(2))
            .map(|attempt| policy.delay_after(attempt))
            .collect();
        tiers.sort();
        tiers.dedup();
        Topology {
            events: format!("{prefix}.events"),
            retry: format!("{prefix}.retry"),
            dead: format!("{prefix}.dead"),
            prefix: prefix.to_owned(),
            tiers,
        }
    }

    /// Routing key on the retry exchange for a delay; every delay the policy produces has a tier.
    pub(super) fn retry_key(delay: Duration) -> String {
        delay.as_millis().to_string()
    }

    fn retry_queue(&self, delay: Duration) -> String {
        format!("{}.retry.{}ms", self.prefix, delay.as_millis())
    }

    pub(super) fn events_queue_args(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), text("quorum"));
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(DELIVERY_LIMIT),
        );
        args.insert("x-dead-letter-exchange".into(), text(&self.dead));
        args.insert("x-dead-letter-routing-key".into(), text(DEAD_KEY));
        // At-least-once dead-lettering (RabbitMQ ≥ 3.10) needs reject-publish overflow; without
        // it a message that hits the delivery limit could be lost on the way to the dead queue.
        args.insert("x-dead-letter-strategy".into(), text("at-least-once"));
        args.insert("x-overflow".into(), text("reject-publish"));
        args
    }

    pub(super) async fn declare(&self, ch: &Channel) -> lapin::Result<()> {
        for exchange in [&self.events, &self.retry, &self.dead] {
            ch.exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        }
        declare_queue(
            ch,
            &self.events,
            self.events_queue_args(),
            &self.events,
            EVENTS_KEY,
        )
        .await?;
        declare_queue(ch, &self.dead, FieldTable::default(), &self.dead, DEAD_KEY).await?;
        for &delay in &self.tiers {
            // Classic queues: every message in one has the same TTL, so expiry at the head is
            // exact; expired messages dead-letter back into the events exchange.
            let mut args = FieldTable::default();
            let ttl = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl));
            args.insert("x-dead-letter-exchange".into(), text(&self.events));
            args.insert("x-dead-letter-routing-key".into(), text(EVENTS_KEY));
            let name = self.retry_queue(delay);
            declare_queue(ch, &name, args, &self.retry, &Self::retry_key(delay)).await?;
        }
        Ok(())
    }

    /// Every queue name, for deletion and inspection.
    pub(super) fn queues(&self) -> Vec<String> {
        let mut names = vec![self.events.clone(), self.dead.clone()];
        names.extend(self.tiers.iter().map(|&d| self.retry_queue(d)));
        names
    }

    pub(super) fn exchanges(&self) -> [&str; 3] {
        [&self.events, &self.retry, &self.dead]
    }

    /// Deletes one queue; deleting a missing queue is not an error in RabbitMQ.
    pub(super) async fn delete_queue(ch: &Channel, name: &str) -> lapin::Result<()> {
        ch.queue_delete(name.into(), QueueDeleteOptions::default())
            .await
            .map(|_| ())
    }

    pub(super) async fn delete_exchange(ch: &Channel, name: &str) -> lapin::Result<()> {
        ch.exchange_delete(name.into(), ExchangeDeleteOptions::default())
            .await
    }
}

async fn declare_queue(
    ch: &Channel,
    name: &str,
    args: FieldTable,
    exchange: &str,
    key: &str,
) -> lapin::Result<()> {
    ch.queue_declare(name.into(), QueueDeclareOptions::durable(), args)
        .await?;
    ch.queue_bind(
        name.into(),
        exchange.into(),
        key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

/// Whether `prefix` makes valid names (AMQP short strings, room for the suffixes).
pub(super) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 200
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && ShortString::try_new(prefix).is_ok()
}
