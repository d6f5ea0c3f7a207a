//! Applying one event to a ticket, atomically, and reading a ticket back.

use serde::Serialize;
use sqlx::Row;

use super::batch::Applying;
use super::notes::{NoteRecord, NoteStatus};
use super::storable::stored;
use super::{Backend, ConfirmationRecord, Store, StoreError, is_conflict};
use crate::workflow::{Decision, TicketEvent, TicketId, TicketState};

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The event's effects were committed earlier.
    Duplicate,
    Committed {
        /// Steps of the notes recorded (a step already on record is not repeated).
        notes: Vec<String>,
        /// Verdicts of the confirmations appended to the trail.
        confirmations: Vec<crate::workflow::ConsentVerdict>,
        /// The new notes, already claimed by the caller (`apply_event_claiming` only).
        claimed: Vec<NoteRecord>,
        /// Notes of the ticket recorded by earlier events and still pending (an earlier post
        /// failed, or another worker is posting them).
        waiting: usize,
    },
}

/// A ticket as `/api/tickets/{helpdesk}/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    pub helpdesk: String,
    pub ticket_id: TicketId,
    pub category: Option<String>,
    pub stage: String,
    pub state: serde_json::Value,
    pub notes: Vec<NoteRecord>,
    pub confirmations: Vec<ConfirmationRecord>,
    /// What GitLab said about the ticket's requesters, newest first, each with the time read
    /// and the source (empty without GitLab).
    pub gitlab: Vec<serde_json::Value>,
}

const MAX_RACES: u32 = 50;

/// Select-list item for a query over `tickets t`: how many notes of the ticket are still
/// pending (recorded by earlier events, not posted yet).
pub(super) const WAITING_NOTES: &str = "(SELECT COUNT(*) FROM notes n WHERE n.source = t.source
    AND n.ticket_id = t.ticket_id AND n.status = 'pending') AS waiting";

impl Store {
    /// Row lock for a select over `tickets t` that a decision is about to rewrite (SQLite
    /// holds the whole database from `BEGIN IMMEDIATE` on).
    pub(super) fn ticket_lock(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE OF t",
            Backend::Sqlite => "",
        }
    }

    /// Lost races (a concurrent writer, a SQLite busy upgrade) are retried as a whole.
    ///
    /// Dedupes the event, locks the ticket, runs `decide` on its state and commits the new
    /// state, the note intents (as `note_status`) and the confirmations in one transaction.
    pub async fn apply_event<F>(
        &self,
        source: &str,
        event: &TicketEvent,
        note_status: NoteStatus,
        decide: F,
    ) -> Result<Applied, StoreError>
    where
        F: Fn(Option<&TicketState>) -> Decision + Send + Sync,
    {
        self.apply_one(&Applying {
            source,
            event,
            note_status,
            hold: None,
            decide: &decide,
        })
        .await
    }

    /// As `apply_event` with pending notes, which the caller claims for `hold` in the same
    /// transaction: it is about to post them, and saves a commit per event.
    pub async fn apply_event_claiming<F>(
        &self,
        source: &str,
        event: &TicketEvent,
        hold: std::time::Duration,
        decide: F,
    ) -> Result<Applied, StoreError>
    where
        F: Fn(Option<&TicketState>) -> Decision + Send + Sync,
    {
        self.apply_one(&Applying {
            source,
            event,
            note_status: NoteStatus::Pending,
            hold: Some(hold),
            decide: &decide,
        })
        .await
    }

    /// The single event is a batch of one: the group committer's transaction, retried as a
    /// whole on a lost race.
    pub(super) async fn apply_one(&self, item: &Applying<'_>) -> Result<Applied, StoreError> {
        let mut races = 0;
        loop {
            match self.apply_batch(std::slice::from_ref(item)).await {
                Ok(mut applied) => {
                    return applied.pop().ok_or_else(|| {
                        StoreError::Corrupt("a batch of one event gave no result".into())
                    });
                }
                Err(StoreError::Unavailable(e)) if is_conflict(&e) => {}
                Err(e) => return Err(e),
            }
            if races >= MAX_RACES {
                return Err(StoreError::Contention {
                    source_name: item.source.to_owned(),
                    ticket: item.event.ticket.id.clone(),
                    attempts: MAX_RACES,
                });
            }
            races += 1;
            let jitter = rand::random_range(1..=10u64 * u64::from(races.min(10)));
            tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
        }
    }

    /// The ticket's record, or `None` when the service never saw it.
    pub async fn ticket_view(
        &self,
        source: &str,
        ticket_id: &TicketId,
    ) -> Result<Option<TicketView>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT category, stage, state FROM tickets WHERE source = $1 AND ticket_id = $2",
        )
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let state: String = row.try_get("state")?;
        Ok(Some(TicketView {
            helpdesk: source.to_string(),
            ticket_id: ticket_id.clone(),
            category: row.try_get("category")?,
            stage: row.try_get("stage")?,
            state: serde_json::from_str(&state).unwrap_or(serde_json::Value::Null),
            notes: self.notes_of(source, ticket_id).await?,
            confirmations: self.confirmations_of(source, ticket_id).await?,
            gitlab: self.gitlab_facts_of(source, ticket_id).await?,
        }))
    }
}
