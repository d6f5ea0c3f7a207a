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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
///
/// A process takes tokens from the shared bucket a lease at a time: a tenth of a second's
/// refill (at least one, at most [`MAX_LEASE`]), spent within [`LEASE_LIFETIME`] or given up.
/// At a helpdesk's usual limits (a few requests a second) a lease is one token, as if there were
/// no leases; at high limits one statement serves many requests instead of every request
/// queueing on the bucket's row (the benchmark's rate). A lease never takes more than the bucket
/// holds, so the account's limit holds across processes; a `Retry-After` another process
/// learns of reaches this one at its next lease, at most [`LEASE_LIFETIME`] later.
pub struct SharedBudget {
    store: Store,
    account: String,
    per_second: f64,
    burst: f64,
    lease_size: u32,
    lease: Mutex<Lease>,
    /// One lease statement at a time per process: the others wait for its tokens.
    leasing: tokio::sync::Mutex<()>,
    statements_sent: AtomicU64,
    local: LocalBudget,
    degraded: AtomicBool,
}

/// At most this many tokens per lease.
pub const MAX_LEASE: u32 = 64;
/// Leased tokens not spent within this are given up (not returned: the bucket refills).
pub const LEASE_LIFETIME: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Lease {
    tokens: u32,
    expires: Option<Instant>,
}

impl Lease {
    fn take(&mut self) -> bool {
        let live = self.expires.is_some_and(|at| at > Instant::now());
        if live && self.tokens > 0 {
            self.tokens -= 1;
            true
        } else {
            false
        }
    }
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
            lease_size: lease_size(requests_per_minute),
            lease: Mutex::new(Lease::default()),
            leasing: tokio::sync::Mutex::new(()),
            statements_sent: AtomicU64::new(0),
            local: LocalBudget::new(requests_per_minute),
            degraded: AtomicBool::new(false),
        }
    }

    /// How many statements this process has sent to the shared bucket (leases and the asks
    /// that found it short).
    pub fn statements_sent(&self) -> u64 {
        self.statements_sent.load(Ordering::Relaxed)
    }

    fn take_leased(&self) -> bool {
        self.lease.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn degrade(&self, error: &crate::store::StoreError) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "shared API budget unreadable: this process keeps its own until the database answers");
        }
    }
}

/// A tenth of a second's refill, between 1 and [`MAX_LEASE`].
fn lease_size(requests_per_minute: u32) -> u32 {
    (requests_per_minute / 600).clamp(1, MAX_LEASE)
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
            if self.take_leased() {
                return;
            }
            let _leasing = self.leasing.lock().await;
            // Another request may have leased while this one waited for the statement.
            if self.take_leased() {
                return;
            }
            self.statements_sent.fetch_add(1, Ordering::Relaxed);
            match self
                .store
                .take_api_tokens(&self.account, self.per_second, self.burst, self.lease_size)
                .await
            {
                Ok(Token::Granted(tokens)) => {
                    if self.degraded.swap(false, Ordering::Relaxed) {
                        tracing::info!("shared API budget readable again");
                    }
                    // One is this request's; the rest wait for the next ones.
                    *self.lease.lock().unwrap_or_else(|e| e.into_inner()) = Lease {
                        tokens: tokens - 1,
                        expires: Some(Instant::now() + LEASE_LIFETIME),
                    };
                    return;
                }
                Ok(Token::Wait(wait)) => tokio::time::sleep(wait).await,
                Err(e) => {
                    self.degrade(&e);
                    drop(_leasing);
                    return self.local.acquire().await;
                }
            }
        }
    }

    async fn hold(&self, wait: Duration) {
        self.local.hold(wait).await;
        // Tokens leased before the 429 must not be spent during its hold.
        *self.lease.lock().unwrap_or_else(|e| e.into_inner()) = Lease::default();
        if let Err(e) = self.store.hold_api(&self.account, wait).await {
            self.degrade(&e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_a_tenth_of_a_seconds_refill() {
        // Zendesk's usual limits: one token per statement, as without leases.
        assert_eq!(lease_size(100), 1);
        assert_eq!(lease_size(700), 1);
        assert_eq!(lease_size(6_000), 10);
        assert_eq!(lease_size(1_000_000), MAX_LEASE);
    }

    #[test]
    fn leased_tokens_are_spent_once_and_not_after_the_lease() {
        let mut lease = Lease {
            tokens: 2,
            expires: Some(Instant::now() + LEASE_LIFETIME),
        };
        assert!(lease.take());
        assert!(lease.take());
        assert!(!lease.take());
        let mut stale = Lease {
            tokens: 5,
            expires: Some(Instant::now() - Duration::from_millis(1)),
        };
        assert!(!stale.take());
        assert!(!Lease::default().take());
    }
}
