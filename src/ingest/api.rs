//! The admin API (`/api/*`, bearer token): ticket records and the confirmation trail.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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
}

const PAGE: i64 = 500;

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
    // Fail before the 200 if the database is down; then stream page by page so an export of
    // any size never sits in memory whole.
    let first = state
        .store
        .confirmations_page(since, 0, PAGE)
        .await
        .map_err(unavailable)?;
    let store = state.store.clone();
    let stream = futures::stream::unfold(Some(first), move |page| {
        let store = store.clone();
        async move {
            let page = page?;
            if page.is_empty() {
                return None;
            }
            let mut chunk = String::new();
            for record in &page {
                if let Ok(line) = serde_json::to_string(record) {
                    chunk.push_str(&line);
                    chunk.push('\n');
                }
            }
            let after = page.last().map_or(0, |r| r.seq);
            let next = match store.confirmations_page(since, after, PAGE).await {
                Ok(next) => Some(next),
                Err(e) => {
                    tracing::error!(error = %e, "confirmation export interrupted");
                    return Some((Err(std::io::Error::other(e.to_string())), None));
                }
            };
            Some((Ok::<_, std::io::Error>(chunk), next))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}
