//! A generic batcher: requests queue up while a batch is in flight and are served together in
//! the next one. The group committer and the note settler are its two users.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Hands requests to a few tasks that serve them in batches: whatever queued up while the
/// previous batch ran goes into the next.
pub(super) struct Batcher<T, R> {
    jobs: mpsc::Sender<(T, oneshot::Sender<R>)>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Batcher {
            jobs: self.jobs.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// `run` answers a batch with one result per request, in order. The tasks stop when the
    /// last handle is dropped.
    pub(super) fn start<F, Fut>(max_batch: usize, tasks: usize, run: F) -> Batcher<T, R>
    where
        F: Fn(Vec<T>) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Vec<R>> + Send,
    {
        let max_batch = max_batch.max(1);
        let (jobs, rx) = mpsc::channel::<(T, oneshot::Sender<R>)>(max_batch * 4);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..tasks.max(1) {
            let (rx, run) = (rx.clone(), run.clone());
            tokio::spawn(async move {
                while let Some(batch) = next_batch(&rx, max_batch).await {
                    let (requests, replies): (Vec<T>, Vec<_>) = batch.into_iter().unzip();
                    // A panic (a bug in a decision) must not stop the task for every later
                    // event: this batch's callers see an error and their events are retried.
                    match AssertUnwindSafe(run(requests)).catch_unwind().await {
                        Ok(results) => {
                            for (reply, result) in replies.into_iter().zip(results) {
                                let _ = reply.send(result);
                            }
                        }
                        Err(_) => {
                            tracing::error!("a store batch panicked; its events will be retried")
                        }
                    }
                }
            });
        }
        Batcher { jobs }
    }

    /// `None` when the tasks are gone (the runtime is shutting down).
    pub(super) async fn call(&self, request: T) -> Option<R> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send((request, reply)).await.ok()?;
        answer.await.ok()
    }
}

/// Waits for one request, then takes whatever else is already waiting.
async fn next_batch<J>(rx: &Mutex<mpsc::Receiver<J>>, max_batch: usize) -> Option<Vec<J>> {
    let mut rx = rx.lock().await;
    let first = rx.recv().await?;
    let mut jobs = vec![first];
    while jobs.len() < max_batch {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
    Some(jobs)
}
