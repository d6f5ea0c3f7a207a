//! The SQL of the writer, one function per change. Every function runs inside the writer's
//! transaction.

use std::collections::HashSet;

use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Row};

use super::writer::Claim;
use crate::queue::Envelope;

pub(super) const PRUNE_CHUNK: u64 = 5000;

/// Rows per INSERT statement: 6 bound values each stays far below SQLite's variable limit.
const INSERT_CHUNK: usize = 256;

/// Inserts the envelopes in order and returns the ids it inserted: an id already known (or
/// repeated earlier in the slice) is not inserted again. Which of several envelopes with one
/// id took the row is the caller's to say (the first).
pub(super) async fn insert_many(
    conn: &mut SqliteConnection,
    envelopes: &[&Envelope],
    now: i64,
) -> Result<HashSet<String>, sqlx::Error> {
    let mut inserted = HashSet::with_capacity(envelopes.len());
    for chunk in envelopes.chunks(INSERT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO messages (event_id, ticket_id, source, received_at_ms, body, state, \
             attempts, available_at_ms) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?, ?, ?, ?, ?, 'ready', 0, ?)");
        }
        sql.push_str(" ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
        // Only placeholders are generated; every value is bound.
        let mut query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
        for e in chunk {
            query = query
                .bind(e.event_id.as_str())
                .bind(e.ticket_id.as_str())
                .bind(e.source.as_str())
                .bind(e.received_at_ms)
                .bind(e.body.as_ref())
                .bind(now);
        }
        inserted.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(inserted)
}

/// A hung worker's message becomes ready again; its attempt stays counted.
pub(super) async fn expire_leases(
    conn: &mut SqliteConnection,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages SET state = 'ready', lease_until_ms = NULL
         WHERE state = 'leased' AND lease_until_ms <= ?",
    )
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Claims the oldest ready message that is the oldest pending one of its ticket and whose
/// ticket has nothing leased: one ticket's events go out one at a time, in order.
pub(super) async fn claim(
    conn: &mut SqliteConnection,
    now: i64,
    lease_until: i64,
) -> Result<Claim, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE messages SET state = 'leased', attempts = attempts + 1, lease_until_ms = ?,
             first_attempt_at_ms = COALESCE(first_attempt_at_ms, ?), last_attempt_at_ms = ?
         WHERE seq = (
             SELECT m.seq FROM messages m
             WHERE m.state = 'ready' AND m.available_at_ms <= ?
               AND NOT EXISTS (SELECT 1 FROM messages o
                               WHERE o.ticket_id = m.ticket_id AND o.state = 'leased')
               AND NOT EXISTS (SELECT 1 FROM messages o
                               WHERE o.ticket_id = m.ticket_id AND o.state = 'ready'
                                 AND o.seq < m.seq)
             ORDER BY m.seq LIMIT 1)
         RETURNING event_id, ticket_id, source, received_at_ms, body, attempts",
    )
    .bind(lease_until)
    .bind(now)
    .bind(now)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        let body: Option<Vec<u8>> = row.try_get("body")?;
        return Ok(Claim::Claimed {
            envelope: Envelope {
                event_id: row.try_get("event_id")?,
                ticket_id: row.try_get::<String, _>("ticket_id")?.into(),
                source: row.try_get("source")?,
                received_at_ms: row.try_get("received_at_ms")?,
                body: body.unwrap_or_default().into(),
            },
            attempt: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        });
    }
    // Ready rows due now but blocked by a leased sibling are left out on purpose: they
    // become claimable through a settlement (which wakes receivers) or a lease expiry.
    let next_at_ms: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(t) FROM (
             SELECT MIN(available_at_ms) AS t FROM messages
             WHERE state = 'ready' AND available_at_ms > ?
             UNION ALL
             SELECT MIN(lease_until_ms) FROM messages WHERE state = 'leased')",
    )
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(Claim::Empty { next_at_ms })
}

/// Gives back a lease nobody received, as if the claim had not happened.
pub(super) async fn release(
    conn: &mut SqliteConnection,
    event_id: &str,
    attempt: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages SET state = 'ready', attempts = attempts - 1, lease_until_ms = NULL,
             first_attempt_at_ms = CASE WHEN attempts = 1 THEN NULL ELSE first_attempt_at_ms END
         WHERE event_id = ? AND state = 'leased' AND attempts = ?",
    )
    .bind(event_id)
    .bind(attempt)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Keeps a compact row for dedupe. A late ack from a worker whose lease expired still
/// counts: the worker says the effects are committed.
pub(super) async fn ack(
    conn: &mut SqliteConnection,
    event_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages
         SET state = 'done', body = NULL, last_error = NULL, lease_until_ms = NULL, settled_at_ms = ?
         WHERE event_id = ? AND state IN ('ready', 'leased')",
    )
    .bind(now)
    .bind(event_id)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Renews the lease of an event its holder keeps (only the holder of this attempt may).
pub(super) async fn extend_lease(
    conn: &mut SqliteConnection,
    event_id: &str,
    attempt: u32,
    lease_until: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages SET lease_until_ms = ?
         WHERE event_id = ? AND state = 'leased' AND attempts = ?",
    )
    .bind(lease_until)
    .bind(event_id)
    .bind(attempt)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Only the holder of this attempt may reschedule it (`attempts` acts as a lease token).
pub(super) async fn retry_at(
    conn: &mut SqliteConnection,
    event_id: &str,
    attempt: u32,
    reason: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages
         SET state = 'ready', available_at_ms = ?, last_error = ?, lease_until_ms = NULL
         WHERE event_id = ? AND state IN ('ready', 'leased') AND attempts = ?",
    )
    .bind(at)
    .bind(reason)
    .bind(event_id)
    .bind(attempt)
    .execute(conn)
    .await
    .map(|_| ())
}

pub(super) async fn dead_letter(
    conn: &mut SqliteConnection,
    event_id: &str,
    attempt: u32,
    reason: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE messages
         SET state = 'dead', last_error = ?, lease_until_ms = NULL, settled_at_ms = ?
         WHERE event_id = ? AND state IN ('ready', 'leased') AND attempts = ?",
    )
    .bind(reason)
    .bind(now)
    .bind(event_id)
    .bind(attempt)
    .execute(conn)
    .await
    .map(|_| ())
}

pub(super) async fn requeue_dead(
    conn: &mut SqliteConnection,
    event_id: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let query = match event_id {
        Some(id) => sqlx::query(
            "UPDATE messages
             SET state = 'ready', attempts = 0, available_at_ms = ?, last_error = NULL,
                 settled_at_ms = NULL, first_attempt_at_ms = NULL, last_attempt_at_ms = NULL
             WHERE state = 'dead' AND event_id = ?",
        )
        .bind(now)
        .bind(id),
        None => sqlx::query(
            "UPDATE messages
             SET state = 'ready', attempts = 0, available_at_ms = ?, last_error = NULL,
                 settled_at_ms = NULL, first_attempt_at_ms = NULL, last_attempt_at_ms = NULL
             WHERE state = 'dead'",
        )
        .bind(now),
    };
    Ok(query.execute(conn).await?.rows_affected())
}

pub(super) async fn prune_done(
    conn: &mut SqliteConnection,
    before: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM messages WHERE seq IN (
             SELECT seq FROM messages WHERE state = 'done' AND settled_at_ms < ? LIMIT ?)",
    )
    .bind(before)
    .bind(PRUNE_CHUNK as i64)
    .execute(conn)
    .await?
    .rows_affected())
}
