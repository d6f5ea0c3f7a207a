//! The store survives PostgreSQL restarting under it: the pool reconnects by itself and every
//! event is applied exactly once.
//!
//! Restarts a private PostgreSQL server of its own (never the machine's), so it is a heavy
//! outage test: it runs with `TEST_DISRUPTIVE=1` (`.ci/run` sets it).

use crate::instances;
use crate::store_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use instances::PrivatePostgres;
use onbehalf::store::{Applied, NoteStatus, StoreError};
use onbehalf::workflow::{ConsentVerdict, Decision, TicketState};
use store_support::{Db, SOURCE, confirmation, event, keep, note, step};
use time::OffsetDateTime;

/// Events applied after the restart finished, to show the pool is healthy again.
const AFTER_RESTART: usize = 50;
const TICKETS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_survives_a_postgres_restart() {
    let test = "store_survives_a_postgres_restart";
    if !instances::heavy_outage_tests_enabled(test, "restarts a private PostgreSQL") {
        return;
    }
    // The pool must ride out a real restart: fsync off changes nothing a restart can observe.
    let pg = PrivatePostgres::launch();
    store_support::with_postgres_on(&pg.server_url(), |db| survives_restart(db, &pg)).await;
}

#[derive(Debug, Default)]
struct Observed {
    events: usize,
    failed_attempts: usize,
    /// The longest single `apply_event` call (retries included): how long a worker stalled.
    longest_apply: Duration,
    /// Events whose commit went through although the call reported an error.
    duplicates_after_error: usize,
    /// From the first failure to the next success.
    outage: Option<Duration>,
    errors: BTreeSet<String>,
}

const POSTMASTER_STARTED: &str =
    "SELECT CAST(EXTRACT(EPOCH FROM pg_postmaster_start_time()) * 1000 AS BIGINT)";

async fn survives_restart(db: Db, pg: &PrivatePostgres) {
    let server_started = db.scalar(POSTMASTER_STARTED).await;
    let applied = Arc::new(AtomicUsize::new(0));
    let restarted = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_until_restarted(
        db.store.clone(),
        applied.clone(),
        restarted.clone(),
    ));

    while applied.load(Ordering::SeqCst) < 30 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    // Blocks this worker only: the writer goes on on the others.
    tokio::task::block_in_place(|| pg.restart());
    let took = started.elapsed();
    restarted.store(true, Ordering::SeqCst);
    let applied_during = applied.load(Ordering::SeqCst);

    let seen = tokio::time::timeout(Duration::from_secs(120), writer)
        .await
        .expect("writer stuck after the restart")
        .unwrap();
    eprintln!("restart took {took:?}; {applied_during} events applied by its end");
    eprintln!("observed: {seen:#?}");
    // Calls need not fail: the pool may absorb a short outage in its acquire timeout.
    assert_ne!(
        db.scalar(POSTMASTER_STARTED).await,
        server_started,
        "PostgreSQL did not restart, so this proves nothing"
    );
    assert!(
        applied_during < seen.events,
        "nothing applied after the restart"
    );

    let mut steps = BTreeSet::new();
    for t in 0..TICKETS {
        let ticket = format!("t{t}");
        let notes = db
            .store
            .notes_of(SOURCE, &ticket.as_str().into())
            .await
            .unwrap();
        let version = db.ticket_version(&ticket).await;
        assert_eq!(version as usize, notes.len(), "ticket {ticket}");
        steps.extend(notes.into_iter().map(|n| n.step));
    }
    let expected: BTreeSet<String> = (0..seen.events).map(|i| step(&format!("ev{i}"))).collect();
    assert_eq!(steps, expected, "an event is missing or was applied twice");
    let report = db.store.verify_trail().await.unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(report.checked as usize, seen.events);
}

/// Applies events one after another across a few tickets, retrying while the database is
/// away, until `AFTER_RESTART` events went through after the restart.
async fn write_until_restarted(
    store: onbehalf::store::Store,
    applied: Arc<AtomicUsize>,
    restarted: Arc<AtomicBool>,
) -> Observed {
    let mut seen = Observed::default();
    let mut first_failure: Option<Instant> = None;
    let mut after = 0;
    let mut i = 0;
    while after < AFTER_RESTART {
        let ticket = format!("t{}", i % TICKETS);
        let id = format!("ev{i}");
        let decide = |prev: Option<&TicketState>| Decision {
            notes: vec![note(&id)],
            confirmations: vec![confirmation(
                &ticket,
                &id,
                ConsentVerdict::Granted,
                OffsetDateTime::now_utc(),
            )],
            ..keep(prev)
        };
        let mut failed_before = false;
        let call = Instant::now();
        loop {
            match store
                .apply_event(SOURCE, &event(&ticket, &id), NoteStatus::Pending, decide)
                .await
            {
                Ok(outcome) => {
                    if outcome == Applied::Duplicate {
                        assert!(failed_before, "{id} reported as duplicate on first try");
                        seen.duplicates_after_error += 1;
                    }
                    seen.longest_apply = seen.longest_apply.max(call.elapsed());
                    if let (Some(since), None) = (first_failure, seen.outage) {
                        seen.outage = Some(since.elapsed());
                    }
                    break;
                }
                Err(e @ StoreError::Unavailable(_)) => {
                    failed_before = true;
                    seen.failed_attempts += 1;
                    first_failure.get_or_insert_with(Instant::now);
                    seen.errors.insert(summary(&e));
                    assert!(
                        seen.failed_attempts < 2_000,
                        "database still unavailable: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("{id}: {e:?}"),
            }
        }
        i += 1;
        applied.fetch_add(1, Ordering::SeqCst);
        if restarted.load(Ordering::SeqCst) {
            after += 1;
        }
    }
    seen.events = i;
    seen
}

/// The error's message without connection-specific details, to group what was seen.
fn summary(e: &StoreError) -> String {
    let text = e.to_string();
    text.chars().take(120).collect()
}
