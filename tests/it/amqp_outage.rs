//! The broker goes away while webhooks arrive: the receiver answers 503 with Retry-After (never
//! 202), `/readyz` says why, and both roles recover by themselves when it is back. Nothing
//! accepted is lost. The cluster runs on a private RabbitMQ node whose application the test
//! stops (the machine's broker is never touched), so it is a heavy outage test: it runs with
//! `TEST_DISRUPTIVE=1` (`.ci/run` sets it).

use crate::common;
use crate::instances;

use common::cluster::{Cluster, Services};
use common::events;
use instances::PrivateRabbit;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Ticket → (HTTP status, Retry-After) of the webhook that created it.
type Answers = Arc<Mutex<HashMap<String, (u16, Option<String>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_answers_503_then_recovers_and_loses_nothing() {
    let test = "broker_outage_answers_503_then_recovers_and_loses_nothing";
    if !instances::heavy_outage_tests_enabled(test, "stops a private RabbitMQ node's application") {
        return;
    }
    let broker = PrivateRabbit::launch();
    let cluster = Cluster::on(Services {
        amqp_url: broker.url(),
        ..Services::default()
    })
    .await;
    let receiver = cluster.start("receive").await;
    let _worker = cluster.start("work").await;

    let statuses: Answers = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let sender = {
        let (statuses, stop, url) = (
            statuses.clone(),
            stop.clone(),
            receiver.url("/webhooks/zendesk"),
        );
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut i = 0;
            while !stop.is_cancelled() {
                let ticket = format!("36{i:04}");
                i += 1;
                let body = events::created(&ticket, &[]).to_string();
                let answer = common::post_signed(&http, &url, &body).await;
                let entry = match answer {
                    Ok(r) => {
                        let retry_after = r
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        (r.status().as_u16(), retry_after)
                    }
                    Err(_) => (0, None),
                };
                statuses.lock().unwrap().insert(ticket, entry);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let count = |code: u16| {
        statuses
            .lock()
            .unwrap()
            .values()
            .filter(|(s, _)| *s == code)
            .count()
    };
    assert!(common::eventually(Duration::from_secs(20), || async { count(202) >= 20 }).await);

    // Blocks this worker only: the sender goes on on the other.
    tokio::task::block_in_place(|| broker.stop_app());
    let http = reqwest::Client::new();
    let saw_503 = common::eventually(Duration::from_secs(20), || async { count(503) >= 5 }).await;
    let readyz = http.get(receiver.url("/readyz")).send().await.unwrap();
    let ready_status = readyz.status().as_u16();
    let ready_body: serde_json::Value = readyz.json().await.unwrap();
    let started = Instant::now();
    tokio::task::block_in_place(|| broker.start_app());
    println!("start_app took {:?}", started.elapsed());
    let accepted_before_recovery = count(202);
    let recovered = common::eventually(Duration::from_secs(60), || async {
        count(202) >= accepted_before_recovery + 20
    })
    .await;
    stop.cancel();
    sender.await.unwrap();

    let answers = statuses.lock().unwrap().clone();
    let accepted: BTreeSet<String> = answers
        .iter()
        .filter(|(_, (s, _))| *s == 202)
        .map(|(t, _)| t.clone())
        .collect();
    let unavailable: Vec<_> = answers.values().filter(|(s, _)| *s == 503).collect();
    cluster
        .zendesk
        .wait_for_notes(accepted.len(), Duration::from_secs(60))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let noted = cluster.zendesk.notes_per_ticket();
    let lost: Vec<_> = accepted
        .iter()
        .filter(|t| !noted.contains_key(*t))
        .collect();
    let twice = noted.values().filter(|c| **c > 1).count();
    let other = answers
        .values()
        .filter(|(s, _)| *s != 202 && *s != 503)
        .count();
    println!(
        "broker outage: {} sent, {} accepted (202), {} answered 503, {} other, {} noted, {} lost, {} noted twice",
        answers.len(),
        accepted.len(),
        unavailable.len(),
        other,
        noted.len(),
        lost.len(),
        twice
    );
    assert!(
        saw_503,
        "the receiver answered 503 while the broker was down"
    );
    assert!(
        unavailable
            .iter()
            .all(|(_, retry)| retry.as_deref() == Some("5")),
        "every 503 carries Retry-After"
    );
    assert_eq!(
        ready_status, 503,
        "/readyz reports the outage: {ready_body}"
    );
    assert_ne!(ready_body["queue"], "ok");
    assert!(
        recovered,
        "accepting again after start_app without a restart"
    );
    assert!(lost.is_empty(), "accepted but lost: {lost:?}");
    assert_eq!(twice, 0);
    cluster.cleanup().await;
}
