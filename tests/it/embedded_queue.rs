//! Behaviour of the embedded SQLite queue, each test in its own temporary data folder.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use onbehalf::queue::embedded::{EmbeddedOptions, EmbeddedQueue};
use onbehalf::queue::{
    DeadLetterQuery, Delivery, Envelope, PublishOutcome, Queue, QueueError, Retried, RetryPolicy,
};
use tokio::time::timeout;

const LONG_LEASE: Duration = Duration::from_secs(3600);

use crate::common;
use crate::queue_contract::queue_contract_suite;

/// The contract suite's queue: a fresh data folder, kept until the queue is dropped.
async fn open_for_contract(policy: RetryPolicy) -> Option<(tempfile::TempDir, EmbeddedQueue)> {
    let dir = tempfile::tempdir().unwrap();
    let queue = EmbeddedQueue::open(dir.path(), policy, LONG_LEASE)
        .await
        .unwrap();
    Some((dir, queue))
}

queue_contract_suite!(super::open_for_contract);

fn envelope(event_id: &str, ticket_id: &str) -> Envelope {
    Envelope {
        event_id: event_id.to_owned(),
        ticket_id: ticket_id.into(),
        source: "zendesk".to_owned(),
        received_at_ms: 1_700_000_000_123,
        body: Bytes::from(format!(
            r#"{{"id":"{event_id}","detail":{{"id":"{ticket_id}"}}}}"#
        )),
    }
}

fn policy(max_attempts: u32, base_ms: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(base_ms),
        max_delay: Duration::from_secs(60),
        budget: Duration::ZERO,
    }
}

async fn open(dir: &Path, lease: Duration) -> EmbeddedQueue {
    EmbeddedQueue::open(dir, policy(5, 50), lease)
        .await
        .unwrap()
}

async fn publish_all(queue: &EmbeddedQueue, events: &[(&str, &str)]) {
    for (id, ticket) in events {
        assert_eq!(
            queue.publish(envelope(id, ticket)).await.unwrap(),
            PublishOutcome::Accepted
        );
    }
}

/// Receives within `within`, or `None` if nothing came.
async fn receive_within(queue: &EmbeddedQueue, within: Duration) -> Option<Delivery> {
    match timeout(within, queue.receive()).await {
        Ok(delivery) => Some(delivery.unwrap()),
        Err(_elapsed) => None,
    }
}

async fn next(queue: &EmbeddedQueue) -> Delivery {
    receive_within(queue, Duration::from_secs(5))
        .await
        .expect("an event should have been delivered")
}

#[tokio::test]
async fn round_trip_keeps_the_envelope_intact() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path(), LONG_LEASE).await;
    let mut sent = envelope("ev-1", "42");
    sent.body = Bytes::from_static(b"\x00raw \xffbytes, exactly as signed\n");
    assert_eq!(
        queue.publish(sent.clone()).await.unwrap(),
        PublishOutcome::Accepted
    );
    assert_eq!(queue.stats().await.ready, Some(1));

    let delivery = next(&queue).await;
    assert_eq!(delivery.envelope, sent);
    assert_eq!(delivery.attempt, 1);
    delivery.acker.ack().await.unwrap();

    let stats = queue.stats().await;
    assert_eq!((stats.ready, stats.dead), (Some(0), Some(0)));
    assert!(
        receive_within(&queue, Duration::from_millis(200))
            .await
            .is_none()
    );
    queue.check().await.unwrap();
}

#[tokio::test]
async fn known_event_ids_are_duplicates_whether_pending_done_or_dead() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path(), LONG_LEASE).await;
    publish_all(&queue, &[("done", "2"), ("dead", "3")]).await;
    for _ in 0..2 {
        let delivery = next(&queue).await;
        if delivery.envelope.event_id == "done" {
            delivery.acker.ack().await.unwrap();
        } else {
            delivery.acker.dead_letter("malformed").await.unwrap();
        }
    }
    publish_all(&queue, &[("pending", "1")]).await;
    for id in ["pending", "done", "dead"] {
        assert_eq!(
            queue.publish(envelope(id, "9")).await.unwrap(),
            PublishOutcome::Duplicate,
            "{id}"
        );
    }
}

