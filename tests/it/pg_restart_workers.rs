//! PostgreSQL restarted while workers are busy: they pause and recover by themselves, and every
//! accepted event is noted exactly once and none dead-lettered (the event stays queued until its
//! effects commit; an outage spends none of its attempts).
//! The cluster's database lives on a private PostgreSQL server that the test restarts (the
//! machine's is never touched), so it is a heavy outage test: it runs with `TEST_DISRUPTIVE=1`
//! (`.ci/run` sets it).

use crate::common;
use crate::instances;

use common::cluster::{Cluster, Services};
use common::events;
use instances::PrivatePostgres;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_ride_out_a_postgresql_restart() {
    let test = "workers_ride_out_a_postgresql_restart";
    if !instances::heavy_outage_tests_enabled(test, "restarts a private PostgreSQL") {
        return;
    }
    let pg = PrivatePostgres::launch();
    let mut cluster = Cluster::on(Services {
        postgres: pg.server_url(),
        ..Services::default()
    })
    .await;
    // Retries that give up within a second: only pausing while the database is away (no
    // attempt spent) gets every event through.
    for (key, value) in [
        ("ONBEHALF_MAX_ATTEMPTS", "2"),
        ("ONBEHALF_RETRY_BUDGET_SECS", "0"),
        ("ONBEHALF_PAUSE_FIRST_MS", "100"),
        ("ONBEHALF_PAUSE_MAX_MS", "500"),
    ] {
        cluster.extra_env.push((key.into(), value.into()));
    }
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
    // A restart with the server away for 2 s, so workers meet refused connections and not only
    // the fast shutdown. Blocks this worker only: the sender goes on on the other.
    let restart = Instant::now();
    tokio::task::block_in_place(|| {
        pg.stop();
        std::thread::sleep(Duration::from_secs(2));
        pg.start();
    });
    println!("PostgreSQL restarted in {:?}", restart.elapsed());
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
    assert_eq!(
        cluster.run(&["dead-letters", "list"]).trim(),
        "0 dead letters",
        "no dead letter"
    );
    cluster.cleanup().await;
}
