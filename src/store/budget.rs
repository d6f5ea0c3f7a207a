//! The helpdesk account's API budget shared through PostgreSQL (see
//! `migrations/postgres/0006_note_failure_and_api_budget.sql`). One statement per request,
//! timed by the database's clock, so processes on different machines agree.

use sqlx::Row;
use std::time::Duration;

use super::{Backend, Store, StoreError};

/// What asking for one request's token came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token {
    Granted,
    /// Ask again after this long (the bucket is empty, or a `Retry-After` is running).
    Wait(Duration),
}

impl Store {
    /// Whether this store can share the budget between processes (PostgreSQL).
    pub fn shares_api_budget(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// Takes one request's token from `account`'s bucket (`per_second` refill, `burst`
    /// capacity), unless a hold is running.
    pub async fn take_api_token(
        &self,
        account: &str,
        per_second: f64,
        burst: f64,
    ) -> Result<Token, StoreError> {
        sqlx::query(
            "INSERT INTO api_budget (account, tokens, refilled_at, hold_until)
             VALUES ($1, $2, statement_timestamp(), 'epoch') ON CONFLICT (account) DO NOTHING",
        )
        .bind(account)
        .bind(burst)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "WITH b AS (
                 SELECT account, hold_until,
                        LEAST($2::float8, tokens + $3::float8
                              * EXTRACT(EPOCH FROM statement_timestamp() - refilled_at)::float8)
                            AS available
                 FROM api_budget WHERE account = $1 FOR UPDATE),
             d AS (SELECT b.*, (b.available >= 1 AND b.hold_until <= statement_timestamp())
                            AS granted FROM b)
             UPDATE api_budget a
             SET tokens = CASE WHEN d.granted THEN d.available - 1 ELSE d.available END,
                 refilled_at = statement_timestamp()
             FROM d WHERE a.account = d.account
             RETURNING d.granted AS granted,
                 GREATEST(EXTRACT(EPOCH FROM d.hold_until - statement_timestamp())::float8,
                          (1 - d.available) / $3::float8, 0::float8) AS wait_secs",
        )
        .bind(account)
        .bind(burst)
        .bind(per_second)
        .fetch_one(&self.pool)
        .await?;
        if row.try_get::<bool, _>("granted")? {
            return Ok(Token::Granted);
        }
        let wait: f64 = row.try_get("wait_secs")?;
        Ok(Token::Wait(Duration::from_secs_f64(
            wait.clamp(0.001, 3600.0),
        )))
    }

    /// No process calls `account`'s API for `wait` from now (a `Retry-After`).
    pub async fn hold_api(&self, account: &str, wait: Duration) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE api_budget SET hold_until = GREATEST(hold_until,
                 statement_timestamp() + make_interval(secs => $2::float8))
             WHERE account = $1",
        )
        .bind(account)
        .bind(wait.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
