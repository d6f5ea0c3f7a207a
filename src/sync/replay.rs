//! A ticket's history (audits and comments, as the API gives them) → the event-subscription
//! payloads Zendesk would have sent, each with the ticket as it was right after its update.
//!
//! Audit event shapes: `Create` (a field set on a new ticket) and `Change` (`field_name`,
//! `value`, `previous_value`) events, and `Comment` events whose id is the comment's
//! (developer.zendesk.com/documentation/ticketing/reference-guides/ticket-audit-events-reference).
//! The ticket before its first update is the current ticket with every change undone, newest
//! first; so a field whose `Create` event is missing still has its right value.

use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpdesk::zendesk::history::{Audit, HistoryComment, TicketHistory};

/// One event for the workflow, keyed by what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncedEvent {
    /// `zendesk-created:<ticket>`, `zendesk-comment:<comment id>` or
    /// `zendesk-audit-event:<audit event id>`.
    pub key: String,
    /// An event-subscription payload (`zendesk_event_version` 2022-11-06).
    pub payload: Value,
}

/// The ticket fields the workflow reads.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    subject: String,
    description: String,
    requester_id: String,
    status: String,
    tags: Vec<String>,
}

impl Snapshot {
    /// Applies a field's value (`Create`/`Change` `value`, or a `previous_value` when
    /// undoing). Other fields do not matter to the workflow.
    fn set(&mut self, field: &str, value: &Value) {
        match field {
            "tags" => self.tags = tag_list(value),
            "status" => self.status = text(value).to_ascii_lowercase(),
            "requester_id" => self.requester_id = text(value),
            "subject" => self.subject = text(value),
            _ => {}
        }
    }

    fn detail(&self, ticket_id: &str) -> Value {
        json!({
            "id": ticket_id, "subject": self.subject, "description": self.description,
            "requester_id": self.requester_id, "status": self.status, "tags": self.tags,
        })
    }
}

