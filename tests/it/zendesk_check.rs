//! The admin's first connection test: Zendesk's "Test webhook" button (signed with Zendesk's
//! public test secret) is refused with a 401 that says so, and `onbehalf zendesk check`
//! proves the connection with the real secret against the real app.

use crate::common;

use common::{SECRET, spawn_app};
use onbehalf::helpdesk::zendesk::signature::{ZENDESK_TEST_SECRET, ZendeskSignature};
use serde_json::Value;
use std::process::Output;

async fn zendesk_check(url: &str, secret: &str) -> Output {
    let data = tempfile::tempdir().unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .args(["zendesk", "check", "--url", url])
        .env("ONBEHALF_DATA_DIR", data.path())
        .env("ONBEHALF_ZENDESK_SIGNING_SECRETS", secret)
        .env_remove("ONBEHALF_CONFIG")
        .output()
        .await
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&[o.stdout.as_slice(), &o.stderr].concat()).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_test_button_gets_a_401_naming_zendesks_test_secret() {
    let app = spawn_app().await;
    let body = common::events::created("7100", &[]).to_string();
    let (ts, _) = common::sign_now(&body);
    let signature = ZendeskSignature::sign(ZENDESK_TEST_SECRET, &ts, body.as_bytes());
    let r = app
        .http
        .post(app.url("/webhooks/zendesk"))
        .header("x-zendesk-webhook-signature-timestamp", &ts)
        .header("x-zendesk-webhook-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["error"], "test_secret", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("Zendesk's public test secret"),
        "{message}"
    );
    assert!(message.contains("onbehalf zendesk check"), "{message}");
    assert_eq!(app.api("/api/tickets/zendesk/7100").await.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zendesk_check_reports_what_the_receiver_answered() {
    let app = spawn_app().await;
    let url = app.url("/webhooks/zendesk");

    let accepted = zendesk_check(&url, SECRET).await;
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    assert!(
        text(&accepted).contains("202 Accepted: ignored"),
        "{}",
        text(&accepted)
    );
    assert!(text(&accepted).contains("OK:"), "{}", text(&accepted));
    // Harmless: nothing reached the workflow.
    assert_eq!(app.api("/api/tickets/zendesk/0").await.status(), 404);
    assert!(app.zendesk.notes().is_empty());

    let refused = zendesk_check(&url, "not-the-receivers-secret").await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let report = text(&refused);
    assert!(
        report.contains("401 Unauthorized: signature does not match"),
        "{report}"
    );
    assert!(
        report.contains("ONBEHALF_ZENDESK_SIGNING_SECRETS"),
        "{report}"
    );

    let (_data, _zendesk) = app.stop().await;
    let gone = zendesk_check(&url, SECRET).await;
    assert_eq!(gone.status.code(), Some(1), "{}", text(&gone));
    assert!(text(&gone).contains("no answer from"), "{}", text(&gone));
}

#[test]
fn zendesks_test_secret_cannot_be_configured() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .arg("check-config")
        .env("ONBEHALF_ZENDESK_SIGNING_SECRETS", ZENDESK_TEST_SECRET)
        .env_remove("ONBEHALF_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("public test secret"), "{}", text(&out));
}
