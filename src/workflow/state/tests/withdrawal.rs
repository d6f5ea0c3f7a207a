//! A requester reply after a settled grant: a withdrawal, a narrowing, or nothing.
use super::*;
use crate::workflow::consent::body_sha256;

const WITHDRAW: &str = "Actually no, don't do it";

#[test]
fn a_withdrawal_records_a_declined_record_naming_the_grant_and_says_do_not_proceed() {
    let (mut s, mut desk) = account_awaiting();
    let d = desk.deliver(&s.requester(10, "c20", "Yes"));
    assert_eq!(d.confirmations.len(), 1);
    assert!(offers_a_draft(&only_note(&d)));

    let d = desk.deliver(&s.requester(13, "c21", WITHDRAW));
    assert_eq!(steps(&d), ["verdict-c21"]);
    let [record] = d.confirmations.as_slice() else {
        panic!("{:?}", d.confirmations)
    };
    assert_eq!(record.verdict, ConsentVerdict::Declined);
    assert_eq!(record.withdraws_reply_comment_id, Some("c20".into()));
    assert_eq!(record.reply_comment_id, "c21");
    assert_eq!(record.request_comment_id, "c10");
    assert_eq!(record.requester_id, REQUESTER);
    assert_eq!(
        record.action,
        "disable two-factor authentication on your account"
    );
    assert_eq!(record.quote, WITHDRAW);
    assert_eq!(record.body_sha256, body_sha256(WITHDRAW));
    assert_eq!(record.decided_at, at(13));

    let html = only_note(&d);
    assert!(
        html.contains("Permission withdrawn — do not proceed"),
        "{html}"
    );
    assert!(
        html.contains("<blockquote>Actually no, don't do it</blockquote>"),
        "{html}"
    );
    assert!(
        html.contains("2025-01-08 10:10 UTC"),
        "when it was given: {html}"
    );
    assert!(
        html.contains("Next step: <strong>Do not proceed: the requester withdrew"),
        "{html}"
    );
    assert!(!offers_a_draft(&html), "{html}");
    assert!(
        html.contains("<li>☐ Permission confirmed by the requester</li>"),
        "{html}"
    );
    assert_eq!(desk.stage(), "permission_withdrawn");

    // Every later note keeps the drafts away.
    let html = only_note(&desk.deliver(&s.tag(20, ESCALATED)));
    assert!(!offers_a_draft(&html), "{html}");
    quiet(&desk.deliver(&s.requester(21, "c22", "Yes, please go ahead.")));
    assert_eq!(desk.stage(), "escalated");
}

#[test]
fn a_project_withdrawal_stops_offering_the_issue_line() {
    let (mut s, mut desk) = (Script::project(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, ROLE));
    desk.deliver(&s.agent(2, "c10", ASK_PIPELINES));
    assert!(offers_a_draft(&only_note(&desk.deliver(&s.requester(
        3,
        "c11",
        "Yes, please go ahead."
    )))));
    let d = desk.deliver(&s.requester(4, "c12", "Stop, I changed my mind."));
    assert_eq!(
        d.confirmations[0].withdraws_reply_comment_id,
        Some("c11".into())
    );
    let html = only_note(&d);
    assert!(!offers_a_draft(&html), "{html}");
    assert_eq!(desk.stage(), "permission_withdrawn");
}

#[test]
fn grant_and_withdrawal_give_two_records_in_every_order() {
    let (mut s, desk) = (Script::account(), Desk::new());
    let mut desk = desk;
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    let events = [
        s.agent(2, "c10", ASK_2FA),
        s.requester(10, "c20", "Yes"),
        s.requester(13, "c21", WITHDRAW),
    ];
    in_every_order(&desk, &events, |desk, decisions, order| {
        let records = records(decisions);
        let mut verdicts: Vec<_> = records
            .iter()
            .map(|r| (r.reply_comment_id.as_str(), r.verdict))
            .collect();
        verdicts.sort_by_key(|(id, _)| *id);
        assert_eq!(
            verdicts,
            [
                ("c20", ConsentVerdict::Granted),
                ("c21", ConsentVerdict::Declined)
            ],
            "order {order:?}"
        );
        assert_eq!(desk.stage(), "permission_withdrawn", "order {order:?}");
        let last = desk.state().settled.as_ref().unwrap();
        assert_eq!(
            last.withdraws.as_ref().map(|w| w.reply_comment_id.as_str()),
            Some("c20"),
            "order {order:?}"
        );
    });
}

