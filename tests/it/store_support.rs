//! Databases for the store tests: a fresh SQLite file or a fresh PostgreSQL database per test,
//! always removed afterwards (also when the test panics), plus raw SQL access for the checks
//! and tamperings the `Store` API deliberately does not offer.

/// Instantiates every listed behaviour for both backends.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    crate::store_support::with_sqlite(super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    crate::store_support::with_postgres(super::$name).await
                }
            )*
        }
    };
}
pub(crate) use both;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use onbehalf::store::{Backend, Store, StoreOptions};
use onbehalf::workflow::{
    Category, ConfirmationDraft, ConsentVerdict, Decision, EventKind, NoteDraft, NoteStep,
    TicketEvent, TicketSnapshot, TicketState,
};
use sqlx::{AssertSqlSafe, Connection};
use time::OffsetDateTime;

/// The machine's shared server; a test that stops its database uses a private one instead
/// (`with_postgres_on`, `tests/it/instances`).
pub const PG_BASE_URL: &str = "postgres://postgres@127.0.0.1:5432";
/// The concurrency tests need real parallel connections; PostgreSQL's default cap is 100
/// connections for the whole machine, so a pool stays modest.
pub const POOL_SIZE: u32 = 10;

pub const SOURCE: &str = "zendesk";

/// A store on its own, throw-away database.
pub struct Db {
    pub store: Store,
    pub options: StoreOptions,
    pub backend: Backend,
}

impl Db {
    /// Runs SQL on a connection of its own (outside the store's pool).
    pub async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let mut conn = self.raw_connection().await?;
        let done = sqlx::query(AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await?
            .rows_affected();
        conn.close().await?;
        Ok(done)
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut conn = self.raw_connection().await.unwrap();
        let value: i64 = sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        value
    }

    async fn raw_connection(&self) -> Result<sqlx::AnyConnection, sqlx::Error> {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.options.url).await
    }

    /// Options for a second, empty database beside this one (removed with this one).
    pub async fn sibling(&self) -> StoreOptions {
        match self.backend {
            Backend::Sqlite => options(self.options.url.replace("/t.db", "/sibling.db")),
            Backend::Postgres => {
                let (server, name) = split_pg_url(&self.options.url);
                let sibling = PgDatabase::create(server, &format!("{name}_sibling")).await;
                options(sibling.url())
            }
        }
    }

    /// The optimistic version of a ticket row: one increment per applied event.
    pub async fn ticket_version(&self, ticket_id: &str) -> i64 {
        self.scalar(&format!(
            "SELECT version FROM tickets WHERE source = '{SOURCE}' AND ticket_id = '{ticket_id}'"
        ))
        .await
    }
}

pub fn options(url: String) -> StoreOptions {
    StoreOptions {
        url,
        max_connections: POOL_SIZE,
        acquire_timeout: Duration::from_secs(10),
    }
}

/// Runs `body` on a store backed by a fresh SQLite file in a temporary folder.
pub async fn with_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let options = options(format!("sqlite://{}/t.db", dir.path().display()));
    let store = Store::open(&options).await.unwrap();
    let closer = store.clone();
    let outcome = AssertUnwindSafe(body(Db {
        store,
        options,
        backend: Backend::Sqlite,
    }))
    .catch_unwind()
    .await;
    closer.close().await;
    drop(dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `body` on a store backed by a fresh database on the shared PostgreSQL, dropped
/// afterwards even when `body` panics.
pub async fn with_postgres<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    with_postgres_on(PG_BASE_URL, body).await
}

/// `with_postgres` on the server at `server` (`postgres://user@host:port`), e.g. a private one.
pub async fn with_postgres_on<F, Fut>(server: &str, body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let name = format!("ob_test_{}", uuid::Uuid::new_v4().simple());
    let db = PgDatabase::create(server, &name).await;
    let options = options(db.url());
    let outcome = AssertUnwindSafe(async {
        let store = Store::open(&options).await.unwrap();
        let closer = store.clone();
        let inner = AssertUnwindSafe(body(Db {
            store,
            options: options.clone(),
            backend: Backend::Postgres,
        }))
        .catch_unwind()
        .await;
        closer.close().await;
        if let Err(panic) = inner {
            std::panic::resume_unwind(panic);
        }
    })
    .catch_unwind()
    .await;
    PgDatabase {
        server: server.into(),
        name: format!("{name}_sibling"),
    }
    .drop_now()
    .await;
    db.drop_now().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// `(server, database)` of a `postgres://…/database` URL.
fn split_pg_url(url: &str) -> (&str, &str) {
    url.rsplit_once('/').unwrap_or((url, ""))
}

/// A PostgreSQL database owned by one test.
pub struct PgDatabase {
    pub server: String,
    pub name: String,
}

impl PgDatabase {
    pub async fn create(server: &str, name: &str) -> PgDatabase {
        admin(server, &format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| {
                panic!("cannot create test database on {server} (is PostgreSQL running?): {e}")
            });
        PgDatabase {
            server: server.into(),
            name: name.into(),
        }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// `FORCE` ends connections a failed test may have left open.
    pub async fn drop_now(self) {
        if let Err(e) = admin(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await
        {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

async fn admin(server: &str, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

pub fn event(ticket_id: &str, event_id: &str) -> TicketEvent {
    TicketEvent {
        event_id: event_id.into(),
        occurred_at: OffsetDateTime::now_utc(),
        ticket: TicketSnapshot {
            id: ticket_id.into(),
            requester_id: "1001".into(),
            status: "open".into(),
            ..TicketSnapshot::default()
        },
        kind: EventKind::TicketCreated,
    }
}

/// A question note for the comment `id` (any text: the store treats the key as opaque).
pub fn note(id: &str) -> NoteDraft {
    NoteDraft {
        step: question(id),
        html_body: format!("<p>note for {id}</p>"),
    }
}

/// The stored step of [`note`]`(id)`.
pub fn step(id: &str) -> String {
    question(id).key()
}

fn question(id: &str) -> NoteStep {
    NoteStep::Question {
        comment_id: id.into(),
    }
}

pub fn confirmation(
    ticket_id: &str,
    reply_comment_id: &str,
    verdict: ConsentVerdict,
    decided_at: OffsetDateTime,
) -> ConfirmationDraft {
    ConfirmationDraft {
        ticket_id: ticket_id.into(),
        requester_id: "1001".into(),
        category: Category::AccountAccess,
        action: "disable two-factor authentication on your account".into(),
        verdict,
        quote: format!("Yes, go ahead ({reply_comment_id})"),
        request_comment_id: "11".into(),
        reply_comment_id: reply_comment_id.into(),
        decided_at,
        channel: None,
        body_sha256: String::new(),
        withdraws_reply_comment_id: None,
    }
}

/// A decision keeping the previous state (or a fresh one).
pub fn keep(prev: Option<&TicketState>) -> Decision {
    Decision {
        state: prev.cloned().unwrap_or_default(),
        notes: vec![],
        confirmations: vec![],
    }
}
