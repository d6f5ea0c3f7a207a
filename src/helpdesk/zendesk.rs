//! Zendesk REST client: internal notes through `PUT /api/v2/tickets/{id}.json`.
//!
//! Throttling is expected (plan limits of a few hundred requests a minute): requests pass a
//! rate limiter shared by the process's workers, a `429` is waited out in place when its
//! `Retry-After` is short, and handed back to the queue's retry path when it is long.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use super::{Helpdesk, HelpdeskError, NoteMode};
use crate::config::Secret;

/// Waits longer than this are not spent holding a worker: the event goes back to the queue.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(10);
const ATTEMPTS: u32 = 3;

pub struct ZendeskClient {
    http: reqwest::Client,
    base: Url,
    /// Marked sensitive: kept out of `Debug` output and HTTP/2 header compression tables.
    authorization: HeaderValue,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// The API user's id (Show Self), read once: only its own private comments are its notes.
    own_user_id: tokio::sync::OnceCell<String>,
}

/// Zendesk ids are positive integers ("id: integer, read-only"); at most 20 digits fits u64.
/// Only such an id may go into a URL path (`Url::join` would resolve `..`, `?` or `#`).
pub fn is_ticket_id(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) && !id.starts_with('0')
}

fn checked_ticket_id(id: &str) -> Result<&str, HelpdeskError> {
    if is_ticket_id(id) {
        Ok(id)
    } else {
        Err(HelpdeskError::Permanent(format!(
            "{:?} is not a Zendesk ticket id",
            id.chars().take(40).collect::<String>()
        )))
    }
}

/// The largest answer read from an update or Show Self: one ticket with its audit.
const MAX_ANSWER: usize = 2 * 1024 * 1024;
/// The most of an error answer kept for the message.
const MAX_ERROR_ANSWER: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct ZendeskOptions {
    pub base_url: String,
    pub email: String,
    pub api_token: Secret,
    pub timeout: Duration,
    pub requests_per_minute: u32,
}