#[tokio::test]
async fn concurrent_publishes_of_one_id_accept_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let queue = Arc::new(open(dir.path(), LONG_LEASE).await);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move { queue.publish(envelope("same", "1")).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() == PublishOutcome::Accepted {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(queue.stats().await.ready, Some(1));
}

#[tokio::test]
async fn one_ticket_at_a_time_in_order_while_other_tickets_flow() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path(), LONG_LEASE).await;
    publish_all(
        &queue,
        &[("a1", "A"), ("a2", "A"), ("b1", "B"), ("b2", "B")],
    )
    .await;

    let a1 = next(&queue).await;
    assert_eq!(a1.envelope.event_id, "a1");
    let b1 = next(&queue).await;
    assert_eq!(b1.envelope.event_id, "b1", "a2 must wait for a1");
    b1.acker.ack().await.unwrap();
    let b2 = next(&queue).await;
    assert_eq!(b2.envelope.event_id, "b2");
    assert!(
        receive_within(&queue, Duration::from_millis(300))
            .await
            .is_none(),
        "a2 was handed out while a1 is still in flight"
    );

    // A receiver already waiting is woken by the ack that unblocks ticket A.
    let (waiting, ()) = tokio::join!(next(&queue), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        a1.acker.ack().await.unwrap();
    });
    assert_eq!(waiting.envelope.event_id, "a2");
    assert_eq!(waiting.attempt, 1);
}

#[tokio::test]
async fn retry_comes_back_after_the_backoff_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let queue = EmbeddedQueue::open(dir.path(), policy(5, 500), LONG_LEASE)
        .await
        .unwrap();
    publish_all(&queue, &[("ev", "1")]).await;
    let first = next(&queue).await;
    assert_eq!(first.attempt, 1);
    let retried_at = Instant::now();
    first.acker.retry("helpdesk timed out").await.unwrap();

    assert!(
        receive_within(&queue, Duration::from_millis(300))
            .await
            .is_none(),
        "redelivered before the 500 ms backoff"
    );
    let second = next(&queue).await;
    assert!(retried_at.elapsed() >= Duration::from_millis(500));
    assert_eq!(second.envelope.event_id, "ev");
    assert_eq!(second.attempt, 2);

    // The second failure waits twice as long.
    let retried_at = Instant::now();
    second.acker.retry("again").await.unwrap();
    assert!(
        receive_within(&queue, Duration::from_millis(800))
            .await
            .is_none()
    );
    let third = next(&queue).await;
    assert!(retried_at.elapsed() >= Duration::from_millis(1000));
    assert_eq!(third.attempt, 3);
}

