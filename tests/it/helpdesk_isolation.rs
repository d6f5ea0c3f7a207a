//! Two helpdesks in one deployment keep their outages to themselves: while Zammad answers 503,
//! Zendesk's events are still handled by the same (single) worker, Zammad's event is held
//! without spending its attempts, and its note arrives once Zammad answers again.

use crate::common;

use std::time::Duration;

use common::fake_zammad::{self, FakeZammad};
use common::fake_zendesk::Canned;
use common::{FakeZendesk, TestApp, events};
use onbehalf::config::Secret;
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(20);
const DESCRIPTION: &str = "<div>My phone was stolen and I never saved the recovery codes. Please disable two-factor authentication on my account.</div>";

/// Both helpdesks; one worker, two attempts per event and no retry budget, so an attempt
/// spent on an outage would dead-letter the event within a second.
async fn impatient_pair() -> (TestApp, FakeZammad) {
    common::init_test_logging();
    let zendesk = FakeZendesk::start().await;
    let zammad = FakeZammad::start().await;
    let data = TempDir::new().unwrap();
    let mut config = common::test_config(&data, &zendesk);
    config.zammad_url = Some(zammad.url());
    config.zammad_api_token = Some(Secret::new(fake_zammad::API_TOKEN));
    config.zammad_signing_secrets = vec![Secret::new(fake_zammad::SIGNATURE_TOKEN)];
    config.zammad_requests_per_minute = 1_000_000;
    config.workers = 1;
    config.max_attempts = 2;
    config.retry_base_ms = 20;
    config.retry_max_ms = 40;
    config.retry_budget_secs = 0;
    config.pause_first_ms = 20;
    config.pause_max_ms = 200;
    (
        common::spawn_with_config(config, data, zendesk).await,
        zammad,
    )
}

async fn readyz(app: &TestApp) -> serde_json::Value {
    let r = app.http.get(app.url("/readyz")).send().await.unwrap();
    r.json().await.unwrap()
}

async fn metrics(app: &TestApp) -> String {
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zammad_outage_holds_only_zammad_events() {
    // Asserts gauges, which are process-wide.
    if !common::alone::in_own_process(module_path!(), "a_zammad_outage_holds_only_zammad_events")
        .await
    {
        return;
    }
    let (app, zammad) = impatient_pair().await;
    zammad.start_outage(Canned {
        status: 503,
        retry_after: None,
    });
    let created = zammad.create_ticket("41", events::TWO_FA_SUBJECT, 7, DESCRIPTION, &[]);
    let response = created
        .send(
            &app.http,
            &app.url("/webhooks/zammad"),
            Some(fake_zammad::SIGNATURE_TOKEN),
        )
        .await;
    assert_eq!(response.status(), 202);
    let zammad_down = common::eventually(WAIT, || async {
        readyz(&app).await["helpdesks"]["zammad"] != "ok"
    })
    .await;
    assert!(zammad_down, "{}", readyz(&app).await);

    // Zendesk's events go on through the only worker meanwhile.
    for ticket in 81_001..81_004 {
        let body = events::created(&ticket.to_string(), &[]).to_string();
        assert_eq!(app.post_event(&body).await.status(), 202);
    }
    let notes = app.wait_for_notes(3, WAIT).await;
    assert_eq!(
        notes.len(),
        3,
        "Zendesk's notes were posted during Zammad's outage"
    );
    // Many more tries than the two attempts the event has: the held event spent none.
    let tried = common::eventually(WAIT, || async { zammad.refused_count() >= 6 }).await;
    assert!(tried, "Zammad was tried again after each pause");
    assert!(zammad.notes().is_empty());

    let body = readyz(&app).await;
    assert_eq!(body["helpdesks"]["zendesk"], "ok", "{body}");
    assert!(
        body["helpdesk"]
            .as_str()
            .is_some_and(|h| h.starts_with("zammad: ")),
        "{body}"
    );
    let text = metrics(&app).await;
    assert!(
        text.contains(r#"onbehalf_dependency_up{dependency="helpdesk",helpdesk="zammad"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"onbehalf_dependency_up{dependency="helpdesk",helpdesk="zendesk"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"onbehalf_dependency_up{dependency="helpdesk"} 0"#));

    zammad.end_outage();
    let zammad_notes = zammad.wait_for_notes(1, WAIT).await;
    assert_eq!(zammad_notes.len(), 1, "the held event's note arrived");
    assert_eq!(zammad_notes[0].ticket_id, "41");
    let recovered =
        common::eventually(WAIT, || async { readyz(&app).await["helpdesk"] == "ok" }).await;
    assert!(recovered, "{}", readyz(&app).await);
    let dead: serde_json::Value = app.api("/api/dead-letters").await.json().await.unwrap();
    assert_eq!(dead["dead_letters"], serde_json::json!([]), "{dead}");
    assert_eq!(
        app.zendesk.notes().len(),
        3,
        "no Zammad note went to Zendesk"
    );
    app.stop().await;
}
