//! Group commit: the events that arrive while one transaction is in flight are applied together
//! in the next one.
//!
//! Each event costs a handful of statements and a commit when applied alone; under load, one
//! transaction of N events costs the same handful of (multi-row) statements and one commit. The
//! semantics are those of `apply_event` for every event: dedupe, ticket lock, `decide` on the
//! ticket's latest state, notes and confirmations committed with it. A batch that fails for any
//! reason other than a lost race is re-run one event at a time, so one bad event cannot hold up
//! the others or make them fail with it.

use std::sync::Arc;
use std::time::Duration;

use super::batcher::Batcher;
use super::notes::NoteStatus;
use super::{Applied, Store, StoreError, is_conflict};
use crate::workflow::{CommentId, Decision, TicketEvent, TicketState};

/// How an event's decision is made from the ticket's state at the time it is applied.
pub type Decide = Box<dyn Fn(Option<&TicketState>) -> Decision + Send + Sync>;

/// One event for the group committer.
pub struct EventToApply {
    pub source: String,
    pub event: Arc<TicketEvent>,
    /// Status of the notes it records.
    pub note_status: NoteStatus,
    /// Claim the new notes for this long (the caller is about to post them).
    pub hold: Option<Duration>,
    pub decide: Decide,
}

impl EventToApply {
    fn applying(&self) -> Applying<'_> {
        Applying {
            source: &self.source,
            event: &self.event,
            note_status: self.note_status,
            hold: self.hold,
            decide: &self.decide,
        }
    }
}

/// One event as a transaction applies it: the group committer's and `apply_event`'s alike.
pub(super) struct Applying<'a> {
    pub(super) source: &'a str,
    pub(super) event: &'a TicketEvent,
    pub(super) note_status: NoteStatus,
    pub(super) hold: Option<Duration>,
    pub(super) decide: &'a (dyn Fn(Option<&TicketState>) -> Decision + Send + Sync),
}

/// Applies events in shared transactions; cheap to clone.
#[derive(Clone)]
pub struct GroupCommitter {
    batcher: Batcher<EventToApply, Result<Applied, StoreError>>,
}

/// Lost races in a row before the batch is re-run one event at a time.
const BATCH_RACES: u32 = 3;

impl GroupCommitter {
    /// Starts `committers` tasks, each applying up to `max_batch` events per transaction.
    /// More than one lets a batch be decided while the previous one waits on the database.
    pub fn start(store: Store, max_batch: usize, committers: usize) -> GroupCommitter {
        let batcher = Batcher::start(max_batch, committers, move |items: Vec<EventToApply>| {
            let store = store.clone();
            async move { commit(&store, items).await }
        });
        GroupCommitter { batcher }
    }

    /// Applies one event (in whichever batch it lands).
    pub async fn apply(&self, item: EventToApply) -> Result<Applied, StoreError> {
        self.batcher
            .call(item)
            .await
            .unwrap_or_else(|| Err(StoreError::NoAnswer))
    }
}

async fn commit(store: &Store, items: Vec<EventToApply>) -> Vec<Result<Applied, StoreError>> {
    let batch: Vec<Applying> = items.iter().map(EventToApply::applying).collect();
    let mut races = 0;
    loop {
        match store.apply_batch(&batch).await {
            Ok(results) => {
                metrics::histogram!("onbehalf_store_batch_events").record(items.len() as f64);
                return results.into_iter().map(Ok).collect();
            }
            Err(StoreError::Unavailable(e)) if is_conflict(&e) && races < BATCH_RACES => {
                races += 1;
                let jitter = rand::random_range(1..=5 * u64::from(races));
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, events = items.len(), "batch failed; applying its events one by one");
                let mut results = Vec::with_capacity(items.len());
                for item in &batch {
                    results.push(store.apply_one(item).await);
                }
                return results;
            }
        }
    }
}

/// Records posted notes in shared statements; cheap to clone.
#[derive(Clone)]
pub struct NoteSettler {
    batcher: Batcher<(String, Option<CommentId>), Result<(), StoreError>>,
}

impl NoteSettler {
    pub fn start(store: Store, max_batch: usize) -> NoteSettler {
        let batcher = Batcher::start(
            max_batch,
            1,
            move |posted: Vec<(String, Option<CommentId>)>| {
                let store = store.clone();
                async move {
                    let count = posted.len();
                    match store.settle_posted(&posted).await {
                        Ok(()) => (0..count).map(|_| Ok(())).collect(),
                        Err(e) => {
                            let shared = Arc::new(e);
                            (0..count)
                                .map(|_| Err(StoreError::Batch(shared.clone())))
                                .collect()
                        }
                    }
                }
            },
        );
        NoteSettler { batcher }
    }

    /// Marks a claimed note as posted, with its id on the helpdesk when it gave one.
    pub async fn posted(
        &self,
        reference: &str,
        remote_id: Option<&CommentId>,
    ) -> Result<(), StoreError> {
        self.batcher
            .call((reference.to_string(), remote_id.cloned()))
            .await
            .unwrap_or_else(|| Err(StoreError::NoAnswer))
    }
}