#[tokio::test]
async fn dead_letters_after_max_attempts_are_listed_and_requeued() {
    let dir = tempfile::tempdir().unwrap();
    let queue = EmbeddedQueue::open(dir.path(), policy(2, 10), LONG_LEASE)
        .await
        .unwrap();
    publish_all(&queue, &[("flaky", "1"), ("bad", "2")]).await;

    let mut first = next(&queue).await;
    if first.envelope.event_id == "bad" {
        first
            .acker
            .dead_letter("not a zendesk event")
            .await
            .unwrap();
        first = next(&queue).await;
    } else {
        let bad = next(&queue).await;
        bad.acker.dead_letter("not a zendesk event").await.unwrap();
    }
    assert_eq!(first.envelope.event_id, "flaky");
    let before_first = onbehalf::rfc3339::to_ms(time::OffsetDateTime::now_utc());
    // The queue says which retry was the last one (the worker logs "dead-lettered" then).
    assert!(matches!(
        first.acker.retry("timeout 1").await.unwrap(),
        Retried::Later(_)
    ));
    let second = next(&queue).await;
    assert_eq!(second.attempt, 2);
    assert_eq!(
        second.acker.retry("timeout 2").await.unwrap(),
        Retried::DeadLettered
    );
    assert!(
        receive_within(&queue, Duration::from_millis(300))
            .await
            .is_none()
    );

    let stats = queue.stats().await;
    assert_eq!((stats.ready, stats.dead), (Some(0), Some(2)));
    let mut dead = queue.dead_letters(10).await.unwrap();
    dead.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    assert_eq!(dead.len(), 2);
    assert_eq!(
        (
            dead[0].event_id.as_str(),
            dead[0].attempts,
            dead[0].reason.as_str()
        ),
        ("bad", 1, "not a zendesk event")
    );
    assert_eq!(
        (
            dead[1].event_id.as_str(),
            dead[1].ticket_id.as_str(),
            dead[1].attempts
        ),
        ("flaky", "1", 2)
    );
    assert_eq!(dead[1].reason, "timeout 2");
    assert_eq!(dead[1].source, "zendesk");
    assert_eq!(dead[1].received_at, 1_700_000_000_123);
    let (first_at, last_at) = (
        dead[1].first_attempt_at.expect("first attempt time"),
        dead[1].last_attempt_at.expect("last attempt time"),
    );
    // The first attempt was claimed before `before_first` was taken; the second (the one
    // that dead-lettered it) after a backoff.
    assert!(
        first_at <= before_first && first_at < last_at,
        "{first_at} {last_at}"
    );
    assert!(
        serde_json::to_value(&dead[1]).unwrap()["last_attempt_at"]
            .as_str()
            .is_some_and(|t| onbehalf::rfc3339::parse(t).is_ok()),
        "times are RFC 3339"
    );
    assert_eq!(queue.dead_letters(1).await.unwrap().len(), 1);

    // Paged: one at a time, oldest first, the second page ends the list; a position the
    // queue never gave is refused.
    let page = queue
        .dead_letter_page(DeadLetterQuery {
            after: None,
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(page.dead_letters.len(), 1);
    let rest = queue
        .dead_letter_page(DeadLetterQuery {
            after: page.next.clone(),
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(rest.dead_letters.len(), 1);
    assert_eq!(rest.next, None);
    assert_ne!(page.dead_letters[0].event_id, rest.dead_letters[0].event_id);
    assert!(matches!(
        queue
            .dead_letter_page(DeadLetterQuery {
                after: Some("x".into()),
                limit: 1
            })
            .await,
        Err(QueueError::BadPosition(_))
    ));

    assert_eq!(queue.requeue_dead(Some("flaky")).await.unwrap(), 1);
    assert_eq!(queue.requeue_dead(Some("flaky")).await.unwrap(), 0);
    let again = next(&queue).await;
    assert_eq!(
        (again.envelope.event_id.as_str(), again.attempt),
        ("flaky", 1)
    );
    again.acker.ack().await.unwrap();

    assert_eq!(queue.requeue_dead(None).await.unwrap(), 1);
    let bad = next(&queue).await;
    assert_eq!((bad.envelope.event_id.as_str(), bad.attempt), ("bad", 1));
    assert_eq!(queue.stats().await.dead, Some(0));
}

#[tokio::test]
async fn an_expired_lease_is_handed_out_again() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path(), Duration::from_millis(300)).await;
    publish_all(&queue, &[("ev", "1")]).await;
    let hung = next(&queue).await;
    let leased_at = Instant::now();

    let again = next(&queue).await;
    assert!(leased_at.elapsed() >= Duration::from_millis(250));
    assert_eq!((again.envelope.event_id.as_str(), again.attempt), ("ev", 2));

    // The hung worker wakes up and asks for a retry: the event is someone else's now.
    hung.acker.retry("late").await.unwrap();
    assert!(
        receive_within(&queue, Duration::from_millis(200))
            .await
            .is_none()
    );
    again.acker.ack().await.unwrap();
    assert_eq!(queue.stats().await.ready, Some(0));
}

#[tokio::test]
async fn reopening_after_a_drop_redelivers_unacked_events_at_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let queue = open(dir.path(), LONG_LEASE).await;
        publish_all(&queue, &[("ev", "1"), ("done", "2")]).await;
        let d = next(&queue).await;
        let other = next(&queue).await;
        let (unacked, acked) = if d.envelope.event_id == "ev" {
            (d, other)
        } else {
            (other, d)
        };
        acked.acker.ack().await.unwrap();
        drop(unacked);
    }
    let queue = open(dir.path(), LONG_LEASE).await;
    let again = receive_within(&queue, Duration::from_millis(500))
        .await
        .expect("the unacked event should be ready right after reopening");
    assert_eq!((again.envelope.event_id.as_str(), again.attempt), ("ev", 2));
    assert!(
        receive_within(&queue, Duration::from_millis(200))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_second_open_of_an_owned_folder_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path(), LONG_LEASE).await;
    let err = EmbeddedQueue::open(dir.path(), policy(5, 50), LONG_LEASE)
        .await
        .unwrap_err();
    let message = err.to_string();
    // Its own variant: `dead-letters` then asks the owner's API instead.
    assert!(
        matches!(&err, QueueError::Locked { holder: Some(pid), .. } if *pid == std::process::id()),
        "{message}"
    );
    assert!(message.contains("queue.lock"), "{message}");
    assert!(
        message.contains(&std::process::id().to_string()),
        "{message}"
    );
    drop(first);
    open(dir.path(), LONG_LEASE).await;
}

