//! The RabbitMQ transport against a real broker (`TEST_AMQP_URL`, default local guest).
//! Each test declares its own `t-<uuid>` topology and deletes it at the end, even on failure.
//! Without a reachable broker the tests are skipped with a notice, unless
//! `TEST_REQUIRE_AMQP=1` makes that a failure.

use crate::amqp_support;
use crate::queue_contract::queue_contract_suite;

queue_contract_suite!(super::open);

use amqp_support::{Cleanup, url};

use bytes::Bytes;
use lapin::{
    Connection, ConnectionProperties,
    options::{BasicGetOptions, BasicNackOptions, QueueDeleteOptions},
    types::AMQPValue,
};
use onbehalf::queue::{
    DeadLetterQuery, Delivery, Envelope, PublishOutcome, Queue, QueueError, Retried, RetryPolicy,
    amqp::{AmqpQueue, DELIVERY_LIMIT},
};
use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

fn policy(max_attempts: u32, base_ms: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(base_ms),
        max_delay: Duration::from_secs(5),
        budget: Duration::ZERO,
    }
}

fn envelope(id: &str, ticket: &str) -> Envelope {
    Envelope {
        event_id: id.into(),
        ticket_id: ticket.into(),
        source: "zendesk".into(),
        received_at_ms: 1_700_000_000_123,
        body: Bytes::from(format!("{{\"id\":\"{id}\",\"raw\":\"\\u00e9 \\n\"}}")),
    }
}

fn unique(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::new_v4())
}

async fn open(policy: RetryPolicy) -> Option<(Cleanup, AmqpQueue)> {
    let prefix = format!("t-{}", uuid::Uuid::new_v4());
    match AmqpQueue::connect(&url(), &prefix, policy, 8).await {
        // In this order the queue is dropped (its supervisor stopped) before the cleanup runs.
        Ok(q) => Some((Cleanup { prefix, policy }, q)),
        Err(e) if std::env::var("TEST_REQUIRE_AMQP").as_deref() != Ok("1") => {
            eprintln!("SKIPPED: no RabbitMQ at the test URL ({e})");
            None
        }
        Err(e) => panic!("RabbitMQ required but not reachable: {e}"),
    }
}

async fn reopen(cleanup: &Cleanup) -> AmqpQueue {
    AmqpQueue::connect(&url(), &cleanup.prefix, cleanup.policy, 8)
        .await
        .unwrap()
}

async fn recv(q: &AmqpQueue) -> Delivery {
    tokio::time::timeout(Duration::from_secs(20), q.receive())
        .await
        .expect("no delivery within 20 s")
        .unwrap()
}

async fn nothing_within(q: &AmqpQueue, wait: Duration) -> bool {
    tokio::time::timeout(wait, q.receive()).await.is_err()
}

#[tokio::test]
async fn round_trip_keeps_envelope_and_headers() {
    let Some((cleanup, q)) = open(policy(3, 200)).await else {
        return;
    };
    let sent = envelope(&unique("ev"), "4711");
    assert_eq!(
        q.publish(sent.clone()).await.unwrap(),
        PublishOutcome::Accepted
    );

    // What an operator sees on the wire: persistent, id as message_id, fields as headers.
    let conn = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let raw = ch
        .basic_get(
            format!("{}.events", cleanup.prefix).into(),
            BasicGetOptions::default(),
        )
        .await
        .unwrap()
        .expect("message in the events queue");
    let props = &raw.delivery.properties;
    assert_eq!(props.delivery_mode(), &Some(2));
    assert_eq!(props.message_id().as_ref().unwrap().as_str(), sent.event_id);
    let headers = props.headers().as_ref().unwrap().inner();
    assert_eq!(
        headers.get("x-onbehalf-attempt"),
        Some(&AMQPValue::LongLongInt(1))
    );
    assert!(headers.contains_key("x-onbehalf-ticket-id"));
    assert_eq!(raw.delivery.data, sent.body.to_vec());
    raw.delivery
        .acker
        .nack(BasicNackOptions {
            requeue: true,
            ..Default::default()
        })
        .await
        .unwrap();
    conn.close(200, "OK".into()).await.unwrap();

    let d = recv(&q).await;
    assert_eq!(d.envelope, sent);
    // The peek above was a delivery the quorum queue counts.
    assert_eq!(d.attempt, 2);
    d.acker.ack().await.unwrap();
    assert!(nothing_within(&q, Duration::from_millis(500)).await);
    q.check().await.unwrap();
    assert_eq!(q.stats().await.ready, Some(0));
    q.close().await;
    assert!(matches!(q.receive().await, Err(QueueError::Closed)));
}

