//! The review console over plain HTTP: no page shows data without a session, the login form,
//! the cookie's flags, CSRF on every state-changing request, and pages that agree with the
//! admin API. (The browser tests are in `console_browser.rs`.)

use crate::common;
use crate::console_support;

use std::time::Duration;

use common::ADMIN_TOKEN;
use console_support::{
    DEAD_TICKET, GRANT_REPLY, OTHER_TICKET, PENDING_TICKET, SEEDED, TICKET, api_head, client,
    csrf_of, get, login, seeded_app,
};

const PAGES: [&str; 8] = [
    "/console",
    "/console/shadow",
    "/console/tickets",
    "/console/tickets/zendesk/424242",
    "/console/trail",
    "/console/dead-letters",
    "/console/trail/export.jsonl",
    "/console/shadow/reviews.jsonl",
];

/// Posts a form with the session cookie.
async fn post(
    app: &common::TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_every_page_redirects_to_the_login_and_shows_no_data() {
    let app = seeded_app().await;
    let head = api_head(&app).await;
    let hash = head.split(':').nth(1).unwrap().to_string();
    let forged = format!("onbehalf_console={}", "ab".repeat(32));
    for cookie in [None, Some(forged.as_str()), Some("onbehalf_console=short")] {
        for path in PAGES {
            let mut request = client().get(app.url(path));
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 303, "{path} with {cookie:?}");
            assert_eq!(r.headers()["location"], "/console/login", "{path}");
            let body = r.text().await.unwrap();
            for secret in [TICKET, DEAD_TICKET, GRANT_REPLY, hash.as_str()] {
                assert!(!body.contains(secret), "{path} leaks {secret}: {body}");
            }
        }
        for path in [
            "/console/logout",
            "/console/trail/verify",
            "/console/shadow/review",
            "/console/dead-letters/requeue",
        ] {
            let mut request = client().post(app.url(path)).form(&[("all", "1")]);
            if let Some(cookie) = cookie {
                request = request.header("cookie", cookie);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 303, "POST {path} with {cookie:?}");
        }
    }
    // Nothing moved: the dead letter is still there.
    let cookie = login(&app).await;
    let dead = get(&app, &cookie, "/console/dead-letters").await;
    assert!(dead.text().await.unwrap().contains(DEAD_TICKET));
    // The login page and its stylesheet need no session.
    let login_page = client()
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login_page.status(), 200);
    assert!(login_page.text().await.unwrap().contains("name=\"token\""));
    let css = client()
        .get(app.url("/console/assets/console.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_gets_no_cookie_and_the_right_one_a_strict_cookie() {
    let app = console_support::shadow_app().await;
    for form in [
        vec![("token", "not-the-admin-token")],
        vec![("token", "")],
        vec![("token", &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1])],
        vec![],
    ] {
        let r = client()
            .post(app.url("/console/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{form:?}");
        assert!(r.headers().get("set-cookie").is_none(), "{form:?}");
        assert!(r.text().await.unwrap().contains("not the admin token"));
    }
    let r = client()
        .post(app.url("/console/login"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let attributes: Vec<&str> = cookie.split("; ").collect();
    assert!(attributes[0].starts_with("onbehalf_console="));
    assert_eq!(attributes[0].len(), "onbehalf_console=".len() + 64);
    for wanted in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=28800",
    ] {
        assert!(attributes.contains(&wanted), "{wanted} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    // Behind a TLS proxy the cookie is Secure.
    let r = client()
        .post(app.url("/console/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
    // The page that follows is the overview; the headers keep it out of caches and frames.
    let session = cookie.split(';').next().unwrap();
    let overview = get(&app, session, "/console").await;
    assert_eq!(overview.status(), 200);
    assert_eq!(overview.headers()["cache-control"], "no-store");
    let csp = overview.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_the_console_never_opens() {
    let app = common::spawn_app_with(|config| config.admin_token = None).await;
    for token in ["", "anything-at-all-long-enough"] {
        let r = client()
            .post(app.url("/console/login"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("set-cookie").is_none());
        assert!(r.text().await.unwrap().contains("console is disabled"));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_without_the_sessions_csrf_token_is_forbidden() {
    let app = seeded_app().await;
    let cookie = login(&app).await;
    let other = login(&app).await;
    let page = get(&app, &cookie, "/console/dead-letters")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let others_csrf = csrf_of(&get(&app, &other, "/console").await.text().await.unwrap());
    assert_ne!(csrf, others_csrf, "one token per session");
    let reference = format!("onbehalf:zendesk:{TICKET}:triage");
    for (path, form) in [
        ("/console/dead-letters/requeue", vec![("all", "1")]),
        ("/console/trail/verify", vec![]),
        (
            "/console/shadow/review",
            vec![("reference", reference.as_str()), ("reason", "wrong")],
        ),
        ("/console/logout", vec![]),
    ] {
        for bad in [
            None,
            Some(""),
            Some("0".repeat(64)).as_deref(),
            Some(others_csrf.as_str()),
        ] {
            let mut form = form.clone();
            if let Some(bad) = bad {
                form.push(("csrf", bad));
            }
            let r = post(&app, &cookie, path, &form).await;
            assert_eq!(r.status(), 403, "{path} with csrf {bad:?}");
        }
    }
    // None of them acted: the dead letter is there, no review was stored, the session lives.
    let dead = get(&app, &cookie, "/console/dead-letters").await;
    assert_eq!(dead.status(), 200);
    assert!(dead.text().await.unwrap().contains(DEAD_TICKET));
    let reviews = get(&app, &cookie, "/console/shadow/reviews.jsonl").await;
    assert_eq!(reviews.text().await.unwrap(), "");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_what_the_api_holds() {
    let app = seeded_app().await;
    let cookie = login(&app).await;
    let api_ticket = app.ticket(TICKET).await;

    // Tickets: found by id, and by the pending-permission filter only while one is pending.
    let list = get(&app, &cookie, &format!("/console/tickets?id={TICKET}")).await;
    let list = list.text().await.unwrap();
    assert!(
        list.contains(&format!("/console/tickets/zendesk/{TICKET}")),
        "{list}"
    );
    let pending = get(&app, &cookie, "/console/tickets?pending=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        pending.contains(&format!(">{PENDING_TICKET}</a>")),
        "{pending}"
    );
    assert!(
        !pending.contains(&format!(">{TICKET}</a>")),
        "granted: nothing pending"
    );
    let silent = get(&app, &cookie, "/console/tickets?category=other")
        .await
        .text()
        .await
        .unwrap();
    assert!(silent.contains(&format!(">{OTHER_TICKET}</a>")));
    assert!(!silent.contains(&format!(">{PENDING_TICKET}</a>")));
    let bad = get(&app, &cookie, "/console/tickets?stage=nonsense").await;
    assert_eq!(bad.status(), 400);

    // The timeline: every note with its status, the decision with its quote, events.
    let page = get(&app, &cookie, &format!("/console/tickets/zendesk/{TICKET}")).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!("<span id=\"ticket-id\">{TICKET}</span>")));
    assert!(page.contains(api_ticket["stage"].as_str().unwrap()));
    for note in api_ticket["notes"].as_array().unwrap() {
        assert_eq!(note["status"], "shadow");
        assert!(page.contains(&format!("<code>{}</code>", note["step"].as_str().unwrap())));
    }
    assert_eq!(page.matches("Event processed").count(), 3, "three events");
    assert!(page.contains(GRANT_REPLY));
    assert!(page.contains("badge granted"));
    let order: Vec<usize> = [
        "<code>triage</code>",
        "<code>question-5001</code>",
        "<code>verdict-5002</code>",
    ]
    .iter()
    .map(|step| {
        page.find(step)
            .unwrap_or_else(|| panic!("{step} in {page}"))
    })
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "in time order: {order:?}"
    );
    let missing = get(&app, &cookie, "/console/tickets/zendesk/999").await;
    assert_eq!(missing.status(), 404);

    // The trail: the head as the API says it, verify now, the same export.
    let head = api_head(&app).await;
    let trail = get(&app, &cookie, "/console/trail")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        trail.contains(&format!("<code id=\"trail-head\">{head}</code>")),
        "{trail}"
    );
    let verified = post(
        &app,
        &cookie,
        "/console/trail/verify",
        &[("csrf", &csrf_of(&trail))],
    )
    .await;
    assert_eq!(verified.status(), 200);
    let verified = verified.text().await.unwrap();
    assert!(
        verified.contains("<strong>Intact.</strong> 1 records checked"),
        "{verified}"
    );
    let export = get(&app, &cookie, "/console/trail/export.jsonl")
        .await
        .text()
        .await
        .unwrap();
    let api_export = app.api("/api/confirmations").await.text().await.unwrap();
    assert_eq!(export, api_export);

    // Shadow review: the ticket's notes, newest first, as rendered markup.
    let shadow = get(&app, &cookie, "/console/shadow")
        .await
        .text()
        .await
        .unwrap();
    let mut shadow_notes = 0;
    for ticket in SEEDED {
        let notes = app.ticket(ticket).await["notes"]
            .as_array()
            .unwrap()
            .clone();
        assert!(notes.iter().all(|n| n["status"] == "shadow"));
        shadow_notes += notes.len();
    }
    assert_eq!(shadow.matches("class=\"mark-wrong\"").count(), shadow_notes);
    let verdict_at = shadow
        .find(&format!("value=\"onbehalf:zendesk:{TICKET}:verdict-5002\""))
        .unwrap();
    let triage_at = shadow
        .find(&format!("value=\"onbehalf:zendesk:{TICKET}:triage\""))
        .unwrap();
    assert!(verdict_at < triage_at, "newest first");
    assert!(
        !shadow.contains("&lt;p&gt;"),
        "note markup is rendered, not escaped"
    );
    let questions = get(&app, &cookie, "/console/shadow?kind=question")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        questions.matches("class=\"mark-wrong\"").count(),
        2,
        "one per question asked"
    );
    let other = get(&app, &cookie, "/console/shadow?category=other")
        .await
        .text()
        .await
        .unwrap();
    assert!(other.contains("id=\"no-notes\""));
    let zendesk = get(&app, &cookie, "/console/shadow?helpdesk=zendesk")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        zendesk.matches("class=\"mark-wrong\"").count(),
        shadow_notes
    );
    // The pages page with the note feed's own cursor (`next` of /api/notes).
    let api: serde_json::Value = app
        .api("/api/notes?status=shadow&limit=1")
        .await
        .json()
        .await
        .unwrap();
    let next = api["next"].as_str().expect("more than one shadow note");
    let older = get(&app, &cookie, &format!("/console/shadow?after={next}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        older.matches("class=\"mark-wrong\"").count(),
        shadow_notes - 1,
        "every note after the newest"
    );
    for bad in ["kind=summary", "helpdesk=freshdesk", "after=12%3Aref"] {
        let r = get(&app, &cookie, &format!("/console/shadow?{bad}")).await;
        assert_eq!(r.status(), 400, "{bad}");
    }

    // Overview: the mode, the dead letter, the ticket counted.
    let overview = get(&app, &cookie, "/console").await.text().await.unwrap();
    assert!(
        overview
            .contains("id=\"mode-zendesk\">zendesk: <span class=\"badge shadow\">shadow</span>")
    );
    assert!(
        overview.contains("<strong id=\"dead-letter-count\">1</strong>"),
        "{overview}"
    );
    assert!(
        overview.contains("id=\"dependency-helpdesk-zendesk\">helpdesk zendesk: <span class=\"ok\">ok (shadow mode: not contacted)</span>"),
        "{overview}"
    );
    assert!(
        !overview.contains("dependency-gitlab"),
        "GitLab is off: {overview}"
    );
    assert!(overview.contains("<svg class=\"chart\""));
    assert!(
        overview.contains("id=\"counted-at\">Counts as of <time>"),
        "the counts say when they were made"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_marked_wrong_is_kept_and_exported_and_a_dead_letter_requeued() {
    let app = seeded_app().await;
    let cookie = login(&app).await;
    let shadow = get(&app, &cookie, "/console/shadow")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&shadow);
    let reference = format!("onbehalf:zendesk:{TICKET}:triage");
    let reason = "Says \"account access\" but the customer asks about billing";
    let r = post(
        &app,
        &cookie,
        "/console/shadow/review",
        &[
            ("csrf", &csrf),
            ("reference", &reference),
            ("reason", reason),
            ("kind", "triage"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/shadow?kind=triage");
    let shadow = get(&app, &cookie, "/console/shadow?kind=triage")
        .await
        .text()
        .await
        .unwrap();
    assert!(shadow.contains("marked wrong"));
    assert!(shadow.contains("Says &quot;account access&quot; but the customer asks about billing"));
    for (form, status) in [
        (
            vec![("reference", reference.as_str()), ("reason", "  ")],
            400,
        ),
        (
            vec![("reference", "onbehalf:zendesk:1:nothing"), ("reason", "x")],
            404,
        ),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        assert_eq!(
            post(&app, &cookie, "/console/shadow/review", &form)
                .await
                .status(),
            status
        );
    }
    let export = get(&app, &cookie, "/console/shadow/reviews.jsonl").await;
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let export = export.text().await.unwrap();
    let lines: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{export}");
    assert_eq!(lines[0]["reference"], reference);
    assert_eq!(lines[0]["ticket_id"], TICKET);
    assert_eq!(lines[0]["kind"], "triage");
    assert_eq!(lines[0]["verdict"], "wrong");
    assert_eq!(lines[0]["reason"], reason);

    // Re-queue one dead letter: it leaves the list, is handled again (and, still without an
    // API to read the ticket, comes back).
    let page = get(&app, &cookie, "/console/dead-letters")
        .await
        .text()
        .await
        .unwrap();
    let marker = "name=\"event_id\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let event_id = page[start..].split('"').next().unwrap().to_string();
    let r = post(
        &app,
        &cookie,
        "/console/dead-letters/requeue",
        &[("csrf", &csrf), ("event_id", &event_id)],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/dead-letters?requeued=1");
    let after = get(&app, &cookie, "/console/dead-letters?requeued=1")
        .await
        .text()
        .await
        .unwrap();
    assert!(after.contains("1 event put back on the queue."));
    let none = post(
        &app,
        &cookie,
        "/console/dead-letters/requeue",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(none.status(), 400, "neither one nor all");

    // Logout ends the session everywhere it was used.
    let r = post(&app, &cookie, "/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/login");
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = get(&app, &cookie, "/console").await;
    assert_eq!(r.status(), 303);
    app.stop().await;
}

/// The overview's dependencies: each helpdesk's state and GitLab's, as the workers last found
/// them. Zammad is down while Zendesk answers; GitLab is down and the notes go on without its
/// facts; then GitLab answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_names_each_helpdesks_state_and_gitlabs() {
    use common::fake_gitlab::{self, FakeGitLab};
    use common::fake_zammad::{self, FakeZammad};
    use common::fake_zendesk::Canned;
    use onbehalf::config::Secret;

    common::init_test_logging();
    let zendesk = common::FakeZendesk::start().await;
    let zammad = FakeZammad::start().await;
    let gitlab = FakeGitLab::start().await;
    let data = tempfile::TempDir::new().unwrap();
    let mut config = common::test_config(&data, &zendesk);
    config.zammad_url = Some(zammad.url());
    config.zammad_api_token = Some(Secret::new(fake_zammad::API_TOKEN));
    config.zammad_signing_secrets = vec![Secret::new(fake_zammad::SIGNATURE_TOKEN)];
    config.zammad_requests_per_minute = 1_000_000;
    config.gitlab_url = Some(gitlab.url());
    config.gitlab_token = Some(Secret::new(fake_gitlab::TOKEN));
    config.pause_first_ms = 20;
    config.pause_max_ms = 200;
    let app = common::spawn_with_config(config, data, zendesk).await;
    app.zendesk
        .set_user_email(common::events::REQUESTER, "alice@acme.io");
    gitlab.add_user(FakeGitLab::user(7, "alice", "alice@acme.io"));
    zammad.start_outage(Canned {
        status: 503,
        retry_after: None,
    });
    gitlab.start_outage(500);

    let held = zammad.create_ticket("51", "Locked out", 7, "<p>Please remove 2FA</p>", &[]);
    let r = held
        .send(
            &app.http,
            &app.url("/webhooks/zammad"),
            Some(fake_zammad::SIGNATURE_TOKEN),
        )
        .await;
    assert_eq!(r.status(), 202);
    let project = |id: &str| {
        common::events::created_with(
            id,
            "Please transfer our project to the new group",
            "Hello, the transfer of the project `acme/api` fails with a 500 error every time. Could you move the project for us?",
            &[],
        )
        .to_string()
    };
    assert_eq!(app.post_event(&project("9101")).await.status(), 202);
    let notes = app.wait_for_notes(1, Duration::from_secs(15)).await;
    assert!(
        notes[0]
            .html_body
            .contains("could not check: GitLab is unavailable"),
        "GitLab's outage paused nothing: {}",
        notes[0].html_body
    );
    let cookie = login(&app).await;
    let overview = || async { get(&app, &cookie, "/console").await.text().await.unwrap() };
    let zammad_down = "id=\"dependency-helpdesk-zammad\">helpdesk zammad: <span class=\"down\">down: helpdesk unavailable: Zammad answered 503";
    assert!(
        common::eventually(Duration::from_secs(15), || async {
            overview().await.contains(zammad_down)
        })
        .await,
        "{}",
        overview().await
    );
    let page = overview().await;
    assert!(
        page.contains(
            "id=\"dependency-helpdesk-zendesk\">helpdesk zendesk: <span class=\"ok\">ok</span>"
        ),
        "{page}"
    );
    assert!(
        page.contains("id=\"dependency-gitlab\">gitlab: <span class=\"down\">down for "),
        "{page}"
    );
    assert!(page.contains("(notes go on without its facts)"), "{page}");

    gitlab.end_outage();
    assert_eq!(app.post_event(&project("9102")).await.status(), 202);
    assert_eq!(
        app.wait_for_notes(2, Duration::from_secs(15)).await.len(),
        2
    );
    let page = overview().await;
    assert!(
        page.contains("id=\"dependency-gitlab\">gitlab: <span class=\"ok\">ok</span>"),
        "{page}"
    );
    zammad.end_outage();
    assert_eq!(
        zammad
            .wait_for_notes(1, Duration::from_secs(15))
            .await
            .len(),
        1
    );
    app.stop().await;
}
