//! The fake's tickets as the REST API shows them: Show Ticket, List Audits for a Ticket, List
//! Comments (with `include=users`), and the cursor-based incremental ticket export, shaped as
//! Zendesk documents them:
//! - developer.zendesk.com/api-reference/ticketing/tickets/tickets/#show-ticket
//! - developer.zendesk.com/api-reference/ticketing/tickets/ticket_audits/ (audits: `id`,
//!   `ticket_id`, `created_at`, `author_id`, `via`, `metadata`, `events` of type `Create`,
//!   `Change` (`field_name`, `value`, `previous_value`) and `Comment` (`id` = the comment's,
//!   `author_id`, `body`, `html_body`, `public`, `attachments`))
//! - developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/ (comments:
//!   `id`, `type`, `author_id`, `body`, `html_body`, `plain_body`, `public`, `audit_id`, `via`,
//!   `metadata`, `created_at`; users sideloaded with their `role`)
//! - developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
//!   (`tickets`, `after_cursor`, `after_url`, `before_cursor`, `before_url`, `end_of_stream`)
//!
//! Every change also records the event-subscription webhooks Zendesk would have sent for it, so
//! a test can deliver them, lose them, or both.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const REQUESTER: &str = "1001";
pub const AGENT: &str = "8447388090495";

/// Tickets per export page: small, so that a pass follows cursors.
pub const EXPORT_PAGE: usize = 1;
/// Audits per page at most (Zendesk allows 100): small, so that the client follows cursors.
const AUDIT_PAGE: usize = 2;

#[derive(Debug, Clone)]
pub struct WorldTicket {
    pub id: String,
    pub subject: String,
    pub description: String,
    pub requester_id: String,
    pub status: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub audits: Vec<Value>,
    pub comments: Vec<Value>,
    /// The event-subscription payloads Zendesk would have sent, in order.
    pub webhooks: Vec<Value>,
}

#[derive(Default)]
pub struct World {
    pub tickets: std::collections::BTreeMap<String, WorldTicket>,
    next_id: u64,
}

fn unix(at: &str) -> i64 {
    OffsetDateTime::parse(at, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}

fn num(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| id.into())
}