#[tokio::test]
async fn publishes_n_and_receives_n_with_concurrent_workers() {
    let Some((_cleanup, q)) = open(policy(3, 200)).await else {
        return;
    };
    let q = Arc::new(q);
    let n = 1000;
    let ids: Vec<String> = (0..n).map(|i| unique(&format!("ev{i}"))).collect();
    let started = Instant::now();
    let mut publishers = tokio::task::JoinSet::new();
    for chunk in ids.chunks(n / 64 + 1) {
        let (q, chunk) = (q.clone(), chunk.to_vec());
        publishers.spawn(async move {
            for id in chunk {
                q.publish(envelope(&id, "1")).await.unwrap();
            }
        });
    }
    publishers.join_all().await;
    let elapsed = started.elapsed();
    eprintln!(
        "{n} confirmed publishes (64 publishers) in {elapsed:?}: {:.0}/s",
        n as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(q.stats().await.ready, Some(n as u64));

    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (q, tx) = (q.clone(), tx.clone());
        workers.spawn(async move {
            loop {
                let d = match tokio::time::timeout(Duration::from_secs(2), q.receive()).await {
                    Ok(d) => d.unwrap(),
                    Err(_) => return,
                };
                tx.send(d.envelope.event_id.clone()).unwrap();
                d.acker.ack().await.unwrap();
            }
        });
    }
    drop(tx);
    let mut got = Vec::new();
    while let Some(id) = rx.recv().await {
        got.push(id);
        if got.len() == n {
            eprintln!(
                "{n} received and acked by 4 workers in {:?}",
                started.elapsed()
            );
        }
    }
    workers.join_all().await;
    let unique_got: HashSet<_> = got.iter().cloned().collect();
    assert_eq!(got.len(), n, "no duplicates without failures");
    assert_eq!(unique_got, ids.into_iter().collect::<HashSet<_>>());
}

/// Many handlers settling out of delivery order, mixed with retries and deliveries dropped
/// unsettled, settle each delivery exactly once: an ack for the wrong delivery tag would
/// close the channel (acks fail, events come back) or settle one still being worked on.
#[tokio::test]
async fn out_of_order_settlements_settle_each_delivery_once() {
    let Some((cleanup, first)) = open(policy(5, 100)).await else {
        return;
    };
    drop(first);
    let q = Arc::new(
        AmqpQueue::connect(&url(), &cleanup.prefix, cleanup.policy, 64)
            .await
            .unwrap(),
    );
    let n = 400;
    let ids: Vec<String> = (0..n).map(|i| unique(&format!("ev{i}"))).collect();
    for id in &ids {
        q.publish(envelope(id, "1")).await.unwrap();
    }
    let acked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..24u64 {
        let (q, acked) = (q.clone(), acked.clone());
        workers.spawn(async move {
            let mut k = w;
            loop {
                let d = match tokio::time::timeout(Duration::from_secs(3), q.receive()).await {
                    Ok(d) => d.unwrap(),
                    Err(_) => return,
                };
                // Spread finishing times so that acks arrive out of delivery order.
                k = k
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                tokio::time::sleep(Duration::from_millis((k >> 33) % 12)).await;
                let id = d.envelope.event_id.clone();
                match ((k >> 20) % 20, d.attempt) {
                    (0, 1) => drop(d), // a worker that died: requeued, delivered again
                    (1 | 2, 1) => {
                        d.acker.retry("try again").await.unwrap();
                    }
                    _ => {
                        d.acker.ack().await.expect("every ack goes through");
                        acked.lock().unwrap().push(id);
                    }
                }
            }
        });
    }
    workers.join_all().await;
    let acked = acked.lock().unwrap().clone();
    let distinct: HashSet<String> = acked.iter().cloned().collect();
    assert_eq!(distinct.len(), acked.len(), "an acked event came back");
    assert_eq!(distinct, ids.into_iter().collect::<HashSet<_>>());
    assert!(nothing_within(&q, Duration::from_millis(500)).await);
    assert_eq!(q.stats().await.ready, Some(0));
    q.close().await;
    let again = reopen(&cleanup).await;
    assert!(
        nothing_within(&again, Duration::from_secs(1)).await,
        "nothing left unacked"
    );
}

