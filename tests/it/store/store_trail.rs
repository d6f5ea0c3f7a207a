//! The trail as evidence, on both backends: the record fields, anchors in verdict notes, NUL
//! in stored text, old records, truncation and tail deletion, exports and keys.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use onbehalf::store::trail::{
    ANCHOR_PLACEHOLDER, Anchor, ConfirmationRecord, GENESIS_HASH, RecordFormat, Trailer,
    verify_export,
};
use onbehalf::store::{
    Applied, Backend, EventToApply, ExportQuery, GroupCommitter, Head, NoteStatus, Store,
    StoreError, TrailKey, VerifyOptions,
};
use onbehalf::workflow::{ConsentVerdict, Decision, NoteDraft, NoteStep, TicketState};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::store_support::{Db, SOURCE, both, confirmation, event, keep, options};

both!(
    records_carry_channel_digest_and_the_grant_a_withdrawal_withdraws,
    a_verdict_note_carries_its_records_seq_and_hash,
    grouped_verdict_notes_each_carry_their_own_records_anchor,
    nul_in_any_text_never_fails_an_event,
    records_written_in_format_1_still_verify,
    emptying_the_trail_is_caught_by_an_expected_head,
    deleting_the_tail_is_caught_by_an_expected_head,
    the_export_ends_with_its_trailer_and_pages_by_seq,
    keyed_records_verify_only_with_their_key,
    audit_opens_only_a_database_that_exists,
);

async fn apply(db: &Db, ticket: &str, event_id: &str, decision: Decision) -> Applied {
    let decision = Arc::new(decision);
    db.store
        .apply_event(
            SOURCE,
            &event(ticket, event_id),
            NoteStatus::Pending,
            |_| (*decision).clone(),
        )
        .await
        .unwrap()
}

/// One event on `ticket` that records a grant of `reply`.
async fn grant(db: &Db, ticket: &str, reply: &str, at: OffsetDateTime) -> Applied {
    let draft = confirmation(ticket, reply, ConsentVerdict::Granted, at);
    apply(
        db,
        ticket,
        &format!("{ticket}-{reply}"),
        with_drafts(vec![draft]),
    )
    .await
}

fn with_drafts(drafts: Vec<onbehalf::workflow::ConfirmationDraft>) -> Decision {
    Decision {
        confirmations: drafts,
        ..keep(None)
    }
}

async fn all_records(store: &Store) -> Vec<ConfirmationRecord> {
    store.confirmations_page(None, 0, 10_000).await.unwrap()
}

async fn records_carry_channel_digest_and_the_grant_a_withdrawal_withdraws(db: Db) {
    let at = OffsetDateTime::now_utc();
    let mut first = confirmation("100", "r1", ConsentVerdict::Granted, at);
    first.channel = Some("email".into());
    first.body_sha256 = "ab".repeat(32);
    apply(&db, "100", "e1", with_drafts(vec![first])).await;
    // Another ticket's record in between: the withdrawal names the grant, not the last seq.
    grant(&db, "101", "r1", at).await;
    let mut withdrawal = confirmation("100", "r2", ConsentVerdict::Declined, at);
    withdrawal.withdraws_reply_comment_id = Some("r1".into());
    apply(&db, "100", "e3", with_drafts(vec![withdrawal])).await;
    // A grant and its withdrawal decided by one event: the second sees the first.
    let second_grant = confirmation("102", "r1", ConsentVerdict::Granted, at);
    let mut second_withdrawal = confirmation("102", "r2", ConsentVerdict::Declined, at);
    second_withdrawal.withdraws_reply_comment_id = Some("r1".into());
    apply(
        &db,
        "102",
        "e4",
        with_drafts(vec![second_grant, second_withdrawal]),
    )
    .await;

    let records = all_records(&db.store).await;
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r.format == RecordFormat::V2));
    assert_eq!(records[0].channel.as_deref(), Some("email"));
    assert_eq!(
        records[0].body_sha256.as_deref(),
        Some("ab".repeat(32).as_str())
    );
    assert_eq!(records[1].channel, None);
    assert_eq!(records[0].withdraws_seq, None);
    assert_eq!(
        records[2].withdraws_seq,
        Some(1),
        "withdraws ticket 100's grant"
    );
    assert_eq!(records[4].withdraws_seq, Some(4));
    assert_eq!(records[2].reply_comment_id, "r2");
    let report = db.store.verify_trail().await.unwrap();
    assert!(report.intact(), "{report:?}");

    // The API's lines carry the new fields, null where empty.
    let line: serde_json::Value = serde_json::to_value(&records[1]).unwrap();
    assert_eq!(line["withdraws_seq"], serde_json::Value::Null);
    assert_eq!(line["channel"], serde_json::Value::Null);
    assert_eq!(line["format"], 2);
    assert_eq!(line["altered_for_storage"], serde_json::json!([]));
}