impl ZendeskClient {
    pub fn new(options: &ZendeskOptions) -> Result<ZendeskClient, HelpdeskError> {
        let base = Url::parse(&options.base_url)
            .map_err(|e| HelpdeskError::Permanent(format!("Zendesk URL: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("onbehalf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HelpdeskError::Permanent(format!("HTTP client: {e}")))?;
        let credentials = format!("{}/token:{}", options.email, options.api_token.expose());
        let mut authorization = HeaderValue::from_str(&format!(
            "Basic {}",
            BASE64.encode(credentials)
        ))
        .map_err(|_| {
            HelpdeskError::Permanent("Zendesk e-mail or token is not a valid header value".into())
        })?;
        authorization.set_sensitive(true);
        let per_minute =
            NonZeroU32::new(options.requests_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Ok(ZendeskClient {
            http,
            base,
            authorization,
            limiter: Arc::new(RateLimiter::direct(Quota::per_minute(per_minute))),
            own_user_id: tokio::sync::OnceCell::new(),
        })
    }

    fn url(&self, path: &str) -> Result<Url, HelpdeskError> {
        self.base
            .join(path)
            .map_err(|e| HelpdeskError::Permanent(format!("bad URL {path}: {e}")))
    }

    /// Sends with rate limiting and in-place retries of short throttles and 5xx.
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, HelpdeskError> {
        let mut last = HelpdeskError::Transient("no attempt made".into());
        for attempt in 1..=ATTEMPTS {
            self.limiter.until_ready().await;
            let response = build()
                .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
                .send()
                .await;
            let status_label;
            let error = match response {
                Ok(r) if r.status().is_success() => {
                    metrics::counter!("onbehalf_helpdesk_requests_total", "status" => r.status().as_u16().to_string()).increment(1);
                    return Ok(r);
                }
                Ok(r) => {
                    status_label = r.status().as_u16().to_string();
                    metrics::counter!("onbehalf_helpdesk_requests_total", "status" => status_label)
                        .increment(1);
                    classify_failure(r).await
                }
                Err(e) => {
                    metrics::counter!("onbehalf_helpdesk_requests_total", "status" => "error")
                        .increment(1);
                    HelpdeskError::Transient(format!("request failed: {}", without_url(&e)))
                }
            };
            let wait = match &error {
                HelpdeskError::RateLimited { retry_after } if *retry_after <= MAX_INLINE_WAIT => {
                    *retry_after
                }
                HelpdeskError::Transient(_) => Duration::from_millis(250 * 2u64.pow(attempt)),
                _ => return Err(error),
            };
            last = error;
            if attempt < ATTEMPTS {
                tracing::debug!(?wait, attempt, "helpdesk asked us to wait");
                tokio::time::sleep(wait).await;
            }
        }
        Err(last)
    }
}

/// reqwest's error text includes the URL; keep messages short and free of query strings.
fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(i) = e.find(" for url") {
        e.truncate(i);
    }
    e
}

async fn classify_failure(response: reqwest::Response) -> HelpdeskError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status {
        StatusCode::TOO_MANY_REQUESTS => HelpdeskError::RateLimited {
            retry_after: retry_after.unwrap_or(Duration::from_secs(10)),
        },
        StatusCode::CONFLICT => {
            HelpdeskError::Transient("409 conflict: ticket changed meanwhile".into())
        }
        s if s.is_server_error() => HelpdeskError::Transient(format!("Zendesk answered {s}")),
        s => {
            // Zendesk's error bodies name the problem ("RecordInvalid", closed ticket…).
            let detail: String = bounded_body(response, MAX_ERROR_ANSWER)
                .await
                .map(|body| String::from_utf8_lossy(&body).chars().take(200).collect())
                .unwrap_or_default();
            HelpdeskError::Permanent(format!("Zendesk answered {s}: {detail}"))
        }
    }
}

#[derive(Deserialize)]
struct CommentsPage {
    #[serde(default)]
    comments: Vec<RemoteComment>,
}

#[derive(Deserialize)]
struct RemoteComment {
    id: serde_json::Value,
    #[serde(default)]
    author_id: Option<serde_json::Value>,
    /// Zendesk always sends it; a comment without it is not trusted to be private.
    #[serde(default = "yes")]
    public: bool,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_body: Option<String>,
    #[serde(default)]
    plain_body: Option<String>,
}

/// One page of `List Comments` with cursor pagination.
#[derive(Deserialize)]
struct CursorPage {
    #[serde(default)]
    comments: Vec<ListedComment>,
    #[serde(default)]
    meta: Option<CursorMeta>,
}

#[derive(Deserialize)]
struct CursorMeta {
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    after_cursor: Option<String>,
}

/// A ticket comment as `List Comments` returns it: the fields the audit reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ListedComment {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "optional_id_string")]
    pub author_id: Option<String>,
    /// `false` for an internal note.
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub html_body: Option<String>,
    #[serde(default)]
    pub plain_body: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

impl ListedComment {
    /// Every text form Zendesk gave of the comment.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        [&self.html_body, &self.plain_body, &self.body]
            .into_iter()
            .flatten()
            .map(String::as_str)
    }
}

fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    serde_json::Value::deserialize(d).map(|v| id_text(&v))
}

fn optional_id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(d)?
        .filter(|v| !v.is_null())
        .map(|v| id_text(&v)))
}

/// A page of comments is at most 100 comments of at most 64 KiB of text each, in up to three
/// forms; anything far beyond that is not Zendesk.
const MAX_COMMENTS_PAGE: usize = 32 * 1024 * 1024;

