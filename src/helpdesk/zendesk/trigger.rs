//! Trigger and automation webhooks: a body the admin writes, which only has to name the ticket.
//!
//! The minimal body is `{"ticket_id": "{{ticket.id}}"}` (JSON, POST), signed like every
//! Zendesk webhook. It carries no event id: Zendesk's `x-zendesk-webhook-invocation-id` header
//! names the invocation (its retries keep it), and is the dedupe key. The notice is queued as
//! "this ticket changed"; the worker reads the ticket back from the API (`crate::sync`).
//! Placeholders: support.zendesk.com/hc/en-us/articles/4408886858138 (`{{ticket.id}}`);
//! headers: developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

/// A trigger body's meaning: this ticket changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketChanged {
    pub ticket_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    #[error(
        "ticket_id {0:?} is not a Zendesk ticket id (the trigger's body should be {{\"ticket_id\": \"{{{{ticket.id}}}}\"}})"
    )]
    BadTicketId(String),
}

/// `Some` when the body is a trigger body: a JSON object with `ticket_id` and without the
/// `type` every event-subscription payload has. Other fields the admin added are ignored.
pub fn parse(body: &[u8]) -> Option<Result<TicketChanged, TriggerError>> {
    let serde_json::Value::Object(fields) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    if fields.contains_key("type") {
        return None;
    }
    let id = match fields.get("ticket_id")? {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    let valid = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
    Some(if valid {
        Ok(TicketChanged { ticket_id: id })
    } else {
        Err(TriggerError::BadTicketId(id.chars().take(40).collect()))
    })
}

/// The queue's dedupe key: the invocation id, or (a sender that leaves the header out) the
/// signed timestamp and body, which Zendesk's retries repeat as they are.
pub fn dedupe_key(headers: &HeaderMap, body: &[u8], ticket_id: &str) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(invocation) = header("x-zendesk-webhook-invocation-id") {
        return format!(
            "trigger:{}",
            invocation.chars().take(100).collect::<String>()
        );
    }
    let mut digest = Sha256::new();
    digest.update(header("x-zendesk-webhook-signature-timestamp").unwrap_or_default());
    digest.update(b"\n");
    digest.update(body);
    format!("trigger:{ticket_id}:{}", hex::encode(digest.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_body_names_the_ticket() {
        assert_eq!(
            parse(br#"{"ticket_id": "5158"}"#),
            Some(Ok(TicketChanged {
                ticket_id: "5158".into()
            }))
        );
        assert_eq!(
            parse(br#"{"ticket_id": 5158, "note": "from trigger 12"}"#),
            Some(Ok(TicketChanged {
                ticket_id: "5158".into()
            }))
        );
    }

    #[test]
    fn event_payloads_and_other_bodies_are_not_trigger_bodies() {
        assert_eq!(
            parse(br#"{"type": "zen:event-type:ticket.created", "ticket_id": "1"}"#),
            None
        );
        assert_eq!(parse(br#"{"id": "1"}"#), None);
        assert_eq!(parse(b"not json"), None);
        assert!(matches!(
            parse(br#"{"ticket_id": "{{ticket.id}}"}"#),
            Some(Err(TriggerError::BadTicketId(_)))
        ));
    }

    #[test]
    fn the_invocation_id_is_the_dedupe_key() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-zendesk-webhook-invocation-id",
            "8350205582".parse().unwrap(),
        );
        assert_eq!(dedupe_key(&headers, b"{}", "1"), "trigger:8350205582");
        let bare = HeaderMap::new();
        assert_eq!(dedupe_key(&bare, b"{}", "1"), dedupe_key(&bare, b"{}", "1"));
        assert_ne!(
            dedupe_key(&bare, b"{}", "1"),
            dedupe_key(&bare, b"{ }", "1")
        );
    }
}
