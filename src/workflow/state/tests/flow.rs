//! A whole ticket, as agents work it.
use super::*;

#[test]
fn account_access_from_creation_to_admin_note() {
    let (mut s, mut desk) = (
        Script::new("Locked out: lost my 2FA device", &[]),
        Desk::with_url(),
    );
    // Classified by its text (no override tag).
    let d = desk.deliver(&s.created(0));
    assert_eq!(steps(&d), ["triage"]);
    assert_eq!(desk.state().category(), Some(Category::AccountAccess));

    // The agent asks too early.
    let d = desk.deliver(&s.agent(5, "c10", ASK_2FA));
    assert_eq!(steps(&d), ["warning-unverified-c10"]);
    assert!(only_note(&d).contains("WARNING"));

    // Verification done, question asked again.
    let d = desk.deliver(&s.tag(30, OWNERSHIP));
    assert_eq!(steps(&d), ["ownership-verified"]);
    let d = desk.deliver(&s.agent(31, "c20", ASK_2FA));
    assert_eq!(steps(&d), ["question-c20"]);

    // A CC'd colleague cannot give permission.
    quiet(&desk.deliver(&s.colleague(40, "c30", "Yes, please go ahead.")));
    assert_eq!(desk.stage(), "awaiting_permission");

    let d = desk.deliver(&s.requester(
        45,
        "c31",
        "Yes, please go ahead.\n\nOn Wed, Support wrote:\n> Could you please confirm",
    ));
    assert_eq!(steps(&d), ["verdict-c31"]);
    let [record] = d.confirmations.as_slice() else {
        panic!()
    };
    assert_eq!(record.ticket_id, "5158");
    assert_eq!(record.requester_id, REQUESTER);
    assert_eq!(record.category, Category::AccountAccess);
    assert_eq!(
        record.action,
        "disable two-factor authentication on your account"
    );
    assert_eq!(record.verdict, ConsentVerdict::Granted);
    assert_eq!(record.quote, "Yes, please go ahead.");
    assert_eq!(record.request_comment_id, "c20");
    assert_eq!(record.reply_comment_id, "c31");
    assert_eq!(record.decided_at, at(45));

    let html = only_note(&d);
    assert!(html.contains("Permission confirmed"), "{html}");
    assert!(
        html.contains("<blockquote>Yes, please go ahead.</blockquote>"),
        "{html}"
    );
    assert!(html.contains("2025-01-08 10:45 UTC"), "{html}");
    assert!(
        html.contains("Next step: <strong>Have a peer review"),
        "{html}"
    );
    assert!(html.contains("<pre>2025-01-08 | 2FA removed | user requested | https://acme.zendesk.com/agent/tickets/5158</pre>"), "{html}");
    assert!(
        html.contains("<li>☑ Permission confirmed by the requester</li>"),
        "{html}"
    );
    assert_eq!(desk.stage(), "permission_granted");

    quiet(&desk.deliver(&s.solve(60)));
    assert_eq!(desk.stage(), "done");
}

#[test]
fn permission_given_to_a_question_asked_before_verification_does_not_count() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.agent(5, "c10", ASK_2FA));
    let d = desk.deliver(&s.requester(6, "c11", "Yes, please go ahead."));
    assert_eq!(
        d.confirmations.len(),
        1,
        "what the customer said is recorded"
    );
    let html = only_note(&d);
    assert!(html.contains("it does not count"), "{html}");
    assert!(
        !html.contains("| user requested |"),
        "no Admin Note draft: {html}"
    );
    assert_eq!(desk.stage(), "verify_ownership");
    let d = desk.deliver(&s.tag(7, OWNERSHIP));
    assert!(only_note(&d).contains("Could you please confirm that you would like us to disable two-factor authentication on your account?"));
    assert_eq!(desk.stage(), "ask_permission");
}