fn verdict_note(reply: &str) -> NoteDraft {
    NoteDraft {
        step: NoteStep::Verdict {
            reply_id: reply.into(),
        },
        html_body: format!("<p>Permission confirmed</p>\n{ANCHOR_PLACEHOLDER}\n<p>Next step</p>"),
    }
}

fn marker(record: &ConfirmationRecord) -> String {
    Anchor(record.head()).marker()
}

async fn a_verdict_note_carries_its_records_seq_and_hash(db: Db) {
    let at = OffsetDateTime::now_utc();
    // Records before, so the seq is not simply 1.
    grant(&db, "110", "r0", at).await;
    let decision = Decision {
        notes: vec![onbehalf_note(NoteStep::Triage), verdict_note("r1")],
        confirmations: vec![confirmation("110", "r1", ConsentVerdict::Declined, at)],
        ..keep(None)
    };
    let applied = db
        .store
        .apply_event_claiming(SOURCE, &event("110", "e1"), Duration::from_secs(30), |_| {
            decision.clone()
        })
        .await
        .unwrap();
    let Applied::Committed { claimed, .. } = applied else {
        panic!("committed")
    };
    let record = all_records(&db.store).await.pop().unwrap();
    assert_eq!(record.seq, 2);
    let expected = marker(&record);
    // What the worker is about to post, and what the store keeps for a retry.
    assert!(claimed[1].body.contains(&expected), "{}", claimed[1].body);
    assert!(claimed[1].body.contains("record <strong>#2</strong>"));
    assert!(!claimed[1].body.contains(ANCHOR_PLACEHOLDER));
    assert!(!claimed[0].body.contains("onbehalf:trail:"));
    let stored = db.store.notes_of(SOURCE, &"110".into()).await.unwrap();
    let verdict = stored.iter().find(|n| n.step == "verdict-r1").unwrap();
    assert_eq!(verdict.body, claimed[1].body);
    assert_eq!(Anchor::find_all(&verdict.body), vec![Anchor(record.head())]);
}

fn onbehalf_note(step: NoteStep) -> NoteDraft {
    NoteDraft {
        html_body: format!("<p>{step}</p>"),
        step,
    }
}

