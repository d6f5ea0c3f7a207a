//! The question is bound to the requester it was asked of.
use super::*;

#[test]
fn a_requester_change_voids_open_questions_and_verification_and_says_so() {
    let (mut s, mut desk) = account_awaiting();
    let d = desk.deliver(&s.change_requester(5, NEW_REQUESTER));
    assert_eq!(steps(&d), ["requester-changed-1"]);
    let html = only_note(&d);
    assert!(html.contains("requester changed"), "{html}");
    assert!(
        html.contains("<code>1001</code> to user <code>1003</code>"),
        "{html}"
    );
    assert!(
        html.contains(
            "<em>disable two-factor authentication on your account</em>) no longer counts"
        ),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<code>{OWNERSHIP}</code> speaks for the previous requester"
        )),
        "{html}"
    );
    assert!(
        html.contains("Next step: <strong>Make sure the self-service options are exhausted"),
        "verification comes first again: {html}"
    );
    assert!(desk.state().questions.is_empty());
    assert_eq!(desk.stage(), "verify_ownership");

    // The old requester's yes to the old question: ignored (no longer the requester).
    quiet(&desk.deliver(&s.end_user(6, "c20", REQUESTER, "Yes, please go ahead.")));
    // The new requester's yes: no question was asked of them.
    quiet(&desk.deliver(&s.end_user(7, "c21", NEW_REQUESTER, "Yes, please go ahead.")));
    assert_eq!(desk.stage(), "verify_ownership");

    // The tag counts again once removed and re-added.
    quiet(&desk.deliver(&s.untag(8, OWNERSHIP)));
    assert_eq!(
        steps(&desk.deliver(&s.tag(9, OWNERSHIP))),
        ["ownership-verified"]
    );
    assert_eq!(
        steps(&desk.deliver(&s.agent(10, "c30", ASK_2FA))),
        ["question-c30"]
    );
    quiet(&desk.deliver(&s.end_user(11, "c31", REQUESTER, "Yes, please go ahead.")));
    let d = desk.deliver(&s.end_user(12, "c32", NEW_REQUESTER, "Yes, please go ahead."));
    let [record] = d.confirmations.as_slice() else {
        panic!("{:?}", d.confirmations)
    };
    assert_eq!(record.requester_id, NEW_REQUESTER);
    assert_eq!(record.request_comment_id, "c30");
    assert_eq!(desk.stage(), "permission_granted");
}

#[test]
fn a_requester_change_voids_the_previous_requesters_permission() {
    let (mut s, mut desk) = account_awaiting();
    desk.deliver(&s.requester(3, "c11", "Yes, please go ahead."));
    assert_eq!(desk.stage(), "permission_granted");
    let html = only_note(&desk.deliver(&s.change_requester(5, NEW_REQUESTER)));
    assert!(
        html.contains("was the previous requester's and no longer counts"),
        "{html}"
    );
    assert!(!offers_a_draft(&html), "{html}");
    assert!(desk.state().settled.is_none());
    // The previous requester cannot withdraw or re-grant anything either.
    quiet(&desk.deliver(&s.end_user(6, "c12", REQUESTER, "Actually no, don't do it")));
}

#[test]
fn a_change_seen_only_in_a_later_snapshot_counts_the_same() {
    let (mut s, mut desk) = account_awaiting();
    // No requester_changed event (not subscribed): the new requester's own reply shows it.
    s.requester = NEW_REQUESTER.into();
    let d = desk.deliver(&s.end_user(5, "c20", NEW_REQUESTER, "Yes, please go ahead."));
    assert_eq!(steps(&d), ["requester-changed-1"]);
    assert!(
        d.confirmations.is_empty(),
        "the question was asked of someone else"
    );
}

#[test]
fn an_older_snapshot_never_undoes_a_requester_change() {
    let (mut s, mut desk) = account_awaiting();
    let old_reply = s.requester(4, "c11", "Yes, please go ahead.");
    desk.deliver(&s.change_requester(5, NEW_REQUESTER));
    // The old requester's reply happened before the change but arrives after it: the question
    // it answered was voided by the change, and its snapshot does not bring them back.
    quiet(&desk.deliver(&old_reply));
    assert_eq!(desk.state().requester_id.as_deref(), Some(NEW_REQUESTER));
    assert_eq!(desk.stage(), "verify_ownership");
}

#[test]
fn question_reply_and_requester_change_in_every_order() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    let question = s.agent(2, "c10", ASK_2FA);
    let change = s.change_requester(5, NEW_REQUESTER);
    let new_requesters_yes = s.end_user(6, "c20", NEW_REQUESTER, "Yes, please go ahead.");
    in_every_order(
        &desk,
        &[question, change, new_requesters_yes],
        |desk, decisions, order| {
            assert!(records(decisions).is_empty(), "order {order:?}");
            assert!(desk.state().questions.is_empty(), "order {order:?}");
            assert_eq!(desk.stage(), "verify_ownership", "order {order:?}");
        },
    );
}

#[test]
fn a_comment_flagged_by_the_helpdesk_never_grants() {
    let (mut s, mut desk) = account_awaiting();
    let mut reply = s.requester(3, "c11", "Yes, please go ahead.");
    if let EventKind::CommentAdded { comment } = &mut reply.kind {
        comment.flags = vec![crate::workflow::CommentFlag::OnBehalfOfAuthor];
        comment.channel = Some("email".into());
    }
    let d = desk.deliver(&reply);
    assert!(d.confirmations.is_empty());
    assert!(only_note(&d).contains("on_behalf_of_author"));
    // The channel and the body's digest reach the record.
    let mut reply = s.requester(4, "c12", "Yes, please go ahead.");
    if let EventKind::CommentAdded { comment } = &mut reply.kind {
        comment.channel = Some("email".into());
    }
    let d = desk.deliver(&reply);
    assert_eq!(d.confirmations[0].channel.as_deref(), Some("email"));
    assert_eq!(
        d.confirmations[0].body_sha256,
        crate::workflow::consent::body_sha256("Yes, please go ahead.")
    );
}
