//! The review console's reads and its two writes (sessions, note reviews).
//!
//! Every list is keyset-paginated, newest first: a page is one index range from the last row
//! of the previous page (`(updated_at, source, ticket_id)`, `seq`), never an `OFFSET`, so the
//! 2,000th page costs what the first does (indexes in migration `console`). The shadow review
//! reads the note feed ([`Store::recent_notes`], `note_feed.rs`) like `/api/notes` does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::Row;

use super::confirmations::{COLUMNS, record_from_row};
use super::storable::stored;
use super::{ConfirmationRecord, Store, StoreError, now_ms};
use crate::workflow::TicketId;

/// Rows a console page shows.
pub const PAGE_SIZE: i64 = 50;

/// One ticket of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketRow {
    pub helpdesk: String,
    pub ticket_id: TicketId,
    pub category: Option<String>,
    pub stage: String,
    pub updated_at: i64,
}

/// Where a page of tickets starts: after this row (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketCursor {
    pub updated_at: i64,
    pub helpdesk: String,
    pub ticket_id: TicketId,
}

/// Stages in which a permission question waits for the requester's answer.
pub const PENDING_PERMISSION_STAGES: [&str; 2] = ["awaiting_permission", "ask_one_at_a_time"];

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub stage: Option<String>,
    pub category: Option<String>,
    pub helpdesk: Option<String>,
    pub pending_permission: bool,
    /// Exact ticket id.
    pub ticket_id: Option<TicketId>,
    pub after: Option<TicketCursor>,
}

/// One processed event of a ticket (the event's id and when its effects were committed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessedEvent {
    pub event_id: String,
    pub processed_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteReview {
    pub reference: String,
    pub verdict: String,
    pub reason: String,
    pub marked_at: i64,
}

/// Counts for the overview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// (hour as unix ms at its start, events processed, notes recorded), oldest first.
    pub per_hour: Vec<(i64, i64, i64)>,
    /// (stage, category or "", tickets).
    pub tickets: Vec<(String, String, i64)>,
    /// (day as unix ms at its start, verdict, records).
    pub verdicts: Vec<(i64, String, i64)>,
    /// (status, notes).
    pub notes: Vec<(String, i64)>,
}

/// Counts younger than this are shown as they are; older ones are recounted in the background
/// while the page shows them (with their age). Counting reads every row of the last days: at
/// 100,000 tickets that is ~0.4 s of database time, so it is done at most this often.
pub const OVERVIEW_FRESH: Duration = Duration::from_secs(15);

/// Counts older than this are never shown: the request counts again and waits for it.
pub const OVERVIEW_STALE_LIMIT: Duration = Duration::from_secs(300);

/// The overview's counts and when they were counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountedOverview {
    pub overview: Arc<Overview>,
    /// When the counting started (unix ms): rows recorded since are not in it.
    pub counted_at_ms: i64,
    /// The window asked for (hours of activity, days of verdicts).
    pub hours: i64,
    pub days: i64,
}

/// The last counts of one store (shared by its clones), and who is counting now.
#[derive(Debug, Default)]
pub(super) struct OverviewCache {
    latest: Mutex<Option<(Instant, CountedOverview)>>,
    /// Held while counting: one count at a time, whatever the number of viewers.
    counting: Arc<tokio::sync::Mutex<()>>,
}

impl OverviewCache {
    /// The latest counts for this window and their age.
    fn latest(&self, hours: i64, days: i64) -> Option<(Duration, CountedOverview)> {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        latest
            .as_ref()
            .filter(|(_, c)| c.hours == hours && c.days == days)
            .map(|(at, counted)| (at.elapsed(), counted.clone()))
    }