async fn grouped_verdict_notes_each_carry_their_own_records_anchor(db: Db) {
    let committer = GroupCommitter::start(db.store.clone(), 16, 1);
    let at = OffsetDateTime::now_utc();
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..12 {
        let committer = committer.clone();
        tasks.spawn(async move {
            let ticket = format!("12{t}");
            let decision = Decision {
                notes: vec![verdict_note(&format!("r{t}"))],
                confirmations: vec![confirmation(
                    &ticket,
                    &format!("r{t}"),
                    ConsentVerdict::Granted,
                    at,
                )],
                ..keep(None)
            };
            committer
                .apply(EventToApply {
                    source: SOURCE.into(),
                    event: Arc::new(event(&ticket, &format!("g{t}"))),
                    note_status: NoteStatus::Shadow,
                    hold: None,
                    decide: Box::new(move |_| decision.clone()),
                })
                .await
                .unwrap()
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(matches!(done.unwrap(), Applied::Committed { .. }));
    }
    let records = all_records(&db.store).await;
    assert_eq!(records.len(), 12);
    for record in &records {
        let notes = db.store.notes_of(SOURCE, &record.ticket_id).await.unwrap();
        assert_eq!(
            Anchor::find_all(&notes[0].body),
            vec![Anchor(record.head())],
            "ticket {}",
            record.ticket_id
        );
    }
}

async fn nul_in_any_text_never_fails_an_event(db: Db) {
    let at = OffsetDateTime::now_utc();
    let mut draft = confirmation("130", "r\u{0}1", ConsentVerdict::Granted, at);
    draft.quote = "Yes\u{0}, go ahead\u{0}".into();
    draft.action = "disable\u{0} two-factor authentication".into();
    draft.channel = Some("em\u{0}ail".into());
    let state = TicketState {
        reasons: vec!["keyword \u{0}2fa".into()],
        ..TicketState::default()
    };
    let decision = Decision {
        state: state.clone(),
        notes: vec![NoteDraft {
            step: NoteStep::Verdict {
                reply_id: "r\u{0}1".into(),
            },
            html_body: format!("<p>Yes\u{0}</p>{ANCHOR_PLACEHOLDER}"),
        }],
        confirmations: vec![draft.clone()],
    };
    let mut nul_event = event("130", "ev\u{0}1");
    nul_event.ticket.subject = "sub\u{0}ject".into();
    let applied = db
        .store
        .apply_event(SOURCE, &nul_event, NoteStatus::Pending, |_| {
            decision.clone()
        })
        .await
        .unwrap();
    assert!(
        matches!(&applied, Applied::Committed { confirmations, notes, .. } if confirmations.len() == 1 && notes.len() == 1),
        "{applied:?}"
    );
    // The same event again is a duplicate (its stored id is found).
    let again = db
        .store
        .apply_event(SOURCE, &nul_event, NoteStatus::Pending, |_| {
            decision.clone()
        })
        .await
        .unwrap();
    assert_eq!(again, Applied::Duplicate);

    // Through the group committer too.
    let committer = GroupCommitter::start(db.store.clone(), 8, 1);
    let mut grouped = confirmation("131", "r2", ConsentVerdict::Declined, at);
    grouped.quote = "No\u{0}".into();
    let grouped_decision = Decision {
        notes: vec![NoteDraft {
            step: NoteStep::Verdict {
                reply_id: "\u{0}".into(),
            },
            html_body: "<p>\u{0}</p>".into(),
        }],
        confirmations: vec![grouped],
        ..keep(None)
    };
    let applied = committer
        .apply(EventToApply {
            source: SOURCE.into(),
            event: Arc::new(event("131", "ev\u{0}2")),
            note_status: NoteStatus::Pending,
            hold: Some(Duration::from_secs(30)),
            decide: Box::new(move |_| grouped_decision.clone()),
        })
        .await
        .unwrap();
    let Applied::Committed { claimed, .. } = applied else {
        panic!("committed: {applied:?}")
    };
    assert_eq!(claimed[0].body, "<p>\u{FFFD}</p>");

    let records = all_records(&db.store).await;
    let record = &records[0];
    assert_eq!(record.quote, "Yes\u{FFFD}, go ahead\u{FFFD}");
    assert_eq!(record.reply_comment_id, "r\u{FFFD}1");
    let altered: Vec<(&str, u64)> = record
        .altered_for_storage
        .iter()
        .map(|a| (a.field.as_str(), a.count))
        .collect();
    assert_eq!(
        altered,
        vec![
            ("action", 1),
            ("quote", 2),
            ("reply_comment_id", 1),
            ("channel", 1)
        ]
    );
    assert!(
        record
            .altered_for_storage
            .iter()
            .all(|a| a.replaced == "U+0000" && a.with == "U+FFFD")
    );
    assert_eq!(records[1].quote, "No\u{FFFD}");
    assert!(db.store.verify_trail().await.unwrap().intact());

    let notes = db.store.notes_of(SOURCE, &"130".into()).await.unwrap();
    assert!(
        notes[0].body.starts_with("<p>Yes\u{FFFD}</p>"),
        "{}",
        notes[0].body
    );
    assert!(notes[0].body.contains(&marker(record)));
    // The state keeps the NUL: JSON escapes it, so the stored text never holds one.
    let view = db
        .store
        .ticket_view(SOURCE, &"130".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.state["reasons"][0], "keyword \u{0}2fa");
    assert_eq!(view.confirmations.len(), 1);
}

/// A format-1 record exactly as versions before format 2 hashed it: serde_json over the
/// sorted fields, computed here independently of the store's code.
fn format_1_row(seq: i64, prev_hash: &str, quote: &str) -> (String, String) {
    let mut fields = std::collections::BTreeMap::new();
    for (k, v) in [
        ("ticket_id", "140"),
        ("requester_id", "1001"),
        ("category", "account_access"),
        (
            "action",
            "disable two-factor authentication on your account",
        ),
        ("verdict", "granted"),
        ("quote", quote),
        ("request_comment_id", "11"),
        ("reply_comment_id", &format!("old-{seq}")),
        ("decided_at", "2024-06-01T09:30:00Z"),
        ("prev_hash", prev_hash),
    ] {
        fields.insert(k.to_string(), serde_json::Value::from(v));
    }
    fields.insert("seq".into(), seq.into());
    let canonical = serde_json::to_string(&fields).unwrap();
    let hash = hex::encode(Sha256::digest(format!("{prev_hash}{canonical}")));
    let sql = format!(
        "INSERT INTO confirmations (seq, source, ticket_id, requester_id, category, action,
         verdict, quote, request_comment_id, reply_comment_id, decided_at, decided_at_ms,
         prev_hash, hash) VALUES ({seq}, 'zendesk', '140', '1001', 'account_access',
         'disable two-factor authentication on your account', 'granted', '{}', '11',
         'old-{seq}', '2024-06-01T09:30:00Z', 1717234200000, '{prev_hash}', '{hash}')",
        quote.replace('\'', "''")
    );
    (sql, hash)
}

async fn records_written_in_format_1_still_verify(db: Db) {
    let (first, h1) = format_1_row(1, GENESIS_HASH, "Yes, please go ahead.");
    let (second, _) = format_1_row(2, &h1, "Oui, allez-y — merci ! 好的 👍 \"quoted\"\n\ttab");
    db.exec(&first).await.unwrap();
    db.exec(&second).await.unwrap();
    let at = OffsetDateTime::now_utc();
    grant(&db, "141", "r1", at).await;

    let records = all_records(&db.store).await;
    assert_eq!(
        records.iter().map(|r| r.format).collect::<Vec<_>>(),
        vec![RecordFormat::V1, RecordFormat::V1, RecordFormat::V2]
    );
    assert_eq!(records[2].prev_hash, records[1].hash, "the chain continues");
    let report = db.store.verify_trail().await.unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.checked, 3);

    // Exported, old records keep their original twelve fields, and the export verifies.
    let text = export_text(&db.store, ExportQuery::default()).await;
    let first_line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first_line.as_object().unwrap().len(), 12, "{first_line}");
    let checked = verify_export(text.as_bytes(), VerifyOptions::default()).unwrap();
    assert!(checked.intact(), "{checked:?}");

    // An old record altered is still caught.
    drop_trail_triggers(&db).await;
    db.exec("UPDATE confirmations SET quote = 'No' WHERE seq = 2")
        .await
        .unwrap();
    let report = db.store.verify_trail().await.unwrap();
    assert_eq!(report.first_break.unwrap().seq, 2);
}

