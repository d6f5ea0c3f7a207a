//! Zammad and Zendesk in one deployment: Zammad's trigger webhooks at `/webhooks/zammad`
//! (signed with `X-Hub-Signature`, deduped by `X-Zammad-Delivery`), its customer's replies
//! judged, its notes posted to Zammad and never to Zendesk (and the other way round), and its
//! trail records naming it.

use crate::common;

use std::time::Duration;

use common::events;
use common::fake_gitlab::{self, FakeGitLab};
use common::fake_zammad::{self, FakeZammad};
use common::{FakeZendesk, TestApp};
use onbehalf::config::{Config, Secret};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(15);
const CUSTOMER: u64 = 7;
const AGENT: u64 = 5;
const COLLEAGUE: u64 = 9;
const VERIFIED: &str = "account_ownership_verified";

/// A deployment with both helpdesks: the configuration (Zammad without signature tokens) and
/// both fakes, not started.
struct Setup {
    config: Config,
    data: TempDir,
    zendesk: FakeZendesk,
    zammad: FakeZammad,
}

async fn setup() -> Setup {
    common::init_test_logging();
    let zendesk = FakeZendesk::start().await;
    let zammad = FakeZammad::start().await;
    let data = TempDir::new().unwrap();
    let mut config = common::test_config(&data, &zendesk);
    config.zammad_url = Some(zammad.url());
    config.zammad_api_token = Some(Secret::new(fake_zammad::API_TOKEN));
    config.zammad_requests_per_minute = 1_000_000;
    Setup {
        config,
        data,
        zendesk,
        zammad,
    }
}

impl Setup {
    async fn start(self) -> (TestApp, FakeZammad) {
        let app = common::spawn_with_config(self.config, self.data, self.zendesk).await;
        (app, self.zammad)
    }
}

/// Both helpdesks, Zammad's webhook signed with one of two tokens (a rotation).
async fn both() -> (TestApp, FakeZammad) {
    let mut s = setup().await;
    s.config.zammad_signing_secrets = vec![
        Secret::new("an-older-zammad-signature-token"),
        Secret::new(fake_zammad::SIGNATURE_TOKEN),
    ];
    s.start().await
}

fn hook(app: &TestApp) -> String {
    app.url("/webhooks/zammad")
}

async fn deliver(app: &TestApp, webhook: &fake_zammad::Webhook) -> serde_json::Value {
    let response = webhook
        .send(&app.http, &hook(app), Some(fake_zammad::SIGNATURE_TOKEN))
        .await;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    body
}

const DESCRIPTION: &str = "<div>My phone was stolen and I never saved the recovery codes. I cannot sign in to my GitLab account anymore. Please disable two-factor authentication on my account.</div>";

/// A verified account ticket whose agent asked the 2FA question; waits for its two notes.
async fn asked(app: &TestApp, zammad: &FakeZammad, ticket: &str) {
    let created = zammad.create_ticket(
        ticket,
        events::TWO_FA_SUBJECT,
        CUSTOMER,
        DESCRIPTION,
        &[VERIFIED],
    );
    deliver(app, &created).await;
    assert_eq!(zammad.wait_for_notes(1, WAIT).await.len(), 1, "triage note");
    let question = events::PERMISSION_QUESTION.replace('\n', "<br>");
    let asked = zammad.add_article(ticket, "Agent", AGENT, false, &format!("<p>{question}</p>"));
    deliver(app, &asked).await;
    assert_eq!(
        zammad.wait_for_notes(2, WAIT).await.len(),
        2,
        "question note"
    );
}

