//! The queue file: process lock, connection settings, schema and the read-only queries.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row};

use crate::queue::{DeadLetter, DeadLetterPage, DeadLetterQuery, QueueError};

pub(super) const DB_FILE: &str = "queue.db";
pub(super) const LOCK_FILE: &str = "queue.lock";

/// Message states. Plain text keeps the file readable with the `sqlite3` shell.
pub(super) const READY: &str = "ready";
pub(super) const DEAD: &str = "dead";

/// `seq` (the rowid) is the order of acceptance. `done` rows keep only the columns dedupe
/// needs (the body is dropped) until the writer prunes them.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT    NOT NULL UNIQUE,
    ticket_id       TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    received_at_ms  INTEGER NOT NULL,
    body            BLOB,
    state           TEXT    NOT NULL CHECK (state IN ('ready', 'leased', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    available_at_ms INTEGER NOT NULL,
    lease_until_ms  INTEGER,
    last_error      TEXT,
    settled_at_ms   INTEGER,
    first_attempt_at_ms INTEGER,
    last_attempt_at_ms  INTEGER
);
-- claim scan: ready rows in acceptance order (the rowid is implicitly the last key column)
CREATE INDEX IF NOT EXISTS messages_state ON messages (state);
-- per-ticket exclusivity checks: is anything of this ticket leased / ready and older?
CREATE INDEX IF NOT EXISTS messages_ticket ON messages (ticket_id, state);
";

/// Version 2 records when an event's first and latest attempts started (for the dead-letter
/// list). A version-1 file gets the columns; its old rows leave them unknown (`NULL`).
const SCHEMA_VERSION: i64 = 2;
const ATTEMPT_TIMES: [&str; 2] = ["first_attempt_at_ms", "last_attempt_at_ms"];

async fn upgrade(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('messages')")
        .fetch_all(&mut *conn)
        .await?;
    for column in ATTEMPT_TIMES {
        if !columns.iter().any(|c| c == column) {
            // Only the two constant names above are formatted in.
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE messages ADD COLUMN {column} INTEGER"
            )))
            .execute(&mut *conn)
            .await?;
        }
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA user_version = {SCHEMA_VERSION}"
    )))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) fn unavailable(err: impl std::fmt::Display) -> QueueError {
    QueueError::Unavailable(format!("embedded queue: {err}"))
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Takes the exclusive process lock on `<data_dir>/queue.lock` and writes our pid into it.
/// The lock lives as long as the returned file.
pub(super) fn lock_dir(data_dir: &Path) -> Result<File, QueueError> {
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            // Best effort: the pid only makes the message more useful.
            let _ = file.read_to_string(&mut holder);
            return Err(QueueError::Locked {
                path: path.display().to_string(),
                holder: holder.trim().parse().ok(),
            });
        }
        Err(TryLockError::Error(e)) => {
            return Err(unavailable(format!("cannot lock {}: {e}", path.display())));
        }
    }
    let write_pid = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        write!(file, "{}", std::process::id())
    };
    // The pid is informational; failing to write it must not stop the queue.
    let _ = write_pid(&mut file);
    Ok(file)
}

/// WAL with `synchronous=FULL`: a commit returns only after the WAL is fsynced, so an accepted
/// event survives a power loss, not just a process crash.
fn connect_options(data_dir: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(data_dir.join(DB_FILE))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
}

/// Opens the writer's own connection, creates the schema and hands back every message a
/// previous owner left leased (it crashed or was killed before settling them).
pub(super) async fn open_writer(data_dir: &Path) -> Result<SqliteConnection, QueueError> {
    let mut conn = connect_options(data_dir)
        .connect()
        .await
        .map_err(unavailable)?;
    sqlx::raw_sql(SCHEMA)
        .execute(&mut conn)
        .await
        .map_err(unavailable)?;
    upgrade(&mut conn).await.map_err(unavailable)?;
    let recovered = sqlx::query(
        "UPDATE messages SET state = 'ready', lease_until_ms = NULL WHERE state = 'leased'",
    )
    .execute(&mut conn)
    .await
    .map_err(unavailable)?
    .rows_affected();
    if recovered > 0 {
        tracing::info!(
            recovered,
            "embedded queue: events left in flight by the previous run are ready again"
        );
    }
    Ok(conn)
}

