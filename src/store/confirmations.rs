//! Appending to and reading the confirmation trail.

use futures::Stream;
use sqlx::Row;
use time::OffsetDateTime;

use super::storable::stored;
use super::trail::{
    Alteration, Anchor, ChainVerifier, ConfirmationRecord, Head, RecordFormat, RecordedVerdict,
    TrailReport, Trailer, VerifyOptions,
};
use super::{Backend, Store, StoreError};
use crate::workflow::{CommentId, ConfirmationDraft, ConsentVerdict, TicketId};

/// Arbitrary but fixed: the PostgreSQL advisory lock that serialises appends to the chain.
const TRAIL_LOCK: i64 = 0x6f6e_6265_6861_6c66;

pub(super) const COLUMNS: &str = "seq, format, ticket_id, requester_id, category, action, verdict, quote, \
     request_comment_id, reply_comment_id, decided_at, channel, body_sha256, withdraws_seq, \
     altered_for_storage, hmac, prev_hash, hash, source";

/// Records read per query when the whole trail is walked or streamed.
const PAGE: i64 = 1000;

/// What one decision's drafts became.
#[derive(Debug, Default)]
pub(super) struct Appended {
    /// Verdicts of the records appended now (a reply already on record appends nothing).
    pub verdicts: Vec<ConsentVerdict>,
    /// One per draft: the anchor of its record, appended now or earlier.
    pub anchors: Vec<Option<Anchor>>,
}

/// Which records an export holds.
#[derive(Debug, Clone, Default)]
pub struct ExportQuery {
    /// Only records decided at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only records after this seq (the last seq of the previous page).
    pub after_seq: i64,
    /// At most this many records.
    pub limit: Option<u64>,
}

impl Store {
    /// Records appended from now on carry an HMAC with `key`.
    pub fn with_trail_key(mut self, key: Option<super::trail::TrailKey>) -> Store {
        self.trail_key = key.map(std::sync::Arc::new);
        self
    }