#[tokio::test]
async fn signed_webhooks_are_queued_once_and_unsigned_ones_refused() {
    let (app, zammad) = both().await;
    let created = zammad.create_ticket("31", events::TWO_FA_SUBJECT, CUSTOMER, DESCRIPTION, &[]);

    let unsigned = created.send(&app.http, &hook(&app), None).await;
    assert_eq!(unsigned.status(), 401);
    let body: serde_json::Value = unsigned.json().await.unwrap();
    assert_eq!(body["error"], "missing_signature", "{body}");
    let forged = created
        .send(&app.http, &hook(&app), Some("a-token-we-never-set"))
        .await;
    assert_eq!(forged.status(), 401);

    let queued = deliver(&app, &created).await;
    assert_eq!(
        (queued["status"].as_str(), queued["helpdesk"].as_str()),
        (Some("queued"), Some("zammad"))
    );
    assert_eq!(queued["ticket_id"], "31");
    // Zammad's retry of the same delivery.
    let again = created
        .send(&app.http, &hook(&app), Some(fake_zammad::SIGNATURE_TOKEN))
        .await;
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["status"], "duplicate");

    let notes = zammad.wait_for_notes(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let notes_now = zammad.notes_for("31");
    assert_eq!((notes.len(), notes_now.len()), (1, 1), "one triage note");
    let note = &notes_now[0];
    assert!(
        note.internal && note.kind == "note" && note.content_type == "text/html",
        "{note:?}"
    );
    assert!(app.zendesk.notes().is_empty(), "nothing went to Zendesk");

    let ticket = app.api("/api/tickets/zammad/31").await;
    assert_eq!(ticket.status(), 200);
    let ticket: serde_json::Value = ticket.json().await.unwrap();
    assert_eq!(
        (ticket["helpdesk"].as_str(), ticket["category"].as_str()),
        (Some("zammad"), Some("account_access"))
    );
    assert_eq!(app.api("/api/tickets/zendesk/31").await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_for_a_helpdesk_that_is_not_configured_is_not_found() {
    let app = common::spawn_app().await;
    let zammad = FakeZammad::start().await;
    let created = zammad.create_ticket("31", "x", CUSTOMER, "<p>x</p>", &[]);
    let response = created
        .send(&app.http, &hook(&app), Some(fake_zammad::SIGNATURE_TOKEN))
        .await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("zendesk"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_customers_yes_is_recorded_as_zammads_and_a_cc_or_a_note_grants_nothing() {
    let (app, zammad) = both().await;
    asked(&app, &zammad, "41").await;
    // A CC'd colleague's yes (a Customer article by another user) and an agent's internal
    // note saying yes: neither is the customer's word.
    deliver(
        &app,
        &zammad.add_article(
            "41",
            "Customer",
            COLLEAGUE,
            false,
            "<div>Yes, please go ahead.</div>",
        ),
    )
    .await;
    deliver(
        &app,
        &zammad.add_article("41", "Agent", AGENT, true, "<p>Yes, please go ahead.</p>"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        app.confirmations().await.is_empty(),
        "no record from a CC or a note"
    );

    let reply = "<div>Yes, please go ahead.</div><br><blockquote type=\"cite\">Could you please confirm that you would like us to disable two-factor authentication on your account `rbanks`?</blockquote>";
    deliver(
        &app,
        &zammad.add_article("41", "Customer", CUSTOMER, false, reply),
    )
    .await;
    assert!(
        common::eventually(WAIT, || async { app.confirmations().await.len() == 1 }).await,
        "one record"
    );
    let record = &app.confirmations().await[0];
    assert_eq!(record["helpdesk"], "zammad", "{record}");
    assert_eq!(record["format"], 3);
    assert_eq!(record["verdict"], "granted");
    assert_eq!(record["quote"], "Yes, please go ahead.");
    assert_eq!(record["requester_id"], CUSTOMER.to_string());
    assert_eq!(record["ticket_id"], "41");

    let verdict = zammad.wait_for_notes(3, WAIT).await;
    assert_eq!(verdict.len(), 3, "triage, question, granted");
    assert!(verdict.iter().all(|n| n.internal && n.ticket_id == "41"));
    assert!(app.zendesk.notes().is_empty());
    let store = onbehalf::app::open_store(&app.config).await.unwrap();
    let report = store.verify_trail().await.unwrap();
    assert_eq!((report.checked, report.first_break), (1, None));
    app.stop().await;
}

#[tokio::test]
async fn each_note_goes_to_the_helpdesk_its_ticket_came_from() {
    let (app, zammad) = both().await;
    // The same ticket number on both helpdesks: two tickets.
    let zendesk_created = events::created("41", &[]).to_string();
    assert_eq!(app.post_event(&zendesk_created).await.status(), 202);
    deliver(
        &app,
        &zammad.create_ticket("41", events::TWO_FA_SUBJECT, CUSTOMER, DESCRIPTION, &[]),
    )
    .await;
    assert_eq!(app.wait_for_notes(1, WAIT).await.len(), 1);
    assert_eq!(zammad.wait_for_notes(1, WAIT).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.zendesk.notes_for("41").len(), 1);
    assert_eq!(zammad.notes_for("41").len(), 1);
    for helpdesk in ["zendesk", "zammad"] {
        let ticket: serde_json::Value = app
            .api(&format!("/api/tickets/{helpdesk}/41"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(ticket["helpdesk"], helpdesk);
    }
    app.stop().await;
}

#[tokio::test]
async fn without_a_configured_token_serve_generates_one_and_receive_refuses_to_start() {
    let s = setup().await;
    let mut receive = s.config.clone();
    receive.queue_url = "amqp://guest:guest@127.0.0.1:5672/%2f".into();
    let refused = onbehalf::app::Application::build(receive, onbehalf::app::Role::Receive)
        .await
        .err()
        .expect("receive needs the configured token");
    assert!(
        refused
            .to_string()
            .contains("ONBEHALF_ZAMMAD_SIGNING_SECRETS"),
        "{refused}"
    );

    let (app, zammad) = s.start().await;
    let path = onbehalf::app::generated_secret_path_for(app.data.path(), "zammad");
    let generated = std::fs::read_to_string(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner reads it");
    }
    let created = zammad.create_ticket("51", events::TWO_FA_SUBJECT, CUSTOMER, DESCRIPTION, &[]);
    assert_eq!(
        created.send(&app.http, &hook(&app), None).await.status(),
        401,
        "unsigned: refused"
    );
    let signed = created
        .send(&app.http, &hook(&app), Some(generated.trim()))
        .await;
    assert_eq!(signed.status(), 202, "signed with the generated token");
    app.stop().await;
}

#[tokio::test]
async fn shadow_mode_keeps_zammads_notes_local_and_zendesk_posts_as_usual() {
    let mut s = setup().await;
    s.config.zammad_api_token = None;
    s.config.zammad_shadow = true;
    s.config.zammad_signing_secrets = vec![Secret::new(fake_zammad::SIGNATURE_TOKEN)];
    let (app, zammad) = s.start().await;
    deliver(
        &app,
        &zammad.create_ticket("61", events::TWO_FA_SUBJECT, CUSTOMER, DESCRIPTION, &[]),
    )
    .await;
    assert_eq!(
        app.post_event(&events::created("61", &[]).to_string())
            .await
            .status(),
        202
    );
    assert_eq!(app.wait_for_notes(1, WAIT).await.len(), 1, "Zendesk posts");
    assert!(
        common::eventually(WAIT, || async {
            let ticket: serde_json::Value = app
                .api("/api/tickets/zammad/61")
                .await
                .json()
                .await
                .unwrap_or_default();
            ticket["notes"]
                .as_array()
                .is_some_and(|n| n.len() == 1 && n[0]["status"] == "shadow")
        })
        .await,
        "Zammad's note is kept as a shadow note"
    );
    assert!(zammad.notes().is_empty(), "nothing was posted to Zammad");
    app.stop().await;
}

#[tokio::test]
async fn the_client_reads_a_tickets_articles_and_tags() {
    let zammad = FakeZammad::start().await;
    zammad.create_ticket("71", "x", CUSTOMER, "<p>hello</p>", &[VERIFIED, "vip"]);
    let client = onbehalf::helpdesk::zammad::ZammadClient::new(
        &zammad.url(),
        &Secret::new(fake_zammad::API_TOKEN),
        Duration::from_secs(5),
        1_000_000,
    )
    .unwrap();
    assert_eq!(client.tags(&"71".into()).await.unwrap(), [VERIFIED, "vip"]);
    let articles = client.articles(&"71".into()).await.unwrap();
    assert_eq!(articles.len(), 1);
    assert_eq!(articles[0].sender.as_deref(), Some("Customer"));
    assert!(!articles[0].internal);
    assert!(matches!(
        client.tags(&"72".into()).await,
        Err(onbehalf::helpdesk::HelpdeskError::Rejected(_))
    ));
}

#[tokio::test]
async fn a_long_html_email_fits_and_a_body_past_a_mebibyte_does_not() {
    let (app, zammad) = both().await;
    zammad.create_ticket("81", events::TWO_FA_SUBJECT, CUSTOMER, DESCRIPTION, &[]);
    // Past Zendesk's 256 KB, as a long e-mail thread quoted in HTML is.
    let history = "<blockquote><p>earlier message in the thread</p></blockquote>".repeat(6_000);
    assert!(history.len() > onbehalf::ingest::MAX_BODY_BYTES);
    let long = zammad.add_article(
        "81",
        "Customer",
        CUSTOMER,
        false,
        &format!("<p>Thanks</p>{history}"),
    );
    deliver(&app, &long).await;
    let huge = zammad.add_article("81", "Customer", CUSTOMER, false, &"x".repeat(1024 * 1024));
    let refused = huge
        .send(&app.http, &hook(&app), Some(fake_zammad::SIGNATURE_TOKEN))
        .await;
    assert_eq!(refused.status(), 413);
    app.stop().await;
}

/// A Zammad customer's GitLab role, read by the e-mail address Zammad's user API gives for
/// the ticket's customer (`GET /api/v1/users/{customer_id}`).
#[tokio::test]
async fn gitlab_checks_a_zammad_customer_by_the_e_mail_zammad_has_for_them() {
    let gitlab = FakeGitLab::start().await;
    gitlab.add_user(FakeGitLab::user(70, "alice", "alice@acme.io"));
    gitlab.add_project("acme/api");
    gitlab.add_member("acme", 70, 40);
    let mut s = setup().await;
    s.config.zammad_signing_secrets = vec![Secret::new(fake_zammad::SIGNATURE_TOKEN)];
    s.config.gitlab_url = Some(gitlab.url());
    s.config.gitlab_token = Some(Secret::new(fake_gitlab::TOKEN));
    let (app, zammad) = s.start().await;
    zammad.add_user(CUSTOMER, "alice@acme.io");
    let created = zammad.create_ticket(
        "91",
        "Please transfer our project to the new group",
        CUSTOMER,
        "<p>The transfer of the project `acme/api` fails with a 500 error every time. Could you move the project for us?</p>",
        &[],
    );
    deliver(&app, &created).await;
    let notes = zammad.wait_for_notes(1, WAIT).await;
    assert_eq!(notes.len(), 1, "triage note");
    assert!(
        notes[0].body.contains(
            "verified: <code>@alice</code> is Maintainer (40) of project <code>acme/api</code>, inherited from group <code>acme</code>"
        ),
        "{}",
        notes[0].body
    );
    assert!(
        !notes[0].body.contains("alice@acme.io"),
        "the address stays in Zammad"
    );
    assert_eq!(zammad.users_shown(), vec![CUSTOMER]);
    let ticket: serde_json::Value = app
        .api("/api/tickets/zammad/91")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ticket["stage"], "ask_permission", "{ticket}");
    assert_eq!(
        ticket["gitlab"][0]["found"]["user"]["username"], "alice",
        "{ticket}"
    );
    assert!(app.zendesk.notes().is_empty());
    app.stop().await;
}

/// A customer Zammad has no address for is not guessed at: the note says the check failed.
#[tokio::test]
async fn without_an_address_in_zammad_gitlab_is_not_asked() {
    let gitlab = FakeGitLab::start().await;
    let mut s = setup().await;
    s.config.zammad_signing_secrets = vec![Secret::new(fake_zammad::SIGNATURE_TOKEN)];
    s.config.gitlab_url = Some(gitlab.url());
    s.config.gitlab_token = Some(Secret::new(fake_gitlab::TOKEN));
    let (app, zammad) = s.start().await;
    zammad.add_user(CUSTOMER, "");
    let created = zammad.create_ticket(
        "92",
        "Please transfer our project to the new group",
        CUSTOMER,
        "<p>The transfer of the project `acme/api` fails. Could you move the project for us?</p>",
        &[],
    );
    deliver(&app, &created).await;
    let notes = zammad.wait_for_notes(1, WAIT).await;
    assert!(
        notes[0]
            .body
            .contains("the helpdesk has no e-mail address for the requester"),
        "{}",
        notes[0].body
    );
    assert!(gitlab.requests().is_empty(), "{:?}", gitlab.requests());
    app.stop().await;
}
