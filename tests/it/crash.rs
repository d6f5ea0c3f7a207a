//! Crash safety of the embedded deployment: `kill -9` and SIGTERM at any moment lose nothing
//! that was accepted, and no note is posted twice.

use crate::common;

use common::process::spawn_process;
use common::{FakeZendesk, SECRET, events};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

fn env(data: &TempDir, zendesk: &FakeZendesk) -> Vec<(String, String)> {
    vec![
        (
            "ONBEHALF_DATA_DIR".into(),
            data.path().display().to_string(),
        ),
        (
            "ONBEHALF_DATABASE_URL".into(),
            format!("sqlite://{}/onbehalf.db", data.path().display()),
        ),
        ("ONBEHALF_ZENDESK_SIGNING_SECRETS".into(), SECRET.into()),
        ("ONBEHALF_ZENDESK_URL".into(), zendesk.url()),
        ("ONBEHALF_ZENDESK_EMAIL".into(), "bot@example.com".into()),
        (
            "ONBEHALF_ZENDESK_API_TOKEN".into(),
            common::API_TOKEN.into(),
        ),
        ("ONBEHALF_ALLOW_HTTP".into(), "true".into()),
        (
            "ONBEHALF_ZENDESK_REQUESTS_PER_MINUTE".into(),
            "1000000".into(),
        ),
        ("ONBEHALF_RETRY_BASE_MS".into(), "100".into()),
        ("ONBEHALF_RETRY_MAX_MS".into(), "1000".into()),
    ]
}

/// Sends `n` ticket.created events (tickets `prefix0`..) with `concurrency` senders; returns
/// the tickets whose event was answered 202.
async fn send_events(
    url: String,
    prefix: String,
    n: usize,
    concurrency: usize,
) -> BTreeSet<String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = vec![];
    for _ in 0..concurrency {
        let (http, next, url, prefix) =
            (http.clone(), next.clone(), url.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let mut accepted = vec![];
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= n {
                    return accepted;
                }
                let ticket = format!("{prefix}{i}");
                let body = events::created(&ticket, &[]).to_string();
                let r = common::post_signed(&http, &url, &body).await;
                if matches!(r, Ok(ref r) if r.status() == 202) {
                    accepted.push(ticket);
                }
            }
        }));
    }
    let mut accepted = BTreeSet::new();
    for t in tasks {
        accepted.extend(t.await.unwrap());
    }
    accepted
}

async fn wait_until_noted(zendesk: &FakeZendesk, tickets: &BTreeSet<String>, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        let counts = zendesk.notes_per_ticket();
        if tickets.iter().all(|t| counts.contains_key(t)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_any_moment_loses_no_accepted_event_and_posts_no_note_twice() {
    let zendesk = FakeZendesk::start().await;
    // A slow helpdesk widens the window between posting a note and recording it.
    zendesk.set_delay(Duration::from_millis(30));
    let data = TempDir::new().unwrap();
    let mut accepted = BTreeSet::new();
    let rounds = 3;
    for round in 0..rounds {
        let mut app = spawn_process("serve", &env(&data, &zendesk)).await;
        let sender = tokio::spawn(send_events(
            app.url("/webhooks/zendesk"),
            format!("9{round}0"),
            400,
            16,
        ));
        tokio::time::sleep(Duration::from_millis(400 + 150 * round as u64)).await;
        app.kill9();
        accepted.extend(sender.await.unwrap());
    }
    let mut app = spawn_process("serve", &env(&data, &zendesk)).await;
    wait_until_noted(&zendesk, &accepted, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = zendesk.notes_per_ticket();
    let missing: Vec<_> = accepted
        .iter()
        .filter(|t| !counts.contains_key(*t))
        .collect();
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    let unaccepted_noted = counts.keys().filter(|t| !accepted.contains(*t)).count();
    println!(
        "kill -9 x{rounds}: {} events accepted (202), {} tickets noted, {} missing, {} noted twice, {} noted without a 202 (accepted, answer lost in the kill)",
        accepted.len(),
        counts.len(),
        missing.len(),
        doubled.len(),
        unaccepted_noted
    );
    assert!(
        accepted.len() > 50,
        "the test must accept a fair number of events before the kills"
    );
    assert!(missing.is_empty(), "accepted but never noted: {missing:?}");
    assert!(doubled.is_empty(), "noted twice: {doubled:?}");
    assert_eq!(
        app.terminate(Duration::from_secs(10)).map(|s| s.success()),
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_zero_and_restart_finishes_the_rest() {
    let zendesk = FakeZendesk::start().await;
    let data = TempDir::new().unwrap();
    let mut app = spawn_process("serve", &env(&data, &zendesk)).await;
    let accepted = send_events(app.url("/webhooks/zendesk"), "8800".into(), 200, 8).await;
    let started = std::time::Instant::now();
    let status = app.terminate(Duration::from_secs(12));
    let took = started.elapsed();
    assert_eq!(status.map(|s| s.success()), Some(true), "exit 0 on SIGTERM");
    assert!(
        took < Duration::from_secs(11),
        "stopped within the drain timeout: {took:?}"
    );
    let mut again = spawn_process("serve", &env(&data, &zendesk)).await;
    wait_until_noted(&zendesk, &accepted, Duration::from_secs(60)).await;
    let counts = zendesk.notes_per_ticket();
    println!(
        "SIGTERM: {} accepted, stopped in {took:?}, {} noted",
        accepted.len(),
        counts.len()
    );
    assert_eq!(accepted.len(), 200);
    assert!(
        accepted.iter().all(|t| counts.get(t) == Some(&1)),
        "every event noted exactly once"
    );
    again.terminate(Duration::from_secs(10));
}
