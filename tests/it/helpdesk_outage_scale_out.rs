//! The scale-out roles (a receiver, two workers on RabbitMQ and PostgreSQL) through a helpdesk
//! outage: 503s, then a revoked token (401), then recovery. Retries are set to give up within a
//! second; pausing rides it out: no dead letter, every note once. A worker is unready while the
//! helpdesk is down, the receiver stays ready.

use crate::common;

use common::cluster::Cluster;
use common::events;
use common::fake_zendesk::Canned;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_pause_through_a_helpdesk_outage_and_lose_nothing() {
    let mut cluster = Cluster::new().await;
    for (key, value) in [
        ("ONBEHALF_MAX_ATTEMPTS", "2"),
        ("ONBEHALF_RETRY_BUDGET_SECS", "0"),
        ("ONBEHALF_PAUSE_FIRST_MS", "50"),
        ("ONBEHALF_PAUSE_MAX_MS", "300"),
    ] {
        cluster.extra_env.push((key.into(), value.into()));
    }
    let receiver = cluster.start("receive").await;
    let worker = cluster.start("work").await;
    let _other = cluster.start("work").await;
    let http = reqwest::Client::new();
    let send = |range: std::ops::Range<u32>| {
        let (http, url) = (http.clone(), receiver.url("/webhooks/zendesk"));
        async move {
            for t in range {
                let body = events::created(&t.to_string(), &[]).to_string();
                let r = common::post_signed(&http, &url, &body).await.unwrap();
                assert_eq!(r.status(), 202);
            }
        }
    };
    send(74_000..74_010).await;
    assert!(common::eventually(WAIT, || async { cluster.zendesk.notes().len() >= 3 }).await);

    cluster.zendesk.start_outage(Canned {
        status: 503,
        retry_after: None,
    });
    send(74_010..74_025).await;
    assert!(common::eventually(WAIT, || async { cluster.zendesk.outage_answers() >= 30 }).await);
    let ready = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        ready(receiver.url("/readyz")).await,
        200,
        "receiver stays ready"
    );
    assert!(
        common::eventually(WAIT, || async { ready(worker.url("/readyz")).await == 503 }).await,
        "a worker names the helpdesk down"
    );

    cluster.zendesk.start_outage(Canned {
        status: 401,
        retry_after: None,
    });
    let seen = cluster.zendesk.outage_answers();
    send(74_025..74_030).await;
    assert!(
        common::eventually(WAIT, || async {
            cluster.zendesk.outage_answers() >= seen + 30
        })
        .await
    );

    cluster.zendesk.end_outage();
    assert_eq!(cluster.zendesk.wait_for_notes(30, WAIT).await.len(), 30);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_ticket = cluster.zendesk.notes_per_ticket();
    assert_eq!(per_ticket.len(), 30);
    assert!(per_ticket.values().all(|n| *n == 1), "{per_ticket:?}");
    assert_eq!(
        cluster.run(&["dead-letters", "list"]).trim(),
        "0 dead letters",
        "no dead letter"
    );
    assert!(common::eventually(WAIT, || async { ready(worker.url("/readyz")).await == 200 }).await);
    cluster.cleanup().await;
}
