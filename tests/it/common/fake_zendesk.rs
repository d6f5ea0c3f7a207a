//! A fake Zendesk: records internal notes, lists them back as comments (the List Comments
//! endpoint with its offset and cursor pagination), and can be told to answer the next
//! requests with failures (429 with Retry-After, 500, …). Tickets made through `world` are
//! also readable as the REST API shows them (ticket, audits, comments, incremental export).

pub mod world;

use axum::extract::{Path, Query, State};
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canned {
    pub status: u16,
    pub retry_after: Option<u64>,
}

#[derive(Default)]
struct Inner {
    notes: Vec<PostedNote>,
    /// `GET …/comments.json` requests served.
    comment_requests: usize,
    failures: VecDeque<Canned>,
    requests: Vec<(String, Instant, u16)>,
    delay: Duration,
    broken_tickets: std::collections::HashMap<String, u16>,
    world: world::World,
    /// Export requests served, and the answers the next ones get.
    export_requests: Vec<Instant>,
    export_failures: VecDeque<Canned>,
    /// While set, every request to any endpoint gets this answer (a Zendesk incident, a
    /// revoked token).
    outage: Option<Canned>,
    /// Requests refused during an outage.
    outage_answers: usize,
    /// Users' primary e-mail addresses (Show User); a user not listed is not found.
    user_emails: std::collections::HashMap<String, String>,
}

