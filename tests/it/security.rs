//! Holes an outsider would probe: start-up refused on unusable secrets (tokens and masked
//! configuration: tests/it/cli.rs), the admin API's authentication, the receiver's limits, what
//! 401s say, ticket ids in helpdesk URLs, and whose comments count as the service's notes.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{ADMIN_TOKEN, FakeZendesk, SECRET, events, spawn_app_with, test_config};
use onbehalf::app::{Application, Role};
use onbehalf::config::Secret;
use onbehalf::helpdesk::Helpdesk;
use onbehalf::helpdesk::zendesk::signature::ZendeskSignature;
use onbehalf::helpdesk::zendesk::{ZendeskClient, ZendeskOptions};
use tempfile::TempDir;

async fn build(config: onbehalf::config::Config, role: Role) -> Result<Application, String> {
    Application::build(config, role)
        .await
        .map_err(|e| e.to_string())
}

fn without_secrets(data: &TempDir, zendesk: &FakeZendesk) -> onbehalf::config::Config {
    let mut config = test_config(data, zendesk);
    config.zendesk_signing_secrets = vec![];
    config
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn an_empty_short_or_readable_secret_file_stops_start_up() {
    let zendesk = FakeZendesk::start().await;
    let data = TempDir::new().unwrap();
    let path = onbehalf::app::generated_secret_path(data.path());
    for (content, mode, expected) in [
        ("", 0o600, "empty"),
        ("\n  \n", 0o600, "empty"),
        ("abc", 0o600, "bytes long"),
        ("a-long-enough-secret-but-readable", 0o644, "mode 644"),
    ] {
        std::fs::write(&path, content).unwrap();
        set_mode(&path, mode);
        let error = build(without_secrets(&data, &zendesk), Role::Serve)
            .await
            .err()
            .unwrap_or_else(|| panic!("started with secret file {content:?} mode {mode:o}"));
        assert!(error.contains(expected), "{error}");
        assert!(error.contains("zendesk-signing-secret"), "{error}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_generated_secret_is_private_complete_and_kept() {
    use std::os::unix::fs::PermissionsExt;
    let zendesk = FakeZendesk::start().await;
    let data = TempDir::new().unwrap();
    let app = build(without_secrets(&data, &zendesk), Role::Serve)
        .await
        .unwrap();
    drop(app);
    let path = onbehalf::app::generated_secret_path(data.path());
    let secret = std::fs::read_to_string(&path).unwrap();
    assert_eq!(secret.len(), 44, "base64 of 32 random bytes");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    drop(
        build(without_secrets(&data, &zendesk), Role::Serve)
            .await
            .unwrap(),
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), secret);
}

#[tokio::test]
async fn receive_needs_configured_signing_secrets() {
    let zendesk = FakeZendesk::start().await;
    let data = TempDir::new().unwrap();
    let mut config = without_secrets(&data, &zendesk);
    // Never reached: the secrets are checked before any connection.
    config.queue_url = "amqp://guest:guest@127.0.0.1:1/%2f".into();
    let error = build(config, Role::Receive).await.err().unwrap();
    assert!(
        error.contains("ONBEHALF_ZENDESK_SIGNING_SECRETS"),
        "{error}"
    );
    assert!(!onbehalf::app::generated_secret_path(data.path()).exists());
}

async fn status_and_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn the_admin_api_wants_the_exact_token_and_slows_down_guessers() {
    let app = spawn_app_with(|_| {}).await;
    let url = app.url("/api/confirmations");
    let no_header = app.http.get(&url).send().await.unwrap();
    assert_eq!(status_and_code(no_header).await, (401, "bad_token".into()));
    for wrong in [
        "Bearer ",
        "Bearer",
        "bearer test-admin-token",
        "Basic dGVzdA==",
    ] {
        let r = app
            .http
            .get(&url)
            .header("authorization", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{wrong:?}");
    }
    // Ten failures in a burst (five above); then every request is turned away for a while,
    // even one with the right token, so guessing cannot go faster.
    let mut statuses = vec![];
    for guess in 0..6 {
        let r = app
            .http
            .get(&url)
            .bearer_auth(format!("{ADMIN_TOKEN}-{guess}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let wait: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=10).contains(&wait), "Retry-After {wait}");
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    assert_eq!(
        status_and_code(app.api("/api/confirmations").await).await,
        (429, "too_many_failures".into())
    );
    app.stop().await;
}

fn stale_timestamp() -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::hours(3))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn unsigned_requests_learn_nothing_about_the_clock() {
    let app = spawn_app_with(|_| {}).await;
    let body = events::created("7401", &[]).to_string();
    let ts = stale_timestamp();
    let post = |ts: String, sig: String| {
        app.http
            .post(app.url("/webhooks/zendesk"))
            .header("x-zendesk-webhook-signature-timestamp", ts)
            .header("x-zendesk-webhook-signature", sig)
            .body(body.clone())
            .send()
    };
    let forged = ZendeskSignature::sign("not-the-secret-at-all", &ts, body.as_bytes());
    let r = post(ts.clone(), forged).await.unwrap();
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["error"], "bad_signature", "{answer}");
    // Correctly signed but stale: the stable code, and no clock reading in the message.
    let signed = ZendeskSignature::sign(SECRET, &ts, body.as_bytes());
    let r = post(ts, signed).await.unwrap();
    assert_eq!(r.status(), 401);
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["error"], "stale_timestamp", "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        !message.chars().any(|c| c.is_ascii_digit()),
        "no skew or tolerance in {message:?}"
    );
    app.stop().await;
}

/// Sends `head` (and then `body`) on a raw connection and returns what the server answers.
fn raw_exchange(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn oversize_and_slow_bodies_are_refused() {
    let app = spawn_app_with(|c| {
        c.body_read_timeout_secs = 1;
        c.header_read_timeout_secs = 1;
    })
    .await;
    let addr = app.addr;
    let limit = onbehalf::ingest::MAX_BODY_BYTES;
    assert_eq!(limit, 256 * 1024);
    // Refused by its Content-Length, before a byte of the body is sent.
    let declared = tokio::task::spawn_blocking(move || {
        raw_exchange(
            addr,
            &format!(
                "POST /webhooks/zendesk HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                limit + 1
            ),
            b"",
        )
    })
    .await
    .unwrap();
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
    // Chunked, no length announced: cut off past the limit.
    let chunked = tokio::task::spawn_blocking(move || {
        let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
        raw_exchange(
            addr,
            "POST /webhooks/zendesk HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
            chunk.repeat(5).as_bytes(),
        )
    })
    .await
    .unwrap();
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    assert!(chunked.contains("too_large"), "{chunked}");
    // A body that never finishes arriving.
    let slow = tokio::task::spawn_blocking(move || {
        raw_exchange(
            addr,
            "POST /webhooks/zendesk HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\nconnection: close\r\n\r\n",
            b"{\"partial\":",
        )
    })
    .await
    .unwrap();
    assert!(slow.starts_with("HTTP/1.1 503"), "{slow}");
    assert!(slow.to_ascii_lowercase().contains("retry-after"), "{slow}");
    assert!(slow.contains("body_timeout"), "{slow}");
    // Headers that never finish: the connection is dropped.
    let headers = tokio::task::spawn_blocking(move || {
        raw_exchange(addr, "POST /webhooks/zendesk HTTP/1.1\r\nhost: x\r\n", b"")
    })
    .await
    .unwrap();
    assert!(
        headers.is_empty() || headers.starts_with("HTTP/1.1 408"),
        "{headers}"
    );
    app.stop().await;
}

#[tokio::test]
async fn webhooks_beyond_the_concurrency_limit_are_shed_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.webhook_concurrency = 1;
        c.body_read_timeout_secs = 30;
    })
    .await;
    let addr = app.addr;
    // One upload that holds the only slot: its body never completes.
    let mut holder = TcpStream::connect(addr).unwrap();
    holder
        .write_all(b"POST /webhooks/zendesk HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{")
        .unwrap();
    let shed = common::eventually(Duration::from_secs(10), || async {
        let body = events::created("7402", &[]).to_string();
        let r = app.post_event(&body).await;
        r.status() == 503
            && r.headers().get("retry-after").is_some()
            && status_and_code(r).await.1 == "overloaded"
    })
    .await;
    assert!(
        shed,
        "a second webhook was not shed while the slot was held"
    );
    drop(holder);
    let recovered = common::eventually(Duration::from_secs(10), || async {
        let body = events::created("7403", &[]).to_string();
        app.post_event(&body).await.status() == 202
    })
    .await;
    assert!(recovered, "the slot came back once the holder went away");
    app.stop().await;
}

#[tokio::test]
async fn webhook_ticket_ids_must_be_zendesk_ids() {
    let app = spawn_app_with(|_| {}).await;
    for id in ["../users/1", "12?x=1", "12#frag", "-1", "0x10", "007"] {
        let body = events::created(id, &[]).to_string();
        let r = app.post_event(&body).await;
        assert_eq!(
            status_and_code(r).await,
            (400, "bad_ticket_id".into()),
            "{id}"
        );
    }
    app.stop().await;
}

fn client(zendesk: &FakeZendesk) -> ZendeskClient {
    ZendeskClient::new(&ZendeskOptions {
        base_url: zendesk.url(),
        email: "bot@example.com".into(),
        api_token: Secret::new(common::API_TOKEN),
        timeout: Duration::from_secs(5),
        requests_per_minute: 100_000,
    })
    .unwrap()
}

#[tokio::test]
async fn a_customer_quoting_a_note_reference_does_not_suppress_the_note() {
    let zendesk = FakeZendesk::start().await;
    let client = client(&zendesk);
    let reference = "onbehalf:zendesk:7404:triage";
    zendesk.insert_comment("7404", &format!("<p>ha, {reference}</p>"), true);
    assert_eq!(
        client.find_note(&"7404".into(), reference).await.unwrap(),
        None
    );
    let posted = client
        .add_internal_note(
            &"7404".into(),
            &format!("<p>triage</p><p><small>{reference}</small></p>"),
        )
        .await
        .unwrap();
    assert!(posted.is_some());
    assert!(
        client
            .find_note(&"7404".into(), reference)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn the_client_puts_only_zendesk_ids_into_urls() {
    let zendesk = FakeZendesk::start().await;
    let client = client(&zendesk);
    for id in ["1/../../users/me", "1?x", "1#y", "", "abc"] {
        let ticket = id.into();
        assert!(
            client.add_internal_note(&ticket, "<p>x</p>").await.is_err(),
            "{id}"
        );
        assert!(client.find_note(&ticket, "r").await.is_err(), "{id}");
        assert!(client.list_comments(&ticket).await.is_err(), "{id}");
    }
    assert!(zendesk.requests().is_empty() && zendesk.comment_requests() == 0);
    assert!(zendesk.notes().is_empty());
}

#[tokio::test]
async fn two_hundred_parallel_maximum_size_uploads_leave_the_receiver_answering() {
    let app = spawn_app_with(|_| {}).await;
    let bodies: Vec<String> = (0..200)
        .map(|i| {
            let mut event = events::created(&format!("{}", 7500 + i), &[]);
            let room = onbehalf::ingest::MAX_BODY_BYTES - event.to_string().len() - 16;
            event["detail"]["description"] = "x".repeat(room).into();
            event.to_string()
        })
        .collect();
    let answers = futures::future::join_all(bodies.iter().map(|b| app.post_event(b))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert!(
        statuses.iter().all(|s| [202, 503].contains(s)),
        "only queued or shed: {statuses:?}"
    );
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}
