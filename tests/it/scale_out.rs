//! Receivers and workers as separate processes on RabbitMQ and PostgreSQL.

use crate::common;

use common::cluster::Cluster;
use common::events::{self, CommentSpec};
use std::collections::HashMap;
use std::time::{Duration, Instant};

async fn post(http: &reqwest::Client, url: &str, body: &str) -> u16 {
    match common::post_signed(http, url, body).await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// Sends the bodies with `concurrency` senders; returns the status of each.
async fn post_all(url: String, bodies: Vec<String>, concurrency: usize) -> Vec<u16> {
    use futures::StreamExt;
    let http = reqwest::Client::new();
    futures::stream::iter(bodies)
        .map(|b| {
            let (http, url) = (http.clone(), url.clone());
            async move { post(&http, &url, &b).await }
        })
        .buffered(concurrency)
        .collect()
        .await
}

fn notes_by_reference(cluster: &Cluster) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for note in cluster.zendesk.notes() {
        let reference = note
            .html_body
            .rsplit("<small>")
            .next()
            .unwrap_or_default()
            .to_string();
        *seen.entry(reference).or_insert(0) += 1;
    }
    seen
}

async fn wait_for(cluster: &Cluster, notes: usize, timeout: Duration) -> usize {
    cluster.zendesk.wait_for_notes(notes, timeout).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_and_two_workers_note_every_event_once() {
    let cluster = Cluster::new().await;
    let receiver = cluster.start("receive").await;
    let _w1 = cluster.start("work").await;
    let _w2 = cluster.start("work").await;
    let n = 150;
    let bodies = (0..n)
        .map(|i| events::created(&format!("31{i:03}"), &[]).to_string())
        .collect();
    let statuses = post_all(receiver.url("/webhooks/zendesk"), bodies, 16).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    let got = wait_for(&cluster, n, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let by_ref = notes_by_reference(&cluster);
    println!(
        "2 workers: {n} events, {got} notes, {} distinct",
        by_ref.len()
    );
    assert_eq!(cluster.zendesk.notes().len(), n);
    assert!(by_ref.values().all(|c| *c == 1));
    cluster.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_loses_nothing_and_posts_nothing_twice() {
    let cluster = Cluster::new().await;
    cluster.zendesk.set_delay(Duration::from_millis(40));
    let receiver = cluster.start("receive").await;
    let mut victim = cluster.start("work").await;
    let n = 200;
    let bodies = (0..n)
        .map(|i| events::created(&format!("32{i:03}"), &[]).to_string())
        .collect();
    let statuses = post_all(receiver.url("/webhooks/zendesk"), bodies, 16).await;
    assert!(statuses.iter().all(|s| *s == 202));
    // Let the victim get going, then kill it with work in hand.
    assert!(
        common::eventually(Duration::from_secs(30), || async {
            cluster.zendesk.notes().len() >= 20
        })
        .await
    );
    victim.kill9();
    let before = cluster.zendesk.notes().len();
    let _survivor = cluster.start("work").await;
    let started = Instant::now();
    let got = wait_for(&cluster, n, Duration::from_secs(90)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let by_ref = notes_by_reference(&cluster);
    let doubled = by_ref.values().filter(|c| **c > 1).count();
    println!(
        "worker SIGKILL: {n} events, {before} notes before the kill, {got} notes after recovery in {:?}, {doubled} duplicates",
        started.elapsed()
    );
    assert_eq!(by_ref.len(), n, "every event noted");
    assert_eq!(doubled, 0, "no note twice");
    cluster.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_dead_lettered_with_its_reason_and_can_be_requeued() {
    let mut cluster = Cluster::new().await;
    cluster
        .extra_env
        .push(("ONBEHALF_MAX_ATTEMPTS".into(), "3".into()));
    // Attempts alone decide here (the default budget retries for hours).
    cluster
        .extra_env
        .push(("ONBEHALF_RETRY_BUDGET_SECS".into(), "0".into()));
    let receiver = cluster.start("receive").await;
    let _worker = cluster.start("work").await;
    cluster.zendesk.break_ticket("33001", 500);
    let http = reqwest::Client::new();
    for t in ["33001", "33002"] {
        assert_eq!(
            post(
                &http,
                &receiver.url("/webhooks/zendesk"),
                &events::created(t, &[]).to_string()
            )
            .await,
            202
        );
    }
    let listed = common::eventually(Duration::from_secs(60), || async {
        cluster.run(&["dead-letters", "list"]).contains("33001")
    })
    .await;
    assert!(listed, "dead-lettered after the attempts");
    let dead: serde_json::Value = serde_json::from_str(
        cluster
            .run(&["dead-letters", "list", "--json"])
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    println!("dead letter: {dead}");
    assert_eq!(dead["ticket_id"], "33001");
    assert_eq!(dead["attempts"], 3);
    assert!(dead["reason"].as_str().unwrap().contains("500"), "{dead}");
    assert_eq!(
        cluster.zendesk.notes_for("33002").len(),
        1,
        "other tickets unaffected"
    );

    cluster.zendesk.repair_ticket("33001");
    assert!(
        cluster
            .run(&["dead-letters", "requeue"])
            .contains("requeued 1")
    );
    assert!(
        common::eventually(Duration::from_secs(30), || async {
            cluster.zendesk.notes_for("33001").len() == 1
        })
        .await
    );
    assert_eq!(
        cluster.run(&["dead-letters", "list"]).trim(),
        "0 dead letters"
    );
    cluster.cleanup().await;
}

fn ticket_flow(ticket: &str, question_twice: bool) -> Vec<String> {
    let created = events::created(ticket, &["account_ownership_verified"]);
    let verified = ["account_ownership_verified"];
    let question = events::comment(CommentSpec {
        ticket,
        comment_id: &format!("{ticket}1"),
        author: events::AGENT,
        is_staff: true,
        public: true,
        body: events::PERMISSION_QUESTION,
        t: 60,
        tags: &verified,
    });
    let reply = events::comment(CommentSpec {
        ticket,
        comment_id: &format!("{ticket}2"),
        author: events::REQUESTER,
        is_staff: false,
        public: true,
        body: "Yes, please go ahead.",
        t: 120,
        tags: &verified,
    });
    let mut flow = vec![created.to_string(), question.to_string()];
    if question_twice {
        flow.push(question.to_string());
    }
    flow.push(reply.to_string());
    flow
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_one_ticket_in_a_burst_end_in_order() {
    let cluster = Cluster::new().await;
    let receiver = cluster.start("receive").await;
    let _w1 = cluster.start("work").await;
    let _w2 = cluster.start("work").await;
    let http = reqwest::Client::new();
    for body in ticket_flow("34001", false) {
        assert_eq!(
            post(&http, &receiver.url("/webhooks/zendesk"), &body).await,
            202
        );
    }
    let ticket_url = receiver.url("/api/tickets/zendesk/34001");
    let granted = common::eventually(Duration::from_secs(30), || async {
        let r = http
            .get(&ticket_url)
            .bearer_auth(common::ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        r.status() == 200
            && r.json::<serde_json::Value>().await.unwrap()["confirmations"]
                .as_array()
                .is_some_and(|c| c.len() == 1)
    })
    .await;
    assert!(
        granted,
        "the reply was judged against the question it answers"
    );
    let ticket: serde_json::Value = http
        .get(&ticket_url)
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ticket["confirmations"][0]["verdict"], "granted");
    assert_eq!(ticket["stage"], "permission_granted");
    cluster.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_tickets_three_workers_one_chain_no_note_twice() {
    let cluster = Cluster::new().await;
    let receiver = cluster.start("receive").await;
    let workers = [
        cluster.start("work").await,
        cluster.start("work").await,
        cluster.start("work").await,
    ];
    // Every ticket's flow in order per ticket, all tickets at once.
    let tickets: Vec<String> = (0..60).map(|i| format!("35{i:03}")).collect();
    let mut tasks = vec![];
    for t in &tickets {
        let (url, flow) = (receiver.url("/webhooks/zendesk"), ticket_flow(t, true));
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut statuses = vec![];
            for body in flow {
                statuses.push(post(&http, &url, &body).await);
            }
            statuses
        }));
    }
    for t in tasks {
        let statuses = t.await.unwrap();
        assert!(
            statuses.iter().all(|s| *s == 202 || *s == 200),
            "{statuses:?}"
        );
    }
    let http = reqwest::Client::new();
    let trail_url = receiver.url("/api/confirmations");
    let complete = common::eventually(Duration::from_secs(90), || async {
        let text = http
            .get(&trail_url)
            .bearer_auth(common::ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Records, and the export's trailer line.
        text.lines().count() > 60
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = http
        .get(&trail_url)
        .bearer_auth(common::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let trailer = records.pop().unwrap();
    assert_eq!(trailer["count"], records.len(), "{trailer}");
    let by_ref = notes_by_reference(&cluster);
    let doubled = by_ref.values().filter(|c| **c > 1).count();
    println!(
        "60 tickets, 3 workers: {} records, {} notes, {doubled} posted twice",
        records.len(),
        cluster.zendesk.notes().len()
    );
    assert!(complete, "all 60 confirmations recorded");
    assert_eq!(records.len(), 60);
    assert!(records.iter().all(|r| r["verdict"] == "granted"));
    let seqs: Vec<i64> = records.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=60).collect::<Vec<_>>(),
        "one chain, no fork, no gap"
    );
    assert!(cluster.run(&["audit", "verify"]).contains("intact: 60"));
    assert_eq!(doubled, 0, "no note posted twice");
    drop(workers);
    cluster.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_receiver_and_worker_cleanly_and_nothing_is_lost() {
    let cluster = Cluster::new().await;
    cluster.zendesk.set_delay(Duration::from_millis(20));
    let mut receiver = cluster.start("receive").await;
    let mut worker = cluster.start("work").await;
    let n = 120;
    let bodies = (0..n)
        .map(|i| events::created(&format!("37{i:03}"), &[]).to_string())
        .collect();
    let statuses = post_all(receiver.url("/webhooks/zendesk"), bodies, 16).await;
    assert!(statuses.iter().all(|s| *s == 202));
    // Stop the worker while it has work in hand, and the receiver too.
    assert!(
        common::eventually(Duration::from_secs(30), || async {
            !cluster.zendesk.notes().is_empty()
        })
        .await
    );
    let started = Instant::now();
    let worker_exit = worker.terminate(Duration::from_secs(12));
    let receiver_exit = receiver.terminate(Duration::from_secs(12));
    let took = started.elapsed();
    let noted_at_stop = cluster.zendesk.notes().len();
    assert_eq!(
        worker_exit.map(|s| s.success()),
        Some(true),
        "work exits 0 on SIGTERM"
    );
    assert_eq!(
        receiver_exit.map(|s| s.success()),
        Some(true),
        "receive exits 0 on SIGTERM"
    );
    let _again = cluster.start("work").await;
    let got = wait_for(&cluster, n, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let by_ref = notes_by_reference(&cluster);
    println!(
        "SIGTERM on work/receive: stopped in {took:?}, {noted_at_stop} notes at the stop, {got} after restart, {} distinct",
        by_ref.len()
    );
    assert_eq!(by_ref.len(), n);
    assert!(by_ref.values().all(|c| *c == 1), "no note twice");
    cluster.cleanup().await;
}
