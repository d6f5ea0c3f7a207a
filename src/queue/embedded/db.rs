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

use crate::queue::{DeadLetter, QueueError};

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
    settled_at_ms   INTEGER
);
-- claim scan: ready rows in acceptance order (the rowid is implicitly the last key column)
CREATE INDEX IF NOT EXISTS messages_state ON messages (state);
-- per-ticket exclusivity checks: is anything of this ticket leased / ready and older?
CREATE INDEX IF NOT EXISTS messages_ticket ON messages (ticket_id, state);
PRAGMA user_version = 1;
";

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
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_owned()
            } else {
                format!("process {holder}")
            };
            return Err(unavailable(format!(
                "{} is locked by {who}: only one process may own the embedded queue \
                 (use an AMQP queue to run several)",
                path.display()
            )));
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

pub(super) async fn dead_letters(
    pool: &SqlitePool,
    limit: usize,
) -> Result<Vec<DeadLetter>, QueueError> {
    let rows = sqlx::query(
        "SELECT event_id, ticket_id, attempts, last_error FROM messages
         WHERE state = 'dead' ORDER BY seq LIMIT ?",
    )
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    .map_err(unavailable)?;
    rows.iter()
        .map(|row| {
            Ok(DeadLetter {
                event_id: row.try_get("event_id")?,
                ticket_id: row.try_get("ticket_id")?,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                reason: row
                    .try_get::<Option<String>, _>("last_error")?
                    .unwrap_or_default(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(unavailable)
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
}