/// A worker never asks for fewer messages than it has handlers: the queue the service opens
/// from its configuration hands out `workers` unsettled deliveries even when `prefetch` is
/// lower, and no more.
#[tokio::test]
async fn the_service_prefetches_at_least_one_message_per_handler() {
    let mut config = onbehalf::config::Config {
        queue_url: url(),
        workers: 12,
        prefetch: 4,
        ..onbehalf::config::Config::default()
    };
    // The cleanup deletes the retry queues of this policy: the service's own.
    let Some((cleanup, probe)) = open(config.retry_policy()).await else {
        return;
    };
    drop(probe);
    config.queue_prefix = cleanup.prefix.clone();
    let q = onbehalf::app::open_queue(&config).await.unwrap();
    for i in 0..20 {
        q.publish(envelope(&unique(&format!("ev{i}")), "1"))
            .await
            .unwrap();
    }
    let mut held = vec![];
    while let Ok(d) = tokio::time::timeout(Duration::from_secs(1), q.receive()).await {
        held.push(d.unwrap());
    }
    assert_eq!(held.len(), 12, "unsettled deliveries handed out at once");
    drop(held);
    q.close().await;
}

#[tokio::test]
async fn retry_redelivers_after_backoff_with_next_attempt() {
    let Some((_cleanup, q)) = open(policy(4, 800)).await else {
        return;
    };
    let sent = envelope(&unique("ev"), "7");
    q.publish(sent.clone()).await.unwrap();
    let d = recv(&q).await;
    assert_eq!(d.attempt, 1);
    let retried_at = Instant::now();
    d.acker.retry("helpdesk timed out").await.unwrap();

    let d = recv(&q).await;
    let waited = retried_at.elapsed();
    assert_eq!(d.envelope, sent);
    assert_eq!(d.attempt, 2);
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(5),
        "first retry after {waited:?}, policy says 800 ms"
    );
    let retried_at = Instant::now();
    d.acker.retry("again").await.unwrap();
    let d = recv(&q).await;
    let waited = retried_at.elapsed();
    assert_eq!(d.attempt, 3);
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6),
        "second retry after {waited:?}, policy says 1600 ms"
    );
    d.acker.ack().await.unwrap();
    assert_eq!(q.stats().await.dead, Some(0));
}

#[tokio::test]
async fn poison_event_is_dead_lettered_listed_and_requeued() {
    let Some((_cleanup, q)) = open(policy(2, 100)).await else {
        return;
    };
    let poison = envelope(&unique("poison"), "13");
    let healthy = envelope(&unique("ok"), "14");
    q.publish(poison.clone()).await.unwrap();
    let d = recv(&q).await;
    let first_taken = onbehalf::rfc3339::to_ms(time::OffsetDateTime::now_utc());
    assert!(matches!(
        d.acker.retry("parse error at byte 3").await.unwrap(),
        Retried::Later(_)
    ));
    let d = recv(&q).await;
    assert_eq!(
        (d.envelope.event_id.as_str(), d.attempt),
        (poison.event_id.as_str(), 2)
    );
    assert_eq!(
        d.acker.retry("parse error at byte 3").await.unwrap(),
        Retried::DeadLettered
    );
    assert!(nothing_within(&q, Duration::from_millis(800)).await);

    // A second dead letter, through the direct path.
    q.publish(healthy.clone()).await.unwrap();
    recv(&q)
        .await
        .acker
        .dead_letter("not a ticket event")
        .await
        .unwrap();

    assert_eq!(q.stats().await.dead, Some(2));
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 2);
    let p = dead.iter().find(|d| d.event_id == poison.event_id).unwrap();
    assert_eq!((p.ticket_id.as_str(), p.attempts), ("13", 2));
    assert!(p.reason.contains("parse error at byte 3"), "{}", p.reason);
    assert_eq!(
        (p.source.as_str(), p.received_at),
        ("zendesk", 1_700_000_000_123)
    );
    let (first_at, last_at) = (p.first_attempt_at.unwrap(), p.last_attempt_at.unwrap());
    assert!(
        first_at <= first_taken && first_at < last_at,
        "{first_at} {last_at}"
    );
    // Paged by event id: two pages of one, the second the last; a position no longer in the
    // dead queue is refused.
    let page = q
        .dead_letter_page(DeadLetterQuery {
            after: None,
            limit: 1,
        })
        .await
        .unwrap();
    let rest = q
        .dead_letter_page(DeadLetterQuery {
            after: page.next.clone(),
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!((page.dead_letters.len(), rest.dead_letters.len()), (1, 1));
    assert_eq!(rest.next, None);
    assert_ne!(page.dead_letters[0].event_id, rest.dead_letters[0].event_id);
    assert!(matches!(
        q.dead_letter_page(DeadLetterQuery {
            after: Some("gone".into()),
            limit: 1
        })
        .await,
        Err(QueueError::BadPosition(_))
    ));
    let h = dead
        .iter()
        .find(|d| d.event_id == healthy.event_id)
        .unwrap();
    assert_eq!((h.attempts, h.reason.as_str()), (1, "not a ticket event"));
    // Peeking leaves them in place; the limit is honoured.
    assert_eq!(q.dead_letters(1).await.unwrap().len(), 1);
    assert_eq!(q.stats().await.dead, Some(2));

    assert_eq!(q.requeue_dead(Some(&poison.event_id)).await.unwrap(), 1);
    assert_eq!(q.requeue_dead(Some("no-such-event")).await.unwrap(), 0);
    let d = recv(&q).await;
    assert_eq!((d.envelope.clone(), d.attempt), (poison.clone(), 1));
    d.acker.ack().await.unwrap();
    let left = q.dead_letters(10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].event_id, healthy.event_id);
    assert_eq!(q.requeue_dead(None).await.unwrap(), 1);
    assert_eq!(recv(&q).await.envelope, healthy);
}

