//! Behaviour of the store, each test run once on SQLite and once on PostgreSQL.
//!
//! PostgreSQL must listen on 127.0.0.1:5432 (user `postgres`, trust auth); every test creates
//! and drops its own database.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::store_support::{Db, SOURCE, both, confirmation, event, keep, note, step};
use onbehalf::store::{
    Applied, Backend, Decide, EventToApply, GroupCommitter, NoteCursor, NoteFeedQuery, NoteSettler,
    NoteStatus, RecordedVerdict, Store, StoreError,
};
use onbehalf::workflow::{Category, CommentId, ConsentVerdict, Decision, TicketState};
use time::OffsetDateTime;

mod store_trail;

both!(
    an_event_applied_twice_is_a_duplicate,
    state_round_trips_between_events,
    one_note_per_ticket_and_step,
    note_status_follows_shadow_mode,
    notes_are_claimed_settled_and_released,
    notes_can_be_claimed_with_the_event_that_creates_them,
    trail_chain_stays_intact_across_many_appends,
    verify_trail_finds_an_altered_record,
    database_refuses_to_update_or_delete_confirmations,
    a_replayed_reply_is_recorded_once,
    confirmations_page_filters_by_time_and_pages_by_seq,
    concurrent_events_are_each_applied_exactly_once,
    concurrent_deliveries_of_one_event_apply_it_once,
    instances_starting_together_on_a_fresh_database_all_open,
    a_schema_newer_than_the_binary_is_refused,
    check_and_ticket_view,
    group_commit_applies_each_event_once,
    committers_racing_to_create_a_ticket_lose_no_event,
    group_commit_keeps_a_bad_ticket_from_failing_the_batch,
    posted_notes_are_settled_together,
    group_commit_survives_a_panicking_decision,
    recent_notes_across_tickets_page_newest_first,
);

fn with_category(category: Category) -> TicketState {
    TicketState {
        category: Some(category),
        ..TicketState::default()
    }
}

async fn an_event_applied_twice_is_a_duplicate(db: Db) {
    let calls = AtomicUsize::new(0);
    let decide = |prev: Option<&TicketState>| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        Decision {
            // Each run would give a different state: a re-run would show in the stored state.
            state: if n == 0 {
                with_category(Category::AccountAccess)
            } else {
                with_category(Category::Other)
            },
            ..keep(prev)
        }
    };
    let e = event("100", "ev-1");
    let first = db
        .store
        .apply_event(SOURCE, &e, NoteStatus::Pending, &decide)
        .await
        .unwrap();
    assert!(matches!(first, Applied::Committed { .. }), "{first:?}");
    let second = db
        .store
        .apply_event(SOURCE, &e, NoteStatus::Pending, &decide)
        .await
        .unwrap();
    assert_eq!(second, Applied::Duplicate);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "decide ran for a duplicate"
    );

    let view = db
        .store
        .ticket_view(SOURCE, &"100".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.category.as_deref(), Some("account_access"));
    assert_eq!(db.ticket_version("100").await, 1);

    // The same event id from another helpdesk is a different event.
    let other = db
        .store
        .apply_event("other_desk", &e, NoteStatus::Pending, keep)
        .await
        .unwrap();
    assert!(matches!(other, Applied::Committed { .. }));
}

async fn state_round_trips_between_events(db: Db) {
    let set = |_: Option<&TicketState>| Decision {
        state: with_category(Category::ProjectGroupChange),
        ..keep(None)
    };
    db.store
        .apply_event(SOURCE, &event("7", "a"), NoteStatus::Pending, set)
        .await
        .unwrap();

    let seen = std::sync::Mutex::new(None);
    let observe = |prev: Option<&TicketState>| {
        *seen.lock().unwrap() = Some(prev.cloned());
        keep(prev)
    };
    db.store
        .apply_event(SOURCE, &event("7", "b"), NoteStatus::Pending, observe)
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().clone(),
        Some(Some(with_category(Category::ProjectGroupChange)))
    );

    // A ticket never seen before starts from nothing.
    db.store
        .apply_event(SOURCE, &event("8", "c"), NoteStatus::Pending, observe)
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().clone(), Some(None));
    assert_eq!(db.ticket_version("7").await, 2);
}

