//! `GET /console/trail`: the confirmation trail newest first with its head `seq:hash`;
//! `POST /console/trail/verify` re-checks the whole chain and shows the result;
//! `GET /console/trail/export.jsonl` is the API's export (same lines, same trailer).

use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

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

/// How long "verify now" waits for the result before it answers that the check goes on (the
/// whole request must end within the server's 30 s limit).
const VERIFY_WAIT: Duration = Duration::from_secs(20);

/// What "verify now" found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    intact: bool,
    checked: u64,
    hmac_checked: u64,
    unkeyed: u64,
    head: String,
    first_break: Option<String>,
    problems: Vec<String>,
    millis: u128,
    /// When it finished (unix ms).
    finished_at: i64,
    /// Why it could not run (the database failed): no result then.
    error: Option<String>,
}

/// The process's trail verification: at most one runs at a time, and its result stays for
/// the next visitor of the trail page.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VerifyState {
    #[default]
    Never,
    Running {
        started_at: i64,
    },
    Done(Verification),
}

#[derive(Debug, Clone)]
pub struct Verifications(Arc<watch::Sender<VerifyState>>);

impl Default for Verifications {
    fn default() -> Self {
        Verifications(Arc::new(watch::Sender::new(VerifyState::Never)))
    }
}

impl Verifications {
    fn current(&self) -> VerifyState {
        self.0.borrow().clone()
    }

    /// Starts a verification unless one is running; returns a receiver that sees it end.
    fn start(&self, store: crate::store::Store) -> watch::Receiver<VerifyState> {
        let receiver = self.0.subscribe();
        let started = self.0.send_if_modified(|state| {
            if matches!(state, VerifyState::Running { .. }) {
                return false;
            }
            *state = VerifyState::Running {
                started_at: crate::store::now_ms(),
            };
            true
        });
        if started {
            let sender = self.0.clone();
            tokio::spawn(async move {
                let verification = check_chain(&store).await;
                tracing::info!(
                    intact = verification.intact,
                    checked = verification.checked,
                    error = verification.error.as_deref().unwrap_or(""),
                    "trail verified from the console"
                );
                sender.send_replace(VerifyState::Done(verification));
            });
        }
        receiver
    }
}

async fn check_chain(store: &crate::store::Store) -> Verification {
    let started = Instant::now();
    let finished = |report: Option<crate::store::TrailReport>, error: Option<String>| {
        let report = report.unwrap_or_else(|| crate::store::TrailReport {
            checked: 0,
            first_break: None,
            head: crate::store::Head::genesis(),
            hmac_checked: 0,
            unkeyed: 0,
            expectations: vec![],
            problems: vec![],
        });
        Verification {
            intact: error.is_none() && report.intact(),
            checked: report.checked,
            hmac_checked: report.hmac_checked,
            unkeyed: report.unkeyed,
            head: format!("{}:{}", report.head.seq, report.head.hash),
            first_break: report
                .first_break
                .map(|b| format!("record {}: {}", b.seq, b.problem)),
            problems: report.problems,
            millis: started.elapsed().as_millis(),
            finished_at: crate::store::now_ms(),
            error,
        }
    };
    match store.verify_trail_now().await {
        Ok(report) => finished(Some(report), None),
        Err(e) => finished(None, Some(e.to_string())),
    }
}

async fn render_page(
    state: &HttpState,
    session: &Session,
    before: Option<i64>,
) -> Result<String, ConsoleError> {
    let verification = state.console.verification.current();
    let head = state.store.trail_head().await?;
    // Records are numbered from 1 without gaps and never deleted (an append-only trigger on
    // PostgreSQL; the chain verifier reports any missing seq), so the head's seq is how many
    // there are: a `COUNT(*)` would read all 100,000 on every view.
    let count = head.seq;
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
    Ok(Html(render_page(&state, &session, before).await?))
}

pub async fn verify(
    State(state): State<HttpState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> Result<Html<String>, ConsoleError> {
    session.check_csrf(form.csrf.as_deref())?;
    let mut done = state.console.verification.start(state.store.clone());
    // Up to VERIFY_WAIT for the result; past that the page says the check goes on.
    let _ = tokio::time::timeout(
        VERIFY_WAIT,
        done.wait_for(|state| matches!(state, VerifyState::Done(_))),
    )
    .await;
    Ok(Html(render_page(&state, &session, None).await?))
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
