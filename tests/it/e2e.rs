//! End to end through HTTP: signed events in, internal notes out, exactly once.

use crate::common;
use crate::store_support;

use common::{events, fake_zendesk::Canned, spawn_app, spawn_app_with};
use events::CommentSpec;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn a_signed_event_gives_exactly_one_internal_note() {
    let app = spawn_app().await;
    let r = app
        .post_event(&events::created("5158", &[]).to_string())
        .await;
    assert_eq!(r.status(), 202);
    let notes = app.wait_for_notes(1, WAIT).await;
    assert_eq!(notes.len(), 1, "one triage note");
    assert_eq!(notes[0].ticket_id, "5158");
    assert!(!notes[0].public, "notes are internal, never public");
    assert!(
        notes[0].html_body.contains("onbehalf:zendesk:5158:"),
        "carries its reference"
    );

    let ticket = app.ticket("5158").await;
    assert_eq!(ticket["category"], "account_access");
    assert_eq!(ticket["notes"][0]["status"], "posted");
    // Nothing else trickles in later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.zendesk.notes().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_same_event_twice_gives_one_note() {
    let app = spawn_app().await;
    let body = events::created("5159", &[]).to_string();
    assert_eq!(app.post_event(&body).await.status(), 202);
    app.wait_for_notes(1, WAIT).await;
    // Zendesk redelivering an event already processed: the queue remembers its id.
    assert_eq!(app.post_event(&body).await.status(), 200);
    // The same ticket created again under a new event id is the same step: still one note.
    let mut replay = events::created("5159", &[]);
    replay["id"] = events::event_id().into();
    assert_eq!(app.post_event(&replay.to_string()).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.zendesk.notes_for("5159").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_throttled_helpdesk_is_waited_out_and_the_note_posted_once() {
    let app = spawn_app().await;
    app.zendesk.fail_next([Canned {
        status: 429,
        retry_after: Some(1),
    }]);
    app.post_event(&events::created("5160", &[]).to_string())
        .await;
    let notes = app.wait_for_notes(1, WAIT).await;
    assert_eq!(notes.len(), 1);
    let requests = app.zendesk.requests();
    assert_eq!(
        requests.iter().map(|r| r.2).collect::<Vec<_>>(),
        vec![429, 200]
    );
    let waited = requests[1].1 - requests[0].1;
    assert!(
        waited >= Duration::from_millis(950),
        "honoured Retry-After: waited {waited:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.zendesk.notes().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn helpdesk_outages_are_retried_through_the_queue() {
    let app = spawn_app().await;
    // More 5xx than the client retries in place: the event goes back to the queue and is
    // retried with backoff until the helpdesk recovers.
    app.zendesk.fail_next((0..4).map(|_| Canned {
        status: 503,
        retry_after: None,
    }));
    app.post_event(&events::created("5161", &[]).to_string())
        .await;
    let notes = app.wait_for_notes(1, WAIT).await;
    assert_eq!(notes.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.zendesk.notes().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_note_already_on_the_ticket_is_not_posted_again() {
    // Worker posted, then died before recording it: on retry, the reference is found.
    let app = spawn_app_with(|c| c.retry_base_ms = 1500).await;
    app.zendesk.fail_next(
        [Canned {
            status: 500,
            retry_after: None,
        }; 3],
    );
    app.post_event(&events::created("5162", &[]).to_string())
        .await;
    // Let the first attempt fail and release its claim, then put the note on the ticket as
    // if an earlier attempt had landed it.
    assert!(
        common::eventually(WAIT, || async { app.zendesk.requests().len() >= 3 }).await,
        "first attempt made"
    );
    app.zendesk.insert_note(
        "5162",
        "<p>triage</p>\n<p><small>onbehalf:zendesk:5162:triage</small></p>",
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        app.zendesk.notes_for("5162").len(),
        1,
        "reconciled, not reposted"
    );
    let ticket = app.ticket("5162").await;
    assert_eq!(ticket["notes"][0]["status"], "posted");
    app.stop().await;
}

#[tokio::test]
async fn shadow_mode_keeps_notes_local() {
    let app = spawn_app_with(|c| {
        c.zendesk_url = None;
        c.zendesk_email = None;
        c.zendesk_api_token = None;
    })
    .await;
    app.post_event(&events::created("5163", &[]).to_string())
        .await;
    assert!(
        common::eventually(WAIT, || async {
            let r = app.api("/api/tickets/zendesk/5163").await;
            r.status() == 200 && r.json::<Value>().await.unwrap()["notes"][0]["status"] == "shadow"
        })
        .await
    );
    assert!(
        app.zendesk.requests().is_empty(),
        "nothing posted in shadow mode"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_whole_permission_flow_over_http() {
    let app = spawn_app().await;
    let t = "6001";
    let post = |v: Value| {
        let body = v.to_string();
        let app = &app;
        async move { assert_eq!(app.post_event(&body).await.status(), 202) }
    };
    post(events::created(t, &[])).await;
    app.wait_for_notes(1, WAIT).await;

    // Agent asks before ownership is verified: a warning.
    post(events::comment(CommentSpec {
        ticket: t,
        comment_id: "101",
        author: events::AGENT,
        is_staff: true,
        public: true,
        body: events::PERMISSION_QUESTION,
        t: 60,
        tags: &[],
    }))
    .await;
    let notes = app.wait_for_notes(2, WAIT).await;
    assert!(
        notes[1].html_body.to_lowercase().contains("ownership"),
        "warning about ownership: {}",
        notes[1].html_body
    );

    // Ownership verified by tag, then the agent asks again.
    let verified = ["account_ownership_verified"];
    post(events::tags_changed(t, 120, &verified, &verified)).await;
    post(events::comment(CommentSpec {
        ticket: t,
        comment_id: "102",
        author: events::AGENT,
        is_staff: true,
        public: true,
        body: events::PERMISSION_QUESTION,
        t: 180,
        tags: &verified,
    }))
    .await;
    // A CC'd colleague says yes: ignored.
    post(events::comment(CommentSpec {
        ticket: t,
        comment_id: "103",
        author: "2002",
        is_staff: false,
        public: true,
        body: "Yes",
        t: 200,
        tags: &verified,
    }))
    .await;
    // The requester answers above the quoted question.
    let reply = "Yes, please go ahead.\n\nOn Wed, Jan 8, 2025 at 10:03 AM Sam <support@example.com> wrote:\n> Could you please confirm that you would like us to disable two-factor authentication on your account `rbanks`?";
    post(events::comment(CommentSpec {
        ticket: t,
        comment_id: "104",
        author: events::REQUESTER,
        is_staff: false,
        public: true,
        body: reply,
        t: 240,
        tags: &verified,
    }))
    .await;

    assert!(
        common::eventually(WAIT, || async { app.confirmations().await.len() == 1 }).await,
        "one record"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let records = app.confirmations().await;
    assert_eq!(records.len(), 1, "the colleague's yes is not a record");
    let record = &records[0];
    assert_eq!(record["verdict"], "granted");
    assert_eq!(
        record["quote"], "Yes, please go ahead.",
        "only the new text is quoted"
    );
    assert_eq!(record["reply_comment_id"], "104");
    assert_eq!(record["request_comment_id"], "102");
    assert_eq!(record["requester_id"], events::REQUESTER);
    assert!(
        record["action"]
            .as_str()
            .unwrap()
            .contains("disable two-factor authentication")
    );

    let notes = app.zendesk.notes_for(t);
    let last = &notes.last().unwrap().html_body;
    assert!(
        last.contains("Yes, please go ahead."),
        "granted note quotes the reply: {last}"
    );
    assert!(notes.iter().all(|n| !n.public));

    let ticket = app.ticket(t).await;
    assert_eq!(ticket["confirmations"].as_array().unwrap().len(), 1);
    let store = onbehalf::app::open_store(&app.config).await.unwrap();
    let report = store.verify_trail().await.unwrap();
    assert_eq!((report.checked, report.first_break), (1, None));
    app.stop().await;
}

const VERIFIED: [&str; 1] = ["account_ownership_verified"];

/// Posts a signed event and expects it queued.
async fn post(app: &common::TestApp, event: Value) {
    assert_eq!(app.post_event(&event.to_string()).await.status(), 202);
}

/// A public comment on an account ticket whose ownership is verified.
fn said(ticket: &str, id: &str, author: &str, t: i64, body: &str) -> Value {
    events::comment(CommentSpec {
        ticket,
        comment_id: id,
        author,
        is_staff: author == events::AGENT,
        public: true,
        body,
        t,
        tags: &VERIFIED,
    })
}

/// Creates an account ticket, verifies ownership and has the agent ask the 2FA question as
/// comment `question_id` at `t`; waits for the three notes.
async fn asked(app: &common::TestApp, ticket: &str, question_id: &str, t: i64) {
    post(app, events::created(ticket, &[])).await;
    app.wait_for_notes(1, WAIT).await;
    post(app, events::tags_changed(ticket, 60, &VERIFIED, &VERIFIED)).await;
    app.wait_for_notes(2, WAIT).await;
    post(
        app,
        said(
            ticket,
            question_id,
            events::AGENT,
            t,
            events::PERMISSION_QUESTION,
        ),
    )
    .await;
    assert_eq!(
        app.wait_for_notes(3, WAIT).await.len(),
        3,
        "triage, verified, question"
    );
}

/// The notes of `ticket` with the entities that minijinja writes for `'` decoded.
fn note_texts(app: &common::TestApp, ticket: &str) -> Vec<String> {
    app.zendesk
        .notes_for(ticket)
        .into_iter()
        .map(|n| n.html_body.replace("&#x27;", "'"))
        .collect()
}

#[tokio::test]
async fn a_grant_then_a_withdrawal_give_two_records_and_a_withdrawal_note() {
    let app = spawn_app().await;
    let t = "6101";
    asked(&app, t, "201", 120).await;
    // "Yes" at 10:10, "Actually no, don't do it" at 10:13.
    post(&app, said(t, "202", events::REQUESTER, 600, "Yes")).await;
    assert!(
        common::eventually(WAIT, || async { app.confirmations().await.len() == 1 }).await,
        "the grant is recorded"
    );
    let grant_note = app.wait_for_notes(4, WAIT).await.pop().unwrap().html_body;
    assert!(grant_note.contains("| user requested |"), "{grant_note}");

    let mut withdrawal = said(t, "203", events::REQUESTER, 780, "Actually no, don't do it");
    withdrawal["event"]["comment"]["via"] = serde_json::json!({"channel": "email"});
    post(&app, withdrawal).await;
    assert!(
        common::eventually(WAIT, || async { app.confirmations().await.len() == 2 }).await,
        "the withdrawal is recorded"
    );
    let records = app.confirmations().await;
    let summary: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r["verdict"].as_str().unwrap(),
                r["reply_comment_id"].as_str().unwrap(),
                r["request_comment_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("granted", "202", "201"), ("declined", "203", "201")]
    );
    assert_eq!(records[1]["quote"], "Actually no, don't do it");
    assert_eq!(records[1]["decided_at"], "2025-01-08T10:13:00Z");
    // The withdrawal names the record it withdraws, and says how the reply came and what it was.
    assert_eq!(records[1]["withdraws_seq"], records[0]["seq"]);
    assert_eq!(records[0]["withdraws_seq"], Value::Null);
    assert_eq!(records[1]["channel"], "email");
    assert_eq!(
        records[1]["body_sha256"],
        onbehalf::workflow::consent::body_sha256("Actually no, don't do it")
    );

    app.wait_for_notes(5, WAIT).await;
    let notes = note_texts(&app, t);
    assert_eq!(notes.len(), 5, "{notes:#?}");
    let withdrawn = &notes[4];
    assert!(
        withdrawn.contains("Permission withdrawn — do not proceed"),
        "{withdrawn}"
    );
    assert!(
        withdrawn.contains("Actually no, don't do it"),
        "{withdrawn}"
    );
    assert!(!withdrawn.contains("| user requested |"), "{withdrawn}");
    let (seq, hash) = (
        records[1]["seq"].as_i64().unwrap(),
        records[1]["hash"].as_str().unwrap(),
    );
    assert!(
        withdrawn.contains(&format!("onbehalf:trail:{seq}:{hash}")),
        "the withdrawal note anchors its record: {withdrawn}"
    );
    assert_eq!(app.ticket(t).await["stage"], "permission_withdrawn");

    // A thank-you afterwards is silent.
    post(&app, said(t, "204", events::REQUESTER, 840, "Thanks!")).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.zendesk.notes_for(t).len(), 5);
    let store = onbehalf::app::open_store(&app.config).await.unwrap();
    let report = store.verify_trail().await.unwrap();
    assert_eq!((report.checked, report.first_break), (2, None));
    app.stop().await;
}

#[tokio::test]
async fn a_reopened_ticket_records_the_answer_to_a_new_question() {
    let app = spawn_app().await;
    let t = "6102";
    post(&app, events::created(t, &VERIFIED)).await;
    app.wait_for_notes(1, WAIT).await;
    post(
        &app,
        events::status_change(t, 60, "open", "solved", &VERIFIED),
    )
    .await;
    // Asked while solved: not followed.
    post(
        &app,
        events::with_status(
            said(t, "300", events::AGENT, 90, events::PERMISSION_QUESTION),
            "solved",
        ),
    )
    .await;
    post(
        &app,
        events::status_change(t, 120, "solved", "open", &VERIFIED),
    )
    .await;
    let notes = app.wait_for_notes(2, WAIT).await;
    assert!(
        notes[1].html_body.contains("ticket reopened"),
        "{}",
        notes[1].html_body
    );
    post(
        &app,
        said(t, "301", events::AGENT, 180, events::PERMISSION_QUESTION),
    )
    .await;
    post(
        &app,
        said(t, "302", events::REQUESTER, 240, "Yes, please go ahead."),
    )
    .await;
    assert!(
        common::eventually(WAIT, || async { app.confirmations().await.len() == 1 }).await,
        "the answer on the reopened ticket reaches the trail"
    );
    let record = &app.confirmations().await[0];
    assert_eq!(record["verdict"], "granted");
    assert_eq!(record["request_comment_id"], "301");
    assert_eq!(record["reply_comment_id"], "302");
    app.wait_for_notes(4, WAIT).await;
    assert_eq!(app.ticket(t).await["stage"], "permission_granted");
    app.stop().await;
}

#[tokio::test]
async fn after_a_requester_change_the_old_questions_reply_is_ignored() {
    let app = spawn_app().await;
    let t = "6103";
    const NEW_REQUESTER: &str = "2003";
    asked(&app, t, "401", 120).await;
    post(
        &app,
        events::requester_changed(t, 180, events::REQUESTER, NEW_REQUESTER, &VERIFIED),
    )
    .await;
    let notes = app.wait_for_notes(4, WAIT).await;
    let changed = notes[3].html_body.replace("&#x27;", "'");
    assert!(changed.contains("requester changed"), "{changed}");
    assert!(changed.contains("no longer counts"), "{changed}");
    // The previous requester answers the old question, then the new one says yes too.
    post(
        &app,
        events::with_requester(
            said(t, "402", events::REQUESTER, 240, "Yes, please go ahead."),
            NEW_REQUESTER,
        ),
    )
    .await;
    post(
        &app,
        events::with_requester(
            said(t, "403", NEW_REQUESTER, 300, "Yes, please go ahead."),
            NEW_REQUESTER,
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(app.confirmations().await.is_empty(), "nobody's yes counts");
    assert_eq!(app.zendesk.notes_for(t).len(), 4, "and no note for them");
    let ticket = app.ticket(t).await;
    assert_eq!(ticket["stage"], "verify_ownership");
    assert_eq!(ticket["state"]["requester_id"], NEW_REQUESTER);
    assert_eq!(ticket["state"]["questions"], serde_json::json!([]));
    app.stop().await;
}

#[tokio::test]
async fn with_two_questions_open_a_yes_is_unclear_and_the_note_says_ask_one_at_a_time() {
    let app = spawn_app().await;
    let t = "6104";
    asked(&app, t, "501", 120).await;
    post(
        &app,
        said(
            t,
            "502",
            events::AGENT,
            180,
            "Also, could you please confirm that you would like us to reset the password on your account?",
        ),
    )
    .await;
    let notes = app.wait_for_notes(4, WAIT).await;
    assert!(
        notes[3]
            .html_body
            .contains("Other permission questions are still open"),
        "{}",
        notes[3].html_body
    );
    post(&app, said(t, "503", events::REQUESTER, 240, "Yes")).await;
    let notes = app.wait_for_notes(5, WAIT).await;
    let unclear = &notes[4].html_body;
    assert!(
        unclear.contains("not an explicit confirmation"),
        "{unclear}"
    );
    assert!(
        unclear.contains("2 permission questions are open"),
        "{unclear}"
    );
    assert!(unclear.contains("Ask one thing at a time"), "{unclear}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        app.confirmations().await.is_empty(),
        "a yes to two questions grants neither"
    );
    assert_eq!(app.ticket(t).await["stage"], "ask_one_at_a_time");
    app.stop().await;
}

/// One granted permission on ticket `t`: created with ownership verified, asked, answered.
async fn grant_permission(app: &common::TestApp, t: &str, first_comment: u32) {
    let verified = ["account_ownership_verified"];
    for event in [
        events::created(t, &verified),
        events::comment(CommentSpec {
            ticket: t,
            comment_id: &first_comment.to_string(),
            author: events::AGENT,
            is_staff: true,
            public: true,
            body: events::PERMISSION_QUESTION,
            t: 60,
            tags: &verified,
        }),
        events::comment(CommentSpec {
            ticket: t,
            comment_id: &(first_comment + 1).to_string(),
            author: events::REQUESTER,
            is_staff: false,
            public: true,
            body: "Yes, please go ahead.",
            t: 120,
            tags: &verified,
        }),
    ] {
        assert_eq!(app.post_event(&event.to_string()).await.status(), 202);
    }
    assert!(
        common::eventually(WAIT, || async {
            app.zendesk
                .notes_for(t)
                .iter()
                .any(|n| n.html_body.contains("onbehalf:trail:"))
        })
        .await,
        "ticket {t} got its verdict note"
    );
}

/// `onbehalf audit …` run in-process with the app's configuration; returns the outcome and
/// what it printed.
async fn audit(
    config: &onbehalf::config::Config,
    args: &[&str],
) -> (onbehalf::cli::audit::Outcome, String) {
    #[derive(clap::Parser)]
    struct Audit {
        #[command(subcommand)]
        command: onbehalf::cli::audit::AuditCommand,
    }
    let parsed = <Audit as clap::Parser>::try_parse_from(
        std::iter::once("audit").chain(args.iter().copied()),
    )
    .unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = onbehalf::cli::audit::run(parsed.command, config, &mut out, &mut err)
        .await
        .unwrap();
    (outcome, String::from_utf8(out).unwrap())
}

async fn sql(url: &str, statements: &[&str]) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
}

#[tokio::test]
async fn sqlite_verdict_notes_anchor_the_trail_on_the_helpdesk() {
    verdict_notes_anchor_the_trail_on_the_helpdesk(None).await;
}

#[tokio::test]
async fn postgres_verdict_notes_anchor_the_trail_on_the_helpdesk() {
    let name = format!("ob_e2e_{}", uuid::Uuid::new_v4().simple());
    let db = store_support::PgDatabase::create(store_support::PG_BASE_URL, &name).await;
    let url = db.url();
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        verdict_notes_anchor_the_trail_on_the_helpdesk(Some(url)),
    ))
    .await;
    db.drop_now().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn verdict_notes_anchor_the_trail_on_the_helpdesk(postgres: Option<String>) {
    use onbehalf::cli::audit::Outcome;
    let app = spawn_app_with(|c| {
        if let Some(url) = &postgres {
            c.database_url = url.clone();
        }
    })
    .await;
    // A long ticket: its verdict note lands on the second page of comments.
    for i in 0..130 {
        app.zendesk
            .insert_note("7103", &format!("<p>an older internal note {i}</p>"));
    }
    for (i, t) in ["7101", "7102", "7103"].into_iter().enumerate() {
        grant_permission(&app, t, 500 + 10 * i as u32).await;
    }
    let records = app.confirmations().await;
    assert_eq!(records.len(), 3);
    for record in &records {
        let t = record["ticket_id"].as_str().unwrap();
        let seq = record["seq"].as_i64().unwrap();
        let hash = record["hash"].as_str().unwrap();
        let notes = app.zendesk.notes_for(t);
        let verdict = notes.last().unwrap();
        assert!(
            verdict
                .html_body
                .contains(&format!("onbehalf:trail:{seq}:{hash}")),
            "the full anchor: {}",
            verdict.html_body
        );
        assert!(
            verdict.html_body.contains(&format!(
                "<strong>#{seq}</strong> (<code>{}</code>)",
                &hash[..12]
            )),
            "the short form: {}",
            verdict.html_body
        );
        assert!(!verdict.public);
    }

    // The export's trailer, and paging by seq.
    let text = app.api("/api/confirmations").await.text().await.unwrap();
    let trailer: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(trailer["count"], 3);
    assert_eq!(trailer["trail_head"]["seq"], 3);
    assert_eq!(trailer["trail_head"]["hash"], records[2]["hash"]);
    let page = app
        .api("/api/confirmations?after_seq=2&limit=10")
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = page
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["seq"], 3);
    assert_eq!(lines[1]["count"], 1);
    let page = app
        .api("/api/confirmations?limit=2")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(page.lines().count(), 3);
    for bad in ["after_seq=x", "after_seq=-1", "limit=0", "limit=many"] {
        let r = app.api(&format!("/api/confirmations?{bad}")).await;
        assert_eq!(r.status(), 400, "{bad}");
    }

    // A customer quoting a marker in a public reply proves nothing either way.
    app.zendesk.insert_comment(
        "7101",
        &format!("<p>see onbehalf:trail:99:{}</p>", "e".repeat(64)),
        true,
    );
    let (data, zendesk) = app.stop().await;
    let config = common::test_config(&data, &zendesk);
    let config = onbehalf::config::Config {
        database_url: postgres.clone().unwrap_or(config.database_url.clone()),
        ..config
    };
    let url = config.database_url.clone();

    let requests_before = zendesk.comment_requests();
    let (outcome, report) = audit(&config, &["verify", "--against-helpdesk"]).await;
    assert_eq!(outcome, Outcome::Intact, "{report}");
    assert!(
        report.contains("3 ticket(s) read, 3 anchor(s) found"),
        "{report}"
    );
    assert!(
        zendesk.comment_requests() - requests_before >= 4,
        "the long ticket was read in two pages"
    );

    // Rewritten with recomputed hashes: the chain is consistent, the anchors are not.
    let mut rewritten: Vec<onbehalf::store::ConfirmationRecord> = records
        .iter()
        .map(|r| serde_json::from_value(r.clone()).unwrap())
        .collect();
    rewritten[1].quote = "Yes, and delete everything else too.".into();
    rewritten[1].seal(None).unwrap();
    rewritten[2].prev_hash = rewritten[1].hash.clone();
    rewritten[2].seal(None).unwrap();
    let drop_triggers: &[&str] = if postgres.is_some() {
        &[
            "DROP TRIGGER confirmations_append_only ON confirmations",
            "DROP TRIGGER confirmations_no_truncate ON confirmations",
        ]
    } else {
        &[
            "DROP TRIGGER confirmations_no_update",
            "DROP TRIGGER confirmations_no_delete",
        ]
    };
    sql(&url, drop_triggers).await;
    for r in &rewritten[1..] {
        sql(
            &url,
            &[&format!(
                "UPDATE confirmations SET quote = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
                r.quote, r.prev_hash, r.hash, r.seq
            )],
        )
        .await;
    }
    let (outcome, report) = audit(&config, &["verify"]).await;
    assert_eq!(
        outcome,
        Outcome::Intact,
        "the chain alone is fooled: {report}"
    );
    let (outcome, report) = audit(&config, &["verify", "--against-helpdesk"]).await;
    assert_eq!(outcome, Outcome::Broken, "{report}");
    assert!(
        report.contains("record 2 (ticket 7102) was altered"),
        "{report}"
    );
    assert!(
        report.contains("record 3 (ticket 7103) was altered"),
        "{report}"
    );

    // The tail deleted.
    sql(&url, &["DELETE FROM confirmations WHERE seq = 3"]).await;
    let (outcome, report) = audit(&config, &["verify", "--against-helpdesk"]).await;
    assert_eq!(outcome, Outcome::Broken, "{report}");
    assert!(
        report.contains("record 3 (ticket 7103, anchored in comment"),
        "{report}"
    );
    assert!(report.contains("is missing from the trail"), "{report}");

    // Emptied: the tickets are still known from their notes, and their anchors still there.
    let empty = if postgres.is_some() {
        "TRUNCATE confirmations"
    } else {
        "DELETE FROM confirmations"
    };
    sql(&url, &[empty]).await;
    let (outcome, report) = audit(&config, &["verify"]).await;
    assert_eq!(
        outcome,
        Outcome::Intact,
        "an empty chain is a valid chain: {report}"
    );
    let (outcome, report) = audit(&config, &["verify", "--against-helpdesk"]).await;
    assert_eq!(outcome, Outcome::Broken, "{report}");
    for seq in 1..=3 {
        assert!(
            report.contains(&format!("record {seq} (ticket 710{seq}")),
            "{report}"
        );
    }
    assert!(
        !report.contains("record 99"),
        "public comments do not count: {report}"
    );
}
