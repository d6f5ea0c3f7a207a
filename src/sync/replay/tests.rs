use super::*;
use crate::helpdesk::zendesk::history::{AuditEvent, RemoteTicket};

fn change(id: &str, field: &str, previous: Value, value: Value) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        kind: "Change".into(),
        field_name: Some(field.into()),
        value: Some(value),
        previous_value: Some(previous),
    }
}

fn comment_ref(id: &str) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        kind: "Comment".into(),
        ..AuditEvent::default()
    }
}

fn comment(id: &str, author: &str, public: bool, body: &str, at: &str) -> HistoryComment {
    HistoryComment {
        id: id.into(),
        author_id: Some(author.into()),
        public,
        body: Some(body.into()),
        created_at: Some(at.into()),
        ..HistoryComment::default()
    }
}

/// Created with tag `2fa`, the agent asks, then tags `verified` and solves.
fn history() -> TicketHistory {
    TicketHistory {
        ticket: RemoteTicket {
            id: "77".into(),
            subject: Some("Locked out".into()),
            description: Some("Please reset my 2FA".into()),
            requester_id: Some("1001".into()),
            status: Some("solved".into()),
            tags: Some(vec!["2fa".into(), "verified".into()]),
            updated_at: Some("2025-01-08T10:10:00Z".into()),
            assignee_id: None,
            created_at: Some("2025-01-08T10:00:00Z".into()),
        },
        comments: vec![
            comment(
                "501",
                "1001",
                true,
                "Please reset my 2FA",
                "2025-01-08T10:00:00Z",
            ),
            comment(
                "502",
                "900",
                true,
                "May we reset it?",
                "2025-01-08T10:05:00Z",
            ),
        ],
        audits: vec![
            // Out of order on purpose: the replay sorts by time.
            Audit {
                id: "3".into(),
                created_at: Some("2025-01-08T10:10:00Z".into()),
                events: vec![
                    change("31", "tags", json!(["2fa"]), json!(["2fa", "verified"])),
                    change("32", "status", json!("open"), json!("solved")),
                ],
            },
            Audit {
                id: "1".into(),
                created_at: Some("2025-01-08T10:00:00Z".into()),
                events: vec![comment_ref("501")],
            },
            Audit {
                id: "2".into(),
                created_at: Some("2025-01-08T10:05:00Z".into()),
                events: vec![
                    comment_ref("502"),
                    change("21", "status", json!("new"), json!("open")),
                ],
            },
        ],
        staff: ["900".to_string()].into_iter().collect(),
    }
}

#[test]
fn every_update_becomes_the_events_zendesk_would_have_sent_with_the_ticket_as_it_was() {
    let events = replay(&history());
    let keys: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "zendesk-created:77",
            "zendesk-comment:501",
            "zendesk-audit-event:21",
            "zendesk-comment:502",
            "zendesk-audit-event:31",
            "zendesk-audit-event:32",
        ]
    );
    let created = &events[0].payload;
    assert_eq!(created["id"], "zendesk-created:77");
    assert_eq!(created["type"], "zen:event-type:ticket.created");
    // The tag and status changed later: at creation the ticket had neither.
    assert_eq!(created["detail"]["tags"], json!(["2fa"]));
    assert_eq!(created["detail"]["status"], "new");
    let question = &events[3].payload;
    assert_eq!(question["event"]["comment"]["author"]["is_staff"], true);
    assert_eq!(question["detail"]["status"], "open");
    let tags = &events[4].payload;
    assert_eq!(tags["event"]["tags_added"], json!(["verified"]));
    assert_eq!(tags["event"]["tags_removed"], json!([]));
    assert_eq!(events[5].payload["event"]["current"], "solved");
}

#[test]
fn the_synced_payloads_parse_as_webhook_events() {
    for event in replay(&history()) {
        let body = serde_json::to_vec(&event.payload).unwrap();
        let parsed =
            crate::helpdesk::zendesk::payload::parse_event(&body, OffsetDateTime::now_utc())
                .unwrap_or_else(|e| panic!("{}: {e}", event.key));
        assert_eq!(parsed.event_id, event.key);
        assert_eq!(parsed.ticket.id, "77");
    }
}

#[test]
fn a_comment_no_audit_names_gets_the_ticket_as_the_updates_before_it_left_it() {
    let mut h = history();
    h.audits.retain(|a| a.id != "2");
    h.comments[1].author_id = Some("1001".into());
    let events = replay(&h);
    let reply = events
        .iter()
        .find(|e| e.key == "zendesk-comment:502")
        .expect("the comment is fed");
    assert_eq!(reply.payload["time"], "2025-01-08T10:05:00Z");
    assert_eq!(reply.payload["detail"]["tags"], json!(["2fa"]));
    assert_eq!(
        reply.payload["event"]["comment"]["author"]["is_staff"],
        false
    );
}

#[test]
fn without_its_audits_a_ticket_is_replayed_from_its_comments_as_it_is_now() {
    let mut h = history();
    h.audits.clear();
    let events = replay(&h);
    let keys: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "zendesk-created:77",
            "zendesk-comment:501",
            "zendesk-comment:502"
        ]
    );
    assert_eq!(events[0].payload["detail"]["status"], "solved");
    assert_eq!(
        events[2].payload["detail"]["tags"],
        json!(["2fa", "verified"])
    );
}
