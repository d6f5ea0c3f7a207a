//! `GET /console/shadow`: the notes onbehalf would have posted (shadow mode), newest first,
//! rendered as the agent would see them, filterable by note kind and category; each can be
//! marked wrong with a reason (`POST /console/shadow/review`), and the marks downloaded as
//! JSON Lines (`GET /console/shadow/reviews.jsonl`) to measure the service before going live.

use axum::body::Body;
use axum::extract::{Form, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::given;
use super::ticket::note_kind;
use crate::console::error::ConsoleError;
use crate::console::render::{self, note_html, percent_encode};
use crate::console::session::Session;
use crate::ingest::HttpState;
use crate::store::console::PAGE_SIZE;
use crate::store::{NOTE_KINDS, NoteCursor, NoteFeedQuery, NoteStatus};
use crate::workflow::{Category, TicketId};

/// A reason longer than this is refused (it is a reviewer's remark, not a document).
const MAX_REASON_CHARS: usize = 2000;

#[derive(Debug, Default, Deserialize)]
pub struct ShadowQuery {
    kind: Option<String>,
    category: Option<String>,
    helpdesk: Option<String>,
    /// Where the page starts: the previous page's `next` (a [`NoteCursor`]).
    after: Option<String>,
}

/// The filters as a query string, to keep them across pages and after a mark.
fn filter_query(
    kind: &Option<String>,
    category: &Option<String>,
    helpdesk: &Option<String>,
) -> String {
    [
        ("kind", kind),
        ("category", category),
        ("helpdesk", helpdesk),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", percent_encode(v))))
    .collect::<Vec<_>>()
    .join("&")
}

pub async fn page(
    State(state): State<HttpState>,
    session: Session,
    Query(query): Query<ShadowQuery>,
) -> Result<Html<String>, ConsoleError> {
    let kind = given(&query.kind);
    if let Some(k) = &kind
        && !NOTE_KINDS.contains(&k.as_str())
    {
        return Err(ConsoleError::BadRequest(format!(
            "{k:?} is not a note kind"
        )));
    }
    let category = given(&query.category);
    if let Some(c) = &category
        && !Category::ALL.iter().any(|known| known.as_str() == c)
    {
        return Err(ConsoleError::BadRequest(format!("{c:?} is not a category")));
    }
    let helpdesk = given(&query.helpdesk);
    if let Some(h) = &helpdesk
        && state.console.helpdesk(h).is_none()
    {
        return Err(ConsoleError::BadRequest(format!(
            "{h:?} is not a helpdesk this service reads"
        )));
    }
    let after = match given(&query.after) {
        Some(text) => Some(NoteCursor::parse(&text).map_err(ConsoleError::BadRequest)?),
        None => None,
    };
    let paged = after.is_some();
    let page = state
        .store
        .recent_notes(&NoteFeedQuery {
            status: Some(NoteStatus::Shadow),
            kind: kind.clone(),
            category: category.clone(),
            helpdesk: helpdesk.clone(),
            since_ms: None,
            after,
            limit: PAGE_SIZE as u32,
        })
        .await?;
    let filters = filter_query(&kind, &category, &helpdesk);
    let next_query = page.next.as_deref().map(|next| {
        let after = format!("after={}", percent_encode(next));
        if filters.is_empty() {
            after
        } else {
            format!("{filters}&{after}")
        }
    });
    let rows = page.notes;
    let notes: Vec<_> = rows
        .iter()
        .map(|n| {
            minijinja::context! {
                helpdesk => n.helpdesk, ticket_id => n.ticket_id, category => n.category,
                step => n.step, kind => n.kind, reference => n.reference,
                created_at => n.created_at, body_html => note_html(&n.html),
                review => n.review,
                helpdesk_url => state.console.ticket_url(&n.helpdesk, &n.ticket_id),
            }
        })
        .collect();
    let body = render::page(
        "shadow.html",
        "shadow",
        &session.csrf,
        minijinja::context! {
            notes, next_query, paged, filters,
            kinds => NOTE_KINDS,
            categories => Category::ALL.map(|c| c.as_str()),
            helpdesks => state.console.helpdesks.iter().map(|h| h.name.clone()).collect::<Vec<_>>(),
            filter => minijinja::context! { kind, category, helpdesk },
        },
    )?;
    Ok(Html(body))
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    csrf: Option<String>,
    reference: Option<String>,
    reason: Option<String>,
    /// The filters the reviewer was looking at, to come back to them.
    kind: Option<String>,
    category: Option<String>,
    helpdesk: Option<String>,
}

pub async fn review(
    State(state): State<HttpState>,
    session: Session,
    Form(form): Form<ReviewForm>,
) -> Result<Response, ConsoleError> {
    session.check_csrf(form.csrf.as_deref())?;
    let reference = given(&form.reference)
        .ok_or_else(|| ConsoleError::BadRequest("which note? (no reference)".into()))?;
    let reason = given(&form.reason).ok_or_else(|| {
        ConsoleError::BadRequest("say why the note is wrong: the reason is required".into())
    })?;
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ConsoleError::BadRequest(format!(
            "the reason is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    if !state
        .store
        .review_note(&reference, "wrong", &reason)
        .await?
    {
        return Err(ConsoleError::NotFound(
            "no note has that reference".to_string(),
        ));
    }
    tracing::info!(note = %reference, "shadow note marked wrong");
    let filters = filter_query(
        &given(&form.kind),
        &given(&form.category),
        &given(&form.helpdesk),
    );
    let back = if filters.is_empty() {
        "/console/shadow".to_string()
    } else {
        format!("/console/shadow?{filters}")
    };
    Ok(Redirect::to(&back).into_response())
}

/// One line of the reviews export.
#[derive(Serialize)]
struct ReviewLine {
    reference: String,
    helpdesk: String,
    ticket_id: TicketId,
    step: String,
    kind: String,
    verdict: String,
    reason: String,
    marked_at: String,
}

const EXPORT_PAGE: i64 = 1000;

/// Where the export stream is.
enum Next {
    Page(Vec<(crate::store::console::NoteReview, String, TicketId, String)>),
    Failed(String),
    Done,
}

pub async fn export(
    State(state): State<HttpState>,
    _session: Session,
) -> Result<Response, ConsoleError> {
    // The first page before the 200, so a database outage is a 503 and not an empty file.
    let first = state.store.reviews_page(None, EXPORT_PAGE).await?;
    let store = state.store.clone();
    let pages = futures::stream::unfold(Next::Page(first), move |next| {
        let store = store.clone();
        async move {
            let page = match next {
                Next::Done => return None,
                Next::Failed(e) => return Some((Err(std::io::Error::other(e)), Next::Done)),
                Next::Page(page) if page.is_empty() => return None,
                Next::Page(page) => page,
            };
            let last = page
                .last()
                .map(|(r, ..)| (r.marked_at, r.reference.clone()));
            let mut text = String::new();
            for (review, helpdesk, ticket_id, step) in page {
                let line = ReviewLine {
                    kind: note_kind(&step),
                    reference: review.reference,
                    helpdesk,
                    ticket_id,
                    step,
                    verdict: review.verdict,
                    reason: review.reason,
                    marked_at: render::format_ms(review.marked_at),
                };
                match serde_json::to_string(&line) {
                    Ok(json) => {
                        text.push_str(&json);
                        text.push('\n');
                    }
                    Err(e) => return Some((Err(std::io::Error::other(e)), Next::Done)),
                }
            }
            let next = match store.reviews_page(last, EXPORT_PAGE).await {
                Ok(page) => Next::Page(page),
                Err(e) => {
                    // The body ends with an error: the client sees a cut-off download.
                    tracing::error!(error = %e, "review export interrupted");
                    Next::Failed(e.to_string())
                }
            };
            Some((Ok(text), next))
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"onbehalf-note-reviews.jsonl\"",
            ),
        ],
        Body::from_stream(pages),
    )
        .into_response())
}
