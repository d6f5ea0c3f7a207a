//! The helpdesk account's API budget: how fast this service may call, and when it must not.
//!
//! Zendesk's limits are per account, not per client (a `429` comes with `Retry-After`: "how
//! many seconds to wait before retrying API requests", and the Update Ticket endpoint allows
//! about 100 requests a minute per account; see
//! https://developer.zendesk.com/api-reference/introduction/rate-limits/ and
//! https://developer.zendesk.com/documentation/api-basics/best-practices/best-practices-for-avoiding-rate-limiting).
//! So every request first takes a token from a bucket refilled at
//! `ONBEHALF_ZENDESK_REQUESTS_PER_MINUTE`, and a `Retry-After` stops every request until it
//! has passed. With a PostgreSQL store the bucket and the hold live in the database and are
//! shared by every process using it (N `work` processes share one budget); with SQLite (one
//! process) they live in memory.

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::store::Store;
use crate::store::budget::Token;

#[async_trait]
pub trait ApiBudget: Send + Sync + 'static {
    /// Waits until one request may be sent.
    async fn acquire(&self);
    /// Nobody sends for `wait` from now.
    async fn hold(&self, wait: Duration);
}

/// One process's budget, in memory.
pub struct LocalBudget {
    limiter: DefaultDirectRateLimiter,
    hold_until: Mutex<Option<Instant>>,
}

impl LocalBudget {
    pub fn new(requests_per_minute: u32) -> LocalBudget {
        let per_minute = NonZeroU32::new(requests_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        LocalBudget {
            limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
            hold_until: Mutex::new(None),
        }
    }

    fn held_until(&self) -> Option<Instant> {
        let hold = *self.hold_until.lock().unwrap_or_else(|e| e.into_inner());
        hold.filter(|at| *at > Instant::now())
    }
}

#[async_trait]
impl ApiBudget for LocalBudget {
    async fn acquire(&self) {
        loop {
            while let Some(at) = self.held_until() {
                tokio::time::sleep_until(at.into()).await;
            }
            self.limiter.until_ready().await;
            // A hold set while this request waited for its token applies to it too.
            if self.held_until().is_none() {
                return;
            }
        }
    }

    async fn hold(&self, wait: Duration) {
        let at = Instant::now() + wait;
        let mut hold = self.hold_until.lock().unwrap_or_else(|e| e.into_inner());
        *hold = Some(hold.map_or(at, |h| h.max(at)));
    }
}

/// The budget of every process on one PostgreSQL database. While the database does not
/// answer, each process falls back to its own share (`local`), and still honours holds.
pub struct SharedBudget {
    store: Store,
    account: String,
    per_second: f64,
    burst: f64,
    local: LocalBudget,
    degraded: AtomicBool,
}

impl SharedBudget {
    /// `account` names the helpdesk account (its API host).
    pub fn new(store: Store, account: &str, requests_per_minute: u32) -> SharedBudget {
        let per_minute = f64::from(requests_per_minute.max(1));
        SharedBudget {
            store,
            account: account.to_string(),
            per_second: per_minute / 60.0,
            // A few seconds' worth: enough to absorb a burst, too little to trip the limit.
            burst: (per_minute / 12.0).max(1.0),
            local: LocalBudget::new(requests_per_minute),
            degraded: AtomicBool::new(false),
        }
    }

    fn degrade(&self, error: &crate::store::StoreError) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "shared API budget unreadable: this process keeps its own until the database answers");
        }
    }
}

#[async_trait]
impl ApiBudget for SharedBudget {
    async fn acquire(&self) {
        loop {
            // Holds this process learnt of first (its own 429s) count even if the database
            // is away.
            while let Some(at) = self.local.held_until() {
                tokio::time::sleep_until(at.into()).await;
            }
            match self
                .store
                .take_api_token(&self.account, self.per_second, self.burst)
                .await
            {
                Ok(Token::Granted) => {
                    if self.degraded.swap(false, Ordering::Relaxed) {
                        tracing::info!("shared API budget readable again");
                    }
                    return;
                }
                Ok(Token::Wait(wait)) => tokio::time::sleep(wait).await,
                Err(e) => {
                    self.degrade(&e);
                    return self.local.acquire().await;
                }
            }
        }
    }

    async fn hold(&self, wait: Duration) {
        self.local.hold(wait).await;
        if let Err(e) = self.store.hold_api(&self.account, wait).await {
            self.degrade(&e);
        }
    }
}
