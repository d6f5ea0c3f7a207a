//! Zammad trigger webhooks → the core's `TicketEvent`.
//!
//! A trigger's webhook sends, unless a custom payload is configured, `{"ticket": {...},
//! "article": {...}}`: both records with their attributes and association names (`state`,
//! `customer_id`, `tags`; the article's `sender`, `internal`, `from`, `body`, `content_type`,
//! `created_by_id`), `article` null when the update added none (zammad/zammad
//! app/jobs/trigger_webhook_job.rb `payload`, app/jobs/trigger_webhook_job/record_payload/;
//! admin documentation, Webhook payload,
//! https://github.com/zammad/zammad-admin-documentation/blob/6.0/manage/webhook/payload.rst).
//!
//! Which event it is: an article that is the ticket's first is its creation (its body is the
//! description the classifier reads); any other article is a comment; no article is an update
//! of the ticket, whose snapshot (state, tags, customer) the core reads.
//!
//! The requester is the ticket's customer (`customer_id`). Only an article with `sender:
//! Customer`, not internal, created by that customer is the requester's word: a CC'd address
//! that answers is another user (its own `created_by_id`), and an agent's or the system's
//! article created in the customer's name is marked as not the customer's own.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::html;
use crate::workflow::{Comment, CommentFlag, EventKind, TicketEvent, TicketId, TicketSnapshot};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("not a Zammad trigger payload: {0}")]
    NotZammadPayload(&'static str),
    #[error("ticket id {0:?} is not a Zammad ticket id (a positive integer)")]
    BadTicketId(String),
}

impl PayloadError {
    /// A stable code without payload text.
    pub fn code(&self) -> &'static str {
        match self {
            PayloadError::NotJson(_) => "not_json",
            PayloadError::NotZammadPayload(_) => "not_zammad_payload",
            PayloadError::BadTicketId(_) => "bad_ticket_id",
        }
    }
}

/// Zammad ids are positive integers; only such an id goes into a URL path.
pub fn is_id(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) && !id.starts_with('0')
}

/// A string, or a number written as one (ids).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn id(v: &Value) -> Option<String> {
    text(v)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn time_of(v: &Value) -> Option<OffsetDateTime> {
    text(v).and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
}

fn object(body: &[u8]) -> Result<Value, PayloadError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    if !value["ticket"].is_object() {
        return Err(PayloadError::NotZammadPayload("no `ticket` object"));
    }
    Ok(value)
}

/// The ticket a payload is about (all the receiver reads).
pub fn ticket_id(body: &[u8]) -> Result<TicketId, PayloadError> {
    let value = object(body)?;
    let ticket =
        id(&value["ticket"]["id"]).ok_or(PayloadError::NotZammadPayload("no ticket id"))?;
    if !is_id(&ticket) {
        return Err(PayloadError::BadTicketId(ticket.chars().take(40).collect()));
    }
    Ok(ticket.into())
}

/// The workflow's event. `delivery` is the receiver's key for the delivery (an update without
/// an article has no other identity); `received_at` stands in for a missing time.
pub fn parse_event(
    body: &[u8],
    delivery: &str,
    received_at: OffsetDateTime,
) -> Result<TicketEvent, PayloadError> {
    let value = object(body)?;
    let ticket_id = ticket_id(body)?;
    let t = &value["ticket"];
    let article = value["article"].as_object().map(|_| &value["article"]);
    let first_article = article.is_some_and(|a| is_first_article(t, a));
    let ticket = TicketSnapshot {
        id: ticket_id.clone(),
        subject: text(&t["title"]).unwrap_or_default(),
        description: match article {
            Some(a) if first_article => article_text(a),
            _ => String::new(),
        },
        requester_id: id(&t["customer_id"]).unwrap_or_default(),
        status: text(&t["state"]).unwrap_or_default().to_ascii_lowercase(),
        tags: match &t["tags"] {
            Value::Array(tags) => tags.iter().filter_map(text).collect(),
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            _ => vec![],
        },
    };
    let occurred_at = article
        .and_then(|a| time_of(&a["created_at"]))
        .or_else(|| time_of(&t["updated_at"]))
        .unwrap_or(received_at);
    let (event_id, kind) = match article {
        Some(_) if first_article => (
            format!("zammad-created:{ticket_id}"),
            EventKind::TicketCreated,
        ),
        Some(a) => match comment_of(a, &ticket.requester_id) {
            Some(comment) => (
                format!("zammad-article:{}", comment.id),
                EventKind::CommentAdded { comment },
            ),
            None => (
                delivery.to_string(),
                EventKind::Other {
                    event_type: "zammad:article-without-id-or-author".into(),
                },
            ),
        },
        // The update's snapshot carries its news (state, tags, customer).
        None => (
            delivery.to_string(),
            EventKind::StatusChanged {
                previous: String::new(),
                current: ticket.status.clone(),
            },
        ),
    };
    Ok(TicketEvent {
        event_id,
        occurred_at,
        ticket,
        kind,
    })
}

/// The ticket's first article: its creation. `article_ids` lists the articles in order
/// (the payload's example shows them); a ticket of one article created it.
fn is_first_article(ticket: &Value, article: &Value) -> bool {
    let Some(article_id) = id(&article["id"]) else {
        return false;
    };
    match &ticket["article_ids"] {
        Value::Array(ids) if !ids.is_empty() => {
            ids.iter()
                .filter_map(id)
                .min_by_key(|i| i.parse::<u64>().unwrap_or(u64::MAX))
                == Some(article_id)
        }
        _ => ticket["article_count"].as_u64() == Some(1),
    }
}

