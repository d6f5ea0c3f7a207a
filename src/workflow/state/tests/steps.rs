//! One transition at a time.
use super::*;

#[test]
fn account_ticket_is_triaged_with_handbook_facts() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    let d = desk.deliver(&s.created(0));
    assert_eq!(steps(&d), ["triage"]);
    let html = only_note(&d);
    assert!(html.contains("<code>account_access</code>"), "{html}");
    assert!(
        html.contains(&format!("tag {ACCOUNT}")),
        "classifier reasons shown: {html}"
    );
    assert!(
        html.contains("Next step: <strong>Make sure the self-service options are exhausted"),
        "{html}"
    );
    assert!(
        html.contains("ssh git@gitlab.com 2fa_recovery_codes"),
        "{html}"
    );
    assert!(html.contains("paid plan"), "{html}");
    assert!(html.contains("GitLab team members go to IT"), "{html}");
    assert_eq!(desk.state().category(), Some(Category::AccountAccess));
    assert_eq!(desk.stage(), "verify_ownership");
}

#[test]
fn project_ticket_is_triaged_with_role_verification_next() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    let html = only_note(&desk.deliver(&s.created(0))).to_string();
    assert!(html.contains("group Owner or project Maintainer"), "{html}");
    assert_eq!(desk.stage(), "verify_role");
}

#[test]
fn the_first_event_of_any_kind_classifies_the_ticket() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    let d = desk.deliver(&s.requester(5, "c1", "I am locked out."));
    assert_eq!(steps(&d), ["triage"]);
    assert_eq!(desk.state().category(), Some(Category::AccountAccess));
}

#[test]
fn other_tickets_stay_silent_even_on_questions_and_replies() {
    let (mut s, mut desk) = (
        Script::new("Could you send me a copy of the invoice for March?", &[]),
        Desk::new(),
    );
    quiet(&desk.deliver(&s.created(0)));
    assert_eq!(desk.state().category(), Some(Category::Other));
    assert_eq!(desk.stage(), "silent");
    quiet(&desk.deliver(&s.tag(1, OWNERSHIP)));
    quiet(&desk.deliver(&s.agent(2, "c1", ASK_2FA)));
    // A classifier miss must not lose the customer's permission: recorded, still silent.
    let d = desk.deliver(&s.requester(3, "c2", "Yes, please go ahead."));
    assert!(d.notes.is_empty(), "{:?}", steps(&d));
    assert_eq!(d.confirmations.len(), 1);
    assert_eq!(d.confirmations[0].category, Category::Other);
}

#[test]
fn an_override_tag_recategorises_and_removing_it_restores_the_classifier() {
    let (mut s, mut desk) = (
        Script::new("Could you send me a copy of the invoice for March?", &[]),
        Desk::new(),
    );
    desk.deliver(&s.created(0));
    let d = desk.deliver(&s.tag(1, ACCOUNT));
    assert_eq!(steps(&d), ["recategorised-account_access"]);
    let html = only_note(&d);
    assert!(html.contains("category changed by agent"), "{html}");
    assert!(
        html.contains("<code>other</code> to <code>account_access</code>"),
        "{html}"
    );
    assert_eq!(desk.stage(), "verify_ownership");

    let d = desk.deliver(&s.untag(2, ACCOUNT));
    assert_eq!(steps(&d), ["recategorised-other-2"]);
    assert_eq!(desk.state().category(), Some(Category::Other));
    quiet(&desk.deliver(&s.agent(3, "c1", ASK_2FA)));
}

#[test]
fn ownership_verified_prompts_the_permission_question() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    let d = desk.deliver(&s.tag(1, OWNERSHIP));
    assert_eq!(steps(&d), ["ownership-verified"]);
    let html = only_note(&d);
    assert!(
        html.contains("Next step: <strong>Ask the requester for explicit permission"),
        "{html}"
    );
    assert!(
        html.contains("<blockquote>Could you please confirm that you would like us to ["),
        "{html}"
    );
    assert!(
        html.contains("Replying in this ticket stating you provide permission will be sufficient."),
        "{html}"
    );
    assert!(html.contains("<li>☑ Account ownership verified"), "{html}");
    assert_eq!(desk.stage(), "ask_permission");
}

