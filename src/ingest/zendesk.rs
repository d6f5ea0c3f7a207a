//! Zendesk event-subscription payloads (`zendesk_event_version` 2022-11-06) → `TicketEvent`.

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::workflow::{Comment, EventKind, TicketEvent, TicketSnapshot};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("not a Zendesk event: {0}")]
    NotZendeskEvent(String),
    #[error("malformed {event_type} event: {reason}")]
    Malformed { event_type: String, reason: String },
}

impl PayloadError {
    /// A stable code without payload text (serde's messages quote the offending values, which
    /// may be customer data: they go back to the sender, never into logs or queues).
    pub fn code(&self) -> &'static str {
        match self {
            PayloadError::NotJson(_) => "not_json",
            PayloadError::NotZendeskEvent(_) => "not_zendesk_event",
            PayloadError::Malformed { .. } => "malformed_event",
        }
    }
}

const PREFIX: &str = "zen:event-type:";

/// The event types the workflow acts on; other well-formed types are accepted and ignored.
pub fn is_handled(event_type: &str) -> bool {
    matches!(
        event_type,
        "zen:event-type:ticket.created"
            | "zen:event-type:ticket.comment_added"
            | "zen:event-type:ticket.tags_changed"
            | "zen:event-type:ticket.status_changed"
    )
}

/// What the receiver needs to know before queueing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHeader {
    pub event_id: String,
    pub event_type: String,
    /// Empty for events that are not about a ticket.
    pub ticket_id: String,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    detail: Option<RawDetail>,
    #[serde(default)]
    event: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct RawDetail {
    #[serde(default, deserialize_with = "opt_id_string")]
    id: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "opt_id_string")]
    requester_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawCommentEvent {
    comment: RawComment,
}

#[derive(Deserialize)]
struct RawComment {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    body: String,
    #[serde(default = "yes")]
    is_public: bool,
    author: RawAuthor,
}

#[derive(Deserialize)]
struct RawAuthor {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    is_staff: bool,
}

#[derive(Deserialize)]
struct RawTagsEvent {
    #[serde(default)]
    tags_added: Vec<String>,
    #[serde(default)]
    tags_removed: Vec<String>,
}

#[derive(Deserialize)]
struct RawStatusEvent {
    #[serde(default)]
    previous: String,
    current: String,
}

fn yes() -> bool {
    true
}

/// The id, type and ticket of a payload, with the checks the receiver answers 400 for.
pub fn parse_header(body: &[u8]) -> Result<EventHeader, PayloadError> {
    let event = parse_event(body)?;
    Ok(EventHeader {
        event_id: event.event_id.clone(),
        event_type: event_type_of(&event),
        ticket_id: event.ticket.id,
    })
}

fn event_type_of(event: &TicketEvent) -> String {
    match &event.kind {
        EventKind::TicketCreated => format!("{PREFIX}ticket.created"),
        EventKind::CommentAdded { .. } => format!("{PREFIX}ticket.comment_added"),
        EventKind::TagsChanged { .. } => format!("{PREFIX}ticket.tags_changed"),
        EventKind::StatusChanged { .. } => format!("{PREFIX}ticket.status_changed"),
        EventKind::Other { event_type } => event_type.clone(),
    }
}