    pub(super) async fn append_confirmations(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        source: &str,
        drafts: &[ConfirmationDraft],
    ) -> Result<Appended, StoreError> {
        let mut appended = Appended::default();
        if drafts.is_empty() {
            return Ok(appended);
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
        let mut head = match head {
            Some(row) => Head {
                seq: row.try_get("seq")?,
                hash: row.try_get("hash")?,
            },
            None => Head::genesis(),
        };
        for draft in drafts {
            let withdraws_seq = match &draft.withdraws_reply_comment_id {
                Some(reply) => {
                    let granted = self
                        .recorded_reply(tx, source, &draft.ticket_id, reply)
                        .await?
                        .filter(|(_, verdict)| *verdict == RecordedVerdict::Granted)
                        .map(|(head, _)| head.seq);
                    if granted.is_none() {
                        tracing::warn!(
                            ticket_id = %draft.ticket_id,
                            "a withdrawal names a grant that is not on record; recorded without withdraws_seq"
                        );
                    }
                    granted
                }
                None => None,
            };
            let record = ConfirmationRecord::from_draft_of(
                source,
                draft,
                head.seq + 1,
                &head.hash,
                withdraws_seq,
                self.trail_key.as_deref(),
            )
            .map_err(|e| StoreError::Corrupt(format!("confirmation record: {e}")))?;
            if self.insert_record(tx, source, draft, &record).await? {
                head = record.head();
                appended.verdicts.push(draft.verdict);
                appended.anchors.push(Some(Anchor(record.head())));
            } else {
                // A reply already on record (a replayed event) keeps its first record, and a
                // note about it names that one.
                let earlier = self
                    .recorded_reply(tx, source, &record.ticket_id, &record.reply_comment_id)
                    .await?;
                appended.anchors.push(earlier.map(|(head, _)| Anchor(head)));
            }
        }
        Ok(appended)
    }

    /// Inserts `record`; false when the reply is already on record.
    async fn insert_record(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        source: &str,
        draft: &ConfirmationDraft,
        r: &ConfirmationRecord,
    ) -> Result<bool, StoreError> {
        let altered = if r.format == RecordFormat::V1 {
            None
        } else {
            Some(
                serde_json::to_string(&r.altered_for_storage)
                    .map_err(|e| StoreError::Corrupt(format!("altered_for_storage: {e}")))?,
            )
        };
        let inserted = sqlx::query(
            "INSERT INTO confirmations (seq, source, format, ticket_id, requester_id, category,
             action, verdict, quote, request_comment_id, reply_comment_id, decided_at,
             decided_at_ms, channel, body_sha256, withdraws_seq, altered_for_storage, hmac,
             prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20)
             ON CONFLICT (source, ticket_id, reply_comment_id) DO NOTHING",
        )
        .bind(r.seq)
        .bind(stored(source))
        .bind(i64::from(r.format.number()))
        .bind(r.ticket_id.as_str())
        .bind(&r.requester_id)
        .bind(&r.category)
        .bind(&r.action)
        .bind(r.verdict.as_str())
        .bind(&r.quote)
        .bind(r.request_comment_id.as_str())
        .bind(r.reply_comment_id.as_str())
        .bind(&r.decided_at)
        .bind((draft.decided_at.unix_timestamp_nanos() / 1_000_000) as i64)
        .bind(&r.channel)
        .bind(&r.body_sha256)
        .bind(r.withdraws_seq)
        .bind(altered)
        .bind(&r.hmac)
        .bind(&r.prev_hash)
        .bind(&r.hash)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// The ticket's record of `reply_comment_id`, with its verdict.
    async fn recorded_reply(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        source: &str,
        ticket_id: &TicketId,
        reply_comment_id: &CommentId,
    ) -> Result<Option<(Head, RecordedVerdict)>, StoreError> {
        let row = sqlx::query(
            "SELECT seq, hash, verdict FROM confirmations WHERE source = $1 AND ticket_id = $2
             AND reply_comment_id = $3",
        )
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
        .bind(stored(reply_comment_id.as_str()))
        .fetch_optional(&mut **tx)
        .await?;
        Ok(match row {
            Some(row) => Some((
                Head {
                    seq: row.try_get("seq")?,
                    hash: row.try_get("hash")?,
                },
                RecordedVerdict::from_stored(row.try_get("verdict")?),
            )),
            None => None,
        })
    }

    pub(super) async fn confirmations_of(
        &self,
        source: &str,
        ticket_id: &TicketId,
    ) -> Result<Vec<ConfirmationRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM confirmations WHERE source = $1 AND ticket_id = $2 ORDER BY seq"
        )))
        .bind(stored(source))
        .bind(stored(ticket_id.as_str()))
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
        self.page(since, after_seq, i64::MAX, limit).await
    }

    async fn page(
        &self,
        since: Option<OffsetDateTime>,
        after_seq: i64,
        until_seq: i64,
        limit: i64,
    ) -> Result<Vec<ConfirmationRecord>, StoreError> {
        let since_ms = since.map_or(i64::MIN, |t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM confirmations WHERE seq > $1 AND seq <= $2
             AND decided_at_ms >= $3 ORDER BY seq LIMIT $4"
        )))
        .bind(after_seq)
        .bind(until_seq)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// The trail's last record (genesis when it is empty).
    pub async fn trail_head(&self) -> Result<Head, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM confirmations ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Head {
                seq: row.try_get("seq")?,
                hash: row.try_get("hash")?,
            },
            None => Head::genesis(),
        })
    }

    /// Re-checks the whole chain, page by page.
    pub async fn verify_trail(&self) -> Result<TrailReport, StoreError> {
        self.verify_trail_with(VerifyOptions::default()).await
    }

    /// Re-checks the whole chain with a key and expected heads.
    pub async fn verify_trail_with(
        &self,
        options: VerifyOptions,
    ) -> Result<TrailReport, StoreError> {
        let mut verifier = ChainVerifier::new(options);
        let mut after = 0;
        'pages: loop {
            let page = self.confirmations_page(None, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in &page {
                if verifier.check(record).is_err() {
                    break 'pages;
                }
            }
        }
        Ok(verifier.finish())
    }

    /// The trail as JSON Lines chunks ending with the trailer. The head is read first and the
    /// export stops there, so records appended meanwhile wait for the next export and the
    /// trailer describes exactly what precedes it. Fails before the first chunk if the
    /// database does not answer; a failure later ends the stream with an error (no trailer).
    pub async fn export(
        &self,
        query: ExportQuery,
    ) -> Result<impl Stream<Item = Result<String, StoreError>> + Send + 'static, StoreError> {
        let head = self.trail_head().await?;
        let limit = query
            .limit
            .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let first = self
            .page(query.since, query.after_seq, head.seq, PAGE.min(limit))
            .await?;
        let state = ExportState {
            store: self.clone(),
            query,
            head,
            limit,
            count: 0,
            page: Some(first),
        };
        Ok(futures::stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            let Some(page) = state.page.take() else {
                let trailer = Trailer {
                    trail_head: state.head.clone(),
                    count: state.count,
                };
                return Some((json_line(&trailer), None));
            };
            let mut chunk = String::new();
            for record in &page {
                match json_line(record) {
                    Ok(line) => chunk.push_str(&line),
                    Err(e) => return Some((Err(e), None)),
                }
            }
            state.count += page.len() as u64;
            let remaining = state.limit.saturating_sub(state.count as i64);
            if let Some(last) = page.last().filter(|_| remaining > 0)
                && last.seq < state.head.seq
            {
                match state
                    .store
                    .page(
                        state.query.since,
                        last.seq,
                        state.head.seq,
                        PAGE.min(remaining),
                    )
                    .await
                {
                    Ok(next) if !next.is_empty() => state.page = Some(next),
                    Ok(_) => {}
                    Err(e) => return Some((Err(e), None)),
                }
            }
            Some((Ok(chunk), Some(state)))
        }))
    }

    pub async fn confirmation_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM confirmations")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// Tickets of `source` whose helpdesk comments should hold anchors: those with records,
    /// and those with a note that carried one (a record of theirs may be gone from the table).
    /// With `every_ticket`, every ticket the store has seen.
    pub async fn tickets_to_check(
        &self,
        source: &str,
        every_ticket: bool,
    ) -> Result<Vec<TicketId>, StoreError> {
        let every = if every_ticket {
            " UNION SELECT ticket_id FROM tickets WHERE source = $1
              UNION SELECT ticket_id FROM processed_events WHERE source = $1"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT ticket_id FROM confirmations WHERE source = $1
             UNION SELECT ticket_id FROM notes WHERE source = $1 AND body LIKE '%onbehalf:trail:%'
             {every} ORDER BY ticket_id"
        )))
        .bind(stored(source))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("ticket_id")?.into()))
            .collect()
    }
}