#[tokio::test]
async fn unsettled_delivery_returns_when_the_consumer_connection_drops() {
    let Some((cleanup, q)) = open(policy(5, 100)).await else {
        return;
    };
    let sent = envelope(&unique("ev"), "99");
    q.publish(sent.clone()).await.unwrap();
    let held = recv(&q).await;
    assert_eq!(held.attempt, 1);
    // The worker process dies: its connection goes, the delivery was never settled.
    drop(q);
    let q2 = reopen(&cleanup).await;
    let d = recv(&q2).await;
    assert_eq!(d.envelope, sent);
    assert!(
        d.attempt >= 2,
        "attempt {} after a lost consumer",
        d.attempt
    );
    d.acker.ack().await.unwrap();
    // The stale acker from the dead connection cannot settle anything.
    assert!(held.acker.ack().await.is_err());
    q2.close().await;
}

#[tokio::test]
async fn crash_looping_event_ends_in_the_dead_queue() {
    let Some((_cleanup, q)) = open(policy(100, 100)).await else {
        return;
    };
    let sent = envelope(&unique("crash"), "5");
    q.publish(sent.clone()).await.unwrap();
    let mut deliveries = 0;
    // Each dropped delivery is what a panicking worker leaves behind.
    while let Ok(d) = tokio::time::timeout(Duration::from_secs(3), q.receive()).await {
        let d = d.unwrap();
        deliveries += 1;
        assert_eq!(d.attempt, deliveries);
        drop(d);
        assert!(
            deliveries <= DELIVERY_LIMIT as u32 + 1,
            "never dead-lettered"
        );
    }
    assert_eq!(deliveries, DELIVERY_LIMIT as u32 + 1);
    let dead = q.dead_letters(5).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, sent.event_id);
    assert!(
        dead[0].reason.contains("delivery_limit"),
        "{}",
        dead[0].reason
    );
}

#[tokio::test]
async fn unroutable_publish_is_an_error() {
    let Some((cleanup, q)) = open(policy(3, 100)).await else {
        return;
    };
    q.publish(envelope(&unique("ev"), "1")).await.unwrap();
    let conn = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.queue_delete(
        format!("{}.events", cleanup.prefix).into(),
        QueueDeleteOptions::default(),
    )
    .await
    .unwrap();
    let err = q.publish(envelope(&unique("ev"), "1")).await.unwrap_err();
    assert!(matches!(err, QueueError::Refused(_)), "{err:?}");
    ch.exchange_delete(
        format!("{}.events", cleanup.prefix).into(),
        Default::default(),
    )
    .await
    .unwrap();
    let err = q.publish(envelope(&unique("ev"), "1")).await.unwrap_err();
    assert!(
        matches!(err, QueueError::Unavailable(_) | QueueError::Refused(_)),
        "{err:?}"
    );
    conn.close(200, "OK".into()).await.unwrap();
}

#[tokio::test]
async fn close_waits_for_in_flight_and_stops_receiving() {
    let Some((cleanup, q)) = open(policy(3, 100)).await else {
        return;
    };
    let (a, b) = (envelope(&unique("a"), "1"), envelope(&unique("b"), "2"));
    q.publish(a.clone()).await.unwrap();
    let q = Arc::new(q);
    let d = recv(&q).await;
    let closing = tokio::spawn({
        let q = q.clone();
        async move { q.close().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !closing.is_finished(),
        "close waits for the in-flight delivery"
    );
    assert!(matches!(q.receive().await, Err(QueueError::Closed)));
    assert!(matches!(
        q.publish(b.clone()).await,
        Err(QueueError::Closed)
    ));
    d.acker.ack().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), closing)
        .await
        .unwrap()
        .unwrap();
    let q2 = reopen(&cleanup).await;
    assert_eq!(q2.stats().await.ready, Some(0), "the settled event is gone");
    q2.close().await;
}

