//! Zammad REST client (Zammad API documentation, docs.zammad.org/en/latest/api/):
//! - notes: `POST /api/v1/ticket_articles` with `ticket_id`, `body`, `content_type:
//!   text/html`, `type: note`, `internal: true` (api/ticket/articles.html, "Create");
//! - a ticket's articles: `GET /api/v1/ticket_articles/by_ticket/{id}` (api/ticket/articles.html,
//!   "By Ticket");
//! - a ticket's tags: `GET /api/v1/tags?object=Ticket&o_id={id}` (api/ticket/tags.html);
//! - the token's own user: `GET /api/v1/users/me` (api/user.html, "Me");
//! - a customer's e-mail address: `GET /api/v1/users/{id}`, field `email` (api/user.html,
//!   "Show": needs `ticket.agent` or `admin.user` to read other users);
//! - authentication `Authorization: Token token=<access token>` (api/intro.html,
//!   "Authentication: Token Access").
//!
//! Failures are sorted like Zendesk's: the helpdesk's (5xx, timeouts, 401/403, 429: the caller
//! pauses), this request's (409) or this note's (404, 422: it can never post). Requests spend
//! the instance's own API budget.

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

use super::NAME;
use super::payload::is_id;
use crate::config::Secret;
use crate::health::Health;
use crate::helpdesk::budget::{ApiBudget, LocalBudget};
use crate::helpdesk::http::{self, Caller, Wording};
use crate::helpdesk::{Helpdesk, HelpdeskError, NoteMode, Requesters};
use crate::workflow::{CommentId, TicketId};

/// A ticket's articles with their bodies; far beyond this is not Zammad.
const MAX_ARTICLES: usize = 32 * 1024 * 1024;
const MAX_ANSWER: usize = 2 * 1024 * 1024;

pub struct ZammadClient {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
    budget: Arc<dyn ApiBudget>,
    health: Health,
    own_user_id: tokio::sync::OnceCell<String>,
}

/// An article as `by_ticket` lists it: the fields the client reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Article {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "optional_id_string")]
    pub created_by_id: Option<String>,
    /// Missing reads as public: only internal articles count as the service's notes.
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub sender: Option<String>,
}

fn id_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
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

#[derive(Deserialize)]
struct Created {
    #[serde(deserialize_with = "id_string")]
    id: String,
}

#[derive(Deserialize)]
struct Me {
    #[serde(deserialize_with = "id_string")]
    id: String,
}

