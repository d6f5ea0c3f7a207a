//! The admin API's operational views (`/api/notes`, `/api/dead-letters`): what the service
//! wrote across tickets, and the events it gave up on, with a way to send those back.
//! Behind the same bearer token as the rest of `/api`.

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

use super::HttpState;
use super::api::authorise;
use super::error::ApiError;
use crate::queue::{DeadLetterPage, DeadLetterQuery, QueueError};
use crate::store::{NOTE_KINDS, NoteCursor, NoteFeedQuery, NotePage, NoteStatus};
use crate::workflow::Category;

pub fn routes() -> Router<HttpState> {
    Router::new()
        .route("/api/notes", get(notes))
        .route("/api/dead-letters", get(dead_letters))
        .route("/api/dead-letters/requeue", post(requeue_all))
        .route("/api/dead-letters/{event_id}/requeue", post(requeue_one))
}

/// Page sizes: the default when `limit` is absent, and the most a client may ask for.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

#[derive(Deserialize)]
struct NotesQuery {
    status: Option<String>,
    /// A note kind (`triage`, `question`…: [`NOTE_KINDS`]).
    kind: Option<String>,
    /// The ticket's category (`account_access`…).
    category: Option<String>,
    /// The helpdesk (`zendesk`, `zammad`).
    helpdesk: Option<String>,
    since: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// Notes across tickets, newest first: `{"notes": [...], "next": "<after>" | null}`.
async fn notes(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(query): Query<NotesQuery>,
) -> Result<Json<NotePage>, ApiError> {
    authorise(&state, peer, &headers)?;
    let status = match query.status.as_deref() {
        None => None,
        Some(name) => Some(NoteStatus::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = NoteStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::BadRequest(
                format!(
                    "status={name:?} is not a note status ({})",
                    known.join(", ")
                ),
                "bad_status",
            )
        })?),
    };
    let since_ms = match query.since.as_deref() {
        None => None,
        Some(text) => Some(crate::rfc3339::to_ms(crate::rfc3339::parse(text).map_err(
            |why| ApiError::BadRequest(format!("since={why}"), "bad_since"),
        )?)),
    };
    let after = match query.after.as_deref() {
        None => None,
        Some(text) => {
            Some(NoteCursor::parse(text).map_err(|why| ApiError::BadRequest(why, "bad_after"))?)
        }
    };
    if let Some(kind) = query.kind.as_deref()
        && !NOTE_KINDS.contains(&kind)
    {
        return Err(ApiError::BadRequest(
            format!(
                "kind={kind:?} is not a note kind ({})",
                NOTE_KINDS.join(", ")
            ),
            "bad_kind",
        ));
    }
    if let Some(category) = query.category.as_deref()
        && Category::parse(category).is_none()
    {
        let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        return Err(ApiError::BadRequest(
            format!(
                "category={category:?} is not a category ({})",
                known.join(", ")
            ),
            "bad_category",
        ));
    }
    let limit = page_limit(query.limit.as_deref())?;
    let page = state
        .store
        .recent_notes(&NoteFeedQuery {
            status,
            kind: query.kind,
            category: query.category,
            // Any name: one no helpdesk has simply lists nothing.
            helpdesk: query.helpdesk,
            since_ms,
            after,
            limit,
        })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string(), "database_unavailable"))?;
    Ok(Json(page))
}

/// `limit=` as a page size from 1 to [`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]).
fn page_limit(text: Option<&str>) -> Result<u32, ApiError> {
    let Some(text) = text else {
        return Ok(DEFAULT_LIMIT);
    };
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            ApiError::BadRequest(
                format!("limit={text:?} is not a page size from 1 to {MAX_LIMIT}"),
                "bad_limit",
            )
        })
}

#[derive(Deserialize)]
struct DeadLetterParams {
    limit: Option<String>,
    after: Option<String>,
}

/// Dead letters, oldest first: `{"dead_letters": [...], "next": "<after>" | null}`.
async fn dead_letters(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Query(query): Query<DeadLetterParams>,
) -> Result<Json<DeadLetterPage>, ApiError> {
    authorise(&state, peer, &headers)?;
    let limit = page_limit(query.limit.as_deref())? as usize;
    let page = state
        .queue
        .dead_letter_page(DeadLetterQuery {
            after: query.after,
            limit,
        })
        .await
        .map_err(queue_error)?;
    Ok(Json(page))
}

/// What a requeue moved back to the queue.
#[derive(Debug, Serialize, Deserialize)]
pub struct Requeued {
    pub requeued: u64,
}

async fn requeue_all(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Json<Requeued>, ApiError> {
    authorise(&state, peer, &headers)?;
    let requeued = state.queue.requeue_dead(None).await.map_err(queue_error)?;
    tracing::info!(requeued, "dead letters requeued through the API");
    Ok(Json(Requeued { requeued }))
}

/// `404` when no dead letter has that event id (never dead-lettered, or requeued already).
async fn requeue_one(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(event_id): Path<String>,
) -> Result<Json<Requeued>, ApiError> {
    authorise(&state, peer, &headers)?;
    let requeued = state
        .queue
        .requeue_dead(Some(&event_id))
        .await
        .map_err(queue_error)?;
    if requeued == 0 {
        return Err(ApiError::NotFound(format!(
            "no dead letter has event id {event_id:?}"
        )));
    }
    tracing::info!(event_id = %event_id, "dead letter requeued through the API");
    Ok(Json(Requeued { requeued }))
}

fn queue_error(e: QueueError) -> ApiError {
    match e {
        QueueError::BadPosition(why) => ApiError::BadRequest(why, "bad_after"),
        other => ApiError::Unavailable(other.to_string(), "queue_unavailable"),
    }
}