struct ExportState {
    store: Store,
    query: ExportQuery,
    head: Head,
    limit: i64,
    count: u64,
    /// The next records to send; `None` once they are all sent (the trailer is next).
    page: Option<Vec<ConfirmationRecord>>,
}

fn json_line(value: &impl serde::Serialize) -> Result<String, StoreError> {
    let mut line = serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot write a trail line: {e}")))?;
    line.push('\n');
    Ok(line)
}

pub(super) fn record_from_row(row: &sqlx::any::AnyRow) -> Result<ConfirmationRecord, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let format = match row.try_get::<i64, _>("format")? {
        1 => RecordFormat::V1,
        2 => RecordFormat::V2,
        3 => RecordFormat::V3,
        n => {
            return Err(StoreError::Corrupt(format!(
                "record {seq} has format {n}, unknown to this onbehalf"
            )));
        }
    };
    let altered: Option<String> = row.try_get("altered_for_storage")?;
    let altered_for_storage: Vec<Alteration> = match altered {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("record {seq}: altered_for_storage: {e}")))?,
        None => vec![],
    };
    Ok(ConfirmationRecord {
        seq,
        format,
        ticket_id: row.try_get::<String, _>("ticket_id")?.into(),
        requester_id: row.try_get("requester_id")?,
        category: row.try_get("category")?,
        action: row.try_get("action")?,
        verdict: RecordedVerdict::from_stored(row.try_get("verdict")?),
        quote: row.try_get("quote")?,
        request_comment_id: row.try_get::<String, _>("request_comment_id")?.into(),
        reply_comment_id: row.try_get::<String, _>("reply_comment_id")?.into(),
        decided_at: row.try_get("decided_at")?,
        channel: row.try_get("channel")?,
        body_sha256: row.try_get("body_sha256")?,
        withdraws_seq: row.try_get("withdraws_seq")?,
        altered_for_storage,
        hmac: row.try_get("hmac")?,
        // Format 3 names its helpdesk, the ticket's key in the store.
        helpdesk: match format {
            RecordFormat::V3 => Some(row.try_get("source")?),
            _ => None,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
