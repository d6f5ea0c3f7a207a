//! PostgreSQL restarted while workers are busy: they retry and recover by themselves, and every
//! accepted event is noted exactly once (the event stays queued until its effects commit).
//! Restarts the machine's PostgreSQL, so it runs alone in its binary, and only with
//! `TEST_DISRUPTIVE=1` or in CI (`CI=true`); `scripts/test` sets it.

mod common;

use common::cluster::Cluster;
use common::events;
use std::time::{Duration, Instant};

fn allowed() -> bool {
    std::env::var("TEST_DISRUPTIVE").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_ride_out_a_postgresql_restart() {
    if !allowed() {
        eprintln!(
            "skipped: restarts the machine's PostgreSQL; set TEST_DISRUPTIVE=1 (CI=true runs it)"
        );
        return;
    }
    let cluster = Cluster::new().await;
    cluster.zendesk.set_delay(Duration::from_millis(10));
    let receiver = cluster.start("receive").await;
    let _worker = cluster.start("work").await;
    let http = reqwest::Client::new();
    let url = receiver.url("/webhooks/zendesk");
    let n = 300;
    let sender = {
        let (http, url) = (http.clone(), url.clone());
        tokio::spawn(async move {
            let mut accepted = vec![];
            for i in 0..n {
                let ticket = format!("38{i:03}");
                let body = events::created(&ticket, &[]).to_string();
                if let Ok(r) = common::post_signed(&http, &url, &body).await
                    && r.status() == 202
                {
                    accepted.push(ticket);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            accepted
        })
    };
    assert!(
        common::eventually(Duration::from_secs(30), || async {
            cluster.zendesk.notes().len() >= 30
        })
        .await
    );
    let restarted = std::process::Command::new("sh")
        .args([
            "-c",
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main restart",
        ])
        .status()
        .expect("pg_ctlcluster runs");
    assert!(restarted.success(), "PostgreSQL restart failed");
    let accepted = sender.await.unwrap();
    let started = Instant::now();
    cluster
        .zendesk
        .wait_for_notes(accepted.len(), Duration::from_secs(90))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let noted = cluster.zendesk.notes_per_ticket();
    let lost: Vec<_> = accepted
        .iter()
        .filter(|t| !noted.contains_key(*t))
        .collect();
    let twice = noted.values().filter(|c| **c > 1).count();
    println!(
        "PostgreSQL restart under load: {n} sent, {} accepted, {} noted ({:?} after the last send), {} lost, {twice} twice",
        accepted.len(),
        noted.len(),
        started.elapsed(),
        lost.len()
    );
    assert!(lost.is_empty(), "accepted but never noted: {lost:?}");
    assert_eq!(twice, 0);
    cluster.cleanup().await;
}