async fn drop_trail_triggers(db: &Db) {
    let sql = match db.backend {
        Backend::Sqlite => {
            "DROP TRIGGER confirmations_no_update; DROP TRIGGER confirmations_no_delete"
        }
        Backend::Postgres => {
            "DROP TRIGGER confirmations_append_only ON confirmations;
             DROP TRIGGER confirmations_no_truncate ON confirmations"
        }
    };
    for statement in sql.split(';') {
        db.exec(statement).await.unwrap();
    }
}

async fn record_three(db: &Db, ticket: &str) -> Head {
    let at = OffsetDateTime::now_utc();
    for reply in ["a", "b", "c"] {
        grant(db, ticket, reply, at).await;
    }
    db.store.trail_head().await.unwrap()
}

fn expecting(head: &Head) -> VerifyOptions {
    VerifyOptions {
        key: None,
        expect: vec![head.clone()],
    }
}

async fn emptying_the_trail_is_caught_by_an_expected_head(db: Db) {
    let head = record_three(&db, "150").await;
    assert_eq!(head.seq, 3);
    assert!(
        db.store
            .verify_trail_with(expecting(&head))
            .await
            .unwrap()
            .intact()
    );
    match db.backend {
        Backend::Postgres => {
            let err = db.exec("TRUNCATE confirmations").await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
            assert_eq!(db.store.confirmation_count().await.unwrap(), 3);
            // An administrator drops the trigger first.
            db.exec("DROP TRIGGER confirmations_no_truncate ON confirmations")
                .await
                .unwrap();
            db.exec("TRUNCATE confirmations").await.unwrap();
        }
        Backend::Sqlite => {
            drop_trail_triggers(&db).await;
            db.exec("DELETE FROM confirmations").await.unwrap();
        }
    }
    // The chain alone looks fine: an empty trail is a valid chain.
    assert!(db.store.verify_trail().await.unwrap().intact());
    let report = db.store.verify_trail_with(expecting(&head)).await.unwrap();
    assert!(!report.intact());
    assert_eq!(report.expectations[0].found, None);
    assert_eq!(report.head, Head::genesis());
}