impl World {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        800_000 + self.next_id
    }

    pub fn create(&mut self, id: &str, subject: &str, description: &str, tags: &[&str], at: &str) {
        let mut ticket = WorldTicket {
            id: id.into(),
            subject: subject.into(),
            description: description.into(),
            requester_id: REQUESTER.into(),
            status: "new".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            created_at: at.into(),
            updated_at: at.into(),
            audits: vec![],
            comments: vec![],
            webhooks: vec![],
        };
        let (audit_id, comment_id) = (self.id(), self.id());
        let mut events: Vec<Value> = [
            ("subject", json!(subject)),
            ("requester_id", num(REQUESTER)),
            ("status", json!("new")),
            ("tags", json!(ticket.tags)),
        ]
        .into_iter()
        .map(|(field, value)| {
            json!({"id": self.id(), "type": "Create", "field_name": field, "value": value})
        })
        .collect();
        events.insert(0, comment_event(comment_id, REQUESTER, true, description));
        ticket.comments.push(comment(
            comment_id,
            audit_id,
            REQUESTER,
            true,
            description,
            "web",
            at,
        ));
        ticket
            .audits
            .push(audit(audit_id, id, REQUESTER, at, events));
        let created = webhook(&ticket, "created", at, json!({}));
        let first = comment_webhook(
            &ticket,
            comment_id,
            REQUESTER,
            false,
            true,
            description,
            "web",
            at,
        );
        ticket.webhooks.extend([created, first]);
        self.tickets.insert(id.into(), ticket);
    }

    /// A comment; returns its id.
    pub fn comment(
        &mut self,
        id: &str,
        author: &str,
        public: bool,
        body: &str,
        at: &str,
    ) -> String {
        let (audit_id, comment_id) = (self.id(), self.id());
        let ticket = self.tickets.get_mut(id).expect("a ticket of the world");
        let staff = author != REQUESTER;
        let channel = if staff { "web" } else { "email" };
        ticket.comments.push(comment(
            comment_id, audit_id, author, public, body, channel, at,
        ));
        ticket.audits.push(audit(
            audit_id,
            id,
            author,
            at,
            vec![comment_event(comment_id, author, public, body)],
        ));
        ticket.updated_at = at.into();
        let hook = comment_webhook(ticket, comment_id, author, staff, public, body, channel, at);
        ticket.webhooks.push(hook);
        comment_id.to_string()
    }

    pub fn change_tags(&mut self, id: &str, add: &[&str], remove: &[&str], at: &str) {
        let (audit_id, event_id) = (self.id(), self.id());
        let ticket = self.tickets.get_mut(id).expect("a ticket of the world");
        let previous = ticket.tags.clone();
        ticket.tags.retain(|t| !remove.contains(&t.as_str()));
        for tag in add {
            if !ticket.tags.iter().any(|t| t == tag) {
                ticket.tags.push(tag.to_string());
            }
        }
        let change = json!({"id": event_id, "type": "Change", "field_name": "tags",
            "value": ticket.tags, "previous_value": previous});
        ticket
            .audits
            .push(audit(audit_id, id, AGENT, at, vec![change]));
        ticket.updated_at = at.into();
        let hook = webhook(
            ticket,
            "tags_changed",
            at,
            json!({"tags_added": add, "tags_removed": remove}),
        );
        ticket.webhooks.push(hook);
    }

    pub fn ticket_json(&self, id: &str) -> Option<Value> {
        self.tickets.get(id).map(ticket_json)
    }

    /// List Audits for a Ticket with cursor pagination (`page[after]` = an index here).
    pub fn audits_page(&self, id: &str, after: Option<&str>) -> Option<Value> {
        let ticket = self.tickets.get(id)?;
        let total = ticket.audits.len();
        let start = after
            .and_then(|c| c.strip_prefix("audits-"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
            .min(total);
        let end = (start + AUDIT_PAGE).min(total);
        let has_more = end < total;
        let after = format!("audits-{end}");
        Some(json!({
            "audits": &ticket.audits[start..end],
            "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": format!("audits-{start}")},
            "links": {
                "next": has_more.then(|| format!("/api/v2/tickets/{id}/audits.json?page%5Bafter%5D={after}")),
                "prev": null
            }
        }))
    }

    /// The incremental ticket export: tickets by (updated_at, id) after the position.
    pub fn export_page(&self, start_time: Option<i64>, cursor: Option<&str>) -> Value {
        let mut tickets: Vec<&WorldTicket> = self.tickets.values().collect();
        tickets.sort_by_key(|t| (unix(&t.updated_at), t.id.parse::<u64>().unwrap_or(0)));
        let position = |t: &WorldTicket| (unix(&t.updated_at), t.id.parse::<u64>().unwrap_or(0));
        let after: Option<(i64, u64)> = cursor.and_then(|c| {
            let (at, id) = c.split_once('.')?;
            Some((at.parse().ok()?, id.parse().ok()?))
        });
        let listed: Vec<&WorldTicket> = tickets
            .into_iter()
            .filter(|t| match (after, start_time) {
                (Some(after), _) => position(t) > after,
                (None, Some(start)) => unix(&t.updated_at) >= start,
                (None, None) => true,
            })
            .collect();
        let page: Vec<&WorldTicket> = listed.iter().take(EXPORT_PAGE).copied().collect();
        let end_of_stream = listed.len() <= EXPORT_PAGE;
        let last = page
            .last()
            .map(|t| position(t))
            .or(after)
            .unwrap_or((start_time.unwrap_or(0), 0));
        let after_cursor = format!("{}.{}", last.0, last.1);
        json!({
            "tickets": page.iter().map(|t| ticket_json(t)).collect::<Vec<_>>(),
            "after_url": format!("/api/v2/incremental/tickets/cursor.json?cursor={after_cursor}"),
            "after_cursor": after_cursor,
            "before_url": null,
            "before_cursor": null,
            "end_of_stream": end_of_stream,
        })
    }
}

