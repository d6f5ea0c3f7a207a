//! `GET /console/dead-letters`: the events the queue gave up on, with why; `POST
//! /console/dead-letters/requeue` puts one (`event_id`) or all (`all`) back on the queue.

use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::given;
use crate::console::error::ConsoleError;
use crate::console::render::{self, percent_encode};
use crate::console::session::Session;
use crate::ingest::HttpState;
use crate::queue::{DeadLetterQuery, QueueError};

/// Dead letters a page shows (RabbitMQ's are read by walking the dead queue).
const PAGE: usize = 50;

#[derive(Debug, Deserialize)]
pub struct DeadQuery {
    /// How many the last re-queue moved (shown once after the redirect).
    requeued: Option<u64>,
    /// The queue's position after the previous page (opaque).
    after: Option<String>,
}

pub async fn page(
    State(state): State<HttpState>,
    session: Session,
    Query(query): Query<DeadQuery>,
) -> Result<Html<String>, ConsoleError> {
    let after = given(&query.after);
    let page = state
        .queue
        .dead_letter_page(DeadLetterQuery {
            after: after.clone(),
            limit: PAGE,
        })
        .await
        .map_err(|e| match e {
            QueueError::BadPosition(why) => ConsoleError::BadRequest(why),
            other => ConsoleError::Queue(other),
        })?;
    let next = page.next.as_deref().map(percent_encode);
    let body = render::page(
        "dead_letters.html",
        "dead_letters",
        &session.csrf,
        minijinja::context! {
            letters => page.dead_letters, next, paged => after.is_some(),
            requeued => query.requeued,
        },
    )?;
    Ok(Html(body))
}

#[derive(Debug, Deserialize)]
pub struct RequeueForm {
    csrf: Option<String>,
    event_id: Option<String>,
    /// Set by the "re-queue all" button: without it and without an event id nothing moves.
    all: Option<String>,
}

pub async fn requeue(
    State(state): State<HttpState>,
    session: Session,
    Form(form): Form<RequeueForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(form.csrf.as_deref())?;
    let event_id = given(&form.event_id);
    if event_id.is_none() && given(&form.all).is_none() {
        return Err(ConsoleError::BadRequest(
            "name the dead letter to re-queue, or choose to re-queue all".into(),
        ));
    }
    let moved = state.queue.requeue_dead(event_id.as_deref()).await?;
    tracing::info!(
        moved,
        event_id = event_id.as_deref().unwrap_or("(all)"),
        "dead letters re-queued from the console"
    );
    Ok(Redirect::to(&format!("/console/dead-letters?requeued={moved}")).into_response())
}