async fn deleting_the_tail_is_caught_by_an_expected_head(db: Db) {
    let head = record_three(&db, "160").await;
    drop_trail_triggers(&db).await;
    db.exec("DELETE FROM confirmations WHERE seq = 3")
        .await
        .unwrap();
    assert!(db.store.verify_trail().await.unwrap().intact());
    let report = db.store.verify_trail_with(expecting(&head)).await.unwrap();
    assert!(!report.intact());
    assert_eq!(report.head.seq, 2);

    // Deleted and replaced by a record appended in its place: seq 3 is back, its hash is not.
    grant(&db, "160", "d", OffsetDateTime::now_utc()).await;
    let report = db.store.verify_trail_with(expecting(&head)).await.unwrap();
    assert!(!report.intact());
    assert!(report.expectations[0].found.is_some());
}

async fn export_text(store: &Store, query: ExportQuery) -> String {
    let mut chunks = Box::pin(store.export(query).await.unwrap());
    let mut text = String::new();
    while let Some(chunk) = chunks.next().await {
        text.push_str(&chunk.unwrap());
    }
    text
}

fn split_export(text: &str) -> (Vec<ConfirmationRecord>, Trailer) {
    let mut lines: Vec<&str> = text.lines().collect();
    let trailer: Trailer = serde_json::from_str(lines.pop().unwrap()).unwrap();
    let records = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, trailer)
}

async fn the_export_ends_with_its_trailer_and_pages_by_seq(db: Db) {
    let t = |s: &str| OffsetDateTime::parse(s, &Rfc3339).unwrap();
    let decided = [
        ("r1", "2025-01-08T10:05:00Z"),
        ("r2", "2025-01-08T10:10:00Z"),
        // Appended last, decided first (a reply judged late, an event delivered late).
        ("r3", "2025-01-08T10:00:00Z"),
    ];
    for (reply, at) in decided {
        grant(&db, "170", reply, t(at)).await;
    }
    let head = db.store.trail_head().await.unwrap();

    let (records, trailer) = split_export(&export_text(&db.store, ExportQuery::default()).await);
    assert_eq!(records.len(), 3);
    assert_eq!(
        trailer,
        Trailer {
            trail_head: head.clone(),
            count: 3
        }
    );

    // A client that polls by time misses the late record; paging by seq finds it.
    let since = ExportQuery {
        since: Some(t("2025-01-08T10:04:00Z")),
        ..ExportQuery::default()
    };
    let (records, trailer) = split_export(&export_text(&db.store, since).await);
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!((trailer.count, trailer.trail_head.seq), (2, 3));
    let after = ExportQuery {
        after_seq: 2,
        ..ExportQuery::default()
    };
    let (records, trailer) = split_export(&export_text(&db.store, after.clone()).await);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].reply_comment_id, "r3");
    assert_eq!(trailer.count, 1);

    let page = ExportQuery {
        limit: Some(2),
        ..ExportQuery::default()
    };
    let (records, trailer) = split_export(&export_text(&db.store, page).await);
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!((trailer.count, trailer.trail_head), (2, head.clone()));

    // Both the whole export and the late page check out on their own.
    let whole = export_text(&db.store, ExportQuery::default()).await;
    assert!(
        verify_export(whole.as_bytes(), expecting(&head))
            .unwrap()
            .intact()
    );
    let tail = export_text(&db.store, after).await;
    let report = verify_export(tail.as_bytes(), expecting(&head)).unwrap();
    assert!(report.intact(), "{report:?}");
    // Cut short: no trailer.
    let cut: String = whole.lines().take(2).map(|l| format!("{l}\n")).collect();
    assert!(
        !verify_export(cut.as_bytes(), VerifyOptions::default())
            .unwrap()
            .intact()
    );

    // An empty trail exports just its trailer, naming the genesis head.
    let sibling = db.sibling().await;
    let empty = Store::open(&sibling).await.unwrap();
    let (records, trailer) = split_export(&export_text(&empty, ExportQuery::default()).await);
    assert!(records.is_empty());
    assert_eq!(
        trailer,
        Trailer {
            trail_head: Head::genesis(),
            count: 0
        }
    );
    empty.close().await;
}

