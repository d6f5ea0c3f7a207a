//! The admin API (`/api/*`, bearer token): ticket records and the confirmation trail.

use axum::Extension;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::HttpState;
use super::error::ApiError;
use crate::config::Secret;
use crate::workflow::TicketId;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/api/tickets/{helpdesk}/{id}", get(ticket))
        .route("/api/confirmations", get(confirmations))
        .merge(super::operations::routes())
}

/// Failed `/api` authentications a client address may make in a burst; then one more every
/// [`FAILURE_REFILL`]. A client over it gets `429` for every request, right token or not, until
/// its budget refills, so guessing the token cannot go faster than this.
const FAILURE_BURST: u32 = 10;
const FAILURE_REFILL: Duration = Duration::from_secs(6);
/// Remembered lock-outs before expired ones are swept.
const MAX_LOCKED: usize = 10_000;

/// Checks `/api` bearer tokens: digests compared in constant time (the token's length does not
/// show in the timing), failed attempts rate-limited per client address.
pub struct ApiGuard {
    token_digest: Option<[u8; 32]>,
    failures: DefaultKeyedRateLimiter<IpAddr>,
    locked_until: Mutex<HashMap<IpAddr, Instant>>,
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl ApiGuard {
    pub fn new(admin_token: Option<&Secret>) -> ApiGuard {
        let quota = Quota::with_period(FAILURE_REFILL)
            .unwrap_or_else(|| unreachable!("the refill period is not zero"))
            .allow_burst(NonZeroU32::new(FAILURE_BURST).unwrap_or(NonZeroU32::MIN));
        ApiGuard {
            token_digest: admin_token.map(|t| digest(t.expose().as_bytes())),
            failures: RateLimiter::keyed(quota),
            locked_until: Mutex::new(HashMap::new()),
        }
    }

    /// `peer` is the client's address (`None` when unknown: all such clients share a budget).
    pub fn authorise(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<(), ApiError> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        self.check_token(peer, given)
    }

    /// Checks a token given any way (a bearer header, the console's login form), with the
    /// same constant-time comparison and the same per-address lock-out.
    pub fn check_token(&self, peer: Option<IpAddr>, given: Option<&[u8]>) -> Result<(), ApiError> {
        let Some(expected) = &self.token_digest else {
            return Err(ApiError::Unauthorized(
                "the admin API is disabled: set ONBEHALF_ADMIN_TOKEN".into(),
                "api_disabled",
            ));
        };
        let client = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let now = Instant::now();
        let mut locked = self
            .locked_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(until) = locked.get(&client).copied() {
            if until > now {
                return Err(ApiError::TooManyRequests(retry_after(until - now)));
            }
            locked.remove(&client);
        }
        // A missing header compares as no token at all: it never matches a configured token
        // (tokens are at least 16 bytes, checked at start-up).
        let matched = given.is_some_and(|given| bool::from(digest(given).ct_eq(expected)));
        if matched {
            return Ok(());
        }
        if let Err(not_until) = self.failures.check_key(&client) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            if locked.len() >= MAX_LOCKED {
                locked.retain(|_, until| *until > now);
                self.failures.retain_recent();
            }
            locked.insert(client, now + wait);
            tracing::warn!(%client, "too many failed admin API authentications: locked out");
            return Err(ApiError::TooManyRequests(retry_after(wait)));
        }
        Err(ApiError::Unauthorized(
            "missing or wrong bearer token".into(),
            "bad_token",
        ))
    }
}

fn retry_after(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

pub(super) fn authorise(
    state: &HttpState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    state
        .api_guard
        .authorise(peer.map(|Extension(ConnectInfo(addr))| addr.ip()), headers)
}

fn unavailable(e: crate::store::StoreError) -> ApiError {
    ApiError::Unavailable(e.to_string(), "database_unavailable")
}

async fn ticket(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path((helpdesk, id)): Path<(String, TicketId)>,
) -> Result<Response, ApiError> {
    authorise(&state, peer, &headers)?;
    match state
        .store
        .ticket_view(&helpdesk, &id)
        .await
        .map_err(unavailable)?
    {
        Some(view) => Ok(Json(view).into_response()),
        None => Err(ApiError::NotFound(format!(
            "no record of {helpdesk} ticket {id}"
        ))),
    }
}

#[derive(Deserialize)]
struct TrailQuery {
    since: Option<String>,
    after_seq: Option<String>,
    limit: Option<String>,
}

/// The largest page a client may ask for; without `limit` the whole trail is streamed.
const MAX_LIMIT: u64 = 100_000;

/// The trail as JSON Lines, oldest first, ending with the trailer line
/// `{"trail_head": {"seq": N, "hash": "…"}, "count": N}`. `?after_seq=N` pages by seq (records
/// appended late with an early `decided_at` are still found), `?limit=` bounds a page, and
/// `?since=` keeps only records decided at or after a time.
async fn confirmations(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(query): Query<TrailQuery>,
) -> Result<Response, ApiError> {
    authorise(&state, peer, &headers)?;
    let since = match query.since.as_deref() {
        Some(s) => Some(OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
            ApiError::BadRequest(format!("since={s:?} is not an RFC 3339 time"), "bad_since")
        })?),
        None => None,
    };
    let after_seq = match query.after_seq.as_deref() {
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::BadRequest(
                format!("after_seq={s:?} is not a record seq (0 or more)"),
                "bad_after_seq",
            )
        })?,
        None => 0,
    };
    let limit = match query.limit.as_deref() {
        Some(s) => Some(
            s.parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        format!("limit={s:?} is not a number of records from 1 to {MAX_LIMIT}"),
                        "bad_limit",
                    )
                })?,
        ),
        None => None,
    };
    trail_jsonl(
        &state.store,
        crate::store::ExportQuery {
            since,
            after_seq,
            limit,
        },
    )
    .await
    .map_err(unavailable)
}

/// The trail export as a JSON Lines response (also the console's download). Fails before the
/// 200 if the database is down; then streams page by page so an export of any size never sits
/// in memory whole. A failure mid-way ends the body without a trailer.
pub(crate) async fn trail_jsonl(
    store: &crate::store::Store,
    query: crate::store::ExportQuery,
) -> Result<Response, crate::store::StoreError> {
    let stream = store.export(query).await?.map(|chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "confirmation export interrupted");
            std::io::Error::other(e.to_string())
        })
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}
