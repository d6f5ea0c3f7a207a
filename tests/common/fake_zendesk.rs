//! A fake Zendesk: records internal notes, lists them back as comments, and can be told to
//! answer the next requests with failures (429 with Retry-After, 500, …).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct PostedNote {
    pub ticket_id: String,
    pub html_body: String,
    pub public: bool,
    pub at: Instant,
}

#[derive(Debug, Clone, Copy)]
pub struct Canned {
    pub status: u16,
    pub retry_after: Option<u64>,
}

#[derive(Default)]
struct Inner {
    notes: Vec<PostedNote>,
    failures: VecDeque<Canned>,
    requests: Vec<(String, Instant, u16)>,
    bad_auth: usize,
    delay: Duration,
    broken_tickets: std::collections::HashMap<String, u16>,
}

#[derive(Clone)]
pub struct FakeZendesk {
    addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

const AUTH: &str = "Basic Ym90QGV4YW1wbGUuY29tL3Rva2VuOmFwaS10b2tlbg=="; // bot@example.com/token:api-token

impl FakeZendesk {
    pub async fn start() -> FakeZendesk {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/api/v2/tickets/{file}", put(update_ticket))
            .route("/api/v2/tickets/{id}/comments.json", get(comments))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeZendesk { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next requests get these answers, in order, before normal service resumes.
    pub fn fail_next(&self, answers: impl IntoIterator<Item = Canned>) {
        self.inner.lock().unwrap().failures.extend(answers);
    }

    /// Answers every note request this much later (after recording it): widens the window in
    /// which a worker can die between posting and recording.
    pub fn set_delay(&self, delay: Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    /// Every note request for `ticket` gets `status` until `repair_ticket`.
    pub fn break_ticket(&self, ticket: &str, status: u16) {
        self.inner
            .lock()
            .unwrap()
            .broken_tickets
            .insert(ticket.into(), status);
    }

    pub fn repair_ticket(&self, ticket: &str) {
        self.inner.lock().unwrap().broken_tickets.remove(ticket);
    }

    pub fn notes(&self) -> Vec<PostedNote> {
        self.inner.lock().unwrap().notes.clone()
    }

    /// How many notes each ticket received (the exactly-once checks).
    pub fn notes_per_ticket(&self) -> std::collections::HashMap<String, usize> {
        let mut counts = std::collections::HashMap::new();
        for n in self.notes() {
            *counts.entry(n.ticket_id).or_insert(0) += 1;
        }
        counts
    }

    pub fn notes_for(&self, ticket: &str) -> Vec<PostedNote> {
        self.notes()
            .into_iter()
            .filter(|n| n.ticket_id == ticket)
            .collect()
    }

    /// (path, when, status) of every note request.
    pub fn requests(&self) -> Vec<(String, Instant, u16)> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn bad_auth_count(&self) -> usize {
        self.inner.lock().unwrap().bad_auth
    }

    /// Adds a note as if it had been posted by a worker that then crashed.
    pub fn insert_note(&self, ticket_id: &str, html_body: &str) {
        self.inner.lock().unwrap().notes.push(PostedNote {
            ticket_id: ticket_id.into(),
            html_body: html_body.into(),
            public: false,
            at: Instant::now(),
        });
    }

    pub async fn wait_for_notes(&self, n: usize, timeout: Duration) -> Vec<PostedNote> {
        let deadline = Instant::now() + timeout;
        loop {
            let notes = self.notes();
            if notes.len() >= n || Instant::now() > deadline {
                return notes;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn update_ticket(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(file): Path<String>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let (response, delay) = record_update(&inner, &file, &headers, &body);
    tokio::time::sleep(delay).await;
    response
}

fn record_update(
    inner: &Mutex<Inner>,
    file: &str,
    headers: &HeaderMap,
    body: &serde_json::Value,
) -> (Response, Duration) {
    let mut inner = inner.lock().unwrap();
    let delay = inner.delay;
    (respond(&mut inner, file, headers, body), delay)
}

fn respond(
    inner: &mut Inner,
    file: &str,
    headers: &HeaderMap,
    body: &serde_json::Value,
) -> Response {
    let file = file.to_string();
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTH) {
        inner.bad_auth += 1;
        return (StatusCode::UNAUTHORIZED, "Couldn't authenticate you").into_response();
    }
    let now = Instant::now();
    if let Some(status) = inner
        .broken_tickets
        .get(file.trim_end_matches(".json"))
        .copied()
    {
        inner.requests.push((file.clone(), now, status));
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    if let Some(canned) = inner.failures.pop_front() {
        inner.requests.push((file.clone(), now, canned.status));
        let mut response = StatusCode::from_u16(canned.status).unwrap().into_response();
        if let Some(secs) = canned.retry_after {
            response
                .headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return response;
    }
    inner.requests.push((file.clone(), now, 200));
    let ticket_id = file.trim_end_matches(".json").to_string();
    let comment = &body["ticket"]["comment"];
    let html_body = comment["html_body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let public = comment["public"].as_bool().unwrap_or(true);
    inner.notes.push(PostedNote {
        ticket_id: ticket_id.clone(),
        html_body,
        public,
        at: now,
    });
    let id = inner.notes.len() as u64 + 70_000;
    Json(serde_json::json!({
        "ticket": {"id": ticket_id.parse::<u64>().unwrap_or(0)},
        "audit": {"id": id + 1, "events": [{"id": id, "type": "Comment", "public": false}]}
    }))
    .into_response()
}

async fn comments(State(inner): State<Arc<Mutex<Inner>>>, Path(id): Path<String>) -> Response {
    let inner = inner.lock().unwrap();
    let comments: Vec<_> = inner
        .notes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.ticket_id == id)
        .rev()
        .map(|(i, n)| serde_json::json!({"id": 70_000 + i as u64 + 1, "html_body": n.html_body, "body": n.html_body, "public": n.public}))
        .collect();
    Json(serde_json::json!({"comments": comments, "next_page": null, "count": comments.len()}))
        .into_response()
}