async fn one_note_per_ticket_and_step(db: Db) {
    let ask = |prev: Option<&TicketState>| Decision {
        notes: vec![note("ask_permission")],
        ..keep(prev)
    };
    let first = db
        .store
        .apply_event(SOURCE, &event("1", "e1"), NoteStatus::Pending, ask)
        .await
        .unwrap();
    assert_eq!(
        first,
        Applied::Committed {
            notes: vec![step("ask_permission")],
            confirmations: vec![],
            claimed: vec![],
            waiting: 0
        }
    );
    // A different event wanting the same step on the same ticket adds nothing, and sees the
    // first one's note still waiting to be posted.
    let second = db
        .store
        .apply_event(SOURCE, &event("1", "e2"), NoteStatus::Pending, ask)
        .await
        .unwrap();
    assert_eq!(
        second,
        Applied::Committed {
            notes: vec![],
            confirmations: vec![],
            claimed: vec![],
            waiting: 1
        }
    );
    // The same step on another ticket is its own note.
    db.store
        .apply_event(SOURCE, &event("2", "e3"), NoteStatus::Pending, ask)
        .await
        .unwrap();

    let notes = db.store.notes_of(SOURCE, &"1".into()).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].step, step("ask_permission"));
    assert!(notes[0].reference.contains("ask_permission"));
    assert_ne!(
        notes[0].reference,
        db.store.notes_of(SOURCE, &"2".into()).await.unwrap()[0].reference
    );
    assert_eq!(
        db.store.note_counts().await.unwrap(),
        vec![("pending".to_string(), 2)]
    );
}

/// The feed across tickets: newest first, ties on the creation time broken by the reference,
/// pages that neither repeat nor skip a note, the status and `since` filters.
async fn recent_notes_across_tickets_page_newest_first(db: Db) {
    let two = |prev: Option<&TicketState>| Decision {
        notes: vec![note("summary"), note("checklist")],
        ..keep(prev)
    };
    for ticket in 1..=5 {
        let status = if ticket == 5 {
            NoteStatus::Pending
        } else {
            NoteStatus::Shadow
        };
        db.store
            .apply_event(
                SOURCE,
                &event(&ticket.to_string(), &format!("e{ticket}")),
                status,
                two,
            )
            .await
            .unwrap();
    }
    // Ticket n's two notes at n seconds: both notes of a ticket tie on the time.
    db.exec("UPDATE notes SET created_at = CAST(ticket_id AS BIGINT) * 1000")
        .await
        .unwrap();
    let mut seen = vec![];
    let mut after = None;
    loop {
        let page = db
            .store
            .recent_notes(&NoteFeedQuery {
                status: Some(NoteStatus::Shadow),
                since_ms: None,
                after,
                limit: 3,
                ..NoteFeedQuery::default()
            })
            .await
            .unwrap();
        assert!(page.notes.len() <= 3);
        seen.extend(
            page.notes
                .into_iter()
                .map(|n| (n.created_at, n.reference, n.ticket_id, n.kind)),
        );
        match page.next {
            Some(next) => after = Some(NoteCursor::parse(&next).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "every shadow note once: {seen:?}");
    let unique: BTreeSet<&String> = seen.iter().map(|n| &n.1).collect();
    assert_eq!(unique.len(), 8, "no note twice: {seen:?}");
    assert!(
        seen.windows(2)
            .all(|w| (w[0].0, &w[0].1) > (w[1].0, &w[1].1)),
        "newest first: {seen:?}"
    );
    assert_eq!(seen[0].2, "4", "ticket 5's notes are pending, not shadow");
    let since = db
        .store
        .recent_notes(&NoteFeedQuery {
            status: None,
            since_ms: Some(3000),
            after: None,
            limit: 100,
            ..NoteFeedQuery::default()
        })
        .await
        .unwrap();
    let tickets: Vec<&str> = since.notes.iter().map(|n| n.ticket_id.as_str()).collect();
    assert_eq!(tickets, ["5", "5", "4", "4", "3", "3"]);
    assert!(since.next.is_none());
    assert!(
        since
            .notes
            .iter()
            .all(|n| n.helpdesk == SOURCE && !n.text.is_empty())
    );
}

async fn note_status_follows_shadow_mode(db: Db) {
    let two = |prev: Option<&TicketState>| Decision {
        notes: vec![note("summary"), note("checklist")],
        ..keep(prev)
    };
    db.store
        .apply_event(SOURCE, &event("1", "s1"), NoteStatus::Shadow, two)
        .await
        .unwrap();
    db.store
        .apply_event(SOURCE, &event("2", "p1"), NoteStatus::Pending, two)
        .await
        .unwrap();
    let pending = db
        .store
        .claim_pending_notes(SOURCE, &"2".into(), Duration::from_secs(60))
        .await
        .unwrap();
    let steps: Vec<&str> = pending.notes.iter().map(|n| n.step.as_str()).collect();
    assert_eq!(
        steps,
        [step("summary"), step("checklist")],
        "posted in the decision's order"
    );
    let shadow = db.store.notes_of(SOURCE, &"1".into()).await.unwrap();
    assert_eq!(shadow.len(), 2);
    assert!(shadow.iter().all(|n| n.status == NoteStatus::Shadow));
    // Shadow notes are never handed to a poster.
    let claimed = db
        .store
        .claim_pending_notes(SOURCE, &"1".into(), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(claimed.notes.is_empty() && claimed.held_elsewhere == 0);

    let mut counts = db.store.note_counts().await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        vec![("pending".to_string(), 2), ("shadow".to_string(), 2)]
    );
}

async fn notes_can_be_claimed_with_the_event_that_creates_them(db: Db) {
    let ask = |prev: Option<&TicketState>| Decision {
        notes: vec![note("ask_permission")],
        ..keep(prev)
    };
    let hold = Duration::from_secs(60);
    let applied = db
        .store
        .apply_event_claiming(SOURCE, &event("19", "e1"), hold, ask)
        .await
        .unwrap();
    let Applied::Committed { claimed, .. } = applied else {
        panic!("committed: {applied:?}")
    };
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].status, claimed[0].attempts),
        (NoteStatus::Pending, 1)
    );
    // Nobody else may take it while we post it.
    let others = db
        .store
        .claim_pending_notes(SOURCE, &"19".into(), hold)
        .await
        .unwrap();
    assert_eq!((others.notes.len(), others.held_elsewhere), (0, 1));
    // A replay of the event claims nothing new.
    let again = db
        .store
        .apply_event_claiming(SOURCE, &event("19", "e1"), hold, ask)
        .await
        .unwrap();
    assert_eq!(again, Applied::Duplicate);
}

