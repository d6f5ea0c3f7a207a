//! Persistence: processed events, per-ticket workflow state, notes and the confirmation trail.
//!
//! One implementation for SQLite (the embedded default) and PostgreSQL (several instances),
//! through sqlx's `Any` driver: the SQL is written once, in the subset both understand. Where
//! they differ (row locks, transaction start), `Backend` picks the statement. Concurrency is made
//! correct by the database: unique keys dedupe events, notes and replies; ticket rows are locked
//! (PostgreSQL `FOR UPDATE`, SQLite `BEGIN IMMEDIATE`) while an event is applied; the trail's
//! head is appended under a lock so two workers never fork the chain.

mod batch;
mod batcher;
pub mod budget;
mod commit;
mod confirmations;
pub mod console;
mod gitlab;
pub use confirmations::ExportQuery;
mod note_feed;
mod notes;
mod schema;
pub use schema::database_label;
pub mod storable;
mod sync;
mod tickets;
pub mod trail;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

pub use batch::{Decide, EventToApply, GroupCommitter, NoteSettler};
pub use note_feed::{FeedNote, NOTE_KINDS, NoteCursor, NoteFeedQuery, NotePage};
pub use notes::{NoteRecord, NoteStatus};
pub use tickets::{Applied, TicketView};
pub use trail::{
    ChainBreak, ConfirmationRecord, Head, RecordedVerdict, TrailKey, TrailReport, VerifyOptions,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database does not answer or failed this time; the caller retries later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error(
        "the database schema (migration {found}) is newer than this binary knows; run a newer onbehalf or restore the matching backup"
    )]
    SchemaTooNew { found: i64 },
    #[error("database migration failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    /// Stored data this binary cannot read.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("invalid database URL: {0}")]
    Url(String),
    /// There is no onbehalf database where the configuration points (audit commands never
    /// create one).
    #[error("{0}")]
    Missing(String),
    /// The database role may not do this (e.g. migrate as the app role).
    #[error("{0}")]
    NotPermitted(String),
    #[error("{0}")]
    Unsupported(String),
    /// The batch writer this request was handed to gave no answer: it panicked on a bug in a
    /// decision, or the runtime is stopping. Not an outage: the database may be fine.
    #[error("no answer from the store's batch writer (it failed or is stopping)")]
    NoAnswer,
    /// The ticket's row kept changing under every retry (other workers applying its events).
    #[error("ticket {source_name}/{ticket} kept changing under {attempts} attempts")]
    Contention {
        source_name: String,
        ticket: crate::workflow::TicketId,
        attempts: u32,
    },
    /// One failure shared by every request of a batch (each caller gets the same cause).
    #[error("{0}")]
    Batch(#[source] std::sync::Arc<StoreError>),
}

