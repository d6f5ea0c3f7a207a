//! Trigger webhooks and reconciliation: a ticket known only through the REST API gets the
//! notes and trail records its webhooks would have given, and one that got its webhooks as
//! well gets nothing twice.

use crate::common;
use crate::store_support;

use common::events::{PERMISSION_QUESTION, TWO_FA_DESCRIPTION, TWO_FA_SUBJECT};
use common::fake_zendesk::Canned;
use common::fake_zendesk::world::{AGENT, REQUESTER};
use common::{TestApp, post_signed, sign_now, spawn_app_with};
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const SINCE: &str = "2025-01-08T00:00:00Z";

/// An account-access ticket: verified, asked, granted (times `minute` minutes past ten).
fn granted_ticket(app: &TestApp, id: &str, minute: u32) {
    let at = |m: u32| format!("2025-01-08T10:{:02}:00Z", minute + m);
    let z = &app.zendesk;
    z.create_ticket(id, TWO_FA_SUBJECT, TWO_FA_DESCRIPTION, &[], &at(0));
    z.change_tags(id, &["account_ownership_verified"], &[], &at(1));
    z.add_comment(id, AGENT, true, PERMISSION_QUESTION, &at(2));
    z.add_comment(id, REQUESTER, true, "Yes, please go ahead.", &at(3));
}

async fn app() -> TestApp {
    spawn_app_with(|c| c.reconcile_interval_secs = 0).await
}

async fn verdict_note(app: &TestApp, ticket: &str) -> bool {
    common::eventually(WAIT, || async {
        app.zendesk
            .notes_for(ticket)
            .iter()
            .any(|n| n.html_body.contains("onbehalf:trail:"))
    })
    .await
}