async fn keyed_records_verify_only_with_their_key(db: Db) {
    let key = || TrailKey::new("correct horse battery staple, forty bytes").unwrap();
    let keyed = db.store.clone().with_trail_key(Some(key()));
    let at = OffsetDateTime::now_utc();
    for reply in ["a", "b"] {
        keyed
            .apply_event(
                SOURCE,
                &event("180", reply),
                NoteStatus::Pending,
                |prev: Option<&TicketState>| Decision {
                    confirmations: vec![confirmation("180", reply, ConsentVerdict::Granted, at)],
                    ..keep(prev)
                },
            )
            .await
            .unwrap();
    }
    let with = |k: TrailKey| VerifyOptions {
        key: Some(k),
        expect: vec![],
    };
    let report = db.store.verify_trail_with(with(key())).await.unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.hmac_checked, 2);
    assert!(
        db.store.verify_trail().await.unwrap().intact(),
        "no key: as before"
    );
    let other = TrailKey::new(&"another key of sufficient length!".repeat(2)).unwrap();
    let report = db.store.verify_trail_with(with(other)).await.unwrap();
    assert_eq!(report.first_break.unwrap().seq, 1);

    // Someone who can write the table but has no key appends a grant.
    grant(&db, "180", "c", at).await;
    assert!(
        db.store.verify_trail().await.unwrap().intact(),
        "the chain alone is fine"
    );
    let report = db.store.verify_trail_with(with(key())).await.unwrap();
    let broken = report.first_break.unwrap();
    assert_eq!(broken.seq, 3);
    assert!(broken.problem.contains("no HMAC"), "{}", broken.problem);
    // The database never saw the key.
    let stored = all_records(&db.store).await;
    assert!(stored[0].hmac.as_ref().is_some_and(|h| h.len() == 64));
}

async fn audit_opens_only_a_database_that_exists(db: Db) {
    let missing = match db.backend {
        Backend::Sqlite => options(db.options.url.replace("/t.db", "/nothing-here/none.db")),
        Backend::Postgres => options(format!(
            "{}/ob_missing_{}",
            crate::store_support::PG_BASE_URL,
            uuid::Uuid::new_v4().simple()
        )),
    };
    let err = Store::open_existing(&missing).await.unwrap_err();
    assert!(matches!(err, StoreError::Missing(_)), "{err}");
    if db.backend == Backend::Sqlite {
        let path = missing.url.trim_start_matches("sqlite://");
        assert!(!std::path::Path::new(path).exists(), "nothing was created");
        assert!(!std::path::Path::new(path).parent().unwrap().exists());
        assert!(err.to_string().contains("none.db"), "{err}");
    }
    // A database that exists but holds no trail (never migrated).
    if db.backend == Backend::Postgres {
        let empty = db.sibling().await;
        let err = Store::open_existing(&empty).await.unwrap_err();
        assert!(err.to_string().contains("holds no trail"), "{err}");
    }
    let existing = Store::open_existing(&db.options).await.unwrap();
    assert_eq!(existing.trail_head().await.unwrap(), Head::genesis());
    existing.close().await;
}

