//! The console's store queries on both databases: keyset pages that visit every row once in
//! order, filters, note reviews, sessions and the overview's counts.

use crate::store_support::{Db, SOURCE, both, confirmation, event, keep, note};
use onbehalf::store::console::{PAGE_SIZE, TicketCursor, TicketFilter};
use onbehalf::store::{FeedNote, NOTE_KINDS, NoteCursor, NoteFeedQuery, NoteStatus};
use onbehalf::workflow::{
    Category, ConsentVerdict, Decision, NoteDraft, NoteStep, TicketId, TicketState,
};
use time::OffsetDateTime;

both!(
    ticket_pages_visit_every_ticket_once_newest_first,
    shadow_notes_are_paged_filtered_and_reviewed,
    the_note_feed_filters_by_kind_category_and_helpdesk,
    sessions_expire_and_end,
    the_overview_counts_events_notes_tickets_and_verdicts,
    the_overview_is_counted_once_for_many_views,
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
    let keys: Vec<(i64, TicketId)> = seen
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
    let all = every_page(
        &db,
        NoteFeedQuery {
            status: Some(NoteStatus::Shadow),
            ..NoteFeedQuery::default()
        },
    )
    .await;
    assert_eq!(all.len(), tickets * notes_per_ticket);
    let mut references: Vec<&str> = all.iter().map(|n| n.reference.as_str()).collect();
    references.sort();
    references.dedup();
    assert_eq!(references.len(), all.len(), "each note once");
    assert!(all.iter().all(|n| n.status == NoteStatus::Shadow));

    let questions = every_page(
        &db,
        NoteFeedQuery {
            status: Some(NoteStatus::Shadow),
            kind: Some("question".into()),
            category: Some("project_group_change".into()),
            ..NoteFeedQuery::default()
        },
    )
    .await;
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
        .recent_notes(&NoteFeedQuery {
            status: Some(NoteStatus::Shadow),
            limit: PAGE_SIZE as u32,
            ..NoteFeedQuery::default()
        })
        .await
        .unwrap();
    let marked = page
        .notes
        .iter()
        .find(|n| n.reference == reference)
        .unwrap();
    assert_eq!(marked.review.as_ref().unwrap().reason, "second thoughts");
    assert!(
        page.notes
            .iter()
            .filter(|n| n.reference != reference)
            .all(|n| n.review.is_none())
    );
}

/// Every note `query` matches, following `next` a page of 7 at a time; each page checked
/// newest first and no longer than asked.
async fn every_page(db: &Db, query: NoteFeedQuery) -> Vec<FeedNote> {
    let mut all: Vec<FeedNote> = Vec::new();
    let mut after = None;
    loop {
        let page = db
            .store
            .recent_notes(&NoteFeedQuery {
                after,
                limit: 7,
                ..query.clone()
            })
            .await
            .unwrap();
        assert!(page.notes.len() <= 7);
        all.extend(page.notes);
        match page.next {
            Some(next) => after = Some(NoteCursor::parse(&next).unwrap()),
            None => break,
        }
    }
    assert!(
        all.windows(2)
            .all(|w| (w[0].created_at, &w[0].reference) > (w[1].created_at, &w[1].reference)),
        "newest first"
    );
    all
}

/// Every step a release writes: the stored `kind` column (migration `console_filters`) must say
/// what `NoteStep::kind` says, or the kind filter would hide notes.
fn one_of_each_step() -> Vec<NoteStep> {
    vec![
        NoteStep::Triage,
        NoteStep::Recategorised {
            category: Category::Other,
            nth: 1,
        },
        NoteStep::Recategorised {
            category: Category::AccountAccess,
            nth: 3,
        },
        NoteStep::Escalated,
        NoteStep::OwnershipVerified,
        NoteStep::RoleVerified,
        NoteStep::Question {
            comment_id: "31".into(),
        },
        NoteStep::WarningUnverified {
            comment_id: "32".into(),
        },
        NoteStep::Verdict {
            reply_id: "33".into(),
        },
        NoteStep::RequesterChanged { nth: 1 },
        NoteStep::Reopened { nth: 2 },
        NoteStep::GitLabFacts { nth: 1 },
    ]
}

