//! Broker restart: the transport reports the outage quickly and recovers on its own, without
//! re-creating the queue object. The broker is a private RabbitMQ node whose application the
//! test stops and starts (the machine's broker is never touched), so it is a heavy outage test:
//! it runs with `TEST_DISRUPTIVE=1` (`.ci/run` sets it).

use crate::instances;

use bytes::Bytes;
use instances::PrivateRabbit;
use onbehalf::queue::{Envelope, Queue, QueueError, RetryPolicy, amqp::AmqpQueue};
use std::time::{Duration, Instant};

fn envelope(id: &str) -> Envelope {
    Envelope {
        event_id: id.into(),
        ticket_id: "8".into(),
        source: "zendesk".into(),
        received_at_ms: 1_700_000_000_000,
        body: Bytes::from_static(b"{}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_broker_restart() {
    let test = "recovers_after_broker_restart";
    if !instances::heavy_outage_tests_enabled(test, "stops a private RabbitMQ node's application") {
        return;
    }
    let broker = PrivateRabbit::launch();
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
        budget: Duration::ZERO,
    };
    let prefix = format!("t-{}", uuid::Uuid::new_v4());
    // The node and its topology go with `broker` however the test ends.
    let q = AmqpQueue::connect(&broker.url(), &prefix, policy, 8)
        .await
        .unwrap_or_else(|e| panic!("the private RabbitMQ node does not answer: {e}"));
    let before = format!("before-{}", uuid::Uuid::new_v4());
    q.publish(envelope(&before)).await.unwrap();
    let d = q.receive().await.unwrap();
    assert_eq!(d.envelope.event_id, before);
    d.acker.ack().await.unwrap();
    // The consumer is running and waiting when the broker goes away.
    let waiting = tokio::time::timeout(Duration::from_millis(300), q.receive()).await;
    assert!(waiting.is_err());

    tokio::task::block_in_place(|| broker.stop_app());

    let started = Instant::now();
    let err = q.publish(envelope("during-outage")).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, QueueError::Unavailable(_)), "{err:?}");
    assert!(
        took < Duration::from_secs(6),
        "publish took {took:?} to fail"
    );
    eprintln!("publish failed after {took:?} while the broker was down");
    assert!(matches!(q.check().await, Err(QueueError::Unavailable(_))));
    assert!(matches!(
        q.dead_letters(1).await,
        Err(QueueError::Unavailable(_))
    ));
    assert_eq!(q.stats().await.ready, None);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(matches!(q.check().await, Err(QueueError::Unavailable(_))));
    tokio::task::block_in_place(|| broker.start_app());

    let started = Instant::now();
    while q.check().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no recovery within 30 s of start_app"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "ready again {:?} after start_app returned",
        started.elapsed()
    );

    let after = format!("after-{}", uuid::Uuid::new_v4());
    q.publish(envelope(&after)).await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(30), q.receive())
        .await
        .expect("the consumer did not resume")
        .unwrap();
    assert_eq!(d.envelope.event_id, after);
    d.acker.ack().await.unwrap();
    eprintln!(
        "consumed again {:?} after start_app returned",
        started.elapsed()
    );

    q.delete_topology().await.unwrap();
    q.close().await;
}