async fn notes_are_claimed_settled_and_released(db: Db) {
    let ask = |prev: Option<&TicketState>| Decision {
        notes: vec![note("ask_permission")],
        ..keep(prev)
    };
    db.store
        .apply_event(SOURCE, &event("9", "e1"), NoteStatus::Pending, ask)
        .await
        .unwrap();
    let hold = Duration::from_secs(60);

    let mine = db
        .store
        .claim_pending_notes(SOURCE, &"9".into(), hold)
        .await
        .unwrap();
    assert_eq!(mine.notes.len(), 1);
    assert_eq!(mine.notes[0].attempts, 1);
    assert_eq!(mine.held_elsewhere, 0);
    let reference = mine.notes[0].reference.clone();

    let theirs = db
        .store
        .claim_pending_notes(SOURCE, &"9".into(), hold)
        .await
        .unwrap();
    assert!(theirs.notes.is_empty());
    assert_eq!(theirs.held_elsewhere, 1);

    // A failed post gives the claim back at once.
    db.store.release_note(&reference).await.unwrap();
    let retry = db
        .store
        .claim_pending_notes(SOURCE, &"9".into(), hold)
        .await
        .unwrap();
    assert_eq!(retry.notes.len(), 1);
    assert_eq!(retry.notes[0].attempts, 2, "attempts count every claim");

    NoteSettler::start(db.store.clone(), 8)
        .posted(&reference, Some(&"c-777".into()))
        .await
        .unwrap();
    let stored = db.store.notes_of(SOURCE, &"9".into()).await.unwrap();
    assert_eq!(stored[0].status, NoteStatus::Posted);
    assert_eq!(stored[0].remote_id, Some("c-777".into()));
    assert_eq!(stored[0].attempts, 2);
    let after = db
        .store
        .claim_pending_notes(SOURCE, &"9".into(), hold)
        .await
        .unwrap();
    assert!(after.notes.is_empty() && after.held_elsewhere == 0);

    // A claim that has run out can be taken over by another worker.
    db.store
        .apply_event(SOURCE, &event("10", "e2"), NoteStatus::Pending, ask)
        .await
        .unwrap();
    let short = db
        .store
        .claim_pending_notes(SOURCE, &"10".into(), Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(short.notes.len(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let takeover = db
        .store
        .claim_pending_notes(SOURCE, &"10".into(), hold)
        .await
        .unwrap();
    assert_eq!(takeover.notes.len(), 1);
    assert_eq!(takeover.notes[0].attempts, 2);
}

/// Applies one event per reply, each recording one confirmation; returns the count.
async fn record_replies(db: &Db, ticket: &str, replies: &[(&str, OffsetDateTime)]) {
    for (reply, at) in replies {
        let decide = |prev: Option<&TicketState>| Decision {
            confirmations: vec![confirmation(ticket, reply, ConsentVerdict::Granted, *at)],
            ..keep(prev)
        };
        let applied = db
            .store
            .apply_event(
                SOURCE,
                &event(ticket, &format!("reply-{reply}")),
                NoteStatus::Pending,
                decide,
            )
            .await
            .unwrap();
        assert_eq!(
            applied,
            Applied::Committed {
                notes: vec![],
                confirmations: vec![ConsentVerdict::Granted],
                claimed: vec![],
                waiting: 0
            }
        );
    }
}

async fn trail_chain_stays_intact_across_many_appends(db: Db) {
    let now = OffsetDateTime::now_utc();
    // Several confirmations from one event, then many events over several tickets.
    let batch = |prev: Option<&TicketState>| Decision {
        confirmations: vec![
            confirmation("50", "r1", ConsentVerdict::Granted, now),
            confirmation("50", "r2", ConsentVerdict::Declined, now),
            confirmation("50", "r3", ConsentVerdict::Granted, now),
        ],
        ..keep(prev)
    };
    db.store
        .apply_event(SOURCE, &event("50", "batch"), NoteStatus::Pending, batch)
        .await
        .unwrap();
    for t in 0..5 {
        let replies: Vec<String> = (0..9).map(|i| format!("t{t}-{i}")).collect();
        let replies: Vec<(&str, OffsetDateTime)> =
            replies.iter().map(|r| (r.as_str(), now)).collect();
        record_replies(&db, &format!("6{t}"), &replies).await;
    }
    let report = db.store.verify_trail().await.unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(report.checked, 48);
    assert_eq!(db.store.confirmation_count().await.unwrap(), 48);

    let all = db.store.confirmations_page(None, 0, 1000).await.unwrap();
    let seqs: Vec<i64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=48).collect::<Vec<_>>());
    assert_eq!(all[1].verdict, RecordedVerdict::Declined);
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
}

async fn verify_trail_finds_an_altered_record(db: Db) {
    let now = OffsetDateTime::now_utc();
    record_replies(&db, "70", &[("a", now), ("b", now), ("c", now), ("d", now)]).await;
    assert_eq!(db.store.verify_trail().await.unwrap().first_break, None);

    match db.backend {
        Backend::Sqlite => db.exec("DROP TRIGGER confirmations_no_update").await,
        Backend::Postgres => {
            db.exec("ALTER TABLE confirmations DISABLE TRIGGER confirmations_append_only")
                .await
        }
    }
    .unwrap();
    let changed = db
        .exec("UPDATE confirmations SET quote = 'No, do not.' WHERE seq = 3")
        .await
        .unwrap();
    assert_eq!(changed, 1);

    let report = db.store.verify_trail().await.unwrap();
    let broken = report.first_break.expect("alteration went unnoticed");
    assert_eq!(broken.seq, 3);
    assert!(broken.problem.contains("altered"), "{}", broken.problem);
    assert_eq!(report.checked, 2);
}

async fn database_refuses_to_update_or_delete_confirmations(db: Db) {
    let now = OffsetDateTime::now_utc();
    record_replies(&db, "80", &[("a", now), ("b", now)]).await;
    let update = db
        .exec("UPDATE confirmations SET verdict = 'declined' WHERE seq = 1")
        .await;
    let err = update.expect_err("an update went through");
    assert!(err.to_string().contains("append-only"), "{err}");
    let delete = db.exec("DELETE FROM confirmations WHERE seq = 2").await;
    let err = delete.expect_err("a delete went through");
    assert!(err.to_string().contains("append-only"), "{err}");

    assert_eq!(db.store.confirmation_count().await.unwrap(), 2);
    assert_eq!(db.store.verify_trail().await.unwrap().first_break, None);
}

async fn a_replayed_reply_is_recorded_once(db: Db) {
    let now = OffsetDateTime::now_utc();
    let grant = |prev: Option<&TicketState>| Decision {
        confirmations: vec![confirmation("90", "r-42", ConsentVerdict::Granted, now)],
        ..keep(prev)
    };
    let first = db
        .store
        .apply_event(SOURCE, &event("90", "ev-a"), NoteStatus::Pending, grant)
        .await
        .unwrap();
    assert!(matches!(first, Applied::Committed { confirmations, .. } if confirmations.len() == 1));
    // The helpdesk sends the same reply again under a new event id.
    let replay = db
        .store
        .apply_event(SOURCE, &event("90", "ev-b"), NoteStatus::Pending, grant)
        .await
        .unwrap();
    assert_eq!(
        replay,
        Applied::Committed {
            notes: vec![],
            confirmations: vec![],
            claimed: vec![],
            waiting: 0
        }
    );
    assert_eq!(db.store.confirmation_count().await.unwrap(), 1);
    // The chain continues from the kept record, without a gap.
    record_replies(&db, "90", &[("r-43", now)]).await;
    let report = db.store.verify_trail().await.unwrap();
    assert_eq!((report.checked, report.first_break), (2, None));
}

async fn confirmations_page_filters_by_time_and_pages_by_seq(db: Db) {
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::days(1);
    let names: Vec<String> = (0..7).map(|i| format!("r{i}")).collect();
    let replies: Vec<(&str, OffsetDateTime)> = names
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), t0 + time::Duration::minutes(i as i64)))
        .collect();
    record_replies(&db, "40", &replies).await;

    let since = t0 + time::Duration::minutes(3);
    let recent = db
        .store
        .confirmations_page(Some(since), 0, 100)
        .await
        .unwrap();
    let seqs: Vec<i64> = recent.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        vec![4, 5, 6, 7],
        "records decided at or after `since`"
    );
    assert_eq!(recent[0].reply_comment_id, "r3");

    // Paging through, three at a time, yields each record once and in order.
    let mut after = 0;
    let mut pages = vec![];
    loop {
        let page = db.store.confirmations_page(None, after, 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        pages.push(page.iter().map(|r| r.seq).collect::<Vec<_>>());
    }
    assert_eq!(pages, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    let late = db
        .store
        .confirmations_page(Some(since), 5, 100)
        .await
        .unwrap();
    assert_eq!(late.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![6, 7]);
    assert!(
        db.store
            .confirmations_page(Some(t0 + time::Duration::days(2)), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Every event notes its own id (the note list counts applied effects) and records one
/// confirmation (so all writers contend for the trail head).
fn counting_decide(
    ticket: String,
    event_id: String,
) -> impl Fn(Option<&TicketState>) -> Decision + Send + Sync {
    move |prev| Decision {
        notes: vec![note(&event_id)],
        confirmations: vec![confirmation(
            &ticket,
            &event_id,
            ConsentVerdict::Granted,
            OffsetDateTime::now_utc(),
        )],
        ..keep(prev)
    }
}

async fn concurrent_events_are_each_applied_exactly_once(db: Db) {
    const EVENTS_PER_TASK: usize = 5;
    let store: Arc<Store> = Arc::new(db.store.clone());
    let mut tasks = tokio::task::JoinSet::new();
    // 20 tasks on their own tickets, 10 tasks all on ticket "shared".
    let plans = (0..20)
        .map(|t| (format!("own-{t}"), format!("own{t}")))
        .chain((0..10).map(|t| ("shared".to_string(), format!("sh{t}"))));
    for (ticket, tag) in plans {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0..EVENTS_PER_TASK {
                let id = format!("{tag}-{i}");
                let decide = counting_decide(ticket.clone(), id.clone());
                let applied = store
                    .apply_event(SOURCE, &event(&ticket, &id), NoteStatus::Pending, decide)
                    .await
                    .unwrap();
                // Earlier events' notes are never posted here, so `waiting` grows.
                let Applied::Committed {
                    notes,
                    confirmations,
                    claimed,
                    ..
                } = applied
                else {
                    panic!("{applied:?}");
                };
                assert_eq!(notes, vec![step(&id)]);
                assert_eq!(confirmations, vec![ConsentVerdict::Granted]);
                assert!(claimed.is_empty());
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }

    for t in 0..20 {
        let ticket = format!("own-{t}");
        let steps: BTreeSet<String> = db
            .store
            .notes_of(SOURCE, &ticket.as_str().into())
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.step)
            .collect();
        let expected: BTreeSet<String> = (0..EVENTS_PER_TASK)
            .map(|i| step(&format!("own{t}-{i}")))
            .collect();
        assert_eq!(steps, expected);
        assert_eq!(db.ticket_version(&ticket).await, EVENTS_PER_TASK as i64);
    }
    let shared = db.store.notes_of(SOURCE, &"shared".into()).await.unwrap();
    assert_eq!(shared.len(), 10 * EVENTS_PER_TASK);
    assert_eq!(
        db.ticket_version("shared").await,
        (10 * EVENTS_PER_TASK) as i64
    );

    let total = 30 * EVENTS_PER_TASK;
    let report = db.store.verify_trail().await.unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(report.checked, total as u64);
    assert_eq!(db.store.confirmation_count().await.unwrap(), total as i64);
    let replies: BTreeSet<CommentId> = db
        .store
        .confirmations_page(None, 0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.reply_comment_id)
        .collect();
    assert_eq!(replies.len(), total, "a reply is missing or doubled");
}

async fn concurrent_deliveries_of_one_event_apply_it_once(db: Db) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = db.store.clone();
        let calls = calls.clone();
        tasks.spawn(async move {
            let decide = |prev: Option<&TicketState>| {
                calls.fetch_add(1, Ordering::SeqCst);
                counting_decide("dup".into(), "once".into())(prev)
            };
            store
                .apply_event(SOURCE, &event("dup", "once"), NoteStatus::Pending, decide)
                .await
                .unwrap()
        });
    }
    let mut committed = 0;
    while let Some(done) = tasks.join_next().await {
        if done.unwrap() != Applied::Duplicate {
            committed += 1;
        }
    }
    assert_eq!(
        committed, 1,
        "one delivery applies the event, the rest see a duplicate"
    );
    assert_eq!(db.ticket_version("dup").await, 1);
    assert_eq!(
        db.store
            .notes_of(SOURCE, &"dup".into())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(db.store.confirmation_count().await.unwrap(), 1);
    assert!(calls.load(Ordering::SeqCst) >= 1);
}

/// Several instances (or roles) deployed at once each migrate the same empty database.
async fn instances_starting_together_on_a_fresh_database_all_open(db: Db) {
    let options = db.sibling().await;
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let options = options.clone();
        opening.spawn(async move { Store::open(&options).await });
    }
    let mut stores = vec![];
    while let Some(done) = opening.join_next().await {
        stores.push(done.unwrap().expect("an instance failed to start"));
    }
    for store in &stores {
        store.check().await.unwrap();
    }
    let applied = stores[0]
        .apply_event(SOURCE, &event("1", "e"), NoteStatus::Pending, keep)
        .await
        .unwrap();
    assert!(matches!(applied, Applied::Committed { .. }));
    for store in stores {
        store.close().await;
    }
}

async fn a_schema_newer_than_the_binary_is_refused(db: Db) {
    let checksum = match db.backend {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    db.exec(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99990101000000, 'from the future', TRUE, {checksum}, 0)"
    ))
    .await
    .unwrap();
    db.store.close().await;
    let err = Store::open(&db.options)
        .await
        .expect_err("opened a newer schema");
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99990101000000
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer than this binary"), "{err}");
    assert!(!err.is_transient(), "retrying cannot help");
}

async fn check_and_ticket_view(db: Db) {
    db.store.check().await.unwrap();
    assert!(
        db.store
            .ticket_view(SOURCE, &"404".into())
            .await
            .unwrap()
            .is_none()
    );

    let now = OffsetDateTime::now_utc();
    let decide = |_: Option<&TicketState>| Decision {
        state: with_category(Category::AccountAccess),
        notes: vec![note("summary")],
        confirmations: vec![confirmation("30", "r1", ConsentVerdict::Declined, now)],
    };
    db.store
        .apply_event(SOURCE, &event("30", "e1"), NoteStatus::Shadow, decide)
        .await
        .unwrap();
    let view = db
        .store
        .ticket_view(SOURCE, &"30".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.helpdesk, SOURCE);
    assert_eq!(view.ticket_id, "30");
    assert_eq!(view.category.as_deref(), Some("account_access"));
    assert_eq!(view.state["category"], "account_access");
    assert_eq!(view.notes.len(), 1);
    assert_eq!(view.notes[0].status, NoteStatus::Shadow);
    assert_eq!(view.confirmations.len(), 1);
    assert_eq!(view.confirmations[0].verdict, RecordedVerdict::Declined);
    // Another helpdesk's ticket with the same id is not this one.
    assert!(
        db.store
            .ticket_view("other_desk", &"30".into())
            .await
            .unwrap()
            .is_none()
    );
}

fn to_apply(ticket: &str, event_id: &str, hold: Option<Duration>) -> EventToApply {
    EventToApply {
        source: SOURCE.into(),
        event: Arc::new(event(ticket, event_id)),
        note_status: NoteStatus::Pending,
        hold,
        decide: Box::new(counting_decide(ticket.into(), event_id.into())),
    }
}

/// Two committers (two processes) over one database; tickets shared between them and events
/// of one ticket in the same batch; every event delivered twice.
async fn group_commit_applies_each_event_once(db: Db) {
    let committers = [
        GroupCommitter::start(db.store.clone(), 16, 2),
        GroupCommitter::start(db.store.clone(), 16, 2),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..40 {
        let ticket = if t % 4 == 0 {
            "shared".to_string()
        } else {
            format!("t{t}")
        };
        for (copy, committer) in committers.iter().enumerate() {
            let (committer, ticket) = (committer.clone(), ticket.clone());
            tasks.spawn(async move {
                let mut outcomes = vec![];
                for i in 0..3 {
                    let id = format!("ev{t}-{i}");
                    let hold = (copy == 0).then_some(Duration::from_secs(20));
                    outcomes.push((
                        id.clone(),
                        committer.apply(to_apply(&ticket, &id, hold)).await.unwrap(),
                    ));
                }
                outcomes
            });
        }
    }
    let mut committed = BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        for (id, applied) in done.unwrap() {
            match applied {
                Applied::Duplicate => {}
                Applied::Committed {
                    notes,
                    confirmations,
                    claimed,
                    ..
                } => {
                    assert!(committed.insert(id.clone()), "{id} applied twice");
                    assert_eq!(notes, vec![step(&id)]);
                    assert_eq!(confirmations, vec![ConsentVerdict::Granted]);
                    assert!(claimed.len() <= 1);
                    assert!(
                        claimed
                            .iter()
                            .all(|n| n.step == step(&id) && n.attempts == 1)
                    );
                }
            }
        }
    }
    assert_eq!(committed.len(), 120, "every event applied exactly once");
    for t in (0..40).filter(|t| t % 4 != 0) {
        let steps: BTreeSet<String> = db
            .store
            .notes_of(SOURCE, &format!("t{t}").into())
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.step)
            .collect();
        assert_eq!(steps, (0..3).map(|i| step(&format!("ev{t}-{i}"))).collect());
    }
    assert_eq!(
        db.store
            .notes_of(SOURCE, &"shared".into())
            .await
            .unwrap()
            .len(),
        30
    );
    let report = db.store.verify_trail().await.unwrap();
    assert_eq!(report.first_break, None);
    assert_eq!(report.checked, 120);
}

