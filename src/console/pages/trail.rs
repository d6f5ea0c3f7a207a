//! `GET /console/trail`: the confirmation trail newest first with its head `seq:hash`;
//! `POST /console/trail/verify` re-checks the whole chain and shows the result;
//! `GET /console/trail/export.jsonl` is the API's export (same lines, same trailer).

use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::time::Instant;

use crate::console::error::ConsoleError;
use crate::console::render;
use crate::console::session::{CsrfForm, Session};
use crate::ingest::HttpState;
use crate::store::console::PAGE_SIZE;

#[derive(Debug, Deserialize)]
pub struct TrailQuery {
    /// Show records before this seq (the last seq of the previous page).
    before: Option<String>,
}

/// What "verify now" found.
#[derive(Debug, Serialize)]
struct Verification {
    intact: bool,
    checked: u64,
    hmac_checked: u64,
    unkeyed: u64,
    head: String,
    first_break: Option<String>,
    problems: Vec<String>,
    millis: u128,
}

async fn render_page(
    state: &HttpState,
    session: &Session,
    before: Option<i64>,
    verification: Option<Verification>,
) -> Result<String, ConsoleError> {
    let head = state.store.trail_head().await?;
    let count = state.store.confirmation_count().await?;
    let records = state.store.trail_page_newest_first(before).await?;
    let older = (records.len() as i64 == PAGE_SIZE)
        .then(|| records.last().map(|(_, r)| r.seq))
        .flatten();
    let rows: Vec<_> = records
        .iter()
        .map(|(helpdesk, r)| {
            minijinja::context! {
                helpdesk, seq => r.seq, ticket_id => r.ticket_id, verdict => r.verdict.as_str(),
                quote => r.quote, action => r.action, category => r.category,
                decided_at => r.decided_at, hash => r.hash,
                withdraws_seq => r.withdraws_seq, keyed => r.hmac.is_some(),
            }
        })
        .collect();
    render::page(
        "trail.html",
        "trail",
        &session.csrf,
        minijinja::context! {
            head => format!("{}:{}", head.seq, head.hash),
            count, rows, older, paged => before.is_some(), verification,
        },
    )
}

pub async fn page(
    State(state): State<HttpState>,
    session: Session,
    Query(query): Query<TrailQuery>,
) -> Result<Html<String>, ConsoleError> {
    let before = match super::given(&query.before) {
        Some(text) => Some(text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ConsoleError::BadRequest(format!("before={text:?} is not a record seq"))
        })?),
        None => None,
    };
    Ok(Html(render_page(&state, &session, before, None).await?))
}

pub async fn verify(
    State(state): State<HttpState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> Result<Html<String>, ConsoleError> {
    session.check_csrf(form.csrf.as_deref())?;
    let started = Instant::now();
    let report = state.store.verify_trail_now().await?;
    let verification = Verification {
        intact: report.intact(),
        checked: report.checked,
        hmac_checked: report.hmac_checked,
        unkeyed: report.unkeyed,
        head: format!("{}:{}", report.head.seq, report.head.hash),
        first_break: report
            .first_break
            .map(|b| format!("record {}: {}", b.seq, b.problem)),
        problems: report.problems,
        millis: started.elapsed().as_millis(),
    };
    tracing::info!(
        intact = verification.intact,
        checked = verification.checked,
        "trail verified from the console"
    );
    Ok(Html(
        render_page(&state, &session, None, Some(verification)).await?,
    ))
}

pub async fn export(
    State(state): State<HttpState>,
    _session: Session,
) -> Result<Response, ConsoleError> {
    let mut response =
        crate::ingest::api::trail_jsonl(&state.store, crate::store::ExportQuery::default()).await?;
    response.headers_mut().insert(
        axum::http::header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_static("attachment; filename=\"onbehalf-trail.jsonl\""),
    );
    Ok(response.into_response())
}