    fn keep(&self, started: Instant, counted: CountedOverview) {
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        // A slower, older count never replaces a newer one.
        if latest.as_ref().is_none_or(|(at, _)| *at < started) {
            *latest = Some((started, counted));
        }
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

impl Store {
    /// One page of tickets matching `filter`, newest change first.
    pub async fn ticket_page(&self, filter: &TicketFilter) -> Result<Vec<TicketRow>, StoreError> {
        let mut sql = String::from(
            "SELECT source, ticket_id, category, stage, updated_at FROM tickets WHERE 1 = 1",
        );
        let mut binds: Vec<Bind> = Vec::new();
        let mut next = |sql: &mut String, clause: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(stage) = &filter.stage {
            next(&mut sql, " AND stage = ?", Bind::Text(stored(stage)));
        }
        if filter.pending_permission {
            // Literals from a fixed list, never user text.
            let list = PENDING_PERMISSION_STAGES
                .map(|s| format!("'{s}'"))
                .join(", ");
            sql.push_str(&format!(" AND stage IN ({list})"));
        }
        if let Some(category) = &filter.category {
            next(&mut sql, " AND category = ?", Bind::Text(stored(category)));
        }
        if let Some(helpdesk) = &filter.helpdesk {
            next(&mut sql, " AND source = ?", Bind::Text(stored(helpdesk)));
        }
        if let Some(id) = &filter.ticket_id {
            next(
                &mut sql,
                " AND ticket_id = ?",
                Bind::Text(stored(id.as_str())),
            );
        }
        if let Some(after) = &filter.after {
            let at = binds.len();
            binds.push(Bind::Int(after.updated_at));
            binds.push(Bind::Text(stored(&after.helpdesk)));
            binds.push(Bind::Text(stored(after.ticket_id.as_str())));
            sql.push_str(&format!(
                " AND (updated_at, source, ticket_id) < (${}, ${}, ${})",
                at + 1,
                at + 2,
                at + 3
            ));
        }
        sql.push_str(&format!(
            " ORDER BY updated_at DESC, source DESC, ticket_id DESC LIMIT {PAGE_SIZE}"
        ));
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(TicketRow {
                    helpdesk: row.try_get("source")?,
                    ticket_id: row.try_get::<String, _>("ticket_id")?.into(),
                    category: row.try_get("category")?,
                    stage: row.try_get("stage")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// The events whose effects are committed for a ticket, in the order they were processed.
    pub async fn processed_events_of(
        &self,
        source: &str,
        ticket_id: &TicketId,
    ) -> Result<Vec<ProcessedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_id, processed_at FROM processed_events
             WHERE source = $1 AND ticket_id = $2 ORDER BY processed_at, event_id",
        )
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ProcessedEvent {
                    event_id: row.try_get("event_id")?,
                    processed_at: row.try_get("processed_at")?,
                })
            })
            .collect()
    }

