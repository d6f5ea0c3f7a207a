//! Test helpers: a `Script` builds events as the helpdesk would send them (each snapshot
//! carries the tags as they are at that moment), a `Desk` delivers them in any order.

mod flow;
mod ordering;
mod steps;

use super::*;
use crate::workflow::{Comment, EventKind, TicketSnapshot};
use time::Duration;
use time::macros::datetime;

pub const REQUESTER: &str = "1001";
pub const AGENT: &str = "900";
pub const COLLEAGUE: &str = "1002";
pub const ACCOUNT: &str = "onbehalf_category_account_access";
pub const PROJECT: &str = "onbehalf_category_project_group_change";
pub const OWNERSHIP: &str = "account_ownership_verified";
pub const ROLE: &str = "requester_role_verified";
pub const ESCALATED: &str = "onbehalf_escalated";
pub const ASK_2FA: &str = "Could you please confirm that you would like us to disable two-factor authentication on your account?";
pub const ASK_PIPELINES: &str = "Could you please provide permission for staff to re-run one or more pipelines in project `xyz` to investigate the issue you've described?";

pub fn at(minute: i64) -> OffsetDateTime {
    datetime!(2025-01-08 10:00 UTC) + Duration::minutes(minute)
}

pub struct Script {
    pub subject: String,
    pub tags: Vec<String>,
    pub status: String,
    next_event: u32,
}

impl Script {
    pub fn new(subject: &str, tags: &[&str]) -> Script {
        Script {
            subject: subject.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            status: "open".into(),
            next_event: 0,
        }
    }

    /// An account-access ticket (by override tag, so the real classifier agrees).
    pub fn account() -> Script {
        Script::new("Help", &[ACCOUNT])
    }

    pub fn project() -> Script {
        Script::new("Help", &[PROJECT])
    }

    pub fn event(&mut self, minute: i64, kind: EventKind) -> TicketEvent {
        self.next_event += 1;
        TicketEvent {
            event_id: format!("ev-{}", self.next_event),
            occurred_at: at(minute),
            ticket: TicketSnapshot {
                id: "5158".into(),
                subject: self.subject.clone(),
                description: "Please help.".into(),
                requester_id: REQUESTER.into(),
                status: self.status.clone(),
                tags: self.tags.clone(),
            },
            kind,
        }
    }

    pub fn created(&mut self, minute: i64) -> TicketEvent {
        self.event(minute, EventKind::TicketCreated)
    }

    fn comment(
        &mut self,
        minute: i64,
        id: &str,
        author: &str,
        staff: bool,
        public: bool,
        body: &str,
    ) -> TicketEvent {
        let comment = Comment {
            id: id.into(),
            author_id: author.into(),
            author_is_staff: staff,
            public,
            body: body.into(),
            ..Comment::default()
        };
        self.event(minute, EventKind::CommentAdded { comment })
    }

    pub fn agent(&mut self, minute: i64, id: &str, body: &str) -> TicketEvent {
        self.comment(minute, id, AGENT, true, true, body)
    }

    pub fn agent_internal(&mut self, minute: i64, id: &str, body: &str) -> TicketEvent {
        self.comment(minute, id, AGENT, true, false, body)
    }

    pub fn requester(&mut self, minute: i64, id: &str, body: &str) -> TicketEvent {
        self.comment(minute, id, REQUESTER, false, true, body)
    }

    pub fn colleague(&mut self, minute: i64, id: &str, body: &str) -> TicketEvent {
        self.comment(minute, id, COLLEAGUE, false, true, body)
    }

    pub fn tag(&mut self, minute: i64, tag: &str) -> TicketEvent {
        self.tags.push(tag.into());
        let kind = EventKind::TagsChanged {
            added: vec![tag.into()],
            removed: vec![],
        };
        self.event(minute, kind)
    }

    pub fn untag(&mut self, minute: i64, tag: &str) -> TicketEvent {
        self.tags.retain(|t| t != tag);
        let kind = EventKind::TagsChanged {
            added: vec![],
            removed: vec![tag.into()],
        };
        self.event(minute, kind)
    }

    pub fn solve(&mut self, minute: i64) -> TicketEvent {
        let previous = std::mem::replace(&mut self.status, "solved".into());
        self.event(
            minute,
            EventKind::StatusChanged {
                previous,
                current: "solved".into(),
            },
        )
    }
}

pub struct Desk {
    pub state: Option<TicketState>,
    pub settings: WorkflowSettings,
}

impl Desk {
    pub fn new() -> Desk {
        Desk {
            state: None,
            settings: WorkflowSettings::default(),
        }
    }

    pub fn with_url() -> Desk {
        let mut desk = Desk::new();
        desk.settings.helpdesk_url = Some("https://acme.zendesk.com".into());
        desk
    }

    pub fn deliver(&mut self, event: &TicketEvent) -> Decision {
        let decision = decide(self.state.as_ref(), event, &self.settings, at(10_000));
        self.state = Some(decision.state.clone());
        decision
    }

    pub fn state(&self) -> &TicketState {
        self.state.as_ref().expect("an event was delivered")
    }

    pub fn stage(&self) -> &'static str {
        self.state().stage_name()
    }
}

pub fn steps(d: &Decision) -> Vec<&str> {
    d.notes.iter().map(|n| n.step.as_str()).collect()
}

/// The single note of a decision, with the entities minijinja uses for `/`, `'` and `"`
/// decoded so assertions read like the text an agent sees (`<`, `>`, `&` stay escaped).
pub fn only_note(d: &Decision) -> String {
    assert_eq!(d.notes.len(), 1, "expected one note, got {:?}", steps(d));
    d.notes[0]
        .html_body
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
}

pub fn quiet(d: &Decision) {
    assert!(d.notes.is_empty(), "unexpected notes {:?}", steps(d));
    assert!(
        d.confirmations.is_empty(),
        "unexpected records {:?}",
        d.confirmations
    );
}

#[test]
fn a_new_ticket_has_no_category_and_stage_new() {
    let state = TicketState::default();
    assert_eq!(state.category(), None);
    assert_eq!(state.stage_name(), "new");
}

#[test]
fn states_stored_by_older_versions_still_load() {
    let old: TicketState = serde_json::from_str(r#"{"category":"account_access"}"#).unwrap();
    assert_eq!(old.category(), Some(Category::AccountAccess));
    assert_eq!(old.stage_name(), "verify_ownership");
    let round: TicketState = serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
    assert_eq!(round, old);
}