#[derive(Clone)]
pub struct FakeZendesk {
    addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

pub const API_TOKEN: &str = "test-zendesk-api-token";
const AUTH: &str = "Basic Ym90QGV4YW1wbGUuY29tL3Rva2VuOnRlc3QtemVuZGVzay1hcGktdG9rZW4="; // bot@example.com/token:test-zendesk-api-token
/// The API user: the author of every internal note posted through the API.
const API_USER_ID: u64 = 9000;

impl FakeZendesk {
    pub async fn start() -> FakeZendesk {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route(
                "/api/v2/tickets/{file}",
                put(update_ticket).get(show_ticket),
            )
            .route("/api/v2/tickets/{id}/comments.json", get(comments))
            .route("/api/v2/tickets/{id}/audits.json", get(audits))
            .route("/api/v2/incremental/tickets/cursor.json", get(export))
            .route("/api/v2/users/{file}", get(show_user))
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

    /// Every request to any endpoint gets `answer` until `end_outage`.
    pub fn start_outage(&self, answer: Canned) {
        self.inner.lock().unwrap().outage = Some(answer);
    }

    pub fn end_outage(&self) {
        self.inner.lock().unwrap().outage = None;
    }

    /// Requests answered with the outage's status so far.
    pub fn outage_answers(&self) -> usize {
        self.inner.lock().unwrap().outage_answers
    }

    /// Show User answers this primary e-mail address for the user.
    pub fn set_user_email(&self, user_id: &str, email: &str) {
        self.inner
            .lock()
            .unwrap()
            .user_emails
            .insert(user_id.into(), email.into());
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

    /// Adds a note as if it had been posted by a worker that then crashed.
    pub fn insert_note(&self, ticket_id: &str, html_body: &str) {
        self.insert_comment(ticket_id, html_body, false);
    }

    /// Adds a comment (public: as a customer's reply) without going through the API.
    pub fn insert_comment(&self, ticket_id: &str, html_body: &str, public: bool) {
        self.inner.lock().unwrap().notes.push(PostedNote {
            ticket_id: ticket_id.into(),
            html_body: html_body.into(),
            public,
        });
    }

    /// How many comment-list requests were served.
    pub fn comment_requests(&self) -> usize {
        self.inner.lock().unwrap().comment_requests
    }

    /// A ticket the REST API knows: created by the requester at `at` (RFC 3339).
    pub fn create_ticket(
        &self,
        id: &str,
        subject: &str,
        description: &str,
        tags: &[&str],
        at: &str,
    ) {
        self.inner
            .lock()
            .unwrap()
            .world
            .create(id, subject, description, tags, at);
    }

    /// A comment on a ticket of the world; returns its id.
    pub fn add_comment(
        &self,
        id: &str,
        author: &str,
        public: bool,
        body: &str,
        at: &str,
    ) -> String {
        self.inner
            .lock()
            .unwrap()
            .world
            .comment(id, author, public, body, at)
    }

    pub fn change_tags(&self, id: &str, add: &[&str], remove: &[&str], at: &str) {
        self.inner
            .lock()
            .unwrap()
            .world
            .change_tags(id, add, remove, at);
    }

    /// The webhooks Zendesk would have sent for the ticket's changes, in order.
    pub fn webhooks(&self, id: &str) -> Vec<serde_json::Value> {
        self.inner.lock().unwrap().world.tickets[id]
            .webhooks
            .clone()
    }

    /// When each incremental export request came.
    pub fn export_requests(&self) -> Vec<Instant> {
        self.inner.lock().unwrap().export_requests.clone()
    }

    /// The next export requests get these answers, in order.
    pub fn fail_export_next(&self, answers: impl IntoIterator<Item = Canned>) {
        self.inner.lock().unwrap().export_failures.extend(answers);
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

/// The outage's answer, if one is running.
fn outage_answer(inner: &mut Inner) -> Option<Response> {
    let canned = inner.outage?;
    inner.outage_answers += 1;
    let mut response = StatusCode::from_u16(canned.status).unwrap().into_response();
    if let Some(secs) = canned.retry_after {
        response
            .headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    Some(response)
}

/// The outage's answer, or 401 without the API credentials.
fn refused(inner: &mut Inner, headers: &HeaderMap) -> Option<Response> {
    if let Some(response) = outage_answer(inner) {
        return Some(response);
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTH) {
        return Some((StatusCode::UNAUTHORIZED, "Couldn't authenticate you").into_response());
    }
    None
}

/// `GET /api/v2/users/{id}.json` (Show User,
/// developer.zendesk.com/api-reference/ticketing/users/users/#show-user): `{"user": {…,
/// "email": …}}`, 404 `RecordNotFound` for an unknown id; `me.json` is Show Self.
async fn show_user(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    if file == "me.json" {
        return show_self(State(inner), headers).await;
    }
    let mut inner = inner.lock().unwrap();
    if let Some(response) = refused(&mut inner, &headers) {
        return response;
    }
    let id = file.strip_suffix(".json").unwrap_or(&file);
    match inner.user_emails.get(id) {
        Some(email) => Json(serde_json::json!({"user": {
            "id": id.parse::<u64>().unwrap_or(0), "name": "Someone", "email": email, "role": "end-user"
        }}))
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "RecordNotFound", "description": "Not found"})),
        )
            .into_response(),
    }
}

/// `GET /api/v2/users/me.json` (Show Self): the API user.
async fn show_self(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = refused(&mut inner, &headers) {
        return response;
    }
    Json(serde_json::json!({"user": {"id": API_USER_ID, "email": "bot@example.com", "role": "agent"}}))
        .into_response()
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
    if let Some(response) = outage_answer(inner) {
        inner
            .requests
            .push((file, Instant::now(), response.status().as_u16()));
        return response;
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTH) {
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
    });
    let id = inner.notes.len() as u64 + 70_000;
    Json(serde_json::json!({
        "ticket": {"id": ticket_id.parse::<u64>().unwrap_or(0)},
        "audit": {"id": id + 1, "events": [{"id": id, "type": "Comment", "public": false}]}
    }))
    .into_response()
}

/// `GET /api/v2/tickets/{id}/comments.json`, as the Ticket Comments reference describes it
/// (developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments):
/// oldest first unless `sort_order=desc`; with `page[size]` (at most 100) cursor pagination
/// (`meta.has_more`, `meta.after_cursor`, `links.next`, then `page[after]=<cursor>`), otherwise
/// offset pagination (`per_page`, `page`, `next_page`, `count`).
async fn comments(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = outage_answer(&mut inner) {
        return response;
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTH) {
        return (StatusCode::UNAUTHORIZED, "Couldn't authenticate you").into_response();
    }
    inner.comment_requests += 1;
    let world: Vec<serde_json::Value> = inner
        .world
        .tickets
        .get(&id)
        .map(|t| t.comments.clone())
        .unwrap_or_default();
    let mut comments: Vec<serde_json::Value> = world;
    comments.extend(
        inner
            .notes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.ticket_id == id)
            .map(|(i, n)| {
                let author_id: u64 = if n.public { 1001 } else { API_USER_ID };
                serde_json::json!({
                    "id": 70_000 + i as u64 + 1, "type": "Comment", "author_id": author_id,
                    "body": strip_tags(&n.html_body), "html_body": n.html_body,
                    "plain_body": strip_tags(&n.html_body), "public": n.public,
                    "attachments": [], "via": {"channel": if n.public { "email" } else { "api" }},
                    "metadata": {"flags": []}, "created_at": "2025-01-08T10:00:00Z"
                })
            }),
    );
    if query.get("sort_order").map(String::as_str) == Some("desc") {
        comments.reverse();
    }
    let total = comments.len();
    if let Some(size) = query.get("page[size]") {
        let size = size.parse::<usize>().unwrap_or(100).clamp(1, 100);
        let start = query
            .get("page[after]")
            .and_then(|c| c.strip_prefix("cursor-"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
            .min(total);
        let end = (start + size).min(total);
        let has_more = end < total;
        let after = format!("cursor-{end}");
        let next = has_more.then(|| {
            format!(
                "/api/v2/tickets/{id}/comments.json?page%5Bsize%5D={size}&page%5Bafter%5D={after}"
            )
        });
        let mut page = serde_json::json!({
            "comments": &comments[start..end],
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": format!("cursor-{start}")},
            "links": {"next": next, "prev": null}
        });
        if query.get("include").map(String::as_str) == Some("users") {
            page["users"] = world::users(&comments[start..end]).into();
        }
        return Json(page).into_response();
    }
    let per_page = query
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let start = ((page - 1) * per_page).min(total);
    let end = (start + per_page).min(total);
    let next_page = (end < total).then(|| {
        format!(
            "/api/v2/tickets/{id}/comments.json?page={}&per_page={per_page}",
            page + 1
        )
    });
    Json(serde_json::json!({
        "comments": &comments[start..end], "next_page": next_page, "previous_page": null,
        "count": total
    }))
    .into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(AUTH)
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"error": "RecordNotFound", "description": "Not found"})),
    )
        .into_response()
}