async fn the_note_feed_filters_by_kind_category_and_helpdesk(db: Db) {
    let steps = one_of_each_step();
    // Ticket 3001 (account access) on Zendesk gets one note of each step, in shadow mode;
    // ticket 3002 (other) on Zammad a triage and a question, pending (live mode).
    db.store
        .apply_event(SOURCE, &event("3001", "k1"), NoteStatus::Shadow, |prev| {
            let mut decision = in_category(prev, Category::AccountAccess);
            decision.notes = steps
                .iter()
                .map(|step| NoteDraft {
                    step: step.clone(),
                    html_body: format!("<p>{}</p>", step.key()),
                })
                .collect();
            decision
        })
        .await
        .unwrap();
    db.store
        .apply_event(
            "zammad",
            &event("3002", "k2"),
            NoteStatus::Pending,
            |prev| {
                let mut decision = in_category(prev, Category::Other);
                decision.notes = vec![
                    NoteDraft {
                        step: NoteStep::Triage,
                        html_body: "<p>zammad triage</p>".into(),
                    },
                    note("41"),
                ];
                decision
            },
        )
        .await
        .unwrap();
    // A step key no release wrote is listed as `other`, as the metrics count it.
    db.exec(
        "INSERT INTO notes (source, ticket_id, step, reference, body, status, created_at)
         VALUES ('zendesk', '3001', 'from-the-future-1', 'onbehalf:zendesk:3001:from-the-future-1',
                 '<p>?</p>', 'shadow', 1)",
    )
    .await
    .unwrap();

    for step in &steps {
        let listed = every_page(
            &db,
            NoteFeedQuery {
                kind: Some(step.kind().into()),
                helpdesk: Some(SOURCE.into()),
                ..NoteFeedQuery::default()
            },
        )
        .await;
        let mut keys: Vec<String> = listed.iter().map(|n| n.step.clone()).collect();
        keys.sort();
        let mut expected: Vec<String> = steps
            .iter()
            .filter(|s| s.kind() == step.kind())
            .map(|s| s.key())
            .collect();
        expected.sort();
        assert_eq!(keys, expected, "kind {}", step.kind());
        assert!(listed.iter().all(|n| n.kind == step.kind()));
    }
    let other = every_page(
        &db,
        NoteFeedQuery {
            kind: Some("other".into()),
            ..NoteFeedQuery::default()
        },
    )
    .await;
    assert_eq!(
        other.iter().map(|n| n.step.as_str()).collect::<Vec<_>>(),
        ["from-the-future-1"]
    );
    // Every note has one of the kinds the filter knows.
    let mut by_kind = 0;
    for kind in NOTE_KINDS {
        by_kind += every_page(
            &db,
            NoteFeedQuery {
                kind: Some(kind.into()),
                ..NoteFeedQuery::default()
            },
        )
        .await
        .len();
    }
    assert_eq!(by_kind, steps.len() + 3);

    let zammad = every_page(
        &db,
        NoteFeedQuery {
            helpdesk: Some("zammad".into()),
            ..NoteFeedQuery::default()
        },
    )
    .await;
    assert_eq!(zammad.len(), 2);
    assert!(zammad.iter().all(|n| n.helpdesk == "zammad"
        && n.ticket_id == "3002"
        && n.category.as_deref() == Some("other")
        && n.status == NoteStatus::Pending));
    let zammad_triage = every_page(
        &db,
        NoteFeedQuery {
            kind: Some("triage".into()),
            category: Some("other".into()),
            ..NoteFeedQuery::default()
        },
    )
    .await;
    assert_eq!(
        zammad_triage
            .iter()
            .map(|n| (n.helpdesk.as_str(), n.ticket_id.as_str()))
            .collect::<Vec<_>>(),
        [("zammad", "3002")]
    );
    let shadow_triage = every_page(
        &db,
        NoteFeedQuery {
            status: Some(NoteStatus::Shadow),
            kind: Some("triage".into()),
            ..NoteFeedQuery::default()
        },
    )
    .await;
    assert_eq!(
        shadow_triage
            .iter()
            .map(|n| (n.helpdesk.as_str(), n.category.as_deref()))
            .collect::<Vec<_>>(),
        [(SOURCE, Some("account_access"))]
    );
    let none = every_page(
        &db,
        NoteFeedQuery {
            status: Some(NoteStatus::Shadow),
            helpdesk: Some("zammad".into()),
            ..NoteFeedQuery::default()
        },
    )
    .await;
    assert!(none.is_empty(), "zammad's notes are pending, not shadow");
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

async fn the_overview_is_counted_once_for_many_views(db: Db) {
    db.store
        .apply_event(SOURCE, &event("1", "a"), NoteStatus::Shadow, |prev| {
            in_category(prev, Category::AccountAccess)
        })
        .await
        .unwrap();
    let tickets = |o: &onbehalf::store::console::Overview| -> i64 {
        o.tickets.iter().map(|(_, _, n)| n).sum()
    };
    // Views at once share one count.
    let views = futures::future::join_all((0..4).map(|_| db.store.overview_counted(24, 14))).await;
    let first = views[0].as_ref().unwrap().clone();
    assert_eq!(tickets(&first.overview), 1);
    for view in &views {
        assert_eq!(view.as_ref().unwrap().counted_at_ms, first.counted_at_ms);
    }
    db.store
        .apply_event(SOURCE, &event("2", "b"), NoteStatus::Shadow, |prev| {
            in_category(prev, Category::AccountAccess)
        })
        .await
        .unwrap();
    // Within the fresh time the page shows the counts it has, and says when they were made.
    let again = db.store.overview_counted(24, 14).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(tickets(&db.store.overview(24, 14).await.unwrap()), 2);
    // Another window is counted on its own.
    let week = db.store.overview_counted(24, 7).await.unwrap();
    assert_eq!(tickets(&week.overview), 2);
    assert!(week.counted_at_ms >= first.counted_at_ms);
}
