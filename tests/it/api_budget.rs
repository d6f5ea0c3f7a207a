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
        let started = Instant::now();
        let takers: Vec<_> = (0..70)
            .map(|i| {
                let budget = budgets[i % 2].clone();
                tokio::spawn(async move { budget.acquire().await })
            })
            .collect();
        for taker in takers {
            taker.await.unwrap();
        }
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