async fn bounded_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, HelpdeskError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        HelpdeskError::Transient(format!("reading the answer failed: {}", without_url(&e)))
    })? {
        if body.len() + chunk.len() > limit {
            return Err(HelpdeskError::Permanent(format!(
                "Zendesk's answer exceeds {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl ZendeskClient {
    /// Every comment of a ticket, oldest first, public and internal, through `List Comments`
    /// with cursor pagination: `GET /api/v2/tickets/{id}/comments.json?page[size]=100`, then
    /// `page[after]=<meta.after_cursor>` while `meta.has_more`.
    /// (developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments;
    /// developer.zendesk.com/documentation/api-basics/pagination/paginating-through-lists-using-cursor-pagination/)
    pub async fn list_comments(
        &self,
        ticket_id: &str,
    ) -> Result<Vec<ListedComment>, HelpdeskError> {
        let ticket_id = checked_ticket_id(ticket_id)?;
        let mut comments = vec![];
        let mut after: Option<String> = None;
        loop {
            let mut url = self.url(&format!("/api/v2/tickets/{ticket_id}/comments.json"))?;
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("page[size]", "100");
                if let Some(cursor) = &after {
                    query.append_pair("page[after]", cursor);
                }
            }
            let response = self.send(|| self.http.get(url.clone())).await?;
            let body = bounded_body(response, MAX_COMMENTS_PAGE).await?;
            let page: CursorPage = serde_json::from_slice(&body)
                .map_err(|e| HelpdeskError::Transient(format!("unreadable comments page: {e}")))?;
            comments.extend(page.comments);
            match page.meta {
                Some(CursorMeta {
                    has_more: true,
                    after_cursor: Some(cursor),
                }) if after.as_ref() != Some(&cursor) => after = Some(cursor),
                _ => return Ok(comments),
            }
        }
    }
}

#[derive(Deserialize)]
struct UpdateResponse {
    #[serde(default)]
    audit: Option<Audit>,
}

#[derive(Deserialize)]
struct Audit {
    #[serde(default)]
    events: Vec<AuditEvent>,
}

#[derive(Deserialize)]
struct AuditEvent {
    id: serde_json::Value,
    #[serde(rename = "type", default)]
    kind: String,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct SelfAnswer {
    user: SelfUser,
}

#[derive(Deserialize)]
struct SelfUser {
    id: serde_json::Value,
}

impl ZendeskClient {
    /// The id of the user the API token belongs to: `GET /api/v2/users/me.json` (Show Self,
    /// developer.zendesk.com/api-reference/ticketing/users/users/#show-self), read once.
    async fn own_user_id(&self) -> Result<&str, HelpdeskError> {
        self.own_user_id
            .get_or_try_init(|| async {
                let url = self.url("/api/v2/users/me.json")?;
                let response = self.send(|| self.http.get(url.clone())).await?;
                let body = bounded_body(response, MAX_ANSWER).await?;
                let answer: SelfAnswer = serde_json::from_slice(&body).map_err(|e| {
                    HelpdeskError::Transient(format!("unreadable Show Self answer: {e}"))
                })?;
                let id = id_text(&answer.user.id);
                // An anonymous answer has a null id: such a user owns no notes.
                if id.is_empty() || id == "null" {
                    return Err(HelpdeskError::Permanent(
                        "Zendesk did not say which user the API token belongs to".into(),
                    ));
                }
                Ok(id)
            })
            .await
            .map(String::as_str)
    }
}

fn id_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[async_trait]
impl Helpdesk for ZendeskClient {
    fn mode(&self) -> NoteMode {
        NoteMode::Posted
    }

    /// Only the service's own private comments count: a customer who pastes a note's
    /// reference into a public reply must not stop that note from being posted.
    async fn find_note(
        &self,
        ticket_id: &str,
        reference: &str,
    ) -> Result<Option<String>, HelpdeskError> {
        let ticket_id = checked_ticket_id(ticket_id)?;
        let own_user_id = self.own_user_id().await?;
        let url = self.url(&format!(
            "/api/v2/tickets/{ticket_id}/comments.json?sort_order=desc&per_page=100"
        ))?;
        let response = self.send(|| self.http.get(url.clone())).await?;
        let body = bounded_body(response, MAX_COMMENTS_PAGE).await?;
        let page: CommentsPage = serde_json::from_slice(&body)
            .map_err(|e| HelpdeskError::Transient(format!("unreadable comments page: {e}")))?;
        Ok(page
            .comments
            .into_iter()
            .find(|c| {
                !c.public
                    && c.author_id.as_ref().map(id_text).as_deref() == Some(own_user_id)
                    && [&c.html_body, &c.body, &c.plain_body]
                        .into_iter()
                        .flatten()
                        .any(|text| text.contains(reference))
            })
            .map(|c| id_text(&c.id)))
    }

    async fn add_internal_note(
        &self,
        ticket_id: &str,
        html_body: &str,
    ) -> Result<Option<String>, HelpdeskError> {
        let ticket_id = checked_ticket_id(ticket_id)?;
        let url = self.url(&format!("/api/v2/tickets/{ticket_id}.json"))?;
        let payload = serde_json::json!({
            "ticket": {"comment": {"html_body": html_body, "public": false}}
        });
        let response = self
            .send(|| self.http.put(url.clone()).json(&payload))
            .await?;
        let parsed: Option<UpdateResponse> = bounded_body(response, MAX_ANSWER)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice(&body).ok());
        Ok(parsed
            .and_then(|r| r.audit)
            .and_then(|a| a.events.into_iter().find(|e| e.kind == "Comment"))
            .map(|e| id_text(&e.id)))
    }
}