/// Readers never block the writer in WAL mode; a couple of connections are plenty.
pub(super) async fn open_readers(data_dir: &Path) -> Result<SqlitePool, QueueError> {
    SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(connect_options(data_dir))
        .await
        .map_err(unavailable)
}

pub(super) async fn check(pool: &SqlitePool) -> Result<(), QueueError> {
    sqlx::query("SELECT 1")
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(unavailable)
}

pub(super) async fn count(pool: &SqlitePool, state: &str) -> Result<u64, QueueError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE state = ?")
        .bind(state)
        .fetch_one(pool)
        .await
        .map_err(unavailable)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A page of dead letters in acceptance order; the position is the row's `seq`.
pub(super) async fn dead_letter_page(
    pool: &SqlitePool,
    query: &DeadLetterQuery,
) -> Result<DeadLetterPage, QueueError> {
    let after = match query.after.as_deref() {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or_else(|| {
                QueueError::BadPosition(format!(
                    "after={text:?} is not a position in the embedded queue's dead letters (a `next` it gave)"
                ))
            })?,
    };
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    // One row more than asked tells whether there is a next page.
    let rows = sqlx::query(
        "SELECT seq, event_id, ticket_id, source, attempts, last_error, received_at_ms,
                first_attempt_at_ms, last_attempt_at_ms
         FROM messages WHERE state = 'dead' AND seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(after)
    .bind(limit.saturating_add(1))
    .fetch_all(pool)
    .await
    .map_err(unavailable)?;
    let mut dead_letters = Vec::with_capacity(rows.len().min(query.limit));
    let mut last_seq = None;
    for row in rows.iter().take(query.limit) {
        last_seq = Some(row.try_get::<i64, _>("seq").map_err(unavailable)?);
        dead_letters.push(dead_letter(row).map_err(unavailable)?);
    }
    let next = match last_seq {
        Some(seq) if rows.len() > query.limit => Some(seq.to_string()),
        _ => None,
    };
    Ok(DeadLetterPage { dead_letters, next })
}

fn dead_letter(row: &sqlx::sqlite::SqliteRow) -> Result<DeadLetter, sqlx::Error> {
    Ok(DeadLetter {
        event_id: row.try_get("event_id")?,
        ticket_id: row.try_get::<String, _>("ticket_id")?.into(),
        source: row.try_get("source")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        reason: row
            .try_get::<Option<String>, _>("last_error")?
            .unwrap_or_default(),
        received_at: row.try_get("received_at_ms")?,
        first_attempt_at: row.try_get("first_attempt_at_ms")?,
        last_attempt_at: row.try_get("last_attempt_at_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Durability rests on these two settings: a 202 must survive a power loss.
    #[tokio::test]
    async fn connections_use_wal_with_full_fsync() {
        let dir = tempfile::tempdir().unwrap();
        // The writer's connection is the one whose commits answer publishes.
        let mut writer = open_writer(dir.path()).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut writer)
            .await
            .unwrap();
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut writer)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(synchronous, 2, "2 = FULL");
    }

    /// A queue file written before attempt times were kept opens, keeps its messages and
    /// gains the columns.
    #[tokio::test]
    async fn a_version_1_file_gains_the_attempt_time_columns() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = connect_options(dir.path()).connect().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE messages (
                seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, ticket_id TEXT NOT NULL,
                source TEXT NOT NULL, received_at_ms INTEGER NOT NULL, body BLOB,
                state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                available_at_ms INTEGER NOT NULL, lease_until_ms INTEGER, last_error TEXT,
                settled_at_ms INTEGER);
             INSERT INTO messages (event_id, ticket_id, source, received_at_ms, state, attempts,
                available_at_ms, last_error) VALUES ('e1', '7', 'zendesk', 5, 'dead', 3, 0, 'boom');
             PRAGMA user_version = 1;",
        )
        .execute(&mut old)
        .await
        .unwrap();
        drop(old);
        drop(open_writer(dir.path()).await.unwrap());
        let pool = open_readers(dir.path()).await.unwrap();
        let page = dead_letter_page(
            &pool,
            &DeadLetterQuery {
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
        assert_eq!(page.dead_letters.len(), 1);
        let dead = &page.dead_letters[0];
        assert_eq!((dead.attempts, dead.reason.as_str()), (3, "boom"));
        assert_eq!((dead.first_attempt_at, dead.last_attempt_at), (None, None));
    }
}
