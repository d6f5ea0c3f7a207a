//! The `Queue` contract: what the worker relies on from every transport, run against each
//! backend by `queue_contract_suite!` (`embedded_queue.rs`, `amqp_queue.rs`). What only
//! one transport promises (dedupe by id, one ticket at a time, SIGKILL, lease expiry, the
//! broker's wire format) is tested beside the suite, in the backend's own file.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use onbehalf::queue::{
    DeadLetterQuery, Delivery, Envelope, PublishOutcome, Queue, QueueError, Retried, RetryPolicy,
};

/// Every contract test opens its queue with this policy: two attempts, 100 ms apart.
pub const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    base_delay: Duration::from_millis(100),
    max_delay: Duration::from_secs(5),
    budget: Duration::ZERO,
};

/// The contract tests for one backend. `$open` is an `async fn(RetryPolicy) -> Option<(G, Q)>`:
/// `None` skips (a broker that is not required and not there), `G` is dropped after the queue.
macro_rules! queue_contract_suite {
    ($open:path) => {
        mod queue_contract_suite {
            use $crate::queue_contract as contract;

            #[tokio::test]
            async fn delivers_every_published_event_once_as_published() {
                let Some((_guard, q)) = $open(contract::POLICY).await else {
                    return;
                };
                contract::delivers_every_published_event_once_as_published(&q).await;
            }

            #[tokio::test]
            async fn a_retry_comes_back_then_the_last_one_dead_letters_with_its_reason() {
                let Some((_guard, q)) = $open(contract::POLICY).await else {
                    return;
                };
                contract::a_retry_comes_back_then_the_last_one_dead_letters_with_its_reason(&q)
                    .await;
            }

            #[tokio::test]
            async fn dead_letters_are_requeued_one_or_all_as_fresh_events() {
                let Some((_guard, q)) = $open(contract::POLICY).await else {
                    return;
                };
                contract::dead_letters_are_requeued_one_or_all_as_fresh_events(&q).await;
            }

            #[tokio::test]
            async fn dead_letters_page_oldest_first_and_refuse_an_unknown_position() {
                let Some((_guard, q)) = $open(contract::POLICY).await else {
                    return;
                };
                contract::dead_letters_page_oldest_first_and_refuse_an_unknown_position(&q).await;
            }

            #[tokio::test]
            async fn close_stops_receiving() {
                let Some((_guard, q)) = $open(contract::POLICY).await else {
                    return;
                };
                contract::close_stops_receiving(&q).await;
            }
        }
    };
}
pub(crate) use queue_contract_suite;