/// The role `receive` and `work` run as: `migrate` (the owner) grants it what they need, and
/// with that it applies events, records notes and appends to the trail, but cannot rewrite,
/// delete or empty the trail, nor change the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_the_app_role_can_work_but_cannot_rewrite_the_trail() {
    crate::store_support::with_postgres(|db| async move {
        let role = format!("ob_app_{}", uuid::Uuid::new_v4().simple());
        db.exec(&format!("CREATE ROLE {role} LOGIN")).await.unwrap();
        let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            app_role_checks(&db, &role),
        ))
        .await;
        // Privileges live in this database, the role in the cluster: drop both.
        db.exec(&format!("DROP OWNED BY {role}")).await.unwrap();
        db.exec(&format!("DROP ROLE {role}")).await.unwrap();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    })
    .await
}

async fn app_role_checks(db: &Db, role: &str) {
    let name = db.options.url.rsplit('/').next().unwrap();
    let as_app = options(format!("postgres://{role}@127.0.0.1:5432/{name}"));
    // Before the grants the role cannot even read the schema.
    let refused = Store::open(&as_app).await.unwrap_err();
    assert!(matches!(refused, StoreError::NotPermitted(_)), "{refused}");

    db.store.grant_app_role(role).await.unwrap();
    db.store.grant_app_role(role).await.unwrap(); // idempotent
    let app = Store::open(&as_app).await.unwrap();

    // Its work: events, state, notes claimed and settled, the trail appended and read.
    let at = OffsetDateTime::now_utc();
    for (i, reply) in ["r1", "r2"].iter().enumerate() {
        let decision = Decision {
            notes: vec![verdict_note(reply)],
            confirmations: vec![confirmation("190", reply, ConsentVerdict::Granted, at)],
            ..keep(None)
        };
        let applied = app
            .apply_event_claiming(
                SOURCE,
                &event("190", &format!("e{i}")),
                Duration::from_secs(30),
                |_| decision.clone(),
            )
            .await
            .unwrap();
        assert!(matches!(applied, Applied::Committed { ref claimed, .. } if claimed.len() == 1));
    }
    let committer = GroupCommitter::start(app.clone(), 8, 1);
    committer
        .apply(EventToApply {
            source: SOURCE.into(),
            event: Arc::new(event("191", "g1")),
            note_status: NoteStatus::Pending,
            hold: None,
            decide: Box::new(keep),
        })
        .await
        .unwrap();
    let settler = onbehalf::store::NoteSettler::start(app.clone(), 8);
    for note in app.notes_of(SOURCE, &"190".into()).await.unwrap() {
        settler
            .posted(&note.reference, Some(&"70001".into()))
            .await
            .unwrap();
    }
    assert!(app.verify_trail().await.unwrap().intact());
    assert_eq!(app.confirmation_count().await.unwrap(), 2);

    // What it may not do, refused by privileges (not only by the triggers).
    let as_app_db = Db {
        store: app.clone(),
        options: as_app.clone(),
        backend: Backend::Postgres,
    };
    for forbidden in [
        "UPDATE confirmations SET quote = 'No' WHERE seq = 1",
        "DELETE FROM confirmations WHERE seq = 2",
        "TRUNCATE confirmations",
        "DROP TRIGGER confirmations_append_only ON confirmations",
        "ALTER TABLE confirmations DISABLE TRIGGER USER",
        "CREATE TABLE scratch (x INT)",
        "DELETE FROM processed_events",
        "DELETE FROM notes",
    ] {
        let err = as_app_db.exec(forbidden).await.unwrap_err();
        let code = match &err {
            sqlx::Error::Database(e) => e.code().map(|c| c.to_string()),
            _ => None,
        };
        assert_eq!(
            code.as_deref(),
            Some("42501"),
            "{forbidden}: expected permission denied, got {err}"
        );
    }
    assert_eq!(db.store.confirmation_count().await.unwrap(), 2);
    app.close().await;
}
