//! Appending to and reading the confirmation trail.

use sqlx::Row;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::trail::{ChainBreak, ChainVerifier, ConfirmationRecord, GENESIS_HASH};
use super::{Backend, Store, StoreError};
use crate::workflow::{ConfirmationDraft, ConsentVerdict};

/// Arbitrary but fixed: the PostgreSQL advisory lock that serialises appends to the chain.
const TRAIL_LOCK: i64 = 0x6f6e_6265_6861_6c66;

const COLUMNS: &str = "seq, ticket_id, requester_id, category, action, verdict, quote, \
     request_comment_id, reply_comment_id, decided_at, prev_hash, hash";

/// The result of `audit verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailReport {
    pub checked: u64,
    pub first_break: Option<ChainBreak>,
}

impl Store {
    pub(super) async fn append_confirmations(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        source: &str,
        drafts: &[ConfirmationDraft],
    ) -> Result<Vec<ConsentVerdict>, StoreError> {
        if drafts.is_empty() {
            return Ok(vec![]);
        }
        if self.backend == Backend::Postgres {
            // Held until commit: two workers never read the same chain head.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(TRAIL_LOCK)
                .execute(&mut **tx)
                .await?;
        }
        let head = sqlx::query("SELECT seq, hash FROM confirmations ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
        let (mut seq, mut prev_hash) = match head {
            Some(row) => (
                row.try_get::<i64, _>("seq")?,
                row.try_get::<String, _>("hash")?,
            ),
            None => (0, GENESIS_HASH.to_string()),
        };
        let mut appended = vec![];
        for draft in drafts {
            let decided_at = draft
                .decided_at
                .to_offset(time::UtcOffset::UTC)
                .format(&Rfc3339)
                .map_err(|e| StoreError::Corrupt(format!("decided_at: {e}")))?;
            let mut record = ConfirmationRecord {
                seq: seq + 1,
                ticket_id: draft.ticket_id.clone(),
                requester_id: draft.requester_id.clone(),
                category: draft.category.as_str().to_string(),
                action: draft.action.clone(),
                verdict: draft.verdict.as_str().to_string(),
                quote: draft.quote.clone(),
                request_comment_id: draft.request_comment_id.clone(),
                reply_comment_id: draft.reply_comment_id.clone(),
                decided_at,
                prev_hash: prev_hash.clone(),
                hash: String::new(),
            };
            record.hash = record.compute_hash();
            let inserted = sqlx::query(
                "INSERT INTO confirmations (seq, source, ticket_id, requester_id, category, action,
                 verdict, quote, request_comment_id, reply_comment_id, decided_at, decided_at_ms,
                 prev_hash, hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (source, ticket_id, reply_comment_id) DO NOTHING",
            )
            .bind(record.seq)
            .bind(source)
            .bind(&record.ticket_id)
            .bind(&record.requester_id)
            .bind(&record.category)
            .bind(&record.action)
            .bind(&record.verdict)
            .bind(&record.quote)
            .bind(&record.request_comment_id)
            .bind(&record.reply_comment_id)
            .bind(&record.decided_at)
            .bind((draft.decided_at.unix_timestamp_nanos() / 1_000_000) as i64)
            .bind(&record.prev_hash)
            .bind(&record.hash)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            // A reply already on record (a replayed event) keeps its first record.
            if inserted == 1 {
                seq = record.seq;
                prev_hash = record.hash;
                appended.push(draft.verdict);
            }
        }
        Ok(appended)
    }

    pub(super) async fn confirmations_of(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Vec<ConfirmationRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM confirmations WHERE source = $1 AND ticket_id = $2 ORDER BY seq"
        )))
        .bind(source)
        .bind(ticket_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// One page of the trail, oldest first: records after `after_seq` (and decided at or
    /// after `since`), at most `limit`. Callers page through to stream the whole trail.
    pub async fn confirmations_page(
        &self,
        since: Option<OffsetDateTime>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<ConfirmationRecord>, StoreError> {
        let since_ms = since.map_or(i64::MIN, |t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM confirmations WHERE seq > $1 AND decided_at_ms >= $2
             ORDER BY seq LIMIT $3"
        )))
        .bind(after_seq)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// Re-checks the whole chain, page by page.
    pub async fn verify_trail(&self) -> Result<TrailReport, StoreError> {
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page = self.confirmations_page(None, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in &page {
                if let Err(first_break) = verifier.check(record) {
                    return Ok(TrailReport {
                        checked: verifier.checked,
                        first_break: Some(first_break),
                    });
                }
            }
        }
        Ok(TrailReport {
            checked: verifier.checked,
            first_break: None,
        })
    }

    pub async fn confirmation_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM confirmations")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<ConfirmationRecord, StoreError> {
    Ok(ConfirmationRecord {
        seq: row.try_get("seq")?,
        ticket_id: row.try_get("ticket_id")?,
        requester_id: row.try_get("requester_id")?,
        category: row.try_get("category")?,
        action: row.try_get("action")?,
        verdict: row.try_get("verdict")?,
        quote: row.try_get("quote")?,
        request_comment_id: row.try_get("request_comment_id")?,
        reply_comment_id: row.try_get("reply_comment_id")?,
        decided_at: row.try_get("decided_at")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