/// `deploy/rabbitmq/definitions.json` (with the test's prefix) declares exactly what the
/// transport declares: the broker refuses a re-declaration with different arguments.
#[tokio::test]
async fn operator_definitions_match_the_declared_topology() {
    use lapin::{
        ExchangeKind,
        options::{ExchangeDeclareOptions, QueueDeclareOptions},
        types::{FieldTable, LongString},
    };
    let prefix = format!("t-{}", uuid::Uuid::new_v4());
    let defaults = RetryPolicy::default();
    let Ok(conn) = Connection::connect(&url(), ConnectionProperties::default()).await else {
        eprintln!("SKIPPED: no RabbitMQ at the test URL");
        return;
    };
    let _cleanup = Cleanup {
        prefix: prefix.clone(),
        policy: defaults,
    };
    let text = std::fs::read_to_string("deploy/rabbitmq/definitions.json")
        .unwrap()
        .replace("\"onbehalf.", &format!("\"{prefix}."));
    let defs: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ch = conn.create_channel().await.unwrap();
    for ex in defs["exchanges"].as_array().unwrap() {
        let options = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        let name = ex["name"].as_str().unwrap();
        ch.exchange_declare(
            name.into(),
            ExchangeKind::Direct,
            options,
            FieldTable::default(),
        )
        .await
        .unwrap();
    }
    for q in defs["queues"].as_array().unwrap() {
        let mut args = FieldTable::default();
        for (k, v) in q["arguments"].as_object().unwrap() {
            let v = match v {
                serde_json::Value::Number(n) => AMQPValue::LongLongInt(n.as_i64().unwrap()),
                v => {
                    AMQPValue::LongString(LongString::from(v.as_str().unwrap().as_bytes().to_vec()))
                }
            };
            args.insert(k.as_str().into(), v);
        }
        let name = q["name"].as_str().unwrap();
        ch.queue_declare(name.into(), QueueDeclareOptions::durable(), args)
            .await
            .unwrap();
    }
    for b in defs["bindings"].as_array().unwrap() {
        let (src, dst, key) = (
            b["source"].as_str().unwrap(),
            b["destination"].as_str().unwrap(),
            b["routing_key"].as_str().unwrap(),
        );
        ch.queue_bind(
            dst.into(),
            src.into(),
            key.into(),
            Default::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    }
    conn.close(200, "OK".into()).await.unwrap();

    let q = AmqpQueue::connect(&url(), &prefix, defaults, 8)
        .await
        .expect("the transport accepts the pre-declared topology");
    // The pre-declared retry tiers carry the transport's retries: 1 s for the first.
    let sent = envelope(&unique("ev"), "3");
    q.publish(sent.clone()).await.unwrap();
    let d = recv(&q).await;
    let retried_at = Instant::now();
    d.acker.retry("transient").await.unwrap();
    let d = recv(&q).await;
    assert_eq!((d.envelope.clone(), d.attempt), (sent, 2));
    assert!(retried_at.elapsed() >= Duration::from_millis(900));
    d.acker.ack().await.unwrap();
    q.close().await;
}

/// The same rule as the embedded queue: retried past `max_attempts` while younger than the
/// budget, dead-lettered once older.
#[tokio::test]
async fn retries_go_on_within_the_time_budget() {
    let budget = RetryPolicy {
        budget: Duration::from_secs(3600),
        ..policy(2, 20)
    };
    let Some((_cleanup, q)) = open(budget).await else {
        return;
    };
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let young = Envelope {
        received_at_ms: now_ms as i64,
        ..envelope(&unique("young"), "1")
    };
    // `envelope()` was accepted in 2023: far beyond the budget.
    let old = envelope(&unique("old"), "2");
    q.publish(young.clone()).await.unwrap();
    q.publish(old.clone()).await.unwrap();
    let (mut old_deliveries, mut young_attempt) = (0, 0);
    while old_deliveries < 2 || young_attempt < 4 {
        let d = recv(&q).await;
        if d.envelope.event_id == old.event_id {
            old_deliveries += 1;
            assert!(old_deliveries <= 2, "dead-lettered after max_attempts");
        } else {
            young_attempt = d.attempt;
        }
        d.acker.retry("still failing").await.unwrap();
    }
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].event_id.as_str(), dead[0].attempts),
        (old.event_id.as_str(), 2)
    );
}