/// The article's text: HTML bodies as text, others as they are.
fn article_text(a: &Value) -> String {
    let body = text(&a["body"]).unwrap_or_default();
    let content_type = text(&a["content_type"])
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("text/html") {
        html::to_text(&body)
    } else {
        body
    }
}

/// An article as the core's comment; `None` without its id or its creator's.
fn comment_of(a: &Value, customer_id: &str) -> Option<Comment> {
    let comment_id = id(&a["id"])?;
    let author_id = id(&a["created_by_id"])?;
    let sender = text(&a["sender"]).unwrap_or_default();
    let by_customer = sender.eq_ignore_ascii_case("customer");
    let mut flags = vec![];
    // An agent's or the system's article created under the customer's id is not the
    // customer's own word.
    if !by_customer && author_id == customer_id {
        flags.push(CommentFlag::OnBehalfOfAuthor);
    }
    if sender.eq_ignore_ascii_case("system") {
        flags.push(CommentFlag::AutoGenerated);
    }
    Some(Comment {
        id: comment_id.into(),
        author_id,
        author_is_staff: !by_customer,
        // Missing `internal` reads as internal: an internal note must never pass for the
        // customer's public word.
        public: a["internal"].as_bool() == Some(false),
        body: article_text(a),
        channel: text(&a["type"]),
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Value {
        serde_json::json!({
            "ticket": {"id": 31, "number": "31001", "title": "Remove 2FA", "customer_id": 7,
                "state": "open", "tags": ["2fa"], "article_ids": [101, 102], "article_count": 2,
                "updated_at": "2026-03-02T10:00:00.000Z"},
            "article": {"id": 102, "ticket_id": 31, "sender": "Customer", "internal": false,
                "from": "Ann <ann@example.com>", "type": "email", "created_by_id": 7,
                "content_type": "text/html", "body": "<div>Yes, please go ahead.</div>",
                "created_at": "2026-03-02T10:00:00.000Z"}
        })
    }

    fn parse(v: &Value) -> TicketEvent {
        parse_event(
            v.to_string().as_bytes(),
            "zammad:d1",
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap()
    }

    #[test]
    fn a_customer_reply_is_the_requesters_public_comment() {
        let e = parse(&payload());
        assert_eq!(
            (e.ticket.id.as_str(), e.ticket.requester_id.as_str()),
            ("31", "7")
        );
        assert_eq!(e.event_id, "zammad-article:102");
        match e.kind {
            EventKind::CommentAdded { comment } => {
                assert_eq!(comment.author_id, "7");
                assert!(comment.public && !comment.author_is_staff);
                assert_eq!(comment.body, "Yes, please go ahead.");
                assert!(comment.flags.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cc_an_internal_note_and_an_agent_in_the_customers_name_are_not_the_requester() {
        let mut cc = payload();
        cc["article"]["created_by_id"] = 9.into();
        cc["article"]["from"] = "boss@example.com".into();
        let EventKind::CommentAdded { comment } = parse(&cc).kind else {
            panic!()
        };
        assert_ne!(comment.author_id, "7");

        let mut note = payload();
        note["article"]["internal"] = true.into();
        let EventKind::CommentAdded { comment } = parse(&note).kind else {
            panic!()
        };
        assert!(!comment.public);
        note["article"].as_object_mut().unwrap().remove("internal");
        let EventKind::CommentAdded { comment } = parse(&note).kind else {
            panic!()
        };
        assert!(!comment.public, "no `internal`: not public");

        let mut agent = payload();
        agent["article"]["sender"] = "Agent".into();
        let EventKind::CommentAdded { comment } = parse(&agent).kind else {
            panic!()
        };
        assert!(comment.author_is_staff);
        assert!(comment.flags.contains(&CommentFlag::OnBehalfOfAuthor));
    }

    #[test]
    fn the_first_article_creates_and_no_article_updates() {
        let mut created = payload();
        created["ticket"]["article_ids"] = serde_json::json!([102]);
        let e = parse(&created);
        assert_eq!(e.kind, EventKind::TicketCreated);
        assert_eq!(e.event_id, "zammad-created:31");
        assert_eq!(e.ticket.description, "Yes, please go ahead.");

        let mut update = payload();
        update["article"] = Value::Null;
        update["ticket"]["state"] = "Closed".into();
        let e = parse(&update);
        assert_eq!(e.event_id, "zammad:d1");
        assert_eq!(
            e.kind,
            EventKind::StatusChanged {
                previous: String::new(),
                current: "closed".into()
            }
        );
        assert_eq!(
            e.occurred_at,
            OffsetDateTime::parse("2026-03-02T10:00:00Z", &Rfc3339).unwrap()
        );
    }

    #[test]
    fn what_is_not_a_zammad_payload_is_refused() {
        let bad = |body: &[u8]| ticket_id(body).unwrap_err().code();
        assert_eq!(bad(b"nope"), "not_json");
        assert_eq!(
            bad(br#"{"type": "zen:event-type:ticket.created"}"#),
            "not_zammad_payload"
        );
        assert_eq!(bad(br#"{"ticket": {"title": "x"}}"#), "not_zammad_payload");
        assert_eq!(bad(br#"{"ticket": {"id": "../1"}}"#), "bad_ticket_id");
        assert_eq!(bad(br#"{"ticket": {"id": 0}}"#), "bad_ticket_id");
        assert_eq!(ticket_id(br#"{"ticket": {"id": "12"}}"#).unwrap(), "12");
    }
}
