//! The helpdesk account's API budget is one for every process on a PostgreSQL store: two
//! stores (two processes' pools) on one database share the bucket and the `Retry-After` hold.

use crate::store_support;

use onbehalf::helpdesk::budget::{ApiBudget, SharedBudget};
use onbehalf::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store_support::with_postgres;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_budget_and_one_hold() {
    with_postgres(|db| async move {
        let other = Store::open(&db.options).await.unwrap();
        // 600 a minute: 10 a second, a burst of 50.
        let budgets: [Arc<dyn ApiBudget>; 2] = [
            Arc::new(SharedBudget::new(db.store.clone(), "acme.zendesk.com", 600)),
            Arc::new(SharedBudget::new(other.clone(), "acme.zendesk.com", 600)),
        ];
        let started = take_all(&budgets, 70).await;
        // Each process alone would have had 70 at once (its own burst of 50 and 10/s); together
        // 20 of them had to wait for the shared refill.
        assert!(
            started.elapsed() >= Duration::from_millis(1800),
            "70 requests in {:?}",
            started.elapsed()
        );

        // A Retry-After one process got holds the other too.
        budgets[0].hold(Duration::from_millis(1500)).await;
        let held = Instant::now();
        budgets[1].acquire().await;
        assert!(
            held.elapsed() >= Duration::from_millis(1400),
            "{:?}",
            held.elapsed()
        );
        other.close().await;
    })
    .await
}

/// At a high limit a process leases many tokens per statement, and two processes together still
/// take no more than the shared bucket holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_serve_many_requests_per_statement_within_the_shared_limit() {
    with_postgres(|db| async move {
        let other = Store::open(&db.options).await.unwrap();
        // 60,000 a minute: 1,000 a second, a burst of 5,000, leases of 64.
        let shared = [
            Arc::new(SharedBudget::new(
                db.store.clone(),
                "big.zendesk.com",
                60_000,
            )),
            Arc::new(SharedBudget::new(other.clone(), "big.zendesk.com", 60_000)),
        ];
        let budgets: [Arc<dyn ApiBudget>; 2] = [shared[0].clone(), shared[1].clone()];
        let started = take_all(&budgets, 7_000).await;
        // 7,000 is the burst plus two seconds' refill; a lease (at most 64 per process) may
        // be left unspent, so the wait is at least (7,000 − 5,000 − 2 × 64) / 1,000 s.
        assert!(
            started.elapsed() >= Duration::from_millis(1800),
            "7,000 requests in {:?}",
            started.elapsed()
        );
        let statements = shared[0].statements_sent() + shared[1].statements_sent();
        // One per request would be 7,000; leases of 64 need ~110 plus the waits' retries.
        assert!(
            statements < 1_000,
            "{statements} statements for 7,000 requests"
        );
        other.close().await;
    })
    .await
}

/// `n` requests spread over both processes at once; returns when they started.
async fn take_all(budgets: &[Arc<dyn ApiBudget>; 2], n: usize) -> Instant {
    let started = Instant::now();
    let takers: Vec<_> = (0..n)
        .map(|i| {
            let budget = budgets[i % 2].clone();
            tokio::spawn(async move { budget.acquire().await })
        })
        .collect();
    for taker in takers {
        taker.await.unwrap();
    }
    started
}
