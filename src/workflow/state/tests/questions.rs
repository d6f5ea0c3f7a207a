//! Several open permission questions.
use super::*;

const ASK_DELETE: &str =
    "Could you please confirm that you would like us to delete the project `old/site`?";

/// A project ticket, role verified, with two questions open: pipelines (c10, minute 10) and
/// delete (c11, minute 11).
fn two_open() -> (Script, Desk, [TicketEvent; 2]) {
    let (mut s, mut desk) = (Script::project(), Desk::with_url());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, ROLE));
    let questions = [
        s.agent(10, "c10", ASK_PIPELINES),
        s.agent(11, "c11", ASK_DELETE),
    ];
    (s, desk, questions)
}

#[test]
fn a_second_open_question_is_flagged_when_asked() {
    let (_, mut desk, [first, second]) = two_open();
    desk.deliver(&first);
    let html = only_note(&desk.deliver(&second));
    assert!(
        html.contains(
            "Other permission questions are still open</strong>: <em>re-run one or more pipelines"
        ),
        "{html}"
    );
    assert!(html.contains("ask one thing at a time"), "{html}");
    assert_eq!(desk.state().questions.len(), 2);
}

#[test]
fn with_two_questions_open_a_yes_is_unclear_and_the_note_asks_one_thing_at_a_time() {
    let (mut s, mut desk, [first, second]) = two_open();
    desk.deliver(&first);
    desk.deliver(&second);
    let d = desk.deliver(&s.requester(12, "c12", "Yes, please go ahead."));
    assert!(d.confirmations.is_empty(), "{:?}", d.confirmations);
    let html = only_note(&d);
    assert!(html.contains("not an explicit confirmation"), "{html}");
    assert!(
        html.contains("<strong>2 permission questions are open</strong>"),
        "{html}"
    );
    assert!(html.contains("Ask one thing at a time"), "{html}");
    assert!(
        html.contains("Next step: <strong>Ask one thing at a time"),
        "{html}"
    );
    assert!(!offers_a_draft(&html), "{html}");
    assert_eq!(desk.stage(), "ask_one_at_a_time");

    // The agent asks one of them again: the other is no longer waited for.
    let html = only_note(&desk.deliver(&s.agent(13, "c13", ASK_DELETE)));
    assert!(
        html.contains("No longer waiting for an answer to: <em>re-run one or more pipelines"),
        "{html}"
    );
    assert!(!html.contains("still open"), "{html}");
    let d = desk.deliver(&s.requester(14, "c14", "Yes, please go ahead."));
    assert_eq!(d.confirmations[0].action, "delete the project `old/site`");
    assert_eq!(d.confirmations[0].request_comment_id, "c13");
    assert_eq!(desk.stage(), "permission_granted");
}

#[test]
fn with_two_questions_open_a_refusal_is_not_recorded_and_nothing_proceeds() {
    let (mut s, mut desk, [first, second]) = two_open();
    desk.deliver(&first);
    desk.deliver(&second);
    let d = desk.deliver(&s.requester(12, "c12", "No"));
    assert!(d.confirmations.is_empty());
    let html = only_note(&d);
    assert!(html.contains("The reply reads as a refusal"), "{html}");
    assert_eq!(desk.stage(), "ask_one_at_a_time");
}

#[test]
fn the_same_action_asked_again_replaces_the_question() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.agent(10, "c10", ASK_DELETE));
    let html = only_note(&desk.deliver(&s.agent(11, "c11", ASK_DELETE)));
    assert!(!html.contains("still open"), "{html}");
    assert_eq!(desk.state().questions.len(), 1);
    let d = desk.deliver(&s.requester(12, "c12", "Yes, please go ahead."));
    assert_eq!(d.confirmations[0].request_comment_id, "c11");
}

#[test]
fn two_questions_and_a_yes_in_every_order_never_leave_a_usable_grant() {
    let (mut s, desk, [first, second]) = two_open();
    let yes = s.requester(12, "c12", "Yes, please go ahead.");
    in_every_order(&desk, &[first, second, yes], |desk, decisions, order| {
        let state = desk.state();
        assert!(
            state.usable_grant(Category::ProjectGroupChange).is_none(),
            "order {order:?}: {:?}",
            state.settled
        );
        assert!(
            note_bodies(decisions)
                .iter()
                .all(|n| !offers_a_draft(n) || n.contains("Permission confirmed")),
            "order {order:?}"
        );
        let last = note_bodies(decisions).pop().unwrap();
        assert!(
            last.contains("ask one thing at a time") || last.contains("Ask one thing at a time"),
            "order {order:?}: {last}"
        );
        // In time order nothing is recorded; a grant recorded before the other question was
        // known stays on the trail but no longer counts.
        let recorded = records(decisions);
        assert!(recorded.len() <= 1, "order {order:?}");
        if order == [0, 1, 2] || order == [1, 0, 2] {
            assert!(recorded.is_empty(), "order {order:?}");
            assert_eq!(desk.stage(), "ask_one_at_a_time");
        }
    });
}

#[test]
fn a_question_that_got_an_unclear_reply_is_passed_over_by_the_next_question() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.agent(10, "c10", ASK_PIPELINES));
    desk.deliver(&s.requester(11, "c11", "What would that change?"));
    desk.deliver(&s.agent(12, "c12", ASK_DELETE));
    assert_eq!(desk.state().questions.len(), 1);
    let d = desk.deliver(&s.requester(13, "c13", "Yes, please go ahead."));
    assert_eq!(d.confirmations[0].action, "delete the project `old/site`");
}
