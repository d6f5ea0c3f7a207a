//! The console's store queries on both databases: keyset pages that visit every row once in
//! order, filters, note reviews, sessions and the overview's counts.

#[macro_use]
mod store_support;

use onbehalf::store::NoteStatus;
use onbehalf::store::console::{NoteCursor, NoteFilter, PAGE_SIZE, TicketCursor, TicketFilter};
use onbehalf::workflow::{Category, ConsentVerdict, Decision, NoteDraft, NoteStep, TicketState};
use store_support::{Db, SOURCE, confirmation, event, keep, note};
use time::OffsetDateTime;

both!(
    ticket_pages_visit_every_ticket_once_newest_first,
    shadow_notes_are_paged_filtered_and_reviewed,
    sessions_expire_and_end,
    the_overview_counts_events_notes_tickets_and_verdicts,
);

fn in_category(prev: Option<&TicketState>, category: Category) -> Decision {
    let mut decision = keep(prev);
    decision.state.category = Some(category);
    decision
}

async fn ticket_pages_visit_every_ticket_once_newest_first(db: Db) {
    let total = 2 * PAGE_SIZE as usize + 7;
    for i in 0..total {
        let category = if i % 3 == 0 {
            Category::Other
        } else {
            Category::AccountAccess
        };
        db.store
            .apply_event(
                SOURCE,
                &event(&format!("{}", 1000 + i), &format!("e{i}")),
                NoteStatus::Shadow,
                |prev| in_category(prev, category),
            )
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<TicketCursor> = None;
    loop {
        let page = db
            .store
            .ticket_page(&TicketFilter {
                after: after.clone(),
                ..TicketFilter::default()
            })
            .await
            .unwrap();
        assert!(page.len() as i64 <= PAGE_SIZE);
        let Some(last) = page.last() else { break };
        after = Some(TicketCursor {
            updated_at: last.updated_at,
            helpdesk: last.helpdesk.clone(),
            ticket_id: last.ticket_id.clone(),
        });
        seen.extend(page);
    }
    assert_eq!(seen.len(), total, "every ticket once");
    let keys: Vec<(i64, String)> = seen
        .iter()
        .map(|t| (t.updated_at, t.ticket_id.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest first, ties by id");

    let other = db
        .store
        .ticket_page(&TicketFilter {
            category: Some("other".into()),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert!(other.iter().all(|t| t.category.as_deref() == Some("other")));
    assert_eq!(other.len(), total.div_ceil(3));
    let silent = db
        .store
        .ticket_page(&TicketFilter {
            stage: Some("silent".into()),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        silent.len(),
        other.len(),
        "category other is the silent stage"
    );
    let one = db
        .store
        .ticket_page(&TicketFilter {
            ticket_id: Some("1004".into()),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].ticket_id, "1004");
    let none_pending = db
        .store
        .ticket_page(&TicketFilter {
            pending_permission: true,
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert!(none_pending.is_empty());
}

async fn shadow_notes_are_paged_filtered_and_reviewed(db: Db) {
    let notes_per_ticket = 3;
    let tickets = PAGE_SIZE as usize / 2 + 5;
    for t in 0..tickets {
        let ticket = format!("{}", 2000 + t);
        let category = if t % 2 == 0 {
            Category::AccountAccess
        } else {
            Category::ProjectGroupChange
        };
        db.store
            .apply_event(
                SOURCE,
                &event(&ticket, &format!("n{t}")),
                NoteStatus::Shadow,
                |prev| {
                    let mut decision = in_category(prev, category);
                    decision.notes = vec![
                        NoteDraft {
                            step: NoteStep::Triage,
                            html_body: format!("<p>triage {ticket}</p>"),
                        },
                        note(&format!("{t}1")),
                        note(&format!("{t}2")),
                    ];
                    decision
                },
            )
            .await
            .unwrap();
    }
    // A posted note is not a shadow note.
    db.store
        .apply_event(
            SOURCE,
            &event("9999", "live"),
            NoteStatus::Pending,
            |prev| Decision {
                notes: vec![note("live")],
                ..keep(prev)
            },
        )
        .await
        .unwrap();
    let mut all = Vec::new();
    let mut after: Option<NoteCursor> = None;
    loop {
        let page = db
            .store
            .note_page(
                NoteStatus::Shadow,
                &NoteFilter {
                    after: after.clone(),
                    ..NoteFilter::default()
                },
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(NoteCursor {
            created_at: last.created_at,
            reference: last.reference.clone(),
        });
        all.extend(page);
    }
    assert_eq!(all.len(), tickets * notes_per_ticket);
    let mut references: Vec<&str> = all.iter().map(|n| n.reference.as_str()).collect();
    references.sort();
    references.dedup();
    assert_eq!(references.len(), all.len(), "each note once");
    assert!(all.iter().all(|n| n.status == NoteStatus::Shadow));

    let questions = db
        .store
        .note_page(
            NoteStatus::Shadow,
            &NoteFilter {
                step_like: Some("question-%".into()),
                category: Some("project_group_change".into()),
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(questions.len(), (tickets / 2) * 2);
    assert!(questions.iter().all(|n| n.step.starts_with("question-")
        && n.category.as_deref() == Some("project_group_change")));

    let reference = all[0].reference.clone();
    assert!(
        db.store
            .review_note(&reference, "wrong", "first")
            .await
            .unwrap()
    );
    assert!(
        db.store
            .review_note(&reference, "wrong", "second thoughts")
            .await
            .unwrap()
    );
    assert!(
        !db.store
            .review_note("onbehalf:zendesk:1:none", "wrong", "x")
            .await
            .unwrap()
    );
    let reviews = db.store.reviews_page(None, 10).await.unwrap();
    assert_eq!(reviews.len(), 1, "a later mark replaces the earlier one");
    let (review, helpdesk, ticket, step) = &reviews[0];
    assert_eq!(review.reason, "second thoughts");
    assert_eq!(
        (helpdesk.as_str(), ticket.as_str(), step.as_str()),
        (
            all[0].helpdesk.as_str(),
            all[0].ticket_id.as_str(),
            all[0].step.as_str()
        )
    );
    let after = Some((review.marked_at, review.reference.clone()));
    assert!(db.store.reviews_page(after, 10).await.unwrap().is_empty());
    let page = db
        .store
        .note_page(NoteStatus::Shadow, &NoteFilter::default())
        .await
        .unwrap();
    let marked = page.iter().find(|n| n.reference == reference).unwrap();
    assert_eq!(marked.review.as_ref().unwrap().reason, "second thoughts");
}

async fn sessions_expire_and_end(db: Db) {
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    db.store
        .create_console_session("live", now + 60_000)
        .await
        .unwrap();
    db.store
        .create_console_session("expired", now - 1)
        .await
        .unwrap();
    assert_eq!(
        db.store.console_session("live").await.unwrap(),
        Some(now + 60_000)
    );
    assert_eq!(db.store.console_session("expired").await.unwrap(), None);
    assert_eq!(db.store.console_session("unknown").await.unwrap(), None);
    // A new login sweeps expired sessions away.
    db.store
        .create_console_session("next", now + 60_000)
        .await
        .unwrap();
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM console_sessions").await,
        2,
        "the expired one is gone"
    );
    db.store.end_console_session("live").await.unwrap();
    assert_eq!(db.store.console_session("live").await.unwrap(), None);
    assert!(db.store.console_session("next").await.unwrap().is_some());
}

async fn the_overview_counts_events_notes_tickets_and_verdicts(db: Db) {
    let now = OffsetDateTime::now_utc();
    db.store
        .apply_event(SOURCE, &event("1", "a"), NoteStatus::Shadow, |prev| {
            let mut decision = in_category(prev, Category::AccountAccess);
            decision.notes = vec![NoteDraft {
                step: NoteStep::Verdict {
                    reply_id: "11".into(),
                },
                html_body: "<p>granted</p>".into(),
            }];
            decision.confirmations = vec![confirmation("1", "11", ConsentVerdict::Granted, now)];
            decision
        })
        .await
        .unwrap();
    db.store
        .apply_event(SOURCE, &event("2", "b"), NoteStatus::Shadow, |prev| {
            let mut decision = in_category(prev, Category::AccountAccess);
            // A verdict note without a record: the reply was unclear.
            decision.notes = vec![NoteDraft {
                step: NoteStep::Verdict {
                    reply_id: "21".into(),
                },
                html_body: "<p>unclear</p>".into(),
            }];
            decision
        })
        .await
        .unwrap();
    let overview = db.store.overview(24, 14).await.unwrap();
    assert_eq!(overview.per_hour.len(), 24);
    let (events, notes) = overview
        .per_hour
        .iter()
        .fold((0, 0), |(e, n), (_, he, hn)| (e + he, n + hn));
    assert_eq!((events, notes), (2, 2));
    let tickets: i64 = overview.tickets.iter().map(|(_, _, n)| n).sum();
    assert_eq!(tickets, 2);
    assert!(
        overview
            .tickets
            .iter()
            .all(|(_, c, _)| c == "account_access")
    );
    let mut verdicts: Vec<(String, i64)> = overview
        .verdicts
        .iter()
        .map(|(_, v, n)| (v.clone(), *n))
        .collect();
    verdicts.sort();
    assert_eq!(
        verdicts,
        vec![("granted".to_string(), 1), ("unclear".to_string(), 1)]
    );
    assert_eq!(overview.notes, vec![("shadow".to_string(), 2)]);
}
