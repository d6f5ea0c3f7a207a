use super::*;
use proptest::prelude::*;

const DELETE: &str =
    "Could you please confirm that you would like us to delete the project `blueocean/old-site`?";
const TWO_FA: &str = "Could you please confirm that you would like us to disable two-factor authentication on your account?";

fn reply(author: &str, public: bool, body: &str) -> Comment {
    Comment {
        id: "c1".into(),
        author_id: author.into(),
        author_is_staff: false,
        public,
        body: body.into(),
        ..Comment::default()
    }
}

fn verdict(request: &str, body: &str) -> ConsentVerdict {
    judge_reply(
        &Asked::question(request, "1001"),
        &reply("1001", true, body),
    )
    .verdict
}

fn assert_all(request: &str, expected: ConsentVerdict, bodies: &[&str]) {
    for body in bodies {
        let j = judge_reply(
            &Asked::question(request, "1001"),
            &reply("1001", true, body),
        );
        assert_eq!(j.verdict, expected, "{body:?}: {:?}", j.reasons);
    }
}

#[test]
fn only_the_requesters_public_reply_counts() {
    let cc = judge_reply(
        &Asked::question(DELETE, "1001"),
        &reply("2002", true, "Yes, go ahead."),
    );
    assert_eq!(cc.verdict, ConsentVerdict::Ignored);
    assert!(cc.quote.is_empty());
    let note = judge_reply(
        &Asked::question(DELETE, "1001"),
        &reply("1001", false, "Customer said yes."),
    );
    assert_eq!(note.verdict, ConsentVerdict::Ignored);
    assert_eq!(
        judge_reply(&Asked::question(DELETE, ""), &reply("", true, "Yes")).verdict,
        ConsentVerdict::Ignored
    );
}

#[test]
fn explicit_grants() {
    assert_all(
        DELETE,
        ConsentVerdict::Granted,
        &[
            "Yes, please delete it.",
            "Sure, go ahead.",
            "You have my permission.",
            "I confirm, please delete it.",
            "Please delete it.",
            "yesss go ahead!!",
            "Sí, adelante",
            "Ja, bitte fortfahren",
            "Oui, je vous autorise",
            "Sim, pode prosseguir",
            "はい、お願いします",
            "是的，请继续",
        ],
    );
}

#[test]
fn refusals_and_withdrawals_are_declined() {
    assert_all(
        DELETE,
        ConsentVerdict::Declined,
        &[
            "No, please keep it for now.",
            "Don't go ahead.",
            "no, please don't",
            "I do not give permission.",
            "I don't want you to delete it.",
            "Yes. Actually, please don't.",
            "We'll delete it ourselves, thanks.",
            "Not needed anymore, I already fixed it.",
            "Is it really necessary? No, don't.",
            "We changed our minds, please keep it.",
            "No, no lo hagan",
            "Nein, bitte nicht",
            "Non, ne faites rien",
            "Não, por favor não",
            "いいえ、やめてください",
            "不，请不要",
        ],
    );
}

#[test]
fn anything_less_than_explicit_is_unclear() {
    assert_all(
        DELETE,
        ConsentVerdict::Unclear,
        &[
            "Yes, but only after Saturday.",
            "yes if it doesn't delete anything else",
            "Will this delete my data?",
            "Yeah right, sure, go ahead and break everything.",
            "Automatic reply: I am out of the office until Monday. Yes.",
            "Thanks for the quick answer!",
            "Not yet.",
            "I think so, go ahead",
            "Yes, please delete `blueocean/new-site` instead.",
            "Yes, please archive it.",
            "",
            "> Yes, go ahead",
            "Yes... no, wait",
            "Ok, delete it at 5pm.",
            "Yes, delete it on the 31st.",
            "Sure, delete it next quarter.",
        ],
    );
}

