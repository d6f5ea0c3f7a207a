//! The helpdesk misbehaves under load: a long 503 window, then a revoked token (401), then
//! recovery. With retries so short that the old rules would dead-letter within a second, the
//! worker pauses instead: nothing is dead-lettered and every note is posted exactly once. A
//! note the helpdesk refuses for good (404) fails alone; a `Retry-After` holds every request.

use crate::common;

use common::fake_zendesk::Canned;
use common::{TestApp, events, spawn_app_with};
use std::collections::HashMap;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// Retries that give up after two quick attempts: only pausing can ride out an outage.
async fn impatient_app() -> TestApp {
    spawn_app_with(|c| {
        c.workers = 4;
        c.max_attempts = 2;
        c.retry_base_ms = 20;
        c.retry_max_ms = 40;
        c.retry_budget_secs = 0;
        c.pause_first_ms = 20;
        c.pause_max_ms = 200;
    })
    .await
}

async fn metrics(app: &TestApp) -> String {
    app.http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn send_tickets(app: &TestApp, tickets: impl Iterator<Item = u32>) {
    for t in tickets {
        let r = app
            .post_event(&events::created(&t.to_string(), &[]).to_string())
            .await;
        assert_eq!(r.status(), 202, "accepted even while the helpdesk is down");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_helpdesk_outage_then_a_revoked_token_lose_nothing() {
    // Asserts gauges, which are process-wide.
    if !common::alone::in_own_process(
        module_path!(),
        "a_long_helpdesk_outage_then_a_revoked_token_lose_nothing",
    )
    .await
    {
        return;
    }
    let app = impatient_app().await;
    send_tickets(&app, 71_000..71_010).await;
    assert!(common::eventually(WAIT, || async { app.zendesk.notes().len() >= 3 }).await);

    app.zendesk.start_outage(Canned {
        status: 503,
        retry_after: None,
    });
    send_tickets(&app, 71_010..71_030).await;
    // Far more refusals than the attempts each event has: they were not spent.
    assert!(
        common::eventually(WAIT, || async { app.zendesk.outage_answers() >= 40 }).await,
        "workers kept trying"
    );
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "a receiving process stays ready: {body}");
    assert_eq!(body["down"], serde_json::json!(["helpdesk"]), "{body}");
    assert!(
        common::eventually(WAIT, || async {
            metrics(&app)
                .await
                .contains(r#"onbehalf_dependency_up{dependency="helpdesk"} 0"#)
        })
        .await
    );

    app.zendesk.start_outage(Canned {
        status: 401,
        retry_after: None,
    });
    let seen = app.zendesk.outage_answers();
    send_tickets(&app, 71_030..71_040).await;
    assert!(common::eventually(WAIT, || async { app.zendesk.outage_answers() >= seen + 40 }).await);

    app.zendesk.end_outage();
    let notes = app.wait_for_notes(40, WAIT).await;
    assert_eq!(notes.len(), 40, "every ticket got its note");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let per_ticket: HashMap<String, usize> = app.zendesk.notes_per_ticket();
    assert_eq!(per_ticket.len(), 40);
    assert!(per_ticket.values().all(|n| *n == 1), "{per_ticket:?}");
    let text = metrics(&app).await;
    assert!(text.contains("onbehalf_dead_letters 0"), "no dead letter");
    assert!(text.contains("onbehalf_paused_seconds_total"));
    assert!(
        common::eventually(WAIT, || async {
            metrics(&app)
                .await
                .contains(r#"onbehalf_dependency_up{dependency="helpdesk"} 1"#)
        })
        .await
    );
    let (status, body) = readyz(&app).await;
    assert_eq!((status, &body["helpdesk"]), (200, &"ok".into()), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_note_for_a_deleted_ticket_fails_alone() {
    // Asserts gauges, which are process-wide.
    if !common::alone::in_own_process(module_path!(), "a_note_for_a_deleted_ticket_fails_alone")
        .await
    {
        return;
    }
    let app = impatient_app().await;
    app.zendesk.break_ticket("72001", 404);
    send_tickets(&app, 72_001..72_004).await;
    let notes = app.wait_for_notes(2, WAIT).await;
    assert_eq!(notes.len(), 2, "the other tickets' notes went on");
    let failed = common::eventually(WAIT, || async {
        app.ticket("72001").await["notes"][0]["status"] == "failed"
    })
    .await;
    assert!(failed, "{}", app.ticket("72001").await);
    let ticket = app.ticket("72001").await;
    assert!(
        ticket["notes"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("404")),
        "{ticket}"
    );
    // A later event of the ticket is handled, not stuck behind the failed note.
    let later = events::status_change("72001", 10, "NEW", "OPEN", &[]);
    assert_eq!(app.post_event(&later.to_string()).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = metrics(&app).await;
    assert!(
        text.contains("onbehalf_dead_letters 0"),
        "acked, not dead-lettered"
    );
    assert!(text.contains("onbehalf_notes_failed_total"));
    app.stop().await;
}

#[tokio::test]
async fn retry_after_holds_every_request_of_the_process() {
    // Asserts gauges, which are process-wide.
    if !common::alone::in_own_process(
        module_path!(),
        "retry_after_holds_every_request_of_the_process",
    )
    .await
    {
        return;
    }
    let app = impatient_app().await;
    app.zendesk.fail_next([Canned {
        status: 429,
        retry_after: Some(2),
    }]);
    send_tickets(&app, 73_001..73_002).await;
    assert!(
        common::eventually(WAIT, || async {
            app.zendesk.requests().iter().any(|r| r.2 == 429)
        })
        .await
    );
    // Events arriving during the hold wait for it too.
    send_tickets(&app, 73_002..73_006).await;
    let notes = app.wait_for_notes(5, WAIT).await;
    assert_eq!(notes.len(), 5);
    let requests = app.zendesk.requests();
    let throttled = requests.iter().position(|r| r.2 == 429).expect("one 429");
    let at = requests[throttled].1;
    assert!(
        requests[throttled + 1..]
            .iter()
            .all(|r| r.1.duration_since(at) >= Duration::from_millis(1950)),
        "no request within Retry-After: {requests:?}"
    );
    let text = metrics(&app).await;
    assert!(text.contains("onbehalf_dead_letters 0"));
    app.stop().await;
}