/// `GET /api/v2/tickets/{id}.json`: `{"ticket": {...}}`.
async fn show_ticket(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = outage_answer(&mut inner) {
        return response;
    }
    if !authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "Couldn't authenticate you").into_response();
    }
    match inner.world.ticket_json(file.trim_end_matches(".json")) {
        Some(ticket) => Json(serde_json::json!({ "ticket": ticket })).into_response(),
        None => not_found(),
    }
}

/// `GET /api/v2/tickets/{id}/audits.json` with cursor pagination.
async fn audits(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = outage_answer(&mut inner) {
        return response;
    }
    if !authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "Couldn't authenticate you").into_response();
    }
    match inner
        .world
        .audits_page(&id, query.get("page[after]").map(String::as_str))
    {
        Some(page) => Json(page).into_response(),
        None => not_found(),
    }
}

/// `GET /api/v2/incremental/tickets/cursor.json?start_time=` or `?cursor=`.
async fn export(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = outage_answer(&mut inner) {
        return response;
    }
    if !authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, "Couldn't authenticate you").into_response();
    }
    inner.export_requests.push(Instant::now());
    if let Some(canned) = inner.export_failures.pop_front() {
        let mut response = StatusCode::from_u16(canned.status).unwrap().into_response();
        if let Some(secs) = canned.retry_after {
            response
                .headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return response;
    }
    let start_time = query.get("start_time").and_then(|t| t.parse::<i64>().ok());
    let cursor = query.get("cursor").map(String::as_str);
    if start_time.is_none() && cursor.is_none() {
        return (StatusCode::BAD_REQUEST, "start_time or cursor is required").into_response();
    }
    Json(inner.world.export_page(start_time, cursor)).into_response()
}

/// Zendesk's `plain_body`: the text without markup.
fn strip_tags(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}
