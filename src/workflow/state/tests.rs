//! Test helpers: a `Script` builds events as the helpdesk would send them (each snapshot
//! carries the tags as they are at that moment), a `Desk` delivers them in any order.

mod flow;
mod gitlab;
mod ordering;
mod questions;
mod reopen;
mod requester;
mod steps;
mod withdrawal;

use super::*;
use crate::store::trail::ANCHOR_PLACEHOLDER;
use crate::workflow::{Comment, ConfirmationDraft, EventKind, TicketSnapshot};
use time::Duration;
use time::macros::datetime;

pub const REQUESTER: &str = "1001";
pub const AGENT: &str = "900";
pub const COLLEAGUE: &str = "1002";
/// Who the requester becomes when an agent changes it.
pub const NEW_REQUESTER: &str = "1003";
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
    pub requester: String,
    next_event: u32,
}

impl Script {
    pub fn new(subject: &str, tags: &[&str]) -> Script {
        Script {
            subject: subject.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            status: "open".into(),
            requester: REQUESTER.into(),
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
                requester_id: self.requester.clone(),
                status: self.status.clone(),
                tags: self.tags.clone(),
            },
            kind,
        }
    }

    pub fn created(&mut self, minute: i64) -> TicketEvent {
        self.event(minute, EventKind::TicketCreated)
    }

    pub fn comment(
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

    pub fn status(&mut self, minute: i64, current: &str) -> TicketEvent {
        let previous = std::mem::replace(&mut self.status, current.into());
        self.event(
            minute,
            EventKind::StatusChanged {
                previous,
                current: current.into(),
            },
        )
    }

    pub fn solve(&mut self, minute: i64) -> TicketEvent {
        self.status(minute, "solved")
    }

    pub fn reopen(&mut self, minute: i64) -> TicketEvent {
        self.status(minute, "open")
    }

    pub fn close(&mut self, minute: i64) -> TicketEvent {
        self.status(minute, "closed")
    }

    /// An agent makes `requester` the ticket's requester.
    pub fn change_requester(&mut self, minute: i64, requester: &str) -> TicketEvent {
        self.requester = requester.into();
        self.event(minute, EventKind::RequesterChanged)
    }

    /// A public reply by `author`, an end user.
    pub fn end_user(&mut self, minute: i64, id: &str, author: &str, body: &str) -> TicketEvent {
        self.comment(minute, id, author, false, true, body)
    }
}

/// A helpdesk speaking Zendesk's status names (the tests' events do).
fn terms(link: Option<&str>) -> crate::workflow::HelpdeskTerms {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    crate::workflow::HelpdeskTerms {
        ticket_link: link.map(str::to_string),
        live: names(&["new", "open", "pending", "hold"]),
        solved: names(&["solved"]),
        closed: names(&["closed"]),
    }
}

#[derive(Clone)]
pub struct Desk {
    pub state: Option<TicketState>,
    pub settings: WorkflowSettings,
}

impl Desk {
    pub fn new() -> Desk {
        Desk {
            state: None,
            settings: WorkflowSettings {
                helpdesk: terms(None),
                ..WorkflowSettings::default()
            },
        }
    }

    pub fn with_url() -> Desk {
        let mut desk = Desk::new();
        desk.settings.helpdesk = terms(Some("https://acme.zendesk.com/agent/tickets/{id}"));
        desk
    }

