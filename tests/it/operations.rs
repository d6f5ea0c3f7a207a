//! Watching the service as an operator does: shadow notes across tickets (`GET /api/notes`,
//! `onbehalf notes`), dead letters while `serve` holds the embedded queue and on RabbitMQ
//! (`/api/dead-letters`, `onbehalf dead-letters`), and the log lines that say what happened.

use crate::amqp_support;
use crate::common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{ADMIN_TOKEN, FakeZendesk, TestApp, events, spawn_app_with};
use serde_json::Value;

fn rfc3339(value: &Value) -> time::OffsetDateTime {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a time string: {value}"));
    onbehalf::rfc3339::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Shadow mode: no helpdesk URL, notes are recorded only.
async fn shadow_app() -> TestApp {
    spawn_app_with(|c| {
        c.zendesk_url = None;
        c.zendesk_email = None;
        c.zendesk_api_token = None;
    })
    .await
}

async fn wait_for_shadow_notes(app: &TestApp, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page: Value = app
            .api("/api/notes?status=shadow&limit=500")
            .await
            .json()
            .await
            .unwrap();
        let notes = page["notes"].as_array().cloned().unwrap_or_default();
        if notes.len() >= n {
            return notes;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} shadow notes recorded: {notes:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The binary with this app's database and data folder.
fn onbehalf_for(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onbehalf"));
    cmd.args(args)
        .env("ONBEHALF_DATA_DIR", app.data.path())
        .env("ONBEHALF_DATABASE_URL", &app.config.database_url)
        .env("ONBEHALF_LISTEN", app.addr.to_string())
        .env("ONBEHALF_LOG", "warn")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_notes_are_listed_across_tickets_newest_first_paged_and_filtered() {
    let app = shadow_app().await;
    for ticket in ["7001", "7002", "7003"] {
        assert_eq!(
            app.post_event(&events::created(ticket, &[]).to_string())
                .await
                .status(),
            202
        );
        // Distinct creation times, so "newest first" is observable.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let notes = wait_for_shadow_notes(&app, 3).await;
    let tickets: Vec<&str> = notes
        .iter()
        .map(|n| n["ticket_id"].as_str().unwrap())
        .collect();
    assert_eq!(tickets, ["7003", "7002", "7001"], "newest first");
    for note in &notes {
        assert_eq!(note["helpdesk"], "zendesk");
        assert_eq!(note["kind"], "triage");
        assert_eq!(note["step"], "triage");
        assert_eq!(note["status"], "shadow");
        rfc3339(&note["created_at"]);
        let html = note["html"].as_str().unwrap();
        let text = note["text"].as_str().unwrap();
        assert!(html.starts_with("<p><strong>onbehalf · "), "{html}");
        assert!(text.starts_with("onbehalf · "), "{text}");
        assert!(!text.contains("<p>") && !text.contains("&quot;"), "{text}");
        assert!(text.contains("Next step: "), "{text}");
    }
    let times: Vec<_> = notes.iter().map(|n| rfc3339(&n["created_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // Pages of two: the second starts after the first and ends the list.
    let first: Value = app
        .api("/api/notes?status=shadow&limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["notes"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().expect("a next page");
    let second: Value = app
        .api(&format!("/api/notes?status=shadow&limit=2&after={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["notes"].as_array().unwrap().len(), 1);
    assert_eq!(second["notes"][0]["ticket_id"], "7001");
    assert!(second["next"].is_null());

    // `since` keeps the notes recorded at or after it.
    let since = notes[1]["created_at"].as_str().unwrap();
    let recent: Value = app
        .api(&format!("/api/notes?status=shadow&since={since}"))
        .await
        .json()
        .await
        .unwrap();
    let recent: Vec<&str> = recent["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["ticket_id"].as_str().unwrap())
        .collect();
    assert_eq!(recent, ["7003", "7002"]);
    let none: Value = app
        .api("/api/notes?since=2999-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["notes"], serde_json::json!([]));
    let posted: Value = app
        .api("/api/notes?status=posted")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(posted["notes"], serde_json::json!([]), "nothing was posted");

    // The shadow review's filters: note kind, the ticket's category, the helpdesk.
    let category = notes[0]["category"]
        .as_str()
        .expect("a triaged ticket's category");
    let listed = |body: Value| -> Vec<String> {
        body["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["ticket_id"].as_str().unwrap().to_string())
            .collect()
    };
    for (query, expected) in [
        ("kind=triage", vec!["7003", "7002", "7001"]),
        ("kind=question", vec![]),
        (
            &format!("category={category}&helpdesk=zendesk") as &str,
            vec!["7003", "7002", "7001"],
        ),
        ("helpdesk=zammad", vec![]),
        ("kind=triage&limit=1", vec!["7003"]),
    ] {
        let body: Value = app
            .api(&format!("/api/notes?status=shadow&{query}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(listed(body), expected, "{query}");
    }
    let other_category = ["account_access", "project_group_change", "other"]
        .into_iter()
        .find(|c| *c != category)
        .unwrap();
    let body: Value = app
        .api(&format!("/api/notes?category={other_category}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(listed(body).is_empty(), "{other_category}");

    // A ticket's own notes show their time as RFC 3339 too.
    let ticket = app.ticket("7001").await;
    rfc3339(&ticket["notes"][0]["created_at"]);

    // Bad parameters: 400 naming the parameter and what was wrong.
    for (query, code, says) in [
        (
            "since=yesterday",
            "bad_since",
            "\"yesterday\" is not an RFC 3339 time",
        ),
        ("since=2026-12-01", "bad_since", "RFC 3339"),
        (
            "status=sent",
            "bad_status",
            "status=\"sent\" is not a note status",
        ),
        ("limit=0", "bad_limit", "limit=\"0\""),
        ("limit=501", "bad_limit", "from 1 to 500"),
        ("after=nonsense", "bad_after", "after=\"nonsense\""),
        (
            "kind=summary",
            "bad_kind",
            "kind=\"summary\" is not a note kind",
        ),
        (
            "category=billing",
            "bad_category",
            "category=\"billing\" is not a category",
        ),
    ] {
        let r = app.api(&format!("/api/notes?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], code, "{query}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
    let r = app.http.get(app.url("/api/notes")).send().await.unwrap();
    assert_eq!(r.status(), 401, "behind the admin token");

    // The terminal view, from the database while the server runs.
    let out = onbehalf_for(&app, &["notes", "--since", "1h", "--status", "shadow"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let order: Vec<usize> = ["ticket 7001", "ticket 7002", "ticket 7003"]
        .iter()
        .map(|t| text.find(t).unwrap_or_else(|| panic!("{t} in\n{text}")))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "oldest first, newest by the prompt:\n{text}"
    );
    assert!(text.contains("triage (triage)  shadow"), "{text}");
    assert!(
        text.contains("   onbehalf · "),
        "the plain text, indented:\n{text}"
    );
    assert!(!text.contains("<p>"), "{text}");
    let summary = text.lines().last().unwrap();
    assert!(summary.starts_with("3 shadow notes since "), "{summary}");
    assert!(
        summary.contains("SQLite database "),
        "names the database: {summary}"
    );

    let out = onbehalf_for(
        &app,
        &["notes", "--since", "30m", "--limit", "1", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["ticket_id"], "7003");
    assert!(
        stderr(&out).contains("the most recent 1; more with"),
        "{}",
        stderr(&out)
    );

    let out = onbehalf_for(&app, &["notes", "--since", "yesterday"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.matches("RFC 3339").count(), 1, "said once: {err}");
    assert!(err.starts_with("onbehalf: --since \"yesterday\""), "{err}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_cli_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nothing-here.db");
    let out = Command::new(env!("CARGO_BIN_EXE_onbehalf"))
        .args(["notes", "--since", "1h"])
        .env("ONBEHALF_DATA_DIR", dir.path())
        .env(
            "ONBEHALF_DATABASE_URL",
            format!("sqlite://{}", db.display()),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("there is no database at"),
        "{}",
        stderr(&out)
    );
    assert!(!db.exists());
}

/// Events of `tickets` that the fake helpdesk refuses (500 on the note, while the account
/// answers) use up their two attempts and are dead-lettered.
async fn dead_letter_tickets(app: &TestApp, tickets: &[&str]) -> Vec<Value> {
    for t in tickets {
        app.zendesk.break_ticket(t, 500);
        assert_eq!(
            app.post_event(&events::created(t, &[]).to_string())
                .await
                .status(),
            202
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let page: Value = app.api("/api/dead-letters").await.json().await.unwrap();
        let listed = page["dead_letters"].as_array().cloned().unwrap_or_default();
        if listed.len() == tickets.len() {
            return listed;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dead-lettered: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn fail_fast(c: &mut onbehalf::config::Config) {
    c.max_attempts = 2;
    c.retry_budget_secs = 0;
    c.retry_base_ms = 50;
}

/// The API's dead-letter routes, the same on either queue.
async fn dead_letters_through_the_api(app: &TestApp) {
    let listed = dead_letter_tickets(app, &["8101", "8102"]).await;
    for dead in &listed {
        assert_eq!(dead["source"], "zendesk");
        assert_eq!(dead["attempts"], 2);
        assert!(dead["reason"].as_str().unwrap().contains("500"), "{dead}");
        let (first, last) = (
            rfc3339(&dead["first_attempt_at"]),
            rfc3339(&dead["last_attempt_at"]),
        );
        assert!(
            rfc3339(&dead["received_at"]) <= first && first < last,
            "{dead}"
        );
    }
    // Pages of one.
    let page: Value = app
        .api("/api/dead-letters?limit=1")
        .await
        .json()
        .await
        .unwrap();
    let next = page["next"].as_str().expect("a second page");
    let rest: Value = app
        .api(&format!("/api/dead-letters?limit=1&after={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(rest["next"].is_null());
    assert_ne!(
        page["dead_letters"][0]["event_id"],
        rest["dead_letters"][0]["event_id"]
    );
    let r = app.api("/api/dead-letters?after=not-a-position").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "bad_after");
    let r = app
        .http
        .post(app.url("/api/dead-letters/requeue"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "requeue is behind the admin token");

    // One back, by id: its note is posted once the helpdesk takes it.
    let one = listed.iter().find(|d| d["ticket_id"] == "8101").unwrap();
    let id = one["event_id"].as_str().unwrap();
    app.zendesk.repair_ticket("8101");
    app.zendesk.repair_ticket("8102");
    let post = |path: String| {
        app.http
            .post(app.url(&path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    let r = post(format!("/api/dead-letters/{id}/requeue"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["requeued"], 1);
    let r = post(format!("/api/dead-letters/{id}/requeue"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "no longer dead-lettered");
    assert!(
        common::eventually(Duration::from_secs(20), || async {
            app.zendesk.notes_for("8101").len() == 1
        })
        .await
    );
    // The rest, all at once.
    let r = post("/api/dead-letters/requeue".into()).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["requeued"], 1);
    assert!(
        common::eventually(Duration::from_secs(20), || async {
            app.zendesk.notes_for("8102").len() == 1
        })
        .await
    );
    let page: Value = app.api("/api/dead-letters").await.json().await.unwrap();
    assert_eq!(page["dead_letters"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_of_the_embedded_queue_are_served_while_serve_holds_it() {
    let app = spawn_app_with(fail_fast).await;
    dead_letters_through_the_api(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_on_rabbitmq_are_served_by_the_api() {
    let prefix = format!("t-ops-{}", uuid::Uuid::new_v4());
    let url = amqp_support::url();
    let policy = onbehalf::queue::RetryPolicy::default();
    match onbehalf::queue::amqp::AmqpQueue::connect(&url, &prefix, policy, 1).await {
        Ok(q) => onbehalf::queue::Queue::close(&q).await,
        Err(e) if std::env::var("TEST_REQUIRE_AMQP").as_deref() != Ok("1") => {
            eprintln!("SKIPPED: no RabbitMQ at the test URL ({e})");
            return;
        }
        Err(e) => panic!("RabbitMQ required but not reachable: {e}"),
    }
    let _cleanup = amqp_support::Cleanup {
        prefix: prefix.clone(),
        policy,
    };
    let app = spawn_app_with(|c| {
        fail_fast(c);
        c.queue_url = url.clone();
        c.queue_prefix = prefix.clone();
    })
    .await;
    dead_letters_through_the_api(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_asks_the_running_server_when_it_holds_the_embedded_queue() {
    let app = spawn_app_with(fail_fast).await;
    dead_letter_tickets(&app, &["8201"]).await;
    let with_token = [("ONBEHALF_ADMIN_TOKEN", ADMIN_TOKEN)];

    let out = onbehalf_for(&app, &["dead-letters", "list"], &with_token);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.lines().count(),
        1,
        "one line says where it asked: {err}"
    );
    assert!(
        err.contains(&format!(
            "the embedded queue belongs to the running server (process {}): asking it at http://{}",
            std::process::id(),
            app.addr
        )),
        "{err}"
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("ticket 8201 (zendesk)  2 attempt(s), first 20"),
        "{text}"
    );
    assert!(lines[0].contains("500"), "the reason: {text}");
    assert_eq!(lines[1], "1 dead letter");

    app.zendesk.repair_ticket("8201");
    let out = onbehalf_for(&app, &["dead-letters", "requeue"], &with_token);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "requeued 1 event(s)");
    assert!(
        common::eventually(Duration::from_secs(20), || async {
            app.zendesk.notes_for("8201").len() == 1
        })
        .await
    );
    let out = onbehalf_for(&app, &["dead-letters", "list"], &with_token);
    assert_eq!(stdout(&out).trim(), "0 dead letters");
    let out = onbehalf_for(
        &app,
        &["dead-letters", "requeue", "--event-id", "nope"],
        &with_token,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no dead letter has event id \"nope\""),
        "{}",
        stderr(&out)
    );

    // Without the token it says what it needs, once.
    let out = onbehalf_for(&app, &["dead-letters", "list"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let error_lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("onbehalf: "))
        .collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    assert!(
        error_lines[0].contains("belongs to the running server")
            && error_lines[0].contains("set ONBEHALF_ADMIN_TOKEN as that server has it"),
        "{err}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_embedded_queue_says_0_dead_letters_and_a_missing_one_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let list = || {
        Command::new(env!("CARGO_BIN_EXE_onbehalf"))
            .args(["dead-letters", "list"])
            .env("ONBEHALF_DATA_DIR", dir.path())
            .output()
            .unwrap()
    };
    let out = list();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("there is no embedded queue at"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("queue.db").exists(), "nothing created");

    // A queue a stopped server left behind, opened directly.
    let queue = onbehalf::queue::embedded::EmbeddedQueue::open(
        dir.path(),
        onbehalf::queue::RetryPolicy::default(),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    drop(queue);
    let out = list();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0 dead letters\n");
    assert_eq!(
        stderr(&out),
        "",
        "the queue was opened directly: nothing to say"
    );
}

#[test]
fn check_config_shows_the_note_mode() {
    let dir = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_onbehalf"));
        cmd.arg("check-config").env("ONBEHALF_DATA_DIR", dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("# zendesk notes: shadow mode (ONBEHALF_ZENDESK_URL is not set"),
        "{}",
        stdout(&out)
    );
    let out = run(&[
        ("ONBEHALF_ZENDESK_URL", "https://acme.zendesk.com"),
        ("ONBEHALF_ZENDESK_EMAIL", "bot@acme.com"),
        ("ONBEHALF_ZENDESK_API_TOKEN", "0123456789abcdef0123"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(
            "# zendesk notes: posted mode (notes are posted to https://acme.zendesk.com"
        ),
        "{}",
        stdout(&out)
    );
    // Still a configuration file.
    assert!(toml::from_str::<toml::Value>(&stdout(&out)).is_ok());
}

/// `serve` with JSON logs; returns the child, its base URL and the log file.
fn serve_logging(
    zendesk: Option<&FakeZendesk>,
    data: &std::path::Path,
    extra: &[(&str, &str)],
) -> (std::process::Child, String, std::path::PathBuf) {
    let log = data.join("stderr.log");
    let port = common::process::free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_onbehalf"));
    cmd.arg("serve")
        .env("ONBEHALF_LISTEN", format!("127.0.0.1:{port}"))
        .env("ONBEHALF_DATA_DIR", data)
        .env("ONBEHALF_ZENDESK_SIGNING_SECRETS", common::SECRET)
        .env("ONBEHALF_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("ONBEHALF_LOG_FORMAT", "json")
        .env("ONBEHALF_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    if let Some(zendesk) = zendesk {
        cmd.env("ONBEHALF_ZENDESK_URL", zendesk.url())
            .env("ONBEHALF_ZENDESK_EMAIL", "bot@example.com")
            .env("ONBEHALF_ZENDESK_API_TOKEN", common::API_TOKEN)
            .env("ONBEHALF_ALLOW_HTTP", "true")
            .env("ONBEHALF_ZENDESK_REQUESTS_PER_MINUTE", "100000");
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    (
        cmd.spawn().unwrap(),
        format!("http://127.0.0.1:{port}"),
        log,
    )
}

fn stop(mut child: std::process::Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
}

/// Posts `event` to the Zendesk webhook, signed; it must be queued.
async fn accept(base: &str, event: &Value) {
    let r = common::post_signed(
        &reqwest::Client::new(),
        &format!("{base}/webhooks/zendesk"),
        &event.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
}

/// Waits until the log holds a line whose message starts with `prefix`.
async fn wait_for_log(log: &std::path::Path, prefix: &str, within: Duration) {
    let seen = common::eventually(within, || async {
        std::fs::read_to_string(log).unwrap().contains(prefix)
    })
    .await;
    assert!(
        seen,
        "{prefix:?} never logged: {}",
        std::fs::read_to_string(log).unwrap()
    );
}

/// The first log line whose message starts with `prefix`.
fn line_starting<'l>(lines: &'l [Value], prefix: &str) -> &'l Value {
    lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no {prefix:?} line: {lines:?}"))
}

fn log_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("JSON line: {l}")))
        .collect()
}

async fn ready(base: &str) {
    let http = reqwest::Client::new();
    assert!(
        common::eventually(Duration::from_secs(20), || async {
            http.get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_mode_is_logged_at_start_and_for_every_note_recorded() {
    let data = tempfile::tempdir().unwrap();
    let (child, base, log) = serve_logging(None, data.path(), &[]);
    ready(&base).await;
    accept(&base, &events::created("7301", &[])).await;
    wait_for_log(&log, "note recorded", Duration::from_secs(20)).await;
    stop(child);
    let lines = log_lines(&log);
    let mode = line_starting(&lines, "note mode shadow");
    assert_eq!(mode["fields"]["helpdesk"], "zendesk");
    assert_eq!(mode["fields"]["mode"], "shadow");
    let recorded: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "note recorded")
        .collect();
    assert_eq!(recorded.len(), 1, "one line per note: {recorded:?}");
    let fields = &recorded[0]["fields"];
    assert_eq!(
        (
            &fields["helpdesk"],
            &fields["ticket_id"],
            &fields["kind"],
            &fields["status"]
        ),
        (
            &Value::from("zendesk"),
            &Value::from("7301"),
            &Value::from("triage"),
            &Value::from("shadow")
        )
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("recovery codes") && !text.contains("Lost my phone"),
        "no ticket text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_failed_attempt_logs_dead_lettered_with_its_cause() {
    let zendesk = FakeZendesk::start().await;
    zendesk.break_ticket("7401", 500);
    let data = tempfile::tempdir().unwrap();
    let (child, base, log) = serve_logging(
        Some(&zendesk),
        data.path(),
        &[
            ("ONBEHALF_MAX_ATTEMPTS", "3"),
            ("ONBEHALF_RETRY_BUDGET_SECS", "0"),
            ("ONBEHALF_RETRY_BASE_MS", "50"),
        ],
    );
    ready(&base).await;
    let created = events::created("7401", &[]);
    let event_id = created["id"].as_str().unwrap().to_owned();
    accept(&base, &created).await;
    let http = reqwest::Client::new();
    let dead = common::eventually(Duration::from_secs(60), || async {
        let page: Value = http
            .get(format!("{base}/api/dead-letters"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["dead_letters"]
            .as_array()
            .is_some_and(|d| d.len() == 1)
    })
    .await;
    assert!(dead);
    stop(child);
    let lines = log_lines(&log);
    let about: Vec<&Value> = lines
        .iter()
        .filter(|l| l.to_string().contains(&event_id) && l["fields"]["reason"].is_string())
        .collect();
    let messages: Vec<&str> = about
        .iter()
        .map(|l| l["fields"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "event failed; will retry",
            "event failed; will retry",
            "event dead-lettered: its attempts and retry time are used up"
        ],
        "{about:?}"
    );
    let last = about[2];
    assert_eq!(last["level"], "ERROR");
    assert_eq!(last["fields"]["attempts"], 3);
    assert!(
        last["fields"]["reason"].as_str().unwrap().contains("500"),
        "the cause: {last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_helpdesk_is_named_with_its_host_and_spends_no_attempt() {
    let zendesk = FakeZendesk::start().await;
    let data = tempfile::tempdir().unwrap();
    // Port 9 (discard) on the loopback: nothing listens there.
    let (child, base, log) = serve_logging(
        Some(&zendesk),
        data.path(),
        &[
            ("ONBEHALF_ZENDESK_URL", "http://127.0.0.1:9"),
            ("ONBEHALF_MAX_ATTEMPTS", "1"),
        ],
    );
    ready(&base).await;
    accept(&base, &events::created("7501", &[])).await;
    wait_for_log(&log, "dependency down", Duration::from_secs(30)).await;
    stop(child);
    let lines = log_lines(&log);
    let down = line_starting(&lines, "dependency down");
    assert_eq!(down["fields"]["dependency"], "helpdesk");
    let reason = down["fields"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("connection refused to 127.0.0.1:9 (helpdesk)"),
        "{reason}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("dead-lettered") && !text.contains("will retry"),
        "paused, not retried:\n{text}"
    );
}

/// A second `serve` on a data folder a running one owns: refused, the reason said once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_says_the_queue_is_taken_once() {
    let app = spawn_app_with(|_| {}).await;
    let port = common::process::free_port().to_string();
    let out = onbehalf_for(
        &app,
        &["serve"],
        &[
            ("ONBEHALF_LISTEN", &format!("127.0.0.1:{port}")),
            ("ONBEHALF_ZENDESK_SIGNING_SECRETS", common::SECRET),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let error_lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("onbehalf: "))
        .collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    assert_eq!(
        error_lines[0]
            .matches("queue.lock is locked by process")
            .count(),
        1,
        "{err}"
    );
    app.stop().await;
}
