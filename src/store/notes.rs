//! Note intents and their delivery status.
//!
//! A note is recorded (`pending`) in the same transaction as the decision that wants it, then
//! posted, then marked `posted`. A worker claims a pending note for a while before posting, so
//! two workers never post it concurrently; a claim left by a crashed worker expires, and the
//! next one first looks for the note's reference on the ticket before posting again.

use serde::Serialize;
use sqlx::Row;
use std::time::Duration;

use super::storable::stored;
use super::{Store, StoreError, now_ms};
use crate::workflow::{CommentId, TicketId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteStatus {
    /// Recorded, not yet confirmed posted.
    Pending,
    Posted,
    /// Shadow mode: kept here only.
    Shadow,
    /// The helpdesk refused it for good (ticket deleted, comment limit…); see `error`.
    Failed,
}

impl NoteStatus {
    pub const ALL: [NoteStatus; 4] = [
        NoteStatus::Pending,
        NoteStatus::Posted,
        NoteStatus::Shadow,
        NoteStatus::Failed,
    ];

    /// The status a user named (`?status=shadow`), if it is one.
    pub fn from_name(name: &str) -> Option<NoteStatus> {
        NoteStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NoteStatus::Pending => "pending",
            NoteStatus::Posted => "posted",
            NoteStatus::Shadow => "shadow",
            NoteStatus::Failed => "failed",
        }
    }

    pub(super) fn parse(s: &str) -> Result<NoteStatus, StoreError> {
        match s {
            "pending" => Ok(NoteStatus::Pending),
            "posted" => Ok(NoteStatus::Posted),
            "shadow" => Ok(NoteStatus::Shadow),
            "failed" => Ok(NoteStatus::Failed),
            other => Err(StoreError::Corrupt(format!(
                "unknown note status {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRecord {
    pub step: String,
    /// Printed in the note; ties it to this record (crash reconciliation looks for it).
    pub reference: String,
    pub body: String,
    pub status: NoteStatus,
    /// The helpdesk's comment id, when known.
    pub remote_id: Option<CommentId>,
    /// Unix milliseconds; shown as RFC 3339.
    #[serde(serialize_with = "crate::rfc3339::ms")]
    pub created_at: i64,
    /// How many times a worker claimed it to post; above 1, an earlier post may have landed.
    pub attempts: i64,
    /// Why the helpdesk refused it (`failed` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Pending notes of a ticket this worker may now post, and how many another worker holds.
#[derive(Debug, Default)]
pub struct Claimed {
    pub notes: Vec<NoteRecord>,
    pub held_elsewhere: usize,
}

/// As stored, so a reference built from the event is the one the database holds.
pub fn note_reference(source: &str, ticket_id: &TicketId, step: &str) -> String {
    stored(&format!("onbehalf:{source}:{ticket_id}:{step}"))
}

impl Store {
    pub async fn notes_of(
        &self,
        source: &str,
        ticket_id: &TicketId,
    ) -> Result<Vec<NoteRecord>, StoreError> {
        self.notes_matching(source, ticket_id, false).await
    }

    async fn notes_matching(
        &self,
        source: &str,
        ticket_id: &TicketId,
        pending_only: bool,
    ) -> Result<Vec<NoteRecord>, StoreError> {
        let filter = if pending_only {
            " AND status = 'pending'"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT step, reference, body, status, remote_id, created_at, attempts, error FROM notes
             WHERE source = $1 AND ticket_id = $2{filter} ORDER BY created_at, position, step"
        )))
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(note_from_row).collect()
    }

    /// Claims the ticket's pending notes for `hold` (oldest first).
    pub async fn claim_pending_notes(
        &self,
        source: &str,
        ticket_id: &TicketId,
        hold: Duration,
    ) -> Result<Claimed, StoreError> {
        // Runs after every event: read only what is pending (usually nothing), not the bodies
        // of every note the ticket ever had.
        let pending = self.notes_matching(source, ticket_id, true).await?;
        let mut claimed = Claimed::default();
        for note in pending {
            let now = now_ms();
            let won = sqlx::query(
                "UPDATE notes SET claimed_until = $1, attempts = attempts + 1
                 WHERE reference = $2 AND status = 'pending'
                 AND (claimed_until IS NULL OR claimed_until < $3)",
            )
            .bind(now + hold.as_millis() as i64)
            .bind(&note.reference)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if won == 1 {
                claimed.notes.push(NoteRecord {
                    attempts: note.attempts + 1,
                    ..note
                });
            } else {
                claimed.held_elsewhere += 1;
            }
        }
        Ok(claimed)
    }

    /// Gives a claim back after a failed post, so the retry need not wait for it to expire.
    pub async fn release_note(&self, reference: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notes SET claimed_until = NULL WHERE reference = $1 AND status = 'pending'",
        )
        .bind(reference)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a note the helpdesk refused for good as `failed`, with its reason: it is not
    /// tried again, and the ticket's later notes go on.
    pub async fn fail_note(&self, reference: &str, error: &str) -> Result<(), StoreError> {
        let error: String = error.chars().take(500).collect();
        sqlx::query(
            "UPDATE notes SET status = 'failed', error = $1, settled_at = $2, claimed_until = NULL
             WHERE reference = $3 AND status = 'pending'",
        )
        .bind(stored(&error))
        .bind(now_ms())
        .bind(reference)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Drops every claim. Only for a process that knows it is the store's sole user (the
    /// embedded deployment at start-up): claims left by its previous run die with it.
    pub async fn release_all_claims(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query("UPDATE notes SET claimed_until = NULL WHERE status = 'pending' AND claimed_until IS NOT NULL")
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Count of notes per status (for tests and metrics).
    pub async fn note_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM notes GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }
}

fn note_from_row(row: &sqlx::any::AnyRow) -> Result<NoteRecord, StoreError> {
    Ok(NoteRecord {
        step: row.try_get("step")?,
        reference: row.try_get("reference")?,
        body: row.try_get("body")?,
        status: NoteStatus::parse(&row.try_get::<String, _>("status")?)?,
        remote_id: row
            .try_get::<Option<String>, _>("remote_id")?
            .map(CommentId::from),
        created_at: row.try_get("created_at")?,
        attempts: row.try_get("attempts")?,
        error: row.try_get("error")?,
    })
}