fn ticket_json(t: &WorldTicket) -> Value {
    json!({
        "id": num(&t.id), "url": format!("/api/v2/tickets/{}.json", t.id),
        "subject": t.subject, "raw_subject": t.subject, "description": t.description,
        "requester_id": num(&t.requester_id), "submitter_id": num(&t.requester_id),
        "assignee_id": num(AGENT), "status": t.status, "priority": null, "type": null,
        "tags": t.tags, "created_at": t.created_at, "updated_at": t.updated_at,
        "via": {"channel": "web"}, "is_public": true,
    })
}

fn audit(id: u64, ticket: &str, author: &str, at: &str, events: Vec<Value>) -> Value {
    json!({
        "id": id, "ticket_id": num(ticket), "created_at": at, "author_id": num(author),
        "via": {"channel": "web"}, "metadata": {"system": {}, "custom": {}}, "events": events,
    })
}

fn comment_event(id: u64, author: &str, public: bool, body: &str) -> Value {
    json!({"id": id, "type": "Comment", "author_id": num(author), "body": body,
        "html_body": format!("<p>{body}</p>"), "public": public, "attachments": []})
}

#[allow(clippy::too_many_arguments)]
fn comment(
    id: u64,
    audit_id: u64,
    author: &str,
    public: bool,
    body: &str,
    channel: &str,
    at: &str,
) -> Value {
    json!({
        "id": id, "type": "Comment", "author_id": num(author), "body": body,
        "html_body": format!("<p>{body}</p>"), "plain_body": body, "public": public,
        "audit_id": audit_id, "attachments": [], "via": {"channel": channel},
        "metadata": {"system": {}}, "created_at": at,
    })
}

fn webhook(ticket: &WorldTicket, kind: &str, at: &str, event: Value) -> Value {
    json!({
        "account_id": 22129848, "id": uuid::Uuid::new_v4().to_string(),
        "type": format!("zen:event-type:ticket.{kind}"),
        "subject": format!("zen:ticket:{}", ticket.id), "time": at,
        "zendesk_event_version": "2022-11-06",
        "detail": {
            "id": ticket.id, "subject": ticket.subject, "description": ticket.description,
            "requester_id": ticket.requester_id, "submitter_id": ticket.requester_id,
            "assignee_id": AGENT, "status": ticket.status.to_uppercase(), "priority": null,
            "type": null, "tags": ticket.tags, "created_at": ticket.created_at,
            "updated_at": at, "via": {"channel": "web"}, "is_public": true,
        },
        "event": event,
    })
}

#[allow(clippy::too_many_arguments)]
fn comment_webhook(
    ticket: &WorldTicket,
    id: u64,
    author: &str,
    staff: bool,
    public: bool,
    body: &str,
    channel: &str,
    at: &str,
) -> Value {
    webhook(
        ticket,
        "comment_added",
        at,
        json!({"comment": {"id": id.to_string(), "body": body, "is_public": public,
            "author": {"id": author, "is_staff": staff, "name": "Someone"},
            "via": {"channel": channel}}}),
    )
}

/// The users a comments page sideloads (`include=users`).
pub fn users(comments: &[Value]) -> Vec<Value> {
    let mut ids: Vec<String> = comments
        .iter()
        .filter_map(|c| c["author_id"].as_u64().map(|a| a.to_string()))
        .collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let role = if id == REQUESTER { "end-user" } else { "agent" };
            json!({"id": num(&id), "name": "Someone", "role": role})
        })
        .collect()
}
