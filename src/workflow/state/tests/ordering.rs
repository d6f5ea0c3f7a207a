//! At-least-once, out-of-order delivery: order by `occurred_at`, never by arrival.
use super::*;

#[test]
fn the_same_events_delivered_twice_change_nothing_the_second_time() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    let events = [
        s.created(0),
        s.tag(1, OWNERSHIP),
        s.agent(2, "c10", ASK_2FA),
        s.requester(3, "c11", "Yes, please go ahead."),
        s.solve(4),
    ];
    let mut first_pass = vec![];
    for e in &events {
        first_pass.push(desk.deliver(e));
    }
    assert_eq!(
        first_pass
            .iter()
            .map(|d| d.confirmations.len())
            .sum::<usize>(),
        1
    );
    let settled = desk.state().clone();
    for e in &events {
        quiet(&desk.deliver(e));
    }
    assert_eq!(desk.state(), &settled);
}

#[test]
fn a_redelivered_reply_is_not_recorded_twice_before_the_ticket_is_done() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    let question = s.agent(2, "c10", ASK_2FA);
    let reply = s.requester(3, "c11", "Yes, please go ahead.");
    assert_eq!(steps(&desk.deliver(&question)), ["question-c10"]);
    quiet(&desk.deliver(&question));
    assert_eq!(desk.deliver(&reply).confirmations.len(), 1);
    quiet(&desk.deliver(&reply));
    assert_eq!(desk.stage(), "permission_granted");
}

#[test]
fn a_reply_that_arrives_before_its_question_is_judged_when_the_question_arrives() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    let question = s.agent(10, "c10", ASK_2FA);
    let reply = s.requester(20, "c11", "Yes, please go ahead.");
    quiet(&desk.deliver(&reply));
    let d = desk.deliver(&question);
    assert_eq!(steps(&d), ["question-c10", "verdict-c11"]);
    let [record] = d.confirmations.as_slice() else {
        panic!()
    };
    assert_eq!(
        (
            record.request_comment_id.as_str(),
            record.reply_comment_id.as_str()
        ),
        ("c10", "c11")
    );
    assert_eq!(record.decided_at, at(20));
    assert!(desk.state().early_replies.is_empty());
}

#[test]
fn a_reply_written_before_the_question_does_not_answer_it() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    let early = s.requester(5, "c5", "Yes, please go ahead.");
    let question = s.agent(10, "c10", ASK_2FA);
    quiet(&desk.deliver(&early));
    let d = desk.deliver(&question);
    assert_eq!(steps(&d), ["question-c10"]);
    assert!(d.confirmations.is_empty());
    // Also when the question is already pending.
    quiet(&desk.deliver(&s.requester(6, "c6", "Yes, please go ahead.")));
    assert_eq!(desk.stage(), "awaiting_permission");
}

#[test]
fn a_late_older_question_stays_open_beside_the_newer_one() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    desk.deliver(&s.created(0));
    let old = s.agent(10, "c10", ASK_PIPELINES);
    let new = s.agent(
        20,
        "c20",
        "Could you please confirm that you would like us to delete the project `old/site`?",
    );
    desk.deliver(&new);
    desk.deliver(&old);
    assert_eq!(desk.state().questions.len(), 2);
    // As in time order: both were open when the requester said yes.
    let d = desk.deliver(&s.requester(30, "c30", "Yes, please go ahead."));
    assert!(d.confirmations.is_empty());
    assert_eq!(desk.stage(), "ask_one_at_a_time");
}

#[test]
fn early_replies_are_bounded_and_judged_in_time_order() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    let question = s.agent(10, "c10", ASK_2FA);
    let unclear = s.requester(11, "c11", "Hm, what does that mean?");
    let granted = s.requester(12, "c12", "Yes, please go ahead.");
    desk.deliver(&granted);
    desk.deliver(&unclear);
    for i in 0..EARLY_REPLIES_KEPT as i64 {
        desk.deliver(&s.requester(-20 - i, &format!("old{i}"), "Hello?"));
    }
    assert_eq!(desk.state().early_replies.len(), EARLY_REPLIES_KEPT);
    let d = desk.deliver(&question);
    assert_eq!(steps(&d), ["question-c10", "verdict-c11", "verdict-c12"]);
    assert_eq!(d.confirmations.len(), 1);
    assert_eq!(d.confirmations[0].reply_comment_id, "c12");
}

#[test]
fn a_late_snapshot_does_not_undo_a_newer_tag() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    let stale = s.requester(5, "c5", "Any news?");
    desk.deliver(&s.tag(10, OWNERSHIP));
    quiet(&desk.deliver(&stale));
    assert!(desk.state().ownership_verified);
    assert_eq!(desk.stage(), "ask_permission");
}

#[test]
fn late_events_after_solving_write_no_notes_but_earlier_permission_is_still_recorded() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    desk.deliver(&s.agent(2, "c10", ASK_2FA));
    let reply = s.requester(3, "c11", "Yes, please go ahead.");
    quiet(&desk.deliver(&s.solve(4)));
    let d = desk.deliver(&reply);
    assert!(d.notes.is_empty(), "{:?}", steps(&d));
    assert_eq!(
        d.confirmations.len(),
        1,
        "the customer did give permission before solving"
    );
    assert_eq!(desk.stage(), "done");
}

/// Moments order by time, then by comment id as Zendesk allocates them (as numbers), and the
/// order is total: sorting mixed ids must not meet `a < b < c < a`.
#[test]
fn moments_are_totally_ordered_by_time_then_comment_id() {
    let at = time::macros::datetime!(2025-01-08 14:25:30 UTC);
    let moment = |secs: i64, id: &str| Moment {
        at: at + time::Duration::seconds(secs),
        comment_id: id.into(),
    };
    assert!(moment(0, "10").is_after(&moment(0, "9")));
    assert!(moment(1, "9").is_after(&moment(0, "10")));
    assert!(!moment(0, "9").is_after(&moment(0, "9")));
    let all = [
        moment(0, "2"),
        moment(0, "10"),
        moment(0, "1a"),
        moment(0, "07"),
        moment(0, "7"),
        moment(1, "1"),
    ];
    for a in &all {
        for b in &all {
            assert_eq!(a.cmp(b) == std::cmp::Ordering::Equal, a == b, "{a:?} {b:?}");
            for c in &all {
                if a.is_after(b) && b.is_after(c) {
                    assert!(a.is_after(c), "{a:?} > {b:?} > {c:?}");
                }
            }
        }
    }
}