    /// One page of the trail, newest first: records before `before_seq` (`None`: from the
    /// head), each with its helpdesk.
    pub async fn trail_page_newest_first(
        &self,
        before_seq: Option<i64>,
    ) -> Result<Vec<(String, ConfirmationRecord)>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT source, {COLUMNS} FROM confirmations WHERE seq < $1 ORDER BY seq DESC LIMIT {PAGE_SIZE}"
        )))
        .bind(before_seq.unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("source")?, record_from_row(row)?)))
            .collect()
    }

    /// Records a reviewer's verdict on a note (a later one replaces it). `Ok(false)`: no note
    /// has that reference.
    pub async fn review_note(
        &self,
        reference: &str,
        verdict: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let known = sqlx::query("SELECT 1 AS found FROM notes WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
        if known.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO note_reviews (reference, verdict, reason, marked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (reference) DO UPDATE SET verdict = excluded.verdict,
                 reason = excluded.reason, marked_at = excluded.marked_at",
        )
        .bind(reference)
        .bind(stored(verdict))
        .bind(stored(reason))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(true)
    }

    /// Reviews oldest first, after `after_reference`'s mark time, a page at a time (for the
    /// JSONL export). Each with the note's ticket and step.
    pub async fn reviews_page(
        &self,
        after: Option<(i64, String)>,
        limit: i64,
    ) -> Result<Vec<(NoteReview, String, TicketId, String)>, StoreError> {
        let (at, reference) = after.unwrap_or((i64::MIN, String::new()));
        let rows = sqlx::query(
            "SELECT r.reference, r.verdict, r.reason, r.marked_at, n.source, n.ticket_id, n.step
             FROM note_reviews r JOIN notes n ON n.reference = r.reference
             WHERE (r.marked_at, r.reference) > ($1, $2)
             ORDER BY r.marked_at, r.reference LIMIT $3",
        )
        .bind(at)
        .bind(reference)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    NoteReview {
                        reference: row.try_get("reference")?,
                        verdict: row.try_get("verdict")?,
                        reason: row.try_get("reason")?,
                        marked_at: row.try_get("marked_at")?,
                    },
                    row.try_get("source")?,
                    row.try_get::<String, _>("ticket_id")?.into(),
                    row.try_get("step")?,
                ))
            })
            .collect()
    }

    /// The overview's counts as [`Store::overview`] gives them, counted at most every
    /// [`OVERVIEW_FRESH`]: counts up to [`OVERVIEW_STALE_LIMIT`] old are answered at once (and
    /// recounted in the background when past fresh); older or none, this request counts.
    pub async fn overview_counted(
        &self,
        hours: i64,
        days: i64,
    ) -> Result<CountedOverview, StoreError> {
        let cache = &self.overview_cache;
        if let Some((age, counted)) = cache.latest(hours, days)
            && age < OVERVIEW_STALE_LIMIT
        {
            if age >= OVERVIEW_FRESH
                && let Ok(guard) = cache.counting.clone().try_lock_owned()
            {
                let store = self.clone();
                tokio::spawn(async move {
                    let _counting = guard;
                    if let Err(e) = store.count_overview(hours, days).await {
                        // The page keeps showing the older counts, with their age.
                        tracing::warn!(error = %e, "recounting the console overview failed");
                    }
                });
            }
            return Ok(counted);
        }
        let _counting = cache.counting.lock().await;
        // Someone else may have counted while this request waited.
        if let Some((age, counted)) = cache.latest(hours, days)
            && age < OVERVIEW_FRESH
        {
            return Ok(counted);
        }
        self.count_overview(hours, days).await
    }

    async fn count_overview(&self, hours: i64, days: i64) -> Result<CountedOverview, StoreError> {
        let started = Instant::now();
        let counted_at_ms = now_ms();
        let counted = CountedOverview {
            overview: Arc::new(self.overview(hours, days).await?),
            counted_at_ms,
            hours,
            days,
        };
        self.overview_cache.keep(started, counted.clone());
        Ok(counted)
    }

    /// The overview's counts: events and notes per hour over the last `hours`, tickets by
    /// stage and category, verdicts per day over the last `days`, notes by status.
    pub async fn overview(&self, hours: i64, days: i64) -> Result<Overview, StoreError> {
        let now = now_ms();
        let first_hour = (now / HOUR_MS - hours + 1) * HOUR_MS;
        let per_hour = |table: &str, column: &str| {
            format!(
                "SELECT {column} / {HOUR_MS} AS hour, COUNT(*) AS n FROM {table}
                 WHERE {column} >= $1 GROUP BY {column} / {HOUR_MS}"
            )
        };
        let mut hourly: Vec<(i64, i64, i64)> = (0..hours)
            .map(|h| (first_hour + h * HOUR_MS, 0, 0))
            .collect();
        for (index, (table, column)) in [
            ("processed_events", "processed_at"),
            ("notes", "created_at"),
        ]
        .into_iter()
        .enumerate()
        {
            let rows = sqlx::query(sqlx::AssertSqlSafe(per_hour(table, column)))
                .bind(first_hour)
                .fetch_all(&self.pool)
                .await?;
            for row in rows {
                let hour: i64 = row.try_get("hour")?;
                let n: i64 = row.try_get("n")?;
                let slot = (hour * HOUR_MS - first_hour) / HOUR_MS;
                if let Some(entry) = usize::try_from(slot).ok().and_then(|s| hourly.get_mut(s)) {
                    if index == 0 {
                        entry.1 = n;
                    } else {
                        entry.2 = n;
                    }
                }
            }
        }
        let tickets = sqlx::query(
            "SELECT stage, COALESCE(category, '') AS category, COUNT(*) AS n FROM tickets
             GROUP BY stage, category ORDER BY stage, category",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("stage")?, r.try_get("category")?, r.try_get("n")?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
        let first_day = (now / DAY_MS - days + 1) * DAY_MS;
        let verdicts = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT decided_at_ms / {DAY_MS} AS day, verdict, COUNT(*) AS n FROM confirmations
             WHERE decided_at_ms >= $1 GROUP BY decided_at_ms / {DAY_MS}, verdict
             ORDER BY day, verdict"
        )))
        .bind(first_day)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let day: i64 = r.try_get("day")?;
            Ok((day * DAY_MS, r.try_get("verdict")?, r.try_get("n")?))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        // A judged reply gets a `verdict-<reply id>` note; only grants and refusals become
        // trail records, so a verdict note without a record is an unclear answer.
        let unclear = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT n.created_at / {DAY_MS} AS day, COUNT(*) AS n FROM notes n
             WHERE n.step LIKE 'verdict-%' AND n.created_at >= $1 AND NOT EXISTS (
                 SELECT 1 FROM confirmations c WHERE c.source = n.source
                 AND c.ticket_id = n.ticket_id AND 'verdict-' || c.reply_comment_id = n.step)
             GROUP BY n.created_at / {DAY_MS} ORDER BY day"
        )))
        .bind(first_day)
        .fetch_all(&self.pool)
        .await?;
        let mut verdicts = verdicts;
        for row in unclear {
            let day: i64 = row.try_get("day")?;
            verdicts.push((day * DAY_MS, "unclear".to_string(), row.try_get("n")?));
        }
        Ok(Overview {
            per_hour: hourly,
            tickets,
            verdicts,
            notes: self.note_counts().await?,
        })
    }

    /// Starts a console session: keeps the id's digest until `expires_at` (unix ms), and
    /// drops sessions that have expired.
    pub async fn create_console_session(
        &self,
        id_sha256: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (id_sha256, created_at, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(id_sha256)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When the session expires (unix ms), or `None` when it is unknown or has expired.
    pub async fn console_session(&self, id_sha256: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT expires_at FROM console_sessions WHERE id_sha256 = $1 AND expires_at > $2",
        )
        .bind(id_sha256)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("expires_at")?),
            None => None,
        })
    }

    /// Verifies the whole trail now, with the trail key when this process has one.
    pub async fn verify_trail_now(&self) -> Result<super::TrailReport, StoreError> {
        self.verify_trail_with(super::VerifyOptions {
            key: self.trail_key.as_deref().cloned(),
            expect: vec![],
        })
        .await
    }

    pub async fn end_console_session(&self, id_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_sessions WHERE id_sha256 = $1")
            .bind(id_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A value bound to a query built clause by clause.
enum Bind {
    Text(String),
    Int(i64),
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: Vec<Bind>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(n) => query.bind(n),
        };
    }
    query
}