/// Parses a payload into the workflow's event.
pub fn parse_event(body: &[u8]) -> Result<TicketEvent, PayloadError> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|e| {
        if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
            PayloadError::NotZendeskEvent(e.to_string())
        } else {
            PayloadError::NotJson(e.to_string())
        }
    })?;
    if !raw.event_type.starts_with(PREFIX) {
        return Err(PayloadError::NotZendeskEvent(format!(
            "type {:?} is not a zen:event-type",
            raw.event_type
        )));
    }
    if raw.id.trim().is_empty() {
        return Err(PayloadError::NotZendeskEvent("empty event id".into()));
    }
    let malformed = |reason: String| PayloadError::Malformed {
        event_type: raw.event_type.clone(),
        reason,
    };
    let occurred_at = match &raw.time {
        Some(t) => {
            OffsetDateTime::parse(t, &Rfc3339).map_err(|e| malformed(format!("time {t:?}: {e}")))?
        }
        None => return Err(malformed("missing time".into())),
    };
    let detail = raw.detail.unwrap_or_default();
    let ticket_id = detail
        .id
        .clone()
        .or_else(|| {
            raw.subject
                .as_deref()
                .and_then(|s| s.strip_prefix("zen:ticket:"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    let is_ticket_event = raw.event_type.starts_with("zen:event-type:ticket.");
    if is_ticket_event && ticket_id.is_empty() {
        return Err(malformed("no ticket id in detail.id or subject".into()));
    }
    let ticket = TicketSnapshot {
        id: ticket_id,
        subject: detail.subject.unwrap_or_default(),
        description: detail.description.unwrap_or_default(),
        requester_id: detail.requester_id.unwrap_or_default(),
        status: detail.status.unwrap_or_default().to_ascii_lowercase(),
        tags: detail.tags.unwrap_or_default(),
    };
    let payload = raw.event.unwrap_or(serde_json::Value::Null);
    let kind = match raw.event_type.as_str() {
        "zen:event-type:ticket.created" => EventKind::TicketCreated,
        "zen:event-type:ticket.comment_added" => {
            let e: RawCommentEvent = serde_json::from_value(payload)
                .map_err(|e| malformed(format!("event.comment: {e}")))?;
            EventKind::CommentAdded {
                comment: Comment {
                    id: e.comment.id,
                    author_id: e.comment.author.id,
                    author_is_staff: e.comment.author.is_staff,
                    public: e.comment.is_public,
                    body: e.comment.body,
                },
            }
        }
        "zen:event-type:ticket.tags_changed" => {
            let e: RawTagsEvent =
                serde_json::from_value(payload).map_err(|e| malformed(format!("event: {e}")))?;
            EventKind::TagsChanged {
                added: e.tags_added,
                removed: e.tags_removed,
            }
        }
        "zen:event-type:ticket.status_changed" => {
            let e: RawStatusEvent =
                serde_json::from_value(payload).map_err(|e| malformed(format!("event: {e}")))?;
            EventKind::StatusChanged {
                previous: e.previous.to_ascii_lowercase(),
                current: e.current.to_ascii_lowercase(),
            }
        }
        other => EventKind::Other {
            event_type: other.to_string(),
        },
    };
    if ticket.requester_id.is_empty() && is_handled(&raw.event_type) {
        return Err(malformed("detail.requester_id is missing".into()));
    }
    Ok(TicketEvent {
        event_id: raw.id,
        occurred_at,
        ticket,
        kind,
    })
}

/// Zendesk sends ids as strings; accept numbers too (older payloads, hand-written tests).
fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, found {other}"
        ))),
    }
}

fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(serde::de::Error::custom(format!(
            "expected an id, found {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment_event() -> serde_json::Value {
        serde_json::json!({
            "account_id": 22129848,
            "id": "d4f5c389-8f4a-4c2e-a1b9-8e4f39c71d52",
            "type": "zen:event-type:ticket.comment_added",
            "subject": "zen:ticket:5158",
            "time": "2025-01-08T14:25:30.123456789Z",
            "zendesk_event_version": "2022-11-06",
            "detail": {"id": "5158", "subject": "Cannot sign in", "description": "first",
                "requester_id": "1001", "status": "OPEN", "tags": ["2fa"]},
            "event": {"comment": {"id": "9876543210", "body": "Hello", "is_public": true,
                "author": {"id": "8447388090495", "is_staff": true, "name": "Agent"}}}
        })
    }

    #[test]
    fn parses_a_comment_event_with_string_ids() {
        let e = parse_event(comment_event().to_string().as_bytes()).unwrap();
        assert_eq!(e.ticket.id, "5158");
        assert_eq!(e.ticket.status, "open");
        assert_eq!(e.ticket.requester_id, "1001");
        match e.kind {
            EventKind::CommentAdded { comment } => {
                assert_eq!(comment.id, "9876543210");
                assert!(comment.author_is_staff && comment.public);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_what_is_not_a_zendesk_event() {
        assert!(matches!(
            parse_event(b"not json"),
            Err(PayloadError::NotJson(_))
        ));
        assert!(matches!(
            parse_event(b"{\"a\":1}"),
            Err(PayloadError::NotZendeskEvent(_))
        ));
        let mut e = comment_event();
        e["type"] = "ticket_updated".into();
        assert!(matches!(
            parse_event(e.to_string().as_bytes()),
            Err(PayloadError::NotZendeskEvent(_))
        ));
        let mut e = comment_event();
        e["event"] = serde_json::json!({});
        assert!(matches!(
            parse_event(e.to_string().as_bytes()),
            Err(PayloadError::Malformed { .. })
        ));
    }

    #[test]
    fn other_event_types_are_well_formed_but_not_handled() {
        let mut e = comment_event();
        e["type"] = "zen:event-type:ticket.priority_changed".into();
        let header = parse_header(e.to_string().as_bytes()).unwrap();
        assert!(!is_handled(&header.event_type));
        assert_eq!(header.ticket_id, "5158");
    }
}