impl StoreError {
    /// Worth retrying: the event stays queued until its effects commit.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unavailable(_) | StoreError::NoAnswer | StoreError::Contention { .. } => {
                true
            }
            StoreError::Batch(shared) => shared.is_transient(),
            _ => false,
        }
    }

    /// Whether the database as a whole is out of reach (connections refused or lost, pool
    /// exhausted, server shutting down), rather than this statement failing.
    pub fn is_outage(&self) -> bool {
        let e = match self {
            StoreError::Unavailable(e) => e,
            StoreError::Batch(shared) => return shared.is_outage(),
            _ => return false,
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL: connection exceptions (08), shutdown and "cannot connect now" (57P),
            // too many connections (53300); SQLite: busy / locked (5, 6).
            sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                code.starts_with("08")
                    || code.starts_with("57P")
                    || code == "53300"
                    || code == "5"
                    || code == "6"
            }),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Unavailable(e)
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Signs every record appended (never stored in the database).
    trail_key: Option<std::sync::Arc<trail::TrailKey>>,
    /// The console overview's last counts (`Store::overview_counted`, in `console.rs`).
    overview_cache: std::sync::Arc<console::OverviewCache>,
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn open(options: &StoreOptions) -> Result<Store, StoreError> {
        let store = Store::connect(options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (for `onbehalf migrate` and read-only tools).
    pub async fn connect(options: &StoreOptions) -> Result<Store, StoreError> {
        Store::connect_to(options, true).await
    }

    /// `create`: a SQLite file (and its folder) that does not exist yet is created.
    async fn connect_to(options: &StoreOptions, create: bool) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(&options.url, create)?;
        let mut pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            // A ping before every checkout is one more round trip per transaction; a
            // connection that died is found by the statement that uses it, which fails as
            // `Unavailable` and is retried like any other outage.
            .test_before_acquire(false);
        if backend == Backend::Sqlite {
            pool = pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; FULL makes a commit durable
                    // before we ack the event that caused it.
                    sqlx::raw_sql(
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;",
                    )
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect(&url).await?;
        let store = Store {
            pool,
            backend,
            trail_key: None,
            overview_cache: Default::default(),
        };
        store.check_encoding().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations. A schema already current is left alone without taking the
    /// migration lock or creating anything, so a role without DDL privileges starts too.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.schema_is_current().await? {
            return Ok(());
        }
        let result = match self.backend {
            Backend::Sqlite => migrate_sqlite(&self.pool).await,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await,
        };
        result.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(found) => {
                StoreError::SchemaTooNew { found }
            }
            sqlx::migrate::MigrateError::Execute(e)
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _)
                if schema::is_permission_denied(&e) =>
            {
                StoreError::NotPermitted(format!(
                    "the database role may not migrate the schema ({e}): run `onbehalf migrate` as the schema's owner"
                ))
            }
            sqlx::migrate::MigrateError::Execute(e) => StoreError::Unavailable(e),
            other => StoreError::Migration(other),
        })
    }

    /// For `/readyz`.
    pub async fn check(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// sqlx locks the migration on PostgreSQL but not on SQLite, where processes starting together
/// on a new file all try to create the tables and all but the first fail. SQLite makes a loser
/// wait for the winner's commit, so running again then finds nothing left to do.
async fn migrate_sqlite(pool: &AnyPool) -> Result<(), sqlx::migrate::MigrateError> {
    use sqlx::migrate::MigrateError;
    let mut attempt = 0;
    loop {
        match SQLITE_MIGRATIONS.run(pool).await {
            Err(MigrateError::ExecuteMigration(..) | MigrateError::Execute(_)) if attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            done => return done,
        }
    }
}

/// Returns the backend and a URL the driver accepts; with `create`, a SQLite file and its
/// folder are created, otherwise the file must exist.
fn normalise_url(url: &str, create: bool) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, with_statement_cache(url)));
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(StoreError::Url(format!(
            "{url}: expected sqlite://… or postgres://…"
        )));
    };
    let path = rest.trim_start_matches("//");
    let file = path.split('?').next().unwrap_or_default();
    if file.is_empty() || file == ":memory:" {
        return Err(StoreError::Url(
            "an in-memory SQLite database would lose everything on restart; give a file".into(),
        ));
    }
    if !create {
        if !std::path::Path::new(file).is_file() {
            return Err(StoreError::Missing(format!(
                "there is no database at {} (ONBEHALF_DATABASE_URL, by default onbehalf.db in ONBEHALF_DATA_DIR); nothing was created",
                schema::absolute(file)
            )));
        }
        return Ok((Backend::Sqlite, format!("sqlite://{file}?mode=rw")));
    }
    if let Some(dir) = std::path::Path::new(file)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Url(format!("cannot create {}: {e}", dir.display())))?;
    }
    let url = if path.contains("mode=") {
        format!("sqlite://{path}")
    } else if path.contains('?') {
        format!("sqlite://{path}&mode=rwc")
    } else {
        format!("sqlite://{path}?mode=rwc")
    };
    Ok((Backend::Sqlite, url))
}

/// Batched statements take one shape per batch size; with sqlx's default of 100 prepared
/// statements per connection they evict each other and every execution is parsed and planned
/// again. A capacity the user set in the URL is kept.
fn with_statement_cache(url: &str) -> String {
    if url.contains("statement-cache-capacity=") {
        return url.to_string();
    }
    let join = if url.contains('?') { '&' } else { '?' };
    format!("{url}{join}statement-cache-capacity={POSTGRES_STATEMENT_CACHE}")
}

const POSTGRES_STATEMENT_CACHE: usize = 1024;

pub(crate) fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Unique violations, serialisation failures, deadlocks and SQLite busy errors: the
/// transaction lost a race and is retried as a whole.
fn is_conflict(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            matches!(
                code.as_ref(),
                "23505" | "40001" | "40P01" | "5" | "6" | "517" | "2067" | "1555"
            ) || db.message().contains("database is locked")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_get_a_statement_cache_unless_they_set_one() {
        let (_, url) = normalise_url("postgres://u@h/db", true).unwrap();
        assert_eq!(url, "postgres://u@h/db?statement-cache-capacity=1024");
        let (_, url) = normalise_url("postgres://u@h/db?sslmode=require", true).unwrap();
        assert_eq!(
            url,
            "postgres://u@h/db?sslmode=require&statement-cache-capacity=1024"
        );
        let mine = "postgresql://h/db?statement-cache-capacity=10";
        assert_eq!(normalise_url(mine, true).unwrap().1, mine);
    }
}