#[test]
fn partial_scope_is_unclear() {
    let request = "Could you please provide permission for staff to move `pat/cli-tool` and `pat/lib` into `tooling-org`?";
    assert_eq!(
        verdict(request, "Only cli-tool please, not lib."),
        ConsentVerdict::Unclear
    );
    assert_eq!(
        verdict(request, "Yes, just the `pat/cli-tool` one"),
        ConsentVerdict::Unclear
    );
}

#[test]
fn quoted_history_never_decides() {
    let no_over_yes =
        "No, please don't.\n\nOn Tue, 16 Jan 2024, Support <s@example.com> wrote:\n> Yes, go ahead";
    assert_eq!(verdict(TWO_FA, no_over_yes), ConsentVerdict::Declined);
    let yes_over_no =
        "Yes, go ahead.\n\nOn Tue, Ana wrote:\n> No, don't do it yet\n> Could you please confirm?";
    assert_eq!(verdict(TWO_FA, yes_over_no), ConsentVerdict::Granted);
}

#[test]
fn quote_is_the_verbatim_new_text() {
    let body =
        "  Yes, please disable it.\n\nBest regards,\nAna\n\nOn Wed, Support wrote:\n> Could you…?";
    let j = judge_reply(&Asked::question(TWO_FA, "1001"), &reply("1001", true, body));
    assert_eq!(j.verdict, ConsentVerdict::Granted);
    assert_eq!(j.quote, "Yes, please disable it.");
    assert!(body.contains(&j.quote));
    assert!(
        j.reasons.iter().any(|r| r.starts_with("grant:")),
        "{:?}",
        j.reasons
    );
}

#[test]
fn reasons_name_the_blocking_signal() {
    let (v, reasons) = judge_text(DELETE, "Yes, but only after Saturday");
    assert_eq!(v, ConsentVerdict::Unclear);
    assert!(
        reasons.contains(&"grant: \"yes\"".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"condition: \"after\"".to_string()),
        "{reasons:?}"
    );
}

const NEGATIONS: &[&str] = &[
    "no", "not", "don't", "do not", "never", "nein", "nicht", "non", "pas", "não", "不", "ない",
];
const GRANTS: &[&str] = &[
    "yes",
    "go ahead",
    "you have my permission",
    "sure",
    "please proceed",
    "ok",
    "sí",
    "ja",
    "oui",
    "sim",
    "はい",
    "是的",
    "i confirm",
];
const FILLERS: &[&str] = &[
    "",
    "we",
    "the project",
    "thanks",
    "please",
    "today",
    "really",
];
const SEPARATORS: &[&str] = &[" ", ", ", ". ", "! ", " - ", "\n"];

proptest! {
    /// Whatever the wording around them, a negation anywhere before a grant phrase in the new
    /// text is never read as permission.
    #[test]
    fn negation_before_a_grant_is_never_granted(
        neg in prop::sample::select(NEGATIONS),
        grant in prop::sample::select(GRANTS),
        filler in prop::sample::select(FILLERS),
        sep in prop::sample::select(SEPARATORS),
        upper in any::<bool>(),
    ) {
        let text = format!("{neg}{sep}{filler} {grant}.");
        let text = if upper { text.to_uppercase() } else { text };
        let j = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, &text));
        prop_assert_ne!(j.verdict, ConsentVerdict::Granted, "{:?} {:?}", text, j.reasons);
    }

    /// The quote is always a verbatim part of the reply, and history below an "On … wrote:"
    /// line never changes the verdict.
    #[test]
    fn history_is_inert_and_quote_is_verbatim(
        new in "[A-Za-z ,.!?']{0,40}",
        old in prop::sample::select(GRANTS),
    ) {
        let alone = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, &new));
        let body = format!("{new}\n\nOn Tue, 16 Jan 2024, Support <s@example.com> wrote:\n> {old}\n");
        let with_history = judge_reply(&Asked::question(DELETE, "1001"), &reply("1001", true, &body));
        prop_assert!(body.contains(&with_history.quote));
        prop_assert_eq!(alone.verdict, with_history.verdict);
    }
}
