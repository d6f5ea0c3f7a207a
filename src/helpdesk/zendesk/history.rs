//! Reading a ticket's history back from the REST API (the ticket sync and the reconciler):
//! the ticket, its comments with their authors, its audits, and the incremental ticket export.
//!
//! Shapes as Zendesk documents them:
//! - Show Ticket, `GET /api/v2/tickets/{id}.json` → `{"ticket": {...}}`
//!   (developer.zendesk.com/api-reference/ticketing/tickets/tickets/#show-ticket).
//! - List Comments, `GET /api/v2/tickets/{id}/comments.json` with cursor pagination and
//!   `include=users` (comment fields `id`, `author_id`, `public`, `body`, `created_at`, `via`,
//!   `metadata.flags`, `audit_id`; sideloaded `users` with their `role`)
//!   (developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/#list-comments).
//! - List Audits for a Ticket, `GET /api/v2/tickets/{id}/audits.json` with cursor pagination
//!   (audit `id`, `created_at`, `events[]` of `type` `Create`/`Change`/`Comment`… with
//!   `field_name`, `value`, `previous_value`)
//!   (developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/;
//!   developer.zendesk.com/documentation/ticketing/reference-guides/ticket-audit-events-reference).
//! - Incremental Ticket Export, cursor based: `GET /api/v2/incremental/tickets/cursor.json`
//!   `?start_time=<unix>` then `?cursor=<after_cursor>` until `end_of_stream`; 10 requests a
//!   minute (developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/).
//!
//! Every answer is read through `bounded_body`; ids are read as numbers or strings.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::OnceLock;

use super::{ZendeskClient, bounded_body, checked_ticket_id, id_string, optional_id_string};
use crate::helpdesk::HelpdeskError;
use crate::workflow::TicketId;

/// A page of a ticket's audits or comments: at most 100 entries of at most 64 KiB of comment
/// text in a few forms.
const MAX_PAGE: usize = 32 * 1024 * 1024;
/// An export page holds up to 1000 tickets.
const MAX_EXPORT_PAGE: usize = 64 * 1024 * 1024;
/// A ticket alone.
const MAX_TICKET: usize = 4 * 1024 * 1024;
/// The export endpoints allow 10 requests a minute (Incremental Exports, "Rate limits").
const EXPORT_REQUESTS_PER_MINUTE: u32 = 10;
/// A ticket with more pages than this is not followed further (5000 comments at most per
/// ticket is 50 pages; audits are of the same order).
const MAX_PAGES: usize = 200;

/// The ticket as Show Ticket gives it (the fields the workflow reads).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RemoteTicket {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "optional_id_string")]
    pub requester_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Always an agent.
    #[serde(default, deserialize_with = "optional_id_string")]
    pub assignee_id: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A comment as List Comments gives it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryComment {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default, deserialize_with = "optional_id_string")]
    pub author_id: Option<String>,
    /// Missing means private, the safe reading for a consent tool.
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "optional_id_string")]
    pub audit_id: Option<String>,
    #[serde(default)]
    pub via: Option<Via>,
    #[serde(default)]
    pub metadata: Option<CommentMetadata>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Via {
    #[serde(default)]
    pub channel: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CommentMetadata {
    #[serde(default)]
    pub flags: Option<Vec<serde_json::Value>>,
}

/// A sideloaded user: `role` is `end-user`, `agent` or `admin`.
#[derive(Debug, Clone, Deserialize)]
struct RemoteUser {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    role: Option<String>,
}

/// One audit: one update of the ticket.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Audit {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub events: Vec<AuditEvent>,
}

/// One event of an audit. `Create` and `Change` name a `field_name`; a `Comment` event's id
/// is the comment's id.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditEvent {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub field_name: Option<String>,
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    #[serde(default)]
    pub previous_value: Option<serde_json::Value>,
}

/// Everything the sync reads about one ticket.
#[derive(Debug, Clone, Default)]
pub struct TicketHistory {
    pub ticket: RemoteTicket,
    /// Oldest first.
    pub comments: Vec<HistoryComment>,
    /// Oldest first.
    pub audits: Vec<Audit>,
    /// Authors of the comments who are agents or admins.
    pub staff: std::collections::HashSet<String>,
}

/// Where an export request starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportFrom {
    /// Unix seconds: tickets updated at or after.
    StartTime(i64),
    /// An `after_cursor` of an earlier page.
    Cursor(String),
}

/// A ticket as the export lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportedTicket {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// One page of the incremental ticket export.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportPage {
    #[serde(default)]
    pub tickets: Vec<ExportedTicket>,
    #[serde(default)]
    pub after_cursor: Option<String>,
    /// True once this page reached the present.
    #[serde(default)]
    pub end_of_stream: bool,
}

#[derive(Deserialize)]
struct TicketEnvelope {
    ticket: RemoteTicket,
}

#[derive(Deserialize)]
struct CommentsPage {
    #[serde(default)]
    comments: Vec<HistoryComment>,
    #[serde(default)]
    users: Vec<RemoteUser>,
    #[serde(default)]
    meta: Option<CursorMeta>,
}

#[derive(Deserialize)]
struct UsersPage {
    #[serde(default)]
    users: Vec<RemoteUser>,
}

