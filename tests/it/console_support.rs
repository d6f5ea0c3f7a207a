//! The review console's tests: an app in shadow mode with a ticket whose permission was
//! granted (notes, a trail record) and a dead letter, and logging in through the form.

use std::time::Duration;

use crate::common::events::{self, CommentSpec};
use crate::common::{self, ADMIN_TOKEN, TestApp};

/// The seeded ticket.
pub const TICKET: &str = "424242";
/// The ticket a trigger body names: in shadow mode there is no API to read it back, so its
/// event is dead-lettered.
pub const DEAD_TICKET: &str = "777001";
/// A ticket whose permission question waits for the requester.
pub const PENDING_TICKET: &str = "424243";
/// A ticket about nothing onbehalf follows (category `other`: silent, no notes).
pub const OTHER_TICKET: &str = "424244";
/// The tickets seeded, for sums over all of them.
pub const SEEDED: [&str; 3] = [TICKET, PENDING_TICKET, OTHER_TICKET];
pub const GRANT_REPLY: &str = "Yes, please go ahead and disable it for rbanks.";

const WAIT: Duration = Duration::from_secs(20);

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `serve` in shadow mode (no helpdesk credentials): notes are kept, not posted.
pub async fn shadow_app() -> TestApp {
    common::spawn_app_with(|config| {
        config.zendesk_url = None;
        config.zendesk_email = None;
        config.zendesk_api_token = None;
    })
    .await
}

/// A shadow-mode app holding one granted permission on [`TICKET`], a question waiting on
/// [`PENDING_TICKET`], an unrelated [`OTHER_TICKET`] and one dead letter.
pub async fn seeded_app() -> TestApp {
    let app = shadow_app().await;
    let verified = ["account_ownership_verified"];
    for event in [
        events::created(TICKET, &verified),
        events::comment(CommentSpec {
            ticket: TICKET,
            comment_id: "5001",
            author: events::AGENT,
            is_staff: true,
            public: true,
            body: events::PERMISSION_QUESTION,
            t: 60,
            tags: &verified,
        }),
        events::comment(CommentSpec {
            ticket: TICKET,
            comment_id: "5002",
            author: events::REQUESTER,
            is_staff: false,
            public: true,
            body: GRANT_REPLY,
            t: 120,
            tags: &verified,
        }),
        events::created(PENDING_TICKET, &verified),
        events::comment(CommentSpec {
            ticket: PENDING_TICKET,
            comment_id: "6001",
            author: events::AGENT,
            is_staff: true,
            public: true,
            body: events::PERMISSION_QUESTION,
            t: 60,
            tags: &verified,
        }),
        events::created_with(
            OTHER_TICKET,
            "Invoice for March",
            "Where can I download the invoice for March? Our accounting needs it.",
            &[],
        ),
    ] {
        assert_eq!(app.post_event(&event.to_string()).await.status(), 202);
    }
    let trigger = serde_json::json!({ "ticket_id": DEAD_TICKET }).to_string();
    let r = common::post_signed(&app.http, &app.url("/webhooks/zendesk"), &trigger)
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    assert!(
        common::eventually(WAIT, || async { app.confirmations().await.len() == 1 }).await,
        "the grant reaches the trail"
    );
    assert!(
        common::eventually(WAIT, || async {
            let pending = app
                .api(&format!("/api/tickets/zendesk/{PENDING_TICKET}"))
                .await;
            let other = app
                .api(&format!("/api/tickets/zendesk/{OTHER_TICKET}"))
                .await;
            pending.status() == 200
                && other.status() == 200
                && pending.json::<serde_json::Value>().await.unwrap()["stage"]
                    == "awaiting_permission"
        })
        .await,
        "the other tickets are handled"
    );
    let cookie = login(&app).await;
    assert!(
        common::eventually(WAIT, || async {
            let page = get(&app, &cookie, "/console/dead-letters").await;
            page.text().await.unwrap().contains(DEAD_TICKET)
        })
        .await,
        "the trigger body is dead-lettered"
    );
    app
}

/// Logs in through the form; returns the `name=value` of the session cookie.
pub async fn login(app: &TestApp) -> String {
    let r = client()
        .post(app.url("/console/login"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set_cookie = r
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    set_cookie.split(';').next().unwrap().to_string()
}

/// GETs a console page with the session cookie.
pub async fn get(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// The CSRF token the page's forms carry.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..start + 64].to_string()
}

/// The trail head as the API's export trailer gives it (`seq:hash`).
pub async fn api_head(app: &TestApp) -> String {
    let text = app.api("/api/confirmations").await.text().await.unwrap();
    let trailer: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    format!(
        "{}:{}",
        trailer["trail_head"]["seq"],
        trailer["trail_head"]["hash"].as_str().unwrap()
    )
}