    pub fn deliver(&mut self, event: &TicketEvent) -> Decision {
        let decision = decide(self.state.as_ref(), event, &self.settings);
        // The store anchors the records in the notes' placeholders, in order: each record
        // has exactly one (unless the ticket gets no notes: category `other`, or done).
        let noted =
            decision.state.category != Some(Category::Other) && decision.state.done_at.is_none();
        if noted || !decision.notes.is_empty() {
            let placeholders: usize = decision
                .notes
                .iter()
                .map(|n| n.html_body.matches(ANCHOR_PLACEHOLDER).count())
                .sum();
            assert_eq!(
                placeholders,
                decision.confirmations.len(),
                "notes {:?}",
                steps(&decision)
            );
        }
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

/// An account ticket with ownership verified and the 2FA question `c10` asked at minute 2.
pub fn account_awaiting() -> (Script, Desk) {
    let (mut s, mut desk) = (Script::account(), Desk::with_url());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    desk.deliver(&s.agent(2, "c10", ASK_2FA));
    (s, desk)
}

/// Whether a note offers a ready-to-paste Admin Note or issue line.
pub fn offers_a_draft(html: &str) -> bool {
    html.contains("| user requested |") || html.contains("The user provided permission")
}

pub fn steps(d: &Decision) -> Vec<String> {
    d.notes.iter().map(|n| n.step.key()).collect()
}

/// Every order of `events` (a handful: n! runs), each delivered to a copy of `desk`; `check`
/// gets the final desk, every decision in delivery order, and the order (indices into
/// `events`).
pub fn in_every_order(
    desk: &Desk,
    events: &[TicketEvent],
    check: impl Fn(&Desk, &[Decision], &[usize]),
) {
    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut all = vec![];
        for rest in permutations(n - 1) {
            for at in 0..=rest.len() {
                let mut p = rest.clone();
                p.insert(at, n - 1);
                all.push(p);
            }
        }
        all
    }
    for order in permutations(events.len()) {
        let mut copy = desk.clone();
        let decisions: Vec<Decision> = order.iter().map(|&i| copy.deliver(&events[i])).collect();
        check(&copy, &decisions, &order);
    }
}

/// Every record and every note body (decoded as in [`only_note`]) of some decisions.
pub fn records(decisions: &[Decision]) -> Vec<&ConfirmationDraft> {
    decisions.iter().flat_map(|d| &d.confirmations).collect()
}

pub fn note_bodies(decisions: &[Decision]) -> Vec<String> {
    decisions
        .iter()
        .flat_map(|d| &d.notes)
        .map(|n| decode(&n.html_body))
        .collect()
}

fn decode(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
}

/// The single note of a decision, with the entities minijinja uses for `/`, `'` and `"`
/// decoded so assertions read like the text an agent sees (`<`, `>`, `&` stay escaped).
pub fn only_note(d: &Decision) -> String {
    assert_eq!(d.notes.len(), 1, "expected one note, got {:?}", steps(d));
    decode(&d.notes[0].html_body)
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

#[test]
fn a_state_stored_before_questions_were_bound_to_requesters_loads_and_works() {
    // As the previous version stored it: one pending question, no requester anywhere.
    let old = r#"{"category":"account_access","reasons":["tag onbehalf_category_account_access"],
        "category_override":"account_access","recategorisations":0,
        "ownership_verified":true,"role_verified":false,"escalated":false,
        "escalation_noted":false,"tags_seen_at":"2025-01-08T10:01:00Z","done_at":null,
        "pending":{"action":"disable two-factor authentication on your account",
            "question":"Could you please confirm that you would like us to disable two-factor authentication on your account?",
            "asked":{"at":"2025-01-08T10:02:00Z","comment_id":"c10"},"verified_when_asked":true},
        "settled":null,"last_question":{"at":"2025-01-08T10:02:00Z","comment_id":"c10"},
        "early_replies":[],"handled_comments":["c10"]}"#;
    let state: TicketState = serde_json::from_str(old).unwrap();
    assert_eq!(state.questions.len(), 1);
    assert_eq!(state.stage_name(), "awaiting_permission");
    let round: TicketState = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    assert_eq!(round, state);

    let mut desk = Desk::new();
    desk.state = Some(state);
    let mut s = Script::account();
    s.tags.push(OWNERSHIP.into());
    let d = desk.deliver(&s.requester(3, "c11", "Yes, please go ahead."));
    let [record] = d.confirmations.as_slice() else {
        panic!("{:?}", d.confirmations)
    };
    assert_eq!(record.requester_id, REQUESTER);
    assert_eq!(record.request_comment_id, "c10");
    assert_eq!(desk.stage(), "permission_granted");

    // A settled question stored then can still be withdrawn.
    let d = desk.deliver(&s.requester(4, "c12", "Actually no, don't do it"));
    assert_eq!(
        d.confirmations[0].withdraws_reply_comment_id,
        Some("c11".into())
    );
}

#[test]
fn an_old_settled_grant_without_requester_or_time_of_asking_still_loads() {
    let old = r#"{"category":"account_access","ownership_verified":true,
        "tags_seen_at":"2025-01-08T10:01:00Z",
        "settled":{"action":"reset your password","question":"Could you please confirm that you would like us to reset your password?",
            "verdict":"granted","quote":"Yes","request_comment_id":"c10","reply_comment_id":"c11",
            "decided_at":"2025-01-08T10:03:00Z","verified_when_asked":true}}"#;
    let mut desk = Desk::new();
    desk.state = Some(serde_json::from_str(old).unwrap());
    let mut s = Script::account();
    s.tags.push(OWNERSHIP.into());
    let d = desk.deliver(&s.requester(5, "c12", "Actually no, don't do it"));
    assert_eq!(d.confirmations.len(), 1);
    assert_eq!(d.confirmations[0].requester_id, REQUESTER);
    assert_eq!(desk.stage(), "permission_withdrawn");
}
