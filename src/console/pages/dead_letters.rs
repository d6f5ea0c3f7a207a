//! `GET /console/dead-letters`: the events the queue gave up on, with why; `POST
//! /console/dead-letters/requeue` puts one (`event_id`) or all (`all`) back on the queue.

use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::given;
use crate::console::error::ConsoleError;
use crate::console::render;
use crate::console::session::Session;
use crate::ingest::HttpState;

/// Dead letters listed at most (RabbitMQ's are read by walking the dead queue).
const SHOWN: usize = 200;

#[derive(Debug, Deserialize)]
pub struct DeadQuery {
    /// How many the last re-queue moved (shown once after the redirect).
    requeued: Option<u64>,
}

pub async fn page(
    State(state): State<HttpState>,
    session: Session,
    Query(query): Query<DeadQuery>,
) -> Result<Html<String>, ConsoleError> {
    let letters = state.queue.dead_letters(SHOWN + 1).await?;
    let more = letters.len() > SHOWN;
    let letters: Vec<_> = letters.into_iter().take(SHOWN).collect();
    let body = render::page(
        "dead_letters.html",
        "dead_letters",
        &session.csrf,
        minijinja::context! { letters, more, shown => SHOWN, requeued => query.requeued },
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