fn envelope(tag: &str, ticket: &str) -> Envelope {
    let event_id = format!("{tag}-{}", uuid::Uuid::new_v4());
    Envelope {
        body: Bytes::from(format!(r#"{{"id":"{event_id}","text":"\u00e9 \n"}}"#)),
        event_id,
        ticket_id: ticket.into(),
        source: "zendesk".to_owned(),
        received_at_ms: 1_700_000_000_123,
    }
}

async fn publish(q: &dyn Queue, envelope: &Envelope) {
    assert_eq!(
        q.publish(envelope.clone()).await.unwrap(),
        PublishOutcome::Accepted,
        "a new event id is accepted"
    );
}

async fn receive(q: &dyn Queue) -> Delivery {
    tokio::time::timeout(Duration::from_secs(20), q.receive())
        .await
        .expect("no delivery within 20 s")
        .unwrap()
}

async fn nothing_within(q: &dyn Queue, wait: Duration) -> bool {
    tokio::time::timeout(wait, q.receive()).await.is_err()
}

/// Dead-letters `count` fresh events on their first delivery; returns them in that order.
async fn dead_letter_new(q: &dyn Queue, count: usize, reason: &str) -> Vec<Envelope> {
    let mut dead = Vec::new();
    for i in 0..count {
        let sent = envelope("dead", &format!("{}", 100 + i));
        publish(q, &sent).await;
        let d = receive(q).await;
        assert_eq!(d.envelope, sent);
        d.acker.dead_letter(reason).await.unwrap();
        dead.push(sent);
    }
    dead
}

pub async fn delivers_every_published_event_once_as_published(q: &dyn Queue) {
    let sent: Vec<Envelope> = (0..3)
        .map(|i| envelope("ev", &format!("{}", 10 + i)))
        .collect();
    for e in &sent {
        publish(q, e).await;
    }
    let mut seen = HashSet::new();
    for _ in 0..sent.len() {
        let d = receive(q).await;
        assert!(sent.contains(&d.envelope), "unknown or altered: {d:?}");
        assert_eq!(d.attempt, 1, "a first delivery is attempt 1");
        assert!(
            seen.insert(d.envelope.event_id.clone()),
            "delivered twice: {d:?}"
        );
        d.acker.ack().await.unwrap();
    }
    assert!(
        nothing_within(q, Duration::from_millis(500)).await,
        "an acknowledged event came back"
    );
    q.check().await.unwrap();
    assert_eq!(q.dead_letters(10).await.unwrap().len(), 0);
}

pub async fn a_retry_comes_back_then_the_last_one_dead_letters_with_its_reason(q: &dyn Queue) {
    let sent = envelope("retry", "21");
    publish(q, &sent).await;
    let d = receive(q).await;
    let retried_at = Instant::now();
    let Retried::Later(delay) = d.acker.retry("helpdesk timed out").await.unwrap() else {
        panic!("the first of two attempts must be retried");
    };
    assert!(delay >= Duration::from_millis(50), "{delay:?}");
    let d = receive(q).await;
    assert_eq!((&d.envelope, d.attempt), (&sent, 2));
    assert!(
        retried_at.elapsed() >= Duration::from_millis(50),
        "redelivered before its backoff: {:?}",
        retried_at.elapsed()
    );
    assert_eq!(
        d.acker.retry("parse error at byte 3").await.unwrap(),
        Retried::DeadLettered,
        "the last attempt's retry dead-letters"
    );
    assert!(nothing_within(q, Duration::from_millis(500)).await);
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let letter = &dead[0];
    assert_eq!(letter.event_id, sent.event_id);
    assert_eq!(
        (letter.ticket_id.as_str(), letter.source.as_str()),
        ("21", "zendesk")
    );
    assert_eq!(letter.attempts, 2);
    assert!(
        letter.reason.contains("parse error at byte 3"),
        "the reason of the last attempt: {}",
        letter.reason
    );
}

pub async fn dead_letters_are_requeued_one_or_all_as_fresh_events(q: &dyn Queue) {
    let dead = dead_letter_new(q, 3, "not a ticket event").await;
    assert_eq!(q.dead_letters(10).await.unwrap().len(), 3);
    assert!(nothing_within(q, Duration::from_millis(300)).await);

    assert_eq!(q.requeue_dead(Some(&dead[1].event_id)).await.unwrap(), 1);
    let d = receive(q).await;
    assert_eq!((&d.envelope, d.attempt), (&dead[1], 1), "requeued as fresh");
    d.acker.ack().await.unwrap();
    assert_eq!(q.requeue_dead(Some("no-such-event")).await.unwrap(), 0);

    assert_eq!(q.requeue_dead(None).await.unwrap(), 2);
    let mut back = HashSet::new();
    for _ in 0..2 {
        let d = receive(q).await;
        back.insert(d.envelope.event_id.clone());
        d.acker.ack().await.unwrap();
    }
    let expected: HashSet<String> = [&dead[0], &dead[2]]
        .iter()
        .map(|e| e.event_id.clone())
        .collect();
    assert_eq!(back, expected);
    assert!(q.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(q.requeue_dead(None).await.unwrap(), 0);
}

pub async fn dead_letters_page_oldest_first_and_refuse_an_unknown_position(q: &dyn Queue) {
    let dead = dead_letter_new(q, 3, "malformed").await;
    let first = q
        .dead_letter_page(DeadLetterQuery {
            after: None,
            limit: 2,
        })
        .await
        .unwrap();
    let ids: Vec<&str> = first
        .dead_letters
        .iter()
        .map(|d| d.event_id.as_str())
        .collect();
    assert_eq!(ids, [dead[0].event_id.as_str(), dead[1].event_id.as_str()]);
    let after = first.next.expect("a second page");
    let second = q
        .dead_letter_page(DeadLetterQuery {
            after: Some(after),
            limit: 2,
        })
        .await
        .unwrap();
    let ids: Vec<&str> = second
        .dead_letters
        .iter()
        .map(|d| d.event_id.as_str())
        .collect();
    assert_eq!(ids, [dead[2].event_id.as_str()]);
    assert_eq!(second.next, None, "the last page says so");
    let unknown = q
        .dead_letter_page(DeadLetterQuery {
            after: Some("no-such-position".into()),
            limit: 2,
        })
        .await;
    assert!(
        matches!(unknown, Err(QueueError::BadPosition(_))),
        "{unknown:?}"
    );
}

pub async fn close_stops_receiving(q: &dyn Queue) {
    q.close().await;
    assert!(matches!(q.receive().await, Err(QueueError::Closed)));
}
