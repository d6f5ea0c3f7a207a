//! A fake Zammad, written from Zammad's REST API documentation (docs.zammad.org/en/latest/api/):
//! - `POST /api/v1/ticket_articles` creates an article (`ticket_id`, `body`, `content_type`,
//!   `type`, `internal`) and answers `201` with the article (api/ticket/articles.html);
//! - `GET /api/v1/ticket_articles/by_ticket/{id}` lists the ticket's articles, oldest first;
//! - `GET /api/v1/tags?object=Ticket&o_id={id}` answers `{"tags": [...]}` (api/ticket/tags.html);
//! - `GET /api/v1/users/me` answers the token's user, `GET /api/v1/users/{id}` any user with
//!   its `email` (`""` when it has none; 404 for no such user) (api/user.html, "Me", "Show");
//! - every request needs `Authorization: Token token=<token>` (api/intro.html), else `401`
//!   with `{"error": "authentication failed"}`; an unknown ticket is `404`
//!   (`{"error": "Couldn't find Ticket with 'id'=…"}`), an article without a body `422`.
//!
//! It also builds the trigger webhooks Zammad would send (`webhook`), in the default payload
//! (`{"ticket": …, "article": …}`, admin documentation, Webhook payload) and signed like
//! Zammad (`X-Hub-Signature: sha1=…`, `X-Zammad-Delivery`, `X-Zammad-Trigger`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const API_TOKEN: &str = "test-zammad-api-token";
pub const SIGNATURE_TOKEN: &str = "test-zammad-signature-token";
/// The token's user: the creator of every article posted through the API.
pub const API_USER_ID: u64 = 3;

pub use super::fake_zendesk::Canned;

#[derive(Debug, Clone)]
pub struct Article {
    pub id: u64,
    pub ticket_id: String,
    pub body: String,
    pub content_type: String,
    pub kind: String,
    pub internal: bool,
    pub sender: String,
    pub created_by_id: u64,
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: String,
    pub title: String,
    pub customer_id: u64,
    pub state: String,
    pub tags: Vec<String>,
}

#[derive(Default)]
struct Inner {
    tickets: BTreeMap<String, Ticket>,
    articles: Vec<Article>,
    next_article: u64,
    failures: VecDeque<Canned>,
    /// While set, every request gets this answer.
    outage: Option<Canned>,
    /// Requests answered with a canned failure.
    refused: usize,
    /// User id → e-mail address (`""`: none).
    users: BTreeMap<u64, String>,
    /// Users shown (`GET /api/v1/users/{id}`), by id.
    users_shown: Vec<u64>,
    deliveries: u64,
}