/// Tags come as a list of names; older answers give one space-separated string.
fn tag_list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(text).filter(|t| !t.is_empty()).collect(),
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        _ => vec![],
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn time_of(at: Option<&str>) -> Option<OffsetDateTime> {
    at.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

/// Ids are numbers that grow; order by them where times tie.
fn numeric(id: &str) -> u64 {
    id.parse().unwrap_or(u64::MAX)
}

/// The events of the ticket's history, oldest first.
pub fn replay(history: &TicketHistory) -> Vec<SyncedEvent> {
    let ticket_id = history.ticket.id.as_str();
    let mut audits: Vec<(OffsetDateTime, &Audit)> = history
        .audits
        .iter()
        .filter_map(|a| time_of(a.created_at.as_deref()).map(|t| (t, a)))
        .collect();
    audits.sort_by_key(|(t, a)| (*t, numeric(&a.id)));

    let current = &history.ticket;
    let mut snapshot = Snapshot {
        subject: current.subject.clone().unwrap_or_default(),
        description: current.description.clone().unwrap_or_default(),
        requester_id: current.requester_id.clone().unwrap_or_default(),
        status: current
            .status
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        tags: current.tags.clone().unwrap_or_default(),
    };
    for (_, audit) in audits.iter().rev() {
        for event in audit.events.iter().rev() {
            if let (true, Some(field), Some(previous)) = (
                event.kind == "Change",
                &event.field_name,
                &event.previous_value,
            ) {
                snapshot.set(field, previous);
            }
        }
    }

    let comments: HashMap<&str, &HistoryComment> = history
        .comments
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    let mut fed_comments: HashSet<&str> = HashSet::new();
    // (time, order within the history, event)
    let mut out: Vec<(OffsetDateTime, usize, SyncedEvent)> = vec![];
    let mut after_updates: Vec<(OffsetDateTime, Snapshot)> = vec![];
    let push = |out: &mut Vec<_>, at: OffsetDateTime, event: SyncedEvent| {
        let order = out.len();
        out.push((at, order, event));
    };

    for (i, (at, audit)) in audits.iter().enumerate() {
        let before = snapshot.clone();
        for event in &audit.events {
            if let (true, Some(field), Some(value)) = (
                event.kind == "Create" || event.kind == "Change",
                &event.field_name,
                &event.value,
            ) {
                snapshot.set(field, value);
            }
        }
        let time = audit.created_at.clone().unwrap_or_default();
        let payload = |kind: &str, event: Value| {
            event_payload(kind, ticket_id, &time, snapshot.detail(ticket_id), event)
        };
        if i == 0 {
            // The first update is the ticket's creation.
            let event = SyncedEvent {
                key: format!("zendesk-created:{ticket_id}"),
                payload: payload("created", json!({})),
            };
            push(&mut out, *at, event);
        }
        for event in audit.events.iter().filter(|e| e.kind == "Change") {
            let key = format!("zendesk-audit-event:{}", event.id);
            let synced = match event.field_name.as_deref() {
                Some("tags") => {
                    let added: Vec<&String> = snapshot
                        .tags
                        .iter()
                        .filter(|t| !before.tags.contains(t))
                        .collect();
                    let removed: Vec<&String> = before
                        .tags
                        .iter()
                        .filter(|t| !snapshot.tags.contains(t))
                        .collect();
                    payload(
                        "tags_changed",
                        json!({"tags_added": added, "tags_removed": removed}),
                    )
                }
                Some("status") => payload(
                    "status_changed",
                    json!({"previous": before.status, "current": snapshot.status}),
                ),
                Some("requester_id") => payload(
                    "requester_changed",
                    json!({"previous": before.requester_id, "current": snapshot.requester_id}),
                ),
                _ => continue,
            };
            push(
                &mut out,
                *at,
                SyncedEvent {
                    key,
                    payload: synced,
                },
            );
        }
        for event in audit
            .events
            .iter()
            .filter(|e| e.kind == "Comment" || e.kind == "VoiceComment")
        {
            let comment = comments.get(event.id.as_str()).copied().or_else(|| {
                history
                    .comments
                    .iter()
                    .find(|c| c.audit_id.as_deref() == Some(audit.id.as_str()))
            });
            if let Some(comment) = comment
                && fed_comments.insert(comment.id.as_str())
            {
                let synced = comment_event(history, comment, ticket_id, &time, &snapshot);
                push(&mut out, *at, synced);
            }
        }
        after_updates.push((*at, snapshot.clone()));
    }

    // No update could be read: the ticket was created as it is now (the best known).
    if audits.is_empty()
        && let Some(at) = time_of(current.created_at.as_deref())
    {
        let time = current.created_at.clone().unwrap_or_default();
        let payload = event_payload(
            "created",
            ticket_id,
            &time,
            snapshot.detail(ticket_id),
            json!({}),
        );
        let event = SyncedEvent {
            key: format!("zendesk-created:{ticket_id}"),
            payload,
        };
        push(&mut out, at, event);
        after_updates.push((at, snapshot.clone()));
    }

    // Comments no audit read here names: with the ticket as the updates before them left it.
    let mut rest: Vec<(OffsetDateTime, &HistoryComment)> = history
        .comments
        .iter()
        .filter(|c| !fed_comments.contains(c.id.as_str()))
        .filter_map(|c| time_of(c.created_at.as_deref()).map(|t| (t, c)))
        .collect();
    rest.sort_by_key(|(t, c)| (*t, numeric(&c.id)));
    for (at, comment) in rest {
        let then = after_updates
            .iter()
            .rev()
            .find(|(t, _)| *t <= at)
            .map(|(_, s)| s)
            .unwrap_or(&snapshot);
        let time = comment.created_at.clone().unwrap_or_default();
        let synced = comment_event(history, comment, ticket_id, &time, then);
        push(&mut out, at, synced);
    }

    out.sort_by_key(|(at, order, _)| (*at, *order));
    out.into_iter()
        .map(|(_, _, mut e)| {
            e.payload["id"] = Value::String(e.key.clone());
            e
        })
        .collect()
}

fn comment_event(
    history: &TicketHistory,
    comment: &HistoryComment,
    ticket_id: &str,
    time: &str,
    snapshot: &Snapshot,
) -> SyncedEvent {
    let author = comment.author_id.clone().unwrap_or_default();
    let channel = comment
        .via
        .as_ref()
        .and_then(|v| v.channel.clone())
        .unwrap_or(Value::Null);
    let flags = comment
        .metadata
        .as_ref()
        .and_then(|m| m.flags.clone())
        .unwrap_or_default();
    let event = json!({"comment": {
        "id": comment.id,
        "body": comment.body.clone().unwrap_or_default(),
        "is_public": comment.public,
        "author": {"id": author, "is_staff": history.staff.contains(&author)},
        "via": {"channel": channel},
        "metadata": {"flags": flags},
    }});
    SyncedEvent {
        key: format!("zendesk-comment:{}", comment.id),
        payload: event_payload(
            "comment_added",
            ticket_id,
            time,
            snapshot.detail(ticket_id),
            event,
        ),
    }
}

fn event_payload(kind: &str, ticket_id: &str, time: &str, detail: Value, event: Value) -> Value {
    json!({
        "type": format!("zen:event-type:ticket.{kind}"),
        "subject": format!("zen:ticket:{ticket_id}"),
        "time": time,
        "zendesk_event_version": "2022-11-06",
        "detail": detail,
        "event": event,
    })
}

#[cfg(test)]
mod tests;
