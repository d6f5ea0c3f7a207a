//! GitLab's facts as input to the decision: the role rule, facts learnt late, a new requester.
use super::*;
use crate::workflow::decide_with;
use crate::workflow::gitlab::{
    Found, GitLabFacts, GitLabUser, PathKind, PathRole, RoleFacts, Standing,
};

fn facts(requester: &str, minute: i64, found: Found) -> GitLabFacts {
    GitLabFacts {
        requester_id: requester.into(),
        read_at: at(minute),
        source: "GitLab API https://gitlab.com".into(),
        found,
    }
}

fn with_level(level: Option<u32>) -> Found {
    Found::User {
        user: GitLabUser {
            id: 7,
            username: "alice".into(),
            state: "active".into(),
            two_factor_enabled: Some(true),
            identity_providers: vec![],
        },
        role: Some(Box::new(RoleFacts::Checked {
            path: PathRole {
                mentioned: "acme/api".into(),
                standing: Standing::Member {
                    kind: PathKind::Project,
                    full_path: "acme/api".into(),
                    access_level: level,
                    inherited_from: None,
                },
            },
        })),
        account: None,
    }
}

fn failed() -> Found {
    Found::Failed {
        reason: "GitLab is unavailable: GitLab answered 503 Service Unavailable".into(),
    }
}

impl Desk {
    fn deliver_with(&mut self, event: &TicketEvent, facts: &GitLabFacts) -> Decision {
        let decision = decide_with(self.state.as_ref(), event, &self.settings, Some(facts));
        self.state = Some(decision.state.clone());
        decision
    }
}

#[test]
fn a_maintainer_in_the_triage_note_moves_the_ticket_to_the_permission_question() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    let d = desk.deliver_with(&s.created(0), &facts(REQUESTER, 0, with_level(Some(40))));
    assert_eq!(steps(&d), ["triage"]);
    let html = only_note(&d);
    assert!(
        html.contains(
            "verified: <code>@alice</code> is Maintainer (40) of project <code>acme/api</code>"
        ),
        "{html}"
    );
    assert_eq!(desk.stage(), "ask_permission");
    assert_eq!(desk.state().role_verified_by.as_deref(), Some("GitLab API"));
}

#[test]
fn facts_learnt_after_the_triage_note_get_one_note_of_their_own() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    let d = desk.deliver_with(&s.created(0), &facts(REQUESTER, 0, failed()));
    assert!(only_note(&d).contains("could not check: GitLab is unavailable"));
    assert_eq!(desk.stage(), "verify_role");
    // The same failure again is no news.
    quiet(&desk.deliver_with(
        &s.requester(1, "c1", "Any news?"),
        &facts(REQUESTER, 1, failed()),
    ));
    // GitLab answers: a Developer.
    let d = desk.deliver_with(
        &s.requester(6, "c2", "Hello?"),
        &facts(REQUESTER, 6, with_level(Some(30))),
    );
    assert_eq!(steps(&d), ["gitlab-1"]);
    let html = only_note(&d);
    assert!(html.contains("what GitLab says"), "{html}");
    assert!(html.contains("Reply to paste"), "{html}");
    assert_eq!(desk.stage(), "verify_role");
    // Read again, unchanged: no note.
    quiet(&desk.deliver_with(
        &s.requester(7, "c3", "Well?"),
        &facts(REQUESTER, 7, with_level(Some(30))),
    ));
    assert!(desk.state().role_verified_by.is_none());
}

#[test]
fn facts_about_a_previous_requester_never_verify_the_new_one() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    desk.deliver_with(&s.created(0), &facts(REQUESTER, 0, with_level(Some(50))));
    assert_eq!(desk.stage(), "ask_permission");
    let d = desk.deliver_with(
        &s.change_requester(5, NEW_REQUESTER),
        &facts(REQUESTER, 0, with_level(Some(50))),
    );
    assert_eq!(steps(&d), ["requester-changed-1"]);
    assert_eq!(desk.stage(), "verify_role");
    assert!(desk.state().role_verified_by.is_none());
    // Facts about the new requester count.
    let d = desk.deliver_with(
        &s.requester(6, "c1", "Hi"),
        &facts(NEW_REQUESTER, 6, with_level(Some(40))),
    );
    assert_eq!(steps(&d), ["gitlab-1"]);
    assert_eq!(desk.stage(), "ask_permission");
}

#[test]
fn the_agents_tag_verifies_even_when_gitlab_shows_too_little() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    desk.deliver_with(&s.created(0), &facts(REQUESTER, 0, with_level(Some(30))));
    assert_eq!(desk.stage(), "verify_role");
    desk.deliver_with(&s.tag(1, ROLE), &facts(REQUESTER, 0, with_level(Some(30))));
    assert_eq!(desk.stage(), "ask_permission");
    assert_eq!(
        desk.state().role_verified_by.as_deref(),
        Some("tag requester_role_verified")
    );
}

#[test]
fn other_tickets_never_show_gitlab_facts() {
    let (mut s, mut desk) = (
        Script::new("Invoice question", &["onbehalf_category_other"]),
        Desk::new(),
    );
    let d = desk.deliver_with(&s.created(0), &facts(REQUESTER, 0, with_level(Some(40))));
    assert!(d.notes.is_empty());
}
