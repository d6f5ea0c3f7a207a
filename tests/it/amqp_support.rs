//! What the AMQP queue tests share: the broker's URL and a guard that removes a test's
//! topology when the test ends, passing or panicking.

use onbehalf::queue::amqp::AmqpQueue;
use onbehalf::queue::{Queue, RetryPolicy};

pub fn url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Deletes the test's topology when dropped, panicking test or not.
pub struct Cleanup {
    pub prefix: String,
    pub policy: RetryPolicy,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (prefix, policy) = (self.prefix.clone(), self.policy);
        // Drop may run inside the test's runtime, which cannot be blocked on: use a thread.
        let outcome = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("a runtime for the cleanup");
            rt.block_on(async {
                let q = AmqpQueue::connect(&url(), &prefix, policy, 1).await?;
                let deleted = q.delete_topology().await;
                q.close().await;
                deleted
            })
        })
        .join();
        if !matches!(outcome, Ok(Ok(()))) {
            eprintln!("WARNING: leftover topology {}: {outcome:?}", self.prefix);
        }
    }
}