#[test]
fn replies_after_a_grant_that_change_nothing_are_silent() {
    let (mut s, mut desk) = account_awaiting();
    desk.deliver(&s.requester(10, "c20", "Yes, please go ahead."));
    for (i, body) in [
        "Thanks!",
        "Thank you so much",
        "How long will it take?",
        "Yes, please go ahead.",
    ]
    .iter()
    .enumerate()
    {
        let d = desk.deliver(&s.requester(11 + i as i64, &format!("c3{i}"), body));
        quiet(&d);
    }
    assert_eq!(desk.stage(), "permission_granted");
    // Nor can anyone else withdraw it.
    quiet(&desk.deliver(&s.colleague(20, "c40", WITHDRAW)));
    assert_eq!(desk.stage(), "permission_granted");
}

#[test]
fn a_reply_that_may_narrow_a_grant_puts_it_in_doubt_once() {
    let (mut s, mut desk) = account_awaiting();
    desk.deliver(&s.requester(10, "c20", "Yes, please go ahead."));
    let d = desk.deliver(&s.requester(12, "c21", "Wait, only on the staging project please"));
    assert!(
        d.confirmations.is_empty(),
        "the permission on record is unchanged"
    );
    let html = only_note(&d);
    assert!(html.contains("check before acting"), "{html}");
    assert!(html.contains("scope"), "the reason is shown: {html}");
    assert!(!offers_a_draft(&html), "{html}");
    assert!(
        html.contains("Could you please confirm that you would like us to disable two-factor authentication on your account?"),
        "asks again: {html}"
    );
    assert_eq!(desk.stage(), "ask_permission");
    quiet(&desk.deliver(&s.requester(13, "c22", "Please wait until Monday")));
    // A fresh question and answer make it usable again.
    desk.deliver(&s.agent(14, "c23", ASK_2FA));
    let d = desk.deliver(&s.requester(15, "c24", "Yes, please go ahead."));
    assert!(offers_a_draft(&only_note(&d)));
    assert_eq!(desk.stage(), "permission_granted");
}

#[test]
fn a_refusal_written_before_a_grant_but_arriving_after_it_voids_the_grant() {
    let (mut s, mut desk) = account_awaiting();
    let no = s.requester(10, "c20", "No, please do not disable it.");
    let yes = s.requester(12, "c21", "Yes");
    assert_eq!(desk.deliver(&yes).confirmations.len(), 1);
    let d = desk.deliver(&no);
    let [record] = d.confirmations.as_slice() else {
        panic!("{:?}", d.confirmations)
    };
    assert_eq!(record.verdict, ConsentVerdict::Declined);
    assert_eq!(record.withdraws_reply_comment_id, None, "written before it");
    let html = only_note(&d);
    assert!(html.contains("written before the permission"), "{html}");
    assert!(!offers_a_draft(&html), "{html}");
    assert_eq!(desk.stage(), "permission_declined");
}

#[test]
fn a_withdrawal_after_solving_is_ignored_unless_it_reopens_the_ticket() {
    let (mut s, mut desk) = account_awaiting();
    desk.deliver(&s.requester(10, "c20", "Yes"));
    desk.deliver(&s.solve(11));
    // An agent's internal note while solved: nothing (the ticket is done).
    quiet(&desk.deliver(&s.agent_internal(12, "c21", "Done, closing.")));
    // The requester's reply reopens it in Zendesk: its snapshot says open.
    s.status = "open".into();
    let d = desk.deliver(&s.requester(13, "c22", WITHDRAW));
    assert_eq!(steps(&d), ["reopened-1", "verdict-c22"]);
    assert_eq!(
        d.confirmations[0].withdraws_reply_comment_id,
        Some("c20".into())
    );
    assert_eq!(desk.stage(), "permission_withdrawn");
}

#[test]
fn two_yeses_and_a_withdrawal_in_every_order_give_one_grant_and_its_withdrawal() {
    let (mut s, mut desk) = (Script::account(), Desk::new());
    desk.deliver(&s.created(0));
    desk.deliver(&s.tag(1, OWNERSHIP));
    desk.deliver(&s.agent(2, "c10", ASK_2FA));
    let events = [
        s.requester(10, "c20", "Yes"),
        s.requester(11, "c21", "Yes, please go ahead."),
        s.requester(13, "c22", WITHDRAW),
    ];
    in_every_order(&desk, &events, |desk, decisions, order| {
        let records = records(decisions);
        let granted = records
            .iter()
            .filter(|r| r.verdict == ConsentVerdict::Granted)
            .count();
        let withdrawals: Vec<_> = records
            .iter()
            .filter(|r| r.verdict == ConsentVerdict::Declined)
            .collect();
        assert_eq!(granted, 1, "order {order:?}: {records:?}");
        assert_eq!(withdrawals.len(), 1, "order {order:?}: {records:?}");
        assert_eq!(withdrawals[0].reply_comment_id, "c22", "order {order:?}");
        assert_eq!(desk.stage(), "permission_withdrawn", "order {order:?}");
    });
}