#[tokio::test]
async fn close_wakes_every_waiting_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let queue = Arc::new(open(dir.path(), LONG_LEASE).await);
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move { queue.receive().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    queue.close().await;
    for receiver in receivers {
        let result = timeout(Duration::from_secs(2), receiver)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(result, Err(QueueError::Closed)));
    }
    publish_all(&queue, &[("late", "1")]).await;
    assert!(matches!(queue.receive().await, Err(QueueError::Closed)));
}

#[tokio::test]
async fn a_thousand_concurrent_publishes_are_each_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let queue = Arc::new(open(dir.path(), LONG_LEASE).await);
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                queue
                    .publish(envelope(&format!("ev-{i}"), &format!("t-{}", i % 37)))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), PublishOutcome::Accepted);
    }
    assert_eq!(queue.stats().await.ready, Some(1000));

    let mut seen = HashSet::new();
    while let Some(delivery) = receive_within(&queue, Duration::from_millis(300)).await {
        assert!(seen.insert(delivery.envelope.event_id.clone()));
        delivery.acker.ack().await.unwrap();
    }
    assert_eq!(seen.len(), 1000);
}

#[tokio::test]
async fn receive_is_cancel_safe() {
    let dir = tempfile::tempdir().unwrap();
    let queue = open(dir.path(), LONG_LEASE).await;
    let total = 40;
    let mut delivered = HashSet::new();
    for i in 0..total {
        queue
            .publish(envelope(&format!("ev-{i}"), &format!("t-{i}")))
            .await
            .unwrap();
        // Give up on receive at varying points of its progress.
        let patience = Duration::from_micros(50 * (i % 20));
        if let Ok(delivery) = timeout(patience, queue.receive()).await {
            let delivery = delivery.unwrap();
            assert_eq!(delivery.attempt, 1);
            assert!(delivered.insert(delivery.envelope.event_id.clone()));
            delivery.acker.ack().await.unwrap();
        }
    }
    // No event may be stuck behind a lease nobody holds: all come out, on their first attempt.
    while let Some(delivery) = receive_within(&queue, Duration::from_millis(300)).await {
        assert_eq!(delivery.attempt, 1, "{delivery:?}");
        assert!(delivered.insert(delivery.envelope.event_id.clone()));
        delivery.acker.ack().await.unwrap();
    }
    assert_eq!(delivered.len(), total as usize);
}

#[tokio::test]
async fn acked_events_are_forgotten_after_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let options = EmbeddedOptions {
        lease: LONG_LEASE,
        done_retention: Duration::from_millis(0),
        prune_every: Duration::from_millis(100),
        ..EmbeddedOptions::default()
    };
    let queue = EmbeddedQueue::open_with(dir.path(), options).await.unwrap();
    publish_all(&queue, &[("ev", "1")]).await;
    next(&queue).await.acker.ack().await.unwrap();
    // The writer prunes every 100 ms; on a busy machine give it a few rounds.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        match queue.publish(envelope("ev", "1")).await.unwrap() {
            PublishOutcome::Accepted => break,
            PublishOutcome::Duplicate => assert!(Instant::now() < deadline, "never pruned"),
        }
    }
}

const CRASH_DIR_ENV: &str = "ONBEHALF_EMBQ_CRASH_DIR";

