//! Zendesk: its webhooks (`signature`, `payload`, `trigger`, behind `integration`), its REST
//! client (this file: internal notes through `PUT /api/v2/tickets/{id}.json`; `history`: the
//! ticket read back for syncs) and its configuration section ([`ZendeskSection`]).
//!
//! Throttling is expected (plan limits of a few hundred requests a minute): requests take a
//! token from the account's budget (see [`super::budget`]), and a `Retry-After` on a 429 or
//! 503 holds every request of the budget until it has passed. Failures are told apart by
//! whose they are: the helpdesk's (5xx, timeouts, 401/403, 429: the caller pauses, see
//! [`crate::health`]), this request's (409) or this note's (404, 422: it can never post).

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::Url;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

use self::integration::NAME;
use crate::config::Secret;
use crate::health::Health;
use crate::helpdesk::budget::{ApiBudget, LocalBudget};
use crate::helpdesk::http::{self, Caller, Wording};
use crate::helpdesk::{Helpdesk, HelpdeskError, NoteMode};
use crate::workflow::{CommentId, TicketId};

pub mod history;
pub mod integration;
pub mod payload;
pub mod signature;
pub mod trigger;
pub mod users;

pub use integration::ZendeskIntegration;

/// Zendesk's API credentials (`zendesk_url`, `zendesk_email`, `zendesk_api_token`).
#[derive(Debug, Clone)]
pub struct ZendeskApi {
    pub url: String,
    pub email: String,
    pub api_token: Secret,
}

/// Zendesk's configuration section (`ONBEHALF_ZENDESK_*`, or the `[zendesk]` table).
#[derive(Debug, Clone)]
pub struct ZendeskSection {
    /// `None`: shadow mode, notes kept in the store.
    pub api: Option<ZendeskApi>,
    pub signing_secrets: Vec<Secret>,
    pub signature_tolerance_secs: u64,
    pub requests_per_minute: u32,
    pub timeout_secs: u64,
    /// Notes kept in the store even with credentials.
    pub shadow: bool,
}

impl ZendeskSection {
    /// The API client, when credentials are configured.
    pub fn client(&self) -> Result<Option<ZendeskClient>, HelpdeskError> {
        self.api
            .as_ref()
            .map(|api| {
                ZendeskClient::new(&ZendeskOptions {
                    base_url: api.url.clone(),
                    email: api.email.clone(),
                    api_token: api.api_token.clone(),
                    timeout: Duration::from_secs(self.timeout_secs),
                    requests_per_minute: self.requests_per_minute,
                })
            })
            .transpose()
    }

    /// The agent interface's base URL, for the notes' links.
    pub fn url(&self) -> Option<&str> {
        self.api.as_ref().map(|api| api.url.as_str())
    }
}

pub struct ZendeskClient {
    http: reqwest::Client,
    base: Url,
    /// Marked sensitive: kept out of `Debug` output and HTTP/2 header compression tables.
    authorization: HeaderValue,
    budget: Arc<dyn ApiBudget>,
    health: Health,
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
        Ok(ZendeskClient {
            http,
            base,
            authorization,
            budget: Arc::new(LocalBudget::new(options.requests_per_minute)),
            health: Health::default(),
            own_user_id: tokio::sync::OnceCell::new(),
        })
    }

    /// Spends `budget` (shared with other processes) instead of a budget of its own.
    pub fn with_budget(mut self, budget: Arc<dyn ApiBudget>) -> ZendeskClient {
        self.budget = budget;
        self
    }

    /// Reports whether the helpdesk answers to `health` (the workers pause on it).
    pub fn with_health(mut self, health: Health) -> ZendeskClient {
        health.register(crate::health::Dependency::Helpdesk(NAME));
        self.health = health;
        self
    }

    /// The account this client calls (its budget's key).
    pub fn account(&self) -> String {
        self.base.host_str().unwrap_or_default().to_string()
    }

    fn url(&self, path: &str) -> Result<Url, HelpdeskError> {
        self.base
            .join(path)
            .map_err(|e| HelpdeskError::Permanent(format!("bad URL {path}: {e}")))
    }

    /// Sends within the budget (see [`crate::helpdesk::http::Caller::send`]).
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, HelpdeskError> {
        Caller {
            budget: self.budget.as_ref(),
            health: &self.health,
            authorization: &self.authorization,
            wording: WORDING,
        }
        .send(build)
        .await
    }
}

/// Zendesk in error messages.
const WORDING: Wording = Wording {
    helpdesk: NAME,
    name: "Zendesk",
    conflict: "409 conflict: ticket changed meanwhile",
    credentials: "check ONBEHALF_ZENDESK_EMAIL and ONBEHALF_ZENDESK_API_TOKEN",
};

