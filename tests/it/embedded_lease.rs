//! A delivery a worker holds unsettled (its helpdesk is down) keeps its embedded-queue lease
//! for as long as the worker renews it, however many lease periods that takes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use onbehalf::queue::embedded::EmbeddedQueue;
use onbehalf::queue::{Envelope, Queue, RetryPolicy};

const LEASE: Duration = Duration::from_millis(400);

fn envelope(event_id: &str, ticket_id: &str) -> Envelope {
    Envelope {
        event_id: event_id.to_owned(),
        ticket_id: ticket_id.into(),
        source: "zammad".to_owned(),
        received_at_ms: 1_700_000_000_000,
        body: Bytes::from_static(b"{}"),
    }
}

async fn queue(dir: &std::path::Path) -> Arc<EmbeddedQueue> {
    let queue = EmbeddedQueue::open(dir, RetryPolicy::default(), LEASE)
        .await
        .unwrap();
    Arc::new(queue)
}

/// Three lease periods of renewals, then an ack: the next receiver gets the event published
/// after it, never the held one again.
#[tokio::test]
async fn a_renewed_lease_outlives_its_period() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(dir.path()).await;
    queue.publish(envelope("held", "1")).await.unwrap();
    let mut held = queue.receive().await.unwrap();
    let next = tokio::spawn({
        let queue = queue.clone();
        async move { queue.receive().await.unwrap() }
    });
    let until = tokio::time::Instant::now() + LEASE * 3;
    while tokio::time::Instant::now() < until {
        let renew_in = held.acker.keep().await.unwrap();
        assert_eq!(
            renew_in,
            Some(LEASE / 3),
            "the embedded queue has a lease to renew"
        );
        tokio::time::sleep(LEASE / 3).await;
    }
    held.acker.ack().await.unwrap();
    queue.publish(envelope("later", "2")).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), next)
        .await
        .expect("the later event is handed out")
        .unwrap();
    assert_eq!(next.envelope.event_id, "later");
    assert_eq!(held.attempt, 1);
}

/// The same without renewals: the lease runs out and the held event goes out again (what the
/// renewals prevent).
#[tokio::test]
async fn an_unrenewed_lease_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let queue = queue(dir.path()).await;
    queue.publish(envelope("held", "1")).await.unwrap();
    let _held = queue.receive().await.unwrap();
    let again = tokio::time::timeout(Duration::from_secs(10), queue.receive())
        .await
        .expect("handed out again after the lease")
        .unwrap();
    assert_eq!(
        (again.envelope.event_id.as_str(), again.attempt),
        ("held", 2)
    );
}
