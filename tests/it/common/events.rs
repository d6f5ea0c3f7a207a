//! Zendesk event payloads for tests, shaped like the real ones (ids as strings).

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const REQUESTER: &str = "1001";
pub const AGENT: &str = "8447388090495";

pub fn event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn at(seconds_after_start: i64) -> String {
    let base = OffsetDateTime::parse("2025-01-08T10:00:00Z", &Rfc3339).unwrap();
    (base + time::Duration::seconds(seconds_after_start))
        .format(&Rfc3339)
        .unwrap()
}

fn detail(ticket: &str, subject: &str, description: &str, tags: &[&str], status: &str) -> Value {
    json!({
        "id": ticket, "subject": subject, "description": description,
        "requester_id": REQUESTER, "submitter_id": REQUESTER, "assignee_id": AGENT,
        "status": status, "priority": "NORMAL", "type": "QUESTION", "tags": tags,
        "created_at": "2025-01-08T10:00:00Z", "updated_at": "2025-01-08T10:00:00Z",
        "via": {"channel": "web_form"}, "is_public": true, "actor_id": REQUESTER
    })
}

fn envelope(kind: &str, ticket: &str, t: i64, detail: Value, event: Value) -> Value {
    json!({
        "account_id": 22129848, "id": event_id(),
        "type": format!("zen:event-type:ticket.{kind}"),
        "subject": format!("zen:ticket:{ticket}"), "time": at(t),
        "zendesk_event_version": "2022-11-06", "detail": detail, "event": event
    })
}

pub const TWO_FA_SUBJECT: &str = "Lost my phone, locked out by 2FA";
pub const TWO_FA_DESCRIPTION: &str = "My phone was stolen and I never saved the recovery codes. I cannot sign in to my GitLab account anymore. Please disable two-factor authentication on my account.";

/// `ticket.created` for an account-access (2FA) ticket.
pub fn created(ticket: &str, tags: &[&str]) -> Value {
    envelope(
        "created",
        ticket,
        0,
        detail(ticket, TWO_FA_SUBJECT, TWO_FA_DESCRIPTION, tags, "NEW"),
        json!({}),
    )
}

pub fn created_with(ticket: &str, subject: &str, description: &str, tags: &[&str]) -> Value {
    envelope(
        "created",
        ticket,
        0,
        detail(ticket, subject, description, tags, "NEW"),
        json!({}),
    )
}

pub struct CommentSpec<'a> {
    pub ticket: &'a str,
    pub comment_id: &'a str,
    pub author: &'a str,
    pub is_staff: bool,
    pub public: bool,
    pub body: &'a str,
    /// Seconds after the ticket was created.
    pub t: i64,
    pub tags: &'a [&'a str],
}

pub fn comment(c: CommentSpec<'_>) -> Value {
    envelope(
        "comment_added",
        c.ticket,
        c.t,
        detail(c.ticket, TWO_FA_SUBJECT, TWO_FA_DESCRIPTION, c.tags, "OPEN"),
        json!({"comment": {"id": c.comment_id, "body": c.body, "is_public": c.public,
            "author": {"id": c.author, "is_staff": c.is_staff, "name": "Someone"}}}),
    )
}

pub fn tags_changed(ticket: &str, t: i64, tags: &[&str], added: &[&str]) -> Value {
    envelope(
        "tags_changed",
        ticket,
        t,
        detail(ticket, TWO_FA_SUBJECT, TWO_FA_DESCRIPTION, tags, "OPEN"),
        json!({"tags_added": added, "tags_removed": []}),
    )
}

pub const PERMISSION_QUESTION: &str = "Hi,\n\nCould you please confirm that you would like us to disable two-factor authentication on your account `rbanks`? Replying in this ticket stating you provide permission will be sufficient.\n\nThanks,\nSam";

/// `event` with another requester in its ticket snapshot (`detail.requester_id`).
pub fn with_requester(mut event: Value, requester: &str) -> Value {
    event["detail"]["requester_id"] = requester.into();
    event
}

/// `event` with another status in its ticket snapshot (Zendesk sends it upper-case).
pub fn with_status(mut event: Value, status: &str) -> Value {
    event["detail"]["status"] = status.to_uppercase().into();
    event
}

/// `ticket.status_changed` from `previous` to `current`, the snapshot carrying `tags`.
pub fn status_change(ticket: &str, t: i64, previous: &str, current: &str, tags: &[&str]) -> Value {
    envelope(
        "status_changed",
        ticket,
        t,
        detail(ticket, TWO_FA_SUBJECT, TWO_FA_DESCRIPTION, tags, current),
        json!({"previous": previous.to_uppercase(), "current": current.to_uppercase()}),
    )
}

/// `ticket.requester_changed`: the snapshot names the new requester.
pub fn requester_changed(
    ticket: &str,
    t: i64,
    previous: &str,
    current: &str,
    tags: &[&str],
) -> Value {
    let detail = detail(ticket, TWO_FA_SUBJECT, TWO_FA_DESCRIPTION, tags, "OPEN");
    with_requester(
        envelope(
            "requester_changed",
            ticket,
            t,
            detail,
            json!({"previous": previous, "current": current}),
        ),
        current,
    )
}