/// A user as Show answers it: the field the client reads.
#[derive(Deserialize)]
struct User {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct Tags {
    #[serde(default)]
    tags: Vec<String>,
}

fn checked(id: &str) -> Result<&str, HelpdeskError> {
    if is_id(id) {
        Ok(id)
    } else {
        Err(HelpdeskError::Permanent(format!(
            "{:?} is not a Zammad ticket id",
            id.chars().take(40).collect::<String>()
        )))
    }
}

impl ZammadClient {
    pub fn new(
        base_url: &str,
        api_token: &Secret,
        timeout: Duration,
        requests_per_minute: u32,
    ) -> Result<ZammadClient, HelpdeskError> {
        let base = Url::parse(base_url)
            .map_err(|e| HelpdeskError::Permanent(format!("Zammad URL: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("onbehalf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HelpdeskError::Permanent(format!("HTTP client: {e}")))?;
        let mut authorization =
            HeaderValue::from_str(&format!("Token token={}", api_token.expose())).map_err(
                |_| HelpdeskError::Permanent("the Zammad token is not a valid header value".into()),
            )?;
        authorization.set_sensitive(true);
        Ok(ZammadClient {
            http,
            base,
            authorization,
            budget: Arc::new(LocalBudget::new(requests_per_minute)),
            health: Health::default(),
            own_user_id: tokio::sync::OnceCell::new(),
        })
    }

    pub fn with_budget(mut self, budget: Arc<dyn ApiBudget>) -> ZammadClient {
        self.budget = budget;
        self
    }

    pub fn with_health(mut self, health: Health) -> ZammadClient {
        health.register(crate::health::Dependency::Helpdesk(NAME));
        self.health = health;
        self
    }

    /// The budget's key: the instance, told apart from a Zendesk account on the same host.
    pub fn account(&self) -> String {
        format!("zammad:{}", self.base.host_str().unwrap_or_default())
    }

    fn url(&self, path: &str) -> Result<Url, HelpdeskError> {
        self.base
            .join(path)
            .map_err(|e| HelpdeskError::Permanent(format!("bad URL {path}: {e}")))
    }

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

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        limit: usize,
        what: &str,
    ) -> Result<T, HelpdeskError> {
        let response = self.send(|| self.http.get(url.clone())).await?;
        let body = bounded(response, limit).await?;
        serde_json::from_slice(&body).map_err(|e| HelpdeskError::Unavailable {
            reason: format!("unreadable {what} from Zammad: {e}"),
            retry_after: None,
        })
    }

    /// Every article of the ticket, oldest first.
    pub async fn articles(&self, ticket_id: &TicketId) -> Result<Vec<Article>, HelpdeskError> {
        let id = checked(ticket_id.as_str())?;
        let url = self.url(&format!("/api/v1/ticket_articles/by_ticket/{id}"))?;
        self.get_json(url, MAX_ARTICLES, "articles").await
    }

    /// The ticket's tags.
    pub async fn tags(&self, ticket_id: &TicketId) -> Result<Vec<String>, HelpdeskError> {
        let id = checked(ticket_id.as_str())?;
        let mut url = self.url("/api/v1/tags")?;
        url.query_pairs_mut()
            .append_pair("object", "Ticket")
            .append_pair("o_id", id);
        let tags: Tags = self.get_json(url, MAX_ANSWER, "tags").await?;
        Ok(tags.tags)
    }

    /// The user's e-mail address; `None` when Zammad has none for them (Zammad stores `""`)
    /// or no such user (404).
    pub async fn user_email(&self, user_id: &str) -> Result<Option<String>, HelpdeskError> {
        // User ids are positive integers like ticket ids: only such an id goes into the path.
        if !is_id(user_id) {
            return Err(HelpdeskError::Permanent(format!(
                "{:?} is not a Zammad user id",
                user_id.chars().take(40).collect::<String>()
            )));
        }
        let url = self.url(&format!("/api/v1/users/{user_id}"))?;
        let user: User = match self.get_json(url, MAX_ANSWER, "user").await {
            Ok(user) => user,
            Err(HelpdeskError::Rejected(reason)) if reason.contains("404") => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(user
            .email
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty()))
    }

    async fn own_user_id(&self) -> Result<&str, HelpdeskError> {
        self.own_user_id
            .get_or_try_init(|| async {
                let me: Me = self
                    .get_json(self.url("/api/v1/users/me")?, MAX_ANSWER, "users/me")
                    .await?;
                if me.id.is_empty() || me.id == "null" {
                    return Err(HelpdeskError::Permanent(
                        "Zammad did not say which user the API token belongs to".into(),
                    ));
                }
                Ok(me.id)
            })
            .await
            .map(String::as_str)
    }
}

/// Zammad in error messages.
const WORDING: Wording = Wording {
    helpdesk: NAME,
    name: "Zammad",
    conflict: "Zammad answered 409 conflict: the ticket changed meanwhile",
    credentials: "check ONBEHALF_ZAMMAD_API_TOKEN (it needs the ticket.agent permission)",
};

async fn bounded(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, HelpdeskError> {
    http::bounded_body(response, limit, WORDING.name).await
}

#[async_trait]
impl Requesters for ZammadClient {
    async fn email_of(&self, user_id: &str) -> Result<Option<String>, HelpdeskError> {
        self.user_email(user_id).await
    }
}

#[async_trait]
impl Helpdesk for ZammadClient {
    fn mode(&self) -> NoteMode {
        NoteMode::Posted
    }

    /// `GET /api/v1/users/me`: any answer but an outage-class failure means Zammad is there.
    async fn probe(&self) -> Result<(), HelpdeskError> {
        let url = self.url("/api/v1/users/me")?;
        http::probe_outcome(
            self.send(|| self.http.get(url.clone())).await,
            &self.health,
            NAME,
        )
    }

    /// Like Zendesk's: only the token user's own internal articles count, so a customer who
    /// pastes a reference into a reply cannot stop a note from being posted.
    async fn find_note(
        &self,
        ticket_id: &TicketId,
        reference: &str,
    ) -> Result<Option<CommentId>, HelpdeskError> {
        let own = self.own_user_id().await?.to_string();
        Ok(self
            .articles(ticket_id)
            .await?
            .into_iter()
            .rev()
            .find(|a| {
                a.internal
                    && a.created_by_id.as_deref() == Some(own.as_str())
                    && a.body.as_deref().is_some_and(|b| b.contains(reference))
            })
            .map(|a| a.id.into()))
    }

    async fn add_internal_note(
        &self,
        ticket_id: &TicketId,
        html_body: &str,
    ) -> Result<Option<CommentId>, HelpdeskError> {
        let id = checked(ticket_id.as_str())?;
        let ticket: u64 = id
            .parse()
            .map_err(|_| HelpdeskError::Permanent(format!("{id} is not a Zammad ticket id")))?;
        let url = self.url("/api/v1/ticket_articles")?;
        let payload = serde_json::json!({
            "ticket_id": ticket,
            "body": html_body,
            "content_type": "text/html",
            "type": "note",
            "internal": true,
        });
        let response = self
            .send(|| self.http.post(url.clone()).json(&payload))
            .await?;
        Ok(bounded(response, MAX_ANSWER)
            .await
            .ok()
            .and_then(|body| serde_json::from_slice::<Created>(&body).ok())
            .map(|c| c.id.into()))
    }
}
