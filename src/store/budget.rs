//! The helpdesk account's API budget shared through PostgreSQL (see
//! `migrations/postgres/0006_note_failure_and_api_budget.sql`). One statement per lease of
//! tokens, timed by the database's clock, so processes on different machines agree.

use sqlx::Row;
use std::time::Duration;

use super::{Backend, Store, StoreError};

/// What asking for tokens came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token {
    /// This many tokens (the number asked for) are this process's.
    Granted(u32),
    /// Ask again after this long (the bucket is empty, or a `Retry-After` is running).
    Wait(Duration),
}

impl Store {
    /// Whether this store can share the budget between processes (PostgreSQL).
    pub fn shares_api_budget(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// Takes `want` tokens (at most `burst`) from `account`'s bucket (`per_second` refill,
    /// `burst` capacity), unless a hold is running; when the bucket holds fewer, says how long
    /// until it holds them, so a process waiting for a lease asks once per lease, not once
    /// per token.
    pub async fn take_api_tokens(
        &self,
        account: &str,
        per_second: f64,
        burst: f64,
        want: u32,
    ) -> Result<Token, StoreError> {
        let take = || {
            sqlx::query(
                "WITH b AS (
                     SELECT account, hold_until,
                            LEAST($2::float8, tokens + $3::float8
                                  * EXTRACT(EPOCH FROM statement_timestamp() - refilled_at)::float8)
                                AS available
                     FROM api_budget WHERE account = $1 FOR UPDATE),
                 d AS (SELECT b.*, CASE WHEN b.hold_until <= statement_timestamp()
                                             AND b.available >= $4::float8
                                        THEN $4::float8 ELSE 0 END AS granted FROM b)
                 UPDATE api_budget a
                 SET tokens = GREATEST(d.available - d.granted, 0),
                     refilled_at = statement_timestamp()
                 FROM d WHERE a.account = d.account
                 RETURNING d.granted::int4 AS granted,
                     GREATEST(EXTRACT(EPOCH FROM d.hold_until - statement_timestamp())::float8,
                              ($4::float8 - d.available) / $3::float8, 0::float8) AS wait_secs",
            )
            .bind(account)
            .bind(burst)
            .bind(per_second)
            .bind(f64::from(want.max(1)).min(burst.max(1.0)))
            .fetch_optional(&self.pool)
        };
        // One statement per lease once the account's row exists; the first lease creates it.
        let row = match take().await? {
            Some(row) => row,
            None => {
                sqlx::query(
                    "INSERT INTO api_budget (account, tokens, refilled_at, hold_until)
                     VALUES ($1, $2, statement_timestamp(), 'epoch')
                     ON CONFLICT (account) DO NOTHING",
                )
                .bind(account)
                .bind(burst)
                .execute(&self.pool)
                .await?;
                take().await?.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "api_budget row for {account} not found after creating it"
                    ))
                })?
            }
        };
        let granted: i32 = row.try_get("granted")?;
        if granted >= 1 {
            return Ok(Token::Granted(granted.unsigned_abs()));
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