/// New tickets are inserted with their first state rather than locked first: two committers
/// creating the same ticket at once must each see the other's event, never overwrite it.
async fn committers_racing_to_create_a_ticket_lose_no_event(db: Db) {
    let committers = [
        GroupCommitter::start(db.store.clone(), 16, 1),
        GroupCommitter::start(db.store.clone(), 16, 1),
    ];
    let remembering = |event_id: String| -> Decide {
        Box::new(move |prev: Option<&TicketState>| {
            let mut state = prev.cloned().unwrap_or_default();
            state.handled_comments.insert(event_id.clone().into());
            Decision {
                state,
                notes: vec![note(&event_id)],
                confirmations: vec![],
            }
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..30 {
        for (side, committer) in committers.iter().enumerate() {
            let committer = committer.clone();
            let id = format!("new{t}-{side}");
            let item = EventToApply {
                decide: remembering(id.clone()),
                ..to_apply(&format!("new{t}"), &id, None)
            };
            tasks.spawn(async move { committer.apply(item).await });
        }
    }
    while let Some(done) = tasks.join_next().await {
        assert!(matches!(done.unwrap(), Ok(Applied::Committed { .. })));
    }
    for t in 0..30 {
        let view = db
            .store
            .ticket_view(SOURCE, &format!("new{t}").into())
            .await
            .unwrap()
            .expect("the ticket was created");
        let handled: BTreeSet<String> =
            serde_json::from_value(view.state["handled_comments"].clone()).unwrap();
        let expected: BTreeSet<String> = (0..2).map(|side| format!("new{t}-{side}")).collect();
        assert_eq!(handled, expected, "ticket new{t} lost an event's state");
        assert_eq!(view.notes.len(), 2);
    }
}

/// A ticket whose stored state cannot be read fails its own event, not the others in the
/// batch, and its event is not marked as processed.
async fn group_commit_keeps_a_bad_ticket_from_failing_the_batch(db: Db) {
    db.store
        .apply_event(SOURCE, &event("bad", "setup"), NoteStatus::Pending, keep)
        .await
        .unwrap();
    db.exec("UPDATE tickets SET state = '{broken' WHERE ticket_id = 'bad'")
        .await
        .unwrap();
    let committer = GroupCommitter::start(db.store.clone(), 64, 1);
    // The first event holds the committer, so all the others queue up for one batch.
    let slow = EventToApply {
        decide: Box::new(|prev| {
            std::thread::sleep(Duration::from_millis(200));
            keep(prev)
        }),
        ..to_apply("slow", "slow-1", None)
    };
    let first = tokio::spawn({
        let committer = committer.clone();
        async move { committer.apply(slow).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut rest = vec![];
    for (ticket, id) in [("good-1", "g1"), ("bad", "bad-1"), ("good-2", "g2")] {
        let committer = committer.clone();
        rest.push(tokio::spawn(async move {
            committer.apply(to_apply(ticket, id, None)).await
        }));
    }
    assert!(matches!(
        first.await.unwrap(),
        Ok(Applied::Committed { .. })
    ));
    let results: Vec<_> = futures::future::join_all(rest)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        matches!(results[0], Ok(Applied::Committed { .. })),
        "{:?}",
        results[0]
    );
    assert!(
        matches!(results[1], Err(StoreError::Corrupt(_))),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(results[2], Ok(Applied::Committed { .. })),
        "{:?}",
        results[2]
    );
    let processed = db
        .scalar("SELECT COUNT(*) FROM processed_events WHERE event_id = 'bad-1'")
        .await;
    assert_eq!(
        processed, 0,
        "a failed event must stay unprocessed, to be retried"
    );
    assert_eq!(
        db.store
            .notes_of(SOURCE, &"good-2".into())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Notes posted at the same time are recorded posted with their own helpdesk ids; a note not
/// named stays pending.
async fn posted_notes_are_settled_together(db: Db) {
    let hold = Some(Duration::from_secs(20));
    let committer = GroupCommitter::start(db.store.clone(), 16, 1);
    let mut claimed = vec![];
    for t in 0..12 {
        let applied = committer
            .apply(to_apply(&format!("s{t}"), &format!("se{t}"), hold))
            .await
            .unwrap();
        let Applied::Committed {
            claimed: mut mine, ..
        } = applied
        else {
            panic!("{applied:?}");
        };
        claimed.push(mine.remove(0));
    }
    let settler = NoteSettler::start(db.store.clone(), 8);
    let unsettled = claimed.pop().unwrap();
    let settling = claimed.iter().enumerate().map(|(i, note)| {
        let settler = settler.clone();
        let remote = (i % 3 != 0).then(|| CommentId::from(format!("c-{i}")));
        async move { settler.posted(&note.reference, remote.as_ref()).await }
    });
    for settled in futures::future::join_all(settling).await {
        settled.unwrap();
    }
    for (i, note) in claimed.iter().enumerate() {
        let stored = db
            .store
            .notes_of(SOURCE, &format!("s{i}").into())
            .await
            .unwrap();
        assert_eq!(stored[0].reference, note.reference);
        assert_eq!(stored[0].status, NoteStatus::Posted);
        assert_eq!(
            stored[0].remote_id,
            (i % 3 != 0).then(|| CommentId::from(format!("c-{i}")))
        );
    }
    let stored = db.store.notes_of(SOURCE, &"s11".into()).await.unwrap();
    assert_eq!(stored[0].reference, unsettled.reference);
    assert_eq!(stored[0].status, NoteStatus::Pending);
    // The ticket's next event sees the note still waiting.
    let next = committer
        .apply(to_apply("s11", "se11-b", hold))
        .await
        .unwrap();
    assert!(
        matches!(next, Applied::Committed { waiting: 1, .. }),
        "{next:?}"
    );
}

/// A decision that panics (a bug) fails its own batch, which is retried; later events are
/// still applied.
async fn group_commit_survives_a_panicking_decision(db: Db) {
    let committer = GroupCommitter::start(db.store.clone(), 16, 1);
    let bad = EventToApply {
        decide: Box::new(|_| panic!("a bug in a decision")),
        ..to_apply("p1", "pe1", None)
    };
    let failed = committer.apply(bad).await;
    assert!(matches!(failed, Err(StoreError::NoAnswer)), "{failed:?}");
    assert!(
        failed.is_err_and(|e| e.is_transient() && !e.is_outage()),
        "a bug is retried but is not a database outage"
    );
    let processed = db
        .scalar("SELECT COUNT(*) FROM processed_events WHERE event_id = 'pe1'")
        .await;
    assert_eq!(processed, 0, "the failed event stays unprocessed");
    let next = committer.apply(to_apply("p2", "pe2", None)).await;
    assert!(matches!(next, Ok(Applied::Committed { .. })), "{next:?}");
}
