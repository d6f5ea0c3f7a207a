//! What callers see when the writer task dies: not an outage of the disk, not a shutdown.

use super::*;

/// A queue handle in front of `commands`, without a queue file: these tests play the writer.
fn handle(commands: mpsc::Sender<Command>) -> EmbeddedQueue {
    EmbeddedQueue {
        commands,
        readers: SqlitePool::connect_lazy("sqlite::memory:").unwrap(),
        shared: Arc::new(Shared::default()),
        lease: Duration::from_secs(60),
        _lock: tempfile::tempfile().unwrap(),
    }
}

fn envelope() -> Envelope {
    Envelope {
        event_id: "e1".into(),
        ticket_id: "7".into(),
        source: "zendesk".into(),
        received_at_ms: 0,
        body: bytes::Bytes::from_static(b"{}"),
    }
}

#[tokio::test]
async fn a_writer_that_drops_the_answer_reads_as_stopped_not_as_unavailable() {
    let (commands, mut rx) = mpsc::channel(1);
    let queue = handle(commands);
    // What a writer panicking in the middle of a batch does to the command it holds.
    let writer = tokio::spawn(async move {
        drop(rx.recv().await);
        rx
    });
    let err = queue.publish(envelope()).await.unwrap_err();
    assert!(matches!(err, QueueError::WriterStopped), "{err:?}");
    // The webhook's sender is told to retry; the worker keeps the event.
    assert!(err.is_transient());

    // The writer gone for good: receivers are not told the queue was shut down (the worker
    // would stop consuming), and the readiness probe says why.
    drop(writer.await.unwrap());
    assert!(matches!(
        queue.receive().await,
        Err(QueueError::WriterStopped)
    ));
    let acker = EmbeddedAcker {
        commands: queue.commands.clone(),
        event_id: "e1".into(),
        received_at_ms: 0,
        attempt: 1,
        lease: queue.lease,
    };
    assert!(matches!(
        Box::new(acker).ack().await,
        Err(QueueError::WriterStopped)
    ));
    assert!(matches!(
        queue.check().await,
        Err(QueueError::WriterStopped)
    ));
}

#[test]
fn only_what_may_pass_by_waiting_is_transient() {
    assert!(QueueError::Unavailable("disk I/O error".into()).is_transient());
    assert!(QueueError::WriterStopped.is_transient());
    assert!(!QueueError::Closed.is_transient());
    assert!(!QueueError::Refused("unroutable".into()).is_transient());
}