#[test]
fn role_verified_prompts_the_permission_question_for_project_changes() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    desk.deliver(&s.created(0));
    let d = desk.deliver(&s.tag(1, ROLE));
    assert_eq!(steps(&d), ["role-verified"]);
    assert!(only_note(&d).contains("Could you please provide permission for staff to ["));
    assert_eq!(desk.stage(), "ask_permission");
    // The other category's fact tag means nothing here.
    quiet(&desk.deliver(&s.tag(2, OWNERSHIP)));
}

#[test]
fn a_question_after_verification_is_remembered_verbatim() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    let d = desk.deliver(&s.agent(2, "c10", &format!("Thanks.\n\n{ASK_2FA}")));
    assert_eq!(steps(&d), ["question-c10"]);
    assert!(only_note(&d).contains("disable two-factor authentication on your account"));
    let [pending] = desk.state().questions.as_slice() else {
        panic!("{:?}", desk.state().questions)
    };
    assert_eq!(
        pending.action,
        "disable two-factor authentication on your account"
    );
    assert_eq!(pending.asked.comment_id, "c10");
    assert_eq!(pending.asked.at, at(2));
    assert_eq!(desk.stage(), "awaiting_permission");
}

#[test]
fn a_question_before_ownership_verification_warns_and_is_asked_again_later() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    let d = desk.deliver(&s.agent(2, "c10", ASK_2FA));
    assert_eq!(steps(&d), ["warning-unverified-c10"]);
    let html = only_note(&d);
    assert!(html.contains("WARNING"), "{html}");
    assert!(html.contains("Workflow violation"), "{html}");
    assert!(
        html.contains("<li>☐ Explicit permission asked"),
        "a question that does not count: {html}"
    );
    assert!(
        !desk.state().questions.is_empty(),
        "the question is still recorded"
    );

    let d = desk.deliver(&s.tag(3, OWNERSHIP));
    let html = only_note(&d);
    assert!(html.contains("asked before verification"), "{html}");
    assert!(html.contains("<blockquote>Could you please confirm that you would like us to disable two-factor authentication on your account?"), "{html}");
    assert_eq!(desk.stage(), "ask_permission");

    let d = desk.deliver(&s.agent(4, "c11", ASK_2FA));
    assert_eq!(steps(&d), ["question-c11"]);
    assert_eq!(desk.state().questions[0].asked.comment_id, "c11");
    assert_eq!(desk.stage(), "awaiting_permission");
}

#[test]
fn a_project_question_before_role_verification_only_reminds() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    desk.deliver(&s.created(0));
    let d = desk.deliver(&s.agent(2, "c10", ASK_PIPELINES));
    assert_eq!(steps(&d), ["question-c10"]);
    let html = only_note(&d);
    assert!(
        html.contains("Reminder: the requester's Owner/Maintainer role is not verified"),
        "{html}"
    );
    assert!(!html.contains("WARNING"), "{html}");
}

#[test]
fn an_internal_note_is_never_a_question() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    quiet(&desk.deliver(&s.agent_internal(2, "c10", ASK_2FA)));
    assert!(desk.state().questions.is_empty());
    quiet(&desk.deliver(&s.requester(3, "c11", "Yes, please go ahead.")));
}

fn awaiting(s: &mut Script, desk: &mut Desk, ask: &str) {
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    desk.deliver(&s.tag(1, ROLE));
    desk.deliver(&s.agent(2, "c10", ask));
}

#[test]
fn granted_on_a_project_records_and_drafts_the_issue_line() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    awaiting(&mut s, &mut desk, ASK_PIPELINES);
    let d = desk.deliver(&s.requester(30, "c20", "Yes, please go ahead."));
    assert_eq!(steps(&d), ["verdict-c20"]);
    let [record] = d.confirmations.as_slice() else {
        panic!("{:?}", d.confirmations)
    };
    assert_eq!(record.verdict, ConsentVerdict::Granted);
    assert_eq!(record.category, Category::ProjectGroupChange);
    assert_eq!(
        record.action,
        "re-run one or more pipelines in project `xyz` to investigate the issue you've described"
    );
    let html = only_note(&d);
    assert!(html.contains("Permission confirmed"), "{html}");
    assert!(
        html.contains("<blockquote>Yes, please go ahead.</blockquote>"),
        "{html}"
    );
    assert!(html.contains("2025-01-08 10:30 UTC"), "{html}");
    assert!(html.contains("The user provided permission for staff to re-run one or more pipelines in project `xyz` to investigate the issue you've described (ticket #5158, 2025-01-08)."), "{html}");
    assert_eq!(desk.stage(), "permission_granted");
}