async fn post_trigger(app: &TestApp, body: &str, invocation: &str) -> reqwest::Response {
    let (ts, sig) = sign_now(body);
    app.http
        .post(app.url("/webhooks/zendesk"))
        .header("content-type", "application/json")
        .header("x-zendesk-webhook-signature-timestamp", ts)
        .header("x-zendesk-webhook-signature", sig)
        .header("x-zendesk-webhook-invocation-id", invocation)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn reconcile(app: &TestApp) -> String {
    let mut out = Vec::new();
    let report = onbehalf::cli::reconcile::run(&app.config, SINCE, &mut out)
        .await
        .expect("the pass runs");
    assert!(report.complete, "the pass reached the end of the stream");
    String::from_utf8(out).unwrap()
}

async fn post_webhooks(app: &TestApp, ticket: &str) {
    for hook in app.zendesk.webhooks(ticket) {
        let status = app.post_event(&hook.to_string()).await.status();
        assert!(status == 202 || status == 200, "{status} for {hook}");
    }
}

/// The trail's records of a ticket without what depends on their place in the chain.
async fn records(app: &TestApp, ticket: &str) -> Vec<Value> {
    app.confirmations()
        .await
        .into_iter()
        .filter(|r| r["ticket_id"] == ticket)
        .map(|mut r| {
            let record = r.as_object_mut().unwrap();
            for field in ["seq", "hash", "prev_hash"] {
                record.remove(field);
            }
            r
        })
        .collect()
}

/// The notes of a ticket, with the account's own address (links in the notes) left out.
fn bodies(app: &TestApp, ticket: &str) -> Vec<String> {
    app.zendesk
        .notes_for(ticket)
        .into_iter()
        .map(|n| n.html_body.replace(&app.zendesk.url(), "https://account"))
        .collect()
}

#[tokio::test]
async fn a_trigger_body_for_a_ticket_known_only_through_the_api_gets_its_notes() {
    let app = app().await;
    granted_ticket(&app, "7001", 0);
    let body = r#"{"ticket_id": "7001"}"#;
    let first = post_trigger(&app, body, "8350205582").await;
    assert_eq!(first.status(), 202);
    assert!(
        verdict_note(&app, "7001").await,
        "the sync posted the verdict note"
    );
    let ticket = app.ticket("7001").await;
    assert_eq!(ticket["stage"], "permission_granted");
    let steps: Vec<&str> = ticket["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["step"].as_str().unwrap())
        .collect();
    assert!(steps.contains(&"triage"), "{steps:?}");
    assert!(steps.contains(&"ownership-verified"), "{steps:?}");
    let trail = records(&app, "7001").await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(trail[0]["verdict"], "granted");
    assert_eq!(trail[0]["quote"], "Yes, please go ahead.");
    assert_eq!(trail[0]["channel"], "email");

    // Zendesk retrying the same invocation: one queued change.
    assert_eq!(post_trigger(&app, body, "8350205582").await.status(), 200);
    // A second invocation for a ticket with nothing new: nothing new posted.
    let notes = app.zendesk.notes_for("7001").len();
    assert_eq!(post_trigger(&app, body, "8350205583").await.status(), 202);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.zendesk.notes_for("7001").len(), notes);
    assert_eq!(records(&app, "7001").await.len(), 1);

    // A body whose placeholder was not filled in says so.
    let unfilled = post_signed(
        &app.http,
        &app.url("/webhooks/zendesk"),
        r#"{"ticket_id": "{{ticket.id}}"}"#,
    )
    .await
    .unwrap();
    assert_eq!(unfilled.status(), 400);
    let error: Value = unfilled.json().await.unwrap();
    assert_eq!(error["error"], "bad_ticket_id");
    app.stop().await;
}

#[tokio::test]
async fn reconcile_gives_tickets_whose_webhooks_never_came_what_the_webhooks_would_have() {
    // The same two tickets in two accounts: one gets its webhooks, the other loses them all.
    let with_webhooks = app().await;
    let lost = app().await;
    for app in [&with_webhooks, &lost] {
        granted_ticket(app, "7101", 0);
        granted_ticket(app, "7102", 10);
    }
    for ticket in ["7101", "7102"] {
        post_webhooks(&with_webhooks, ticket).await;
        assert!(verdict_note(&with_webhooks, ticket).await);
    }

    let printed = reconcile(&lost).await;
    assert!(printed.contains("ticket 7101: synced"), "{printed}");
    assert!(printed.contains("ticket 7102: synced"), "{printed}");
    // One ticket per export page here: the pass followed the cursor to the end of the stream.
    assert!(
        printed.contains(
            "reconciled 2 ticket(s) updated since 2025-01-08T00:00:00Z (2 export page(s), 0 failed)"
        ),
        "{printed}"
    );
    for ticket in ["7101", "7102"] {
        assert_eq!(
            bodies(&lost, ticket),
            bodies(&with_webhooks, ticket),
            "ticket {ticket}: the same notes"
        );
        let trail = records(&lost, ticket).await;
        assert_eq!(trail.len(), 1);
        assert_eq!(trail, records(&with_webhooks, ticket).await);
    }
    with_webhooks.stop().await;
    lost.stop().await;
}

#[tokio::test]
async fn webhooks_and_reconciliation_together_give_nothing_twice() {
    let app = app().await;
    granted_ticket(&app, "7201", 0);
    granted_ticket(&app, "7202", 10);
    // 7201: webhooks first, then a pass; 7202: a pass first, then its webhooks arrive late.
    post_webhooks(&app, "7201").await;
    assert!(verdict_note(&app, "7201").await);
    let first = bodies(&app, "7201");
    reconcile(&app).await;
    assert!(verdict_note(&app, "7202").await);
    let second = bodies(&app, "7202");
    post_webhooks(&app, "7202").await;
    // And another pass over both, and a trigger.
    reconcile(&app).await;
    assert_eq!(
        post_trigger(&app, r#"{"ticket_id": 7201}"#, "1")
            .await
            .status(),
        202
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(bodies(&app, "7201"), first);
    assert_eq!(bodies(&app, "7202"), second);
    assert_eq!(records(&app, "7201").await.len(), 1);
    assert_eq!(records(&app, "7202").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_reconciler_follows_the_export_on_its_own_and_waits_out_its_rate_limit() {
    // Times the export, whose rate limit is process-wide: other tests' reconcilers would use it up.
    if !common::alone::in_own_process(
        module_path!(),
        "the_reconciler_follows_the_export_on_its_own_and_waits_out_its_rate_limit",
    )
    .await
    {
        return;
    }
    let app = spawn_app_with(|c| c.reconcile_interval_secs = 2).await;
    // Changed a moment ago (the first pass looks one interval back), webhooks all lost.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let at = |s: i64| {
        (now + time::Duration::seconds(s))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    app.zendesk.fail_export_next([Canned {
        status: 429,
        retry_after: Some(2),
    }]);
    let z = &app.zendesk;
    z.create_ticket("7301", TWO_FA_SUBJECT, TWO_FA_DESCRIPTION, &[], &at(-1));
    z.change_tags("7301", &["account_ownership_verified"], &[], &at(-1));
    z.add_comment("7301", AGENT, true, PERMISSION_QUESTION, &at(0));
    z.add_comment("7301", REQUESTER, true, "Yes, please go ahead.", &at(0));
    assert!(verdict_note(&app, "7301").await, "the reconciler synced it");
    let requests = app.zendesk.export_requests();
    assert!(requests.len() >= 2, "{requests:?}");
    assert!(
        requests[1] - requests[0] >= Duration::from_secs(2),
        "the 429's Retry-After was honoured"
    );
    let notes = app.zendesk.notes_for("7301").len();
    // Later passes go on from the stored cursor and find nothing new to post.
    common::eventually(WAIT, || async { app.zendesk.export_requests().len() >= 4 }).await;
    assert_eq!(app.zendesk.notes_for("7301").len(), notes);
    app.stop().await;
}

/// One reconciler at a time: the lease is held until released or run out, and only its
/// holder moves the export's cursor.
async fn one_reconciler_holds_the_lease(db: store_support::Db) {
    let store = &db.store;
    let lease = Duration::from_secs(60);
    assert!(store.take_sync_lease("export", "a", lease).await.unwrap());
    assert!(!store.take_sync_lease("export", "b", lease).await.unwrap());
    assert!(
        store.take_sync_lease("export", "a", lease).await.unwrap(),
        "renewed"
    );
    assert!(store.save_sync_cursor("export", "a", "c1").await.unwrap());
    assert!(!store.save_sync_cursor("export", "b", "c2").await.unwrap());
    assert_eq!(
        store.sync_cursor("export").await.unwrap().as_deref(),
        Some("c1")
    );
    store.release_sync_lease("export", "a").await.unwrap();
    assert!(store.take_sync_lease("export", "b", lease).await.unwrap());
    // A holder that stopped renewing loses the lease once it runs out.
    assert!(
        store
            .take_sync_lease("other", "a", Duration::ZERO)
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(store.take_sync_lease("other", "b", lease).await.unwrap());
    assert!(!store.save_sync_cursor("other", "a", "late").await.unwrap());
    assert_eq!(store.sync_cursor("other").await.unwrap(), None);
}

#[tokio::test]
async fn one_reconciler_holds_the_lease_on_sqlite() {
    store_support::with_sqlite(one_reconciler_holds_the_lease).await
}

#[tokio::test]
async fn one_reconciler_holds_the_lease_on_postgres() {
    store_support::with_postgres(one_reconciler_holds_the_lease).await
}
