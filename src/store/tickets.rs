//! Applying one event to a ticket, atomically, and reading a ticket back.

use serde::Serialize;
use sqlx::{AssertSqlSafe, Row};

use super::notes::{NoteRecord, NoteStatus, note_reference};
use super::storable::stored;
use super::trail::fill_anchors;
use super::{Backend, ConfirmationRecord, Store, StoreError, is_conflict, now_ms};
use crate::workflow::{Decision, TicketEvent, TicketState};

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
    pub ticket_id: String,
    pub category: Option<String>,
    pub stage: String,
    pub state: serde_json::Value,
    pub notes: Vec<NoteRecord>,
    pub confirmations: Vec<ConfirmationRecord>,
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
        self.apply_one(source, event, note_status, None, &decide)
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
        self.apply_one(source, event, NoteStatus::Pending, Some(hold), &decide)
            .await
    }

    pub(super) async fn apply_one<F>(
        &self,
        source: &str,
        event: &TicketEvent,
        note_status: NoteStatus,
        hold: Option<std::time::Duration>,
        decide: &F,
    ) -> Result<Applied, StoreError>
    where
        F: Fn(Option<&TicketState>) -> Decision + Send + Sync,
    {
        let mut races = 0;
        loop {
            let attempt = self
                .try_apply(source, event, note_status, hold, decide)
                .await;
            // `Ok(None)` and conflict errors mean a lost race: go round again.
            match attempt {
                Ok(Some(applied)) => return Ok(applied),
                Ok(None) => {}
                Err(StoreError::Unavailable(e)) if is_conflict(&e) => {}
                Err(e) => return Err(e),
            }
            if races >= MAX_RACES {
                return Err(StoreError::Unavailable(sqlx::Error::Protocol(format!(
                    "ticket {source}/{} kept changing under {MAX_RACES} attempts",
                    event.ticket.id
                ))));
            }
            races += 1;
            let jitter = rand::random_range(1..=10u64 * u64::from(races.min(10)));
            tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
        }
    }

    async fn try_apply<F>(
        &self,
        source: &str,
        event: &TicketEvent,
        note_status: NoteStatus,
        hold: Option<std::time::Duration>,
        decide: &F,
    ) -> Result<Option<Applied>, StoreError>
    where
        F: Fn(Option<&TicketState>) -> Decision + Send + Sync,
    {
        // As stored: U+0000 cannot be (see `storable`).
        let (source, ticket_id) = (&*stored(source), &*stored(&event.ticket.id));
        let now = now_ms();
        let mut tx = match self.backend {
            // Take SQLite's write lock up front: a deferred transaction that reads and then
            // writes can fail on upgrade instead of waiting.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let fresh = sqlx::query(
            "INSERT INTO processed_events (source, event_id, ticket_id, processed_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(source)
        .bind(stored(&event.event_id))
        .bind(ticket_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fresh == 0 {
            tx.rollback().await?;
            return Ok(Some(Applied::Duplicate));
        }

        sqlx::query(
            "INSERT INTO tickets (source, ticket_id, category, stage, state, version, updated_at)
             VALUES ($1, $2, NULL, 'new', '', 0, $3) ON CONFLICT DO NOTHING",
        )
        .bind(source)
        .bind(ticket_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let lock = self.ticket_lock();
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.state, t.version, {WAITING_NOTES}
             FROM tickets t WHERE t.source = $1 AND t.ticket_id = $2{lock}"
        )))
        .bind(source)
        .bind(ticket_id)
        .fetch_one(&mut *tx)
        .await?;
        let stored: String = row.try_get("state")?;
        let version: i64 = row.try_get("version")?;
        let waiting: i64 = row.try_get("waiting")?;
        let prev = if stored.is_empty() {
            None
        } else {
            Some(serde_json::from_str::<TicketState>(&stored).map_err(|e| {
                StoreError::Corrupt(format!("state of ticket {source}/{ticket_id}: {e}"))
            })?)
        };

        let mut decision = decide(prev.as_ref());
        let state_json = serde_json::to_string(&decision.state)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialise state: {e}")))?;
        let updated = sqlx::query(
            "UPDATE tickets SET category = $1, stage = $2, state = $3, version = version + 1,
             updated_at = $4 WHERE source = $5 AND ticket_id = $6 AND version = $7",
        )
        .bind(decision.state.category().map(|c| c.as_str()))
        .bind(decision.state.stage_name())
        .bind(&state_json)
        .bind(now)
        .bind(source)
        .bind(ticket_id)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            // Someone else moved the ticket on between our read and write: redo from scratch.
            tx.rollback().await?;
            return Ok(None);
        }

        // Records first: a verdict note carries its record's seq and hash.
        let appended = self
            .append_confirmations(&mut tx, source, &decision.confirmations)
            .await?;
        fill_anchors(
            decision.notes.iter_mut().map(|n| &mut n.html_body),
            &appended.anchors,
        );
        let (notes, claimed) = Self::insert_notes(
            &mut tx,
            source,
            ticket_id,
            &decision,
            note_status,
            hold,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Applied::Committed {
            notes,
            claimed,
            confirmations: appended.verdicts,
            waiting: usize::try_from(waiting).unwrap_or(0),
        }))
    }

    async fn insert_notes(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        source: &str,
        ticket_id: &str,
        decision: &Decision,
        status: NoteStatus,
        hold: Option<std::time::Duration>,
        now: i64,
    ) -> Result<(Vec<String>, Vec<NoteRecord>), StoreError> {
        let mut inserted = vec![];
        let mut claimed = vec![];
        let claimed_until = hold.map(|h| now + h.as_millis() as i64);
        let attempts = i64::from(claimed_until.is_some());
        for (position, note) in (0_i64..).zip(&decision.notes) {
            let reference = note_reference(source, ticket_id, &note.step);
            let rows = sqlx::query(
                "INSERT INTO notes (source, ticket_id, step, reference, body, status, created_at,
                 position, claimed_until, attempts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            )
            .bind(source)
            .bind(ticket_id)
            .bind(stored(&note.step))
            .bind(&reference)
            .bind(stored(&note.html_body))
            .bind(status.as_str())
            .bind(now)
            .bind(position)
            .bind(claimed_until)
            .bind(attempts)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if rows == 1 {
                inserted.push(note.step.clone());
                if claimed_until.is_some() {
                    claimed.push(NoteRecord {
                        step: note.step.clone(),
                        reference,
                        body: stored(&note.html_body),
                        status,
                        remote_id: None,
                        created_at: now,
                        attempts,
                        error: None,
                    });
                }
            }
        }
        Ok((inserted, claimed))
    }

    /// The ticket's record, or `None` when the service never saw it.
    pub async fn ticket_view(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Option<TicketView>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT category, stage, state FROM tickets WHERE source = $1 AND ticket_id = $2",
        )
        .bind(stored(source))
        .bind(stored(ticket_id))
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let state: String = row.try_get("state")?;
        Ok(Some(TicketView {
            helpdesk: source.to_string(),
            ticket_id: ticket_id.to_string(),
            category: row.try_get("category")?,
            stage: row.try_get("stage")?,
            state: serde_json::from_str(&state).unwrap_or(serde_json::Value::Null),
            notes: self.notes_of(source, ticket_id).await?,
            confirmations: self.confirmations_of(source, ticket_id).await?,
        }))
    }
}