#[test]
fn declined_records_and_says_do_not_proceed() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    awaiting(&mut s, &mut desk, ASK_2FA);
    let d = desk.deliver(&s.requester(30, "c20", "No, please do not disable it."));
    assert_eq!(d.confirmations.len(), 1);
    assert_eq!(d.confirmations[0].verdict, ConsentVerdict::Declined);
    let html = only_note(&d);
    assert!(html.contains("do not proceed"), "{html}");
    assert!(html.contains("Next step: <strong>Do not proceed"), "{html}");
    assert_eq!(desk.stage(), "permission_declined");
}

#[test]
fn unclear_asks_again_and_keeps_the_question_pending() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    awaiting(&mut s, &mut desk, ASK_2FA);
    let d = desk.deliver(&s.requester(30, "c20", "Maybe? What would that change for my team?"));
    assert!(d.confirmations.is_empty());
    let html = only_note(&d);
    assert!(html.contains("not an explicit confirmation"), "{html}");
    assert!(html.contains("<blockquote>Could you please confirm that you would like us to disable two-factor authentication on your account? Replying"), "{html}");
    assert_eq!(desk.stage(), "awaiting_permission");
    let d = desk.deliver(&s.requester(40, "c21", "Yes, please go ahead."));
    assert_eq!(d.confirmations.len(), 1);
    assert_eq!(d.confirmations[0].reply_comment_id, "c21");
}

#[test]
fn a_cc_colleague_or_an_agent_cannot_answer() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    awaiting(&mut s, &mut desk, ASK_2FA);
    let before = desk.state().questions.clone();
    quiet(&desk.deliver(&s.colleague(30, "c20", "Yes, please go ahead.")));
    quiet(&desk.deliver(&s.agent(31, "c21", "Yes, please go ahead.")));
    assert_eq!(desk.state().questions, before);
    assert_eq!(desk.stage(), "awaiting_permission");
}

#[test]
fn a_settled_question_is_not_answered_twice() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    awaiting(&mut s, &mut desk, ASK_2FA);
    assert_eq!(
        desk.deliver(&s.requester(30, "c20", "Yes, please go ahead."))
            .confirmations
            .len(),
        1
    );
    quiet(&desk.deliver(&s.requester(31, "c21", "Yes, please go ahead, thanks again.")));
    // A new question is answered again.
    desk.deliver(&s.agent(
        40,
        "c30",
        "Could you please confirm that you would like us to reset your password?",
    ));
    let d = desk.deliver(&s.requester(41, "c31", "Yes, please go ahead."));
    assert_eq!(d.confirmations[0].action, "reset your password");
}

#[test]
fn escalation_is_noted_once_and_stops_verification_prompts() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    let d = desk.deliver(&s.tag(1, ESCALATED));
    assert_eq!(steps(&d), ["escalated"]);
    assert!(only_note(&d).contains("Next step: <strong>Escalated"));
    assert_eq!(desk.stage(), "escalated");
    quiet(&desk.deliver(&s.tag(2, OWNERSHIP)));
    quiet(&desk.deliver(&s.untag(3, ESCALATED)));
    quiet(&desk.deliver(&s.tag(4, ESCALATED)));
    // Permission replies are still followed and recorded.
    desk.deliver(&s.agent(5, "c10", ASK_2FA));
    let d = desk.deliver(&s.requester(6, "c11", "Yes, please go ahead."));
    assert_eq!(d.confirmations.len(), 1);
    assert!(only_note(&d).contains("Next step: <strong>Escalated"));
}

#[test]
fn solved_is_final() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    awaiting(&mut s, &mut desk, ASK_2FA);
    quiet(&desk.deliver(&s.solve(20)));
    assert_eq!(desk.stage(), "done");
    quiet(&desk.deliver(&s.requester(30, "c20", "Yes, please go ahead.")));
    quiet(&desk.deliver(&s.tag(31, ESCALATED)));
    quiet(&desk.deliver(&s.agent(32, "c21", ASK_2FA)));
    assert_eq!(desk.stage(), "done");
}

#[test]
fn quote_with_markup_is_escaped_in_the_note() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    awaiting(&mut s, &mut desk, ASK_2FA);
    let d =
        desk.deliver(&s.requester(30, "c20", "Yes, please go ahead. <script>alert(1)</script>"));
    let html = only_note(&d);
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}