#[derive(Deserialize)]
struct AuditsPage {
    #[serde(default)]
    audits: Vec<Audit>,
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

fn export_limiter() -> &'static DefaultDirectRateLimiter {
    static LIMITER: OnceLock<DefaultDirectRateLimiter> = OnceLock::new();
    LIMITER.get_or_init(|| {
        let per_minute = NonZeroU32::new(EXPORT_REQUESTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        RateLimiter::direct(Quota::per_minute(per_minute))
    })
}

impl ZendeskClient {
    async fn get_json<T: DeserializeOwned>(
        &self,
        url: reqwest::Url,
        limit: usize,
        what: &str,
    ) -> Result<T, HelpdeskError> {
        let response = self.send(|| self.http.get(url.clone())).await?;
        let body = bounded_body(response, limit).await?;
        serde_json::from_slice(&body)
            .map_err(|e| HelpdeskError::Transient(format!("unreadable {what}: {e}")))
    }

    /// The ticket, its comments (with which authors are staff) and its audits.
    pub async fn ticket_history(
        &self,
        ticket_id: &TicketId,
    ) -> Result<TicketHistory, HelpdeskError> {
        let id = checked_ticket_id(ticket_id.as_str())?;
        let ticket: TicketEnvelope = self
            .get_json(
                self.url(&format!("/api/v2/tickets/{id}.json"))?,
                MAX_TICKET,
                "ticket",
            )
            .await?;
        let (comments, mut roles) = self.history_comments(id).await?;
        let unknown: Vec<&str> = comments
            .iter()
            .filter_map(|c| c.author_id.as_deref())
            .filter(|a| !roles.contains_key(*a))
            .collect();
        if !unknown.is_empty() {
            match self.roles_of(&unknown).await {
                Ok(found) => roles.extend(found),
                Err(e) if e.is_transient() => return Err(e),
                // Unknown authors are taken for end users: their comments ask nothing.
                Err(e) => tracing::warn!(error = %e, "comment authors' roles unknown"),
            }
        }
        let mut staff: std::collections::HashSet<String> = roles
            .into_iter()
            .filter(|(_, role)| role == "agent" || role == "admin")
            .map(|(id, _)| id)
            .collect();
        staff.extend(ticket.ticket.assignee_id.clone());
        if let Some(requester) = &ticket.ticket.requester_id {
            staff.remove(requester);
        }
        let audits = match self.audits(id).await {
            Ok(audits) => audits,
            Err(e) if e.is_transient() => return Err(e),
            // Without its updates the ticket is replayed from its comments and as it is now.
            Err(e) => {
                tracing::warn!(error = %e, "the ticket's audits cannot be read");
                vec![]
            }
        };
        Ok(TicketHistory {
            ticket: ticket.ticket,
            comments,
            audits,
            staff,
        })
    }

    /// Roles of users the comments page did not sideload: Show Many Users,
    /// `GET /api/v2/users/show_many.json?ids=…` (at most 100 ids a request)
    /// (developer.zendesk.com/api-reference/ticketing/users/users/#show-many-users).
    async fn roles_of(&self, ids: &[&str]) -> Result<HashMap<String, String>, HelpdeskError> {
        let mut ids: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|i| i.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut roles = HashMap::new();
        for chunk in ids.chunks(100) {
            let mut url = self.url("/api/v2/users/show_many.json")?;
            url.query_pairs_mut().append_pair("ids", &chunk.join(","));
            let page: UsersPage = self.get_json(url, MAX_PAGE, "users").await?;
            roles.extend(
                page.users
                    .into_iter()
                    .map(|u| (u.id, u.role.unwrap_or_default())),
            );
        }
        Ok(roles)
    }

    async fn history_comments(
        &self,
        id: &str,
    ) -> Result<(Vec<HistoryComment>, HashMap<String, String>), HelpdeskError> {
        let mut comments = vec![];
        let mut roles: HashMap<String, String> = HashMap::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&format!("/api/v2/tickets/{id}/comments.json"))?;
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("page[size]", "100");
                query.append_pair("include", "users");
                if let Some(cursor) = &after {
                    query.append_pair("page[after]", cursor);
                }
            }
            let page: CommentsPage = self.get_json(url, MAX_PAGE, "comments page").await?;
            comments.extend(page.comments);
            for user in page.users {
                roles.insert(user.id, user.role.unwrap_or_default());
            }
            match next_cursor(page.meta, &after) {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        Ok((comments, roles))
    }

    async fn audits(&self, id: &str) -> Result<Vec<Audit>, HelpdeskError> {
        let mut audits = vec![];
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&format!("/api/v2/tickets/{id}/audits.json"))?;
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("page[size]", "100");
                if let Some(cursor) = &after {
                    query.append_pair("page[after]", cursor);
                }
            }
            let page: AuditsPage = self.get_json(url, MAX_PAGE, "audits page").await?;
            audits.extend(page.audits);
            match next_cursor(page.meta, &after) {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        Ok(audits)
    }

    /// One page of the incremental ticket export, under the export's own rate limit.
    pub async fn export_tickets(&self, from: &ExportFrom) -> Result<ExportPage, HelpdeskError> {
        let mut url = self.url("/api/v2/incremental/tickets/cursor.json")?;
        match from {
            ExportFrom::StartTime(t) => url
                .query_pairs_mut()
                .append_pair("start_time", &t.max(&0).to_string()),
            ExportFrom::Cursor(c) => url.query_pairs_mut().append_pair("cursor", c),
        };
        export_limiter().until_ready().await;
        self.get_json(url, MAX_EXPORT_PAGE, "export page").await
    }
}

/// The cursor of the next page, when there is one and it moves on.
fn next_cursor(meta: Option<CursorMeta>, current: &Option<String>) -> Option<String> {
    match meta {
        Some(CursorMeta {
            has_more: true,
            after_cursor: Some(cursor),
        }) if current.as_ref() != Some(&cursor) => Some(cursor),
        _ => None,
    }
}