#[derive(Clone)]
pub struct FakeZammad {
    addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeZammad {
    pub async fn start() -> FakeZammad {
        let inner = Arc::new(Mutex::new(Inner {
            next_article: 1000,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/v1/ticket_articles", post(create_article))
            .route("/api/v1/ticket_articles/by_ticket/{id}", get(by_ticket))
            .route("/api/v1/tags", get(tags))
            .route("/api/v1/users/me", get(me))
            .route("/api/v1/users/{id}", get(show_user))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeZammad { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn fail_next(&self, answers: impl IntoIterator<Item = Canned>) {
        self.inner.lock().unwrap().failures.extend(answers);
    }

    pub fn start_outage(&self, answer: Canned) {
        self.inner.lock().unwrap().outage = Some(answer);
    }

    pub fn end_outage(&self) {
        self.inner.lock().unwrap().outage = None;
    }

    /// A user Zammad knows, with this e-mail address (`""`: none).
    pub fn add_user(&self, id: u64, email: &str) {
        self.inner
            .lock()
            .unwrap()
            .users
            .insert(id, email.to_string());
    }

    /// The users read through Show, in order.
    pub fn users_shown(&self) -> Vec<u64> {
        self.inner.lock().unwrap().users_shown.clone()
    }

    /// Requests answered with a canned failure so far (`fail_next` or an outage).
    pub fn refused_count(&self) -> usize {
        self.inner.lock().unwrap().refused
    }

    /// A ticket Zammad knows, created by its customer with a first article; returns the
    /// trigger webhook of its creation.
    pub fn create_ticket(
        &self,
        id: &str,
        title: &str,
        customer_id: u64,
        body: &str,
        tags: &[&str],
    ) -> Webhook {
        {
            let mut inner = self.inner.lock().unwrap();
            inner.tickets.insert(
                id.into(),
                Ticket {
                    id: id.into(),
                    title: title.into(),
                    customer_id,
                    state: "new".into(),
                    tags: tags.iter().map(|t| t.to_string()).collect(),
                },
            );
        }
        self.add_article(id, "Customer", customer_id, false, body)
    }

    /// An article as Zammad creates it from an e-mail or the agent interface (HTML body);
    /// returns the trigger webhook for it.
    pub fn add_article(
        &self,
        ticket: &str,
        sender: &str,
        created_by_id: u64,
        internal: bool,
        html: &str,
    ) -> Webhook {
        let mut inner = self.inner.lock().unwrap();
        inner.next_article += 1;
        let article = Article {
            id: inner.next_article,
            ticket_id: ticket.into(),
            body: html.into(),
            content_type: "text/html".into(),
            kind: if internal {
                "note".into()
            } else {
                "email".into()
            },
            internal,
            sender: sender.into(),
            created_by_id,
        };
        inner.articles.push(article.clone());
        webhook(&mut inner, ticket, Some(&article))
    }

    /// Articles the API created (the service's notes).
    pub fn notes(&self) -> Vec<Article> {
        self.inner
            .lock()
            .unwrap()
            .articles
            .iter()
            .filter(|a| a.created_by_id == API_USER_ID)
            .cloned()
            .collect()
    }

    pub fn notes_for(&self, ticket: &str) -> Vec<Article> {
        self.notes()
            .into_iter()
            .filter(|a| a.ticket_id == ticket)
            .collect()
    }

    pub async fn wait_for_notes(&self, n: usize, timeout: Duration) -> Vec<Article> {
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

/// A trigger webhook: its body and headers, as Zammad sends it.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub body: String,
    pub delivery: String,
}

impl Webhook {
    /// Sends it to `url`, signed with `token` (`None`: no signature token on the webhook).
    pub async fn send(
        &self,
        http: &reqwest::Client,
        url: &str,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut request = http
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "Zammad User Agent")
            .header("x-zammad-trigger", "onbehalf")
            .header("x-zammad-delivery", &self.delivery)
            .body(self.body.clone());
        if let Some(token) = token {
            request = request.header(
                "x-hub-signature",
                onbehalf::helpdesk::zammad::ZammadSignature::sign(token, self.body.as_bytes()),
            );
        }
        request.send().await.expect("request sent")
    }
}

fn webhook(inner: &mut Inner, ticket: &str, article: Option<&Article>) -> Webhook {
    inner.deliveries += 1;
    let t = inner.tickets.get(ticket).cloned().unwrap_or(Ticket {
        id: ticket.into(),
        title: String::new(),
        customer_id: 0,
        state: "open".into(),
        tags: vec![],
    });
    let article_ids: Vec<u64> = inner
        .articles
        .iter()
        .filter(|a| a.ticket_id == ticket)
        .map(|a| a.id)
        .collect();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = serde_json::json!({
        "ticket": {
            "id": t.id.parse::<u64>().unwrap_or(0), "number": format!("{}001", t.id),
            "title": t.title, "customer_id": t.customer_id, "state": t.state,
            "priority": "2 normal", "group": "Users", "tags": t.tags,
            "article_ids": article_ids, "article_count": article_ids.len(),
            "created_at": now, "updated_at": now,
            "customer": {"id": t.customer_id, "email": "customer@example.com"},
        },
        "article": article.map(|a| serde_json::json!({
            "id": a.id, "ticket_id": a.ticket_id.parse::<u64>().unwrap_or(0),
            "sender": a.sender, "type": a.kind, "internal": a.internal,
            "from": if a.sender == "Customer" { format!("user{}@example.com", a.created_by_id) } else { "Agent <agent@example.com>".to_string() },
            "body": a.body, "content_type": a.content_type,
            "created_by_id": a.created_by_id, "created_at": now,
            "created_by": {"id": a.created_by_id},
        })),
    });
    Webhook {
        body: body.to_string(),
        delivery: format!("job-{}-{}", std::process::id(), inner.deliveries),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({"error": message}))).into_response()
}

/// Canned failure or bad token; `None`: serve the request.
fn refuse(inner: &mut Inner, headers: &HeaderMap) -> Option<Response> {
    if let Some(canned) = inner.failures.pop_front().or(inner.outage) {
        inner.refused += 1;
        let mut response = error(
            StatusCode::from_u16(canned.status).unwrap(),
            "canned failure",
        );
        if let Some(secs) = canned.retry_after {
            response
                .headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return Some(response);
    }
    let expected = format!("Token token={API_TOKEN}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Some(error(StatusCode::UNAUTHORIZED, "authentication failed"));
    }
    None
}

fn article_json(a: &Article) -> serde_json::Value {
    serde_json::json!({
        "id": a.id, "ticket_id": a.ticket_id.parse::<u64>().unwrap_or(0), "body": a.body,
        "content_type": a.content_type, "type": a.kind, "internal": a.internal,
        "sender": a.sender, "created_by_id": a.created_by_id,
    })
}

async fn create_article(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = refuse(&mut inner, &headers) {
        return response;
    }
    let ticket = match &body["ticket_id"] {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => return error(StatusCode::UNPROCESSABLE_ENTITY, "Need ticket_id"),
    };
    if !inner.tickets.contains_key(&ticket) {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Couldn't find Ticket with 'id'={ticket}"),
        );
    }
    let Some(text) = body["body"].as_str().filter(|b| !b.is_empty()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Need body");
    };
    inner.next_article += 1;
    let article = Article {
        id: inner.next_article,
        ticket_id: ticket,
        body: text.into(),
        content_type: body["content_type"].as_str().unwrap_or("text/plain").into(),
        kind: body["type"].as_str().unwrap_or("note").into(),
        // Zammad's default for an agent's article is not internal: only what is asked for.
        internal: body["internal"].as_bool().unwrap_or(false),
        sender: "Agent".into(),
        created_by_id: API_USER_ID,
    };
    inner.articles.push(article.clone());
    (StatusCode::CREATED, Json(article_json(&article))).into_response()
}

async fn by_ticket(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = refuse(&mut inner, &headers) {
        return response;
    }
    if !inner.tickets.contains_key(&id) {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Couldn't find Ticket with 'id'={id}"),
        );
    }
    let list: Vec<serde_json::Value> = inner
        .articles
        .iter()
        .filter(|a| a.ticket_id == id)
        .map(article_json)
        .collect();
    Json(list).into_response()
}

async fn tags(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = refuse(&mut inner, &headers) {
        return response;
    }
    if query.get("object").map(String::as_str) != Some("Ticket") {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "Need object");
    }
    match query.get("o_id").and_then(|id| inner.tickets.get(id)) {
        Some(ticket) => Json(serde_json::json!({"tags": ticket.tags})).into_response(),
        None => error(StatusCode::NOT_FOUND, "Couldn't find Ticket"),
    }
}

async fn me(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = refuse(&mut inner, &headers) {
        return response;
    }
    Json(serde_json::json!({"id": API_USER_ID, "login": "onbehalf@example.com", "active": true}))
        .into_response()
}

async fn show_user(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    if let Some(response) = refuse(&mut inner, &headers) {
        return response;
    }
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, "Couldn't find User");
    };
    inner.users_shown.push(id);
    match inner.users.get(&id) {
        Some(email) => Json(serde_json::json!({
            "id": id, "login": email, "firstname": "Alice", "lastname": "Example",
            "email": email, "active": true, "note": "",
        }))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("Couldn't find User with 'id'={id}"),
        ),
    }
}
