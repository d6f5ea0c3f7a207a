//! Solved tickets that come back, closed ones that never do.
use super::*;

#[test]
fn a_reopened_ticket_follows_new_questions_and_records_their_answers() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    quiet(&desk.deliver(&s.solve(5)));
    assert_eq!(desk.stage(), "done");
    quiet(&desk.deliver(&s.agent(6, "c5", ASK_2FA)));

    let d = desk.deliver(&s.reopen(10));
    assert_eq!(steps(&d), ["reopened-1"]);
    let html = only_note(&d);
    assert!(html.contains("ticket reopened"), "{html}");
    assert!(
        html.contains("Next step: <strong>Ask the requester for explicit permission"),
        "{html}"
    );
    assert_eq!(desk.stage(), "ask_permission");

    assert_eq!(
        steps(&desk.deliver(&s.agent(11, "c10", ASK_2FA))),
        ["question-c10"]
    );
    let d = desk.deliver(&s.requester(12, "c11", "Yes, please go ahead."));
    assert_eq!(d.confirmations.len(), 1);
    assert_eq!(d.confirmations[0].request_comment_id, "c10");
    assert_eq!(desk.stage(), "permission_granted");

    // Solved and reopened again: a second reopening note.
    desk.deliver(&s.solve(20));
    assert_eq!(steps(&desk.deliver(&s.reopen(30))), ["reopened-2"]);
}

#[test]
fn closed_is_final() {
    let (mut s, mut desk) = account_awaiting();
    quiet(&desk.deliver(&s.close(5)));
    quiet(&desk.deliver(&s.reopen(10)));
    quiet(&desk.deliver(&s.agent(11, "c20", ASK_2FA)));
    quiet(&desk.deliver(&s.requester(12, "c21", "Yes, please go ahead.")));
    assert_eq!(desk.stage(), "done");
}

#[test]
fn a_ticket_merged_into_another_is_final() {
    let (mut s, mut desk) = account_awaiting();
    let kind = EventKind::Merged {
        target_ticket_id: Some("6001".into()),
    };
    quiet(&desk.deliver(&s.event(5, kind)));
    assert_eq!(desk.stage(), "done");
    quiet(&desk.deliver(&s.requester(6, "c20", "Yes, please go ahead.")));
    quiet(&desk.deliver(&s.reopen(7)));
    assert_eq!(desk.stage(), "done");

    // Other tickets merged into this one change nothing.
    let (mut s, mut desk) = account_awaiting();
    let kind = EventKind::Merged {
        target_ticket_id: Some("5158".into()),
    };
    quiet(&desk.deliver(&s.event(5, kind)));
    assert_eq!(desk.stage(), "awaiting_permission");
}

#[test]
fn solve_reopen_question_answer_in_every_order() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    let solve = s.solve(5);
    // Asked while solved (the snapshot says so): never counts.
    let while_solved = s.agent(7, "c7", ASK_2FA);
    let reopen = s.reopen(10);
    let question = s.agent(11, "c10", ASK_2FA);
    let answer = s.requester(12, "c11", "Yes, please go ahead.");
    in_every_order(
        &desk,
        &[solve, while_solved, reopen, question, answer],
        |desk, decisions, order| {
            let records = records(decisions);
            assert_eq!(records.len(), 1, "order {order:?}");
            assert_eq!(records[0].request_comment_id, "c10", "order {order:?}");
            assert_eq!(desk.stage(), "permission_granted", "order {order:?}");
            assert!(
                decisions
                    .iter()
                    .flat_map(|d| &d.notes)
                    .all(|n| n.step != "question-c7"),
                "order {order:?}"
            );
        },
    );
}

#[test]
fn a_late_event_of_the_first_live_period_still_counts_after_a_reopening() {
    let (mut s, mut desk) = account_awaiting();
    let answer = s.requester(3, "c11", "Yes, please go ahead.");
    desk.deliver(&s.solve(5));
    desk.deliver(&s.reopen(10));
    let d = desk.deliver(&answer);
    assert_eq!(d.confirmations.len(), 1);
    assert_eq!(steps(&d), ["verdict-c11"], "the ticket is live now");
    assert_eq!(desk.stage(), "permission_granted");
}

#[test]
fn a_ticket_stored_as_done_by_an_older_version_reopens() {
    let old = r#"{"category":"account_access","ownership_verified":true,
        "tags_seen_at":"2025-01-08T10:01:00Z","done_at":"2025-01-08T10:05:00Z"}"#;
    let mut desk = Desk::new();
    desk.state = Some(serde_json::from_str(old).unwrap());
    let mut s = Script::account();
    s.tags.push(OWNERSHIP.into());
    s.status = "solved".into();
    quiet(&desk.deliver(&s.agent(6, "c6", ASK_2FA)));
    let d = desk.deliver(&s.reopen(10));
    assert_eq!(steps(&d), ["reopened-1"]);
    assert_eq!(desk.stage(), "ask_permission");
}