/// The newest page of `List Comments` (offset pagination, `sort_order=desc`).
#[derive(Deserialize)]
struct CommentsPage {
    #[serde(default)]
    comments: Vec<ListedComment>,
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
    #[serde(deserialize_with = "comment_id")]
    pub id: CommentId,
    #[serde(default, deserialize_with = "optional_id_string")]
    pub author_id: Option<String>,
    /// `false` for an internal note. Zendesk always sends it; a comment without it is not
    /// trusted to be private (only private comments count as the service's notes or anchors).
    #[serde(default = "yes")]
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

fn comment_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<CommentId, D::Error> {
    id_string(d).map(CommentId::from)
}

fn optional_id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(d)?
        .filter(|v| !v.is_null())
        .map(|v| id_text(&v)))
}

/// A page of comments is at most 100 comments of at most 64 KiB of text each, in up to three
/// forms; anything far beyond that is not Zendesk.
const MAX_COMMENTS_PAGE: usize = 32 * 1024 * 1024;

async fn bounded_body(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, HelpdeskError> {
    http::bounded_body(response, limit, WORDING.name).await
}

impl ZendeskClient {
    /// Every comment of a ticket, oldest first, public and internal, through `List Comments`
    /// with cursor pagination: `GET /api/v2/tickets/{id}/comments.json?page[size]=100`, then
    /// `page[after]=<meta.after_cursor>` while `meta.has_more`.
    /// (developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments;
    /// developer.zendesk.com/documentation/api-basics/pagination/paginating-through-lists-using-cursor-pagination/)
    pub async fn list_comments(
        &self,
        ticket_id: &TicketId,
    ) -> Result<Vec<ListedComment>, HelpdeskError> {
        let ticket_id = checked_ticket_id(ticket_id.as_str())?;
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
            let page: CursorPage =
                serde_json::from_slice(&body).map_err(|e| HelpdeskError::Unavailable {
                    reason: format!("unreadable comments page: {e}"),
                    retry_after: None,
                })?;
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
                let answer: SelfAnswer =
                    serde_json::from_slice(&body).map_err(|e| HelpdeskError::Unavailable {
                        reason: format!("unreadable Show Self answer: {e}"),
                        retry_after: None,
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

    /// `GET /api/v2/users/me.json` (Show Self,
    /// developer.zendesk.com/api-reference/ticketing/users/users/#show-self): any answer but a
    /// 5xx, a timeout, a 401/403 or a 429 means the helpdesk is there.
    async fn probe(&self) -> Result<(), HelpdeskError> {
        let url = self.url("/api/v2/users/me.json")?;
        http::probe_outcome(
            self.send(|| self.http.get(url.clone())).await,
            &self.health,
            NAME,
        )
    }

    /// Only the service's own private comments count: a customer who pastes a note's
    /// reference into a public reply must not stop that note from being posted.
    async fn find_note(
        &self,
        ticket_id: &TicketId,
        reference: &str,
    ) -> Result<Option<CommentId>, HelpdeskError> {
        let ticket_id = checked_ticket_id(ticket_id.as_str())?;
        let own_user_id = self.own_user_id().await?;
        let url = self.url(&format!(
            "/api/v2/tickets/{ticket_id}/comments.json?sort_order=desc&per_page=100"
        ))?;
        let response = self.send(|| self.http.get(url.clone())).await?;
        let body = bounded_body(response, MAX_COMMENTS_PAGE).await?;
        let page: CommentsPage =
            serde_json::from_slice(&body).map_err(|e| HelpdeskError::Unavailable {
                reason: format!("unreadable comments page: {e}"),
                retry_after: None,
            })?;
        Ok(page
            .comments
            .into_iter()
            .find(|c| {
                !c.public
                    && c.author_id.as_deref() == Some(own_user_id)
                    && c.texts().any(|text| text.contains(reference))
            })
            .map(|c| c.id))
    }

    async fn add_internal_note(
        &self,
        ticket_id: &TicketId,
        html_body: &str,
    ) -> Result<Option<CommentId>, HelpdeskError> {
        let ticket_id = checked_ticket_id(ticket_id.as_str())?;
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
            .map(|e| id_text(&e.id).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::ListedComment;

    #[test]
    fn a_comment_that_does_not_say_it_is_private_is_not_taken_for_a_private_one() {
        // Only private comments count as the service's notes and trail anchors, so a comment
        // whose `public` is missing must not pass for one (a customer could plant a marker).
        let unsaid: ListedComment =
            serde_json::from_str(r#"{"id": 7, "author_id": 9, "body": "x"}"#).unwrap();
        assert!(unsaid.public);
        let private: ListedComment =
            serde_json::from_str(r#"{"id": 7, "public": false, "body": "x"}"#).unwrap();
        assert!(!private.public);
        assert_eq!(
            (private.id.as_str(), unsaid.author_id.as_deref()),
            ("7", Some("9"))
        );
    }
}
