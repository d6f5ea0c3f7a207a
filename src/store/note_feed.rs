//! Recent notes across tickets, newest first (`GET /api/notes`, `onbehalf notes`): what a team
//! watching shadow mode reads.
//!
//! Keyset pagination on `(created_at, reference)`: a page starts strictly after the last note
//! of the previous one, so notes recorded meanwhile never shift a page (they are newer, and
//! come first in a fresh listing).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sqlx::Row;

use super::notes::NoteStatus;
use super::{Store, StoreError};
use crate::workflow::NoteStep;
use crate::workflow::notes::plain_text;

/// Which notes to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteFeedQuery {
    /// Only notes in this status (`None`: all).
    pub status: Option<NoteStatus>,
    /// Only notes recorded at or after this instant (Unix ms).
    pub since_ms: Option<i64>,
    /// Continue after this position (from [`NotePage::next`]).
    pub after: Option<NoteCursor>,
    /// Notes per page, at least 1.
    pub limit: u32,
}

/// A position in the feed: the last note of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteCursor {
    created_at_ms: i64,
    reference: String,
}

impl NoteCursor {
    /// URL-safe and opaque to clients (base64 of `created_at:reference`).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.created_at_ms, self.reference))
    }

    /// Reads back what [`NoteCursor::encode`] wrote; `Err` says why not.
    pub fn parse(text: &str) -> Result<NoteCursor, String> {
        let bad = || format!("after={text:?} is not a position this server gave (a page's `next`)");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let decoded = String::from_utf8(bytes).map_err(|_| bad())?;
        let (ms, reference) = decoded.split_once(':').ok_or_else(bad)?;
        let created_at_ms = ms.parse().map_err(|_| bad())?;
        if reference.is_empty() {
            return Err(bad());
        }
        Ok(NoteCursor {
            created_at_ms,
            reference: reference.to_owned(),
        })
    }
}

/// One note as the feed shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedNote {
    pub helpdesk: String,
    pub ticket_id: String,
    /// The note's kind (`triage`, `question`, `verdict`…: the label of
    /// `onbehalf_notes_total{kind}`).
    pub kind: &'static str,
    /// The workflow step it belongs to (unique per ticket, e.g. `question-11`).
    pub step: String,
    pub status: NoteStatus,
    #[serde(serialize_with = "crate::rfc3339::ms")]
    pub created_at: i64,
    /// The note as it is (or would be) posted: Zendesk `html_body` markup.
    pub html: String,
    /// The same note as plain text.
    pub text: String,
    /// Why the helpdesk refused it (`failed` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// Ties the note to its record (printed in the posted note).
    pub reference: String,
}

/// One page of the feed, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotePage {
    pub notes: Vec<FeedNote>,
    /// Pass as `after` for the next (older) page; `None` on the last page.
    pub next: Option<String>,
}

impl Store {
    /// Notes across every ticket, newest first, filtered and paged by `query`.
    pub async fn recent_notes(&self, query: &NoteFeedQuery) -> Result<NotePage, StoreError> {
        let mut sql = String::from(
            "SELECT source, ticket_id, step, reference, body, status, remote_id, created_at, error
             FROM notes WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next_param = || {
            n += 1;
            format!("${n}")
        };
        if query.status.is_some() {
            sql.push_str(&format!(" AND status = {}", next_param()));
        }
        if query.since_ms.is_some() {
            sql.push_str(&format!(" AND created_at >= {}", next_param()));
        }
        if query.after.is_some() {
            let (a, b, c) = (next_param(), next_param(), next_param());
            sql.push_str(&format!(
                " AND (created_at < {a} OR (created_at = {b} AND reference < {c}))"
            ));
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, reference DESC LIMIT {}",
            next_param()
        ));
        // Only placeholders are formatted in; every value is bound below, in the same order.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(status) = query.status {
            q = q.bind(status.as_str());
        }
        if let Some(since) = query.since_ms {
            q = q.bind(since);
        }
        if let Some(after) = &query.after {
            q = q
                .bind(after.created_at_ms)
                .bind(after.created_at_ms)
                .bind(after.reference.clone());
        }
        let limit = query.limit.max(1);
        // One more than asked tells whether there is a next page.
        q = q.bind(i64::from(limit) + 1);
        let rows = q.fetch_all(&self.pool).await?;
        let more = rows.len() > limit as usize;
        let notes = rows
            .iter()
            .take(limit as usize)
            .map(feed_note)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match notes.last() {
            Some(last) if more => Some(
                NoteCursor {
                    created_at_ms: last.created_at,
                    reference: last.reference.clone(),
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(NotePage { notes, next })
    }
}

fn feed_note(row: &sqlx::any::AnyRow) -> Result<FeedNote, StoreError> {
    let step: String = row.try_get("step")?;
    let html: String = row.try_get("body")?;
    Ok(FeedNote {
        helpdesk: row.try_get("source")?,
        ticket_id: row.try_get("ticket_id")?,
        kind: NoteStep::kind_of(&step),
        step,
        status: NoteStatus::parse(&row.try_get::<String, _>("status")?)?,
        created_at: row.try_get("created_at")?,
        text: plain_text(&html),
        html,
        error: row.try_get("error")?,
        remote_id: row.try_get("remote_id")?,
        reference: row.try_get("reference")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_a_foreign_one_is_refused() {
        let cursor = NoteCursor {
            created_at_ms: 1_764_606_939_123,
            reference: "onbehalf:zendesk:5158:question-11".into(),
        };
        assert_eq!(NoteCursor::parse(&cursor.encode()), Ok(cursor));
        for bad in ["", "!!!", "bm8tY29sb24", "YWJjOnJlZg"] {
            let e = NoteCursor::parse(bad).unwrap_err();
            assert!(e.contains("is not a position"), "{bad}: {e}");
        }
    }
}
