//! Recent notes across tickets, newest first (`GET /api/notes`, `onbehalf notes`, the console's
//! shadow review): what a team watching shadow mode reads.
//!
//! Filters by status, note kind, ticket category and helpdesk. The kind is the stored `kind`
//! column (generated from `step` by migration `console_filters`), so a rare kind is one range of
//! `notes_status_kind_recent` rather than a walk over every note of a status.
//!
//! Keyset pagination on `(created_at, reference)`: a page starts strictly after the last note
//! of the previous one, so notes recorded meanwhile never shift a page (they are newer, and
//! come first in a fresh listing).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sqlx::Row;

use super::console::NoteReview;
use super::notes::NoteStatus;
use super::storable::stored;
use super::{Store, StoreError};
use crate::workflow::notes::plain_text;
use crate::workflow::{CommentId, NoteStep, TicketId};

/// Every note kind a release writes (`NoteStep::kind`), and `other` for a step key none wrote:
/// the values the `kind` filter knows.
pub const NOTE_KINDS: [&str; 12] = [
    "triage",
    "recategorised",
    "escalated",
    "ownership_verified",
    "role_verified",
    "question",
    "warning_unverified",
    "verdict",
    "requester_changed",
    "reopened",
    "gitlab",
    "other",
];

/// Which notes to list. `Default`: every note, one per page (set `limit`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteFeedQuery {
    /// Only notes in this status (`None`: all).
    pub status: Option<NoteStatus>,
    /// Only notes of this kind (one of [`NOTE_KINDS`]; another matches nothing).
    pub kind: Option<String>,
    /// Only notes of tickets now in this category (`Category::as_str`).
    pub category: Option<String>,
    /// Only notes of this helpdesk (the store's `source`, e.g. `zendesk`).
    pub helpdesk: Option<String>,
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
    /// The position of the note created at `created_at_ms` with this reference.
    pub fn new(created_at_ms: i64, reference: impl Into<String>) -> NoteCursor {
        NoteCursor {
            created_at_ms,
            reference: reference.into(),
        }
    }

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
    pub ticket_id: TicketId,
    /// The ticket's category now (`None`: not triaged yet, or the ticket row is gone).
    pub category: Option<String>,
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
    pub remote_id: Option<CommentId>,
    /// Ties the note to its record (printed in the posted note).
    pub reference: String,
    /// A reviewer's mark from the console's shadow review, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<NoteReview>,
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
        // The tickets join gives the category; the reviews join the console's marks. Both are
        // primary-key probes per note of the page.
        let mut sql = String::from(
            "SELECT n.source, n.ticket_id, t.category, n.step, n.reference, n.body, n.status,
                    n.remote_id, n.created_at, n.error, r.verdict, r.reason, r.marked_at
             FROM notes n
             LEFT JOIN tickets t ON t.source = n.source AND t.ticket_id = n.ticket_id
             LEFT JOIN note_reviews r ON r.reference = n.reference
             WHERE 1 = 1",
        );
        let mut n = 0;
        let mut next_param = || {
            n += 1;
            format!("${n}")
        };
        let mut texts: Vec<String> = Vec::new();
        for (column, value) in [
            ("n.status", query.status.map(|s| s.as_str().to_string())),
            ("n.kind", query.kind.clone()),
            ("t.category", query.category.as_deref().map(stored)),
            ("n.source", query.helpdesk.as_deref().map(stored)),
        ] {
            if let Some(value) = value {
                sql.push_str(&format!(" AND {column} = {}", next_param()));
                texts.push(value);
            }
        }
        if query.since_ms.is_some() {
            sql.push_str(&format!(" AND n.created_at >= {}", next_param()));
        }
        if query.after.is_some() {
            // A row comparison, not `a < x OR (a = x AND b < y)`: both databases read it as
            // one range of the (…, created_at, reference) index, so the 2,000th page costs
            // what the first does.
            let (a, b) = (next_param(), next_param());
            sql.push_str(&format!(" AND (n.created_at, n.reference) < ({a}, {b})"));
        }
        sql.push_str(&format!(
            " ORDER BY n.created_at DESC, n.reference DESC LIMIT {}",
            next_param()
        ));
        // Only placeholders and fixed column names are formatted in; every value is bound
        // below, in the same order.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for text in texts {
            q = q.bind(text);
        }
        if let Some(since) = query.since_ms {
            q = q.bind(since);
        }
        if let Some(after) = &query.after {
            q = q.bind(after.created_at_ms).bind(after.reference.clone());
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
            Some(last) if more => {
                Some(NoteCursor::new(last.created_at, last.reference.clone()).encode())
            }
            _ => None,
        };
        Ok(NotePage { notes, next })
    }
}

fn feed_note(row: &sqlx::any::AnyRow) -> Result<FeedNote, StoreError> {
    let step: String = row.try_get("step")?;
    let html: String = row.try_get("body")?;
    let reference: String = row.try_get("reference")?;
    let review = match row.try_get::<Option<String>, _>("verdict")? {
        Some(verdict) => Some(NoteReview {
            reference: reference.clone(),
            verdict,
            reason: row.try_get("reason")?,
            marked_at: row.try_get("marked_at")?,
        }),
        None => None,
    };
    Ok(FeedNote {
        helpdesk: row.try_get("source")?,
        ticket_id: row.try_get::<String, _>("ticket_id")?.into(),
        category: row.try_get("category")?,
        kind: NoteStep::kind_of(&step),
        step,
        status: NoteStatus::parse(&row.try_get::<String, _>("status")?)?,
        created_at: row.try_get("created_at")?,
        text: plain_text(&html),
        html,
        error: row.try_get("error")?,
        remote_id: row
            .try_get::<Option<String>, _>("remote_id")?
            .map(CommentId::from),
        reference,
        review,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Category;

    #[test]
    fn the_kind_filter_knows_every_kind_a_release_writes() {
        let steps = [
            NoteStep::Triage,
            NoteStep::Recategorised {
                category: Category::AccountAccess,
                nth: 2,
            },
            NoteStep::Escalated,
            NoteStep::OwnershipVerified,
            NoteStep::RoleVerified,
            NoteStep::Question {
                comment_id: "7".into(),
            },
            NoteStep::WarningUnverified {
                comment_id: "7".into(),
            },
            NoteStep::Verdict {
                reply_id: "8".into(),
            },
            NoteStep::RequesterChanged { nth: 1 },
            NoteStep::Reopened { nth: 1 },
            NoteStep::GitLabFacts { nth: 1 },
        ];
        for step in &steps {
            assert!(NOTE_KINDS.contains(&step.kind()), "{}", step.key());
        }
        assert!(NOTE_KINDS.contains(&NoteStep::kind_of("no-release-wrote-this")));
        assert_eq!(NOTE_KINDS.len(), steps.len() + 1, "no kind without a step");
    }

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
