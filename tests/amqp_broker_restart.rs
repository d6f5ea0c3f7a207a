//! Broker restart: the transport reports the outage quickly and recovers on its own, without
//! re-creating the queue object. Alone in its binary because it stops the (shared) broker's
//! application; a guard always starts it again. Needs `rabbitmqctl` for the local broker.

mod amqp_support;

use amqp_support::{Cleanup, url};

use bytes::Bytes;
use onbehalf::queue::{Envelope, Queue, QueueError, RetryPolicy, amqp::AmqpQueue};
use std::{
    process::Command,
    time::{Duration, Instant},
};

fn rabbitmqctl(args: &[&str]) -> bool {
    Command::new("rabbitmqctl")
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Starts the broker's application again however the test ends.
struct StartAppGuard;

impl Drop for StartAppGuard {
    fn drop(&mut self) {
        if !rabbitmqctl(&["start_app"]) {
            eprintln!("WARNING: `rabbitmqctl start_app` failed; start the broker by hand");
        }
        let _ = rabbitmqctl(&["await_startup"]);
    }
}

fn envelope(id: &str) -> Envelope {
    Envelope {
        event_id: id.into(),
        ticket_id: "8".into(),
        source: "zendesk".into(),
        received_at_ms: 1_700_000_000_000,
        body: Bytes::from_static(b"{}"),
    }
}

#[tokio::test]
async fn recovers_after_broker_restart() {
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
    };
    let prefix = format!("t-{}", uuid::Uuid::new_v4());
    let q = match AmqpQueue::connect(&url(), &prefix, policy, 8).await {
        Ok(q) => q,
        Err(e) if std::env::var("TEST_REQUIRE_AMQP").as_deref() != Ok("1") => {
            eprintln!("SKIPPED: no RabbitMQ at the test URL ({e})");
            return;
        }
        Err(e) => panic!("RabbitMQ required but not reachable: {e}"),
    };
    let _cleanup = Cleanup {
        prefix: prefix.clone(),
        policy,
    };
    if !rabbitmqctl(&["status"]) {
        eprintln!("SKIPPED: rabbitmqctl cannot control the broker");
        return;
    }
    let before = format!("before-{}", uuid::Uuid::new_v4());
    q.publish(envelope(&before)).await.unwrap();
    let d = q.receive().await.unwrap();
    assert_eq!(d.envelope.event_id, before);
    d.acker.ack().await.unwrap();
    // The consumer is running and waiting when the broker goes away.
    let waiting = tokio::time::timeout(Duration::from_millis(300), q.receive()).await;
    assert!(waiting.is_err());

    {
        let _guard = StartAppGuard;
        assert!(rabbitmqctl(&["stop_app"]), "rabbitmqctl stop_app failed");

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
    } // start_app

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