/// Not a test on its own: the body of the child process of `accepted_events_survive_sigkill`.
/// Publishes as fast as it can and prints every accepted id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child_helper() {
    let Ok(dir) = std::env::var(CRASH_DIR_ENV) else {
        return;
    };
    let queue = Arc::new(open(Path::new(&dir), LONG_LEASE).await);
    let publishers: Vec<_> = (0..32)
        .map(|p| {
            let queue = Arc::clone(&queue);
            tokio::spawn(async move {
                // Bounded so a child whose parent died does not run forever.
                for n in 0..100_000 {
                    let id = format!("c{p}-{n}");
                    let outcome = queue
                        .publish(envelope(&id, &format!("t{p}")))
                        .await
                        .unwrap();
                    assert_eq!(outcome, PublishOutcome::Accepted);
                    println!("accepted {id}");
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.unwrap();
    }
}

#[tokio::test]
async fn accepted_events_survive_sigkill() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let dir = tempfile::tempdir().unwrap();
    let helper = common::alone::test_name(module_path!(), "crash_child_helper");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &helper, "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR_ENV, dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut accepted = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("accepted ") {
                if accepted.is_empty() {
                    let _ = first_tx.send(());
                }
                accepted.push(id.to_owned());
            }
        }
        accepted
    });
    first_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the child accepted nothing");
    std::thread::sleep(Duration::from_millis(300));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let accepted = reader.join().unwrap();
    assert!(accepted.len() > 100, "only {} accepted", accepted.len());

    let queue = open(dir.path(), LONG_LEASE).await;
    let ready = queue.stats().await.ready.unwrap();
    assert!(
        ready >= accepted.len() as u64,
        "{ready} < {}",
        accepted.len()
    );
    for id in &accepted {
        assert_eq!(
            queue.publish(envelope(id, "x")).await.unwrap(),
            PublishOutcome::Duplicate,
            "{id} was reported accepted but is gone after the crash"
        );
    }
    eprintln!(
        "crash test: {} accepted before SIGKILL, {ready} in the queue after reopening",
        accepted.len()
    );
}

/// `cargo test --test it -- --ignored --nocapture embedded_queue::publish_throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn publish_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let queue = Arc::new(open(dir.path(), LONG_LEASE).await);
    let (publishers, total) = (64, 20_000);
    let body = Bytes::from(vec![b'x'; 1024]);
    let started = Instant::now();
    let tasks: Vec<_> = (0..publishers)
        .map(|p| {
            let queue = Arc::clone(&queue);
            let body = body.clone();
            tokio::spawn(async move {
                for n in (p..total).step_by(publishers) {
                    let mut e = envelope(&format!("ev-{n}"), &format!("t-{}", n % 500));
                    e.body = body.clone();
                    assert_eq!(queue.publish(e).await.unwrap(), PublishOutcome::Accepted);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(queue.stats().await.ready, Some(total as u64));
    eprintln!(
        "{total} durable publishes by {publishers} publishers in {elapsed:?}: {:.0}/s",
        total as f64 / elapsed.as_secs_f64()
    );
}

/// The retry budget is time-based, as on RabbitMQ: past `max_attempts` an event is retried
/// while it is younger than the budget, and dead-lettered once it is older.
#[tokio::test]
async fn retries_go_on_within_the_time_budget() {
    let dir = tempfile::tempdir().unwrap();
    let budget = RetryPolicy {
        budget: Duration::from_secs(3600),
        ..policy(2, 5)
    };
    let queue = EmbeddedQueue::open(dir.path(), budget, LONG_LEASE)
        .await
        .unwrap();
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let young = Envelope {
        received_at_ms: now_ms as i64,
        ..envelope("young", "1")
    };
    // `envelope()` was accepted in 2023: far beyond the budget.
    publish_all(&queue, &[("old", "2")]).await;
    queue.publish(young).await.unwrap();
    let (mut old_deliveries, mut young_attempt) = (0, 0);
    while old_deliveries < 2 || young_attempt < 4 {
        let d = next(&queue).await;
        if d.envelope.event_id == "old" {
            old_deliveries += 1;
            assert!(old_deliveries <= 2, "dead-lettered after max_attempts");
        } else {
            young_attempt = d.attempt;
        }
        d.acker.retry("still failing").await.unwrap();
    }
    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].event_id.as_str(), dead[0].attempts), ("old", 2));
}
