//! The admin API (`/api/*`, bearer token): ticket records and the confirmation trail.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::HttpState;
use super::error::ApiError;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/api/tickets/{helpdesk}/{id}", get(ticket))
        .route("/api/confirmations", get(confirmations))
}

fn authorise(state: &HttpState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.admin_token else {
        return Err(ApiError::Unauthorized(
            "the admin API is disabled: set ONBEHALF_ADMIN_TOKEN".into(),
            "api_disabled",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "missing or wrong bearer token".into(),
            "bad_token",
        ))
    }
}

fn unavailable(e: crate::store::StoreError) -> ApiError {
    ApiError::Unavailable(e.to_string(), "database_unavailable")
}

async fn ticket(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path((helpdesk, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    authorise(&state, &headers)?;
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
    headers: HeaderMap,
    Query(query): Query<TrailQuery>,
) -> Result<Response, ApiError> {
    authorise(&state, &headers)?;
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
    // Fail before the 200 if the database is down; then stream page by page so an export of
    // any size never sits in memory whole. A failure mid-way ends the body without a trailer.
    let stream = state
        .store
        .export(crate::store::ExportQuery {
            since,
            after_seq,
            limit,
        })
        .await
        .map_err(unavailable)?
        .map(|chunk| {
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
